/* runtime/init.c - cd_init, cd_shutdown and the library constructor.
 *
 * Order matters: the environment first (everything depends on it), then the
 * collector (every kit thread registers with it), then the tracers that only
 * read, then the scheduler. Shutdown runs in reverse.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "cdebug/http.h"
#include "cdebug/runtime.h"
#include "http/server.h"
#include "prof/cpuprof.h"
#include "prof/heapprof.h"
#include "prof/sigquit.h"
#include "base/clock.h"
#include "runtime/env.h"
#include "runtime/gc.h"
#include "runtime/init.h"
#include "runtime/mprof.h"
#include "runtime/sched_int.h"
#include "runtime/thread.h"
#include "cdebug/trace.h"
#include "trace/flight.h"
#include "trace/trace_int.h"

enum { ST_NEW, ST_RUNNING, ST_STOPPED };
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int state = ST_NEW;
static int init_result;
_Atomic int cd__initialized;

/* At exit a C program ends like a Go program whose main returned: running
 * tasks are abandoned, but every gctrace line already recorded is printed. */
static void at_exit(void)
{
    pthread_mutex_lock(&init_lock);
    int st = state;
    pthread_mutex_unlock(&init_lock);
    if (st == ST_RUNNING) {
        cd__heapprof_write_env(); /* CDEBUG=memprofile, while everything still runs */
        cd__trace_file_stop();    /* first: flushes what the others did */
        cd__cpuprof_file_stop();  /* CDEBUG=cpuprofile: written at exit */
        cd_http_stop();
        (void)cd_flight_stop();
        cd__schedtrace_stop();
        cd__gctrace_stop();
    }
}

int cd_init(void)
{
    pthread_mutex_lock(&init_lock);
    if (state != ST_NEW) {
        int rc = init_result;
        pthread_mutex_unlock(&init_lock);
        return rc;
    }
    cd__start_nanotime = cd__nanotime();

    int rc;
    cd__env_load(&cd__cfg);
    if ((rc = cd__gc_init(&cd__cfg)) != 0)
        goto fail;
    /* Sampling, its collection hook and the heap/allocs profiles; a failed
     * registration only hides them from /debug/pprof/. */
    (void)cd__mprof_init(cd__cfg.memprofilerate);
    (void)cd__heapprof_init();
    /* The hooks of the layers above the runtime, before any thread but
     * this one registers. */
    if ((rc = cd__cpuprof_init()) != 0 || (rc = cd__trace_init()) != 0)
        goto fail;
    /* The thread running cd_init (normally main) is M0. */
    rc = cd__thread_attach(CD__THREAD_MAIN, true);
    if (rc != 0 && rc != -EEXIST)
        goto fail;
    if ((rc = cd__gctrace_start(&cd__cfg)) != 0)
        goto fail;
    if ((rc = cd__sched_start(&cd__cfg)) != 0)
        goto fail_gctrace;
    if ((rc = cd__schedtrace_start(&cd__cfg)) != 0)
        goto fail_sched;
    cd__http_start_env(&cd__cfg); /* a failure is reported, never fatal */
    if (cd__cfg.sigquit != 0 && (rc = cd__sigquit_start()) != 0)
        fprintf(stderr, "cdebug: sigquit: %s\n", cd_strerror(rc)); /* SIGQUIT keeps its default */

    state = ST_RUNNING;
    init_result = 0;
    atomic_store_explicit(&cd__initialized, 1, memory_order_release);
    pthread_mutex_unlock(&init_lock);
    atexit(at_exit);
    /* After the unlock: cd_trace_start calls back into cd_init (a no-op
     * now). A failure is reported and the program runs untraced. */
    if (cd__cfg.trace_path[0] != '\0')
        (void)cd__trace_file_start(cd__cfg.trace_path);
    if (cd__cfg.flight_s > 0)
        cd__flight_env_start(cd__cfg.flight_s);
    if (cd__cfg.cpuprofile_path[0] != '\0')
        (void)cd__cpuprof_file_start(cd__cfg.cpuprofile_path, cd__cfg.cpuprofilerate);
    return 0;

fail_sched:
    cd__sched_stop();
fail_gctrace:
    cd__gctrace_stop();
fail:
    state = ST_STOPPED;
    init_result = rc;
    atomic_store_explicit(&cd__initialized, 1, memory_order_release);
    pthread_mutex_unlock(&init_lock);
    fprintf(stderr, "cdebug: initialisation failed: %s\n", cd_strerror(rc));
    return rc;
}

void cd_shutdown(void)
{
    pthread_mutex_lock(&init_lock);
    if (state != ST_RUNNING) {
        pthread_mutex_unlock(&init_lock);
        return;
    }
    state = ST_STOPPED;
    pthread_mutex_unlock(&init_lock);

    cd__cpuprof_file_stop();  /* before the pool stops: running tasks are sampled */
    cd__heapprof_write_env(); /* CDEBUG=memprofile */
    cd_http_stop();
    cd__sched_stop();
    cd__trace_file_stop(); /* after the drain: every task's events are in */
    (void)cd_flight_stop();
    cd__schedtrace_stop();
    cd__gctrace_stop();
}

/* Runs before main() when libcdebug is linked, so `CDEBUG=gctrace=1 ./app`
 * needs no code in the app. */
__attribute__((constructor)) static void cd__constructor(void)
{
    (void)cd_init();
}

/* runtime/start.c - see start.h.
 *
 * Order matters: the environment first (everything depends on it), then the
 * collector (every kit thread registers with it), then the heap sampler
 * (it listens to the collector), the tracers that only read, then the
 * pool. init/init.c stops them in reverse.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>

#include "base/clock.h"
#include "base/dlhist.h"
#include "cdebug/runtime.h"
#include "runtime/env.h"
#include "runtime/gc.h"
#include "runtime/contention.h"
#include "runtime/mprof.h"
#include "runtime/pthread_locks.h"
#include "runtime/sched_int.h"
#include "runtime/start.h"
#include "runtime/thread.h"

static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static bool started;
static int start_result;
_Atomic int cd__initialized;

__attribute__((noinline)) int cd__runtime_init(void)
{
    pthread_mutex_lock(&start_lock);
    if (started) {
        int rc = start_result;
        pthread_mutex_unlock(&start_lock);
        return rc;
    }
    started = true;
    cd__start_nanotime = cd__nanotime();

    int rc;
    /* First: its fork handler must run after every other's (dlhist.h). */
    cd__dlhist_init();
    cd__env_load(&cd__cfg);
    /* The collector is not started here: on first need (runtime/gc.h). A
     * sampler that cannot listen to collections never publishes: it
     * reports nothing rather than wrong counts; the program runs on. */
    (void)cd__mprof_init(cd__cfg.memprofilerate);
    (void)cd__contention_init();
    cd__pthread_locks_init();
    cd__contention_set_block_rate(cd__cfg.blockprofilerate);
    (void)cd__contention_set_mutex_fraction(cd__cfg.mutexprofilefraction);
    /* The thread running this (normally main, from the constructor) is M0. */
    rc = cd__thread_attach_skip(CD__THREAD_MAIN, false, 1);
    if (rc != 0 && rc != -EEXIST)
        goto fail;
    /* gctrace traces the collector: asking for it starts it. */
    if (cd__cfg.gctrace > 0)
        cd__gc_start();
    if ((rc = cd__gctrace_start(&cd__cfg)) != 0)
        goto fail;
    if ((rc = cd__sched_start(&cd__cfg)) != 0)
        goto fail_gctrace;
    if ((rc = cd__schedtrace_start(&cd__cfg)) != 0)
        goto fail_sched;
    start_result = 0;
    atomic_store_explicit(&cd__initialized, 1, memory_order_release);
    pthread_mutex_unlock(&start_lock);
    return 0;

fail_sched:
    cd__sched_stop();
fail_gctrace:
    cd__gctrace_stop();
fail:
    start_result = rc;
    atomic_store_explicit(&cd__initialized, 1, memory_order_release);
    pthread_mutex_unlock(&start_lock);
    fprintf(stderr, "cdebug: initialisation failed: %s\n", cd_strerror(rc));
    return rc;
}

void cd__runtime_stop_tracers(void)
{
    cd__schedtrace_stop();
    cd__gctrace_stop();
}

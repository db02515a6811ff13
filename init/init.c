/* init/init.c - the one startup module: the library constructor, cd_init
 * and cd_shutdown, the work done at exit, the registration of every
 * profile, route and hook, and the starts the environment asks for.
 *
 * It is the top layer: it calls every other and nothing calls it, so it is
 * also the one object a static link must pull in. The shared library has
 * it always; libcdebug.a is linked with -Wl,--undefined=cd_init by
 * pkg-config --static and the CMake target (docs/architecture.md).
 *
 * Order matters: the runtime first (environment, collector, pool:
 * runtime/start.c), then the registrations (before any client can reach a
 * route or start a profile), then the services. Shutdown runs in reverse,
 * with the pool stopped between the services that sample it and the trace
 * that records its last events.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "cdebug/http.h"
#include "cdebug/runtime.h"
#include "cdebug/trace.h"
#include "http/pprof_profile_route.h"
#include "http/pprof_routes.h"
#include "http/server.h"
#include "http/trace_route.h"
#include "init/exitsig.h"
#include "http/vars_routes.h"
#include "prof/cpuprof.h"
#include "prof/lockprof.h"
#include "prof/heapprof.h"
#include "prof/profiles.h"
#include "prof/crash.h"
#include "prof/taskprof.h"
#include "prof/threadprof.h"
#include "runtime/env.h"
#include "runtime/sched_int.h"
#include "runtime/start.h"
#include "trace/flight.h"
#include "trace/trace_int.h"

enum { ST_NEW, ST_RUNNING, ST_STOPPED };
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static int state = ST_NEW;
static int init_result;

/* Every profile of /debug/pprof/NAME, every route of the debug server and
 * every hook the layers above the runtime put into it, in one list: an
 * object file that registers itself (a constructor) is left out of a
 * static link when nothing else names it, and its profile is then missing
 * (a 404 for threadcreate, once). A failed registration only hides what
 * it registers; it is reported. */
static void register_all(void)
{
    static const struct {
        const char *what;
        int (*fn)(void);
    } regs[] = {
        {"CPU profiler thread hooks", cd__cpuprof_init},
        {"trace fork hook", cd__trace_init},
        {"heap and allocs profiles", cd__heapprof_init},
        {"goroutine profile", cd__taskprof_register},
        {"threadcreate profile", cd__threadprof_register},
        {"block and mutex profiles", cd__lockprof_register},
        {"/debug/vars and /metrics", cd__http_vars_routes_register},
        {"/debug/pprof/trace", cd__http_trace_route_register},
        {"/debug/pprof/profile", cd__http_profile_route_register},
        {"/debug/pprof/", cd__http_pprof_routes_register},
    };
    for (size_t i = 0; i < sizeof regs / sizeof regs[0]; i++) {
        int rc = regs[i].fn();
        if (rc != 0 && rc != -EEXIST)
            fprintf(stderr, "cdebug: cannot register the %s: %s\n", regs[i].what, cd_strerror(rc));
    }
}

/* At exit a C program ends like a Go program whose main returned: running
 * tasks are abandoned, but every gctrace line already recorded is printed
 * and the files the environment asked for are written. Once: exit() and
 * the exit signals' thread (init/exitsig.h) may both ask; the second
 * waits for the first to finish writing. */
static void exit_work(void)
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
        cd__runtime_stop_tracers();
    }
}

static void at_exit(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, exit_work);
}

int cd_init(void)
{
    pthread_mutex_lock(&init_lock);
    if (state != ST_NEW) {
        int rc = init_result;
        pthread_mutex_unlock(&init_lock);
        return rc;
    }
    int rc = cd__runtime_init();
    if (rc != 0) {
        state = ST_STOPPED;
        init_result = rc;
        pthread_mutex_unlock(&init_lock);
        return rc;
    }
    register_all();
    cd__http_start_env(&cd__cfg); /* a failure is reported, never fatal */
    /* Crash reports (CDTRACEBACK) and the SIGQUIT dump: a failure is
     * reported, the signals keep what they had (prof/crash.h). */
    if ((rc = cd__crash_start(cd__cfg.traceback, cd__cfg.sigquit != 0)) != 0)
        fprintf(stderr, "cdebug: crash reports: %s\n", cd_strerror(rc));
    state = ST_RUNNING;
    init_result = 0;
    pthread_mutex_unlock(&init_lock);
    atexit(at_exit);
    /* After the unlock: cd_trace_start takes locks of its own. A failure
     * is reported and the program runs untraced (unprofiled). */
    if (cd__cfg.trace_path[0] != '\0')
        (void)cd__trace_file_start(cd__cfg.trace_path);
    if (cd__cfg.flight_s > 0)
        cd__flight_env_start(cd__cfg.flight_s);
    if (cd__cfg.cpuprofile_path[0] != '\0')
        (void)cd__cpuprof_file_start(cd__cfg.cpuprofile_path, cd__cfg.cpuprofilerate);
    /* Files written at exit survive SIGTERM and SIGINT too. */
    if (cd__cfg.cpuprofile_path[0] != '\0' || cd__cfg.memprofile_path[0] != '\0' ||
        cd__cfg.trace_path[0] != '\0') {
        if ((rc = cd__exitsig_start(at_exit)) != 0)
            fprintf(stderr, "cdebug: files at SIGTERM/SIGINT: %s\n", cd_strerror(rc));
    }
    return 0;
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
    cd__runtime_stop_tracers();
}

/* Runs before main() when libcdebug is linked, so `CDEBUG=gctrace=1 ./app`
 * needs no code in the app. */
__attribute__((constructor)) static void cd__constructor(void)
{
    (void)cd_init();
}

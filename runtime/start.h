/* runtime/start.h - starting the runtime: the environment, the collector,
 * the heap sampler, the main thread, gctrace, the pool and schedtrace.
 *
 * init/ (the library constructor, cd_init) starts the runtime and then
 * the services above it (the debug server, traces and profiles the
 * environment asks for). Entry points of any layer that may run before
 * that constructor (another library's constructor calling cd_alloc, say)
 * call cd__ensure_init(), which starts the runtime only: one predictable
 * branch once it runs. */
#ifndef CDEBUG_RUNTIME_START_H
#define CDEBUG_RUNTIME_START_H

#include <stdatomic.h>

/* Nonzero once cd__runtime_init has run (whatever its result). */
extern _Atomic int cd__initialized;

/* Starts the runtime, once: reads CDEBUG, CDMAXPROCS and CDGC, initialises
 * the collector and the heap sampler, attaches the calling thread as M0,
 * starts gctrace, the pool and schedtrace. Later calls return the first
 * call's result. Returns 0 or a negative errno (then the runtime stays
 * stopped and the reason was printed on stderr). Thread-safe; not
 * async-signal-safe; the first call costs the collector's initialisation
 * and the workers' creation. */
int cd__runtime_init(void);

/* Stops what cd__runtime_init started after the pool (cd__sched_stop, run
 * by the caller before): schedtrace, then gctrace (every recorded line
 * printed). Idempotent. Thread-safe; not async-signal-safe. */
void cd__runtime_stop_tracers(void);

static inline void cd__ensure_init(void)
{
    if (__builtin_expect(!atomic_load_explicit(&cd__initialized, memory_order_acquire), 0))
        (void)cd__runtime_init();
}

#endif /* CDEBUG_RUNTIME_START_H */

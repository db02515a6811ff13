/* runtime/gc.c - the garbage-collected heap: bdwgc set-up and the cd_alloc
 * family.
 *
 * Every entry point is bdwgc's allocator plus two counter updates: the
 * calling thread's record (cd__self) counts objects and bytes with plain
 * relaxed stores, since only the owner writes them (no lock prefix, no shared
 * cache line); threads cdebug does not know fall back to shared atomics.
 * cd_read_memstats sums them for Mallocs. Byte totals for memstats come from
 * bdwgc itself (see docs/memstats.md). The heap profiler's hooks
 * (prof/heapprof.h) add a thread-local countdown decrement and a branch to
 * each allocation, and a filter check to each explicit free.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>

#include <gc/gc.h>

#include "cdebug/runtime.h"
#include "runtime/mprof.h"
#include "runtime/env.h"
#include "runtime/gc.h"
#include "runtime/gcwarn.h"
#include "runtime/gcevents.h"
#include "runtime/sigmask.h"
#include "runtime/start.h"
#include "runtime/thread.h"

/* Counters of threads without a cd__thread record. */
static _Atomic uint64_t fallback_mallocs, fallback_bytes, fallback_frees;

/* Owner-only increment: load + store, both relaxed, so no locked RMW. */
static inline void owner_add(uint64_t *field, uint64_t v)
{
    _Atomic uint64_t *a = (_Atomic uint64_t *)field;
    atomic_store_explicit(a, atomic_load_explicit(a, memory_order_relaxed) + v,
                          memory_order_relaxed);
}

/* Counts one object of n bytes for the calling thread. Async-signal-safe. */
static inline void count_alloc(cd__thread *t, size_t n)
{
    if (__builtin_expect(t != NULL, 1)) {
        owner_add(&t->mallocs, 1);
        owner_add(&t->alloc_bytes, n);
    } else {
        atomic_fetch_add_explicit(&fallback_mallocs, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&fallback_bytes, n, memory_order_relaxed);
    }
}

/* Counts one explicit free for the calling thread. */
static inline void count_free(cd__thread *t)
{
    if (__builtin_expect(t != NULL, 1))
        owner_add(&t->frees, 1);
    else
        atomic_fetch_add_explicit(&fallback_frees, 1, memory_order_relaxed);
}

/* The collector starts on first need, not at load: a program that never
 * calls the cd_alloc family or cd_go (a program cdebug was preloaded
 * into) gets no marker thread and no stop-the-world signal handlers
 * (SIGPWR, SIGXCPU). */
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic bool running;

bool cd__gc_running(void)
{
    return atomic_load_explicit(&running, memory_order_acquire);
}

void cd__gc_start(void)
{
    if (cd__gc_running())
        return;
    pthread_mutex_lock(&start_lock);
    if (!atomic_load_explicit(&running, memory_order_relaxed)) {
        const cd__config *cfg = &cd__cfg;
        /* bdwgc 8.2 takes any thread as its first: the calling thread is
         * registered, its stack found with pthread_getattr_np. */
        /* bdwgc's warnings as "cdebug: gc: ..." lines, those of GC_INIT
         * included (runtime/gcwarn.h). */
        cd__gcwarn_install();
        GC_INIT();
        /* Lets kit and user threads register themselves; in bdwgc 8.2 this
         * also starts the parallel marker threads. */
        GC_allow_register_threads();
        if (cfg->gc_percent < 0)
            GC_disable(); /* CDGC=off: only cd_gc() collects */
        else
            GC_set_free_space_divisor(cd__gc_divisor(cfg->gc_percent));
        cd__gcevents_install(GC_get_free_space_divisor(),
                             cfg->maxprocs > 0 ? (uint32_t)cfg->maxprocs : 1);
        /* A registered thread that blocked these would stop every
         * collection for ever (runtime/sigmask.h). */
        cd__sigmask_keep(GC_get_suspend_signal());
        cd__sigmask_keep(GC_get_thr_restart_signal());
        /* A thread stopped by a collection keeps the process-directed
         * signals it blocked (runtime/sigmask.h). */
        cd__sigmask_wrap_stop(GC_get_suspend_signal());
        /* GC_INIT registered this thread. A thread other than main leaves
         * the collector when it ends (cd__thread_detach), as any it
         * registers itself would. */
        cd__thread *t = cd__self;
        if (t != NULL) {
            t->gc_ok = true;
            t->gc_registered = t->kind != CD__THREAD_MAIN;
        }
        atomic_store_explicit(&running, true, memory_order_release);
    }
    pthread_mutex_unlock(&start_lock);
}

/* gc_self's slow path: the runtime and the collector started, the calling
 * thread registered with the collector when the registry knows it. A
 * thread unknown to the registry (created with a raw clone, or before
 * the library was loaded under a sanitizer) allocates unregistered, as
 * bdwgc allows: its stack is not scanned (cd_thread_register). */
__attribute__((noinline)) static cd__thread *gc_enter(void)
{
    cd__ensure_init();
    cd__gc_start();
    cd__thread *t = cd__self;
    if (t != NULL && !t->gc_ok)
        (void)cd__thread_gc_register();
    return t;
}

/* The calling thread's record, once it may use the collector: one TLS
 * load and a predictable branch after its first call. */
static inline cd__thread *gc_self(void)
{
    cd__thread *t = cd__self;
    if (__builtin_expect(t == NULL || !t->gc_ok, 0))
        t = gc_enter();
    return t;
}

void cd__gc_alloc_totals(uint64_t *mallocs, uint64_t *bytes, uint64_t *frees)
{
    uint64_t m, b, f;
    cd__thread_alloc_totals(&m, &b, &f);
    *mallocs = m + atomic_load_explicit(&fallback_mallocs, memory_order_relaxed);
    *bytes = b + atomic_load_explicit(&fallback_bytes, memory_order_relaxed);
    *frees = f + atomic_load_explicit(&fallback_frees, memory_order_relaxed);
}

void *cd_alloc(size_t n)
{
    cd__thread *t = gc_self();
    void *p = GC_MALLOC(n); /* bdwgc clears pointer-containing objects */
    if (p != NULL) {
        count_alloc(t, n);
        cd__mprof_alloc(p, n);
    } else {
        errno = ENOMEM;
    }
    return p;
}

void *cd_alloc_atomic(size_t n)
{
    cd__thread *t = gc_self();
    void *p = GC_MALLOC_ATOMIC(n);
    if (p != NULL) {
        count_alloc(t, n);
        cd__mprof_alloc(p, n);
    } else {
        errno = ENOMEM;
    }
    return p;
}

void *cd_realloc(void *p, size_t n)
{
    cd__thread *t = gc_self();
    /* A sampled object's record goes before bdwgc may free or move it; the
     * result is then sampled as a new allocation (free + alloc, as Go sees
     * a grown slice). */
    bool resample = p != NULL && cd__mprof_free(p);
    void *q = GC_REALLOC(p, n);
    /* bdwgc: NULL p allocates; n == 0 frees p and returns NULL; a block
     * that still fits is returned as is; otherwise a new block of the same
     * kind is allocated, the contents copied and the old block freed. Count
     * what really happened, as Go counts a new object for a grown slice. */
    if (p == NULL) {
        if (q != NULL)
            count_alloc(t, n);
    } else if (n == 0) {
        count_free(t);
    } else if (q != NULL && q != p) {
        count_alloc(t, n);
        count_free(t);
    }
    if (q != NULL && (q != p || resample))
        cd__mprof_alloc(q, n);
    else if (q == NULL && (p == NULL || n != 0))
        errno = ENOMEM; /* p, if any, is untouched */
    return q;
}

char *cd_strdup(const char *s)
{
    cd__thread *t = gc_self();
    if (s == NULL) {
        errno = EINVAL;
        return NULL;
    }
    size_t n = strlen(s) + 1;
    char *p = GC_MALLOC_ATOMIC(n);
    if (p == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    memcpy(p, s, n);
    count_alloc(t, n);
    cd__mprof_alloc(p, n);
    return p;
}

void cd_free(void *p)
{
    if (p == NULL)
        return;
    cd__thread *t = gc_self();
    (void)cd__mprof_free(p);
    GC_FREE(p);
    count_free(t);
}

void cd_gc(void)
{
    (void)gc_self(); /* bdwgc collects from a registered thread */
    /* Go's runtime.GC() collects even with GOGC=off, but bdwgc ignores
     * GC_gcollect() while disabled: lift the disable for this one
     * collection. An automatic collection in another thread during that
     * window is possible and harmless. */
    bool off = cd__cfg.gc_percent < 0;
    if (off)
        GC_enable();
    cd__gc_forced = true;
    GC_gcollect();
    cd__gc_forced = false;
    if (off)
        GC_disable();
}

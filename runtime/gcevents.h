/* runtime/gcevents.h - bdwgc collection events turned into per-collection
 * records (gctrace lines) and running totals (memstats).
 *
 * bdwgc calls one hook, with its allocation lock held, at each phase of a
 * collection: START, PRE/POST_STOP_WORLD, MARK_START/END, PRE/POST_START_WORLD,
 * RECLAIM_START/END, END. The hook (gcevents.c) only reads clocks and bdwgc's
 * counters; when a collection ends it folds the phase times into the totals
 * and, while gctrace is on, publishes one cd__gc_record into a fixed ring that
 * the printer thread (gctrace.c) drains. The hook never allocates, locks,
 * prints or calls a bdwgc function that takes the lock, and never blocks: a
 * full ring drops the record and counts it.
 *
 * Everything below that ends in _locked must run with bdwgc's allocation
 * lock held (inside GC_call_with_alloc_lock), which is also what serialises
 * the hook with its readers.
 */
#ifndef CDEBUG_RUNTIME_GCEVENTS_H
#define CDEBUG_RUNTIME_GCEVENTS_H

#include <stdbool.h>
#include <stdint.h>

#include <gc/gc.h>

/* Recent pauses kept for memstats (Go's PauseNs/PauseEnd length). */
#define CD__GC_PAUSE_RING 256
/* Completed records waiting for the printer; a power of two. At one record
 * per collection, 256 is minutes of backlog for a stalled stderr. */
#define CD__GC_TRACE_RING 256

/* One collection, already reduced to the figures of a gctrace line. The
 * formatter (gctrace.h) is a pure function of this struct, so tests can
 * build one by hand. */
typedef struct cd__gc_record {
    uint32_t num;        /* 1-based collection number (NumGC after it) */
    bool forced;         /* started by cd_gc() */
    uint32_t procs;      /* workers ("P") */
    uint64_t start_ns;   /* START, ns since cd__start_nanotime ("@T s") */
    double cpu_fraction; /* cumulative GC CPU / (elapsed * procs) ("P%") */
    /* Wall clock: [0] stop-the-world (PRE_STOP_WORLD -> POST_STOP_WORLD),
     * [1] mark (MARK_START -> MARK_END), [2] restart + reclaim
     * (PRE_START_WORLD -> END). */
    uint64_t clock_ns[3];
    /* CPU: [0] stop-the-world, [1] assist (always 0: bdwgc has no mutator
     * assists), [2] mark (process CPU while only markers run), [3] idle
     * (always 0), [4] restart + reclaim. */
    uint64_t cpu_ns[5];
    uint64_t heap0; /* bytes in use at START */
    uint64_t heap1; /* bytes in use at MARK_END */
    uint64_t heap2; /* live bytes after mark (exact or estimate, see gcevents.c) */
    uint64_t goal;  /* heap size expected to trigger the next collection */
} cd__gc_record;

/* Running totals, written by the hook at END, read under the lock. */
typedef struct cd__gc_totals {
    uint32_t num_gc;
    uint32_t num_forced;
    uint64_t pause_total_ns;
    uint64_t pause_ns[CD__GC_PAUSE_RING];  /* [(num_gc + 255) % 256] is the last */
    uint64_t pause_end[CD__GC_PAUSE_RING]; /* unix ns */
    uint64_t last_gc_unix_ns;
    uint64_t gc_cpu_ns;  /* cumulative GC CPU */
    double cpu_fraction; /* as of the last END */
    uint64_t live_bytes; /* heap2 of the last collection, 0 before the first */
    uint64_t goal_bytes; /* goal of the last collection, 0 before the first */
} cd__gc_totals;

/* Set by cd_gc() around GC_gcollect() in the calling thread; the hook, which
 * runs in the collecting thread, reads it at START. Initial-exec TLS so the
 * hook's read can never allocate a TLS block. */
extern __thread bool cd__gc_forced __attribute__((tls_model("initial-exec")));

/* Installs the hook (chaining any hook set before). divisor is bdwgc's
 * free-space divisor (for the goal); procs the worker count printed as "P".
 * Called once by cd__gc_start. Not thread-safe against itself. */
void cd__gcevents_install(unsigned long divisor, uint32_t procs);

/* A module's collection-event listener: runs inside bdwgc's collection
 * callback, with the allocation lock held, on the collecting thread, before
 * this module's own bookkeeping: it may only use atomics (no allocation,
 * no lock, no bdwgc call, no output). */
typedef void (*cd__gc_listener)(GC_EventType ev);

/* Adds a listener: the kit sets bdwgc's one collection-event hook once
 * (cd__gcevents_install) and calls every listener from it, in the order
 * they were added, instead of chaining hooks. Returns 0, -EEXIST (already
 * listening) or -ENOSPC (4 at most). Thread-safe; not async-signal-safe. */
int cd__gcevents_listen(cd__gc_listener fn);

/* Copies the totals. Lock held. O(CD__GC_PAUSE_RING). */
void cd__gcevents_read_locked(cd__gc_totals *out);

/* Bytes of allocated heap objects now ("HeapAlloc"): live after the last
 * collection plus bytes allocated since minus bytes explicitly freed since,
 * bounded by the bytes in in-use heap blocks. live is cd__gc_totals.live_bytes;
 * s comes from GC_get_prof_stats_unsafe under the same lock hold. Pure. */
static inline uint64_t cd__gc_heap_alloc(uint64_t live, const struct GC_prof_stats_s *s)
{
    uint64_t inuse = s->heapsize_full - s->free_bytes_full;
    uint64_t a = live + s->bytes_allocd_since_gc;
    a = a > s->expl_freed_bytes_since_gc ? a - s->expl_freed_bytes_since_gc : 0;
    return a < inuse ? a : inuse;
}

/* Stop-the-world pause histogram, for /metrics' cdebug_gc_pause_seconds
 * (vars/prom.c). The hook adds each pause (the same figure as PauseNs, also
 * for an abandoned collection) with relaxed atomics only: no lock of its
 * own, no allocation. Upper bounds in ns, "le" semantics; a last, implicit
 * bucket is +Inf. */
#define CD__GC_PAUSE_BUCKETS 16
extern const uint64_t cd__gc_pause_bounds_ns[CD__GC_PAUSE_BUCKETS];

/* Copies the per-bucket counts (not cumulative; counts[CD__GC_PAUSE_BUCKETS]
 * is the +Inf bucket) and the sum of all pauses in ns. Each value is exact;
 * they are not read atomically together. No lock needed: any thread,
 * async-signal-safe, O(buckets). */
void cd__gcevents_pause_hist(uint64_t counts[CD__GC_PAUSE_BUCKETS + 1], uint64_t *sum_ns);

/* Turns publishing of records on or off. Takes the allocation lock, so once
 * it returns no hook is half-way through publishing. Not async-signal-safe. */
void cd__gcevents_set_tracing(bool on);

/* In a child of fork(), from cd__gctrace_fork_child: publishing off (the
 * child has no printer) and the records the parent had not printed yet
 * dropped (the parent prints them). Plain stores only. */
void cd__gcevents_fork_child(void);

/* Single consumer: pops the oldest published record into *out. Returns false
 * when the ring is empty. Lock-free; async-signal-safe. */
bool cd__gcevents_pop(cd__gc_record *out);

/* Returns and resets the number of records dropped because the ring was full. */
uint64_t cd__gcevents_take_dropped(void);

/* Wake-up protocol for the single consumer: read cd__gcevents_seq(), drain
 * the ring, then cd__gcevents_wait(seen) sleeps (futex) until the hook
 * publishes after that read or cd__gcevents_kick() is called. May return
 * early (signal); callers loop. */
uint32_t cd__gcevents_seq(void);
void cd__gcevents_wait(uint32_t seen);
void cd__gcevents_kick(void);

#endif /* CDEBUG_RUNTIME_GCEVENTS_H */

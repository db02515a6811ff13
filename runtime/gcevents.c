/* runtime/gcevents.c - the bdwgc collection-event hook. See gcevents.h.
 *
 * bdwgc 8.2 runs a full collection in the thread that triggered it, with the
 * allocation lock held from START to END, and reports, in this order:
 *
 *   START                      collection begins (lazy sweeping is finished)
 *   PRE_STOP_WORLD             about to signal every registered thread
 *   POST_STOP_WORLD            all stopped
 *   MARK_START ... MARK_END    parallel mark, world stopped
 *   PRE_START_WORLD            about to resume the threads
 *   POST_START_WORLD           resumed
 *   RECLAIM_START              finalisation, free lists rebuilt, empty blocks
 *   RECLAIM_END                freed (the rest is swept lazily on allocation)
 *   END
 *
 * A collection abandoned by a stop function gets START (and maybe the stop/
 * start pair) without END; the next START simply discards it. Events outside
 * START..END (incremental mode, which cdebug never enables) are ignored.
 *
 * Everything here runs with the allocation lock held, in whatever thread
 * collects, possibly while other threads are stopped inside malloc or stdio:
 * so no allocation, no lock, no stdio, no bdwgc call that locks. Reading
 * clocks (vDSO or a system call), GC_get_prof_stats_unsafe (reads globals),
 * GC_enumerate_reachable_objects_inner (walks the heap, requires the lock) and
 * one futex wake are all that happens.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include <gc/gc_mark.h>

#include "base/clock.h"
#include "base/futex.h"
#include "runtime/gc.h"
#include "runtime/gcevents.h"
#include "runtime/trace_recorder.h"

__thread bool cd__gc_forced __attribute__((tls_model("initial-exec")));

/* bdwgc's GC_EventType values used as indexes (GC_EVENT_START = 0 ...
 * GC_EVENT_POST_START_WORLD = 9); thread-suspend events never reach here. */
#define NEVENTS 10

/* The collection in progress. Lock held. */
static struct {
    bool active;  /* between START and END */
    uint64_t gc;  /* this collection's number (NumGC once it completes) */
    bool forced;  /* cd__gc_forced at START */
    bool stopped; /* PRE_STOP_WORLD seen */
    uint64_t t[NEVENTS];
    uint64_t tcpu_pre_stop, tcpu_post_stop, tcpu_pre_start;
    uint64_t pcpu_mark_start, pcpu_mark_end;
    uint64_t heap0, heap1, heap2;
    uint64_t pause_ns, pause_end_unix;
} cur;

static cd__gc_totals totals;         /* lock held */
static unsigned long gc_divisor = 3; /* bdwgc's default */
static uint32_t gc_procs = 1;
static bool tracing; /* lock held */
static GC_on_collection_event_proc chained;
static _Atomic uint32_t completed; /* cd__gc_count() */

/* Pause histogram (gcevents.h): written by the hook, read by /metrics
 * without the allocation lock, hence atomics; relaxed because each counter
 * stands alone. 10 us .. 1 s in 1-2.5-5 steps: bdwgc's pauses are whole
 * marks, from tens of microseconds to seconds on big heaps. */
const uint64_t cd__gc_pause_bounds_ns[CD__GC_PAUSE_BUCKETS] = {
    10000,   25000,    50000,    100000,   250000,    500000,    1000000,   2500000,
    5000000, 10000000, 25000000, 50000000, 100000000, 250000000, 500000000, 1000000000,
};
static _Atomic uint64_t pause_counts[CD__GC_PAUSE_BUCKETS + 1];
static _Atomic uint64_t pause_sum_ns;

/* Single-producer (the hook, serialised by the lock), single-consumer ring.
 * head and tail only grow; head - tail is the fill. */
static cd__gc_record ring[CD__GC_TRACE_RING];
static _Atomic uint32_t ring_head, ring_tail;
static _Atomic uint64_t ring_dropped;
static _Atomic uint32_t wake_seq; /* futex word: bumped on each publish/kick */
static _Atomic uint32_t sleeping; /* consumer is (about to be) in futex_wait */

/* a - b, or 0 when a timestamp is missing or out of order. Pure. */
static inline uint64_t sub0(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

/* Wake the consumer if it sleeps. Async-signal-safe: atomics and futex. */
static void wake(void)
{
    atomic_fetch_add_explicit(&wake_seq, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&sleeping, memory_order_seq_cst))
        cd__futex_wake(&wake_seq, 1);
}

/* Producer side of the ring; lock held (the lock makes the hook the single
 * producer). Never blocks: a full ring drops r and counts it. O(1). */
static void publish(const cd__gc_record *r)
{
    uint32_t h = atomic_load_explicit(&ring_head, memory_order_relaxed);
    uint32_t t = atomic_load_explicit(&ring_tail, memory_order_acquire);
    if (h - t >= CD__GC_TRACE_RING) {
        /* Never wait for the printer inside the collector: drop, count,
         * and let the printer report it. */
        atomic_fetch_add_explicit(&ring_dropped, 1, memory_order_relaxed);
    } else {
        ring[h % CD__GC_TRACE_RING] = *r;
        atomic_store_explicit(&ring_head, h + 1, memory_order_release);
    }
    wake();
}

/* GC_enumerate_reachable_objects_inner callback: adds one live object. */
static void sum_object(void *obj, size_t bytes, void *ctx)
{
    (void)obj;
    *(uint64_t *)ctx += bytes;
}

/* Live bytes after the mark. While gctrace is on the user is looking at this
 * number ("is my program leaking?"), so we pay for an exact count: a walk of
 * the mark bits, about 2.5 ns per live object (10-25% of the collection's own
 * time on small-object heaps), accounted in the reclaim phase it runs in.
 * Otherwise we take an upper bound for free: bytes in heap blocks still
 * holding a reachable object after empty blocks were returned (exact for
 * large objects and clustered garbage, high when survivors are scattered),
 * never more than the heap in use at mark end. bdwgc's own "bytes reclaimed"
 * counter is no help: it only learns about garbage as blocks are swept lazily. */
static uint64_t live_after_mark(void)
{
    if (tracing) {
        uint64_t live = 0;
        GC_enumerate_reachable_objects_inner(sum_object, &live);
        return live;
    }
    struct GC_prof_stats_s s;
    GC_get_prof_stats_unsafe(&s, sizeof s);
    uint64_t used = s.heapsize_full - s.free_bytes_full;
    return used < cur.heap1 ? used : cur.heap1;
}

/* HeapAlloc now (see cd__gc_heap_alloc); lock held. O(1). */
static uint64_t heap_alloc_now(void)
{
    struct GC_prof_stats_s s;
    GC_get_prof_stats_unsafe(&s, sizeof s);
    return cd__gc_heap_alloc(totals.live_bytes, &s);
}

/* END: fold the collection into the totals and publish its record while
 * gctrace is on. Lock held. O(1). */
static void finish(uint64_t now)
{
    cd__gc_record r;
    memset(&r, 0, sizeof r);

    uint32_t n = totals.num_gc + 1;
    totals.num_gc = n;
    if (cur.forced)
        totals.num_forced++;
    uint32_t slot = (n - 1) % CD__GC_PAUSE_RING;
    totals.pause_ns[slot] = cur.pause_ns;
    totals.pause_end[slot] = cur.pause_end_unix;
    totals.last_gc_unix_ns = cd__walltime();

    r.num = n;
    r.forced = cur.forced;
    r.procs = gc_procs;
    r.start_ns = sub0(cur.t[GC_EVENT_START], cd__start_nanotime);
    r.clock_ns[0] = sub0(cur.t[GC_EVENT_POST_STOP_WORLD], cur.t[GC_EVENT_PRE_STOP_WORLD]);
    r.clock_ns[1] = sub0(cur.t[GC_EVENT_MARK_END], cur.t[GC_EVENT_MARK_START]);
    r.clock_ns[2] = sub0(now, cur.t[GC_EVENT_PRE_START_WORLD]);
    /* Stop-the-world and reclaim are the collecting thread's own work (the
     * others are stopped, or blocked on the lock); during the mark the
     * parallel markers run too, so that phase takes the process CPU clock.
     * Threads bdwgc does not know keep running while the world is stopped
     * and are counted there as well: an overestimate, documented. */
    r.cpu_ns[0] = sub0(cur.tcpu_post_stop, cur.tcpu_pre_stop);
    r.cpu_ns[2] = sub0(cur.pcpu_mark_end, cur.pcpu_mark_start);
    r.cpu_ns[4] = sub0(cd__thread_cputime(), cur.tcpu_pre_start);
    totals.gc_cpu_ns += r.cpu_ns[0] + r.cpu_ns[2] + r.cpu_ns[4];

    uint64_t elapsed = sub0(now, cd__start_nanotime);
    totals.cpu_fraction =
        elapsed > 0 ? (double)totals.gc_cpu_ns / ((double)elapsed * (double)gc_procs) : 0.0;
    r.cpu_fraction = totals.cpu_fraction;

    r.heap0 = cur.heap0;
    r.heap1 = cur.heap1;
    r.heap2 = cur.heap2;
    /* bdwgc collects again after about (2 * live) / divisor bytes of
     * allocation (its min_bytes_allocd, ignoring roots and the pointer-free
     * discount): an estimate of Go's heap goal. */
    r.goal = cur.heap2 + 2 * cur.heap2 / (gc_divisor ? gc_divisor : 1);
    totals.live_bytes = cur.heap2;
    totals.goal_bytes = r.goal;

    atomic_store_explicit(&completed, n, memory_order_release);
    if (tracing)
        publish(&r);
}

/* Adds one pause to the histogram. Hook only; relaxed atomics, O(buckets). */
static void observe_pause(uint64_t ns)
{
    int i = 0;
    while (i < CD__GC_PAUSE_BUCKETS && ns > cd__gc_pause_bounds_ns[i])
        i++;
    atomic_fetch_add_explicit(&pause_counts[i], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&pause_sum_ns, ns, memory_order_relaxed);
}

/* The hook bdwgc calls at each phase, lock held, in the collecting thread.
 * Stores timestamps and counters; at END calls finish(). No allocation, no
 * lock, no I/O. O(1), except the live-heap walk at RECLAIM_END with gctrace
 * on (O(heap)). */
/* Execution-trace events for each phase (docs/trace-format.md). The
 * recorder's emit path allocates nothing and takes no lock, so it is legal
 * here; HEAP follows GC_END with the figures gctrace prints. */
static void trace_gc_event(GC_EventType ev)
{
    static const uint8_t map[NEVENTS] = {
        [GC_EVENT_START] = CD__EV_GC_BEGIN,
        [GC_EVENT_MARK_START] = CD__EV_GC_MARK_BEGIN,
        [GC_EVENT_MARK_END] = CD__EV_GC_MARK_END,
        [GC_EVENT_RECLAIM_START] = CD__EV_GC_RECLAIM_BEGIN,
        [GC_EVENT_RECLAIM_END] = CD__EV_GC_RECLAIM_END,
        [GC_EVENT_END] = CD__EV_GC_END,
        [GC_EVENT_PRE_STOP_WORLD] = CD__EV_GC_STW_BEGIN,
        [GC_EVENT_POST_STOP_WORLD] = CD__EV_GC_STW_END,
        [GC_EVENT_PRE_START_WORLD] = CD__EV_GC_RESTART,
    };
    if ((unsigned)ev >= NEVENTS || map[ev] == 0)
        return;
    /* The number taken at START: by END, finish() has already counted the
     * collection, and every event of one collection must carry one number. */
    uint64_t gc = cur.gc;
    if (ev == GC_EVENT_START)
        cd__trace_ev2(CD__EV_GC_BEGIN, gc, cd__gc_forced ? 1 : 0);
    else
        cd__trace_ev1(map[ev], gc);
    if (ev == GC_EVENT_END)
        cd__trace_ev2(CD__EV_HEAP, heap_alloc_now(), totals.goal_bytes);
}

/* The listeners of cdebug's other modules (the heap sampler): append-only,
 * published by a release store of the count, read without a lock inside
 * the collection. */
#define MAX_LISTENERS 4
static cd__gc_listener listeners[MAX_LISTENERS];
static _Atomic size_t nlisteners;
static pthread_mutex_t listen_lock = PTHREAD_MUTEX_INITIALIZER;

int cd__gcevents_listen(cd__gc_listener fn)
{
    int rc = 0;
    pthread_mutex_lock(&listen_lock);
    size_t n = atomic_load_explicit(&nlisteners, memory_order_relaxed);
    for (size_t i = 0; i < n; i++)
        if (listeners[i] == fn) {
            rc = -EEXIST;
            goto out;
        }
    if (n == MAX_LISTENERS) {
        rc = -ENOSPC;
        goto out;
    }
    listeners[n] = fn;
    atomic_store_explicit(&nlisteners, n + 1, memory_order_release);
out:
    pthread_mutex_unlock(&listen_lock);
    return rc;
}

/* bdwgc's one collection-event hook for the whole kit: the listeners
 * first, then this file's bookkeeping, the trace events, and a hook the
 * program had set before cd_init (chained). */
static void GC_CALLBACK on_collection_event(GC_EventType ev)
{
    uint64_t now = cd__nanotime();
    size_t nl = atomic_load_explicit(&nlisteners, memory_order_acquire);
    for (size_t i = 0; i < nl; i++)
        listeners[i](ev);

    if (ev == GC_EVENT_START) {
        memset(&cur, 0, sizeof cur);
        cur.active = true;
        cur.forced = cd__gc_forced;
        cur.gc = atomic_load_explicit(&completed, memory_order_relaxed) + 1;
        cur.t[ev] = now;
        cur.heap0 = heap_alloc_now();
        goto chain;
    }
    if (!cur.active || (unsigned)ev >= NEVENTS)
        goto chain;
    cur.t[ev] = now;

    switch (ev) {
    case GC_EVENT_PRE_STOP_WORLD:
        cur.stopped = true;
        cur.tcpu_pre_stop = cd__thread_cputime();
        break;
    case GC_EVENT_POST_STOP_WORLD:
        cur.tcpu_post_stop = cd__thread_cputime();
        break;
    case GC_EVENT_MARK_START:
        cur.pcpu_mark_start = cd__process_cputime();
        break;
    case GC_EVENT_MARK_END:
        cur.pcpu_mark_end = cd__process_cputime();
        cur.heap1 = heap_alloc_now();
        break;
    case GC_EVENT_PRE_START_WORLD:
        cur.tcpu_pre_start = cd__thread_cputime();
        break;
    case GC_EVENT_POST_START_WORLD:
        if (cur.stopped) {
            /* The pause is the whole time the world was stopped; counted
             * in PauseTotalNs even for an abandoned collection, as Go
             * counts every stop. */
            cur.pause_ns = sub0(now, cur.t[GC_EVENT_PRE_STOP_WORLD]);
            cur.pause_end_unix = cd__walltime();
            totals.pause_total_ns += cur.pause_ns;
            observe_pause(cur.pause_ns);
        }
        break;
    case GC_EVENT_RECLAIM_END:
        cur.heap2 = live_after_mark();
        break;
    case GC_EVENT_END:
        if (cur.t[GC_EVENT_MARK_END] != 0)
            finish(now);
        cur.active = false;
        break;
    default:
        break;
    }

chain:
    if (CD__TRACING())
        trace_gc_event(ev); /* after the bookkeeping: HEAP sees this goal */
    if (chained != NULL)
        chained(ev);
}

void cd__gcevents_install(unsigned long divisor, uint32_t procs)
{
    gc_divisor = divisor ? divisor : 1;
    gc_procs = procs ? procs : 1;
    chained = GC_get_on_collection_event();
    GC_set_on_collection_event(on_collection_event);
}

void cd__gcevents_read_locked(cd__gc_totals *out)
{
    *out = totals;
}

void cd__gcevents_pause_hist(uint64_t counts[CD__GC_PAUSE_BUCKETS + 1], uint64_t *sum_ns)
{
    for (int i = 0; i <= CD__GC_PAUSE_BUCKETS; i++)
        counts[i] = atomic_load_explicit(&pause_counts[i], memory_order_relaxed);
    *sum_ns = atomic_load_explicit(&pause_sum_ns, memory_order_relaxed);
}

uint32_t cd__gc_count(void)
{
    return atomic_load_explicit(&completed, memory_order_acquire);
}

/* GC_call_with_alloc_lock body of cd__gcevents_set_tracing. */
static void *set_tracing_locked(void *arg)
{
    tracing = *(bool *)arg;
    return NULL;
}

void cd__gcevents_set_tracing(bool on)
{
    GC_call_with_alloc_lock(set_tracing_locked, &on);
}

void cd__gcevents_fork_child(void)
{
    /* Single-threaded here, and bdwgc's own child handler (run before
     * ours) has released the allocation lock its prepare handler took: no
     * hook runs, so the lock-held variable may be stored without it. */
    tracing = false;
    atomic_store_explicit(&ring_tail, atomic_load_explicit(&ring_head, memory_order_relaxed),
                          memory_order_relaxed);
    atomic_store_explicit(&ring_dropped, 0, memory_order_relaxed);
    atomic_store_explicit(&sleeping, 0, memory_order_relaxed);
}

bool cd__gcevents_pop(cd__gc_record *out)
{
    uint32_t t = atomic_load_explicit(&ring_tail, memory_order_relaxed);
    uint32_t h = atomic_load_explicit(&ring_head, memory_order_acquire);
    if (t == h)
        return false;
    *out = ring[t % CD__GC_TRACE_RING];
    atomic_store_explicit(&ring_tail, t + 1, memory_order_release);
    return true;
}

uint64_t cd__gcevents_take_dropped(void)
{
    return atomic_exchange_explicit(&ring_dropped, 0, memory_order_relaxed);
}

uint32_t cd__gcevents_seq(void)
{
    return atomic_load_explicit(&wake_seq, memory_order_seq_cst);
}

void cd__gcevents_wait(uint32_t seen)
{
    /* Dekker-style with wake(): either the publisher sees sleeping == 1 and
     * wakes us, or we see its bump of wake_seq and do not sleep (the futex
     * also re-checks the word atomically). */
    atomic_store_explicit(&sleeping, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&wake_seq, memory_order_seq_cst) == seen)
        cd__futex_wait(&wake_seq, seen, NULL);
    atomic_store_explicit(&sleeping, 0, memory_order_relaxed);
}

void cd__gcevents_kick(void)
{
    atomic_fetch_add_explicit(&wake_seq, 1, memory_order_seq_cst);
    cd__futex_wake(&wake_seq, 1);
}

/* prof/heapprof.h - heap profiling: Go's MemProfileRate sampling of the
 * cd_alloc family, and the "heap" and "allocs" profiles built from it.
 *
 * Sampling. Every thread keeps a countdown of bytes until its next sample
 * (cd__heapprof_next, Go's mcache.nextSample). An allocation of n bytes
 * subtracts n; when the countdown reaches zero or below, the allocation is
 * sampled and a new countdown is drawn from an exponential distribution of
 * mean memprofilerate bytes (a Poisson process over allocated bytes, so an
 * object of s bytes is sampled with probability 1 - exp(-s/rate), which is
 * what the profile's unsampling scale assumes). memprofilerate=1 samples
 * every allocation, 0 none: the countdown is then so large that it never
 * runs out, and the unsampled path is the same decrement and branch.
 *
 * A sampled object gets a record: its stack (a frame-pointer walk whose top
 * frame is the function that called cd_alloc), its size, and a bdwgc "long
 * link" (GC_register_long_link) on the object: bdwgc clears the link in the
 * collection that finds the object unreachable (after finalizers could no
 * longer resurrect it), which is how its reclamation is observed. A link,
 * unlike a finalizer, leaves the object's own finalizer slot to the user.
 * cd_free and cd_realloc of a sampled object drop its record first
 * (cd__heapprof_free), counting the free.
 *
 * Records are grouped in buckets keyed by (stack, size), as Go's mprof
 * buckets, with counts of allocations and frees (objects and bytes). Counts
 * are published collection by collection (docs/profiling.md): the
 * profile shows the heap as of the last completed collection.
 *
 * Locking: one mutex guards buckets and records; the collector never takes
 * it (the collection-event hook only bumps two atomic counters), and no
 * bdwgc function is called while holding it. Nothing here touches GC
 * memory, so the profiles can be rendered from threads bdwgc does not know.
 */
#ifndef CDEBUG_PROF_HEAPPROF_H
#define CDEBUG_PROF_HEAPPROF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/env.h"

/* Slots of the filter that lets cd_free skip the record lookup. */
#define CD__HEAPPROF_FILTER_BITS 15

/* Bytes the calling thread may still allocate before its next sample; <= 0
 * after an allocation means "sample it". Starts at 0, so a thread's first
 * allocation takes the slow path, which draws the first real countdown.
 * Initial-exec TLS: one %fs-relative access on the allocation path. */
extern __thread int64_t cd__heapprof_next __attribute__((tls_model("initial-exec")));

/* Counting filter over sampled addresses: slot (address hash) counts the
 * live records whose address hashes there. 0 proves "not sampled". Written
 * under the heapprof mutex, read with relaxed loads by cd__heapprof_free. */
extern _Atomic uint32_t cd__heapprof_filter[1u << CD__HEAPPROF_FILTER_BITS];

/* Reads memprofilerate, installs the collection-event hook (chained) and
 * registers the "heap" and "allocs" profiles. Called once by cd_init after
 * the collector is initialised; allocations before it are not sampled.
 * Returns 0 or a negative errno (a failed registration). Not thread-safe
 * against itself. */
int cd__heapprof_init(const cd__config *cfg);

/* The slow path of cd__heapprof_alloc: decides whether p (n bytes, just
 * allocated by the caller, which is a cd_alloc-family function called by
 * the user) is sampled; if so records it with the caller's caller on top
 * of the stack. Draws the next countdown. Must be called directly from the
 * cd_alloc-family function (the frame walk skips exactly that frame). Not
 * async-signal-safe (mallocs, locks). Cost: O(stack depth) for the walk,
 * one bdwgc lock for the link, one mutex; once per collection cycle it
 * also sweeps the records (O(live sampled objects)). */
void cd__heapprof_sample(void *p, size_t n);

/* Drops p's record if p is a sampled object: unregisters its link and
 * counts a free. Returns true when p was sampled. Call before bdwgc frees
 * or moves p. Not async-signal-safe. Cost: a mutex and a hash lookup. */
bool cd__heapprof_forget(void *p);

/* The filter slot of address p. Pure. */
static inline size_t cd__heapprof_slot(const void *p)
{
    return (size_t)(((uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ull) >>
                    (64 - CD__HEAPPROF_FILTER_BITS));
}

/* The allocation hook, inlined in the cd_alloc family right after a
 * successful allocation of n bytes at p: a TLS decrement and a branch
 * unless the allocation is sampled. always_inline: the slow path must be
 * called from the allocating function's own frame. */
__attribute__((always_inline)) static inline void cd__heapprof_alloc(void *p, size_t n)
{
    if (__builtin_expect((cd__heapprof_next -= (int64_t)n) <= 0, 0))
        cd__heapprof_sample(p, n);
}

/* The free hook, for cd_free and cd_realloc before bdwgc releases p (not
 * NULL). Returns true when p was a sampled object (its record is gone and
 * the free counted). One relaxed load unless p's filter slot is in use. */
static inline bool cd__heapprof_free(void *p)
{
    if (__builtin_expect(atomic_load_explicit(&cd__heapprof_filter[cd__heapprof_slot(p)],
                                              memory_order_relaxed) == 0,
                         1))
        return false;
    return cd__heapprof_forget(p);
}

/* Runs a full collection from any thread, including threads bdwgc does not
 * know (the debug server's, for /debug/pprof/heap?gc=1): a registered
 * thread collects itself (cd_gc); any other spawns a short-lived kit thread
 * registered with bdwgc that runs cd_gc, and joins it. Returns 0 or a
 * negative errno (thread creation failed). Not async-signal-safe. Cost: a
 * collection (plus a thread creation from a foreign thread). */
int cd__heapprof_collect(void);

/* CDEBUG=memprofile=FILE: after a collection, writes the allocs profile to
 * FILE (go test -memprofile's behaviour). No-op without the setting, and
 * in a child of fork() (the file is the parent's); runs once (later calls
 * return at once). Errors go to stderr. Called at exit and by cd_shutdown.
 * Not async-signal-safe. */
void cd__heapprof_write_env(void);

/* Counters for tests and benchmarks: objects sampled since start, records
 * (sampled objects not yet seen freed), buckets, samples dropped for lack
 * of memory. Thread-safe (takes the mutex). */
typedef struct cd__heapprof_stats {
    uint64_t sampled, records, buckets, lost;
} cd__heapprof_stats;
void cd__heapprof_read_stats(cd__heapprof_stats *s);

#endif /* CDEBUG_PROF_HEAPPROF_H */

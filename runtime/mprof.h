/* runtime/mprof.h - the heap sampler: Go's MemProfileRate sampling of the
 * cd_alloc family and of the malloc family (runtime/malloc.h), the core of
 * the "heap" and "allocs" profiles (prof/heapprof.h renders them). Go keeps
 * the same in its runtime (mprof.go): the allocator calls it on every
 * allocation.
 *
 * Sampling. Every thread keeps a countdown of bytes until its next sample
 * (cd__mprof_next, Go's mcache.nextSample). An allocation of n bytes
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
 * (cd__mprof_free), counting the free.
 *
 * Two allocators. Both share the countdown (one Poisson process over every
 * byte the thread allocates, as Go's one mcache). A malloc'd object is not
 * bdwgc's: its record has no link, and only free and realloc end it
 * (cd__mprof_forget_malloc). Its counts are published at once, not at the
 * next collection: Go waits for a collection because that is when it learns
 * of frees, but a malloc free is known when it happens, and a program that
 * only mallocs may never collect. Buckets are per allocator; a row says
 * whose it is (the profiles' `allocator` label).
 *
 * Re-entrancy. The sampler itself mallocs (records, tables, the snapshot)
 * and the malloc family calls the sampler: cd__mprof_busy is non-zero while
 * a thread runs sampler code (its lock held, or a sample being taken), and
 * the malloc family then forwards without sampling, so no call re-enters
 * the sampler or waits for the lock its own thread holds.
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
#ifndef CDEBUG_RUNTIME_MPROF_H
#define CDEBUG_RUNTIME_MPROF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Slots of the filter that lets cd_free skip the record lookup. */
#define CD__MPROF_FILTER_BITS 15

/* Bytes the calling thread may still allocate before its next sample; <= 0
 * after an allocation means "sample it". Starts at INT64_MAX: a thread
 * samples nothing until cd__mprof_thread_arm sets it to 0, so that its
 * next allocation takes the slow path, which draws the first real
 * countdown. Initial-exec TLS: one %fs-relative access on the allocation
 * path. */
extern __thread int64_t cd__mprof_next __attribute__((tls_model("initial-exec")));

/* Counting filter over sampled addresses: slot (cd__mprof_slot) counts
 * the live records whose address falls there, plus the pinned addresses
 * (cd__mprof_filter_pin). 0 proves "neither sampled nor pinned". Updated
 * with atomic adds, read with relaxed loads by the free paths. */
extern _Atomic uint32_t cd__mprof_filter[1u << CD__MPROF_FILTER_BITS];

/* The sum of the filter's slots: 0 while nothing is sampled or pinned,
 * which is every free of a process that samples nothing (memprofilerate=0,
 * and the bootstrap arena unused: dlsym allocates only on errors). Read
 * first by the free paths: one load of a hot line and a predictable branch,
 * where the slot costs a load from a 128 KiB table. On its own
 * cache line: written once per sample and per free of a sampled object. */
typedef struct cd__mprof_sum {
    _Alignas(64) _Atomic uint32_t n; /* the struct fills the line */
} cd__mprof_sum;
extern cd__mprof_sum cd__mprof_filter_sum;

/* Non-zero while the calling thread runs sampler code (see the top): the
 * malloc family forwards its calls untouched. Initial-exec TLS. */
extern __thread unsigned cd__mprof_busy __attribute__((tls_model("initial-exec")));

/* Non-zero while the calling thread does cdebug's own work whose mallocs
 * are the tool's, not the program's: rendering a profile (libdw reads
 * every module's DWARF to symbolize it, megabytes a render; zlib, the
 * encoder). Its mallocs are not sampled; its frees are looked up as usual.
 * Go's runtime/pprof allocations do show in Go's profiles, but they are a
 * few kilobytes; here they would drown the program's at
 * memprofilerate=1. Initial-exec TLS; nest with ++ and --. */
extern __thread unsigned cd__mprof_quiet __attribute__((tls_model("initial-exec")));

/* Whose allocation a record or a row is: the profiles' `allocator` label. */
typedef enum cd__mprof_kind { CD__MPROF_GC = 0, CD__MPROF_MALLOC = 1 } cd__mprof_kind;

/* Sets memprofilerate (bytes per sample on average; 1 every allocation, 0
 * none) and listens to the collections (runtime/gcevents.h) that publish
 * the counts. Called once by the runtime's initialisation after the
 * collector's; allocations before it are not sampled. Returns 0 or a
 * negative errno. Not thread-safe against itself. */
int cd__mprof_init(int64_t memprofilerate);

/* Arms the calling thread's sampling: its next allocation draws its first
 * countdown (as Go draws one when it makes an M's cache). Called for every
 * thread cdebug knows, by the registry at the end of a thread's attach
 * (runtime/thread.c: main, the kit's, every pthread_create'd thread,
 * cd_thread_register): the stack bounds are known by then, so the
 * sampler never looks them up itself (pthread_getattr_np, which reallocs
 * under its own lock, could then re-enter it).
 * A thread never armed (one made without pthread_create, or a program's
 * thread in a TSan build, where threads are not wrapped) samples nothing.
 *
 * Why not armed from the start: the main thread's first allocations come
 * from library constructors that run before cdebug's initialisation (a
 * newlocale in p11-kit's, which libmicrohttpd's TLS library loads), where
 * the sampler can record nothing anyway; entering it there left the
 * program's malloc+free pairs twice as slow in one run in three
 * (bench/run_malloc, docs/bench.md), for reasons not established.
 *
 * Thread-safe (the calling thread's own state); async-signal-safe; O(1). */
void cd__mprof_thread_arm(void);

/* The rate set by cd__mprof_init. Thread-safe; async-signal-safe; O(1). */
int64_t cd__mprof_rate(void);

/* The probability that an object of `bytes` bytes is sampled at rate r:
 * 1 - exp(-bytes/r) (1 for r <= 1), without libm. A profile divides by it
 * to unsample (Go's scaleHeapSample). Pure; O(1). */
double cd__mprof_sample_prob(double bytes, int64_t r);

/* The slow path of cd__mprof_alloc: decides whether p (n bytes, just
 * allocated by the caller, which is a cd_alloc-family function called by
 * the user) is sampled; if so records it with the caller's caller on top
 * of the stack. Draws the next countdown. Must be called directly from the
 * cd_alloc-family function (the frame walk skips exactly that frame). Not
 * async-signal-safe (mallocs, locks). Cost: O(stack depth) for the walk,
 * one bdwgc lock for the link, one mutex; once per collection cycle it
 * also sweeps the records (O(live sampled objects)). */
void cd__mprof_sample(void *p, size_t n);

/* Drops p's record if p is a sampled object: unregisters its link and
 * counts a free. Returns true when p was sampled. Call before bdwgc frees
 * or moves p. Not async-signal-safe. Cost: a mutex and a hash lookup. */
bool cd__mprof_forget(void *p);

/* cd__mprof_sample for the malloc family (runtime/malloc.c): p (n bytes,
 * NULL when the allocation failed) was just returned by the next
 * allocator. Same frame rule: called directly from the malloc-family
 * function the program called. Does nothing while cd__mprof_busy. Not
 * async-signal-safe. Cost: as cd__mprof_sample, without bdwgc. */
void cd__mprof_sample_malloc(void *p, size_t n);

/* Drops p's record if p is a sampled malloc'd object, counting its free;
 * true when it was. Never dereferences p: any value is safe (a pointer the
 * allocator never returned finds no record). Call before the next
 * allocator frees or moves p. Not async-signal-safe; must not be called
 * while cd__mprof_busy (the thread may hold the lock). Cost: a mutex and a
 * hash lookup. */
bool cd__mprof_forget_malloc(void *p);

/* Makes p's filter slot non-zero for good, so the free paths look at p
 * (runtime/malloc.c pins its bootstrap arena's blocks, which must never
 * reach the next allocator's free). Thread-safe; async-signal-safe (one
 * atomic add); O(1). */
void cd__mprof_filter_pin(const void *p);

/* The filter slot of address p. Pure.
 *
 * Not a hash: the 16-byte granule's number, folded onto the table. Blocks
 * allocated near each other (a request's buffers, a pool's chunks) share
 * the filter's cache lines (one line covers 256 bytes of heap), so a
 * program whose caches the kernel or its own work keeps flushing pays one
 * miss for a run of frees, not one per free (in nginx, with a
 * multiplicative hash, free's misses were most of cdebug's 0.5% share of
 * its CPU). Blocks in different granules
 * of one 512 KiB window never share a slot (an allocator with 8-byte
 * classes may put two in one granule: a false positive, never a miss); the
 * fold (window number xor granule) spreads page-aligned blocks, whose
 * granule numbers agree in their low bits, over every slot. */
static inline size_t cd__mprof_slot(const void *p)
{
    uint64_t g = (uint64_t)(uintptr_t)p >> 4;
    return (size_t)((g ^ (g >> CD__MPROF_FILTER_BITS)) & ((1u << CD__MPROF_FILTER_BITS) - 1));
}

/* The allocation hook, inlined in the cd_alloc family right after a
 * successful allocation of n bytes at p: a TLS decrement and a branch
 * unless the allocation is sampled. always_inline: the slow path must be
 * called from the allocating function's own frame. */
__attribute__((always_inline)) static inline void cd__mprof_alloc(void *p, size_t n)
{
    if (__builtin_expect((cd__mprof_next -= (int64_t)n) <= 0, 0))
        cd__mprof_sample(p, n);
}

/* The malloc family's countdown, run before forwarding an allocation of n
 * bytes: true when it must be sampled (forward, then call
 * cd__mprof_sample_malloc). Deciding first lets the usual case forward
 * with a tail call, no frame of its own. */
__attribute__((always_inline)) static inline bool cd__mprof_malloc_due(size_t n)
{
    return __builtin_expect((cd__mprof_next -= (int64_t)n) <= 0, 0);
}

/* The malloc family's allocation hook after the fact, as cd__mprof_alloc
 * (p may be NULL: a failed allocation, which the slow path ignores). */
__attribute__((always_inline)) static inline void cd__mprof_malloc_alloc(void *p, size_t n)
{
    if (__builtin_expect((cd__mprof_next -= (int64_t)n) <= 0, 0))
        cd__mprof_sample_malloc(p, n);
}

/* Whether anything at all is sampled or pinned: false proves every
 * pointer is neither. One relaxed load of a hot line. Async-signal-safe. */
static inline bool cd__mprof_filter_any(void)
{
    return atomic_load_explicit(&cd__mprof_filter_sum.n, memory_order_relaxed) != 0;
}

/* Whether p's own filter slot is in use (see cd__mprof_maybe_sampled). A
 * shift and one relaxed load. Async-signal-safe. */
static inline bool cd__mprof_slot_used(const void *p)
{
    return atomic_load_explicit(&cd__mprof_filter[cd__mprof_slot(p)], memory_order_relaxed) != 0;
}

/* Whether p's filter slot is in use: false proves p is neither a sampled
 * object nor pinned. The caller holds p, so the sampler's adds for p
 * (made before p was handed out) are visible to it, and no remove for p
 * can be under way. One relaxed load while nothing is sampled, two
 * otherwise. Async-signal-safe. */
static inline bool cd__mprof_maybe_sampled(const void *p)
{
    return __builtin_expect(cd__mprof_filter_any() && cd__mprof_slot_used(p), 0);
}

/* The free hook, for cd_free and cd_realloc before bdwgc releases p (not
 * NULL). Returns true when p was a sampled object (its record is gone and
 * the free counted). One relaxed load unless p's filter slot is in use. */
static inline bool cd__mprof_free(void *p)
{
    if (!cd__mprof_maybe_sampled(p))
        return false;
    return cd__mprof_forget(p);
}

/* One bucket (stack, object size) as published: the heap as of the last
 * completed collection. stk is immutable once made and never freed, so a
 * row stays usable after the snapshot, unlocked. */
typedef struct cd__mprof_row {
    const uintptr_t *stk; /* return addresses, innermost first */
    uint32_t depth;
    uint32_t epoch; /* base/dlhist.h's when sampled: symbolize with it */
    uint64_t size;  /* bytes of each object of the bucket */
    uint64_t hash;  /* of (stack, size): a stable order for equal counts */
    uint64_t allocs, frees, alloc_bytes, free_bytes;
    cd__mprof_kind kind; /* the allocator */
} cd__mprof_row;

/* Publishes what can be published and copies every bucket into a malloc'd
 * array (*out, *n; the caller frees it). As in Go's MemProfile, when
 * nothing of bdwgc's heap is published yet (no collection has run, or
 * collection is off), every pending count is (malloc counts are never
 * pending). Returns 0 or -ENOMEM. Thread-safe; not
 * async-signal-safe; O(records + buckets). */
int cd__mprof_snapshot(cd__mprof_row **out, size_t *n);

/* The number of buckets (the index page's count). Thread-safe; O(1). */
int64_t cd__mprof_buckets(void);

/* Counters for tests and benchmarks: objects sampled since start, records
 * (sampled objects not yet seen freed), buckets, samples dropped for lack
 * of memory. Thread-safe (takes the mutex). */
typedef struct cd__mprof_stats {
    uint64_t sampled, records, buckets, lost;
} cd__mprof_stats;
void cd__mprof_read_stats(cd__mprof_stats *s);

#endif /* CDEBUG_RUNTIME_MPROF_H */

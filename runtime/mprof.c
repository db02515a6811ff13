/* runtime/mprof.c - the heap sampler's core: which allocations are sampled,
 * their records and buckets, and when their counts are published (Go keeps
 * the same in its runtime, mprof.go). The "heap" and "allocs" profiles are
 * rendered from its snapshot by prof/heapprof.c. See mprof.h for the model
 * and docs/profiling.md for the user's view.
 *
 * Publication (Go's mprof cycles, adapted to a stop-the-world collector).
 * Go cannot show allocations as they happen: frees are only known after a
 * collection, so a profile that counted both in real time would be skewed
 * toward allocations. It therefore publishes the heap "as of the last
 * completed collection". Here every count goes to a numbered cycle:
 *
 *   - an allocation made while `started` collections have begun goes to
 *     cycle started + 1: the first collection that can find it dead;
 *   - an explicit free (cd_free, cd_realloc) likewise to started + 1, so it
 *     is never published before the allocation it frees;
 *   - a free observed through a cleared link goes to the value of `started`
 *     read after the sweep that saw it: the collection that cleared it is
 *     at most that one.
 *
 * A cycle is published (folded into the bucket's `active` counts) once
 * `ended`, the number of the last collection to reach GC_EVENT_END, has
 * reached it. bdwgc clears links inside the collection (GC_finalize, before
 * END) with its lock held, so once END is seen every link that collection
 * clears is already cleared. `started` and `ended` are kept by our own
 * collection-event hook (two atomic updates; chained to the previous hook).
 * As in Go's MemProfile, when nothing at all is published yet (no
 * collection has run), every pending cycle is published at read time.
 *
 * Records of dead objects are found by a sweep over all records (cleared
 * links), run at most once per collection by the sampling slow path and by
 * every profile read: O(live sampled objects), amortised over the bytes
 * allocated per collection.
 *
 * A malloc'd object (runtime/malloc.c) has no link and no cycle: its
 * allocation and its free (free, realloc) are counted in the published
 * counts when they happen (mprof.h says why).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h> /* ldexp only: glibc has it in libc, no libm needed */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gc/gc.h>

#include "cdebug/runtime.h"
#include "base/fpwalk.h"
#include "base/clock.h"
#include "base/dlhist.h"
#include "base/hash.h"
#include "runtime/gcevents.h"
#include "runtime/mprof.h"
#include "runtime/thread.h"

__thread int64_t cd__mprof_next __attribute__((tls_model("initial-exec"))) = INT64_MAX;
__thread unsigned cd__mprof_busy __attribute__((tls_model("initial-exec")));
__thread unsigned cd__mprof_quiet __attribute__((tls_model("initial-exec")));
_Atomic uint32_t cd__mprof_filter[1u << CD__MPROF_FILTER_BITS];
cd__mprof_sum cd__mprof_filter_sum;

/* The calling thread's PRNG state (0: not seeded yet). */
static __thread uint64_t tls_rng __attribute__((tls_model("initial-exec")));

static _Atomic int64_t rate;   /* memprofilerate, set once by init */
static _Atomic bool ready;     /* init done: sampling may record */
static _Atomic uint64_t seeds; /* distinguishes threads seeded together */

/* Collections begun / number of the last one to end (see the top). */
static _Atomic uint64_t gc_started, gc_ended;

/* ---- buckets and records ------------------------------------------------ */

/* Counts of one cycle, or cumulative (a bucket's active counts). */
typedef struct cyc {
    uint64_t allocs, frees, alloc_bytes, free_bytes;
} cyc;

/* Cycles not yet published, per bucket: allocations go at most two cycles
 * ahead of the last ended one, frees one; four slots leave room. */
#define NFUTURE 4

typedef struct hbucket {
    struct hbucket *hnext; /* hash chain */
    struct hbucket *all;   /* every bucket, newest first */
    uint64_t hash;
    uint64_t size; /* bytes of each object of the bucket */
    cyc active;    /* published counts */
    cyc future[NFUTURE];
    uint64_t fcycle[NFUTURE]; /* the cycle each future slot holds */
    uint32_t depth;
    uint32_t epoch; /* base/dlhist.h's: the libraries loaded when sampled */
    cd__mprof_kind kind;
    uintptr_t stk[]; /* return addresses, innermost first */
} hbucket;

/* A sampled object not yet seen freed. */
typedef struct hrec {
    void *obj;      /* the long link: bdwgc sets it to NULL when the object dies
                       (a malloc'd object's is never cleared) */
    uintptr_t addr; /* the object's address */
    hbucket *b;
    struct hrec *next;
} hrec;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;

/* mu, with the thread marked busy while it holds it: a malloc made under
 * it (records, tables, rows) is forwarded untouched instead of sampled,
 * which would take mu again. */
static void lock(void)
{
    cd__mprof_busy++;
    pthread_mutex_lock(&mu);
}

static void unlock(void)
{
    pthread_mutex_unlock(&mu);
    cd__mprof_busy--;
}

/* Everything below is guarded by mu. */
static hbucket **btab; /* bucket hash table, 1 << bbits chains */
static unsigned bbits;
static size_t nbuckets;
static hbucket *ball;
static hrec **rtab; /* record hash table by address, 1 << rbits chains */
static unsigned rbits;
static size_t nrecs;
static uint64_t synced; /* gc_ended at the last sweep */
static uint64_t nsampled;
static _Atomic uint64_t nlost;

static size_t rec_slot(uintptr_t addr)
{
    return (size_t)(((uint64_t)addr * 0x9e3779b97f4a7c15ull) >> (64 - rbits));
}

static uint64_t stack_hash(const uintptr_t *stk, size_t depth, uint64_t size, cd__mprof_kind kind,
                           uint32_t epoch)
{
    uint64_t h = cd__mix64(size + depth + ((uint64_t)kind << 56) + ((uint64_t)epoch << 24));
    for (size_t i = 0; i < depth; i++)
        h = cd__mix64(h ^ stk[i]);
    return h;
}

/* Adds future slot s to the published counts and empties it. */
static void fold(hbucket *b, unsigned s)
{
    cyc *f = &b->future[s];
    b->active.allocs += f->allocs;
    b->active.frees += f->frees;
    b->active.alloc_bytes += f->alloc_bytes;
    b->active.free_bytes += f->free_bytes;
    memset(f, 0, sizeof *f);
}

/* Counts one allocation or free of b's size in `cycle`. mu held. O(1). */
static void account(hbucket *b, uint64_t cycle, bool is_free)
{
    unsigned s = (unsigned)(cycle % NFUTURE);
    if (b->fcycle[s] != cycle) {
        /* The slot holds an older cycle: published by now (cycles in
         * flight span fewer than NFUTURE), so fold it first. */
        fold(b, s);
        b->fcycle[s] = cycle;
    }
    if (is_free) {
        b->future[s].frees++;
        b->future[s].free_bytes += b->size;
    } else {
        b->future[s].allocs++;
        b->future[s].alloc_bytes += b->size;
    }
}

/* Counts one allocation or free of a malloc'd object of b's size in the
 * published counts, at once (see mprof.h). mu held. O(1). */
static void account_now(hbucket *b, bool is_free)
{
    if (is_free) {
        b->active.frees++;
        b->active.free_bytes += b->size;
    } else {
        b->active.allocs++;
        b->active.alloc_bytes += b->size;
    }
}

/* Folds every cycle <= upto into the published counts. mu held. */
static void publish(hbucket *b, uint64_t upto)
{
    for (unsigned s = 0; s < NFUTURE; s++)
        if (b->fcycle[s] <= upto)
            fold(b, s);
}

/* Doubles a chained table of 1 << *bits slots; entries are relinked by
 * next_of/slot_of. A failed allocation keeps the old table (longer chains). */
static void grow_recs(void)
{
    unsigned nb = rbits + 1;
    hrec **t = calloc((size_t)1 << nb, sizeof *t);
    if (t == NULL)
        return;
    size_t old = (size_t)1 << rbits;
    rbits = nb;
    for (size_t i = 0; i < old; i++)
        for (hrec *r = rtab[i], *next; r != NULL; r = next) {
            next = r->next;
            size_t s = rec_slot(r->addr);
            r->next = t[s];
            t[s] = r;
        }
    free(rtab);
    rtab = t;
}

static void grow_buckets(void)
{
    unsigned nb = bbits + 1;
    hbucket **t = calloc((size_t)1 << nb, sizeof *t);
    if (t == NULL)
        return;
    size_t old = (size_t)1 << bbits;
    bbits = nb;
    for (size_t i = 0; i < old; i++)
        for (hbucket *b = btab[i], *next; b != NULL; b = next) {
            next = b->hnext;
            size_t s = (size_t)(b->hash >> (64 - bbits));
            b->hnext = t[s];
            t[s] = b;
        }
    free(btab);
    btab = t;
}

/* Allocates the tables on first use. mu held. 0 or -ENOMEM. */
static int tables_init(void)
{
    if (rtab != NULL)
        return 0;
    btab = calloc((size_t)1 << 8, sizeof *btab);
    rtab = calloc((size_t)1 << 10, sizeof *rtab);
    if (btab == NULL || rtab == NULL) {
        free(btab);
        free(rtab);
        btab = NULL;
        rtab = NULL;
        return -ENOMEM;
    }
    bbits = 8;
    rbits = 10;
    return 0;
}

/* The bucket of (stack, size, allocator, unload epoch), created when new.
 * The epoch is part of the key: the same pcs before and after a dlclose
 * may be two libraries' code. mu held. NULL on out of memory. O(depth)
 * expected. */
static hbucket *bucket_get(const uintptr_t *stk, size_t depth, uint64_t size, cd__mprof_kind kind,
                           uint32_t epoch)
{
    uint64_t h = stack_hash(stk, depth, size, kind, epoch);
    size_t s = (size_t)(h >> (64 - bbits));
    for (hbucket *b = btab[s]; b != NULL; b = b->hnext)
        if (b->hash == h && b->size == size && b->depth == depth && b->kind == kind &&
            b->epoch == epoch && memcmp(b->stk, stk, depth * sizeof *stk) == 0)
            return b;
    hbucket *b = calloc(1, sizeof *b + depth * sizeof *stk);
    if (b == NULL)
        return NULL;
    b->hash = h;
    b->size = size;
    b->depth = (uint32_t)depth;
    b->epoch = epoch;
    b->kind = kind;
    memcpy(b->stk, stk, depth * sizeof *stk);
    b->hnext = btab[s];
    btab[s] = b;
    b->all = ball;
    ball = b;
    if (++nbuckets > ((size_t)1 << bbits))
        grow_buckets();
    return b;
}

/* An atomic add, not a load and a store under mu: pins are added without
 * it (cd__mprof_filter_pin). Once per sample or free of a sampled object. */
static void filter_add(uintptr_t addr, int d)
{
    /* Adds happen before p is handed out and removes after its free was
     * decided, so a free of p (which happens after the handing out) sees
     * both. The sum goes up first and down last: it is never below the
     * slots' total, so a non-zero slot never meets a zero sum. */
    if (d > 0)
        atomic_fetch_add_explicit(&cd__mprof_filter_sum.n, (uint32_t)d, memory_order_relaxed);
    atomic_fetch_add_explicit(&cd__mprof_filter[cd__mprof_slot((const void *)addr)], (uint32_t)d,
                              memory_order_relaxed);
    if (d < 0)
        atomic_fetch_add_explicit(&cd__mprof_filter_sum.n, (uint32_t)d, memory_order_relaxed);
}

void cd__mprof_filter_pin(const void *p)
{
    filter_add((uintptr_t)p, +1);
}

static bool rec_dead(const hrec *r)
{
    return __atomic_load_n(&r->obj, __ATOMIC_ACQUIRE) == NULL;
}

/* Finds the records whose link bdwgc cleared, counts their frees and frees
 * them. mu held. O(records). */
static void sweep_locked(void)
{
    if (rtab == NULL)
        return;
    uint64_t ended = atomic_load_explicit(&gc_ended, memory_order_acquire);
    hrec *dead = NULL;
    size_t n = (size_t)1 << rbits;
    for (size_t i = 0; i < n; i++)
        for (hrec **pp = &rtab[i]; *pp != NULL;) {
            hrec *r = *pp;
            if (rec_dead(r)) {
                *pp = r->next;
                r->next = dead;
                dead = r;
                nrecs--;
                filter_add(r->addr, -1);
            } else {
                pp = &r->next;
            }
        }
    /* A link seen cleared was cleared by a collection that had begun by
     * now: its free belongs to that cycle at the latest. bdwgc dropped its
     * registration when it cleared it, so the record can go. */
    uint64_t cycle = atomic_load_explicit(&gc_started, memory_order_acquire);
    while (dead != NULL) {
        hrec *r = dead;
        dead = r->next;
        account(r->b, cycle, true);
        free(r);
    }
    synced = ended;
}

/* ---- sampling ------------------------------------------------------------- */

/* xorshift64*: the calling thread's PRNG. */
static uint64_t rng_next(void)
{
    uint64_t x = tls_rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    tls_rng = x;
    return x * 0x2545f4914f6cdd1dull;
}

/* ln(u) for u in [2^-53, 1], without libm: u = m * 2^e with m in
 * [1/sqrt2, sqrt2), ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172,
 * whose series converges to double precision in 10 terms. Once per
 * sample: one division, the series in Horner form with the 1/k constant
 * (a division per term made the draw twice as slow). */
static double ln01(double u)
{
    uint64_t bits;
    memcpy(&bits, &u, sizeof bits);
    /* u is normal (>= 2^-53): its exponent field is e + 1022 for
     * u = m * 2^e, m in [0.5, 1). */
    int e = (int)((bits >> 52) & 0x7ff) - 1022;
    bits = (bits & ~(0x7ffull << 52)) | (1022ull << 52);
    double m;
    memcpy(&m, &bits, sizeof m);
    if (m < 0.70710678118654752) {
        m *= 2;
        e--;
    }
    double s = (m - 1) / (m + 1), s2 = s * s;
    double p = 1.0 / 19;
    p = 1.0 / 17 + s2 * p;
    p = 1.0 / 15 + s2 * p;
    p = 1.0 / 13 + s2 * p;
    p = 1.0 / 11 + s2 * p;
    p = 1.0 / 9 + s2 * p;
    p = 1.0 / 7 + s2 * p;
    p = 1.0 / 5 + s2 * p;
    p = 1.0 / 3 + s2 * p;
    p = 1 + s2 * p;
    return 2 * s * p + e * 0.69314718055994531;
}

/* 1 - exp(-a) for a >= 0, without libm (and without cancellation for
 * small a, where the series is used). */
static double one_minus_exp_neg(double a)
{
    if (a < 0.5) {
        double term = a, sum = a;
        for (int k = 2; k < 40; k++) {
            term *= -a / k;
            sum += term;
            if (term < 1e-20 && term > -1e-20)
                break;
        }
        return sum;
    }
    if (a > 745)
        return 1;
    /* exp(-a) = 2^-k * exp(r), r = k ln2 - a in [-ln2/2, ln2/2]. */
    int k = (int)(a / 0.69314718055994531 + 0.5);
    double r = k * 0.69314718055994531 - a, term = 1, er = 1;
    for (int i = 1; i < 25; i++) {
        term *= r / i;
        er += term;
    }
    return 1 - ldexp(er, -k);
}

/* The next countdown: exponential with mean r bytes (at least 1), 0 for
 * r == 1 (every allocation), effectively infinite for r <= 0. */
static int64_t draw(int64_t r)
{
    if (r <= 0)
        return INT64_MAX;
    if (r == 1)
        return 0;
    double u = (double)((rng_next() >> 11) + 1) * 0x1p-53; /* (0, 1] */
    double x = -ln01(u) * (double)r;
    return (int64_t)x + 1;
}

/* First slow path of a thread: seeds its PRNG. A thread armed without
 * registering (the unit tests arm their thread by hand) gets its stack
 * bounds for the frame walk here; a registered one has them already
 * (cd__mprof_thread_arm). */
static void thread_init(void)
{
    uint64_t seed = cd__nanotime() ^ (uint64_t)(uintptr_t)&tls_rng ^
                    (atomic_fetch_add_explicit(&seeds, 1, memory_order_relaxed) << 32);
    tls_rng = cd__mix64(seed) | 1;
    if (cd__self == NULL)
        (void)cd__fpwalk_thread_init();
}

/* Records p (n bytes, stack stk) as a sampled object of `kind`'s. */
static void record(void *p, size_t n, const uintptr_t *stk, size_t depth, cd__mprof_kind kind)
{
    uint32_t epoch = cd__dl_epoch();
    /* Read before the link exists: the first collection that can see the
     * link begins after this read (registering waits for bdwgc's lock). */
    uint64_t cycle = atomic_load_explicit(&gc_started, memory_order_acquire) + 1;
    hrec *r = malloc(sizeof *r);
    if (r == NULL)
        goto lost;
    r->obj = p;
    r->addr = (uintptr_t)p;
    /* The record is malloc'd, so bdwgc never scans it: the link does not
     * keep the object alive. A malloc'd object needs none: free tells. */
    if (kind == CD__MPROF_GC && GC_register_long_link(&r->obj, p) != GC_SUCCESS)
        goto lost_free;

    lock();
    hbucket *b = tables_init() == 0 ? bucket_get(stk, depth, n, kind, epoch) : NULL;
    if (b == NULL) {
        unlock();
        if (kind == CD__MPROF_GC)
            (void)GC_unregister_long_link(&r->obj);
        goto lost_free;
    }
    r->b = b;
    if (kind == CD__MPROF_GC)
        account(b, cycle, false);
    else
        account_now(b, false);
    size_t s = rec_slot(r->addr);
    r->next = rtab[s];
    rtab[s] = r;
    filter_add(r->addr, +1);
    nsampled++;
    if (++nrecs > ((size_t)1 << rbits))
        grow_recs();
    /* Once per collection: find the sampled objects it reclaimed, so dead
     * records do not pile up between profile reads. */
    if (atomic_load_explicit(&gc_ended, memory_order_acquire) != synced)
        sweep_locked();
    unlock();
    return;

lost_free:
    free(r);
lost:
    atomic_fetch_add_explicit(&nlost, 1, memory_order_relaxed);
}

/* The slow path of both allocators, inlined into each entry point so the
 * frame walk starts one frame below the allocating function. The thread is
 * busy throughout: the first slow path of a thread cdebug does not know
 * reads its stack bounds (pthread_getattr_np mallocs), and record mallocs. */
__attribute__((always_inline)) static inline void sample(void *p, size_t n, cd__mprof_kind kind)
{
    if (!atomic_load_explicit(&ready, memory_order_acquire)) {
        /* Armed before cd_init reached us (a thread registered before
         * initialisation): look again after 64 KiB. */
        cd__mprof_next = 64 << 10;
        return;
    }
    int64_t r = atomic_load_explicit(&rate, memory_order_relaxed);
    cd__mprof_busy++;
    bool first = tls_rng == 0;
    if (first)
        thread_init();
    if (r <= 0) {
        cd__mprof_next = INT64_MAX;
        goto out;
    }
    if (first) {
        /* The thread's first countdown (Go draws it when the mcache is
         * made): this allocation is sampled only if it reaches it. */
        int64_t pre = draw(r);
        if ((int64_t)n < pre) {
            cd__mprof_next = pre - (int64_t)n;
            goto out;
        }
    }
    cd__mprof_next = draw(r);
    if (n == 0)
        goto out;
    /* Walked here, in the frame called by the allocating function: skip 1
     * drops that function, so stk[0] is a return address in its caller. */
    uintptr_t stk[CD__FPWALK_MAX];
    size_t depth = cd__fpwalk_here(stk, CD__FPWALK_MAX, 1);
    record(p, n, stk, depth, kind);
out:
    cd__mprof_busy--;
}

__attribute__((noinline)) void cd__mprof_sample(void *p, size_t n)
{
    sample(p, n, CD__MPROF_GC);
}

__attribute__((noinline)) void cd__mprof_sample_malloc(void *p, size_t n)
{
    /* A failed allocation leaves the countdown run out: the next one is
     * looked at. So does a malloc made by the sampler itself (busy), which
     * must not re-enter it, and one of cdebug's own work (quiet). */
    if (p == NULL || cd__mprof_busy || cd__mprof_quiet)
        return;
    sample(p, n, CD__MPROF_MALLOC);
}

/* Drops the live record of `kind`'s object at p, counting its free.
 * Compares addresses only: p is never dereferenced. */
static bool forget(void *p, cd__mprof_kind kind)
{
    lock();
    hrec *r = NULL;
    if (rtab != NULL) {
        /* Only a live record can be p's: a dead one at the same address is
         * a reclaimed object whose memory p now reuses. Only the same
         * allocator's: bdwgc may have unmapped a dead object's pages, which
         * malloc then mapped again. */
        for (hrec **pp = &rtab[rec_slot((uintptr_t)p)]; *pp != NULL; pp = &(*pp)->next)
            if ((*pp)->addr == (uintptr_t)p && (*pp)->b->kind == kind && !rec_dead(*pp)) {
                r = *pp;
                *pp = r->next;
                break;
            }
    }
    if (r == NULL) {
        unlock();
        return false;
    }
    nrecs--;
    filter_add(r->addr, -1);
    if (kind == CD__MPROF_GC)
        account(r->b, atomic_load_explicit(&gc_started, memory_order_acquire) + 1, true);
    else
        account_now(r->b, true);
    unlock();
    /* Outside mu: bdwgc's lock is never taken under ours. The caller still
     * holds p, so no collection clears the link meanwhile. */
    if (kind == CD__MPROF_GC)
        (void)GC_unregister_long_link(&r->obj);
    cd__mprof_busy++;
    free(r);
    cd__mprof_busy--;
    return true;
}

bool cd__mprof_forget(void *p)
{
    return forget(p, CD__MPROF_GC);
}

bool cd__mprof_forget_malloc(void *p)
{
    return forget(p, CD__MPROF_MALLOC);
}

void cd__mprof_read_stats(cd__mprof_stats *s)
{
    lock();
    s->sampled = nsampled;
    s->records = nrecs;
    s->buckets = nbuckets;
    unlock();
    s->lost = atomic_load_explicit(&nlost, memory_order_relaxed);
}

/* The collection-event listener (runtime/gcevents.h). Runs with the
 * allocation lock held, in the collecting thread: atomics only. */
static void on_gc_event(GC_EventType e)
{
    if (e == GC_EVENT_START)
        atomic_fetch_add_explicit(&gc_started, 1, memory_order_acq_rel);
    else if (e == GC_EVENT_END)
        atomic_store_explicit(&gc_ended, atomic_load_explicit(&gc_started, memory_order_acquire),
                              memory_order_release);
}

/* fork() while another thread records a sample (mu held) would leave mu
 * locked forever in the child, whose first sampled allocation would then
 * hang. The forking thread takes mu around the fork, so the tables are
 * whole in both processes. Safe in any order with the other prepare
 * handlers (bdwgc's, the CPU profiler's): mu is a leaf, and a thread that
 * holds it waits for no lock (its malloc calls take glibc's arena locks,
 * which fork takes only after every prepare handler). Busy meanwhile: a
 * prepare handler that runs after this one, or a child handler before the
 * release, may malloc, which must not sample (mu is held). */
static void fork_prepare(void)
{
    lock();
}

static void fork_release(void)
{
    unlock();
}

static void register_atfork(void)
{
    if (pthread_atfork(fork_prepare, fork_release, fork_release) != 0)
        fprintf(stderr, "cdebug: heap profile: pthread_atfork failed: a child of fork() "
                        "may hang in its first sampled allocation\n");
}

int cd__mprof_init(int64_t memprofilerate)
{
    static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
    pthread_once(&atfork_once, register_atfork);
    atomic_store_explicit(&rate, memprofilerate, memory_order_relaxed);
    int rc = cd__gcevents_listen(on_gc_event);
    if (rc != 0 && rc != -EEXIST)
        return rc;
    atomic_store_explicit(&ready, true, memory_order_release);
    /* Threads armed before (registered before initialisation) keep the
     * placeholder countdown of their last allocation: at most 64 KiB
     * unsampled. The initialising thread is armed when it registers,
     * right after this. */
    return 0;
}

void cd__mprof_thread_arm(void)
{
    cd__mprof_next = 0;
}

int64_t cd__mprof_rate(void)
{
    return atomic_load_explicit(&rate, memory_order_relaxed);
}

double cd__mprof_sample_prob(double bytes, int64_t r)
{
    return r <= 1 ? 1 : one_minus_exp_neg(bytes / (double)r);
}

/* ---- reading -------------------------------------------------------------------- */

int cd__mprof_snapshot(cd__mprof_row **out, size_t *n)
{
    lock();
    sweep_locked();
    uint64_t ended = atomic_load_explicit(&gc_ended, memory_order_acquire);
    bool any = false;
    for (hbucket *b = ball; b != NULL; b = b->all) {
        publish(b, ended);
        if (b->kind == CD__MPROF_GC)
            any |= b->active.allocs != 0 || b->active.frees != 0;
    }
    /* Go's rule: nothing published at all suggests no collection has run
     * (or collection is off); publish every cycle so the profile is not
     * empty. Malloc counts are always published, so only bdwgc's tell. */
    if (!any)
        for (hbucket *b = ball; b != NULL; b = b->all)
            publish(b, UINT64_MAX);
    cd__mprof_row *rows = malloc((nbuckets ? nbuckets : 1) * sizeof *rows);
    if (rows == NULL) {
        unlock();
        return -ENOMEM;
    }
    size_t k = 0;
    for (hbucket *b = ball; b != NULL; b = b->all)
        rows[k++] = (cd__mprof_row){.stk = b->stk,
                                    .depth = b->depth,
                                    .epoch = b->epoch,
                                    .size = b->size,
                                    .hash = b->hash,
                                    .allocs = b->active.allocs,
                                    .frees = b->active.frees,
                                    .alloc_bytes = b->active.alloc_bytes,
                                    .free_bytes = b->active.free_bytes,
                                    .kind = b->kind};
    unlock();
    *out = rows;
    *n = k;
    return 0;
}

int64_t cd__mprof_buckets(void)
{
    lock();
    int64_t n = (int64_t)nbuckets;
    unlock();
    return n;
}


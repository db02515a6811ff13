/* prof/heapprof.c - heap sampling and the "heap" and "allocs" profiles; see
 * heapprof.h for the model and docs/profiling.md for the user's view.
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
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h> /* frexp and ldexp only: glibc has them in libc, no libm needed */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gc/gc.h>

#include "cdebug/prof.h"
#include "cdebug/runtime.h"
#include "base/fpwalk.h"
#include "prof/heapprof.h"
#include "prof/pprof.h"
#include "prof/profiles.h"
#include "base/symbolize.h"
#include "base/clock.h"
#include "runtime/env.h"
#include "runtime/init.h"
#include "runtime/thread.h"
#include "base/io.h"

__thread int64_t cd__heapprof_next __attribute__((tls_model("initial-exec")));
_Atomic uint32_t cd__heapprof_filter[1u << CD__HEAPPROF_FILTER_BITS];

/* The calling thread's PRNG state (0: not seeded yet). */
static __thread uint64_t tls_rng __attribute__((tls_model("initial-exec")));

static _Atomic int64_t rate;   /* memprofilerate, set once by init */
static _Atomic bool ready;     /* init done: sampling may record */
static _Atomic uint64_t seeds; /* distinguishes threads seeded together */

/* Collections begun / number of the last one to end (see the top). */
static _Atomic uint64_t gc_started, gc_ended;
static GC_on_collection_event_proc chained;

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
    uintptr_t stk[]; /* return addresses, innermost first */
} hbucket;

/* A sampled object not yet seen freed. */
typedef struct hrec {
    void *obj;      /* the long link: bdwgc sets it to NULL when the object dies */
    uintptr_t addr; /* the object's address */
    hbucket *b;
    struct hrec *next;
} hrec;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
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

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

static size_t rec_slot(uintptr_t addr)
{
    return (size_t)(((uint64_t)addr * 0x9e3779b97f4a7c15ull) >> (64 - rbits));
}

static uint64_t stack_hash(const uintptr_t *stk, size_t depth, uint64_t size)
{
    uint64_t h = mix64(size + depth);
    for (size_t i = 0; i < depth; i++)
        h = mix64(h ^ stk[i]);
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

/* The bucket of (stack, size), created when new. mu held. NULL on out of
 * memory. O(depth) expected. */
static hbucket *bucket_get(const uintptr_t *stk, size_t depth, uint64_t size)
{
    uint64_t h = stack_hash(stk, depth, size);
    size_t s = (size_t)(h >> (64 - bbits));
    for (hbucket *b = btab[s]; b != NULL; b = b->hnext)
        if (b->hash == h && b->size == size && b->depth == depth &&
            memcmp(b->stk, stk, depth * sizeof *stk) == 0)
            return b;
    hbucket *b = calloc(1, sizeof *b + depth * sizeof *stk);
    if (b == NULL)
        return NULL;
    b->hash = h;
    b->size = size;
    b->depth = (uint32_t)depth;
    memcpy(b->stk, stk, depth * sizeof *stk);
    b->hnext = btab[s];
    btab[s] = b;
    b->all = ball;
    ball = b;
    if (++nbuckets > ((size_t)1 << bbits))
        grow_buckets();
    return b;
}

static void filter_add(uintptr_t addr, int d)
{
    _Atomic uint32_t *c = &cd__heapprof_filter[cd__heapprof_slot((const void *)addr)];
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + (uint32_t)d,
                          memory_order_relaxed);
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

/* ln(u) for u in (0, 1], without libm: u = m * 2^e with m in [1/sqrt2,
 * sqrt2), ln m = 2 atanh(s), s = (m - 1) / (m + 1), |s| < 0.172, whose
 * series converges to double precision in 9 terms. */
static double ln01(double u)
{
    int e;
    double m = frexp(u, &e); /* [0.5, 1) */
    if (m < 0.70710678118654752) {
        m *= 2;
        e--;
    }
    double s = (m - 1) / (m + 1), s2 = s * s, term = s, sum = 0;
    for (int k = 1; k <= 19; k += 2) {
        sum += term / k;
        term *= s2;
    }
    return 2 * sum + e * 0.69314718055994531;
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

/* First slow path of a thread: seeds its PRNG; gives a thread cdebug does
 * not know stack bounds for the frame walk. */
static void thread_init(void)
{
    uint64_t seed = cd__nanotime() ^ (uint64_t)(uintptr_t)&tls_rng ^
                    (atomic_fetch_add_explicit(&seeds, 1, memory_order_relaxed) << 32);
    tls_rng = mix64(seed) | 1;
    if (cd__self == NULL)
        (void)cd__fpwalk_thread_init();
}

/* Records p (n bytes, stack stk) as a sampled object. */
static void record(void *p, size_t n, const uintptr_t *stk, size_t depth)
{
    /* Read before the link exists: the first collection that can see the
     * link begins after this read (registering waits for bdwgc's lock). */
    uint64_t cycle = atomic_load_explicit(&gc_started, memory_order_acquire) + 1;
    hrec *r = malloc(sizeof *r);
    if (r == NULL)
        goto lost;
    r->obj = p;
    r->addr = (uintptr_t)p;
    /* The record is malloc'd, so bdwgc never scans it: the link does not
     * keep the object alive. */
    if (GC_register_long_link(&r->obj, p) != GC_SUCCESS)
        goto lost_free;

    pthread_mutex_lock(&mu);
    hbucket *b = tables_init() == 0 ? bucket_get(stk, depth, n) : NULL;
    if (b == NULL) {
        pthread_mutex_unlock(&mu);
        (void)GC_unregister_long_link(&r->obj);
        goto lost_free;
    }
    r->b = b;
    account(b, cycle, false);
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
    pthread_mutex_unlock(&mu);
    return;

lost_free:
    free(r);
lost:
    atomic_fetch_add_explicit(&nlost, 1, memory_order_relaxed);
}

__attribute__((noinline)) void cd__heapprof_sample(void *p, size_t n)
{
    if (!atomic_load_explicit(&ready, memory_order_acquire)) {
        /* Before cd_init reached us: look again after 64 KiB. */
        cd__heapprof_next = 64 << 10;
        return;
    }
    int64_t r = atomic_load_explicit(&rate, memory_order_relaxed);
    bool first = tls_rng == 0;
    if (first)
        thread_init();
    if (r <= 0) {
        cd__heapprof_next = INT64_MAX;
        return;
    }
    if (first) {
        /* The thread's first countdown (Go draws it when the mcache is
         * made): this allocation is sampled only if it reaches it. */
        int64_t pre = draw(r);
        if ((int64_t)n < pre) {
            cd__heapprof_next = pre - (int64_t)n;
            return;
        }
    }
    cd__heapprof_next = draw(r);
    if (n == 0)
        return;
    /* Walked here, in the frame called by the allocating function: skip 1
     * drops that function, so stk[0] is a return address in its caller. */
    uintptr_t stk[CD__FPWALK_MAX];
    size_t depth = cd__fpwalk_here(stk, CD__FPWALK_MAX, 1);
    record(p, n, stk, depth);
}

bool cd__heapprof_forget(void *p)
{
    pthread_mutex_lock(&mu);
    hrec *r = NULL;
    if (rtab != NULL) {
        /* Only a live record can be p's: a dead one at the same address is
         * a reclaimed object whose memory p now reuses. */
        for (hrec **pp = &rtab[rec_slot((uintptr_t)p)]; *pp != NULL; pp = &(*pp)->next)
            if ((*pp)->addr == (uintptr_t)p && !rec_dead(*pp)) {
                r = *pp;
                *pp = r->next;
                break;
            }
    }
    if (r == NULL) {
        pthread_mutex_unlock(&mu);
        return false;
    }
    nrecs--;
    filter_add(r->addr, -1);
    account(r->b, atomic_load_explicit(&gc_started, memory_order_acquire) + 1, true);
    pthread_mutex_unlock(&mu);
    /* Outside mu: bdwgc's lock is never taken under ours. The caller still
     * holds p, so no collection clears the link meanwhile. */
    (void)GC_unregister_long_link(&r->obj);
    free(r);
    return true;
}

void cd__heapprof_read_stats(cd__heapprof_stats *s)
{
    pthread_mutex_lock(&mu);
    s->sampled = nsampled;
    s->records = nrecs;
    s->buckets = nbuckets;
    pthread_mutex_unlock(&mu);
    s->lost = atomic_load_explicit(&nlost, memory_order_relaxed);
}

/* bdwgc's collection-event hook, ours chained in front of the previous one.
 * Runs with the allocation lock held, in the collecting thread: atomics
 * only. */
static void on_gc_event(GC_EventType e)
{
    if (e == GC_EVENT_START)
        atomic_fetch_add_explicit(&gc_started, 1, memory_order_acq_rel);
    else if (e == GC_EVENT_END)
        atomic_store_explicit(&gc_ended, atomic_load_explicit(&gc_started, memory_order_acquire),
                              memory_order_release);
    if (chained != NULL)
        chained(e);
}

/* ---- reading ---------------------------------------------------------------- */

typedef struct hrow {
    const hbucket *b; /* immutable once made, never freed: usable unlocked */
    cyc c;            /* its published counts */
} hrow;

/* Publishes what can be published and copies every bucket's counts into a
 * malloc'ed array. 0 or -ENOMEM. O(records + buckets). */
static int snapshot(hrow **out, size_t *n)
{
    pthread_mutex_lock(&mu);
    sweep_locked();
    uint64_t ended = atomic_load_explicit(&gc_ended, memory_order_acquire);
    bool any = false;
    for (hbucket *b = ball; b != NULL; b = b->all) {
        publish(b, ended);
        any |= b->active.allocs != 0 || b->active.frees != 0;
    }
    /* Go's rule: nothing published at all suggests no collection has run
     * (or collection is off); publish every cycle so the profile is not
     * empty. */
    if (!any)
        for (hbucket *b = ball; b != NULL; b = b->all)
            publish(b, UINT64_MAX);
    hrow *rows = malloc((nbuckets ? nbuckets : 1) * sizeof *rows);
    if (rows == NULL) {
        pthread_mutex_unlock(&mu);
        return -ENOMEM;
    }
    size_t k = 0;
    for (hbucket *b = ball; b != NULL; b = b->all) {
        rows[k].b = b;
        rows[k++].c = b->active;
    }
    pthread_mutex_unlock(&mu);
    *out = rows;
    *n = k;
    return 0;
}

static int64_t heap_count(void)
{
    pthread_mutex_lock(&mu);
    int64_t n = (int64_t)nbuckets;
    pthread_mutex_unlock(&mu);
    return n;
}

/* a - b, 0 when b > a: a bucket never shows more frees than allocations
 * published (the cycle rules guarantee it; this guards the arithmetic). */
static uint64_t sub0(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

/* Go's scaleHeapSample (runtime/pprof/protomem.go): a sampled object of s
 * bytes stands for 1 / (1 - exp(-s/rate)) objects. */
static void scale(uint64_t count, uint64_t bytes, int64_t r, int64_t *oc, int64_t *ob)
{
    if (count == 0 || bytes == 0) {
        *oc = *ob = 0;
        return;
    }
    if (r <= 1) {
        *oc = (int64_t)count;
        *ob = (int64_t)bytes;
        return;
    }
    double avg = (double)bytes / (double)count;
    double k = 1 / one_minus_exp_neg(avg / (double)r);
    *oc = (int64_t)((double)count * k);
    *ob = (int64_t)((double)bytes * k);
}

/* debug=0 for both profiles: Go's writeHeapProto. */
static int build(cd__pprof *p, const char *default_type)
{
    int64_t r = atomic_load_explicit(&rate, memory_order_relaxed);
    int rc;
    if ((rc = cd__pprof_period(p, "space", "bytes", r)) < 0 ||
        (rc = cd__pprof_sample_type(p, "alloc_objects", "count")) < 0 ||
        (rc = cd__pprof_sample_type(p, "alloc_space", "bytes")) < 0 ||
        (rc = cd__pprof_sample_type(p, "inuse_objects", "count")) < 0 ||
        (rc = cd__pprof_sample_type(p, "inuse_space", "bytes")) < 0)
        return rc;
    /* Go sets it for allocs only; for heap pprof's default, the last type,
     * is inuse_space. */
    if (default_type != NULL && (rc = cd__pprof_default_type(p, default_type)) < 0)
        return rc;
    cd__pprof_time(p, (int64_t)cd__walltime(), 0);

    hrow *rows;
    size_t n;
    if ((rc = snapshot(&rows, &n)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const cyc *c = &rows[i].c;
        int64_t v[4];
        scale(c->allocs, c->alloc_bytes, r, &v[0], &v[1]);
        scale(sub0(c->allocs, c->frees), sub0(c->alloc_bytes, c->free_bytes), r, &v[2], &v[3]);
        /* Go's "bytes" label: the bucket's object size. */
        cd__pprof_label bytes = {.key = "bytes", .num = (int64_t)rows[i].b->size};
        rc = cd__pprof_sample(p, rows[i].b->stk, rows[i].b->depth, false, v, &bytes,
                              c->allocs > 0 ? 1 : 0);
    }
    free(rows);
    return rc;
}

static int heap_build(cd__pprof *p)
{
    return build(p, NULL);
}

static int allocs_build(cd__pprof *p)
{
    return build(p, "alloc_space");
}

/* ---- debug=1 text ------------------------------------------------------------ */

/* Go's text/tabwriter as pprof's writeHeapInternal configures it
 * (minwidth 1, tabwidth 8, padding 1, padchar '\t', no flags): cells end
 * at tabs, the text after a line's last tab belongs to no column, and each
 * run of consecutive lines that have a cell in column j aligns that column
 * to its widest cell plus one, rounded up to a tab stop, padded with tabs. */
#define TW_CELLS 8

typedef struct twline {
    const char *s;
    size_t ncells;
    size_t off[TW_CELLS], len[TW_CELLS], width[TW_CELLS];
} twline;

static size_t runes(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        w += ((unsigned char)s[i] & 0xc0) != 0x80;
    return w;
}

static void tw_padding(FILE *f, size_t textw, size_t cellw)
{
    cellw = (cellw + 7) / 8 * 8;
    for (size_t n = (cellw - textw + 7) / 8; n > 0; n--)
        fputc('\t', f);
}

static void tw_lines(FILE *f, const twline *l, size_t from, size_t to, const size_t *widths,
                     size_t nw)
{
    for (size_t i = from; i < to; i++) {
        for (size_t j = 0; j < l[i].ncells; j++) {
            fwrite(l[i].s + l[i].off[j], 1, l[i].len[j], f);
            if (j < nw)
                tw_padding(f, l[i].width[j], widths[j]);
        }
        fputc('\n', f);
    }
}

static void tw_format(FILE *f, const twline *l, size_t line0, size_t line1, size_t *widths,
                      size_t column)
{
    for (size_t this = line0; this < line1; this ++) {
        if (column + 1 >= l[this].ncells)
            continue;
        tw_lines(f, l, line0, this, widths, column);
        line0 = this;
        size_t width = 1;
        for (; this < line1 && column + 1 < l[this].ncells; this ++)
            if (l[this].width[column] + 1 > width)
                width = l[this].width[column] + 1;
        widths[column] = width;
        tw_format(f, l, line0, this, widths, column + 1);
        line0 = this;
    }
    tw_lines(f, l, line0, line1, widths, column);
}

/* Writes text (whole lines) through the tabwriter. 0 or -ENOMEM. */
static int tabwrite(FILE *f, const char *text, size_t len)
{
    size_t nl = 0;
    for (size_t i = 0; i < len; i++)
        nl += text[i] == '\n';
    twline *l = calloc(nl ? nl : 1, sizeof *l);
    if (l == NULL)
        return -ENOMEM;
    size_t k = 0;
    for (const char *s = text, *end = text + len; s < end && k < nl; k++) {
        const char *eol = memchr(s, '\n', (size_t)(end - s));
        twline *ln = &l[k];
        ln->s = s;
        size_t start = 0, n = (size_t)(eol - s);
        for (size_t i = 0; i <= n; i++)
            if (i == n || (s[i] == '\t' && ln->ncells + 1 < TW_CELLS)) {
                ln->off[ln->ncells] = start;
                ln->len[ln->ncells] = i - start;
                ln->width[ln->ncells] = runes(s + start, i - start);
                ln->ncells++;
                start = i + 1;
            }
        s = eol + 1;
    }
    size_t widths[TW_CELLS];
    tw_format(f, l, 0, k, widths, 0);
    free(l);
    return 0;
}

static int cmp_inuse_desc(const void *x, const void *y)
{
    const hrow *a = x, *b = y;
    uint64_t ia = sub0(a->c.alloc_bytes, a->c.free_bytes),
             ib = sub0(b->c.alloc_bytes, b->c.free_bytes);
    if (ia != ib)
        return ia > ib ? -1 : 1;
    if (a->c.alloc_bytes != b->c.alloc_bytes)
        return a->c.alloc_bytes > b->c.alloc_bytes ? -1 : 1;
    return a->b->hash < b->b->hash ? -1 : a->b->hash > b->b->hash;
}

/* Symbols of the pcs already printed: buckets share most frames, and a
 * libdw lookup costs a scan of the module's symbols. Open addressing; when
 * full, lookups go straight to libdw. */
#define SYMCACHE 4096

typedef struct symcache {
    cd__symctx *ctx;
    uintptr_t pc[SYMCACHE]; /* 0: empty */
    cd__sym s[SYMCACHE];
} symcache;

static void sym_get(symcache *c, uintptr_t pc, cd__sym *out)
{
    size_t i = (size_t)(mix64(pc) % SYMCACHE);
    for (size_t probe = 0; probe < 8; probe++, i = (i + 1) % SYMCACHE) {
        if (c->pc[i] == pc) {
            *out = c->s[i];
            return;
        }
        if (c->pc[i] == 0) {
            cd__sym_lookup(c->ctx, pc, &c->s[i]);
            c->pc[i] = pc;
            *out = c->s[i];
            return;
        }
    }
    cd__sym_lookup(c->ctx, pc, out);
}

/* Go's printStackRecord: one "#\tpc\tfunc+off\tfile:line" line per frame,
 * pc being the call (return address - 1). */
static void print_stack(FILE *f, symcache *sym, const hbucket *b)
{
    for (uint32_t i = 0; i < b->depth; i++) {
        uintptr_t pc = b->stk[i] - 1;
        cd__sym s;
        sym_get(sym, pc, &s);
        if (strcmp(s.func, "?") == 0) {
            fprintf(f, "#\t%#" PRIxPTR "\n", pc);
            continue;
        }
        fprintf(f, "#\t%#" PRIxPTR "\t%s+%#" PRIxPTR "\t%s:%" PRId64 "\n", pc, s.func,
                s.start != 0 && s.start <= pc ? pc - s.start : (uintptr_t)0, s.file, s.line);
    }
    fputc('\n', f);
}

/* Go's %v of a float64: the shortest decimal that reads back the same. */
static void print_float(FILE *f, double v)
{
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, f);
}

static void print_array(FILE *f, const char *name, const uint64_t *v, size_t n)
{
    fprintf(f, "# %s = [", name);
    for (size_t i = 0; i < n; i++)
        fprintf(f, i ? " %" PRIu64 : "%" PRIu64, v[i]);
    fputs("]\n", f);
}

/* The body of writeHeapInternal's debug != 0 branch, before the tabwriter. */
static int text_body(FILE *f)
{
    /* MemStats first, as Go does, so the profile's own work is not in it. */
    cd_memstats *m = malloc(sizeof *m);
    if (m == NULL)
        return -ENOMEM;
    cd_read_memstats(m);
    hrow *rows;
    size_t n;
    int rc = snapshot(&rows, &n);
    if (rc < 0) {
        free(m);
        return rc;
    }
    qsort(rows, n, sizeof *rows, cmp_inuse_desc);
    symcache *sym = calloc(1, sizeof *sym);
    if (sym == NULL || (rc = cd__sym_begin(&sym->ctx)) < 0) {
        free(sym);
        free(rows);
        free(m);
        return rc < 0 ? rc : -ENOMEM;
    }

    cyc t = {0};
    for (size_t i = 0; i < n; i++) {
        t.allocs += rows[i].c.allocs;
        t.frees += rows[i].c.frees;
        t.alloc_bytes += rows[i].c.alloc_bytes;
        t.free_bytes += rows[i].c.free_bytes;
    }
    /* Twice the rate, as Go prints it (what early C++ pprof reported). */
    fprintf(
        f, "heap profile: %" PRIu64 ": %" PRIu64 " [%" PRIu64 ": %" PRIu64 "] @ heap/%" PRId64 "\n",
        sub0(t.allocs, t.frees), sub0(t.alloc_bytes, t.free_bytes), t.allocs, t.alloc_bytes,
        2 * atomic_load_explicit(&rate, memory_order_relaxed));
    for (size_t i = 0; i < n; i++) {
        const cyc *c = &rows[i].c;
        fprintf(f, "%" PRIu64 ": %" PRIu64 " [%" PRIu64 ": %" PRIu64 "] @",
                sub0(c->allocs, c->frees), sub0(c->alloc_bytes, c->free_bytes), c->allocs,
                c->alloc_bytes);
        for (uint32_t j = 0; j < rows[i].b->depth; j++)
            fprintf(f, " %#" PRIxPTR, rows[i].b->stk[j]);
        fputc('\n', f);
        print_stack(f, sym, rows[i].b);
    }
    cd__sym_end(sym->ctx);
    free(sym);
    free(rows);

    fprintf(f, "\n# runtime.MemStats\n");
    fprintf(f, "# Alloc = %" PRIu64 "\n", m->Alloc);
    fprintf(f, "# TotalAlloc = %" PRIu64 "\n", m->TotalAlloc);
    fprintf(f, "# Sys = %" PRIu64 "\n", m->Sys);
    fprintf(f, "# Lookups = %" PRIu64 "\n", m->Lookups);
    fprintf(f, "# Mallocs = %" PRIu64 "\n", m->Mallocs);
    fprintf(f, "# Frees = %" PRIu64 "\n", m->Frees);
    fprintf(f, "# HeapAlloc = %" PRIu64 "\n", m->HeapAlloc);
    fprintf(f, "# HeapSys = %" PRIu64 "\n", m->HeapSys);
    fprintf(f, "# HeapIdle = %" PRIu64 "\n", m->HeapIdle);
    fprintf(f, "# HeapInuse = %" PRIu64 "\n", m->HeapInuse);
    fprintf(f, "# HeapReleased = %" PRIu64 "\n", m->HeapReleased);
    fprintf(f, "# HeapObjects = %" PRIu64 "\n", m->HeapObjects);
    fprintf(f, "# Stack = %" PRIu64 " / %" PRIu64 "\n", m->StackInuse, m->StackSys);
    fprintf(f, "# MSpan = %" PRIu64 " / %" PRIu64 "\n", m->MSpanInuse, m->MSpanSys);
    fprintf(f, "# MCache = %" PRIu64 " / %" PRIu64 "\n", m->MCacheInuse, m->MCacheSys);
    fprintf(f, "# BuckHashSys = %" PRIu64 "\n", m->BuckHashSys);
    fprintf(f, "# GCSys = %" PRIu64 "\n", m->GCSys);
    fprintf(f, "# OtherSys = %" PRIu64 "\n", m->OtherSys);
    fprintf(f, "# NextGC = %" PRIu64 "\n", m->NextGC);
    fprintf(f, "# LastGC = %" PRIu64 "\n", m->LastGC);
    print_array(f, "PauseNs", m->PauseNs, 256);
    print_array(f, "PauseEnd", m->PauseEnd, 256);
    fprintf(f, "# NumGC = %" PRIu32 "\n", m->NumGC);
    fprintf(f, "# NumForcedGC = %" PRIu32 "\n", m->NumForcedGC);
    fputs("# GCCPUFraction = ", f);
    print_float(f, m->GCCPUFraction);
    fputc('\n', f);
    fprintf(f, "# DebugGC = %s\n", m->DebugGC ? "true" : "false");
    free(m);
    /* Go's addMaxRSS: ru_maxrss is in KiB on Linux. */
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        fprintf(f, "# MaxRSS = %" PRIu64 "\n", (uint64_t)ru.ru_maxrss * 1024);
    return 0;
}

/* debug >= 1 for both profiles (Go prints the same text for heap and
 * allocs, whatever the debug level above 0). */
static int heap_text(FILE *f, int debug)
{
    (void)debug;
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    if (mf == NULL)
        return -ENOMEM;
    int rc = text_body(mf);
    if (fclose(mf) != 0 && rc == 0)
        rc = -ENOMEM;
    if (rc == 0)
        rc = tabwrite(f, buf, len);
    free(buf);
    return rc;
}

/* ---- registration, public API, CDEBUG=memprofile ------------------------- */

static const cd__profile heap_profile = {
    .name = "heap",
    .desc = "A sampling of memory allocations of live objects. You can specify the gc GET "
            "parameter to run GC before taking the heap sample.",
    .delta = true,
    .count = heap_count,
    .build = heap_build,
    .text = heap_text,
};

static const cd__profile allocs_profile = {
    .name = "allocs",
    .desc = "A sampling of all past memory allocations",
    .delta = true,
    .count = heap_count,
    .build = allocs_build,
    .text = heap_text,
};

/* The process that read CDEBUG=memprofile: the file is its own. A child
 * of fork() writes nothing there (docs/profiling.md). */
static pid_t memprofile_pid;

int cd__heapprof_init(const cd__config *cfg)
{
    memprofile_pid = getpid();
    atomic_store_explicit(&rate, cfg->memprofilerate, memory_order_relaxed);
    chained = GC_get_on_collection_event();
    GC_set_on_collection_event(on_gc_event);
    atomic_store_explicit(&ready, true, memory_order_release);
    int rc = cd__profile_register(&heap_profile);
    int rc2 = cd__profile_register(&allocs_profile);
    return rc < 0 ? rc : rc2;
}

static int write_profile(const cd__profile *p, int fd, int debug)
{
    cd__ensure_init();
    return cd__profile_write_fd(p, fd, debug);
}

int cd_heapprof_write(int fd, int debug)
{
    return write_profile(&heap_profile, fd, debug);
}

int cd_allocsprof_write(int fd, int debug)
{
    return write_profile(&allocs_profile, fd, debug);
}

static void *collect_main(void *arg)
{
    (void)arg;
    cd_gc();
    return NULL;
}

int cd__heapprof_collect(void)
{
    cd__ensure_init();
    if (GC_thread_is_registered()) {
        cd_gc();
        return 0;
    }
    pthread_t t;
    int rc = cd__thread_spawn(&t, CD__THREAD_SYSTEM, true, collect_main, NULL);
    if (rc < 0)
        return rc;
    pthread_join(t, NULL);
    return 0;
}

void cd__heapprof_write_env(void)
{
    static _Atomic bool done;
    const char *path = cd__cfg.memprofile_path;
    if (path[0] == '\0' || getpid() != memprofile_pid || atomic_exchange(&done, true))
        return;
    /* go test -memprofile: runtime.GC() "to materialize all statistics",
     * then the allocs profile. */
    int rc = cd__heapprof_collect();
    if (rc < 0)
        fprintf(stderr, "cdebug: memprofile: collection failed: %s\n", cd_strerror(rc));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "cdebug: memprofile: cannot create %s: %s\n", path, strerror(errno));
        return;
    }
    rc = cd_allocsprof_write(fd, 0);
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc < 0)
        fprintf(stderr, "cdebug: memprofile: writing %s failed: %s\n", path, cd_strerror(rc));
}

/* runtime/malloc.c - the malloc family, interposed and sampled. See
 * malloc.h for the model: forwarding, bootstrap, cost, bad pointers.
 *
 * Nothing here calls malloc or free by name: every allocation goes through
 * the next allocator's pointers (nx), so this file never re-enters itself.
 * The sampler does call malloc (its records and tables), marked busy
 * (runtime/mprof.h): those calls are forwarded untouched.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/interpose.h"
#include "runtime/malloc.h"
#include "runtime/mprof.h"

typedef void *malloc_fn(size_t);
typedef void *calloc_fn(size_t, size_t);
typedef void *realloc_fn(void *, size_t);
typedef void free_fn(void *);
typedef int memalign_fn_pm(void **, size_t, size_t);
typedef void *align_fn(size_t, size_t);
typedef size_t usable_fn(void *);

/* The next allocator's functions. Until the first call resolves them, each
 * is a boot_* function that resolves (or, inside a resolution, serves the
 * arena). Written once per resolving thread, each with the same value;
 * read with relaxed loads (a plain load on every target). */
typedef struct next_fns {
    malloc_fn *malloc;
    calloc_fn *calloc;
    realloc_fn *realloc;
    free_fn *free;
    memalign_fn_pm *posix_memalign;
    align_fn *aligned_alloc;
    align_fn *memalign;
    malloc_fn *valloc;
    malloc_fn *pvalloc;
    usable_fn *usable;
} next_fns;

static malloc_fn boot_malloc;
static calloc_fn boot_calloc;
static realloc_fn boot_realloc;
static free_fn boot_free;
static memalign_fn_pm boot_posix_memalign;
static align_fn boot_aligned_alloc, boot_memalign;
static malloc_fn boot_valloc, boot_pvalloc;
static usable_fn boot_usable;

static next_fns nx = {
    boot_malloc,        boot_calloc,   boot_realloc, boot_free,    boot_posix_memalign,
    boot_aligned_alloc, boot_memalign, boot_valloc,  boot_pvalloc, boot_usable,
};

#define NEXT(f) __atomic_load_n(&nx.f, __ATOMIC_RELAXED)

/* Non-zero while the calling thread resolves nx: its allocations come from
 * the arena. */
static __thread unsigned resolving __attribute__((tls_model("initial-exec")));

/* ---- the bootstrap arena ---------------------------------------------------- */

/* dlsym's error state and a dlopen handle take a few hundred bytes per
 * resolving thread; 64 KiB of .bss costs nothing until touched. */
#define ARENA_SIZE  (64u << 10)
#define ARENA_ALIGN 4096u /* the largest alignment served: valloc's page */
#define HDR         16u   /* a block's header: its size, then padding */

static _Alignas(ARENA_ALIGN) unsigned char arena[ARENA_SIZE];
static _Atomic size_t arena_used;

bool cd__malloc_in_arena(const void *p)
{
    return (uintptr_t)p - (uintptr_t)arena < ARENA_SIZE;
}

void *cd__malloc_arena_alloc(size_t n, size_t align)
{
    if (align < HDR)
        align = HDR;
    if (n > ARENA_SIZE || align > ARENA_ALIGN || (align & (align - 1)) != 0) {
        errno = n > ARENA_SIZE ? ENOMEM : EINVAL;
        return NULL;
    }
    size_t old = atomic_load_explicit(&arena_used, memory_order_relaxed), start, end;
    do {
        start = (old + HDR + align - 1) & ~(align - 1);
        end = start + ((n + HDR - 1) & ~(size_t)(HDR - 1));
        if (end > ARENA_SIZE) {
            errno = ENOMEM;
            return NULL;
        }
    } while (!atomic_compare_exchange_weak_explicit(&arena_used, &old, end, memory_order_relaxed,
                                                    memory_order_relaxed));
    unsigned char *p = arena + start;
    memcpy(p - HDR, &n, sizeof n);
    cd__mprof_filter_pin(p);
    return p;
}

/* The size an arena block was asked with. */
static size_t arena_size(const void *p)
{
    size_t n;
    memcpy(&n, (const unsigned char *)p - HDR, sizeof n);
    return n;
}

/* realloc of an arena block: a new block of the next allocator (or of the
 * arena, inside a resolution), the contents copied. Not sampled: arena
 * blocks are the loader's and dlsym's, a handful per process. */
static void *arena_realloc(void *p, size_t n)
{
    void *q = resolving ? cd__malloc_arena_alloc(n, HDR) : NEXT(malloc)(n);
    if (q != NULL) {
        size_t old = arena_size(p);
        memcpy(q, p, old < n ? old : n);
    }
    return q;
}

/* ---- resolution --------------------------------------------------------------- */

static size_t page_size(void)
{
    return (size_t)sysconf(_SC_PAGESIZE); /* from the auxiliary vector: no call out */
}

/* The members the next allocator may lack, made from its posix_memalign
 * (glibc's own definitions, in terms of memalign). */
static void *fb_memalign(size_t align, size_t n)
{
    if (align < sizeof(void *))
        align = sizeof(void *);
    /* glibc rounds an alignment that is not a power of two up to one. */
    while ((align & (align - 1)) != 0)
        align += align & -align;
    void *p;
    int rc = NEXT(posix_memalign)(&p, align, n);
    if (rc != 0) {
        errno = rc;
        return NULL;
    }
    return p;
}

static void *fb_valloc(size_t n)
{
    return fb_memalign(page_size(), n);
}

static void *fb_pvalloc(size_t n)
{
    size_t ps = page_size(), r = n == 0 ? ps : (n + ps - 1) & ~(ps - 1);
    if (r < n) {
        errno = ENOMEM;
        return NULL;
    }
    return fb_memalign(ps, r);
}

/* Unknown: 0 says "no usable bytes beyond what was asked" to callers that
 * only use it to avoid a realloc. */
static size_t fb_usable(void *p)
{
    (void)p;
    return 0;
}

typedef void *lookup_fn(const char *name, const void *self);

/* Fills *n from one source (the next object, or libc). false when the core
 * five are not all there, from one object. */
static bool fill(next_fns *n, lookup_fn *look)
{
    n->malloc = (malloc_fn *)look("malloc", (const void *)cd__malloc_malloc);
    n->calloc = (calloc_fn *)look("calloc", (const void *)cd__malloc_calloc);
    n->realloc = (realloc_fn *)look("realloc", (const void *)cd__malloc_realloc);
    n->free = (free_fn *)look("free", (const void *)cd__malloc_free);
    n->posix_memalign =
        (memalign_fn_pm *)look("posix_memalign", (const void *)cd__malloc_posix_memalign);
    const void *core[] = {(const void *)n->calloc, (const void *)n->realloc, (const void *)n->free,
                          (const void *)n->posix_memalign};
    if (n->malloc == NULL)
        return false;
    for (size_t i = 0; i < sizeof core / sizeof core[0]; i++)
        if (core[i] == NULL || !cd__interpose_same_object(core[i], (const void *)n->malloc))
            return false;
    /* The others: the same object's, or made from its posix_memalign. */
    struct {
        const char *name;
        const void *self;
        void **slot;
        void *fallback;
    } opt[] = {
        {"aligned_alloc", (const void *)cd__malloc_aligned_alloc, (void **)&n->aligned_alloc,
         (void *)fb_memalign},
        {"memalign", (const void *)cd__malloc_memalign, (void **)&n->memalign, (void *)fb_memalign},
        {"valloc", (const void *)cd__malloc_valloc, (void **)&n->valloc, (void *)fb_valloc},
        {"pvalloc", (const void *)cd__malloc_pvalloc, (void **)&n->pvalloc, (void *)fb_pvalloc},
        {"malloc_usable_size", (const void *)cd__malloc_usable_size, (void **)&n->usable,
         (void *)fb_usable},
    };
    for (size_t i = 0; i < sizeof opt / sizeof opt[0]; i++) {
        void *f = look(opt[i].name, opt[i].self);
        *opt[i].slot = f != NULL && cd__interpose_same_object(f, (const void *)n->malloc)
                           ? f
                           : opt[i].fallback;
    }
    return true;
}

static void say(const char *s)
{
    ssize_t r = write(STDERR_FILENO, s, strlen(s));
    (void)r;
}

/* Finds the next allocator and publishes it in nx. The thread is marked
 * resolving: dlsym's own allocations come from the arena. Publishes the
 * core five last (malloc last of all): a thread that sees malloc resolved
 * sees the rest. No allocator at all (no libc?) cannot be survived. */
static void resolve(void)
{
    resolving++;
    next_fns n;
    if (!fill(&n, cd__interpose_next) && !fill(&n, cd__interpose_libc)) {
        say("cdebug: malloc: no allocator to forward to (dlsym found no malloc)\n");
        abort();
    }
    __atomic_store_n(&nx.usable, n.usable, __ATOMIC_RELEASE);
    __atomic_store_n(&nx.pvalloc, n.pvalloc, __ATOMIC_RELEASE);
    __atomic_store_n(&nx.valloc, n.valloc, __ATOMIC_RELEASE);
    __atomic_store_n(&nx.memalign, n.memalign, __ATOMIC_RELEASE);
    __atomic_store_n(&nx.aligned_alloc, n.aligned_alloc, __ATOMIC_RELEASE);
    __atomic_store_n(&nx.posix_memalign, n.posix_memalign, __ATOMIC_RELEASE);
    __atomic_store_n(&nx.free, n.free, __ATOMIC_RELEASE);
    __atomic_store_n(&nx.realloc, n.realloc, __ATOMIC_RELEASE);
    __atomic_store_n(&nx.calloc, n.calloc, __ATOMIC_RELEASE);
    __atomic_store_n(&nx.malloc, n.malloc, __ATOMIC_RELEASE);
    resolving--;
}

void *cd__malloc_next_malloc(void)
{
    if (NEXT(malloc) == boot_malloc)
        resolve();
    return (void *)NEXT(malloc);
}

/* The boot functions: inside a resolution, the arena; otherwise resolve,
 * then forward. Their allocations are not sampled (the first call of a
 * process, or of a few threads racing at the start). */

static void *boot_malloc(size_t n)
{
    if (resolving)
        return cd__malloc_arena_alloc(n, HDR);
    resolve();
    return NEXT(malloc)(n);
}

static void *boot_calloc(size_t m, size_t n)
{
    if (resolving) {
        size_t b;
        if (__builtin_mul_overflow(m, n, &b)) {
            errno = ENOMEM;
            return NULL;
        }
        return cd__malloc_arena_alloc(b, HDR); /* zeroed: never reused */
    }
    resolve();
    return NEXT(calloc)(m, n);
}

static void *boot_realloc(void *p, size_t n)
{
    if (resolving) {
        if (p == NULL)
            return cd__malloc_arena_alloc(n, HDR);
        if (cd__malloc_in_arena(p))
            return arena_realloc(p, n);
        errno = ENOMEM; /* a block of an allocator not yet known: keep it */
        return NULL;
    }
    resolve();
    return NEXT(realloc)(p, n);
}

static void boot_free(void *p)
{
    /* Arena blocks never get here (their filter slot is pinned); inside a
     * resolution, a block of an allocator not yet known is kept. */
    if (resolving || cd__malloc_in_arena(p))
        return;
    resolve();
    NEXT(free)(p);
}

static int boot_posix_memalign(void **out, size_t align, size_t n)
{
    if (resolving) {
        void *p = cd__malloc_arena_alloc(n, align);
        if (p == NULL)
            return errno;
        *out = p;
        return 0;
    }
    resolve();
    return NEXT(posix_memalign)(out, align, n);
}

static void *boot_aligned_alloc(size_t align, size_t n)
{
    if (resolving)
        return cd__malloc_arena_alloc(n, align);
    resolve();
    return NEXT(aligned_alloc)(align, n);
}

static void *boot_memalign(size_t align, size_t n)
{
    if (resolving)
        return cd__malloc_arena_alloc(n, align);
    resolve();
    return NEXT(memalign)(align, n);
}

static void *boot_valloc(size_t n)
{
    if (resolving)
        return cd__malloc_arena_alloc(n, page_size());
    resolve();
    return NEXT(valloc)(n);
}

static void *boot_pvalloc(size_t n)
{
    if (resolving)
        return cd__malloc_arena_alloc(n, page_size());
    resolve();
    return NEXT(pvalloc)(n);
}

static size_t boot_usable(void *p)
{
    if (resolving)
        return 0;
    resolve();
    return NEXT(usable)(p);
}

/* ---- the family ----------------------------------------------------------------- */

/* Each allocating member runs the sampler's countdown first
 * (cd__mprof_malloc_due: a thread-local decrement and a predictable
 * branch); while it has not run out, the call is forwarded as a tail call,
 * so the usual case adds no frame and no return. When it runs out, the
 * member forwards, then calls the sampler, which walks the stack from
 * right here: the sampler call must stay in the member's own frame, and a
 * member must not call another. The members sit in the hot text
 * (CD__HOT, base/interpose.h), next to each other and to close. */

CD__HOT void *cd__malloc_malloc(size_t n)
{
    if (!cd__mprof_malloc_due(n))
        return NEXT(malloc)(n);
    void *p = NEXT(malloc)(n);
    cd__mprof_sample_malloc(p, n);
    return p;
}

CD__HOT void *cd__malloc_calloc(size_t nmemb, size_t size)
{
    size_t n;
    if (__builtin_mul_overflow(nmemb, size, &n))
        n = 0; /* the allocator fails it: nothing to count */
    if (!cd__mprof_malloc_due(n))
        return NEXT(calloc)(nmemb, size);
    void *p = NEXT(calloc)(nmemb, size);
    cd__mprof_sample_malloc(p, n);
    return p;
}

/* A busy thread (the sampler's own frees, under its lock) skips the
 * lookup: it frees only its own blocks, never sampled. Never dereferences
 * p. True when p's record was dropped. */
static bool forget(void *p)
{
    return !cd__mprof_busy && cd__mprof_forget_malloc(p);
}

/* free's slow path: p's filter slot is in use. An arena block is not the
 * next allocator's: nothing to free. */
__attribute__((noinline)) static void free_slow(void *p)
{
    if (cd__malloc_in_arena(p))
        return;
    (void)forget(p);
    NEXT(free)(p);
}

/* The two usual cases each end in their own forwarding jump: nothing
 * sampled at all (memprofilerate=0: one load, one branch), and p's filter
 * slot free (a sampling process, the default: the code runs straight
 * through). With one shared jump (gcc's cross jumping) or the first case
 * laid out as the straight one, a sampling process paid 0.3 ns more per
 * malloc+free pair (bench/run_malloc, 10 ns pairs). */
#if defined(__GNUC__) && !defined(__clang__)
#define NO_CROSSJUMPING __attribute__((optimize("no-crossjumping")))
#else
#define NO_CROSSJUMPING
#endif
CD__HOT NO_CROSSJUMPING void cd__malloc_free(void *p)
{
    if (__builtin_expect(!cd__mprof_filter_any(), 0)) {
        NEXT(free)(p);
        return;
    }
    if (__builtin_expect(!cd__mprof_slot_used(p), 1)) {
        NEXT(free)(p);
        return;
    }
    free_slow(p);
}

CD__HOT void *cd__malloc_realloc(void *p, size_t n)
{
    /* The record goes before the block may move or be freed: afterwards
     * another thread could get the same address, sampled. A failed realloc
     * keeps the block, unsampled from then on. */
    bool resample = false;
    if (cd__mprof_maybe_sampled(p)) {
        if (cd__malloc_in_arena(p))
            return arena_realloc(p, n);
        resample = forget(p);
    }
    void *q = NEXT(realloc)(p, n);
    /* As cd_realloc: a moved block is a new allocation; one grown in place
     * is one only if it was sampled (its record just went). */
    if (q != NULL && (q != p || resample))
        cd__mprof_malloc_alloc(q, n);
    return q;
}

CD__HOT int cd__malloc_posix_memalign(void **out, size_t align, size_t n)
{
    if (!cd__mprof_malloc_due(n))
        return NEXT(posix_memalign)(out, align, n);
    int rc = NEXT(posix_memalign)(out, align, n);
    cd__mprof_sample_malloc(rc == 0 ? *out : NULL, n);
    return rc;
}

CD__HOT void *cd__malloc_aligned_alloc(size_t align, size_t n)
{
    if (!cd__mprof_malloc_due(n))
        return NEXT(aligned_alloc)(align, n);
    void *p = NEXT(aligned_alloc)(align, n);
    cd__mprof_sample_malloc(p, n);
    return p;
}

CD__HOT void *cd__malloc_memalign(size_t align, size_t n)
{
    if (!cd__mprof_malloc_due(n))
        return NEXT(memalign)(align, n);
    void *p = NEXT(memalign)(align, n);
    cd__mprof_sample_malloc(p, n);
    return p;
}

CD__HOT void *cd__malloc_valloc(size_t n)
{
    if (!cd__mprof_malloc_due(n))
        return NEXT(valloc)(n);
    void *p = NEXT(valloc)(n);
    cd__mprof_sample_malloc(p, n);
    return p;
}

CD__HOT void *cd__malloc_pvalloc(size_t n)
{
    if (!cd__mprof_malloc_due(n))
        return NEXT(pvalloc)(n);
    void *p = NEXT(pvalloc)(n);
    cd__mprof_sample_malloc(p, n);
    return p;
}

CD__HOT size_t cd__malloc_usable_size(void *p)
{
    if (p == NULL)
        return 0;
    if (cd__malloc_in_arena(p))
        return arena_size(p);
    return NEXT(usable)(p);
}

/* ---- the public names ------------------------------------------------------------- */

#ifdef CD_MALLOC_INTERPOSE
/* Aliases: the public name is the entry point itself (no extra frame, so
 * the sampler's frame walk sees the program's caller one frame up), with
 * default visibility, exported by the version script (cmake/cdebug.map). */
#define INTERPOSE(name, impl)                                                                      \
    __typeof__(impl) name CD__INTERPOSED __attribute__((alias(#impl)))
INTERPOSE(malloc, cd__malloc_malloc);
INTERPOSE(calloc, cd__malloc_calloc);
INTERPOSE(realloc, cd__malloc_realloc);
INTERPOSE(free, cd__malloc_free);
INTERPOSE(posix_memalign, cd__malloc_posix_memalign);
INTERPOSE(aligned_alloc, cd__malloc_aligned_alloc);
INTERPOSE(memalign, cd__malloc_memalign);
INTERPOSE(valloc, cd__malloc_valloc);
INTERPOSE(pvalloc, cd__malloc_pvalloc);
INTERPOSE(malloc_usable_size, cd__malloc_usable_size);

bool cd__malloc_interposed(void)
{
    return true;
}
#else
bool cd__malloc_interposed(void)
{
    return false;
}
#endif

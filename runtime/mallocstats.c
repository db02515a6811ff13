/* runtime/mallocstats.c - see mallocstats.h. */
#include <dlfcn.h>
#include <malloc.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#include "base/interpose.h"
#include "runtime/malloc.h"
#include "runtime/mallocstats.h"

typedef struct mallinfo2 mallinfo2_fn(void);
typedef int mallctl_fn(const char *, void *, size_t *, void *, size_t);
typedef int tc_prop_fn(const char *, size_t *);

static const char *allocator = "unknown";
static mallinfo2_fn *mallinfo2_p;
static mallctl_fn *mallctl_p;
static tc_prop_fn *tc_prop_p;

/* The statistics function `name` when the serving malloc's object defines
 * it. */
static void *same_as(const void *m, const char *name)
{
    void *f = dlsym(RTLD_DEFAULT, name);
    return f != NULL && cd__interpose_same_object(f, m) ? f : NULL;
}

static void identify(void)
{
    const void *m =
        cd__malloc_interposed() ? cd__malloc_next_malloc() : dlsym(RTLD_DEFAULT, "malloc");
    if (m == NULL)
        return;
    if ((mallctl_p = (mallctl_fn *)same_as(m, "mallctl")) != NULL)
        allocator = "jemalloc";
    else if ((tc_prop_p = (tc_prop_fn *)same_as(m, "MallocExtension_GetNumericProperty")) != NULL)
        allocator = "tcmalloc";
    else if ((mallinfo2_p = (mallinfo2_fn *)same_as(m, "mallinfo2")) != NULL)
        allocator = "glibc";
}

static bool je_u64(const char *name, uint64_t *out)
{
    size_t v, len = sizeof v;
    if (mallctl_p(name, &v, &len, NULL, 0) != 0)
        return false;
    *out = v;
    return true;
}

static bool tc_u64(const char *name, uint64_t *out)
{
    size_t v;
    if (!tc_prop_p(name, &v))
        return false;
    *out = v;
    return true;
}

void cd__mallocstats_read(cd__mallocstats *s)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, identify);
    memset(s, 0, sizeof *s);
    s->allocator = allocator;
    if (mallinfo2_p != NULL) {
        /* arena: bytes got with sbrk (and mmap'd arenas); hblkhd: bytes in
         * blocks mmap'd one by one (in use until freed, then unmapped);
         * uordblks / fordblks: the arenas' bytes in blocks / free. glibc
         * keeps no count of the bytes it gave back with madvise. */
        struct mallinfo2 mi = mallinfo2_p();
        s->heap_alloc = mi.uordblks + mi.hblkhd;
        s->heap_sys = mi.arena + mi.hblkhd;
        s->heap_idle = mi.fordblks;
        s->heap_inuse = s->heap_sys - s->heap_idle;
        s->have = CD__MS_HEAP_ALLOC | CD__MS_HEAP_SYS | CD__MS_HEAP_IDLE | CD__MS_HEAP_INUSE;
    } else if (mallctl_p != NULL) {
        /* jemalloc's statistics are a snapshot refreshed by writing
         * "epoch". allocated: bytes in blocks; active: bytes of the pages
         * holding them; mapped: bytes mapped for the heap; retained:
         * mappings kept but given back to the OS (Go's released). */
        uint64_t epoch = 1, alloc, active, mapped, retained;
        size_t len = sizeof epoch;
        (void)mallctl_p("epoch", &epoch, &len, &epoch, sizeof epoch);
        if (je_u64("stats.allocated", &alloc) && je_u64("stats.active", &active) &&
            je_u64("stats.mapped", &mapped) && je_u64("stats.retained", &retained)) {
            s->heap_alloc = alloc;
            s->heap_inuse = active;
            s->heap_sys = mapped + retained;
            s->heap_idle = s->heap_sys > active ? s->heap_sys - active : 0;
            s->heap_released = retained;
            s->have = CD__MS_HEAP_ALLOC | CD__MS_HEAP_SYS | CD__MS_HEAP_IDLE | CD__MS_HEAP_INUSE |
                      CD__MS_HEAP_RELEASED;
        }
    } else if (tc_prop_p != NULL) {
        /* tcmalloc: heap_size holds everything (released pages included),
         * pageheap_free_bytes the idle pages still mapped,
         * pageheap_unmapped_bytes the ones given back. */
        uint64_t alloc, size, free_b, unmapped;
        if (tc_u64("generic.current_allocated_bytes", &alloc) &&
            tc_u64("generic.heap_size", &size) && tc_u64("tcmalloc.pageheap_free_bytes", &free_b) &&
            tc_u64("tcmalloc.pageheap_unmapped_bytes", &unmapped)) {
            s->heap_alloc = alloc;
            s->heap_sys = size;
            s->heap_idle = free_b + unmapped;
            s->heap_inuse = size > s->heap_idle ? size - s->heap_idle : 0;
            s->heap_released = unmapped;
            s->have = CD__MS_HEAP_ALLOC | CD__MS_HEAP_SYS | CD__MS_HEAP_IDLE | CD__MS_HEAP_INUSE |
                      CD__MS_HEAP_RELEASED;
        }
    }
}

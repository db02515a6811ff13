/* tests/unit/test_malloc.c - the interposed malloc family (runtime/malloc.h)
 * and its side of the heap sampler (runtime/mprof.h), through the internal
 * entry points: they exist in every build, so this runs under the
 * sanitizers too, where the next allocator is the sanitizer's.
 *
 * The bootstrap arena (alignment, zeroing, its blocks pinned in the
 * sampler's filter, free / realloc / malloc_usable_size recognising them,
 * exhaustion); every member sampled at memprofilerate=1 with the size asked
 * and the calling function on top of the stack; free dropping the record
 * and emptying the filter slot; the allocators' records kept apart; a
 * pointer the allocator never returned looked up without being touched;
 * a busy thread (the sampler's own mallocs) forwarded unsampled; a quiet
 * one (a profile render) unsampled, its frees still looked up; the filter's
 * sum (free's first test) always the total of its slots; a thread sampled
 * from its registration on, one never registered not at all.
 */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cdebug/cdebug.h"
#include "base/symbolize.h"
#include "runtime/malloc.h"
#include "runtime/mprof.h"
#include "runtime/pthread_create.h"
#include "runtime/thread.h"

static uint64_t records(void)
{
    cd__mprof_stats s;
    cd__mprof_read_stats(&s);
    return s.records;
}

/* Every allocation of this thread sampled from now on. */
static void sample_all(void)
{
    assert_int_equal(cd__mprof_init(1), 0);
    cd__mprof_next = 0;
}

/* The published row of the malloc bucket of `size` bytes whose top frame
 * is in function `func` (NULL: none). rows is freed by the caller. */
static const cd__mprof_row *find_row(cd__mprof_row **rows, size_t size, const char *func)
{
    size_t n;
    assert_int_equal(cd__mprof_snapshot(rows, &n), 0);
    cd__symctx *ctx;
    assert_int_equal(cd__sym_begin(&ctx), 0);
    const cd__mprof_row *found = NULL;
    for (size_t i = 0; i < n && found == NULL; i++) {
        const cd__mprof_row *r = &(*rows)[i];
        if (r->kind != CD__MPROF_MALLOC || r->size != size || r->depth == 0)
            continue;
        cd__sym s;
        cd__sym_lookup(ctx, r->stk[0] - 1, &s);
        if (strcmp(s.func, func) == 0)
            found = r;
    }
    cd__sym_end(ctx);
    return found;
}

static void test_arena(void **state)
{
    (void)state;
    char *a = cd__malloc_arena_alloc(100, 16);
    assert_non_null(a);
    assert_true(cd__malloc_in_arena(a));
    assert_int_equal((uintptr_t)a % 16, 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(a[i], 0);
    /* Pinned: free and realloc take their slow path, which knows it. */
    assert_true(cd__mprof_maybe_sampled(a));
    assert_int_equal(cd__malloc_usable_size(a), 100);
    memset(a, 'x', 100);
    cd__malloc_free(a); /* nothing: the next allocator would abort on it */
    char *b = cd__malloc_realloc(a, 200);
    assert_non_null(b);
    assert_false(cd__malloc_in_arena(b));
    for (int i = 0; i < 100; i++)
        assert_int_equal(b[i], 'x');
    cd__malloc_free(b);

    char *page = cd__malloc_arena_alloc(10, 4096);
    assert_non_null(page);
    assert_int_equal((uintptr_t)page % 4096, 0);
    errno = 0;
    assert_null(cd__malloc_arena_alloc(10, 8192));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(cd__malloc_arena_alloc(1 << 20, 16));
    assert_int_equal(errno, ENOMEM);

    int local;
    assert_false(cd__malloc_in_arena(NULL));
    assert_false(cd__malloc_in_arena(&local));
    void *m = cd__malloc_malloc(10);
    assert_false(cd__malloc_in_arena(m));
    cd__malloc_free(m);
}

/* Spends the arena: later blocks fail with ENOMEM, earlier ones stay. Last
 * of the arena tests (the process's arena is gone afterwards). */
static void test_arena_spent(void **state)
{
    (void)state;
    int n = 0;
    while (cd__malloc_arena_alloc(1000, 16) != NULL)
        n++;
    assert_int_equal(errno, ENOMEM);
    assert_true(n > 10 && n <= 64);
    /* What is left is less than a block of 1000: small ones, then none. */
    int small = 0;
    while (cd__malloc_arena_alloc(16, 16) != NULL)
        small++;
    assert_true(small < 1000 / 32 + 1);
    assert_int_equal(errno, ENOMEM);
    assert_null(cd__malloc_arena_alloc(1, 16));
}

__attribute__((noipa)) static void *malloc_here(size_t n)
{
    void *p = cd__malloc_malloc(n);
    __asm__ volatile("" ::: "memory"); /* not a tail call */
    return p;
}

/* The total of the filter's slots: what cd__mprof_filter_sum must hold. */
static uint64_t slots_total(void)
{
    uint64_t t = 0;
    for (size_t i = 0; i < (1u << CD__MPROF_FILTER_BITS); i++)
        t += atomic_load(&cd__mprof_filter[i]);
    return t;
}

/* The filter's slots keep the heap's locality: the blocks of a run of
 * frees (neighbours in memory) share the filter's cache lines, so a
 * server whose caches its work keeps flushing pays one miss for the run,
 * not one per free; and blocks one page apart (each a page-aligned
 * allocation) still spread over many slots. */
static void test_filter_slots(void **state)
{
    (void)state;
    enum { SLOTS = 1u << CD__MPROF_FILTER_BITS, PER_LINE = 64 / sizeof cd__mprof_filter[0] };
    static _Alignas(4096) unsigned char heap[64 << 10];
    /* 64 neighbouring 16-byte granules: 4 lines, never 5. */
    size_t lines[64];
    for (size_t i = 0; i < 64; i++)
        lines[i] = cd__mprof_slot(heap + 1024 + 16 * i) / PER_LINE;
    size_t distinct = 1;
    for (size_t i = 1; i < 64; i++)
        distinct += lines[i] != lines[i - 1];
    assert_true(distinct <= 5);
    /* Granules of one 512 KiB window never share a slot. */
    for (size_t i = 1; i < sizeof heap / 16; i++)
        assert_int_not_equal(cd__mprof_slot(heap), cd__mprof_slot(heap + 16 * i));
    /* 4096 page-aligned blocks, 16 MiB apart from the first to the last:
     * at least 4000 distinct slots. */
    static unsigned char used[SLOTS];
    memset(used, 0, sizeof used);
    size_t n = 0;
    for (uintptr_t a = 0x7f0000000000u; a < 0x7f0000000000u + (4096u << 12); a += 4096)
        n += used[cd__mprof_slot((const void *)a)]++ == 0;
    assert_true(n >= 4000);
}

/* free forwards at once while the sum is 0: a sample, a pin or a free of a
 * sampled object that left it out of step would send a sampled pointer to
 * the next allocator (its record kept for good) or stop looking at arena
 * blocks (the next allocator freeing a block it never made). */
static void test_filter_sum(void **state)
{
    (void)state;
    sample_all();
    assert_int_equal(atomic_load(&cd__mprof_filter_sum.n), slots_total());
    void *p[8];
    for (size_t i = 0; i < 8; i++) {
        p[i] = malloc_here(100 + i);
        assert_non_null(p[i]);
        assert_true(cd__mprof_filter_any());
        assert_int_equal(atomic_load(&cd__mprof_filter_sum.n), slots_total());
    }
    void *a = cd__malloc_arena_alloc(16, 16);
    assert_non_null(a);
    assert_true(cd__mprof_maybe_sampled(a));
    assert_int_equal(atomic_load(&cd__mprof_filter_sum.n), slots_total());
    for (size_t i = 0; i < 8; i++) {
        cd__malloc_free(p[i]);
        assert_int_equal(atomic_load(&cd__mprof_filter_sum.n), slots_total());
    }
    cd__malloc_free(a); /* an arena block: kept, still pinned */
    assert_true(cd__mprof_maybe_sampled(a));
    assert_true(cd__mprof_filter_any());
}

/* A thread's allocations of 4321 bytes, before and after it registers
 * (arg non-NULL) or never registered (arg NULL). */
static void *alloc_in_thread(void *arg)
{
    void *before = malloc_here(4321);
    void *after = NULL;
    if (arg != NULL) {
        assert_int_equal(cd__thread_attach(CD__THREAD_FOREIGN, false), 0);
        after = malloc_here(4321);
    }
    cd__malloc_free(before);
    cd__malloc_free(after);
    if (arg != NULL)
        cd__thread_detach();
    return NULL;
}

static uint64_t allocs_4321(void)
{
    cd__mprof_row *rows;
    const cd__mprof_row *r = find_row(&rows, 4321, "malloc_here");
    uint64_t n = r != NULL ? r->allocs : 0;
    free(rows);
    return n;
}

/* Sampling starts when a thread registers: a thread cdebug never saw (made
 * without the pthread_create wrapper: cd__pthread_create_kit) samples
 * nothing even at memprofilerate=1, a registered one samples from its
 * registration on. Before, every thread sampled from its first
 * allocation, and the main thread's first ones, made by library
 * constructors before initialisation, left malloc slow (mprof.h). */
static void test_thread_armed(void **state)
{
    (void)state;
    sample_all();
    pthread_t th;
    uint64_t before = allocs_4321();
    assert_int_equal(cd__pthread_create_kit(&th, NULL, alloc_in_thread, NULL), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(allocs_4321(), before);
    assert_int_equal(cd__pthread_create_kit(&th, NULL, alloc_in_thread, (void *)1), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
    assert_int_equal(allocs_4321(), before + 1);
}

static void test_malloc_sampled(void **state)
{
    (void)state;
    sample_all();
    uint64_t before = records();
    void *p = malloc_here(1234);
    assert_non_null(p);
    assert_int_equal(records(), before + 1);
    assert_true(cd__mprof_maybe_sampled(p));

    cd__mprof_row *rows;
    const cd__mprof_row *r = find_row(&rows, 1234, "malloc_here");
    assert_non_null(r);
    assert_int_equal(r->allocs, 1);
    assert_int_equal(r->frees, 0);
    assert_int_equal(r->alloc_bytes, 1234);
    free(rows);

    /* Counted around each call alone: symbolizing (libdw) mallocs too. */
    before = records();
    cd__malloc_free(p);
    assert_int_equal(records(), before - 1);
    /* Published at once: no collection needed for a malloc'd free. */
    r = find_row(&rows, 1234, "malloc_here");
    assert_non_null(r);
    assert_int_equal(r->frees, 1);
    assert_int_equal(r->free_bytes, 1234);
    free(rows);
}

__attribute__((noipa)) static void members(void **out)
{
    out[0] = cd__malloc_calloc(3, 111);
    out[1] = cd__malloc_realloc(NULL, 222);
    assert_int_equal(cd__malloc_posix_memalign(&out[2], 64, 333), 0);
    out[3] = cd__malloc_aligned_alloc(64, 448);
    out[4] = cd__malloc_memalign(128, 555);
    out[5] = cd__malloc_valloc(666);
    out[6] = cd__malloc_pvalloc(777);
    __asm__ volatile("" ::: "memory");
}

static void test_members_sampled(void **state)
{
    (void)state;
    sample_all();
    uint64_t before = records();
    void *p[7];
    members(p);
    assert_int_equal(records(), before + 7);
    static const size_t sizes[] = {333, 222, 333, 448, 555, 666, 777};
    long ps = sysconf(_SC_PAGESIZE);
    assert_int_equal((uintptr_t)p[2] % 64, 0);
    assert_int_equal((uintptr_t)p[3] % 64, 0);
    assert_int_equal((uintptr_t)p[4] % 128, 0);
    assert_int_equal((uintptr_t)p[5] % (uintptr_t)ps, 0);
    assert_int_equal((uintptr_t)p[6] % (uintptr_t)ps, 0);
    assert_true(cd__malloc_usable_size(p[6]) >= (size_t)ps);
    for (int i = 0; i < 7; i++) {
        assert_non_null(p[i]);
        assert_true(cd__mprof_maybe_sampled(p[i]));
        cd__mprof_row *rows;
        assert_non_null(find_row(&rows, sizes[i], "members"));
        free(rows);
    }
    /* A block grown by realloc: the old record goes, the new block is
     * sampled (moved or not: the record was dropped). */
    before = records();
    p[1] = cd__malloc_realloc(p[1], 1 << 20);
    assert_non_null(p[1]);
    assert_int_equal(records(), before);
    for (int i = 0; i < 7; i++)
        cd__malloc_free(p[i]);
    assert_int_equal(records(), before - 7);
}

static void test_allocators_apart(void **state)
{
    (void)state;
    /* The collector starts on first use (runtime/gc.h); what it mallocs
     * for itself then is not this test's. */
    cd_free(cd_alloc(1));
    sample_all();
    uint64_t before = records();
    void *g = cd_alloc(100);
    assert_int_equal(records(), before + 1);
    /* A collected object's record is not a malloc'd block's. */
    assert_false(cd__mprof_forget_malloc(g));
    assert_int_equal(records(), before + 1);
    cd_free(g);
    assert_int_equal(records(), before);

    void *m = cd__malloc_malloc(100);
    assert_false(cd__mprof_forget(m));
    assert_int_equal(records(), before + 1);
    cd__malloc_free(m);
    assert_int_equal(records(), before);
}

static void test_bogus_pointers(void **state)
{
    (void)state;
    sample_all();
    /* Keep many sampled blocks so most filter slots are in use: a bogus
     * pointer then takes the slow path. It is compared, never loaded. */
    enum { N = 40000 };
    void **keep = cd__malloc_calloc(N, sizeof *keep);
    assert_non_null(keep);
    for (int i = 0; i < N; i++)
        keep[i] = cd__malloc_malloc(24);
    uint64_t before = records();
    static const uintptr_t bogus[] = {1, 0x1000, 0xdeadbeef0, UINTPTR_MAX - 7, 0x7ff000000000};
    for (size_t i = 0; i < sizeof bogus / sizeof bogus[0]; i++)
        assert_false(cd__mprof_forget_malloc((void *)bogus[i]));
    for (int i = 0; i < N; i += 97)
        assert_false(cd__mprof_forget_malloc((char *)keep[i] + 8));
    assert_int_equal(records(), before);
    for (int i = 0; i < N; i++)
        cd__malloc_free(keep[i]);
    cd__malloc_free(keep);
}

static void test_busy_forwards(void **state)
{
    (void)state;
    sample_all();
    uint64_t before = records();
    cd__mprof_busy++;
    void *p = cd__malloc_malloc(100);
    cd__mprof_busy--;
    assert_non_null(p);
    assert_int_equal(records(), before);
    cd__malloc_free(p);
    assert_int_equal(records(), before);
}

/* cdebug's own work (a profile render): its mallocs are not sampled, but
 * its frees of sampled blocks are still seen. */
static void test_quiet(void **state)
{
    (void)state;
    sample_all();
    void *sampled = cd__malloc_malloc(100);
    uint64_t before = records();
    cd__mprof_quiet++;
    void *p = cd__malloc_malloc(100);
    assert_int_equal(records(), before);
    cd__malloc_free(sampled);
    assert_int_equal(records(), before - 1);
    cd__mprof_quiet--;
    cd__malloc_free(p);
    assert_int_equal(records(), before - 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arena),
        cmocka_unit_test(test_malloc_sampled),
        cmocka_unit_test(test_members_sampled),
        cmocka_unit_test(test_allocators_apart),
        cmocka_unit_test(test_bogus_pointers),
        cmocka_unit_test(test_busy_forwards),
        cmocka_unit_test(test_quiet),
        cmocka_unit_test(test_filter_sum),
        cmocka_unit_test(test_filter_slots),
        cmocka_unit_test(test_thread_armed),
        cmocka_unit_test(test_arena_spent), /* last: it spends the arena */
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

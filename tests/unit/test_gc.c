/* tests/unit/test_gc.c - the collected heap and cd_read_memstats.
 *
 * Allocation semantics (zeroing, realloc, strdup, free), forced collections
 * and their accounting (NumGC, NumForcedGC, pauses), object counters, that
 * garbage really is reclaimed while reachable data survives, and memstats
 * read from two registered threads at once. The library is initialised by
 * its constructor; the tests run in the main thread unless they say so.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <gc/gc.h>
#include <gc/gc_inline.h> /* GC_I_PTRFREE, GC_I_NORMAL */
#include <gc/gc_mark.h>

#include "cdebug/cdebug.h"
#include "base/clock.h"
#include "runtime/gc.h"

static cd_memstats ms_before, ms_after; /* big: keep them off the stack */

/* The relations that must hold in every snapshot: NULL when they do, else
 * the first that fails. No cmocka call, so threads may use it. */
static const char *invariant_error(const cd_memstats *m)
{
#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            return #c;                                                                             \
    } while (0)
    CHECK(m->HeapInuse == m->HeapSys - m->HeapIdle);
    CHECK(m->HeapIdle >= m->HeapReleased);
    CHECK(m->HeapAlloc <= m->HeapInuse);
    CHECK(m->Alloc == m->HeapAlloc);
    CHECK(m->Sys >= m->HeapSys);
    CHECK(m->Sys == m->HeapSys + m->StackSys + m->MSpanSys + m->MCacheSys + m->BuckHashSys +
                        m->GCSys + m->OtherSys);
    CHECK(m->HeapObjects <= m->Mallocs);
    CHECK(m->Frees == m->Mallocs - m->HeapObjects);
    CHECK(m->Lookups == 0);
    CHECK(m->GCCPUFraction >= 0.0 && m->GCCPUFraction <= 1.0);
    CHECK(m->EnableGC);
    CHECK(!m->DebugGC);
    CHECK(m->NumForcedGC <= m->NumGC);
    CHECK(m->NumGC == 0 || (m->LastGC > 0 && m->NextGC > 0));
#undef CHECK
    return NULL;
}

static void check_invariants(const cd_memstats *m)
{
    const char *err = invariant_error(m);
    if (err != NULL)
        fail_msg("memstats invariant broken: %s", err);
}

/* ---- allocation semantics ---------------------------------------------- */

static void test_alloc_zeroed(void **state)
{
    (void)state;
    for (size_t n = 1; n <= 1 << 20; n *= 3) {
        unsigned char *p = cd_alloc(n);
        assert_non_null(p);
        for (size_t i = 0; i < n; i++)
            assert_int_equal(p[i], 0);
        memset(p, 0xAB, n); /* dirty it: reused memory must be zeroed again */
    }
    cd_gc();
    for (int k = 0; k < 1000; k++) {
        unsigned char *p = cd_alloc(64);
        assert_non_null(p);
        for (size_t i = 0; i < 64; i++)
            assert_int_equal(p[i], 0);
        memset(p, 0xCD, 64);
    }
    void *a = cd_alloc(0), *b = cd_alloc(0);
    assert_non_null(a);
    assert_non_null(b);
    assert_ptr_not_equal(a, b);
}

static void test_alloc_atomic(void **state)
{
    (void)state;
    char *p = cd_alloc_atomic(4096);
    assert_non_null(p);
    memset(p, 'x', 4096); /* usable over its whole size */
    assert_int_equal(GC_get_kind_and_size(p, NULL), GC_I_PTRFREE);
    void *q = cd_alloc(16);
    assert_int_equal(GC_get_kind_and_size(q, NULL), GC_I_NORMAL);
}

static void test_cd_realloc(void **state)
{
    (void)state;
    /* NULL allocates */
    char *p = cd_realloc(NULL, 10);
    assert_non_null(p);
    memcpy(p, "0123456789", 10);
    /* grow keeps the contents */
    p = cd_realloc(p, 100000);
    assert_non_null(p);
    assert_memory_equal(p, "0123456789", 10);
    /* shrink keeps the prefix */
    p = cd_realloc(p, 5);
    assert_non_null(p);
    assert_memory_equal(p, "01234", 5);
    /* the kind is kept */
    char *a = cd_alloc_atomic(8);
    memcpy(a, "abcdefg", 8);
    a = cd_realloc(a, 64 * 1024);
    assert_string_equal(a, "abcdefg");
    assert_int_equal(GC_get_kind_and_size(a, NULL), GC_I_PTRFREE);
    /* n == 0 frees and returns NULL (bdwgc's GC_realloc) */
    assert_null(cd_realloc(p, 0));

    /* counting: a moving realloc is one new object and one free */
    uint64_t m0, b0, f0, m1, b1, f1;
    char *s = cd_alloc(16);
    cd__gc_alloc_totals(&m0, &b0, &f0);
    char *t = cd_realloc(s, 1 << 20);
    assert_ptr_not_equal(s, t);
    cd__gc_alloc_totals(&m1, &b1, &f1);
    assert_int_equal(m1 - m0, 1);
    assert_int_equal(b1 - b0, 1 << 20);
    assert_int_equal(f1 - f0, 1);
}

static void test_strdup(void **state)
{
    (void)state;
    assert_null(cd_strdup(NULL));
    char *e = cd_strdup("");
    assert_non_null(e);
    assert_string_equal(e, "");
    const char *lit = "the quick brown fox";
    char *s = cd_strdup(lit);
    assert_ptr_not_equal(s, lit);
    assert_string_equal(s, lit);
    assert_int_equal(GC_get_kind_and_size(s, NULL), GC_I_PTRFREE);
}

static void test_cd_free(void **state)
{
    (void)state;
    cd_free(NULL); /* no-op */
    uint64_t m0, b0, f0, m1, b1, f1;
    cd__gc_alloc_totals(&m0, &b0, &f0);
    for (int i = 0; i < 100; i++) {
        void *p = cd_alloc(128);
        cd_free(p);
    }
    cd__gc_alloc_totals(&m1, &b1, &f1);
    assert_int_equal(m1 - m0, 100);
    assert_int_equal(f1 - f0, 100);
    /* explicitly freed memory is reusable at once */
    cd_memstats *m = &ms_before;
    cd_read_memstats(m);
    check_invariants(m);
}

/* ---- forced collections and their accounting ---------------------------- */

static void test_gc_counts(void **state)
{
    (void)state;
    cd_read_memstats(&ms_before);
    uint64_t wall0 = cd__walltime();
    cd_gc();
    uint64_t wall1 = cd__walltime();
    cd_read_memstats(&ms_after);
    check_invariants(&ms_after);

    assert_true(ms_after.NumGC >= ms_before.NumGC + 1);
    assert_int_equal(ms_after.NumForcedGC, ms_before.NumForcedGC + 1);
    assert_int_equal(cd__gc_count(), ms_after.NumGC);
    /* the last collection is ours: it ended between the two clock reads */
    assert_true(ms_after.LastGC >= wall0 && ms_after.LastGC <= wall1);

    uint32_t last = (ms_after.NumGC + 255) % 256;
    uint64_t pause = ms_after.PauseNs[last];
    uint64_t end = ms_after.PauseEnd[last];
    assert_true(pause > 0);
    assert_true(pause <= wall1 - wall0);
    assert_true(end >= wall0 && end <= ms_after.LastGC); /* world restarts before END */
    assert_true(ms_after.PauseTotalNs >= ms_before.PauseTotalNs + pause);
}

static void test_pause_ring(void **state)
{
    (void)state;
    for (int i = 0; i < 5; i++)
        cd_gc();
    cd_read_memstats(&ms_after);
    check_invariants(&ms_after);
    assert_true(ms_after.NumGC >= 5);
    uint64_t sum = 0;
    uint32_t n = ms_after.NumGC < 256 ? ms_after.NumGC : 256;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t i = (ms_after.NumGC - 1 - k) % 256; /* newest first */
        assert_true(ms_after.PauseNs[i] > 0);
        assert_true(ms_after.PauseEnd[i] > 0);
        if (k > 0) /* older entries ended earlier */
            assert_true(ms_after.PauseEnd[i] <= ms_after.PauseEnd[(i + 1) % 256]);
        sum += ms_after.PauseNs[i];
    }
    for (uint32_t i = n; i < 256; i++)
        assert_true(ms_after.PauseNs[i] == 0 && ms_after.PauseEnd[i] == 0);
    if (ms_after.NumGC <= 256)
        assert_true(ms_after.PauseTotalNs >= sum);
}

static void test_mallocs_count(void **state)
{
    (void)state;
    cd_read_memstats(&ms_before);
    enum { N = 10000 };
    for (int i = 0; i < N; i++) {
        void *p = (i & 1) ? cd_alloc(24) : cd_alloc_atomic(40);
        assert_non_null(p);
    }
    cd_read_memstats(&ms_after);
    check_invariants(&ms_after);
    assert_int_equal(ms_after.Mallocs - ms_before.Mallocs, N);
    /* bdwgc counts bytes by free-list refill, so at least what we asked */
    assert_true(ms_after.TotalAlloc - ms_before.TotalAlloc >= (uint64_t)N / 2 * (24 + 40));
}

static void test_static_fields(void **state)
{
    (void)state;
    cd_read_memstats(&ms_after);
    static const uint32_t first[] = {0, 8, 16, 24, 32, 48, 64, 80, 96};
    for (size_t i = 0; i < sizeof first / sizeof first[0]; i++)
        assert_int_equal(ms_after.BySize[i].Size, first[i]);
    assert_int_equal(ms_after.BySize[60].Size, 18432);
    for (int i = 1; i < 61; i++) {
        assert_true(ms_after.BySize[i].Size > ms_after.BySize[i - 1].Size);
        assert_true(ms_after.BySize[i].Mallocs == 0 && ms_after.BySize[i].Frees == 0);
    }
}

/* ---- the collector collects, and keeps what is reachable --------------- */

static void test_garbage_reclaimed(void **state)
{
    (void)state;
    cd_gc();
    cd_read_memstats(&ms_before);
    /* 512 MiB of garbage through a heap that must stay small. */
    for (int i = 0; i < 128 * 1024; i++) {
        char *p = cd_alloc(4000);
        p[0] = (char)i;
    }
    for (int i = 0; i < 64 * 1024; i++)
        (void)cd_alloc_atomic(4096);
    cd_read_memstats(&ms_after);
    check_invariants(&ms_after);
    assert_true(ms_after.NumGC > ms_before.NumGC + 5); /* automatic collections */
    assert_true(ms_after.NumForcedGC == ms_before.NumForcedGC);
    assert_true(ms_after.HeapInuse < 64u << 20);
    assert_true(ms_after.HeapSys < 128u << 20);
    assert_true(ms_after.TotalAlloc - ms_before.TotalAlloc >= (uint64_t)128 * 1024 * 4000);
    assert_true(ms_after.PauseTotalNs > ms_before.PauseTotalNs);
}

struct node {
    struct node *next;
    uint64_t magic;
    uint64_t index;
    char *name; /* pointer-free string reachable through a node */
};

#define MAGIC 0x5ca1ab1e0ddba11ull

static void test_reachable_survives(void **state)
{
    (void)state;
    enum { N = 100000 };
    /* The only root is this volatile local; every node is reachable only
     * through other GC objects. */
    struct node *volatile head = NULL;
    for (uint64_t i = 0; i < N; i++) {
        struct node *n = cd_alloc(sizeof *n);
        n->magic = MAGIC;
        n->index = i;
        n->name = cd_alloc_atomic(24);
        memset(n->name, 0, 24);
        n->name[0] = (char)('a' + i % 26);
        n->next = head;
        head = n;
        if (i % 97 == 0)
            (void)cd_alloc(512); /* garbage interleaved with live nodes */
    }
    for (int round = 0; round < 3; round++) {
        cd_gc();
        /* churn: reuses whatever the collector freed */
        for (int i = 0; i < 20000; i++) {
            uint64_t *g = cd_alloc(sizeof(struct node));
            g[0] = g[1] = g[2] = g[3] = ~0ull;
        }
    }
    uint64_t want = N;
    for (struct node *n = head; n != NULL; n = n->next) {
        want--;
        assert_true(n->magic == MAGIC);
        assert_true(n->index == want);
        assert_int_equal(n->name[0], 'a' + want % 26);
    }
    assert_true(want == 0);

    /* The live list shows up as heap in use after a collection. */
    cd_gc();
    cd_read_memstats(&ms_after);
    check_invariants(&ms_after);
    assert_true(ms_after.HeapAlloc >= (uint64_t)N * sizeof(struct node));
    head = NULL;
}

/* Pointers stored only in pointer-free memory do not keep objects alive:
 * registered disappearing links are cleared when their object is freed. */
static __attribute__((noinline)) void make_unreachable(void **links, int n)
{
    for (int i = 0; i < n; i++) {
        void *obj = cd_alloc(64);
        links[i] = obj; /* links live in atomic memory: not a reference */
        assert_int_equal(GC_general_register_disappearing_link(&links[i], obj), GC_SUCCESS);
    }
}

static __attribute__((noinline)) void scrub_stack(void)
{
    volatile char junk[16384];
    memset((char *)junk, 0, sizeof junk);
}

static void test_atomic_memory_not_scanned(void **state)
{
    (void)state;
    enum { N = 100 };
    void **links = cd_alloc_atomic(N * sizeof(void *));
    make_unreachable(links, N);
    scrub_stack();
    cd_gc();
    cd_gc();
    int cleared = 0;
    for (int i = 0; i < N; i++)
        cleared += links[i] == NULL;
    /* conservative stack scanning may pin a stray one or two */
    assert_true(cleared >= N - 5);
}

/* ---- memstats from two threads at once --------------------------------- */

enum { ROUNDS = 300, PER_ROUND = 200 };
static _Atomic int go_flag;
static const char *_Atomic thread_error; /* first failure seen by a thread */

static void thread_fail(const char *what)
{
    const char *none = NULL;
    atomic_compare_exchange_strong(&thread_error, &none, what);
}

static void *reader_thread(void *arg)
{
    long id = (long)arg;
    cd_memstats *m = malloc(sizeof *m);
    if (m == NULL || cd_thread_register() != 0) {
        thread_fail("thread set-up failed");
        free(m);
        return NULL;
    }
    uint64_t last_mallocs = 0, last_total = 0;
    uint32_t last_gc = 0;
    while (!atomic_load(&go_flag))
        ;
    for (int r = 0; r < ROUNDS; r++) {
        for (int i = 0; i < PER_ROUND; i++)
            (void)cd_alloc(32 + (size_t)i);
        if (id == 1 && r % 50 == 0)
            cd_gc();
        cd_read_memstats(m);
        const char *err = invariant_error(m);
        if (err != NULL)
            thread_fail(err);
        if (m->Mallocs < last_mallocs + PER_ROUND)
            thread_fail("Mallocs did not grow by this thread's allocations");
        if (m->TotalAlloc < last_total)
            thread_fail("TotalAlloc decreased");
        if (m->NumGC < last_gc)
            thread_fail("NumGC decreased");
        last_mallocs = m->Mallocs;
        last_total = m->TotalAlloc;
        last_gc = m->NumGC;
    }
    free(m);
    cd_thread_unregister();
    return NULL;
}

static void test_memstats_two_threads(void **state)
{
    (void)state;
    cd_read_memstats(&ms_before);
    pthread_t th[2];
    atomic_store(&go_flag, 0);
    for (long i = 0; i < 2; i++)
        assert_int_equal(pthread_create(&th[i], NULL, reader_thread, (void *)i), 0);
    atomic_store(&go_flag, 1);
    for (int i = 0; i < 2; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    const char *err = atomic_load(&thread_error);
    if (err != NULL)
        fail_msg("in a thread: %s", err);
    cd_read_memstats(&ms_after);
    check_invariants(&ms_after);
    /* exited threads' counts are kept */
    assert_true(ms_after.Mallocs - ms_before.Mallocs >= 2ull * ROUNDS * PER_ROUND);
    assert_true(ms_after.NumForcedGC >= ms_before.NumForcedGC + ROUNDS / 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_alloc_zeroed),
        cmocka_unit_test(test_alloc_atomic),
        cmocka_unit_test(test_cd_realloc),
        cmocka_unit_test(test_strdup),
        cmocka_unit_test(test_cd_free),
        cmocka_unit_test(test_gc_counts),
        cmocka_unit_test(test_pause_ring),
        cmocka_unit_test(test_mallocs_count),
        cmocka_unit_test(test_static_fields),
        cmocka_unit_test(test_garbage_reclaimed),
        cmocka_unit_test(test_reachable_survives),
        cmocka_unit_test(test_atomic_memory_not_scanned),
        cmocka_unit_test(test_memstats_two_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

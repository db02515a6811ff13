/* tests/unit/test_task_cache.c - task records and ids of threads without a
 * worker (runtime/task.c): such a thread spawns from a cache of its own,
 * which goes back to the global list when the thread exits, and its ids
 * stay unique across threads. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "cdebug/cdebug.h"
#include "runtime/sched_priv.h"

static cd_waitgroup wg;

static void noop(void *arg)
{
    (void)arg;
    cd_wg_done(&wg);
}

static void *spawn_two(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2; i++) {
        cd_wg_add(&wg, 1);
        if (cd_go(noop, NULL) != 0)
            cd_wg_done(&wg);
    }
    return NULL;
}

/* 1000 short-lived threads, each spawning two tasks, one after the other:
 * each takes a batch for its cache and leaves most of it at exit. Without
 * the exit path each thread would strand 30 records (30000 in all); with
 * it the records circulate. What may still grow: the workers' caches,
 * which keep up to 160 records each before they spill. */
static void test_exited_threads_give_records_back(void **state)
{
    (void)state;
    cd_wg_init(&wg);
    spawn_two(NULL); /* main's own cache, and the workers' first batches */
    cd_wg_wait(&wg);
    uint64_t before = cd__task_records();
    for (int i = 0; i < 1000; i++) {
        pthread_t t;
        assert_int_equal(pthread_create(&t, NULL, spawn_two, NULL), 0);
        assert_int_equal(pthread_join(t, NULL), 0);
    }
    cd_wg_wait(&wg);
    uint64_t grew = cd__task_records() - before;
    uint64_t bound = (uint64_t)cd_maxprocs() * 160 + 512;
    print_message("records: %llu before, %llu made for 1000 threads (bound %llu)\n",
                  (unsigned long long)before, (unsigned long long)grew, (unsigned long long)bound);
    assert_true(grew <= bound);
}

/* Ids from threads without a worker come from per-thread blocks: four
 * threads taking ids at once must still never share one. */
#define ID_THREADS 4
#define ID_TASKS   5000
static uint64_t ids_of[ID_THREADS][ID_TASKS];

static void *take_ids(void *arg)
{
    uint64_t *out = arg;
    for (int i = 0; i < ID_TASKS; i++)
        out[i] = cd__task_next_id(NULL);
    return NULL;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void test_thread_ids_unique(void **state)
{
    (void)state;
    pthread_t t[ID_THREADS];
    for (int i = 0; i < ID_THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, take_ids, ids_of[i]), 0);
    for (int i = 0; i < ID_THREADS; i++)
        assert_int_equal(pthread_join(t[i], NULL), 0);
    size_t n = ID_THREADS * ID_TASKS;
    uint64_t *ids = malloc(n * sizeof *ids);
    assert_non_null(ids);
    for (int i = 0; i < ID_THREADS; i++) {
        for (int k = 0; k < ID_TASKS; k++) {
            if (k > 0)
                assert_true(ids_of[i][k] > ids_of[i][k - 1]); /* increasing per thread */
            ids[(size_t)i * ID_TASKS + (size_t)k] = ids_of[i][k];
        }
    }
    qsort(ids, n, sizeof *ids, cmp_u64);
    for (size_t i = 1; i < n; i++)
        assert_true(ids[i] != ids[i - 1]);
    assert_true(ids[0] > 0);
    free(ids);
}

int main(void)
{
    if (cd_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exited_threads_give_records_back),
        cmocka_unit_test(test_thread_ids_unique),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    cd_shutdown();
    return rc;
}

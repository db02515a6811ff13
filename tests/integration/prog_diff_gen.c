/* tests/integration/prog_diff_gen.c - two traces of "the same program"
 * with a known change, written with the test encoder
 * (tests/unit/trace_test_writer.h), for test_trace_diff.sh:
 *
 *   prog_diff_gen before FILE
 *   prog_diff_gen after FILE
 *
 * One tick is one nanosecond. Both traces last exactly 100 ms, with a main
 * thread (M1) and two worker threads (M2 on worker 0, M3 on worker 1).
 * Every duration of a kind is the same in one trace, so each percentile is
 * exact (the histogram's quantile is clamped to [min, max]):
 *
 *                          before              after
 *   task "search"  (M2)    10 x 1 ms,          10 x 2 ms,
 *                          wait 100 us         wait 300 us
 *   task "index"   (M3)    4 x 3 ms, each      4 x 3 ms, each
 *                          blocked 500 us      blocked 250 us
 *                          ("IO wait"), wait 50 us
 *   task "old"     (M2)    2 x 1 ms            -
 *   task "fresh"   (M2)    -                   3 x 500 us
 *   task "fetch (v2)" (M3) 1 x 1 ms, no wait   1 x 1 ms, no wait
 *   region "query" (M1)    10 x 1 ms           10 x 1.5 ms
 *   user task "request"    5 x 4 ms            5 x 4 ms
 *   collections (M1)       2, pauses 200 us,   4, pauses 300 us,
 *                          heap after 2 MiB    heap after 1..4 MiB
 *                          then 1 MiB          (grows)
 *   lost events            0                   5 (M2, 1 batch)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/trace_test_writer.h"

#define US 1000ull
#define MS 1000000ull

/* Event types (docs/trace-format.md, "Events"). */
enum {
    THREAD_START = 1,
    WORKER_ACQUIRE = 3,
    WORKER_RELEASE = 4,
    TASK_CREATE = 7,
    TASK_START = 8,
    TASK_BLOCK = 9,
    TASK_UNBLOCK = 10,
    TASK_END = 11,
    GC_BEGIN = 12,
    HEAP = 21,
    USER_TASK_BEGIN = 22,
    USER_TASK_END = 23,
    REGION_BEGIN = 24,
    REGION_END = 25,
};

/* String ids. */
enum { S_SEARCH = 1, S_INDEX, S_OLD, S_FRESH, S_QUERY, S_REQUEST, S_IO, S_FETCH };

typedef struct ev {
    uint64_t thread, ts, seq;
    uint8_t type;
    int n;
    uint64_t args[6];
} ev;

/* Events are collected from every thread, then sorted per thread and time
 * and written one batch per thread (the reader merges batches). */
static ev evs[1024];
static size_t nevs;

static void add(uint64_t thread, uint64_t ts, uint8_t type, int n, uint64_t a0, uint64_t a1,
                uint64_t a2, uint64_t a3)
{
    if (nevs == sizeof(evs) / sizeof(evs[0]))
        abort();
    ev *e = &evs[nevs];
    e->thread = thread;
    e->ts = ts;
    e->seq = nevs++;
    e->type = type;
    e->n = n;
    e->args[0] = a0;
    e->args[1] = a1;
    e->args[2] = a2;
    e->args[3] = a3;
}

static int cmp_ev(const void *a, const void *b)
{
    const ev *x = a, *y = b;
    if (x->thread != y->thread)
        return x->thread < y->thread ? -1 : 1;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* A task created on M1 at `create`, run on `thread` after `wait`, for
 * `exec` of execution, with one blocking call of `blocked` in the middle
 * when blocked > 0. */
static void task(uint64_t id, uint64_t name, uint64_t thread, uint64_t create, uint64_t wait,
                 uint64_t exec, uint64_t blocked)
{
    add(1, create, TASK_CREATE, 4, id, 0, name, 0);
    uint64_t t = create + wait;
    add(thread, t, TASK_START, 1, id, 0, 0, 0);
    if (blocked > 0) {
        t += exec / 2;
        add(thread, t, TASK_BLOCK, 2, id, S_IO, 0, 0);
        t += blocked;
        add(thread, t, TASK_UNBLOCK, 1, id, 0, 0, 0);
        t += exec - exec / 2;
    } else {
        t += exec;
    }
    add(thread, t, TASK_END, 1, id, 0, 0, 0);
}

/* A collection on M1 starting at t with a pause of `pause` (GC_STW_BEGIN
 * to GC_RECLAIM_BEGIN) and the heap before and after. */
static void gc(uint64_t n, uint64_t t, uint64_t pause, uint64_t heap_before, uint64_t heap_after)
{
    add(1, t - 1 * US, HEAP, 2, heap_before, 2 * heap_before, 0, 0);
    add(1, t, GC_BEGIN, 2, n, 1, 0, 0);
    uint64_t stw = t + 10 * US;
    add(1, stw, 13, 1, n, 0, 0, 0);                   /* GC_STW_BEGIN */
    add(1, stw + 5 * US, 14, 1, n, 0, 0, 0);          /* GC_STW_END */
    add(1, stw + 5 * US, 15, 1, n, 0, 0, 0);          /* GC_MARK_BEGIN */
    add(1, stw + pause - 10 * US, 16, 1, n, 0, 0, 0); /* GC_MARK_END */
    add(1, stw + pause - 10 * US, 17, 1, n, 0, 0, 0); /* GC_RESTART */
    add(1, stw + pause, 18, 1, n, 0, 0, 0);           /* GC_RECLAIM_BEGIN */
    add(1, stw + pause + 50 * US, 19, 1, n, 0, 0, 0); /* GC_RECLAIM_END */
    add(1, stw + pause + 60 * US, 20, 1, n, 0, 0, 0); /* GC_END */
    add(1, stw + pause + 61 * US, HEAP, 2, heap_after, 2 * heap_after, 0, 0);
}

static void build(tw *w, int after)
{
    tw_header(w, 1000000000, 0, 1700000000000000000ull, 0);
    static const char *const names[] = {NULL,    "search",  "index",   "old",       "fresh",
                                        "query", "request", "IO wait", "fetch (v2)"};
    for (uint64_t i = 1; i < sizeof(names) / sizeof(names[0]); i++)
        tw_string(w, i, names[i]);

    add(1, 0, THREAD_START, 1, 0, 0, 0, 0);
    for (uint64_t th = 2; th <= 3; th++) {
        add(th, 0, THREAD_START, 1, 1, 0, 0, 0);
        add(th, 0, WORKER_ACQUIRE, 1, th - 2, 0, 0, 0);
        add(th, 100 * MS, WORKER_RELEASE, 1, th - 2, 0, 0, 0);
    }
    /* M2: search, then old or fresh. */
    for (uint64_t k = 0; k < 10; k++)
        task(100 + k, S_SEARCH, 2, 1 * MS + k * 5 * MS, after ? 300 * US : 100 * US,
             after ? 2 * MS : 1 * MS, 0);
    if (!after)
        for (uint64_t k = 0; k < 2; k++)
            task(300 + k, S_OLD, 2, 60 * MS + k * 5 * MS, 100 * US, 1 * MS, 0);
    else
        for (uint64_t k = 0; k < 3; k++)
            task(400 + k, S_FRESH, 2, 60 * MS + k * 5 * MS, 100 * US, 500 * US, 0);
    /* M3: index. */
    for (uint64_t k = 0; k < 4; k++)
        task(200 + k, S_INDEX, 3, 1 * MS + k * 10 * MS, 50 * US, 3 * MS,
             after ? 250 * US : 500 * US);
    task(500, S_FETCH, 3, 50 * MS, 0, 1 * MS, 0);
    /* M1: regions and user tasks. */
    for (uint64_t k = 0; k < 10; k++) {
        uint64_t t = 1 * MS + k * 5 * MS + 100;
        add(1, t, REGION_BEGIN, 2, 0, S_QUERY, 0, 0);
        add(1, t + (after ? 1500 * US : 1 * MS), REGION_END, 2, 0, S_QUERY, 0, 0);
    }
    for (uint64_t k = 0; k < 5; k++) {
        uint64_t t = 1 * MS + k * 10 * MS + 200;
        add(1, t, USER_TASK_BEGIN, 3, k + 1, 0, S_REQUEST, 0);
        add(1, t + 4 * MS, USER_TASK_END, 1, k + 1, 0, 0, 0);
    }
    /* M1: collections, after the tasks. */
    if (!after) {
        gc(1, 80 * MS, 200 * US, 3u << 20, 2u << 20);
        gc(2, 90 * MS, 200 * US, 3u << 20, 1u << 20);
    } else {
        for (uint64_t k = 0; k < 4; k++)
            gc(k + 1, 70 * MS + k * 5 * MS, 300 * US, (k + 2) << 20, (k + 1) << 20);
    }

    qsort(evs, nevs, sizeof(evs[0]), cmp_ev);
    for (size_t i = 0; i < nevs;) {
        uint64_t th = evs[i].thread;
        tw_batch_begin(w, th, evs[i].ts);
        for (; i < nevs && evs[i].thread == th; i++)
            tw_eva(w, evs[i].type, evs[i].ts, evs[i].n, evs[i].args);
        tw_batch_end(w);
    }
    if (after)
        tw_lost(w, 2, 5, 1);
    tw_end(w);
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "before") != 0 && strcmp(argv[1], "after") != 0)) {
        fprintf(stderr, "usage: prog_diff_gen before|after FILE\n");
        return 2;
    }
    tw w;
    tw_init(&w);
    build(&w, strcmp(argv[1], "after") == 0);
    int rc = tw_save(&w, argv[2]);
    tw_free(&w);
    if (rc != 0) {
        fprintf(stderr, "prog_diff_gen: cannot write %s\n", argv[2]);
        return 1;
    }
    return 0;
}

/* tests/integration/prog_trace_shapes.c - traces whose shape, not length,
 * tests the memory of cdebug-trace (test_trace_bounds.sh), written with the
 * independent test encoder (tests/unit/trace_test_writer.h). Ticks are
 * nanoseconds; a FRONTIER follows every batch, as the recorder writes them.
 *
 *   prog_trace_shapes worker-id FILE [ID]   one thread holding worker ID
 *                                           (default 2^20 - 2): about 80
 *                                           bytes naming a huge worker id
 *   prog_trace_shapes never-end FILE N      N tasks created that never
 *                                           start nor end (6 bytes each: 3
 *                                           million make 18 MB)
 *   prog_trace_shapes blocked FILE N        N tasks created, started and
 *                                           blocked forever, on 4 worker
 *                                           threads (a leak of tasks
 *                                           blocked on a channel)
 *   prog_trace_shapes threads FILE N        N threads started, each naming
 *                                           its own worker, never stopped
 *
 * Each prints what it wrote (one line: events, bytes).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/trace_test_writer.h"

#define PER_BATCH 4096

static void header(tw *w)
{
    tw_header(w, 1000000000, 0, 1700000000000000000ull, 0);
    tw_string(w, 1, "leak");
    tw_string(w, 2, "chan receive");
}

static void worker_id(tw *w, uint64_t id)
{
    tw_header(w, 1000000000, 0, 1700000000000000000ull, 0);
    tw_batch_begin(w, 1, 0);
    tw_ev(w, 1, 0, 1, (uint64_t)1); /* THREAD_START worker */
    tw_ev(w, 3, 10, 1, id);         /* WORKER_ACQUIRE */
    tw_ev(w, 5, 20, 0);             /* SPIN_BEGIN */
    tw_ev(w, 6, 1000000, 0);        /* SPIN_END */
    tw_batch_end(w);
    tw_end(w);
}

/* N tasks created by thread 1, 100 ns apart; with `block`, each one is
 * also started and blocked on worker thread 2..5 (holding worker 0..3). */
static void leak(tw *w, uint64_t n, int block)
{
    header(w);
    for (uint64_t t = 1; t <= 5; t++) {
        tw_batch_begin(w, t, 0);
        tw_ev(w, 1, 0, 1, (uint64_t)(t == 1 ? 0 : 1));
        if (t > 1)
            tw_ev(w, 3, 1, 1, t - 2);
        tw_batch_end(w);
    }
    uint64_t ts = 10;
    for (uint64_t k = 1; k <= n;) {
        uint64_t first = k, base = ts;
        tw_batch_begin(w, 1, base);
        for (int i = 0; i < PER_BATCH && k <= n; i++, k++, ts += 100)
            tw_ev(w, 7, ts, 4, k, (uint64_t)0, (uint64_t)1, (uint64_t)0); /* TASK_CREATE */
        tw_batch_end(w);
        if (block) {
            for (uint64_t t = 2; t <= 5; t++) {
                tw_batch_begin(w, t, base);
                for (uint64_t id = first + (t - 2), at = base + 50 + (t - 2) * 100; id < k;
                     id += 4, at += 400) {
                    tw_ev(w, 8, at, 1, id);                   /* TASK_START */
                    tw_ev(w, 9, at + 20, 2, id, (uint64_t)2); /* TASK_BLOCK */
                }
                tw_batch_end(w);
            }
        }
        tw_frontier(w, ts);
    }
    tw_batch_begin(w, 1, ts);
    tw_ev(w, 5, ts, 0); /* SPIN_BEGIN: the end of the trace */
    tw_batch_end(w);
    tw_end(w);
}

/* N threads, thread k starting and acquiring worker k - 1. */
static void threads(tw *w, uint64_t n)
{
    tw_header(w, 1000000000, 0, 1700000000000000000ull, 0);
    uint64_t ts = 0;
    for (uint64_t k = 1; k <= n; k++, ts += 100) {
        tw_batch_begin(w, k, ts);
        tw_ev(w, 1, ts, 1, (uint64_t)1);
        tw_ev(w, 3, ts + 10, 1, k - 1);
        tw_batch_end(w);
        if (k % PER_BATCH == 0)
            tw_frontier(w, ts + 11);
    }
    tw_end(w);
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: prog_trace_shapes worker-id|never-end|blocked|threads FILE [N]\n");
        return 2;
    }
    const char *mode = argv[1], *path = argv[2];
    uint64_t n = argc > 3 ? strtoull(argv[3], NULL, 0) : 0;
    tw w;
    tw_init(&w);
    if (strcmp(mode, "worker-id") == 0) {
        worker_id(&w, argc > 3 ? n : (1u << 20) - 2);
    } else if (strcmp(mode, "never-end") == 0 && argc == 4) {
        leak(&w, n, 0);
    } else if (strcmp(mode, "blocked") == 0 && argc == 4) {
        leak(&w, n, 1);
    } else if (strcmp(mode, "threads") == 0 && argc == 4) {
        threads(&w, n);
    } else {
        fprintf(stderr, "prog_trace_shapes: unknown mode or missing N: %s\n", mode);
        tw_free(&w);
        return 2;
    }
    int rc = tw_save(&w, path);
    if (rc != 0)
        fprintf(stderr, "prog_trace_shapes: cannot write %s\n", path);
    else
        printf("%s events=%zu bytes=%zu\n", mode, w.events, w.out.len);
    tw_free(&w);
    return rc == 0 ? 0 : 1;
}

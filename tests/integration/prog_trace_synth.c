/* tests/integration/prog_trace_synth.c - traces of exactly known structure
 * for test_trace_stats.sh, written with the independent test encoder
 * (tests/unit/trace_test_writer.h). Ticks are nanoseconds.
 *
 *   prog_trace_synth serial FILE   4 workers; only worker 0 runs tasks: 100
 *                                  tasks "step" of 10 ms back to back over
 *                                  1 s (the Go tutorial's "one P busy")
 *   prog_trace_synth gc FILE       1 worker, 1 s; one collection whose world
 *                                  is stopped from 500 ms to 502.5 ms; heap
 *                                  1 MB before, 2 MB after
 *   prog_trace_synth mixed FILE    2 workers, 1 s: 10 tasks "fetch" each
 *                                  blocked 5 ms on "net: read" and running 2 ms,
 *                                  waiting 1 ms to start; 3 user tasks
 *                                  "request" of 20 ms with 2 regions "parse"
 *                                  of 4 ms each; 2 logs; one task "stuck"
 *                                  still running at the end
 */
#include <stdio.h>
#include <string.h>

#include "../unit/trace_test_writer.h"

#define MS 1000000ull

enum { S_STEP = 1, S_FETCH, S_REASON, S_REQUEST, S_PARSE, S_CAT, S_MSG, S_STUCK };

/* One thread per worker: THREAD_START(worker kind) and WORKER_ACQUIRE at 0. */
static void worker_threads(tw *w, int n)
{
    for (int i = 0; i < n; i++) {
        tw_batch_begin(w, (uint64_t)i + 1, 0);
        tw_ev(w, 1, 0, 1, (uint64_t)1);
        tw_ev(w, 3, 0, 1, (uint64_t)i);
        tw_batch_end(w);
    }
}

static void serial(tw *w)
{
    tw_header(w, 1000000000, 0, 1700000000000000000ull, 0);
    tw_string(w, S_STEP, "step");
    worker_threads(w, 4);
    /* Workers 1-3 are handed back at once: idle for the whole trace. */
    for (int i = 1; i < 4; i++) {
        tw_batch_begin(w, (uint64_t)i + 1, 0);
        tw_ev(w, 4, 0, 1, (uint64_t)i);
        tw_batch_end(w);
    }
    tw_batch_begin(w, 1, 0);
    for (uint64_t k = 0; k < 100; k++) {
        uint64_t t = k * 10 * MS, id = k + 1;
        tw_ev(w, 7, t, 4, id, (uint64_t)0, (uint64_t)S_STEP, (uint64_t)0); /* CREATE */
        tw_ev(w, 8, t, 1, id);                                             /* START */
        tw_ev(w, 11, t + 10 * MS, 1, id);                                  /* END */
    }
    tw_batch_end(w);
    tw_end(w);
}

static void gc(tw *w)
{
    tw_header(w, 1000000000, 0, 1700000000000000000ull, 0);
    worker_threads(w, 1);
    tw_batch_begin(w, 1, 0);
    tw_ev(w, 21, 100 * MS, 2, (uint64_t)1000000, (uint64_t)2000000); /* HEAP before */
    tw_ev(w, 12, 500 * MS, 2, (uint64_t)1, (uint64_t)1);             /* GC_BEGIN forced */
    tw_ev(w, 13, 500 * MS, 1, (uint64_t)1);                          /* STW_BEGIN */
    tw_ev(w, 14, 500 * MS + 100000, 1, (uint64_t)1);                 /* STW_END */
    tw_ev(w, 15, 500 * MS + 100000, 1, (uint64_t)1);                 /* MARK_BEGIN */
    tw_ev(w, 16, 502 * MS, 1, (uint64_t)1);                          /* MARK_END */
    tw_ev(w, 17, 502 * MS, 1, (uint64_t)1);                          /* RESTART */
    tw_ev(w, 18, 502 * MS + 500000, 1, (uint64_t)1);                 /* RECLAIM_BEGIN */
    tw_ev(w, 19, 503 * MS, 1, (uint64_t)1);                          /* RECLAIM_END */
    tw_ev(w, 20, 503 * MS, 1, (uint64_t)1);                          /* GC_END */
    tw_ev(w, 21, 503 * MS, 2, (uint64_t)2000000, (uint64_t)4000000); /* HEAP after */
    tw_ev(w, 5, 1000 * MS, 0);                                       /* SPIN_BEGIN: the end */
    tw_batch_end(w);
    tw_end(w);
}

static void mixed(tw *w)
{
    tw_header(w, 1000000000, 0, 1700000000000000000ull, 0);
    tw_string(w, S_FETCH, "fetch");
    tw_string(w, S_REASON, "net: read");
    tw_string(w, S_REQUEST, "request");
    tw_string(w, S_PARSE, "parse");
    tw_string(w, S_CAT, "http");
    tw_string(w, S_MSG, "GET /");
    tw_string(w, S_STUCK, "stuck");
    worker_threads(w, 2);
    /* Thread 1 (worker 0): 10 fetch tasks, each created at 50k ms, started
     * 1 ms later, running 1 ms, blocked 5 ms (worker handed to nobody: this
     * synthetic runtime keeps it), running 1 ms more. */
    tw_batch_begin(w, 1, 0);
    for (uint64_t k = 0; k < 10; k++) {
        uint64_t t = k * 50 * MS, id = k + 1;
        tw_ev(w, 7, t, 4, id, (uint64_t)0, (uint64_t)S_FETCH, (uint64_t)0);
        tw_ev(w, 8, t + 1 * MS, 1, id);
        tw_ev(w, 9, t + 2 * MS, 2, id, (uint64_t)S_REASON);
        tw_ev(w, 10, t + 7 * MS, 1, id);
        tw_ev(w, 11, t + 8 * MS, 1, id);
    }
    tw_batch_end(w);
    /* Thread 2 (worker 1): user tasks with regions and logs, then a task
     * that never ends. */
    tw_batch_begin(w, 2, 0);
    for (uint64_t k = 0; k < 3; k++) {
        uint64_t t = 100 * MS + k * 100 * MS, id = k + 1;
        tw_ev(w, 22, t, 3, id, (uint64_t)0, (uint64_t)S_REQUEST);
        tw_ev(w, 24, t + 1 * MS, 2, id, (uint64_t)S_PARSE);
        tw_ev(w, 25, t + 5 * MS, 2, id, (uint64_t)S_PARSE);
        tw_ev(w, 24, t + 10 * MS, 2, id, (uint64_t)S_PARSE);
        tw_ev(w, 25, t + 14 * MS, 2, id, (uint64_t)S_PARSE);
        if (k < 2)
            tw_ev(w, 26, t + 15 * MS, 3, id, (uint64_t)S_CAT, (uint64_t)S_MSG);
        tw_ev(w, 23, t + 20 * MS, 1, id);
    }
    tw_ev(w, 7, 900 * MS, 4, (uint64_t)100, (uint64_t)0, (uint64_t)S_STUCK, (uint64_t)0);
    tw_ev(w, 8, 900 * MS, 1, (uint64_t)100);
    tw_ev(w, 6, 1000 * MS, 0); /* SPIN_END: marks the end of the trace */
    tw_batch_end(w);
    tw_end(w);
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        void (*fn)(tw *);
    } modes[] = {{"serial", serial}, {"gc", gc}, {"mixed", mixed}};
    if (argc != 3) {
        fprintf(stderr, "usage: prog_trace_synth serial|gc|mixed FILE\n");
        return 2;
    }
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        if (strcmp(argv[1], modes[i].name) != 0)
            continue;
        tw w;
        tw_init(&w);
        modes[i].fn(&w);
        int rc = tw_save(&w, argv[2]);
        tw_free(&w);
        return rc == 0 ? 0 : 1;
    }
    fprintf(stderr, "prog_trace_synth: unknown mode \"%s\"\n", argv[1]);
    return 2;
}

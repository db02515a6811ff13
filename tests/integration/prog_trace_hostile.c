/* tests/integration/prog_trace_hostile.c - traces with hostile timestamps
 * and ids for test_trace_times.sh and the fuzz corpus, written with the
 * independent test encoder (tests/unit/trace_test_writer.h).
 *
 *   prog_trace_hostile DIR
 *
 * writes DIR/NAME.trace for every case below and prints one line per case,
 * "NAME corrupt" (a time no trace can have: every subcommand must refuse
 * it) or "NAME valid" (odd but possible: every subcommand must read it and
 * print nothing absurd). Each case wraps the same small workload (three
 * threads, two workers, tasks created, run, blocked and ended, a region, a
 * user task, a log, a collection with its phases, heap samples):
 *
 *   start-max       start_ticks = 2^64 - 1: every event lies about 584 years
 *                   before the trace start (ns saturate)
 *   start-max-hz1   the same at 1 tick per second
 *   straddle        start_ticks = 2^63: the workload's first half at tick 0
 *                   (292 years before the start), its second half just
 *                   after it; spans and tasks cross the two
 *   future          a sane workload, then one batch 584 years later
 *                   (2^64 - 1000 ticks) ending its task, region, user task,
 *                   collection
 *   far             the same batch 146 years after the start (2^62 ns: no
 *                   saturation, but no trace lasts that long)
 *   hz1-long        1 tick per second; the last event 2^40 ticks (34000
 *                   years) after the start
 *   mutated         8 rounds of the workload with frontiers, where the
 *                   base timestamps of 5 batches were replaced by random
 *                   64-bit values (what a bit-flipping fuzzer does)
 *   backwards       valid: a thread's later batch goes back in time
 *                   (1000 s, then 5 ns) after a frontier, so the reader
 *                   delivers events out of order
 *   ids             valid: the largest ids everywhere (thread, worker,
 *                   task, user task, collection number 2^64 - 1 or - 2)
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/trace_test_writer.h"

enum { S_FETCH = 1, S_NET, S_PARSE, S_REQUEST, S_APP, S_HELLO };

static void strings(tw *w)
{
    tw_string(w, S_FETCH, "fetch");
    tw_string(w, S_NET, "net: read");
    tw_string(w, S_PARSE, "parse");
    tw_string(w, S_REQUEST, "request");
    tw_string(w, S_APP, "app");
    tw_string(w, S_HELLO, "hello");
}

/* The main thread's part of the workload at t0: a user task, two tasks
 * created, a log, a collection with every phase, heap samples. */
static void main_part(tw *w, uint64_t t0, uint64_t user, uint64_t task, uint64_t gc)
{
    tw_batch_begin(w, 1, t0);
    tw_ev(w, 1, t0, 1, (uint64_t)0);                                  /* THREAD_START */
    tw_ev(w, 22, t0 + 10, 3, user, (uint64_t)0, (uint64_t)S_REQUEST); /* USER_TASK_BEGIN */
    tw_ev(w, 7, t0 + 20, 4, task, (uint64_t)0, (uint64_t)S_FETCH, (uint64_t)0); /* TASK_CREATE */
    tw_ev(w, 7, t0 + 30, 4, task + 1, (uint64_t)0, (uint64_t)S_FETCH, (uint64_t)0);
    tw_ev(w, 26, t0 + 40, 3, user, (uint64_t)S_APP, (uint64_t)S_HELLO); /* LOG */
    tw_ev(w, 21, t0 + 50, 2, (uint64_t)1000000, (uint64_t)2000000);     /* HEAP */
    tw_ev(w, 12, t0 + 1000, 2, gc, (uint64_t)0);                        /* GC_BEGIN */
    static const uint16_t at[] = {1100, 1200, 1200, 2000, 2100, 2200, 2500, 2600};
    for (uint8_t e = 13; e <= 20; e++)
        tw_ev(w, e, t0 + at[e - 13], 1, gc);
    tw_ev(w, 21, t0 + 2700, 2, (uint64_t)1500000, (uint64_t)3000000);
    tw_batch_end(w);
}

/* The worker threads' part at t0: thread 2 (worker `wk`) runs `task`
 * through a region and a blocking call; thread 3 (worker wk + 1) starts
 * task + 1. `end` adds their ends at t0 + 900000. */
static void worker_part(tw *w, uint64_t t0, uint64_t thread, uint64_t wk, uint64_t user,
                        uint64_t task, bool end)
{
    tw_batch_begin(w, thread, t0 + 5);
    tw_ev(w, 1, t0 + 5, 1, (uint64_t)1);                /* THREAD_START worker */
    tw_ev(w, 3, t0 + 6, 1, wk);                         /* WORKER_ACQUIRE */
    tw_ev(w, 5, t0 + 7, 0);                             /* SPIN_BEGIN */
    tw_ev(w, 6, t0 + 50, 0);                            /* SPIN_END */
    tw_ev(w, 8, t0 + 100, 1, task);                     /* TASK_START */
    tw_ev(w, 24, t0 + 200, 2, user, (uint64_t)S_PARSE); /* REGION_BEGIN */
    tw_ev(w, 25, t0 + 300, 2, user, (uint64_t)S_PARSE); /* REGION_END */
    tw_ev(w, 24, t0 + 350, 2, user, (uint64_t)S_PARSE); /* REGION_BEGIN, left open */
    tw_ev(w, 9, t0 + 400, 2, task, (uint64_t)S_NET);    /* TASK_BLOCK */
    tw_ev(w, 4, t0 + 450, 1, wk);                       /* WORKER_RELEASE */
    tw_ev(w, 3, t0 + 5000, 1, wk);                      /* WORKER_ACQUIRE */
    tw_ev(w, 10, t0 + 5100, 1, task);                   /* TASK_UNBLOCK */
    tw_ev(w, 27, t0 + 5200, 2, (uint64_t)0, task);      /* CPU_SAMPLE */
    if (end)
        tw_ev(w, 11, t0 + 900000, 1, task); /* TASK_END */
    tw_batch_end(w);
    tw_batch_begin(w, thread + 1, t0 + 5);
    tw_ev(w, 1, t0 + 5, 1, (uint64_t)1);
    tw_ev(w, 3, t0 + 6, 1, wk + 1);
    tw_ev(w, 8, t0 + 300, 1, task + 1);
    if (end)
        tw_ev(w, 11, t0 + 800000, 1, task + 1);
    tw_batch_end(w);
}

static void workload(tw *w, uint64_t t0, bool end)
{
    main_part(w, t0, 1, 10, 1);
    worker_part(w, t0, 2, 0, 1, 10, end);
}

/* A batch at ts that ends what workload(end = false) left open. */
static void late_ends(tw *w, uint64_t ts)
{
    tw_batch_begin(w, 2, ts);
    tw_ev(w, 25, ts, 2, (uint64_t)1, (uint64_t)S_PARSE); /* REGION_END */
    tw_ev(w, 11, ts + 1, 1, (uint64_t)10);               /* TASK_END */
    tw_ev(w, 4, ts + 2, 1, (uint64_t)0);                 /* WORKER_RELEASE */
    tw_ev(w, 12, ts + 3, 2, (uint64_t)2, (uint64_t)1);   /* GC_BEGIN */
    tw_ev(w, 13, ts + 4, 1, (uint64_t)2);                /* GC_STW_BEGIN */
    tw_batch_end(w);
    tw_batch_begin(w, 3, ts);
    tw_ev(w, 11, ts + 10, 1, (uint64_t)11); /* TASK_END */
    tw_ev(w, 2, ts + 20, 0);                /* THREAD_STOP */
    tw_batch_end(w);
    tw_batch_begin(w, 1, ts);
    tw_ev(w, 23, ts + 30, 1, (uint64_t)1); /* USER_TASK_END */
    tw_ev(w, 18, ts + 40, 1, (uint64_t)2); /* GC_RECLAIM_BEGIN */
    tw_ev(w, 20, ts + 50, 1, (uint64_t)2); /* GC_END */
    tw_batch_end(w);
}

static void header(tw *w, uint64_t hz, uint64_t start)
{
    tw_header(w, hz, start, 1700000000000000000ull, 0);
    strings(w);
}

static void start_max(tw *w, uint64_t hz)
{
    header(w, hz, UINT64_MAX);
    workload(w, 0, true);
    tw_frontier(w, 1000000);
    tw_end(w);
}

static void straddle(tw *w)
{
    header(w, 1000000000, (uint64_t)1 << 63);
    workload(w, 0, false);
    tw_frontier(w, 1000000);
    late_ends(w, ((uint64_t)1 << 63) + 1000);
    tw_end(w);
}

static void late(tw *w, uint64_t hz, uint64_t ts)
{
    header(w, hz, 0);
    workload(w, 0, false);
    tw_frontier(w, 1000000);
    late_ends(w, ts);
    tw_end(w);
}

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
    return tw_rand(&rng);
}

/* 8 rounds of 1 ms; 5 batches get a random base (below 2^64 - 2^32, so
 * that their events' timestamps stay representable: the reader's own
 * overflow check is not what this case tests). */
static void mutated(tw *w)
{
    header(w, 1000000000, 0);
    int mutations = 0;
    for (uint64_t r = 0; r < 8; r++) {
        uint64_t t0 = r * 1000000;
        if (mutations < 5 && (r % 2 == 1 || r == 6)) {
            t0 = rnd() >> (rnd() % 3 == 0 ? 0 : 1);
            if (t0 > UINT64_MAX - ((uint64_t)1 << 32))
                t0 -= (uint64_t)1 << 32;
            mutations++;
        }
        main_part(w, t0, r + 1, 10 + 2 * r, r + 1);
        worker_part(w, t0, 2 + 2 * r, 2 * r, r + 1, 10 + 2 * r, true);
        tw_frontier(w, (r + 1) * 1000000);
    }
    tw_end(w);
}

static void backwards(tw *w)
{
    header(w, 1000000000, 0);
    workload(w, 1000000000000ull, false); /* at 1000 s */
    tw_frontier(w, 1000000000000ull + 1000000);
    late_ends(w, 5); /* at 5 ns: before everything */
    tw_end(w);
}

static void ids(tw *w)
{
    const uint64_t big = UINT64_MAX;
    header(w, 1000000000, 0);
    tw_batch_begin(w, big, 0);
    tw_ev(w, 28, 0, 3, big - 1, (uint64_t)1, big); /* STATE_THREAD */
    tw_ev(w, 29, 0, 2, big - 2, (uint64_t)1);      /* STATE_WORKER */
    tw_ev(w, 30, 0, 6, big, (uint64_t)2, big, (uint64_t)S_FETCH, (uint64_t)0, big); /* STATE_TASK */
    tw_ev(w, 1, 10, 1, (uint64_t)1);                          /* THREAD_START */
    tw_ev(w, 3, 20, 1, big - 2);                              /* WORKER_ACQUIRE */
    tw_ev(w, 3, 30, 1, big);                                  /* WORKER_ACQUIRE none */
    tw_ev(w, 22, 40, 3, big, big, (uint64_t)S_REQUEST);       /* USER_TASK_BEGIN */
    tw_ev(w, 7, 50, 4, big - 1, big, (uint64_t)S_FETCH, big); /* TASK_CREATE */
    tw_ev(w, 8, 60, 1, big - 1);                              /* TASK_START */
    tw_ev(w, 24, 70, 2, big, (uint64_t)S_PARSE);              /* REGION_BEGIN */
    tw_ev(w, 12, 80, 2, big, (uint64_t)1);                    /* GC_BEGIN */
    tw_ev(w, 13, 90, 1, big);                                 /* GC_STW_BEGIN */
    tw_ev(w, 18, 100, 1, big);                                /* GC_RECLAIM_BEGIN */
    tw_ev(w, 20, 110, 1, big);                                /* GC_END */
    tw_ev(w, 21, 120, 2, big, big);                           /* HEAP */
    tw_ev(w, 25, 130, 2, big, (uint64_t)S_PARSE);             /* REGION_END */
    tw_ev(w, 11, 140, 1, big - 1);                            /* TASK_END */
    tw_ev(w, 23, 150, 1, big);                                /* USER_TASK_END */
    tw_ev(w, 4, 160, 1, big - 2);                             /* WORKER_RELEASE */
    tw_ev(w, 2, 170, 0);                                      /* THREAD_STOP */
    tw_batch_end(w);
    tw_lost(w, big, big, big);
    tw_end(w);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: prog_trace_hostile DIR\n");
        return 2;
    }
    static const struct {
        const char *name;
        const char *expect;
    } cases[] = {{"start-max", "corrupt"}, {"start-max-hz1", "corrupt"}, {"straddle", "corrupt"},
                 {"future", "corrupt"},    {"far", "corrupt"},           {"hz1-long", "corrupt"},
                 {"mutated", "corrupt"},   {"backwards", "valid"},       {"ids", "valid"}};
    int rc = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        tw w;
        tw_init(&w);
        const char *n = cases[i].name;
        if (strcmp(n, "start-max") == 0)
            start_max(&w, 1000000000);
        else if (strcmp(n, "start-max-hz1") == 0)
            start_max(&w, 1);
        else if (strcmp(n, "straddle") == 0)
            straddle(&w);
        else if (strcmp(n, "future") == 0)
            late(&w, 1000000000, UINT64_MAX - 1000);
        else if (strcmp(n, "far") == 0)
            late(&w, 1000000000, (uint64_t)1 << 62);
        else if (strcmp(n, "hz1-long") == 0)
            late(&w, 1, (uint64_t)1 << 40);
        else if (strcmp(n, "mutated") == 0)
            mutated(&w);
        else if (strcmp(n, "backwards") == 0)
            backwards(&w);
        else
            ids(&w);
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.trace", argv[1], n);
        if (tw_save(&w, path) != 0) {
            fprintf(stderr, "prog_trace_hostile: cannot write %s\n", path);
            rc = 1;
        }
        tw_free(&w);
        printf("%s %s\n", n, cases[i].expect);
    }
    return rc;
}

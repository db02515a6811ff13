/* tests/integration/prog_trace_gen.c - writes trace files with the test
 * encoder (tests/unit/trace_test_writer.h), for test_trace_dump.sh, the fuzz
 * corpus and the reader benchmark. Independent of the recorder.
 *
 *   prog_trace_gen sample FILE        small trace, every kind of line of dump
 *   prog_trace_gen truncated FILE     the sample cut inside a record
 *   prog_trace_gen corrupt FILE       the sample with one payload byte flipped
 *   prog_trace_gen corpus DIR         the seed corpus of tests/fuzz
 *   prog_trace_gen big FILE N         N events of 8 threads, with frontiers
 *   prog_trace_gen bench N            writes a big trace, reads it back,
 *                                     prints events/s of the reader
 *   prog_trace_gen hostile FILE       every string kind holding quotes,
 *                                     backslashes, control characters and
 *                                     invalid UTF-8 (the export's escaping)
 *   prog_trace_gen racy FILE          a flight window whose snapshot lists
 *                                     queued tasks 5 and 6 that are created
 *                                     just after it (the snapshot reads the
 *                                     queues after taking its timestamp),
 *                                     and task 7 running, created again
 *                                     without an end (lost events)
 *   prog_trace_gen sched FILE N [W]   about N events of a scheduler workload
 *                                     (W workers, default 8: tasks created,
 *                                     started, blocked, ended; regions, logs,
 *                                     user tasks, GCs, heap samples), the
 *                                     viewer's memory test and benchmark;
 *                                     prints what it wrote (one line)
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cdebug/trace_reader.h>

#include "../unit/trace_test_writer.h"

static void sample(tw *w)
{
    tw_header(w, 1000000000, 1000, 1700000000123456789ull, 0);
    tw_string(w, 1, "main");
    tw_string(w, 2, "fetch \"rss\"");
    tw_string(w, 3, "net: read");
    tw_string(w, 4, "parse");
    tw_string(w, 5, "feed.c");
    tw_string(w, 6, "caf\xc3\xa9\n\x01");
    uint64_t pcs[2] = {0x401000, 0x402000};
    tw_stack(w, 1, 2, pcs);
    tw_symbol(w, 0x401000, 1, 5, 42);

    tw_batch_begin(w, 1, 1000);
    tw_ev(w, 1, 1000, 1, (uint64_t)0);                                        /* THREAD_START */
    tw_ev(w, 3, 1500, 1, (uint64_t)0);                                        /* WORKER_ACQUIRE */
    tw_ev(w, 7, 2000, 4, (uint64_t)2, (uint64_t)1, (uint64_t)2, (uint64_t)1); /* TASK_CREATE */
    tw_batch_end(w);
    tw_batch_begin(w, 2, 1200);
    tw_ev(w, 1, 1200, 1, (uint64_t)1);
    tw_ev(w, 3, 1300, 1, (uint64_t)1);
    tw_ev(w, 8, 2500, 1, (uint64_t)2);              /* TASK_START */
    tw_ev(w, 9, 3000, 2, (uint64_t)2, (uint64_t)3); /* TASK_BLOCK */
    tw_batch_end(w);
    tw_frontier(w, 2600);
    tw_batch_begin(w, 1, 2600);
    tw_ev(w, 22, 2600, 3, (uint64_t)1, (uint64_t)0, (uint64_t)4); /* USER_TASK_BEGIN */
    tw_ev(w, 24, 2700, 2, (uint64_t)1, (uint64_t)4);              /* REGION_BEGIN */
    tw_ev(w, 26, 2800, 3, (uint64_t)1, (uint64_t)4, (uint64_t)6); /* LOG */
    tw_ev(w, 25, 4000, 2, (uint64_t)1, (uint64_t)4);              /* REGION_END */
    tw_ev(w, 23, 4100, 1, (uint64_t)1);                           /* USER_TASK_END */
    tw_batch_end(w);
    tw_batch_begin(w, 2, 3500);
    tw_ev(w, 10, 3500, 1, (uint64_t)2);              /* TASK_UNBLOCK */
    tw_ev(w, 27, 3550, 2, (uint64_t)1, (uint64_t)2); /* CPU_SAMPLE */
    tw_ev(w, 11, 3600, 1, (uint64_t)2);              /* TASK_END */
    tw_batch_end(w);
    tw_lost(w, 3, 12, 1);
    tw_batch_begin(w, 3, 5000);
    tw_ev(w, 12, 5000, 2, (uint64_t)1, (uint64_t)1); /* GC_BEGIN forced */
    for (uint8_t t = 13; t <= 20; t++)
        tw_ev(w, t, 5000 + (t - 12) * 100u, 1, (uint64_t)1);
    tw_ev(w, 21, 6000, 2, (uint64_t)1 << 20, (uint64_t)4 << 20); /* HEAP */
    tw_batch_end(w);
    tw_frontier(w, 6000);
    tw_end(w);
}

/* Three tasks in the snapshot; see the usage at the top. The model must
 * count 5 and 6 once each (created, started and ended), and 7 twice: the
 * running one ended unfinished at the second TASK_CREATE, the new one
 * queued at the end. */
static void racy(tw *w)
{
    tw_header(w, 1000000000, 1000, 1700000000000000000ull, 1);
    tw_string(w, 1, "job");
    tw_batch_begin(w, 1, 1000);
    tw_ev(w, 28, 1000, 3, (uint64_t)1, (uint64_t)0, (uint64_t)0); /* STATE_THREAD main */
    tw_ev(w, 28, 1000, 3, (uint64_t)2, (uint64_t)1, (uint64_t)1); /* STATE_THREAD worker 0 */
    tw_ev(w, 29, 1000, 2, (uint64_t)0, (uint64_t)1);              /* STATE_WORKER 0 running */
    for (uint64_t k = 5; k <= 6; k++)                             /* STATE_TASK queued */
        tw_ev(w, 30, 1000, 6, k, (uint64_t)1, (uint64_t)0, (uint64_t)1, (uint64_t)0, (uint64_t)0);
    tw_ev(w, 30, 1000, 6, (uint64_t)7, (uint64_t)2, (uint64_t)0, (uint64_t)1, (uint64_t)0,
          (uint64_t)3); /* STATE_TASK running on thread 2 */
    tw_ev(w, 7, 1100, 4, (uint64_t)5, (uint64_t)0, (uint64_t)1, (uint64_t)0); /* TASK_CREATE */
    tw_ev(w, 7, 1200, 4, (uint64_t)6, (uint64_t)0, (uint64_t)1, (uint64_t)0);
    tw_ev(w, 7, 1300, 4, (uint64_t)7, (uint64_t)0, (uint64_t)1, (uint64_t)0); /* reused id */
    tw_batch_end(w);
    tw_batch_begin(w, 2, 1400);
    for (uint64_t k = 5; k <= 6; k++) {
        tw_ev(w, 8, 1400 + k * 100, 1, k);  /* TASK_START */
        tw_ev(w, 11, 1450 + k * 100, 1, k); /* TASK_END */
    }
    tw_batch_end(w);
    tw_frontier(w, 2000);
    tw_end(w);
}

/* Every event type once, with snapshots first, as a flight window. */
static void all_types(tw *w)
{
    tw_header(w, 1000000000, 0, 1, 1);
    tw_string(w, 1, "a");
    uint64_t pc = 0x1234;
    tw_stack(w, 1, 1, &pc);
    tw_symbol(w, pc, 1, 1, 1);
    tw_batch_begin(w, 1, 0);
    static const uint8_t order[] = {28, 29, 30, 1,  2,  3,  4,  5,  6,  7,  8,  9,  10, 11, 12,
                                    13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27};
    for (size_t i = 0; i < sizeof(order); i++) {
        uint64_t args[CD_TR_MAX_ARGS] = {1, 1, 1, 1, 1, 1};
        tw_eva(w, order[i], i * 3, cd_tr_event_nargs(order[i]), args);
    }
    tw_batch_end(w);
    tw_end(w);
}

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    return tw_rand(&rng);
}

/* n events of `threads` threads in batches of `per_batch`, a FRONTIER after
 * each round of batches: the shape the recorder's writer produces. */
static void big(tw *w, uint64_t n, int threads, int per_batch)
{
    tw_header(w, 1000000000, 0, 0, 0);
    tw_string(w, 1, "worker");
    tw_string(w, 2, "net: read");
    uint64_t pcs[4] = {0x401000, 0x401100, 0x401200, 0x401300};
    tw_stack(w, 1, 4, pcs);
    uint64_t ts = 0, task = 1, written = 0;
    while (written < n) {
        uint64_t round_start = ts;
        for (int t = 0; t < threads && written < n; t++) {
            uint64_t now = round_start + (uint64_t)t;
            tw_batch_begin(w, (uint64_t)t + 1, now);
            for (int i = 0; i < per_batch && written < n; i++, written++) {
                now += 20 + rnd() % 200;
                switch (rnd() % 8) {
                case 0:
                    tw_ev(w, 7, now, 4, task, task / 2, (uint64_t)1, (uint64_t)1);
                    task++;
                    break;
                case 1:
                    tw_ev(w, 9, now, 2, task - rnd() % 64, (uint64_t)2);
                    break;
                case 2:
                    tw_ev(w, 10, now, 1, task - rnd() % 64);
                    break;
                case 3:
                    tw_ev(w, 11, now, 1, task - rnd() % 64);
                    break;
                case 4:
                    tw_ev(w, 5, now, 0);
                    break;
                case 5:
                    tw_ev(w, 6, now, 0);
                    break;
                default:
                    tw_ev(w, 8, now, 1, task - rnd() % 64);
                    break;
                }
            }
            tw_batch_end(w);
            if (now > ts)
                ts = now;
        }
        tw_frontier(w, ts);
    }
    tw_end(w);
}

/* Strings a JSON or HTML writer must escape, in every place a string goes:
 * task names, blocking reasons, regions, user task types, log categories
 * and messages. */
static void hostile(tw *w)
{
    static const char *const strs[] = {
        "",
        "quote \" backslash \\ slash /",
        "ctl \x01\x02\x1f del \x7f tab\t nl\n cr\r",
        "bad utf8 \xff\xfe lone \x80 cut \xc3",
        "overlong \xc0\xaf surrogate \xed\xa0\x80 big \xf4\x90\x80\x80",
        "ok caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80 </script><b>",
        "\xe2\x82",
        "}]},{\"ph\":\"B\"",
    };
    tw_header(w, 1000000000, 0, 0, 0);
    for (uint64_t i = 1; i < sizeof(strs) / sizeof(strs[0]); i++)
        tw_string(w, i, strs[i]);
    tw_batch_begin(w, 1, 0);
    tw_ev(w, 1, 0, 1, (uint64_t)0);
    tw_ev(w, 3, 10, 1, (uint64_t)0);
    uint64_t ts = 100;
    for (uint64_t i = 1; i < sizeof(strs) / sizeof(strs[0]); i++) {
        uint64_t sid = i, other = i % 7 + 1;
        tw_ev(w, 22, ts, 3, i, (uint64_t)0, sid);                  /* USER_TASK_BEGIN */
        tw_ev(w, 7, ts + 10, 4, i, (uint64_t)0, sid, (uint64_t)0); /* TASK_CREATE */
        tw_ev(w, 8, ts + 20, 1, i);                                /* TASK_START */
        tw_ev(w, 24, ts + 30, 2, i, other);                        /* REGION_BEGIN */
        tw_ev(w, 26, ts + 40, 3, i, sid, other);                   /* LOG */
        tw_ev(w, 9, ts + 50, 2, i, sid);                           /* TASK_BLOCK */
        tw_ev(w, 10, ts + 60, 1, i);                               /* TASK_UNBLOCK */
        tw_ev(w, 25, ts + 70, 2, i, other);                        /* REGION_END */
        tw_ev(w, 11, ts + 80, 1, i);                               /* TASK_END */
        tw_ev(w, 23, ts + 90, 1, i);                               /* USER_TASK_END */
        ts += 100;
    }
    tw_batch_end(w);
    tw_lost(w, 2, 5, 1);
    tw_end(w);
}

/* ---- sched: a scheduler workload --------------------------------------- */

/* What sched wrote, counted as it goes: the tests compare the viewer's
 * figures with these (and with dump's). */
typedef struct sched_counts {
    uint64_t created, starts, blocks, unblocks, ends, regions, logs, gcs, heaps, user_tasks;
    uint64_t spins;
} sched_counts;

enum { SCHED_IDLE, SCHED_RUNNING, SCHED_BLOCKED };

/* A worker thread: holds worker `worker` while it is not blocked. */
typedef struct sched_thread {
    uint64_t id, worker, now;
    int state;
    uint64_t task, wake;
    unsigned name;  /* string id of the task's name */
    int steps_left; /* actions until the task returns */
    int depth;      /* open regions */
    unsigned region[2];
} sched_thread;

typedef struct sched_task {
    uint64_t id, created;
    unsigned name;
    bool started;
} sched_task;

#define SCHED_QCAP 64 /* runnable tasks at most: live tasks stay bounded */

typedef struct sched_sim {
    tw *w;
    FILE *f;
    sched_counts c;
    sched_task q[SCHED_QCAP];
    size_t qhead, qlen;
    uint64_t next_task, next_user;
} sched_sim;

/* String ids of the sched trace. */
enum {
    S_TASK0 = 1,    /* 8 task names: 1..8 */
    S_REASON0 = 9,  /* 5 blocking reasons: 9..13 */
    S_REGION0 = 14, /* 4 region names: 14..17 */
    S_APP = 18,
    S_MSG0 = 19, /* 4 log messages: 19..22 */
    S_REQUEST = 23,
    S_HANDLE = 24,
};

static const char *const sched_strings[] = {"",
                                            "fetch",
                                            "parse",
                                            "search",
                                            "render",
                                            "compress",
                                            "index",
                                            "merge",
                                            "io",
                                            "net: read",
                                            "chan receive",
                                            "mutex",
                                            "file: read",
                                            "sleep",
                                            "load",
                                            "decode",
                                            "scan",
                                            "write",
                                            "app",
                                            "request done",
                                            "cache miss",
                                            "retry \"upstream\"",
                                            "slow path\t(>1ms)",
                                            "request",
                                            "handle"};

static uint64_t rnd_in(uint64_t lo, uint64_t hi)
{
    return lo + rnd() % (hi - lo + 1);
}

static void sched_push(sched_sim *s, uint64_t thread_id, uint64_t parent, uint64_t now)
{
    (void)thread_id;
    sched_task *t = &s->q[(s->qhead + s->qlen) % SCHED_QCAP];
    t->id = s->next_task++;
    t->created = now;
    t->name = S_TASK0 + (unsigned)(rnd() % 8);
    t->started = false;
    s->qlen++;
    tw_ev(s->w, 7, now, 4, t->id, parent, (uint64_t)t->name, (uint64_t)1); /* TASK_CREATE */
    s->c.created++;
}

/* One worker thread's events from its clock up to `end`. */
static void sched_run(sched_sim *s, sched_thread *t, uint64_t end)
{
    tw *w = s->w;
    while (t->now < end) {
        if (t->state == SCHED_BLOCKED) {
            if (t->wake >= end) {
                t->now = end;
                break;
            }
            t->now = t->wake;
            tw_ev(w, 3, t->now, 1, t->worker); /* WORKER_ACQUIRE */
            t->now += rnd_in(50, 300);
            tw_ev(w, 10, t->now, 1, t->task); /* TASK_UNBLOCK */
            s->c.unblocks++;
            t->state = SCHED_RUNNING;
            continue;
        }
        if (t->state == SCHED_IDLE) {
            if (s->qlen > 0 && s->q[s->qhead].created <= t->now) {
                sched_task *k = &s->q[s->qhead];
                s->qhead = (s->qhead + 1) % SCHED_QCAP;
                s->qlen--;
                t->now += rnd_in(100, 500);
                tw_ev(w, 8, t->now, 1, k->id); /* TASK_START */
                s->c.starts++;
                t->task = k->id;
                t->name = k->name;
                t->steps_left = (int)rnd_in(2, 24);
                t->depth = 0;
                t->state = SCHED_RUNNING;
            } else {
                tw_ev(w, 5, t->now, 0); /* SPIN_BEGIN */
                t->now += rnd_in(1000, 20000);
                tw_ev(w, 6, t->now, 0); /* SPIN_END */
                s->c.spins++;
                t->now += rnd_in(100, 1000);
            }
            continue;
        }
        /* running: one action */
        t->now += rnd_in(200, 4000);
        if (--t->steps_left <= 0) {
            while (t->depth > 0) {
                tw_ev(w, 25, t->now, 2, (uint64_t)0, (uint64_t)t->region[--t->depth]);
                t->now += rnd_in(20, 100);
            }
            tw_ev(w, 11, t->now, 1, t->task); /* TASK_END */
            s->c.ends++;
            t->state = SCHED_IDLE;
            t->now += rnd_in(100, 400);
            continue;
        }
        unsigned r = (unsigned)(rnd() % 100);
        if (r < 15 && s->qlen < SCHED_QCAP) {
            sched_push(s, t->id, t->task, t->now);
        } else if (r < 25) {
            tw_ev(w, 9, t->now, 2, t->task, (uint64_t)(S_REASON0 + rnd() % 5)); /* TASK_BLOCK */
            s->c.blocks++;
            t->now += rnd_in(50, 200);
            tw_ev(w, 4, t->now, 1, t->worker); /* WORKER_RELEASE */
            t->wake = t->now + rnd_in(2000, 300000);
            t->state = SCHED_BLOCKED;
        } else if (r < 45 && t->depth < 2) {
            unsigned reg = S_REGION0 + (unsigned)(rnd() % 4);
            t->region[t->depth++] = reg;
            tw_ev(w, 24, t->now, 2, (uint64_t)0, (uint64_t)reg); /* REGION_BEGIN */
            s->c.regions++;
        } else if (r < 65 && t->depth > 0) {
            tw_ev(w, 25, t->now, 2, (uint64_t)0, (uint64_t)t->region[--t->depth]);
        } else if (r >= 65 && r < 67) {
            tw_ev(w, 26, t->now, 3, (uint64_t)0, (uint64_t)S_APP,
                  (uint64_t)(S_MSG0 + rnd() % 4)); /* LOG */
            s->c.logs++;
        }
        /* else: computing, no event */
    }
}

/* Writes about n events of `workers` worker threads (ids 1..W, holding
 * workers 0..W-1), a main thread (W+1) that creates root tasks and runs
 * user tasks, and a service thread (W+2) that collects every ~2 ms and
 * samples the heap. Simulated time advances in rounds of 1 ms: each round
 * is one batch per thread, and a FRONTIER follows every 100 rounds (the
 * recorder's default period). The file is written as it is made, so the
 * generator's memory stays small too. Returns 0 or 1. */
static int sched(const char *path, uint64_t n, unsigned workers)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        fprintf(stderr, "prog_trace_gen: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    tw w;
    tw_init(&w);
    sched_sim s = {.w = &w, .f = f, .next_task = 1, .next_user = 1};
    sched_thread *th = calloc(workers, sizeof(*th));
    if (th == NULL)
        abort();
    tw_header(&w, 1000000000, 0, 1700000000000000000ull, 0);
    for (unsigned i = 1; i < sizeof(sched_strings) / sizeof(sched_strings[0]); i++)
        tw_string(&w, i, sched_strings[i]);
    uint64_t pcs[3] = {0x401000, 0x401100, 0x401200};
    tw_stack(&w, 1, 3, pcs);
    uint64_t main_id = workers + 1, svc_id = workers + 2;
    const uint64_t round = 1000000; /* 1 ms */
    uint64_t t0 = 1000, next_gc = 2000000, next_heap = 500000, gc = 0;
    uint64_t in_use = 8 << 20, goal = 16 << 20, user_open = 0, user_end = 0;

    /* thread starts, workers acquired */
    tw_batch_begin(&w, main_id, 0);
    tw_ev(&w, 1, 0, 1, (uint64_t)0);
    tw_batch_end(&w);
    tw_batch_begin(&w, svc_id, 10);
    tw_ev(&w, 1, 10, 1, (uint64_t)2);
    tw_batch_end(&w);
    for (unsigned i = 0; i < workers; i++) {
        th[i].id = i + 1;
        th[i].worker = i;
        th[i].now = 100 + i * 10;
        tw_batch_begin(&w, th[i].id, th[i].now);
        tw_ev(&w, 1, th[i].now, 1, (uint64_t)1);
        tw_ev(&w, 3, th[i].now + 5, 1, (uint64_t)i);
        tw_batch_end(&w);
        th[i].now += 500;
    }
    int rc = 0;
    for (uint64_t r = 0; w.events < n; r++) {
        uint64_t start = t0 + r * round, end = start + round;
        /* main: root tasks while the queue is short, one user task a round */
        tw_batch_begin(&w, main_id, start);
        uint64_t now = start;
        if (user_open != 0 && now >= user_end) {
            tw_ev(&w, 25, now, 2, user_open, (uint64_t)S_HANDLE);
            tw_ev(&w, 23, now + 100, 1, user_open); /* USER_TASK_END */
            user_open = 0;
            now += 200;
        }
        if (user_open == 0) {
            user_open = s.next_user++;
            tw_ev(&w, 22, now, 3, user_open, (uint64_t)0, (uint64_t)S_REQUEST);
            tw_ev(&w, 24, now + 100, 2, user_open, (uint64_t)S_HANDLE);
            tw_ev(&w, 26, now + 200, 3, user_open, (uint64_t)S_APP, (uint64_t)S_MSG0);
            s.c.user_tasks++;
            s.c.regions++;
            s.c.logs++;
            user_end = now + rnd_in(500000, 3000000);
            now += 300;
        }
        for (int k = 0; k < 4 && s.qlen < workers * 2 && s.qlen < SCHED_QCAP; k++) {
            now += rnd_in(500, 20000);
            sched_push(&s, main_id, 0, now);
        }
        tw_batch_end(&w);
        for (unsigned i = 0; i < workers; i++) {
            if (th[i].now < start)
                th[i].now = start;
            tw_batch_begin(&w, th[i].id, th[i].now);
            sched_run(&s, &th[i], end);
            tw_batch_end(&w);
        }
        /* service thread: collections and heap samples */
        tw_batch_begin(&w, svc_id, start);
        while (next_heap < end || next_gc < end) {
            if (next_gc <= next_heap) {
                uint64_t g = ++gc, ts = next_gc > start ? next_gc : start;
                tw_ev(&w, 12, ts, 2, g, (uint64_t)(g % 10 == 0)); /* GC_BEGIN */
                for (uint8_t e = 13; e <= 20; e++) {
                    ts += e == 16 ? rnd_in(20000, 150000) : rnd_in(500, 5000);
                    tw_ev(&w, e, ts, 1, g);
                }
                in_use = in_use / 2 + rnd_in(0, 1 << 20);
                goal = in_use * 2;
                tw_ev(&w, 21, ts + 100, 2, in_use, goal); /* HEAP */
                s.c.gcs++;
                s.c.heaps++;
                next_gc += rnd_in(1500000, 2500000);
                if (next_heap < ts + 200)
                    next_heap = ts + 200;
            } else {
                in_use += rnd_in(100000, 1500000);
                tw_ev(&w, 21, next_heap, 2, in_use, goal);
                s.c.heaps++;
                next_heap += 500000;
            }
        }
        tw_batch_end(&w);
        if ((r + 1) % 100 == 0 || w.events >= n) {
            tw_frontier(&w, end);
            if (fwrite(w.out.p, 1, w.out.len, f) != w.out.len)
                rc = 1;
            w.out.len = 0;
        }
    }
    tw_end(&w);
    if (fwrite(w.out.p, 1, w.out.len, f) != w.out.len)
        rc = 1;
    if (fclose(f) != 0)
        rc = 1;
    if (rc != 0)
        fprintf(stderr, "prog_trace_gen: cannot write %s: %s\n", path, strerror(errno));
    printf("sched events=%zu workers=%u threads=%u tasks_created=%" PRIu64 " task_starts=%" PRIu64
           " task_blocks=%" PRIu64 " task_unblocks=%" PRIu64 " task_ends=%" PRIu64
           " regions=%" PRIu64 " logs=%" PRIu64 " user_tasks=%" PRIu64 " gcs=%" PRIu64
           " heaps=%" PRIu64 " spins=%" PRIu64 "\n",
           w.events, workers, workers + 2, s.c.created, s.c.starts, s.c.blocks, s.c.unblocks,
           s.c.ends, s.c.regions, s.c.logs, s.c.user_tasks, s.c.gcs, s.c.heaps, s.c.spins);
    free(th);
    tw_free(&w);
    return rc;
}

static int save(tw *w, const char *path)
{
    if (tw_save(w, path) != 0) {
        fprintf(stderr, "prog_trace_gen: cannot write %s: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}

static int corpus(const char *dir)
{
    char path[4096];
    tw w;
    int rc = 0;
#define OUT(name)                                                                                  \
    do {                                                                                           \
        snprintf(path, sizeof(path), "%s/%s", dir, name);                                          \
        rc |= save(&w, path);                                                                      \
        tw_free(&w);                                                                               \
    } while (0)

    tw_init(&w);
    sample(&w);
    OUT("sample");
    tw_init(&w);
    all_types(&w);
    OUT("all_types");
    tw_init(&w);
    big(&w, 300, 3, 7);
    OUT("multi_thread");
    tw_init(&w);
    sample(&w);
    w.out.len -= 9; /* cut inside the last records */
    OUT("truncated");
    tw_init(&w);
    sample(&w);
    w.out.p[w.out.len / 2] ^= 0x10;
    OUT("bitflip");
    tw_init(&w);
    tw_header(&w, 1000, 0, 0, 0);
    OUT("header_only");
    tw_init(&w);
    tw_header_ex(&w, "CDTRACE\0", 2, 56, 0, 3000000000ull, 5, 6);
    tw_record(&w, 9, "future", 6);
    tw_lost(&w, 1, 100, 2);
    tw_batch_begin(&w, 1, 10);
    tw_ev(&w, 21, 11, 2, UINT64_MAX, (uint64_t)0);
    tw_batch_end_ex(&w, 0xdeadbeef);
    tw_batch_begin(&w, 1, 12);
    tw_ev(&w, 26, 13, 3, (uint64_t)0, (uint64_t)77, (uint64_t)0);
    tw_batch_end(&w);
    tw_end(&w);
    OUT("odd_records");
    tw_init(&w);
    tw_header(&w, 1000, 0, 0, 0);
    tw_bytes(&w.out, "\x01\xff\xff\xff\xff\x0f", 6);
    OUT("huge_length");
    tw_init(&w);
    tw_header(&w, 1000, 0, 0, 0);
    tw_buf b = {0};
    tw_uv(&b, 1);
    tw_uv(&b, 1u << 30); /* a stack claiming 2^30 frames */
    tw_uv(&b, 5);
    tw_record(&w, 3, b.p, b.len);
    free(b.p);
    tw_end(&w);
    OUT("huge_stack");
#undef OUT
    return rc;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int bench(uint64_t n)
{
    tw w;
    tw_init(&w);
    big(&w, n, 8, 4096);
    char path[] = "/tmp/cdebug-trace-bench-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 1;
    close(fd);
    int rc = save(&w, path);
    size_t bytes = w.out.len;
    tw_free(&w);
    if (rc != 0)
        return rc;
    double best = 0;
    cd_tr_stats st = {0};
    for (int rep = 0; rep < 3; rep++) { /* best of 3: page cache warm */
        double t0 = now_s();
        cd_trace_reader *r;
        if (cd_trace_reader_open(&r, path, NULL) != 0)
            return 1;
        cd_tr_event ev;
        uint64_t k = 0, sum = 0;
        while ((rc = cd_trace_reader_next(r, &ev)) == 1) {
            k++;
            sum += ev.ts;
        }
        double dt = now_s() - t0;
        cd_trace_reader_stats(r, &st);
        cd_trace_reader_close(r);
        if (rc != 0 || k != n) {
            fprintf(stderr, "bench: rc %d, %" PRIu64 " of %" PRIu64 " events\n", rc, k, n);
            return 1;
        }
        if (best == 0 || dt < best)
            best = dt;
        (void)sum;
    }
    unlink(path);
    printf("reader: %" PRIu64 " events, %.1f MB (%.2f bytes/event) in %.3f s: %.1f M events/s, "
           "%.0f MB/s, peak held %.1f MB\n",
           n, (double)bytes / 1e6, (double)bytes / (double)n, best, (double)n / best / 1e6,
           (double)bytes / best / 1e6, (double)st.peak_held_bytes / 1e6);
    return 0;
}

int main(int argc, char **argv)
{
    tw w;
    tw_init(&w);
    int rc = 2;
    if (argc == 3 && strcmp(argv[1], "sample") == 0) {
        sample(&w);
        rc = save(&w, argv[2]);
    } else if (argc == 3 && strcmp(argv[1], "truncated") == 0) {
        sample(&w);
        w.out.len -= 20;
        rc = save(&w, argv[2]);
    } else if (argc == 3 && strcmp(argv[1], "corrupt") == 0) {
        sample(&w);
        /* a byte inside the payload of the third-to-last EVENTS record */
        size_t k = 0;
        for (size_t i = w.nrecs; i-- > 0;)
            if (w.recs[i].kind == 1 && ++k == 3) {
                w.out.p[w.recs[i].end - 6] ^= 0x40;
                break;
            }
        rc = save(&w, argv[2]);
    } else if (argc == 3 && strcmp(argv[1], "racy") == 0) {
        racy(&w);
        rc = save(&w, argv[2]);
    } else if (argc == 3 && strcmp(argv[1], "hostile") == 0) {
        hostile(&w);
        rc = save(&w, argv[2]);
    } else if (argc == 3 && strcmp(argv[1], "corpus") == 0) {
        rc = corpus(argv[2]);
    } else if (argc == 4 && strcmp(argv[1], "big") == 0) {
        big(&w, strtoull(argv[3], NULL, 10), 8, 4096);
        rc = save(&w, argv[2]);
    } else if (argc == 3 && strcmp(argv[1], "bench") == 0) {
        rc = bench(strtoull(argv[2], NULL, 10));
    } else if ((argc == 4 || argc == 5) && strcmp(argv[1], "sched") == 0) {
        unsigned long workers = argc == 5 ? strtoul(argv[4], NULL, 10) : 8;
        if (workers < 1 || workers > 256) {
            fprintf(stderr, "prog_trace_gen: sched: 1 to 256 workers\n");
        } else {
            rc = sched(argv[2], strtoull(argv[3], NULL, 10), (unsigned)workers);
        }
    } else {
        fprintf(stderr, "usage: prog_trace_gen "
                        "sample|truncated|corrupt|corpus|big|bench|hostile|racy|sched ...\n");
    }
    tw_free(&w);
    return rc;
}

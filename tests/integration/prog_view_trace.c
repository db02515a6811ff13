/* tests/integration/prog_view_trace.c - traces for test_trace_view.sh,
 * written with the test encoder (tests/unit/trace_test_writer.h), so the
 * viewer's answers can be checked against a structure known in advance.
 *
 *   prog_view_trace sample FILE    100 ms, 3 workers, known spans (below)
 *   prog_view_trace big FILE N     about N events of 8 busy workers
 *
 * sample (1 tick = 1 ns, the last event at exactly 100 ms):
 *   thread 1 (main)    worker 0: tasks "parse" 10..14, each 10 ms from
 *                      2 ms + 15 ms * j, with a region "decode" (+2..+6 ms)
 *   thread 2 (worker)  worker 1: tasks "compute" 20..24, same times; then
 *                      100 tasks "tiny" 100..199 of 2 us every 5 us from
 *                      80 ms (narrower than a pixel of the whole trace)
 *   thread 4 (worker)  worker 2: tasks "io" 30..34, same times, each
 *                      blocked on "net: read" from +3 ms to +7 ms
 *   thread 3 (service) GC 1 from 84.8 ms to 88 ms (pause 85..86.8 ms)
 *   user task 1 "request" from 1 ms to 80 ms (on thread 1)
 *   HEAP every ms from 0 to 100 ms (rising; lower after the collection).
 * So at 1000 px over [0, 100 ms) (100 us per px) the viewer draws 52 spans
 * (thread 1: 5 tasks + 5 regions; worker 0: 5; thread 2: 5; worker 1: 5;
 * thread 4: 5 tasks + 5 blocked; worker 2: 10 stretches; GC: 6; user: 1)
 * and 2 busy blocks of 100 tiny spans each (thread 2 and worker 1).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../unit/trace_test_writer.h"

enum {
    S_PARSE = 1,
    S_COMPUTE,
    S_TINY,
    S_IO,
    S_NET,
    S_REQUEST,
    S_DECODE,
    S_HANDLER,
    S_ENCODE,
    S_DB,
    S_CHAN,
    S_STEP
};

typedef struct ev {
    uint64_t ts, seq;
    uint8_t type;
    int n;
    uint64_t a[4];
} ev;

/* Events of one thread for the current batch, sorted by time when written. */
typedef struct evq {
    ev *v;
    size_t n, cap;
    uint64_t seq;
} evq;

#define MAX_THREADS 16
static evq q[MAX_THREADS + 1];

static void add(uint64_t thread, uint64_t ts, uint8_t type, int n, uint64_t a0, uint64_t a1,
                uint64_t a2, uint64_t a3)
{
    evq *e = &q[thread];
    if (e->n == e->cap) {
        e->cap = e->cap ? e->cap * 2 : 1024;
        e->v = realloc(e->v, e->cap * sizeof(*e->v));
        if (e->v == NULL)
            abort();
    }
    e->v[e->n++] = (ev){.ts = ts, .seq = e->seq++, .type = type, .n = n, .a = {a0, a1, a2, a3}};
}

static int cmp_ev(const void *a, const void *b)
{
    const ev *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Writes every thread's queued events as one batch each, then a FRONTIER
 * at `upto` (no later batch holds an event before it). Returns the count. */
static uint64_t flush(tw *w, uint64_t upto)
{
    uint64_t total = 0;
    for (uint64_t t = 1; t <= MAX_THREADS; t++) {
        evq *e = &q[t];
        if (e->n == 0)
            continue;
        qsort(e->v, e->n, sizeof(*e->v), cmp_ev);
        tw_batch_begin(w, t, e->v[0].ts);
        for (size_t i = 0; i < e->n; i++)
            tw_eva(w, e->v[i].type, e->v[i].ts, e->n > 0 ? e->v[i].n : 0, e->v[i].a);
        tw_batch_end(w);
        total += e->n;
        e->n = 0;
    }
    tw_frontier(w, upto);
    return total;
}

#define MS 1000000ull
#define US 1000ull

/* One task on `thread`, created by `creator` 500 us before it starts. */
static void task(uint64_t creator, uint64_t thread, uint64_t id, uint64_t name, uint64_t start,
                 uint64_t dur)
{
    uint64_t created = start > 500 * US ? start - 500 * US : 0;
    add(creator, created, 7, 4, id, 1, name, 0);  /* TASK_CREATE */
    add(thread, start, 8, 1, id, 0, 0, 0);        /* TASK_START */
    add(thread, start + dur, 11, 1, id, 0, 0, 0); /* TASK_END */
}

static void sample(tw *w)
{
    tw_header(w, 1000000000, 0, 1700000000000000000ull, 0);
    static const char *const strs[] = {NULL,        "parse",      "compute", "tiny",    "io",
                                       "net: read", "request",    "decode",  "handler", "encode",
                                       "db",        "chan: recv", "step"};
    for (uint64_t i = 1; i <= S_STEP; i++)
        tw_string(w, i, strs[i]);

    add(1, 0, 1, 1, 0, 0, 0, 0); /* THREAD_START main */
    add(2, 0, 1, 1, 1, 0, 0, 0); /* worker */
    add(3, 0, 1, 1, 2, 0, 0, 0); /* service */
    add(4, 0, 1, 1, 1, 0, 0, 0); /* worker */
    add(1, 0, 3, 1, 0, 0, 0, 0); /* WORKER_ACQUIRE */
    add(2, 0, 3, 1, 1, 0, 0, 0);
    add(4, 0, 3, 1, 2, 0, 0, 0);
    add(1, 1 * MS, 22, 3, 1, 0, S_REQUEST, 0); /* USER_TASK_BEGIN */
    add(1, 80 * MS, 23, 1, 1, 0, 0, 0);        /* USER_TASK_END */
    for (uint64_t j = 0; j < 5; j++) {
        uint64_t s = 2 * MS + j * 15 * MS;
        task(1, 1, 10 + j, S_PARSE, s, 10 * MS);
        add(1, s + 2 * MS, 24, 2, 1, S_DECODE, 0, 0); /* REGION_BEGIN */
        add(1, s + 6 * MS, 25, 2, 1, S_DECODE, 0, 0); /* REGION_END */
        task(1, 2, 20 + j, S_COMPUTE, s, 10 * MS);
        task(1, 4, 30 + j, S_IO, s, 10 * MS);
        add(4, s + 3 * MS, 9, 2, 30 + j, S_NET, 0, 0); /* TASK_BLOCK */
        add(4, s + 7 * MS, 10, 1, 30 + j, 0, 0, 0);    /* TASK_UNBLOCK */
    }
    for (uint64_t k = 0; k < 100; k++)
        task(1, 2, 100 + k, S_TINY, 80 * MS + k * 5 * US, 2 * US);
    /* GC 1 on the service thread */
    uint64_t g = 85 * MS;
    add(3, g - 200 * US, 12, 2, 1, 0, 0, 0); /* GC_BEGIN */
    add(3, g, 13, 1, 1, 0, 0, 0);            /* STW_BEGIN */
    add(3, g + 300 * US, 14, 1, 1, 0, 0, 0); /* STW_END */
    add(3, g + 300 * US, 15, 1, 1, 0, 0, 0); /* MARK_BEGIN */
    add(3, g + 1500 * US, 16, 1, 1, 0, 0, 0);
    add(3, g + 1500 * US, 17, 1, 1, 0, 0, 0); /* RESTART */
    add(3, g + 1800 * US, 18, 1, 1, 0, 0, 0); /* RECLAIM_BEGIN */
    add(3, g + 3000 * US, 19, 1, 1, 0, 0, 0);
    add(3, g + 3000 * US, 20, 1, 1, 0, 0, 0); /* GC_END */
    add(3, g + 3100 * US, 21, 2, 3u << 20, 8u << 20, 0, 0);
    for (uint64_t m = 0; m <= 100; m++) /* HEAP: grows 64 KiB a ms, less after GC */
        add(3, m * MS, 21, 2, (m < 88 ? 4u << 20 : 3u << 20) + (m % 88) * (64u << 10), 8u << 20, 0,
            0);
    flush(w, 100 * MS);
    tw_end(w);
}

static uint64_t rng = 0x2545f4914f6cdd1dull;
static uint64_t rnd(uint64_t n)
{
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (rng * 2685821657736338717ull) % n;
}

/* About n events: 8 worker threads run tasks back to back (1-40 us each,
 * one in four blocks), a user task and region now and then, a collection
 * every 20 ms on the service thread, a HEAP sample every ms. One batch per
 * thread and a FRONTIER per ms, as the recorder writes. */
static void big(tw *w, uint64_t n)
{
    tw_header(w, 1000000000, 0, 1700000000000000000ull, 0);
    static const char *const strs[] = {NULL,        "parse",      "compute", "tiny",    "io",
                                       "net: read", "request",    "decode",  "handler", "encode",
                                       "db",        "chan: recv", "step"};
    for (uint64_t i = 1; i <= S_STEP; i++)
        tw_string(w, i, strs[i]);
    const uint64_t workers = 8, service = 9;
    for (uint64_t t = 1; t <= workers; t++) {
        add(t, 0, 1, 1, t == 1 ? 0 : 1, 0, 0, 0);
        add(t, 0, 3, 1, t - 1, 0, 0, 0);
    }
    add(service, 0, 1, 1, 2, 0, 0, 0);
    uint64_t written = 0, id = 1, user = 1, gc = 1;
    uint64_t next[MAX_THREADS + 1];
    for (uint64_t t = 1; t <= workers; t++)
        next[t] = 1 * US;
    static const uint64_t names[] = {S_HANDLER, S_PARSE, S_ENCODE, S_DB, S_COMPUTE};
    for (uint64_t ms = 0; written < n; ms++) {
        uint64_t end = (ms + 1) * MS;
        for (uint64_t t = 1; t <= workers; t++) {
            while (next[t] + 60 * US < end) {
                uint64_t s = next[t], d = 1 * US + rnd(40 * US), k = id++;
                uint64_t name = names[rnd(5)];
                add(t, s, 7, 4, k, 0, name, 0);
                add(t, s + 200, 8, 1, k, 0, 0, 0);
                if (rnd(4) == 0) {
                    add(t, s + 200 + d / 3, 9, 2, k, rnd(2) ? S_NET : S_CHAN, 0, 0);
                    add(t, s + 200 + d / 3 + 2 * US, 10, 1, k, 0, 0, 0);
                    d += 2 * US;
                }
                if (rnd(16) == 0) {
                    add(t, s + 300, 22, 3, user, 0, S_REQUEST, 0);
                    add(t, s + 400, 24, 2, user, S_STEP, 0, 0);
                    add(t, s + 200 + d - 100, 25, 2, user, S_STEP, 0, 0);
                    add(t, s + 200 + d - 50, 23, 1, user, 0, 0, 0);
                    user++;
                }
                add(t, s + 200 + d, 11, 1, k, 0, 0, 0);
                next[t] = s + 400 + d + rnd(5 * US);
            }
        }
        add(service, ms * MS + 500 * US, 21, 2, (16u << 20) + rnd(8u << 20), 32u << 20, 0, 0);
        if (ms % 20 == 10) {
            uint64_t g = ms * MS + 100 * US;
            add(service, g, 12, 2, gc, 0, 0, 0);
            add(service, g + 10 * US, 13, 1, gc, 0, 0, 0);
            add(service, g + 60 * US, 14, 1, gc, 0, 0, 0);
            add(service, g + 60 * US, 15, 1, gc, 0, 0, 0);
            add(service, g + 160 * US, 16, 1, gc, 0, 0, 0);
            add(service, g + 170 * US, 18, 1, gc, 0, 0, 0);
            add(service, g + 300 * US, 19, 1, gc, 0, 0, 0);
            add(service, g + 300 * US, 20, 1, gc, 0, 0, 0);
            gc++;
        }
        written += flush(w, end);
    }
    tw_end(w);
}

int main(int argc, char **argv)
{
    tw w;
    tw_init(&w);
    if (argc == 3 && strcmp(argv[1], "sample") == 0) {
        sample(&w);
    } else if (argc == 4 && strcmp(argv[1], "big") == 0) {
        big(&w, strtoull(argv[3], NULL, 10));
    } else {
        fprintf(stderr, "usage: prog_view_trace sample FILE | big FILE N\n");
        return 2;
    }
    int rc = tw_save(&w, argv[2]);
    if (rc != 0)
        fprintf(stderr, "prog_view_trace: cannot write %s\n", argv[2]);
    else
        fprintf(stderr, "prog_view_trace: %zu events, %zu bytes\n", w.events, w.out.len);
    tw_free(&w);
    for (int t = 0; t <= MAX_THREADS; t++)
        free(q[t].v);
    return rc == 0 ? 0 : 1;
}

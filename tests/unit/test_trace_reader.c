/* tests/unit/test_trace_reader.c - the trace reader (trace/reader*.c)
 * against files made by an independent test encoder (trace_test_writer.h):
 * every event type and record kind, the multi-thread merge with frontiers,
 * LOST records, bounded memory, truncation at every byte, bit flips, hostile
 * lengths and ids, bad headers, fd and pipe input; the records' CRC
 * against zlib's.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cdebug/trace_reader.h"
#include "base/crc.h"
#include "base/trace_events.h"
#include "trace_test_writer.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- helpers ------------------------------------------------------------ */

/* The outcome of reading a whole input. */
typedef struct run {
    cd_trace_reader *r; /* open until run_free (event strings point into it) */
    int open_rc;
    int rc;    /* what next() returned last (<= 0) */
    int after; /* what the call after that returned */
    cd_tr_event *ev;
    size_t n, cap;
    cd_tr_stats st;
    char err[512];
} run;

/* Appends ev to x's events. */
static void run_push(run *x, const cd_tr_event *ev)
{
    if (x->n == x->cap) {
        x->cap = x->cap ? x->cap * 2 : 64;
        x->ev = realloc(x->ev, x->cap * sizeof(*x->ev));
        assert_non_null(x->ev);
    }
    x->ev[x->n++] = *ev;
}

static void run_events(run *x)
{
    cd_tr_event ev;
    int rc;
    while ((rc = cd_trace_reader_next(x->r, &ev)) == 1)
        run_push(x, &ev);
    x->rc = rc;
    snprintf(x->err, sizeof(x->err), "%s", cd_trace_reader_error(x->r));
    x->after = cd_trace_reader_next(x->r, &ev);
    cd_trace_reader_stats(x->r, &x->st);
}

static void run_mem(run *x, const void *p, size_t len, const cd_tr_opts *o)
{
    memset(x, 0, sizeof(*x));
    x->open_rc = cd_trace_reader_open_mem(&x->r, p, len, o);
    if (x->open_rc == 0)
        run_events(x);
    else
        assert_null(x->r);
}

/* The same bytes through the fd path (a memfd: a real read(2) loop). */
static void run_fd(run *x, const void *p, size_t len, const cd_tr_opts *o)
{
    memset(x, 0, sizeof(*x));
    int fd = memfd_create("trace", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, p, len), (ssize_t)len);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    x->open_rc = cd_trace_reader_open_fd(&x->r, fd, o);
    if (x->open_rc == 0)
        run_events(x);
    close(fd); /* the reader does not own it; it only read(2)s */
}

static void run_free(run *x)
{
    cd_trace_reader_close(x->r);
    free(x->ev);
    memset(x, 0, sizeof(*x));
}

/* Tiny deterministic PRNG (xorshift64*), so failures reproduce. */
static uint64_t rng_state = 88172645463325252ull;
static uint64_t rnd(void)
{
    return tw_rand(&rng_state);
}

/* ---- header ------------------------------------------------------------- */

static void test_header_fields(void **state)
{
    (void)state;
    tw w;
    tw_init(&w);
    tw_header_ex(&w, "CDTRACE\0", 2, 48, 1, 2500000000ull, 777, 1700000000123456789ull);
    tw_end(&w);
    run x;
    run_mem(&x, w.out.p, w.out.len, NULL);
    assert_int_equal(x.open_rc, 0);
    const cd_tr_header *h = cd_trace_reader_header(x.r);
    assert_int_equal(h->version, 2);
    assert_int_equal(h->header_size, 48);
    assert_int_equal(h->flags, CD_TR_FLAG_FLIGHT);
    assert_int_equal(h->tick_hz, 2500000000ull);
    assert_int_equal(h->start_ticks, 777);
    assert_int_equal(h->start_wall_ns, 1700000000123456789ull);
    assert_int_equal(x.rc, 0);
    assert_int_equal(x.after, 0);
    assert_int_equal(x.n, 0);
    assert_true(x.st.ended);
    assert_false(x.st.truncated);
    assert_int_equal(x.st.records, 1);
    assert_int_equal(x.st.bytes, w.out.len);
    run_free(&x);
    tw_free(&w);
}

static void test_bad_headers(void **state)
{
    (void)state;
    run x;
    cd_trace_reader *r = (cd_trace_reader *)&x;

    /* empty input, a cut magic, a cut header */
    assert_int_equal(cd_trace_reader_open_mem(&r, "", 0, NULL), -ENODATA);
    assert_null(r);
    assert_int_equal(cd_trace_reader_open_mem(&r, "CDTR", 4, NULL), -ENODATA);
    tw w;
    tw_init(&w);
    tw_header(&w, 1000000000, 0, 0, 0);
    for (size_t n = 1; n < 40; n++)
        assert_int_equal(cd_trace_reader_open_mem(&r, w.out.p, n, NULL), -ENODATA);
    tw_free(&w);

    /* not a trace */
    assert_int_equal(cd_trace_reader_open_mem(&r, "GARBAGE!", 8, NULL), -EBADMSG);
    assert_int_equal(cd_trace_reader_open_mem(&r, "#!/bin/sh\necho hi\n", 18, NULL), -EBADMSG);
    assert_int_equal(cd_trace_reader_open_mem(&r, "C", 1, NULL), -ENODATA); /* a prefix */
    assert_int_equal(cd_trace_reader_open_mem(&r, "X", 1, NULL), -EBADMSG);

    struct {
        const char *magic;
        uint16_t version, size;
        uint64_t hz;
        int want;
    } cases[] = {
        {"CDTRACE\0", 1, 40, 1000, -EPROTONOSUPPORT}, /* version 1: task ids in full */
        {"CDTRACE\0", 4, 40, 1000, -EPROTONOSUPPORT}, /* newer than this reader */
        {"CDTRACE\0", 0, 40, 1000, -EPROTONOSUPPORT},
        {"CDTRACE\0", 0xffff, 40, 1000, -EPROTONOSUPPORT},
        {"CDTRACE\0", 2, 39, 1000, -EBADMSG},
        {"CDTRACE\0", 2, 0, 1000, -EBADMSG},
        {"CDTRACE\0", 2, 40, 0, -EBADMSG},
        {"CDTRACE\1", 2, 40, 1000, -EBADMSG},
        {"cdtrace\0", 2, 40, 1000, -EBADMSG},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        tw_init(&w);
        tw_header_ex(&w, cases[i].magic, cases[i].version, cases[i].size, 0, cases[i].hz, 0, 0);
        tw_end(&w);
        assert_int_equal(cd_trace_reader_open_mem(&r, w.out.p, w.out.len, NULL), cases[i].want);
        assert_null(r);
        tw_free(&w);
    }

    /* a longer header whose extra bytes are missing */
    tw_init(&w);
    tw_header_ex(&w, "CDTRACE\0", 2, 1000, 0, 1000, 0, 0);
    assert_int_equal(cd_trace_reader_open_mem(&r, w.out.p, 500, NULL), -ENODATA);
    assert_int_equal(cd_trace_reader_open_mem(&r, w.out.p, w.out.len, NULL), 0);
    cd_trace_reader_close(r);
    tw_free(&w);

    /* arguments and files */
    assert_int_equal(cd_trace_reader_open(NULL, "x", NULL), -EINVAL);
    assert_int_equal(cd_trace_reader_open(&r, NULL, NULL), -EINVAL);
    assert_int_equal(cd_trace_reader_open_mem(&r, NULL, 5, NULL), -EINVAL);
    assert_int_equal(cd_trace_reader_open_fd(&r, -1, NULL), -EBADF);
    assert_int_equal(cd_trace_reader_open(&r, "/nonexistent/trace.out", NULL), -ENOENT);
    assert_int_equal(cd_trace_reader_open(&r, "/", NULL), -EISDIR);
    assert_null(r);
    cd_trace_reader_close(NULL);
}

static void test_header_only(void **state)
{
    (void)state;
    tw w;
    tw_init(&w);
    tw_header(&w, 1000000000, 5, 6, 0);
    run x;
    run_mem(&x, w.out.p, w.out.len, NULL);
    assert_int_equal(x.open_rc, 0);
    assert_int_equal(x.rc, -ENODATA); /* no END: a truncated trace */
    assert_int_equal(x.after, 0);     /* told once */
    assert_true(x.st.truncated);
    assert_false(x.st.ended);
    assert_int_equal(x.n, 0);
    assert_non_null(strstr(x.err, "no END"));
    run_free(&x);
    tw_free(&w);
}

/* ---- every event type --------------------------------------------------- */

/* The reader's table must agree with the recorder's (base/trace_events.h). */
static void test_event_table(void **state)
{
    (void)state;
    for (unsigned t = 1; t <= CD__EV_MAX; t++) {
        assert_int_equal(cd_tr_event_nargs(t), cd__trace_nargs[t]);
        assert_non_null(cd_tr_event_name(t));
        for (unsigned u = 1; u < t; u++)
            assert_string_not_equal(cd_tr_event_name(t), cd_tr_event_name(u));
        for (int i = 0; i < cd_tr_event_nargs(t); i++) {
            assert_non_null(cd_tr_event_arg_name(t, (unsigned)i));
            assert_int_not_equal(cd_tr_event_arg_kind(t, (unsigned)i), CD_TR_ARG_NONE);
        }
        assert_null(cd_tr_event_arg_name(t, (unsigned)cd_tr_event_nargs(t)));
        assert_int_equal(cd_tr_event_arg_kind(t, 6), CD_TR_ARG_NONE);
    }
    assert_int_equal(CD_TR_MAX_FILE_TYPE, CD__EV_MAX);
    assert_int_equal(CD_TR_MAX_ARGS, CD__TRACE_MAX_ARGS);
    assert_null(cd_tr_event_name(0));
    assert_null(cd_tr_event_name(31));
    assert_int_equal(cd_tr_event_nargs(0), -EINVAL);
    assert_string_equal(cd_tr_event_name(CD_TR_LOST), "LOST");
    assert_string_equal(cd_tr_event_name(CD_TR_TASK_CREATE), "TASK_CREATE");
    assert_string_equal(cd_tr_event_arg_name(CD_TR_TASK_CREATE, 2), "name");
    assert_int_equal(cd_tr_event_arg_kind(CD_TR_TASK_CREATE, 2), CD_TR_ARG_STRING);
    assert_int_equal(cd_tr_event_arg_kind(CD_TR_TASK_CREATE, 3), CD_TR_ARG_STACK);
    assert_int_equal(cd_tr_event_arg_kind(CD_TR_CPU_SAMPLE, 0), CD_TR_ARG_STACK);
}

/* Argument j of the event of type t in the round trip: a defined string or
 * stack id for those kinds, else a value that needs a long varint. */
static uint64_t arg_value(unsigned t, unsigned j)
{
    switch (cd_tr_event_arg_kind(t, j)) {
    case CD_TR_ARG_STRING:
        return 1 + (t + j) % 4; /* strings 1..4 */
    case CD_TR_ARG_STACK:
        return 1;
    default:
        return ((uint64_t)t << 40) + j * 1000003ull + (t == 21 ? UINT64_MAX - 100 : 0);
    }
}

static const char *const strs[] = {NULL, "main", "sched: idle", "caf\xc3\xa9 \"q\"", "x\ny"};

static void test_roundtrip_all_types(void **state)
{
    (void)state;
    tw w;
    tw_init(&w);
    /* The current version: every type with its current arguments. */
    tw_header_ex(&w, "CDTRACE\0", 3, 40, 0, 1000000000, 1000, 42);
    for (unsigned i = 1; i < NELEM(strs); i++)
        tw_string(&w, i, strs[i]);
    uint64_t pcs[3] = {0x401000, 0x402000, UINT64_MAX};
    tw_stack(&w, 1, 3, pcs);
    tw_string(&w, 9, "worker.c");
    tw_symbol(&w, 0x401000, 1, 9, 42);
    tw_symbol(&w, 0x402000, 2, 77 /* never defined */, 7);
    tw_batch_begin_task(&w, 5, 1000, 4000); /* task ids as deltas from 4000 */
    for (unsigned t = 1; t <= CD_TR_MAX_FILE_TYPE; t++) {
        uint64_t args[CD_TR_MAX_ARGS];
        for (unsigned j = 0; j < (unsigned)cd_tr_event_nargs(t); j++)
            args[j] = arg_value(t, j);
        tw_eva(&w, (uint8_t)t, 1000 + t * 10, cd_tr_event_nargs(t), args);
    }
    tw_batch_end(&w);
    tw_end(&w);

    for (int path = 0; path < 2; path++) {
        run x;
        (path ? run_fd : run_mem)(&x, w.out.p, w.out.len, NULL);
        assert_int_equal(x.open_rc, 0);
        assert_int_equal(x.rc, 0);
        assert_int_equal(x.n, CD_TR_MAX_FILE_TYPE);
        for (unsigned t = 1; t <= CD_TR_MAX_FILE_TYPE; t++) {
            const cd_tr_event *e = &x.ev[t - 1];
            assert_int_equal(e->type, t);
            assert_int_equal(e->ts, 1000 + t * 10);
            assert_int_equal(e->thread, 5);
            assert_int_equal(e->nargs, cd_tr_event_nargs(t));
            for (unsigned j = 0; j < CD_TR_MAX_ARGS; j++) {
                if (j >= e->nargs) {
                    assert_int_equal(e->args[j], 0);
                    assert_null(e->str[j]);
                    continue;
                }
                assert_int_equal(e->args[j], arg_value(t, j));
                if (cd_tr_event_arg_kind(t, j) == CD_TR_ARG_STRING) {
                    const char *want = strs[e->args[j]];
                    assert_int_equal(e->str_len[j], strlen(want));
                    assert_memory_equal(e->str[j], want, strlen(want) + 1);
                } else {
                    assert_null(e->str[j]);
                }
            }
        }
        assert_int_equal(cd_trace_reader_ns(x.r, x.ev[0].ts), 10);
        const uint64_t *got;
        size_t n;
        assert_int_equal(cd_trace_reader_stack(x.r, 1, &got, &n), 0);
        assert_int_equal(n, 3);
        assert_memory_equal(got, pcs, sizeof(pcs));
        assert_int_equal(cd_trace_reader_stack(x.r, 0, &got, &n), 0);
        assert_int_equal(n, 0);
        assert_int_equal(cd_trace_reader_stack(x.r, 2, &got, &n), -ENOENT);
        const char *func, *file;
        uint64_t line;
        assert_int_equal(cd_trace_reader_symbol(x.r, 0x401000, &func, &file, &line), 0);
        assert_string_equal(func, "main");
        assert_string_equal(file, "worker.c");
        assert_int_equal(line, 42);
        assert_int_equal(cd_trace_reader_symbol(x.r, 0x402000, &func, &file, NULL), 0);
        assert_string_equal(file, "?");
        assert_int_equal(cd_trace_reader_symbol(x.r, UINT64_MAX, &func, &file, &line), -ENOENT);
        size_t len;
        assert_string_equal(cd_trace_reader_string(x.r, 0, &len), "");
        assert_int_equal(len, 0);
        assert_string_equal(cd_trace_reader_string(x.r, 2, &len), "sched: idle");
        assert_int_equal(len, 11);
        assert_null(cd_trace_reader_string(x.r, 5, NULL));
        assert_int_equal(x.st.strings, 5);
        assert_int_equal(x.st.stacks, 1);
        assert_int_equal(x.st.symbols, 2);
        assert_int_equal(x.st.bad_refs, 0);
        assert_int_equal(x.st.out_of_order, 0);
        assert_int_equal(x.st.events, CD_TR_MAX_FILE_TYPE);
        assert_true(x.st.table_bytes > 0);
        assert_int_equal(x.st.held_bytes, 0);
        run_free(&x);
    }
    tw_free(&w);
}

/* ---- record kinds ------------------------------------------------------- */

static void test_record_kinds(void **state)
{
    (void)state;
    tw w;
    tw_init(&w);
    tw_header(&w, 1000, 0, 0, 0);
    tw_record(&w, 0, "abc", 3); /* unknown kinds: skipped */
    tw_record(&w, 8, NULL, 0);  /* (the next versions' kinds) */
    tw_record(&w, 200, "zz", 2);
    tw_frontier(&w, 50);
    tw_batch_begin(&w, 1, 10);
    tw_ev(&w, CD_TR_TASK_START, 20, 1, (uint64_t)3);
    tw_batch_end(&w);
    tw_record(&w, 5, "\x64\x01\x02", 3); /* FRONTIER 100 with extra bytes: ignored */
    tw_frontier(&w, 60);                 /* a frontier never moves back */
    tw_batch_begin(&w, 1, 70);
    tw_ev(&w, CD_TR_TASK_END, 70, 1, (uint64_t)3);
    tw_batch_end(&w);
    tw_batch_begin(&w, 2, 80); /* an empty batch */
    tw_batch_end(&w);
    tw_end(&w);
    tw_batch_begin(&w, 1, 90); /* after END: ignored */
    tw_ev(&w, CD_TR_TASK_END, 90, 1, (uint64_t)4);
    tw_batch_end(&w);
    tw_record(&w, 1, "\xff", 1); /* even garbage */

    run x;
    run_mem(&x, w.out.p, w.out.len, NULL);
    assert_int_equal(x.rc, 0);
    assert_int_equal(x.n, 2);
    assert_int_equal(x.ev[0].type, CD_TR_TASK_START);
    assert_int_equal(x.ev[1].type, CD_TR_TASK_END);
    assert_int_equal(x.ev[1].ts, 70);
    assert_int_equal(x.st.skipped, 3);
    assert_int_equal(x.st.frontiers, 3);
    assert_int_equal(x.st.records, 10);
    assert_true(x.st.ended);
    run_free(&x);
    tw_free(&w);
}

/* ---- the merge ---------------------------------------------------------- */

typedef struct gen_ev {
    uint64_t ts, thread, seq;
} gen_ev;

static int cmp_gen(const void *a, const void *b)
{
    const gen_ev *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    if (x->thread != y->thread)
        return x->thread < y->thread ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Writes nthreads threads' events (each in time order, cut into random
 * batches) the way the writer may: batches of different threads in any
 * order, FRONTIERs only when they are true. Returns the expected order. */
static gen_ev *gen_threads(tw *w, int nthreads, int per_thread, bool frontiers)
{
    gen_ev *all = calloc((size_t)nthreads * per_thread, sizeof(*all));
    int *next = calloc((size_t)nthreads, sizeof(int));
    uint64_t *ts = calloc((size_t)nthreads, sizeof(uint64_t));
    assert_non_null(all);
    tw_header(w, 1000000000, 0, 0, 0);
    int left = nthreads;
    size_t k = 0;
    while (left > 0) {
        int t = (int)(rnd() % (uint64_t)nthreads);
        if (next[t] == per_thread)
            continue;
        int n = 1 + (int)(rnd() % 20);
        if (n > per_thread - next[t])
            n = per_thread - next[t];
        tw_batch_begin(w, (uint64_t)t + 1, ts[t]);
        for (int i = 0; i < n; i++) {
            ts[t] += rnd() % 3; /* equal timestamps across threads happen */
            tw_ev(w, CD_TR_TASK_START, ts[t], 1, (uint64_t)next[t]);
            all[k++] = (gen_ev){ts[t], (uint64_t)t + 1, (uint64_t)next[t]};
            next[t]++;
        }
        tw_batch_end(w);
        if (next[t] == per_thread)
            left--;
        if (frontiers && rnd() % 4 == 0) {
            /* every unwritten event is after each thread's last ts */
            uint64_t f = UINT64_MAX;
            for (int u = 0; u < nthreads; u++)
                if (next[u] < per_thread && ts[u] < f)
                    f = ts[u];
            if (f != UINT64_MAX)
                tw_frontier(w, f);
        }
    }
    tw_end(w);
    qsort(all, k, sizeof(*all), cmp_gen);
    free(next);
    free(ts);
    return all;
}

static void test_merge_three_threads(void **state)
{
    (void)state;
    tw w;
    tw_init(&w);
    const int per = 3000;
    gen_ev *want = gen_threads(&w, 3, per, true);
    run x;
    run_mem(&x, w.out.p, w.out.len, NULL);
    assert_int_equal(x.rc, 0);
    assert_int_equal(x.n, 3 * per);
    for (size_t i = 0; i < x.n; i++) {
        assert_int_equal(x.ev[i].ts, want[i].ts);
        assert_int_equal(x.ev[i].thread, want[i].thread);
        assert_int_equal(x.ev[i].args[0], want[i].seq);
    }
    assert_int_equal(x.st.out_of_order, 0);
    assert_int_equal(x.st.forced, 0);
    assert_true(x.st.frontiers > 10);
    /* Frontiers bound what is held: far less than the whole file. */
    assert_true(x.st.peak_held_bytes < w.out.len / 2);
    assert_int_equal(x.st.held_bytes, 0);
    run_free(&x);

    /* Without frontiers everything waits for the end: same order. */
    tw_free(&w);
    tw_init(&w);
    free(want);
    want = gen_threads(&w, 3, per, false);
    run_fd(&x, w.out.p, w.out.len, NULL);
    assert_int_equal(x.n, 3 * per);
    for (size_t i = 0; i < x.n; i++)
        assert_int_equal(x.ev[i].ts, want[i].ts);
    assert_int_equal(x.st.frontiers, 0);

    /* The same with a tiny cap: the oldest go early (forced) and all
     * events still come, each exactly once, each thread in its order. */
    cd_tr_opts o = {.max_held_bytes = 2048};
    run y;
    run_mem(&y, w.out.p, w.out.len, &o);
    assert_int_equal(y.rc, 0);
    assert_int_equal(y.n, 3 * per);
    assert_true(y.st.forced > 0);
    assert_true(y.st.peak_held_bytes < 8192);
    uint64_t next_seq[4] = {0};
    uint64_t inversions = 0;
    for (size_t i = 0; i < y.n; i++) {
        assert_int_equal(y.ev[i].args[0], next_seq[y.ev[i].thread]++);
        if (i > 0 && y.ev[i].ts < y.ev[i - 1].ts)
            inversions++;
    }
    assert_true(y.st.out_of_order >= inversions);
    run_free(&y);
    run_free(&x);
    free(want);
    tw_free(&w);
}

/* Many threads (heap of thousands of sources), ids up to 2^64 - 1. */
static void test_merge_many_threads(void **state)
{
    (void)state;
    tw w;
    tw_init(&w);
    tw_header(&w, 1000000000, 0, 0, 0);
    const uint64_t n = 5000;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t thread = UINT64_MAX - i * 7919;
        tw_batch_begin(&w, thread, (n - i) * 10);
        tw_ev(&w, CD_TR_SPIN_BEGIN, (n - i) * 10, 0);
        tw_ev(&w, CD_TR_SPIN_END, (n - i) * 10 + 5, 0);
        tw_batch_end(&w);
    }
    tw_end(&w);
    run x;
    run_mem(&x, w.out.p, w.out.len, NULL);
    assert_int_equal(x.rc, 0);
    assert_int_equal(x.n, 2 * n);
    for (size_t i = 1; i < x.n; i++)
        assert_true(x.ev[i - 1].ts <= x.ev[i].ts);
    assert_int_equal(x.ev[0].thread, UINT64_MAX - (n - 1) * 7919);
    assert_int_equal(x.st.out_of_order, 0);
    run_free(&x);
    tw_free(&w);
}

/* ---- lost events -------------------------------------------------------- */

static void test_lost(void **state)
{
    (void)state;
    tw w;
    tw_init(&w);
    tw_header(&w, 1000, 100, 0, 0);
    tw_lost(&w, 3, 10, 1); /* before any frontier: at the start */
    tw_batch_begin(&w, 3, 150);
    tw_ev(&w, CD_TR_SPIN_BEGIN, 150, 0);
    tw_batch_end(&w);
    tw_frontier(&w, 200);
    tw_lost(&w, 4, 1000, 3);
    tw_lost(&w, 3, 5, 1);
    tw_batch_begin(&w, 4, 250);
    tw_ev(&w, CD_TR_SPIN_END, 250, 0);
    tw_batch_end(&w);
    tw_record(&w, 6, "\x01\x02", 2); /* short LOST: corrupt */
    tw_end(&w);

    run x;
    cd_tr_opts o = {.flags = CD_TR_SKIP_CORRUPT};
    run_mem(&x, w.out.p, w.out.len, &o);
    assert_int_equal(x.rc, 0);
    assert_int_equal(x.st.lost_events, 1015);
    assert_int_equal(x.st.lost_batches, 5);
    assert_int_equal(x.st.lost_records, 3);
    assert_int_equal(x.st.corrupt, 1);
    assert_int_equal(x.n, 5);
    /* LOST at 100 (start), SPIN_BEGIN 150, LOST M4 and M3 at 200, SPIN_END */
    assert_int_equal(x.ev[0].type, CD_TR_LOST);
    assert_int_equal(x.ev[0].ts, 100);
    assert_int_equal(x.ev[0].thread, 3);
    assert_int_equal(x.ev[0].args[0], 10);
    assert_int_equal(x.ev[0].args[1], 1);
    assert_int_equal(x.ev[1].type, CD_TR_SPIN_BEGIN);
    /* LOST events keep the file's order among themselves */
    assert_int_equal(x.ev[2].type, CD_TR_LOST);
    assert_int_equal(x.ev[2].thread, 4);
    assert_int_equal(x.ev[2].ts, 200);
    assert_int_equal(x.ev[2].args[0], 1000);
    assert_int_equal(x.ev[2].args[1], 3);
    assert_int_equal(x.ev[3].type, CD_TR_LOST);
    assert_int_equal(x.ev[3].thread, 3);
    assert_int_equal(x.ev[3].ts, 200);
    assert_int_equal(x.ev[4].type, CD_TR_SPIN_END);
    run_free(&x);

    /* Without the flag the short LOST record is fatal, after the rest. */
    run_mem(&x, w.out.p, w.out.len, NULL);
    assert_int_equal(x.rc, -EPROTO);
    assert_int_equal(x.after, -EPROTO); /* sticky */
    assert_int_equal(x.n, 5);
    assert_non_null(strstr(x.err, "LOST"));
    run_free(&x);
    tw_free(&w);
}

/* ---- truncation and corruption ----------------------------------------- */

/* A small file with every record kind and several threads. */
static void build_sample(tw *w)
{
    tw_header(w, 1000000000, 0, 0, 0);
    tw_string(w, 1, "main");
    tw_string(w, 2, "read");
    uint64_t pcs[2] = {0x1000, 0x2000};
    tw_stack(w, 1, 2, pcs);
    tw_symbol(w, 0x1000, 1, 2, 10);
    for (int round = 0; round < 3; round++) {
        for (uint64_t t = 1; t <= 3; t++) {
            uint64_t base = (uint64_t)round * 100 + t;
            tw_batch_begin(w, t, base);
            tw_ev(w, CD_TR_TASK_CREATE, base + 1, 4, t * 10 + (uint64_t)round, (uint64_t)0,
                  (uint64_t)1, (uint64_t)1);
            tw_ev(w, CD_TR_TASK_BLOCK, base + 2, 2, t * 10 + (uint64_t)round, (uint64_t)2);
            tw_ev(w, CD_TR_HEAP, base + 3, 2, (uint64_t)1 << 40, (uint64_t)1 << 41);
            tw_batch_end(w);
        }
        tw_lost(w, 2, 7, 1);
        tw_frontier(w, (uint64_t)round * 100 + 100);
    }
    tw_end(w);
}

/* Events a prefix of n bytes must yield: those of complete records
 * (EVENTS' events and one per LOST). */
static size_t expected_events(const tw *w, size_t n)
{
    size_t e = 0;
    for (size_t i = 0; i < w->nrecs && w->recs[i].end <= n; i++)
        e += w->recs[i].nevents + (w->recs[i].kind == 6);
    return e;
}

static void test_truncation_every_offset(void **state)
{
    (void)state;
    tw w;
    tw_init(&w);
    build_sample(&w);
    for (size_t n = 0; n <= w.out.len; n++) {
        for (int path = 0; path < 2; path++) {
            run x;
            (path ? run_fd : run_mem)(&x, w.out.p, n, NULL);
            if (n < 40) {
                assert_int_equal(x.open_rc, -ENODATA);
                continue;
            }
            assert_int_equal(x.open_rc, 0);
            assert_int_equal(x.n, expected_events(&w, n));
            for (size_t i = 1; i < x.n; i++)
                assert_true(x.ev[i - 1].ts <= x.ev[i].ts);
            if (n == w.out.len) {
                assert_int_equal(x.rc, 0);
                assert_false(x.st.truncated);
            } else {
                assert_int_equal(x.rc, -ENODATA);
                assert_int_equal(x.after, 0);
                assert_true(x.st.truncated);
                assert_non_null(strstr(x.err, "truncated"));
            }
            run_free(&x);
        }
    }
    tw_free(&w);
}

static void test_bit_flips(void **state)
{
    (void)state;
    tw w;
    tw_init(&w);
    build_sample(&w);
    uint8_t *copy = malloc(w.out.len);
    size_t start = 40;
    for (size_t r = 0; r < w.nrecs; r++) {
        size_t end = w.recs[r].end;
        /* the payload starts after the kind and the length varint */
        size_t hdr = 1;
        while (w.out.p[start + hdr] & 0x80)
            hdr++;
        hdr++;
        for (size_t off = start; off < end; off++) {
            for (int bit = 0; bit < 8; bit++) {
                memcpy(copy, w.out.p, w.out.len);
                copy[off] ^= (uint8_t)(1u << bit);
                run x;
                run_mem(&x, copy, w.out.len, NULL);
                assert_int_equal(x.open_rc, 0);
                if (off >= start + hdr) { /* payload or CRC: the CRC sees it */
                    assert_int_equal(x.rc, -EPROTO);
                    assert_non_null(strstr(x.err, "CRC"));
                    assert_true(x.n >= expected_events(&w, start));
                } else { /* kind or length: any error, never a crash */
                    assert_true(x.rc <= 0);
                }
                run_free(&x);
            }
        }
        start = end;
    }
    free(copy);
    tw_free(&w);
}

/* ---- hostile input ------------------------------------------------------ */

/* A header plus the given raw bytes as the body. */
static void body(tw *w, const void *p, size_t n)
{
    tw_init(w);
    tw_header(w, 1000, 0, 0, 0);
    tw_bytes(&w->out, p, n);
}

static int read_rc(const tw *w, const cd_tr_opts *o, run *keep)
{
    run x;
    run_mem(&x, w->out.p, w->out.len, o);
    assert_int_equal(x.open_rc, 0);
    int rc = x.rc;
    if (keep != NULL)
        *keep = x;
    else
        run_free(&x);
    return rc;
}

static void test_hostile_framing(void **state)
{
    (void)state;
    tw w;
    /* an 11-byte length varint */
    body(&w, "\x01\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 12);
    assert_int_equal(read_rc(&w, NULL, NULL), -EPROTO);
    tw_free(&w);
    /* a 10-byte varint above 2^64 */
    body(&w, "\x01\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02", 11);
    assert_int_equal(read_rc(&w, NULL, NULL), -EPROTO);
    tw_free(&w);
    /* a length of 2^63 and one just above 64 MiB: refused, no allocation */
    body(&w, "\x01\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 11);
    assert_int_equal(read_rc(&w, NULL, NULL), -EPROTO);
    tw_free(&w);
    tw_init(&w);
    tw_header(&w, 1000, 0, 0, 0);
    tw_u8(&w.out, 1);
    tw_uv(&w.out, (64u << 20) + 1);
    assert_int_equal(read_rc(&w, NULL, NULL), -EPROTO);
    /* exactly 64 MiB claimed in a short file: a truncation (fd path too) */
    w.out.len = 40;
    tw_u8(&w.out, 1);
    tw_uv(&w.out, 64u << 20);
    tw_bytes(&w.out, "abcdef", 6);
    assert_int_equal(read_rc(&w, NULL, NULL), -ENODATA);
    run x;
    run_fd(&x, w.out.p, w.out.len, NULL);
    assert_int_equal(x.rc, -ENODATA);
    assert_non_null(strstr(x.err, "truncated"));
    run_free(&x);
    tw_free(&w);
    /* a varint cut by the end of the file */
    body(&w, "\x02\x80", 2);
    assert_int_equal(read_rc(&w, NULL, NULL), -ENODATA);
    tw_free(&w);
}

static void test_hostile_tables(void **state)
{
    (void)state;
    tw w;
    tw_buf b = {0};
    struct {
        uint8_t kind;
        const char *payload;
        size_t len;
    } cases[] = {
        {2,
         "\x01\x05"
         "abc",
         5}, /* string past the record */
        {2,
         "\x01\xff\xff\xff\xff\x0f"
         "a",
         7}, /* huge string length */
        {2,
         "\x00\x01"
         "a",
         3},                                                 /* string id 0 */
        {2, "\x01", 1},                                      /* id without length */
        {3, "\x01\x80\x80\x80\x80\x80\x80\x80\x80\x01", 10}, /* 2^63 frames */
        {3, "\x01\x03\x01\x02", 4},                          /* 3 frames, 2 present */
        {3, "\x00\x00", 2},                                  /* stack id 0 */
        {4, "\x01\x02\x03", 3},                              /* short symbol */
        {5, "", 0},                                          /* FRONTIER without ts */
        {5, "\x80", 1},                                      /* cut ts */
        {6, "\x01\x02", 2},                                  /* LOST short */
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        tw_init(&w);
        tw_header(&w, 1000, 0, 0, 0);
        tw_batch_begin(&w, 1, 0);
        tw_ev(&w, CD_TR_SPIN_BEGIN, 0, 0);
        tw_batch_end(&w);
        tw_record(&w, cases[i].kind, cases[i].payload, cases[i].len);
        tw_end(&w);
        run x;
        assert_int_equal(read_rc(&w, NULL, &x), -EPROTO);
        assert_int_equal(x.n, 1); /* what came before is delivered first */
        assert_int_equal(x.st.strings + x.st.stacks + x.st.symbols, 0);
        run_free(&x);
        /* and skipped on request */
        cd_tr_opts o = {.flags = CD_TR_SKIP_CORRUPT};
        assert_int_equal(read_rc(&w, &o, &x), 0);
        assert_int_equal(x.st.corrupt, 1);
        run_free(&x);
        tw_free(&w);
    }

    /* A valid entry followed by a bad one defines nothing (checked first). */
    tw_init(&w);
    tw_header(&w, 1000, 0, 0, 0);
    tw_uv(&b, 1);
    tw_str(&b, "ok");
    tw_uv(&b, 2);
    tw_uv(&b, 100);
    tw_record(&w, 2, b.p, b.len);
    tw_end(&w);
    cd_tr_opts o = {.flags = CD_TR_SKIP_CORRUPT};
    run x;
    assert_int_equal(read_rc(&w, &o, &x), 0);
    assert_null(cd_trace_reader_string(x.r, 1, NULL));
    run_free(&x);
    tw_free(&w);
    free(b.p);

    /* Tables above the cap: -EFBIG, not an allocation. */
    tw_init(&w);
    tw_header(&w, 1000, 0, 0, 0);
    char big[10000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    tw_string(&w, 1, big);
    tw_end(&w);
    cd_tr_opts small = {.max_table_bytes = 4096};
    assert_int_equal(read_rc(&w, &small, &x), -EFBIG);
    assert_non_null(strstr(x.err, "limit"));
    run_free(&x);
    assert_int_equal(read_rc(&w, NULL, NULL), 0);
    tw_free(&w);

    /* Many small entries hit the cap too (map growth is charged). */
    tw_init(&w);
    tw_header(&w, 1000, 0, 0, 0);
    tw_buf many = {0};
    for (uint64_t id = 1; id <= 20000; id++) {
        tw_uv(&many, id * 1000003);
        tw_str(&many, "");
    }
    tw_record(&w, 2, many.p, many.len);
    tw_end(&w);
    cd_tr_opts mid = {.max_table_bytes = 256 * 1024};
    assert_int_equal(read_rc(&w, &mid, &x), -EFBIG);
    assert_true(x.st.table_bytes <= 256 * 1024);
    run_free(&x);
    assert_int_equal(read_rc(&w, NULL, &x), 0);
    assert_int_equal(x.st.strings, 20000);
    assert_string_equal(cd_trace_reader_string(x.r, 20000 * 1000003ull, NULL), "");
    run_free(&x);
    free(many.p);
    tw_free(&w);
}

static void test_hostile_events(void **state)
{
    (void)state;
    struct {
        const char *payload; /* after thread 1, base_ts, and bases task, parent, user: 0 */
        size_t len;
        const char *why;
    } cases[] = {
        {"\x00\x00", 2, "unknown event type"},
        {"\x1f\x00", 2, "unknown event type"},
        {"\xff\x00", 2, "unknown event type"},
        {"\x08\x00", 2, "short argument"},             /* TASK_START without task */
        {"\x07\x00\x01\x02\x03", 5, "short argument"}, /* TASK_CREATE, 3 of 4 */
        {"\x08\x80", 2, "timestamp delta"},
        {"\x85\x00", 2, "same-task flag"},         /* SPIN_BEGIN has no task argument */
        {"\x9b\x00\x01\x02", 4, "same-task flag"}, /* CPU_SAMPLE's task is argument 1 */
        {"\x08\x00\x80\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 13, "argument"},
        {"\x05\x01\x05\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01", 13, "overflows"},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        tw w;
        tw_init(&w);
        tw_header(&w, 1000, 0, 0, 0);
        tw_buf b = {0};
        tw_uv(&b, 1);
        tw_uv(&b, strcmp(cases[i].why, "overflows") == 0 ? UINT64_MAX - 1 : 0);
        tw_uv(&b, 0);
        tw_uv(&b, 0);
        tw_uv(&b, 0);
        tw_bytes(&b, cases[i].payload, cases[i].len);
        tw_record(&w, 1, b.p, b.len);
        tw_end(&w);
        run x;
        assert_int_equal(read_rc(&w, NULL, &x), -EPROTO);
        assert_int_equal(x.n, 0); /* a bad batch is refused whole */
        assert_non_null(strstr(x.err, cases[i].why));
        assert_non_null(strstr(x.err, "EVENTS"));
        run_free(&x);
        free(b.p);
        tw_free(&w);
    }
    /* a batch header cut short */
    tw w;
    tw_init(&w);
    tw_header(&w, 1000, 0, 0, 0);
    tw_record(&w, 1, "\x01", 1);
    tw_end(&w);
    assert_int_equal(read_rc(&w, NULL, NULL), -EPROTO);
    tw_free(&w);
}

/* Ids that were never defined: "?" and counted, not an error. */
static void test_undefined_refs(void **state)
{
    (void)state;
    tw w;
    tw_init(&w);
    tw_header(&w, 1000, 0, 0, 0);
    tw_string(&w, 1, "known");
    tw_batch_begin(&w, 1, 0);
    tw_ev(&w, CD_TR_LOG, 1, 3, (uint64_t)0, (uint64_t)1, UINT64_MAX);
    tw_ev(&w, CD_TR_CPU_SAMPLE, 2, 2, (uint64_t)12345, (uint64_t)1);
    tw_ev(&w, CD_TR_TASK_CREATE, 3, 4, (uint64_t)1, (uint64_t)0, (uint64_t)0, (uint64_t)0);
    tw_batch_end(&w);
    tw_end(&w);
    run x;
    assert_int_equal(read_rc(&w, NULL, &x), 0);
    assert_int_equal(x.n, 3);
    assert_string_equal(x.ev[0].str[1], "known");
    assert_string_equal(x.ev[0].str[2], "?");
    assert_int_equal(x.ev[0].args[2], UINT64_MAX); /* the raw id stays */
    assert_string_equal(x.ev[2].str[2], "");       /* id 0: the empty string */
    assert_int_equal(x.st.bad_refs, 2);            /* string UINT64_MAX, stack 12345 */
    run_free(&x);
    tw_free(&w);
}

/* A string redefined later: the new text for new events, the old pointer
 * still valid. */
static void test_redefinition(void **state)
{
    (void)state;
    tw w;
    tw_init(&w);
    tw_header(&w, 1000, 0, 0, 0);
    tw_string(&w, 1, "old");
    tw_batch_begin(&w, 1, 0);
    tw_ev(&w, CD_TR_TASK_BLOCK, 1, 2, (uint64_t)1, (uint64_t)1);
    tw_batch_end(&w);
    tw_frontier(&w, 2);
    tw_string(&w, 1, "new");
    tw_batch_begin(&w, 1, 3);
    tw_ev(&w, CD_TR_TASK_BLOCK, 3, 2, (uint64_t)1, (uint64_t)1);
    tw_batch_end(&w);
    tw_end(&w);
    run x;
    assert_int_equal(read_rc(&w, NULL, &x), 0);
    assert_int_equal(x.n, 2);
    assert_string_equal(x.ev[0].str[1], "old");
    assert_string_equal(x.ev[1].str[1], "new");
    run_free(&x);
    tw_free(&w);
}

/* TASK_BLOCK carries a stack from version 3 on; a version 2 file's has none
 * on the wire and reads as stack 0 (the empty stack), with the same
 * argument count, so consumers need not know the file's version. */
static void test_block_stack_versions(void **state)
{
    (void)state;
    for (uint16_t version = 2; version <= 3; version++) {
        tw w;
        tw_init(&w);
        tw_header_ex(&w, "CDTRACE\0", version, 40, 0, 1000, 0, 0);
        tw_string(&w, 1, "IO wait");
        uint64_t pcs[2] = {0x1000, 0x2000};
        tw_stack(&w, 5, 2, pcs);
        tw_batch_begin(&w, 1, 0);
        if (version == 2)
            tw_ev(&w, CD_TR_TASK_BLOCK, 1, 2, (uint64_t)7, (uint64_t)1);
        else
            tw_ev(&w, CD_TR_TASK_BLOCK, 1, 3, (uint64_t)7, (uint64_t)1, (uint64_t)5);
        tw_ev(&w, CD_TR_TASK_UNBLOCK, 2, 1, (uint64_t)7);
        tw_batch_end(&w);
        tw_end(&w);
        run x;
        assert_int_equal(read_rc(&w, NULL, &x), 0);
        assert_int_equal(x.n, 2);
        assert_int_equal(x.ev[0].type, CD_TR_TASK_BLOCK);
        assert_int_equal(x.ev[0].nargs, 3);
        assert_int_equal(x.ev[0].args[0], 7);
        assert_string_equal(x.ev[0].str[1], "IO wait");
        assert_int_equal(x.ev[0].args[2], version == 2 ? 0 : 5);
        assert_int_equal(x.ev[1].type, CD_TR_TASK_UNBLOCK); /* the next event is found */
        assert_int_equal(x.ev[1].args[0], 7);
        run_free(&x);
        tw_free(&w);
    }
}

/* ---- input paths -------------------------------------------------------- */

typedef struct pipe_arg {
    int fd;
    const tw *w;
} pipe_arg;

static void *pipe_writer(void *p)
{
    pipe_arg *a = p;
    size_t off = 0;
    while (off < a->w->out.len) { /* small, uneven writes */
        size_t n = 1 + (size_t)(rnd() % 5000);
        if (n > a->w->out.len - off)
            n = a->w->out.len - off;
        ssize_t k = write(a->fd, a->w->out.p + off, n);
        if (k <= 0)
            break;
        off += (size_t)k;
    }
    close(a->fd);
    return NULL;
}

/* A pipe delivers a big file in pieces; a 1 MiB record makes the buffer
 * grow past its initial 256 KiB. Same result as memory input. */
static void test_pipe_and_big_records(void **state)
{
    (void)state;
    tw w;
    tw_init(&w);
    tw_header(&w, 1000000000, 0, 0, 0);
    char *big = malloc(1 << 20);
    memset(big, 'b', (1 << 20) - 1);
    big[(1 << 20) - 1] = '\0';
    tw_string(&w, 1, big);
    free(big);
    for (uint64_t i = 0; i < 200; i++) {
        tw_batch_begin(&w, 1 + i % 4, i * 1000);
        for (uint64_t j = 0; j < 100; j++)
            tw_ev(&w, CD_TR_REGION_BEGIN, i * 1000 + j, 2, j, (uint64_t)1);
        tw_batch_end(&w);
        tw_frontier(&w, i * 1000);
    }
    tw_end(&w);

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pipe_arg a = {fds[1], &w};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, pipe_writer, &a), 0);
    run p;
    memset(&p, 0, sizeof(p));
    assert_int_equal(cd_trace_reader_open_fd(&p.r, fds[0], NULL), 0);
    run_events(&p);
    pthread_join(th, NULL);
    close(fds[0]);
    run m;
    run_mem(&m, w.out.p, w.out.len, NULL);
    assert_int_equal(p.rc, 0);
    assert_int_equal(m.rc, 0);
    assert_int_equal(p.n, 20000);
    assert_int_equal(m.n, 20000);
    for (size_t i = 0; i < p.n; i++) {
        assert_int_equal(p.ev[i].ts, m.ev[i].ts);
        assert_int_equal(p.ev[i].thread, m.ev[i].thread);
        assert_int_equal(p.ev[i].str_len[1], (1 << 20) - 1);
    }
    assert_int_equal(p.st.bytes, w.out.len);
    run_free(&p);
    run_free(&m);

    /* by path */
    char path[] = "/tmp/cdebug-trace-test-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(tw_save(&w, path), 0);
    cd_trace_reader *r;
    assert_int_equal(cd_trace_reader_open(&r, path, NULL), 0);
    cd_tr_event ev;
    size_t n = 0;
    int rc;
    while ((rc = cd_trace_reader_next(r, &ev)) == 1)
        n++;
    assert_int_equal(rc, 0);
    assert_int_equal(n, 20000);
    cd_trace_reader_close(r);
    unlink(path);
    tw_free(&w);
}

/* ---- the batch form ---------------------------------------------------- */

_Static_assert(offsetof(cd_tr_ev, args) == offsetof(cd_tr_event, args) &&
                   sizeof(cd_tr_ev) == offsetof(cd_tr_event, str),
               "cd_tr_ev is cd_tr_event's head: run_batches copies one into the other");

/* Like run_mem, through cd_trace_reader_next_batch `chunk` events a call;
 * with mix, every third call is cd_trace_reader_next instead. */
static void run_batches(run *x, const void *p, size_t len, const cd_tr_opts *o, size_t chunk,
                        bool mix)
{
    memset(x, 0, sizeof(*x));
    x->open_rc = cd_trace_reader_open_mem(&x->r, p, len, o);
    if (x->open_rc != 0)
        return;
    cd_tr_ev *evs = calloc(chunk, sizeof(*evs));
    assert_non_null(evs);
    int rc;
    for (unsigned call = 0;; call++) {
        cd_tr_event one;
        if (mix && call % 3 == 2) {
            if ((rc = cd_trace_reader_next(x->r, &one)) == 1)
                run_push(x, &one);
            else
                break;
            continue;
        }
        rc = cd_trace_reader_next_batch(x->r, evs, chunk);
        assert_true(rc <= (int)chunk);
        if (rc <= 0)
            break;
        for (int i = 0; i < rc; i++) {
            memset(&one, 0, sizeof one);          /* str[] left NULL: the form resolves nothing */
            memcpy(&one, &evs[i], sizeof evs[i]); /* cd_tr_ev: cd_tr_event's head */
            run_push(x, &one);
        }
    }
    x->rc = rc;
    snprintf(x->err, sizeof(x->err), "%s", cd_trace_reader_error(x->r));
    x->after = cd_trace_reader_next_batch(x->r, evs, chunk);
    cd_trace_reader_stats(x->r, &x->st);
    free(evs);
}

/* a and b delivered the same stream and ended the same way. */
static void same_stream(const run *a, const run *b)
{
    assert_int_equal(a->open_rc, b->open_rc);
    assert_int_equal(a->rc, b->rc);
    assert_int_equal(a->after, b->after);
    assert_string_equal(a->err, b->err);
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        assert_int_equal(a->ev[i].type, b->ev[i].type);
        assert_int_equal(a->ev[i].nargs, b->ev[i].nargs);
        assert_int_equal(a->ev[i].ts, b->ev[i].ts);
        assert_int_equal(a->ev[i].thread, b->ev[i].thread);
        assert_memory_equal(a->ev[i].args, b->ev[i].args, sizeof a->ev[i].args);
    }
    assert_int_equal(a->st.events, b->st.events);
    assert_int_equal(a->st.records, b->st.records);
    assert_int_equal(a->st.forced, b->st.forced);
    assert_int_equal(a->st.out_of_order, b->st.out_of_order);
    assert_int_equal(a->st.corrupt, b->st.corrupt);
    assert_int_equal(a->st.truncated, b->st.truncated);
    assert_int_equal(a->st.lost_events, b->st.lost_events);
    assert_int_equal(a->st.held_bytes, b->st.held_bytes);
}

/* The input read with cd_trace_reader_next and with the batch form at
 * several sizes (1, 7, 1024, mixed with next): one stream. */
static void check_batch_forms(const void *p, size_t len, const cd_tr_opts *o)
{
    run want;
    run_mem(&want, p, len, o);
    static const size_t chunks[] = {1, 7, 1024};
    for (size_t c = 0; c < NELEM(chunks); c++) {
        for (int mix = 0; mix < 2; mix++) {
            run got;
            run_batches(&got, p, len, o, chunks[c], mix);
            same_stream(&want, &got);
            run_free(&got);
        }
    }
    run_free(&want);
}

static void test_batch_form(void **state)
{
    (void)state;
    tw w;
    /* frontiers; then none, with a cap that forces early deliveries */
    for (int f = 0; f < 2; f++) {
        tw_init(&w);
        free(gen_threads(&w, 3, 3000, f == 0));
        cd_tr_opts tiny = {.max_held_bytes = 2048};
        check_batch_forms(w.out.p, w.out.len, f == 0 ? NULL : &tiny);
        tw_free(&w);
    }
    /* every record kind, LOST ones included: whole, cut at every byte,
     * and with a bit flipped in every byte (skipped or fatal) */
    tw_init(&w);
    build_sample(&w);
    for (size_t n = 40; n <= w.out.len; n++)
        check_batch_forms(w.out.p, n, NULL);
    uint8_t *copy = malloc(w.out.len);
    assert_non_null(copy);
    cd_tr_opts skip = {.flags = CD_TR_SKIP_CORRUPT};
    for (size_t off = 40; off < w.out.len; off++) {
        memcpy(copy, w.out.p, w.out.len);
        copy[off] ^= 0x10;
        check_batch_forms(copy, w.out.len, NULL);
        check_batch_forms(copy, w.out.len, &skip);
    }
    free(copy);
    tw_free(&w);

    /* bad arguments */
    tw_init(&w);
    build_sample(&w);
    cd_trace_reader *r;
    cd_tr_ev ev;
    assert_int_equal(cd_trace_reader_open_mem(&r, w.out.p, w.out.len, NULL), 0);
    assert_int_equal(cd_trace_reader_next_batch(NULL, &ev, 1), -EINVAL);
    assert_int_equal(cd_trace_reader_next_batch(r, NULL, 1), -EINVAL);
    assert_int_equal(cd_trace_reader_next_batch(r, &ev, 0), -EINVAL);
    assert_int_equal(cd_trace_reader_next_batch(r, &ev, 1), 1); /* nothing was lost */
    cd_trace_reader_close(r);
    tw_free(&w);
}

/* ---- small things ------------------------------------------------------- */

/* The records' CRC (base/crc.h, libdeflate's) is zlib's CRC-32, the one
 * the format names and the test writer uses: at every length up to 600,
 * a few large ones, and every alignment of the start. */
static void test_crc_is_zlibs(void **state)
{
    (void)state;
    assert_int_equal(cd__crc32("123456789", 9), 0xcbf43926u); /* the check value */
    assert_int_equal(cd__crc32("", 0), 0);
    size_t cap = (1u << 20) + 64;
    uint8_t *buf = malloc(cap);
    assert_non_null(buf);
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (size_t i = 0; i < cap; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    size_t big[] = {4095, 4096, 65536 + 7, 1u << 20};
    for (size_t off = 0; off < 16; off++) {
        for (size_t n = 0; n <= 600 + NELEM(big); n++) {
            size_t len = n <= 600 ? n : big[n - 601];
            uint32_t want = (uint32_t)crc32(0L, buf + off, (uInt)len);
            if (cd__crc32(buf + off, len) != want)
                fail_msg("CRC of %zu bytes at offset %zu differs from zlib's", len, off);
        }
    }
    free(buf);
}

static void test_ns_and_strerror(void **state)
{
    (void)state;
    tw w;
    tw_init(&w);
    tw_header(&w, 3000000000ull, 3000, 0, 0);
    tw_end(&w);
    cd_trace_reader *r;
    assert_int_equal(cd_trace_reader_open_mem(&r, w.out.p, w.out.len, NULL), 0);
    assert_int_equal(cd_trace_reader_ns(r, 3000), 0);
    assert_int_equal(cd_trace_reader_ns(r, 6000), 1000);
    assert_int_equal(cd_trace_reader_ns(r, 0), -1000);
    assert_int_equal(cd_trace_reader_ns(r, 3000 + 3000000000ull * 5), 5000000000ll);
    assert_int_equal(cd_trace_reader_ns(r, UINT64_MAX), (int64_t)((UINT64_MAX - 3000) / 3));
    cd_trace_reader_close(r);
    tw_free(&w);

    tw_init(&w);
    tw_header(&w, 1, 0, 0, 0); /* 1 tick per second: saturates */
    tw_end(&w);
    assert_int_equal(cd_trace_reader_open_mem(&r, w.out.p, w.out.len, NULL), 0);
    assert_int_equal(cd_trace_reader_ns(r, UINT64_MAX), INT64_MAX);
    cd_trace_reader_close(r);
    tw_free(&w);

    int errs[] = {-ENODATA, -EBADMSG, -EPROTONOSUPPORT, -EPROTO, -EFBIG, -ENOENT};
    for (size_t i = 0; i < NELEM(errs); i++) {
        assert_non_null(cd_tr_strerror(errs[i]));
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(cd_tr_strerror(errs[i]), cd_tr_strerror(errs[j]));
    }
    assert_non_null(cd_tr_strerror(-12345));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_fields),
        cmocka_unit_test(test_bad_headers),
        cmocka_unit_test(test_header_only),
        cmocka_unit_test(test_event_table),
        cmocka_unit_test(test_roundtrip_all_types),
        cmocka_unit_test(test_record_kinds),
        cmocka_unit_test(test_merge_three_threads),
        cmocka_unit_test(test_merge_many_threads),
        cmocka_unit_test(test_lost),
        cmocka_unit_test(test_truncation_every_offset),
        cmocka_unit_test(test_bit_flips),
        cmocka_unit_test(test_hostile_framing),
        cmocka_unit_test(test_hostile_tables),
        cmocka_unit_test(test_hostile_events),
        cmocka_unit_test(test_undefined_refs),
        cmocka_unit_test(test_redefinition),
        cmocka_unit_test(test_block_stack_versions),
        cmocka_unit_test(test_pipe_and_big_records),
        cmocka_unit_test(test_batch_form),
        cmocka_unit_test(test_ns_and_strerror),
        cmocka_unit_test(test_crc_is_zlibs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

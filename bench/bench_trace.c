/* bench/bench_trace.c - cost of one annotation trace point, tracing on and off.
 *
 * The workload of bench/peers/trace/main.go, in cdebug: T threads each run
 * a tight loop of N operations, an operation being either a region
 * (cd_trace_region_begin("bench") + cd_trace_region_end(), two trace points) or a log
 * message (cd_trace_log("bench", "op"), one trace point).
 *
 *   --trace=FILE  tracing on: the loop runs inside cd_trace_start(FILE) ..
 *                 cd_trace_stop(), then the program reads FILE back with
 *                 cd_trace_reader and counts the events the loop really
 *                 recorded (events dropped for want of a buffer are not in
 *                 the file, so they count as cost, not as work).
 *   (no --trace)  tracing off: every trace point is a load and a branch;
 *                 the figure is per trace point passed.
 *
 * The time is the wall time from the first thread's start to the last
 * thread's end, times T, over the events: what one event costs the thread
 * that records it (for T = 1, simply wall time over events). A warm-up of
 * N/10 operations under another name ("warmup") runs first on every thread
 * and is excluded from the count by its name, so buffers, intern caches and
 * page faults are paid before the clock starts.
 *
 * Output, one line on stdout (wrapped here):
 *
 *     trace op=region threads=1 tracing=on ops=2000000 events=... lost=...
 *         file_bytes=... file_events=... file_lost=... bytes_per_event=...
 *         ns_per_event=... rdtsc_ns=...
 *     trace op=region threads=1 tracing=off ops=50000000 points=100000000 ns_per_point=...
 *
 * events: the timed loop's events found in the file; lost: its trace points
 * that are not there; file_lost: what the file's LOST records say was
 * dropped (warm-up included); bytes_per_event: the file's size over every
 * event in it; rdtsc_ns: what one read of the recorder's clock costs on
 * this machine (see rdtsc_ns()).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#endif

#include "bench/bench_util.h"
#include <cdebug/cdebug.h>
#include <cdebug/trace.h>
#include <cdebug/trace_reader.h>

#define MAX_THREADS 64

/* The name the timed loop uses (RUN_OPS's literal in loop()); the reader
 * counts the events carrying it. */
static const char bench_name[] = "bench";

typedef enum op_kind { OP_REGION, OP_LOG } op_kind;

typedef struct worker {
    pthread_t tid;
    uint64_t t0, t1; /* timed loop start and end, CLOCK_MONOTONIC ns */
    int err;         /* cd_thread_register failure, 0 if none */
} worker;

static op_kind op = OP_REGION;
static uint64_t ops = 0; /* per thread; 0: default of the mode */
static int nthreads = 1;
static pthread_barrier_t barrier;
static worker workers[MAX_THREADS];

/* One run of the measured operation, NAME a string literal as in a
 * program (the annotation macros then intern it by address). */
#define RUN_OPS(NAME, n)                                                                           \
    do {                                                                                           \
        if (op == OP_REGION) {                                                                     \
            for (uint64_t i = 0; i < (n); i++) {                                                   \
                cd_trace_region_begin(NAME);                                                       \
                cd_trace_region_end();                                                             \
            }                                                                                      \
        } else {                                                                                   \
            for (uint64_t i = 0; i < (n); i++)                                                     \
                cd_trace_log(NAME, "op");                                                          \
        }                                                                                          \
    } while (0)

/* The measured loop (warm-up events under another name, so that only the
 * timed ones are counted). noinline so on and off runs execute the same
 * code. */
static void __attribute__((noinline)) loop(bool warmup, uint64_t n)
{
    if (warmup)
        RUN_OPS("warmup", n);
    else
        RUN_OPS("bench", n);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    /* Unregistered threads' events are not recorded (trace.h). */
    w->err = cd_thread_register();
    if (w->err == 0)
        loop(true, ops / 10 + 1);
    pthread_barrier_wait(&barrier);
    w->t0 = now_ns();
    if (w->err == 0)
        loop(false, ops);
    w->t1 = now_ns();
    if (w->err == 0)
        cd_thread_unregister();
    return NULL;
}

/* Runs the threads; returns the wall time of the timed loops or 0 on error. */
static uint64_t run_threads(void)
{
    pthread_barrier_init(&barrier, NULL, (unsigned)nthreads);
    for (int i = 0; i < nthreads; i++) {
        if (pthread_create(&workers[i].tid, NULL, worker_main, &workers[i]) != 0) {
            /* The barrier cannot be released any more: give up loudly. */
            fprintf(stderr, "bench_trace: pthread_create failed\n");
            exit(1);
        }
    }
    uint64_t lo = UINT64_MAX, hi = 0;
    int err = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(workers[i].tid, NULL);
        lo = workers[i].t0 < lo ? workers[i].t0 : lo;
        hi = workers[i].t1 > hi ? workers[i].t1 : hi;
        if (workers[i].err != 0)
            err = workers[i].err;
    }
    pthread_barrier_destroy(&barrier);
    if (err != 0) {
        fprintf(stderr, "bench_trace: cd_thread_register: %s\n", cd_strerror(err));
        return 0;
    }
    return hi > lo ? hi - lo : 1;
}

/* The floor under any recorded event: one read of the recorder's clock,
 * rdtsc on x86 with an invariant TSC (runtime/trace_recorder.c). It is printed next
 * to ns_per_event because it varies widely between machines (a few ns on
 * Intel hosts, 10-40 ns on AMD ones and under some hypervisors). 0 where
 * there is no rdtsc. */
static double rdtsc_ns(void)
{
#if defined(__x86_64__) || defined(__i386__)
    enum { N = 1000000 };
    uint64_t sink = 0, t0 = now_ns();
    for (int i = 0; i < N; i++)
        sink += __rdtsc();
    uint64_t t1 = now_ns();
    __asm__ volatile("" : : "r"(sink));
    return (double)(t1 - t0) / N;
#else
    return 0;
#endif
}

/* What the reader found in the trace file. */
typedef struct counts {
    uint64_t bench;  /* events of the timed loops */
    uint64_t events; /* every event in the file (CD_TR_LOST excluded) */
    uint64_t lost;   /* events the recorder dropped (LOST records) */
    uint64_t bytes;  /* file size */
} counts;

/* Whether ev is one of the timed loop's events: a region or log event whose
 * name (REGION_*: name_str) or category (LOG: category_str), argument 1 in
 * both cases, is bench_name. */
static bool is_bench_event(const cd_tr_event *ev)
{
    if (ev->type != CD_TR_REGION_BEGIN && ev->type != CD_TR_REGION_END && ev->type != CD_TR_LOG)
        return false;
    return ev->str[1] != NULL && ev->str_len[1] == sizeof bench_name - 1 &&
           memcmp(ev->str[1], bench_name, sizeof bench_name - 1) == 0;
}

static int count_events(const char *path, counts *c)
{
    cd_trace_reader *r;
    int rc = cd_trace_reader_open(&r, path, NULL);
    if (rc < 0) {
        fprintf(stderr, "bench_trace: %s: %s\n", path, cd_tr_strerror(rc));
        return rc;
    }
    memset(c, 0, sizeof *c);
    cd_tr_event ev;
    while ((rc = cd_trace_reader_next(r, &ev)) == 1) {
        if (ev.type == CD_TR_LOST)
            continue;
        c->events++;
        c->bench += is_bench_event(&ev);
    }
    if (rc < 0) /* a truncated or corrupt trace is a bug here: no count */
        fprintf(stderr, "bench_trace: %s: %s: %s\n", path, cd_tr_strerror(rc),
                cd_trace_reader_error(r));
    cd_tr_stats st;
    cd_trace_reader_stats(r, &st);
    c->lost = st.lost_events;
    cd_trace_reader_close(r);
    struct stat sb;
    if (rc == 0 && stat(path, &sb) != 0)
        rc = -errno;
    c->bytes = rc == 0 ? (uint64_t)sb.st_size : 0;
    return rc;
}

static int usage(const char *prog)
{
    fprintf(
        stderr,
        "usage: %s [--op=region|log] [--threads=T] [--ops=N] [--trace=FILE]\n"
        "  --op=K        region: cd_trace_region_begin+end (2 trace points), log: cd_trace_log\n"
        "  --threads=T   threads running the loop (1..%d, default 1)\n"
        "  --ops=N       operations per thread (default 2000000 on, 50000000 off)\n"
        "  --trace=FILE  trace into FILE (created) and count its events; else off\n",
        prog, MAX_THREADS);
    return 2;
}

int main(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        uint64_t v;
        if (strcmp(a, "--op=region") == 0) {
            op = OP_REGION;
        } else if (strcmp(a, "--op=log") == 0) {
            op = OP_LOG;
        } else if (strncmp(a, "--threads=", 10) == 0) {
            if (parse_u64(a + 10, MAX_THREADS, &v) != 0 || v == 0)
                return usage(argv[0]);
            nthreads = (int)v;
        } else if (strncmp(a, "--ops=", 6) == 0) {
            if (parse_u64(a + 6, 1000000000, &ops) != 0 || ops == 0)
                return usage(argv[0]);
        } else if (strncmp(a, "--trace=", 8) == 0 && a[8] != '\0') {
            path = a + 8;
        } else {
            return usage(argv[0]);
        }
    }
    if (ops == 0)
        ops = path != NULL ? 2000000 : 50000000;
    const char *op_name = op == OP_REGION ? "region" : "log";
    uint64_t points = ops * (uint64_t)nthreads * (op == OP_REGION ? 2 : 1);

    int rc = cd_init();
    if (rc != 0) {
        fprintf(stderr, "bench_trace: cd_init: %s\n", cd_strerror(rc));
        return 1;
    }
    if (path == NULL) {
        if (cd_trace_enabled()) { /* CDEBUG=trace=... would be measured */
            fprintf(stderr, "bench_trace: a trace is running; unset CDEBUG\n");
            return 1;
        }
        uint64_t wall = run_threads();
        if (wall == 0)
            return 1;
        printf("trace op=%s threads=%d tracing=off ops=%" PRIu64 " points=%" PRIu64
               " ns_per_point=%.3f\n",
               op_name, nthreads, ops, points, (double)wall * nthreads / (double)points);
        return 0;
    }

    double clock_ns = rdtsc_ns();
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "bench_trace: %s: %s\n", path, strerror(errno));
        return 1;
    }
    if ((rc = cd_trace_start(fd)) != 0) {
        fprintf(stderr, "bench_trace: cd_trace_start: %s\n", cd_strerror(rc));
        return 1;
    }
    uint64_t wall = run_threads();
    rc = cd_trace_stop();
    close(fd);
    if (rc != 0) {
        fprintf(stderr, "bench_trace: cd_trace_stop: %s\n", cd_strerror(rc));
        return 1;
    }
    counts c;
    if (wall == 0 || count_events(path, &c) != 0)
        return 1;
    if (c.bench == 0) {
        fprintf(stderr, "bench_trace: no event of the timed loop in %s\n", path);
        return 1;
    }
    printf("trace op=%s threads=%d tracing=on ops=%" PRIu64 " events=%" PRIu64 " lost=%" PRIu64
           " file_bytes=%" PRIu64 " file_events=%" PRIu64 " file_lost=%" PRIu64
           " bytes_per_event=%.3f ns_per_event=%.3f rdtsc_ns=%.2f\n",
           op_name, nthreads, ops, c.bench, points - c.bench, c.bytes, c.events, c.lost,
           (double)c.bytes / (double)c.events, (double)wall * nthreads / (double)c.bench, clock_ns);
    return 0;
}

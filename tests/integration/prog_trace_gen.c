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
 */
#include <errno.h>
#include <inttypes.h>
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
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 2685821657736338717ull;
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
    } else if (argc == 3 && strcmp(argv[1], "corpus") == 0) {
        rc = corpus(argv[2]);
    } else if (argc == 4 && strcmp(argv[1], "big") == 0) {
        big(&w, strtoull(argv[3], NULL, 10), 8, 4096);
        rc = save(&w, argv[2]);
    } else if (argc == 3 && strcmp(argv[1], "bench") == 0) {
        rc = bench(strtoull(argv[2], NULL, 10));
    } else {
        fprintf(stderr, "usage: prog_trace_gen sample|truncated|corrupt|corpus|big|bench ...\n");
    }
    tw_free(&w);
    return rc;
}

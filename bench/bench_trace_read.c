/* bench/bench_trace_read.c - throughput of cd_trace_reader on a trace file.
 *
 * Reads FILE from its header to its END record with cd_trace_reader_open
 * and cd_trace_reader_next_batch (1024 events a call; --api=event: one
 * event a call with cd_trace_reader_next, strings resolved), touching
 * nothing but the event type (the cost measured is the library's: read(2),
 * CRC, varint decoding, the merge of the threads' batches in time order).
 * bench/run_trace runs it on traces it has just written, so the file is in
 * the page cache and the figure is the reader's, not the disk's.
 *
 * It is also bench/run_trace's event counter for traces written by other
 * programs (bench_spawn --trace): events, lost events and bytes per event
 * come from the same pass.
 *
 * Output, one line on stdout (wrapped here):
 *
 *     trace_read api=batch|event events=... lost=... bytes=... bytes_per_event=...
 *         ns=... events_per_sec=... mb_per_sec=... peak_held=...
 *
 * events excludes the CD_TR_LOST markers the reader synthesizes; lost is the
 * sum of the file's LOST records; bytes is the file size. Exit status 1 when
 * the file does not read cleanly to its END record.
 *
 * `bench_trace_read --membw` prints the machine's memory bandwidth instead,
 * the ceiling next to which bench/run_bigtrace shows the reader: memcpy
 * between two 64 MiB buffers (far above the caches), the best of 8 passes:
 *
 *     membw mb_per_sec=...
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "bench/bench_util.h"
#include <cdebug/trace_reader.h>

/* memcpy bandwidth (bytes copied per second, in MB/s). */
static int membw(void)
{
    const size_t n = (size_t)64 << 20;
    char *a = malloc(n), *b = malloc(n);
    if (a == NULL || b == NULL) {
        fprintf(stderr, "bench_trace_read: out of memory\n");
        return 1;
    }
    memset(a, 1, n);
    memset(b, 2, n); /* both resident before timing */
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 8; i++) {
        uint64_t t0 = now_ns();
        memcpy(i % 2 ? a : b, i % 2 ? b : a, n);
        uint64_t dt = now_ns() - t0;
        if (dt < best)
            best = dt;
    }
    /* keep the copies observable */
    volatile char sink = a[n / 2] + b[n / 3];
    (void)sink;
    printf("membw mb_per_sec=%.0f\n", (double)n / ((double)best / 1e9) / 1e6);
    free(a);
    free(b);
    return 0;
}

/* Reads the whole stream, one event a call (event) or in arrays of 1024
 * (batch); returns the reader's last result and counts the CD_TR_LOST
 * markers in *markers. */
static int read_all(cd_trace_reader *r, bool batch, uint64_t *markers)
{
    int rc;
    if (!batch) {
        cd_tr_event ev;
        while ((rc = cd_trace_reader_next(r, &ev)) == 1)
            *markers += ev.type == CD_TR_LOST;
        return rc;
    }
    static cd_tr_ev evs[1024];
    while ((rc = cd_trace_reader_next_batch(r, evs, 1024)) > 0)
        for (int i = 0; i < rc; i++)
            *markers += evs[i].type == CD_TR_LOST;
    return rc;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "--membw") == 0)
        return membw();
    bool batch = true;
    if (argc == 3 && strcmp(argv[1], "--api=event") == 0) {
        batch = false;
        argv++;
        argc--;
    } else if (argc == 3 && strcmp(argv[1], "--api=batch") == 0) {
        argv++;
        argc--;
    }
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr,
                "usage: %s [--api=batch|event] FILE   (a cdebug trace; prints events/s)\n"
                "       %s --membw (memcpy bandwidth, MB/s)\n",
                argv[0], argv[0]);
        return 2;
    }
    const char *path = argv[1];
    struct stat sb;
    if (stat(path, &sb) != 0) {
        fprintf(stderr, "bench_trace_read: %s: %s\n", path, strerror(errno));
        return 1;
    }

    uint64_t t0 = now_ns();
    cd_trace_reader *r;
    int rc = cd_trace_reader_open(&r, path, NULL);
    if (rc < 0) {
        fprintf(stderr, "bench_trace_read: %s: %s\n", path, cd_tr_strerror(rc));
        return 1;
    }
    uint64_t markers = 0; /* CD_TR_LOST: not events of the file */
    rc = read_all(r, batch, &markers);
    uint64_t elapsed = now_ns() - t0;
    cd_tr_stats st;
    cd_trace_reader_stats(r, &st);
    if (rc != 0) {
        fprintf(stderr, "bench_trace_read: %s: %s: %s\n", path, cd_tr_strerror(rc),
                cd_trace_reader_error(r));
        cd_trace_reader_close(r);
        return 1;
    }
    cd_trace_reader_close(r);

    uint64_t events = st.events - markers;
    if (events == 0 || elapsed == 0) {
        fprintf(stderr, "bench_trace_read: %s holds no event\n", path);
        return 1;
    }
    double secs = (double)elapsed / 1e9;
    printf("trace_read api=%s events=%" PRIu64 " lost=%" PRIu64 " bytes=%" PRIu64
           " bytes_per_event=%.3f ns=%" PRIu64 " events_per_sec=%.0f mb_per_sec=%.1f"
           " peak_held=%zu\n",
           batch ? "batch" : "event", events, st.lost_events, (uint64_t)sb.st_size,
           (double)sb.st_size / (double)events, elapsed, (double)events / secs,
           (double)sb.st_size / secs / 1e6, st.peak_held_bytes);
    return 0;
}

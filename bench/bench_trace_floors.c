/* bench/bench_trace_floors.c - the least each of the trace reader's steps
 * costs per event, each step alone, on a trace file's own batches.
 *
 * bench/run_bigtrace prints the reader's throughput next to the machine's
 * limits: `cat` of the file and memcpy say what reading the bytes costs.
 * They are far above the reader (10 GB/s against about 100 MB/s), so they
 * do not say what holds the reader back. This program does: it loads the
 * file into memory, frames its records once (untimed), keeps the EVENTS
 * batches, and then times each per-event step of the reader over all of
 * them, nothing else in the loop:
 *
 *   crc     cd__crc32 (base/crc.h) over every batch's bytes (the reader
 *           checks every record's CRC, of which batches are nearly all the
 *           bytes);
 *   check   cd__tr_check_batch, the reader's check on arrival: a walk of
 *           every event's varints, the timestamp overflow test;
 *   decode  cd__tr_decode_events, the reader's decoder, into an array of
 *           1024 cd_tr_ev at a time (as cd_trace_reader_next_batch fills);
 *   merge   a minimal time-order merge of the threads' events: the
 *           timestamps of a window of batches (about 4 M events; decoded
 *           untimed) merged through a binary heap of the threads, a
 *           thread's run of events older than every other thread's next
 *           one taken without touching the heap (as the reader does),
 *           comparing timestamps only (the reader compares thread and kind
 *           too).
 *
 * Each figure is the fastest of at least 3 passes (more on a small file),
 * in ns per event: a floor, what the step costs when it has the core and
 * the caches to itself. A reader must at least CRC, decode and merge every
 * event once, so 1000 / (crc + decode + merge) is the most events per
 * second a reader made of these steps can reach on this machine, one core.
 * The reader itself also checks each batch on arrival (to refuse a corrupt
 * one before holding it), and does what the steps here leave out: the
 * frontiers, the held bytes, the lost markers, its API.
 *
 * Output, one line on stdout (wrapped here):
 *
 *     trace_floors events=... batches=... crc_ns=... check_ns=...
 *         decode_ns=... merge_ns=... ceiling_meps=...
 *
 * ceiling_meps = 1000 / (crc_ns + decode_ns + merge_ns): millions of events
 * per second. Memory: the file (mapped whole), 64 bytes per batch, and a
 * window's timestamps (32 MiB). Exit status 1 when the file is not a cdebug trace, cannot be
 * read, or a batch fails the check (floors of a corrupt file mean nothing).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include "base/crc.h"
#include "base/trace_events.h"
#include "reader/reader_int.h"
#include <cdebug/trace_reader.h>

#define MIN_PASSES    3
#define MAX_PASSES    50
#define MIN_TIMED_NS  300000000u        /* a step runs again until it has run this long */
#define WINDOW_EVENTS ((size_t)4 << 20) /* events merged at a time */
#define MAX_THREADS   4096              /* of one window */

/* One EVENTS record: its batch header and its events' bytes. */
typedef struct batch {
    uint64_t thread, base_ts, ids[3];
    const uint8_t *p;
    size_t len;
    uint64_t n; /* events, from the check */
} batch;

/* A thread's timestamps in the current window, and the merge's cursor. */
typedef struct src {
    uint64_t thread;
    uint64_t *ts;
    size_t n, cap, pos;
} src;

typedef struct heapent {
    uint64_t ts;
    src *s;
} heapent;

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (q == NULL) {
        fprintf(stderr, "bench_trace_floors: out of memory\n");
        exit(1);
    }
    return q;
}

/* Keeps the passes' results observable, so no pass is optimized away. */
static volatile uint64_t sink;

/* What every step works on: the file's batches, its decoder, and the
 * merge's scratch space. */
typedef struct input {
    cd__tr_dec dec;
    const batch *b;
    size_t nb;
    src *s;     /* MAX_THREADS */
    heapent *h; /* MAX_THREADS */
} input;

/* ---- the steps, each over every batch; each returns its time in ns ------ */

static uint64_t step_crc(const input *in)
{
    uint64_t t0 = now_ns();
    uint32_t crc = 0;
    for (size_t i = 0; i < in->nb; i++)
        crc ^= cd__crc32(in->b[i].p, in->b[i].len);
    sink ^= crc;
    return now_ns() - t0;
}

static uint64_t step_check(const input *in)
{
    uint64_t t0 = now_ns(), total = 0, n;
    size_t bad_at;
    const char *why;
    for (size_t i = 0; i < in->nb; i++) {
        const batch *b = &in->b[i];
        cd__tr_check_batch(&in->dec, b->p, b->len, b->base_ts, &n, &bad_at, &why);
        total += n;
    }
    sink ^= total;
    return now_ns() - t0;
}

static uint64_t step_decode(const input *in)
{
    static cd_tr_ev evs[1024];
    uint64_t t0 = now_ns(), x = 0;
    for (size_t i = 0; i < in->nb; i++) {
        const batch *b = &in->b[i];
        const uint8_t *p = b->p, *end = p + b->len;
        uint64_t ts = b->base_ts, ids[3] = {b->ids[0], b->ids[1], b->ids[2]};
        size_t k;
        while ((k = cd__tr_decode_events(&in->dec, &p, end, &ts, ids, b->thread, evs, 1024)) > 0)
            x += evs[k - 1].ts;
    }
    sink ^= x;
    return now_ns() - t0;
}

static void sift_down(heapent *h, size_t n, size_t i)
{
    heapent e = h[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && h[c + 1].ts < h[c].ts)
            c++;
        if (h[c].ts >= e.ts)
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = e;
}

/* Merges the window's threads (s[0..ns), cursors at 0); returns the time
 * it took. */
static uint64_t merge_window(src *s, size_t ns, heapent *h)
{
    uint64_t t0 = now_ns(), x = 0;
    size_t n = 0;
    for (size_t i = 0; i < ns; i++)
        if (s[i].n > 0)
            h[n++] = (heapent){s[i].ts[0], &s[i]};
    for (size_t i = n / 2; i-- > 0;)
        sift_down(h, n, i);
    while (n > 0) {
        src *t = h[0].s;
        uint64_t below = UINT64_MAX;
        if (n > 1)
            below = h[1].ts;
        if (n > 2 && h[2].ts < below)
            below = h[2].ts;
        do /* the thread's run: older than every other thread's next */
            x += t->ts[t->pos++];
        while (t->pos < t->n && t->ts[t->pos] < below);
        if (t->pos == t->n)
            h[0] = h[--n];
        else
            h[0].ts = t->ts[t->pos];
        if (n > 0)
            sift_down(h, n, 0);
    }
    sink ^= x;
    return now_ns() - t0;
}

/* The merge over every batch, a window at a time; returns the time spent
 * merging (the windows' decoding is not counted). */
static uint64_t step_merge(const input *in)
{
    static cd_tr_ev evs[1024];
    const cd__tr_dec *d = &in->dec;
    const batch *b = in->b;
    size_t nb = in->nb;
    src *s = in->s;
    uint64_t spent = 0;
    size_t i = 0;
    while (i < nb) {
        size_t ns = 0, held = 0;
        for (; i < nb && held < WINDOW_EVENTS; i++) {
            size_t t = 0;
            while (t < ns && s[t].thread != b[i].thread)
                t++;
            if (t == ns) {
                if (ns == MAX_THREADS) /* this window is full of threads */
                    break;
                s[ns].thread = b[i].thread;
                s[ns].n = s[ns].pos = 0;
                ns++;
            }
            const uint8_t *p = b[i].p, *end = p + b[i].len;
            uint64_t ts = b[i].base_ts, ids[3] = {b[i].ids[0], b[i].ids[1], b[i].ids[2]};
            size_t k;
            while ((k = cd__tr_decode_events(d, &p, end, &ts, ids, b[i].thread, evs, 1024)) > 0) {
                if (s[t].n + k > s[t].cap) {
                    s[t].cap = 2 * (s[t].n + k);
                    s[t].ts = xrealloc(s[t].ts, s[t].cap * sizeof(uint64_t));
                }
                for (size_t j = 0; j < k; j++)
                    s[t].ts[s[t].n++] = evs[j].ts;
                held += k;
            }
        }
        spent += merge_window(s, ns, in->h);
    }
    return spent;
}

/* ---- the file ------------------------------------------------------------ */

/* Frames the records after the header and keeps the EVENTS batches, each
 * checked; returns their number, or -1 (said) on any problem. */
static long load_batches(const cd__tr_dec *d, const uint8_t *data, size_t len, size_t hdr,
                         batch **out)
{
    cd__tr_io io;
    cd__tr_io_init_mem(&io, data + hdr, len - hdr);
    batch *b = NULL;
    size_t nb = 0, cap = 0;
    char err[256];
    for (;;) {
        cd__tr_record rec;
        int rc = cd__tr_io_record(&io, &rec, err, sizeof(err));
        if (rc == CD__IO_EOF)
            break;
        if (rc != CD__IO_RECORD) { /* rec is set only for a bad CRC */
            if (rc == CD__IO_BADCRC)
                snprintf(err, sizeof(err), "record at offset %" PRIu64 ": bad CRC", rec.offset);
            fprintf(stderr, "bench_trace_floors: %s\n", err);
            free(b);
            return -1;
        }
        if (rec.kind == CD__REC_END)
            break;
        if (rec.kind != CD__REC_EVENTS)
            continue;
        if (nb == cap) {
            cap = cap ? 2 * cap : 1024;
            b = xrealloc(b, cap * sizeof(*b));
        }
        batch *x = &b[nb];
        const uint8_t *p = rec.payload, *end = p + rec.len;
        if (cd__tr_uv(&p, end, &x->thread) != CD__UV_OK ||
            cd__tr_uv(&p, end, &x->base_ts) != CD__UV_OK ||
            cd__tr_uv(&p, end, &x->ids[0]) != CD__UV_OK ||
            cd__tr_uv(&p, end, &x->ids[1]) != CD__UV_OK ||
            cd__tr_uv(&p, end, &x->ids[2]) != CD__UV_OK) {
            fprintf(stderr, "bench_trace_floors: bad batch header at offset %" PRIu64 "\n",
                    rec.offset);
            free(b);
            return -1;
        }
        x->p = p;
        x->len = (size_t)(end - p);
        size_t bad_at;
        const char *why;
        if (cd__tr_check_batch(d, x->p, x->len, x->base_ts, &x->n, &bad_at, &why) < 0) {
            fprintf(stderr, "bench_trace_floors: batch at offset %" PRIu64 ": %s\n", rec.offset,
                    why);
            free(b);
            return -1;
        }
        nb++;
    }
    *out = b;
    return (long)nb;
}

/* The fastest of a step's passes, in ns: MIN_PASSES, and more while they
 * have run less than MIN_TIMED_NS in all (up to MAX_PASSES), so that a
 * small file's passes, a few ms each, outlast a burst of other load. */
static uint64_t best_of(uint64_t (*step)(const input *), const input *in)
{
    uint64_t best = UINT64_MAX, total = 0;
    for (int pass = 0; pass < MIN_PASSES || (total < MIN_TIMED_NS && pass < MAX_PASSES); pass++) {
        uint64_t t = step(in);
        total += t;
        if (t < best)
            best = t;
    }
    return best;
}

int main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: %s FILE   (a cdebug trace; prints each reader step's ns/event)\n",
                argv[0]);
        return 2;
    }
    const char *path = argv[1];
    /* The header, by the reader itself: version and size, or the reason
     * the file is not a trace. */
    cd_trace_reader *r;
    int rc = cd_trace_reader_open(&r, path, NULL);
    if (rc < 0) {
        fprintf(stderr, "bench_trace_floors: %s: %s\n", path, cd_tr_strerror(rc));
        return 1;
    }
    cd_tr_header hdr = *cd_trace_reader_header(r);
    cd_trace_reader_close(r);

    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0 || (size_t)sb.st_size <= hdr.header_size) {
        fprintf(stderr, "bench_trace_floors: %s: %s\n", path,
                fd < 0 ? strerror(errno) : "nothing after the header");
        return 1;
    }
    size_t len = (size_t)sb.st_size;
    const uint8_t *data = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
    close(fd);
    if (data == MAP_FAILED) {
        fprintf(stderr, "bench_trace_floors: %s: mmap: %s\n", path, strerror(errno));
        return 1;
    }

    input in;
    cd__tr_dec_init(&in.dec, hdr.version);
    batch *b;
    long nbl = load_batches(&in.dec, data, len, hdr.header_size, &b);
    if (nbl <= 0) {
        if (nbl == 0)
            fprintf(stderr, "bench_trace_floors: %s holds no event\n", path);
        return 1;
    }
    size_t nb = (size_t)nbl;
    uint64_t events = 0;
    for (size_t i = 0; i < nb; i++)
        events += b[i].n;
    if (events == 0) {
        fprintf(stderr, "bench_trace_floors: %s holds no event\n", path);
        return 1;
    }

    in.b = b;
    in.nb = nb;
    in.s = calloc(MAX_THREADS, sizeof(*in.s));
    in.h = calloc(MAX_THREADS, sizeof(*in.h));
    if (in.s == NULL || in.h == NULL) {
        fprintf(stderr, "bench_trace_floors: out of memory\n");
        return 1;
    }
    uint64_t t_crc = best_of(step_crc, &in), t_check = best_of(step_check, &in);
    uint64_t t_decode = best_of(step_decode, &in), t_merge = best_of(step_merge, &in);
    double ev = (double)events;
    double crc = t_crc / ev, check = t_check / ev, decode = t_decode / ev, merge = t_merge / ev;
    printf("trace_floors events=%" PRIu64 " batches=%zu crc_ns=%.2f check_ns=%.2f"
           " decode_ns=%.2f merge_ns=%.2f ceiling_meps=%.1f\n",
           events, nb, crc, check, decode, merge, 1000.0 / (crc + decode + merge));
    for (size_t i = 0; i < MAX_THREADS; i++)
        free(in.s[i].ts);
    free(in.s);
    free(in.h);
    free(b);
    munmap((void *)data, len);
    return 0;
}

/* trace/flight.c - the flight recorder: an always-on trace kept in memory.
 *
 * The flight recorder is an ordinary trace session whose sink is memory.
 * The writer cuts the session into segments: each begins with a state
 * snapshot (threads, workers, live tasks) and holds every record written
 * until the next one, so a window that starts at a segment boundary is
 * self-contained. Segments are cut every window/10 (at least every
 * 100 ms); a segment is dropped as soon as the next one alone reaches back
 * past the window, or when the ring exceeds CD__FLIGHT_MAX_BYTES. So the
 * ring holds the last window plus at most one segment (10%), bounded in
 * bytes either way. Records that do not fit because one segment alone
 * outgrew the bound are counted (count_dropped) and come back as LOST
 * records after the next segment's snapshot, so a reader knows.
 *
 * Tables (STRINGS, STACKS, SYMBOLS) are kept for the whole session, apart
 * from the segments: any kept event may use any entry. Their size is
 * bounded by the interner (runtime/trace_intern.c, 16 MiB).
 *
 * cd_flight_write asks the writer for a fresh sweep (so the window ends
 * "now", not up to 100 ms ago), copies header, tables and segments under
 * the ring's lock, and writes the copy without holding it: a slow reader
 * (an HTTP client) never stalls recording. The copy costs as much memory
 * as the ring for the duration of the write.
 *
 * Locking: the ring's mutex. The writer thread appends under it (a memcpy
 * per record); cd_flight_write copies under it, holding ctl (start, stop,
 * copy) first (the lock order is at ctl). Nothing here runs on the
 * recording hot path.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/io.h"
#include "cdebug/trace.h"
#include "runtime/env.h"
#include "runtime/start.h"
#include "base/trace_events.h"
#include "trace/flight.h"
#include "reader/reader_int.h"
#include "runtime/trace_recorder.h"
#include "trace/writer.h"

typedef struct seg {
    struct seg *next;
    uint64_t ts;         /* its snapshot's timestamp */
    size_t len, cap;     /* bytes of whole records */
    size_t frontier_len; /* bytes up to and including its last FRONTIER */
    uint8_t *p;
} seg;

/* Threads whose dropped events are told apart; more share the last slot,
 * reported as thread 0 ("some threads"). */
#define LOST_THREADS 64

typedef struct flight {
    cd__tsink sink;
    /* The ring. Lock order (written whole at trace/writer.c's ctl): taken
     * under this file's ctl (cd__flight_copy) or trace/writer.c's (the
     * sink's callbacks during a start or a stop), or by the writer thread
     * holding nothing; nothing of the recorder is locked under it. */
    pthread_mutex_t lock;
    pthread_cond_t frontier_cond;
    uint8_t header[CD__TRACE_HEADER_SIZE];
    bool have_header;
    uint8_t *tables;
    size_t tables_len, tables_cap;
    seg *head, *tail;
    size_t seg_bytes; /* sum of segments' cap */
    uint64_t window_ticks;
    uint64_t frontiers; /* FRONTIER records seen */
    size_t max_bytes;   /* CD__FLIGHT_MAX_BYTES (a smaller one in tests) */
    /* Events of records dropped because one segment alone went over
     * max_bytes, per thread, not yet reported: they go into the ring as
     * LOST records as soon as a record fits again (see file_record). */
    struct lost_count {
        uint64_t thread, events, batches;
    } lost[LOST_THREADS];
    int nlost;
    int alloc_failed;
} flight;

/* Serialises start, stop and cd__flight_copy. Lock order (written whole
 * at trace/writer.c's ctl): taken with no lock of the recorder held,
 * never together with trace/api.c's start_lock; trace/writer.c's ctl
 * (start, stop) and a flight's ring lock (cd__flight_copy) are taken
 * under it. */
static pthread_mutex_t ctl = PTHREAD_MUTEX_INITIALIZER;
/* Written under ctl with atomic stores; read under ctl, or without it by
 * cd_flight_enabled (an atomic load: async-signal-safe). */
static flight *running_flight;

/* ---- the ring ------------------------------------------------------------ */

/* Appends p[0..n) to a segment or the tables; 0 or -ENOMEM, at once.
 * Not base/buf.h's buffer on purpose: a segment's capacity, in whole
 * powers of two from 64 KiB, is what the recorder's memory bound counts
 * (seg_bytes against max_bytes, evict), and base/buf.h's keeps a byte for
 * a NUL, which would double a segment one byte early. */
static int append(uint8_t **buf, size_t *len, size_t *cap, const uint8_t *p, size_t n)
{
    if (*len + n > *cap) {
        size_t ncap = *cap ? *cap * 2 : 64 * 1024;
        while (ncap < *len + n)
            ncap *= 2;
        uint8_t *np = realloc(*buf, ncap);
        if (np == NULL)
            return -ENOMEM;
        *buf = np;
        *cap = ncap;
    }
    memcpy(*buf + *len, p, n);
    *len += n;
    return 0;
}

static void seg_drop_head(flight *f)
{
    seg *s = f->head;
    f->head = s->next;
    f->seg_bytes -= s->cap;
    free(s->p);
    free(s);
}

/* Drops the oldest segments that the window no longer needs (lock held). */
static void evict(flight *f, uint64_t now)
{
    while (f->head != f->tail && f->head->next->ts + f->window_ticks <= now)
        seg_drop_head(f);
    while (f->head != f->tail && f->seg_bytes > f->max_bytes)
        seg_drop_head(f);
}

/* Adds a dropped record's loss to f->lost (lock held): an EVENTS record
 * (thread, and its events counted by walking them), or a LOST record's
 * own counts. Other kinds carry no events. */
static void count_dropped(flight *f, const uint8_t *p, size_t n)
{
    size_t hl = 1;
    while (hl < n && (p[hl] & 0x80))
        hl++;
    const uint8_t *q = p + hl + 1, *end = p + n - 4; /* payload; CRC off */
    uint64_t v[5];
    int nv = p[0] == CD__REC_LOST ? 3 : 5; /* LOST fields / EVENTS header */
    if (p[0] != CD__REC_EVENTS && p[0] != CD__REC_LOST)
        return;
    for (int i = 0; i < nv; i++)
        if (cd__tr_uv(&q, end, &v[i]) != 0)
            return;
    uint64_t thread = v[0], events = v[1], batches = v[2];
    if (p[0] == CD__REC_EVENTS) {
        events = 0;
        batches = 1;
        while (q < end) { /* type byte, dts, its arguments (one fewer with the same-id bit) */
            unsigned type = *q & ~CD__EV_SAME_TASK;
            int nargs = type <= CD__EV_MAX ? cd__trace_nargs[type] : 0xff;
            if (nargs == 0xff)
                break;
            nargs -= (*q++ & CD__EV_SAME_TASK) ? 1 : 0;
            uint64_t skip;
            for (int i = 0; i <= nargs; i++)
                if (cd__tr_uv(&q, end, &skip) != 0)
                    goto counted;
            events++;
        }
    }
counted:;
    int i = 0;
    while (i < f->nlost && f->lost[i].thread != thread)
        i++;
    if (i == f->nlost) {
        if (f->nlost == LOST_THREADS) {
            i = LOST_THREADS - 1;
            f->lost[i].thread = 0;
        } else {
            f->lost[f->nlost++] = (struct lost_count){.thread = thread};
        }
    }
    f->lost[i].events += events;
    f->lost[i].batches += batches;
}

/* Appends f->lost to segment s as LOST records and clears it (lock held). */
static int flush_lost(flight *f, seg *s)
{
    for (int i = 0; i < f->nlost; i++) {
        uint8_t payload[30], rec[CD__TRACE_MAX_FRAMED(30)];
        uint8_t *e = cd__uv_put(payload, f->lost[i].thread);
        e = cd__uv_put(e, f->lost[i].events);
        e = cd__uv_put(e, f->lost[i].batches);
        size_t rl = cd__writer_frame(rec, CD__REC_LOST, payload, (size_t)(e - payload));
        size_t before = s->cap;
        int rc = append(&s->p, &s->len, &s->cap, rec, rl);
        f->seg_bytes += s->cap - before;
        if (rc != 0)
            return rc;
    }
    f->nlost = 0;
    return 0;
}

/* Files one whole record (lock held). */
static int file_record(flight *f, const uint8_t *p, size_t n)
{
    switch (p[0]) {
    case CD__REC_STRINGS:
    case CD__REC_STACKS:
    case CD__REC_SYMBOLS:
        return append(&f->tables, &f->tables_len, &f->tables_cap, p, n);
    case CD__REC_END:
        return 0; /* cd_flight_write ends its own copy */
    default:
        break;
    }
    seg *s = f->tail;
    if (s == NULL)
        return 0; /* before the first segment: nothing refers to it */
    size_t before = s->cap;
    if (f->seg_bytes + n > f->max_bytes && f->head == s) {
        /* One segment alone is over the bound: drop (counted, reported
         * in the next segment), and cut soon. */
        count_dropped(f, p, n);
        atomic_store(&f->sink.want_segment, true);
        return 0;
    }
    int rc = append(&s->p, &s->len, &s->cap, p, n);
    f->seg_bytes += s->cap - before;
    if (rc == 0 && f->nlost > 0)
        rc = flush_lost(f, s); /* the first record that fits again: usually
                                  the next segment's snapshot */
    if (f->seg_bytes > f->max_bytes)
        evict(f, 0);
    return rc;
}

/* Length of the record at p (kind, uvarint length, payload, crc32), or 0
 * when the bytes do not hold one whole record. */
static size_t record_len(const uint8_t *p, size_t avail)
{
    uint64_t len = 0;
    size_t i = 1;
    for (int shift = 0; i < avail && shift < 64; shift += 7) {
        uint8_t b = p[i++];
        len |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (len > avail || i + len + 4 > avail)
                return 0;
            return i + (size_t)len + 4;
        }
    }
    return 0;
}

static int flight_write(cd__tsink *sk, const struct iovec *iov, int n)
{
    flight *f = sk->ctx;
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    /* One contiguous view: the writer's records come in three pieces
     * (head, payload, crc). */
    const uint8_t *p = iov[0].iov_base;
    uint8_t *flat = NULL;
    if (n > 1) {
        flat = malloc(total ? total : 1);
        if (flat == NULL)
            return -ENOMEM;
        size_t off = 0;
        for (int i = 0; i < n; i++) {
            if (iov[i].iov_len == 0)
                continue; /* an empty payload may have no base */
            memcpy(flat + off, iov[i].iov_base, iov[i].iov_len);
            off += iov[i].iov_len;
        }
        p = flat;
    }
    int rc = 0;
    pthread_mutex_lock(&f->lock);
    if (!f->have_header) {
        if (total == CD__TRACE_HEADER_SIZE) {
            memcpy(f->header, p, total);
            f->have_header = true;
        } else {
            rc = -EINVAL;
        }
    } else {
        for (size_t off = 0; off < total && rc == 0;) {
            size_t rl = record_len(p + off, total - off);
            if (rl == 0) {
                rc = -EINVAL; /* the writer only hands whole records */
                break;
            }
            rc = file_record(f, p + off, rl);
            off += rl;
        }
    }
    pthread_mutex_unlock(&f->lock);
    free(flat);
    return rc;
}

static void flight_frontier(cd__tsink *sk, uint64_t ts)
{
    flight *f = sk->ctx;
    pthread_mutex_lock(&f->lock);
    if (f->tail != NULL)
        f->tail->frontier_len = f->tail->len;
    f->frontiers++;
    evict(f, ts);
    pthread_cond_broadcast(&f->frontier_cond);
    pthread_mutex_unlock(&f->lock);
}

static void flight_segment(cd__tsink *sk, uint64_t ts)
{
    flight *f = sk->ctx;
    seg *s = calloc(1, sizeof *s);
    pthread_mutex_lock(&f->lock);
    if (s == NULL) {
        f->alloc_failed = 1; /* the current segment goes on */
    } else {
        s->ts = ts;
        if (f->tail != NULL)
            f->tail->next = s;
        else
            f->head = s;
        f->tail = s;
        evict(f, ts);
    }
    pthread_mutex_unlock(&f->lock);
}

static void flight_free(flight *f)
{
    while (f->head != NULL)
        seg_drop_head(f);
    free(f->tables);
    pthread_mutex_destroy(&f->lock);
    pthread_cond_destroy(&f->frontier_cond);
    free(f);
}

/* ---- public API ------------------------------------------------------- */

int cd_flight_start(double seconds)
{
    if (!(seconds > 0 && seconds <= CD__FLIGHT_MAX_SECONDS)) /* NaN too */
        return -EINVAL;
    cd__ensure_init();
    flight *f = calloc(1, sizeof *f);
    if (f == NULL)
        return -ENOMEM;
    pthread_mutex_init(&f->lock, NULL);
    pthread_cond_init(&f->frontier_cond, NULL);
    /* CDEBUG_FLIGHT_MAX_BYTES: a smaller bound, for tests that must go
     * over it (not a user setting: docs/trace-format.md). */
    f->max_bytes = CD__FLIGHT_MAX_BYTES;
    const char *mb = cd__getenv("CDEBUG_FLIGHT_MAX_BYTES");
    if (mb != NULL) {
        char *endp;
        errno = 0;
        unsigned long long v = strtoull(mb, &endp, 10);
        if (*mb >= '0' && *mb <= '9' && *endp == '\0' && errno == 0 && v >= 65536 &&
            v <= CD__FLIGHT_MAX_BYTES)
            f->max_bytes = (size_t)v;
        else
            fprintf(stderr,
                    "cdebug: CDEBUG_FLIGHT_MAX_BYTES=%.32s ignored: want bytes from 65536 to "
                    "%u\n",
                    mb, (unsigned)CD__FLIGHT_MAX_BYTES);
    }
    double hz = (double)cd__trace_tick_hz();
    f->window_ticks = (uint64_t)(seconds * hz);
    double seg_s = seconds / 10 < 0.1 ? 0.1 : seconds / 10;
    f->sink = (cd__tsink){.write = flight_write,
                          .frontier = flight_frontier,
                          .segment = flight_segment,
                          .segment_ticks = (uint64_t)(seg_s * hz),
                          .fd = -1,
                          .ctx = f};
    pthread_mutex_lock(&ctl);
    int rc = running_flight != NULL ? -EBUSY : cd__writer_start(&f->sink, CD__TRACE_FLAG_FLIGHT);
    if (rc == 0)
        __atomic_store_n(&running_flight, f, __ATOMIC_RELEASE);
    pthread_mutex_unlock(&ctl);
    if (rc != 0)
        flight_free(f);
    return rc;
}

int cd_flight_stop(void)
{
    pthread_mutex_lock(&ctl);
    flight *f = running_flight;
    __atomic_store_n(&running_flight, NULL, __ATOMIC_RELEASE);
    int rc = f == NULL ? -ENOENT : cd__writer_stop_sink(&f->sink);
    pthread_mutex_unlock(&ctl);
    if (f != NULL)
        flight_free(f);
    return rc == -ENOENT && f != NULL ? 0 : rc;
}

bool cd_flight_enabled(void)
{
    /* No lock: cd_flight_write holds ctl for up to a second, and this must
     * be callable from a signal handler, like cd_trace_enabled. */
    return __atomic_load_n(&running_flight, __ATOMIC_ACQUIRE) != NULL;
}

/* The window as one self-contained trace in a malloc'd buffer (lock held):
 * header (flight flag, start at the first segment), tables, segments up to
 * the last frontier, END. */
static int snapshot_window(flight *f, uint8_t **out, size_t *outlen)
{
    if (!f->have_header || f->head == NULL || f->alloc_failed)
        return f->alloc_failed ? -ENOMEM : -EAGAIN;
    size_t total = CD__TRACE_HEADER_SIZE + f->tables_len + 2 + 4;
    for (seg *s = f->head; s != NULL; s = s->next)
        total += s == f->tail ? s->frontier_len : s->len;
    uint8_t *b = malloc(total);
    if (b == NULL)
        return -ENOMEM;
    /* Header: same clock, the window's own start. */
    uint64_t v[4];
    for (int i = 0; i < 4; i++) {
        v[i] = 0;
        for (int k = 0; k < 8; k++)
            v[i] |= (uint64_t)f->header[8 + 8 * i + k] << (8 * k);
    }
    uint64_t hz = v[1], old_start = v[2], new_start = f->head->ts;
    v[0] |= (uint64_t)CD__TRACE_FLAG_FLIGHT << 32;
    if (hz != 0 && new_start > old_start)
        v[3] += (uint64_t)((unsigned __int128)(new_start - old_start) * 1000000000u / hz);
    v[2] = new_start;
    memcpy(b, f->header, 8);
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 8; k++)
            b[8 + 8 * i + k] = (uint8_t)(v[i] >> (8 * k));
    size_t off = CD__TRACE_HEADER_SIZE;
    /* Empty parts may have no buffer at all (a session that interned
     * nothing yet has no tables): memcpy from NULL is undefined even for
     * 0 bytes. */
    if (f->tables_len > 0)
        memcpy(b + off, f->tables, f->tables_len);
    off += f->tables_len;
    for (seg *s = f->head; s != NULL; s = s->next) {
        size_t n = s == f->tail ? s->frontier_len : s->len;
        if (n > 0)
            memcpy(b + off, s->p, n);
        off += n;
    }
    /* END: kind, length 0, the CRC-32 of nothing (0). */
    static const uint8_t end[6] = {CD__REC_END, 0, 0, 0, 0, 0};
    memcpy(b + off, end, sizeof end);
    off += sizeof end;
    *out = b;
    *outlen = off;
    return 0;
}

int cd_flight_write(int fd)
{
    int rc = cd__fd_writable(fd);
    if (rc != 0)
        return rc;
    uint8_t *buf;
    size_t len;
    rc = cd__flight_copy(&buf, &len);
    if (rc != 0)
        return rc;
    cd__tsink out = {.fd = fd};
    struct iovec iov = {buf, len};
    rc = cd__tsink_fd_write(&out, &iov, 1);
    free(buf);
    return rc;
}

int cd__flight_copy(uint8_t **out, size_t *outlen)
{
    pthread_mutex_lock(&ctl);
    flight *f = running_flight;
    if (f == NULL) {
        pthread_mutex_unlock(&ctl);
        return -ENOENT;
    }
    /* A fresh frontier, so the window ends now (1 s at most). */
    pthread_mutex_lock(&f->lock);
    uint64_t seen = f->frontiers;
    cd__trace_request_frontier();
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    while (f->frontiers == seen && pthread_cond_timedwait(&f->frontier_cond, &f->lock, &until) == 0)
        ;
    int rc = snapshot_window(f, out, outlen);
    pthread_mutex_unlock(&f->lock);
    pthread_mutex_unlock(&ctl);
    return rc;
}

/* The parent's recorder (cd__flight_fork_child): reachable for
 * LeakSanitizer, never read. */
static flight *volatile fork_ghost;

void cd__flight_fork_child(void)
{
    /* A thread of the parent's may have held ctl at the fork (a
     * cd_flight_write waits up to 1 s under it). */
    ctl = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    fork_ghost = running_flight;
    __atomic_store_n(&running_flight, NULL, __ATOMIC_RELAXED);
}

void cd__flight_env_start(double seconds)
{
    int rc = cd_flight_start(seconds);
    if (rc != 0)
        fprintf(stderr, "cdebug: flight: cannot start the flight recorder: %s\n", cd_strerror(rc));
}

/* http/trace_route.c - GET /debug/pprof/trace.
 *
 * Go's handler starts runtime/trace writing into the response, sleeps for
 * `seconds`, and stops. Here the trace writer thread (trace/writer.c)
 * writes into a byte queue, and libmicrohttpd pulls from the queue with a
 * content-reader callback. The server has one polling thread, which must
 * never wait for trace bytes: when the queue is empty the callback
 * suspends the connection (MHD_suspend_connection) and the next write
 * resumes it. A small "timer" thread ends the trace after `seconds`, or
 * at once when the client goes away.
 *
 * Going away is noticed because the writer writes every 100 ms (a
 * FRONTIER record at least): each write resumes the connection, sending
 * fails, libmicrohttpd destroys the response, and the free callback
 * cancels the timer, which stops the recording. A disconnected client
 * thus stops the trace, and frees its memory, within about 200 ms.
 *
 * A slow client fills the queue up to CD__HTTP_TRACE_QUEUE_MAX; then the
 * writer waits for room, producers run out of spare buffers, and whole
 * batches are dropped and counted in LOST records: never a corrupt stream,
 * never unbounded memory.
 *
 * The suspend/resume protocol, the stream's lifetime and the server-stop
 * path are http/stream.c's (shared with /debug/pprof/profile); the timer
 * thread is this route's controller.
 *
 * ?format=go answers Go 1.19's execution trace instead, for `go tool
 * trace` (reader/go_writer.c converts). The conversion needs the whole
 * recording in order (the reader merges the threads' batches by time), so
 * this mode records the `seconds` into memory first, bounded by
 * CD__HTTP_TRACE_GO_RECORD_MAX (a busier program's trace ends early: a
 * shorter Go trace), then the same controller thread opens a reader over
 * the recording and converts it into the same bounded queue the server
 * thread drains. While recording nothing is sent, so the controller polls
 * the socket for a hang-up (like /debug/pprof/profile); while converting a
 * slow client makes the converter wait (nothing is dropped: the recording
 * is over), and a client gone makes the queue refuse (-EPIPE) and the
 * conversion stop. The stream keeps the route's slot until the
 * conversion ends, and a new trace waits for that (500, one trace at a
 * time), so cd_http_stop always finds the live stream.
 *
 * Errors follow Go: an unparsable, zero or negative `seconds` means 1; a
 * second trace while one runs gets 500 "Could not enable tracing: tracing
 * is already enabled" with X-Go-Pprof: 1. Where Go would sleep for ever
 * (seconds=1e9, inf) cdebug answers 400: see CD__HTTP_TRACE_MAX_SECONDS.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cdebug/cdebug.h"
#include "http/pprof_common.h"
#include "http/response.h"
#include "http/router.h"
#include "http/stream.h"
#include "http/trace_route.h"
#include "reader/go_writer.h"
#include "runtime/thread.h"
#include "trace/flight.h"
#include "trace/writer.h"

typedef struct tstream {
    cd__hstream h;  /* first: the stream callbacks get &h */
    cd__tsink sink; /* the writer hands it back to stream_write (ctx) */
    /* Queued bytes [off, off+len); h.lock. A FIFO the server thread drains
     * from the front (off), bounded by CD__HTTP_TRACE_QUEUE_MAX, whose
     * failed growth fails one write (-ENOMEM) and leaves the queue as it
     * was: not base/buf.h's append-only buffer. */
    uint8_t *q;
    size_t off, len, cap;
    bool eof; /* the trace ended: END is queued */
    /* format=go */
    bool failed;       /* h.lock: the Go trace could not be completed */
    _Atomic bool full; /* the recording reached its bound */
    int sock;          /* the connection's socket, or -1 */
    uint8_t *rec;      /* the recording: writer thread, then controller */
    size_t rec_len, rec_cap;
} tstream;

/* The running stream (one trace at a time), for cd__http_trace_shutdown. */
static cd__hstream_slot slot = CD__HSTREAM_SLOT_INIT;

static void stream_destroy(cd__hstream *h)
{
    tstream *s = (tstream *)h;
    free(s->q);
    free(s->rec);
    free(s);
}

/* Queues the bytes, wakes the reader. Waits while the queue is full (the
 * client is slower than the producer). -EPIPE once the response is closed. */
static int queue_write(tstream *s, const struct iovec *iov, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    pthread_mutex_lock(&s->h.lock);
    while (!s->h.closed && !s->h.cancel && s->len > 0 &&
           s->len + total > CD__HTTP_TRACE_QUEUE_MAX) {
        if (cd__hstream_take_suspended(&s->h)) {
            pthread_mutex_unlock(&s->h.lock);
            MHD_resume_connection(s->h.conn);
            pthread_mutex_lock(&s->h.lock);
            continue;
        }
        pthread_cond_wait(&s->h.cond, &s->h.lock);
    }
    if (s->h.closed) {
        pthread_mutex_unlock(&s->h.lock);
        return -EPIPE;
    }
    if (s->off + s->len + total > s->cap) {
        /* Compact, then grow if needed. */
        if (s->len > 0)
            memmove(s->q, s->q + s->off, s->len);
        s->off = 0;
        if (s->len + total > s->cap) {
            size_t cap = s->cap ? s->cap : 64 * 1024;
            while (cap < s->len + total)
                cap *= 2;
            uint8_t *q = realloc(s->q, cap);
            if (q == NULL) {
                pthread_mutex_unlock(&s->h.lock);
                return -ENOMEM;
            }
            s->q = q;
            s->cap = cap;
        }
    }
    for (int i = 0; i < n; i++) {
        if (iov[i].iov_len == 0)
            continue; /* an empty payload may have no base */
        memcpy(s->q + s->off + s->len, iov[i].iov_base, iov[i].iov_len);
        s->len += iov[i].iov_len;
    }
    pthread_mutex_unlock(&s->h.lock);
    cd__hstream_wake(&s->h);
    return 0;
}

/* The writer's sink (format=cdebug). */
static int stream_write(cd__tsink *sk, const struct iovec *iov, int n)
{
    return queue_write(sk->ctx, iov, n);
}

/* libmicrohttpd's content reader, on the server thread. Never waits. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    tstream *s = cls;
    pthread_mutex_lock(&s->h.lock);
    if (s->len > 0) {
        size_t n = s->len < max ? s->len : max;
        memcpy(buf, s->q + s->off, n);
        s->off += n;
        s->len -= n;
        if (s->len == 0)
            s->off = 0;
        pthread_cond_broadcast(&s->h.cond); /* room for the writer */
        pthread_mutex_unlock(&s->h.lock);
        return (ssize_t)n;
    }
    if (s->eof) {
        bool failed = s->failed;
        pthread_mutex_unlock(&s->h.lock);
        /* An error ends the chunked stream without its last chunk: the
         * client sees a failed transfer, not a short file. */
        return failed ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
    }
    /* Nothing yet: sleep until stream_write or the timer resumes us. */
    bool wait = cd__hstream_suspend_locked(&s->h);
    pthread_mutex_unlock(&s->h.lock);
    return wait ? 0 : MHD_CONTENT_READER_END_WITH_ERROR;
}

/* The controller: ends the trace at the deadline, or when the response
 * is closed or the server stops. */
static void *stream_timer(void *arg)
{
    tstream *s = arg;
    pthread_mutex_lock(&s->h.lock);
    while (!s->h.cancel && !s->h.closed &&
           pthread_cond_timedwait(&s->h.cond, &s->h.lock, &s->h.deadline) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&s->h.lock);
    (void)cd__writer_stop_sink(&s->sink); /* queues the rest and END */
    pthread_mutex_lock(&s->h.lock);
    s->eof = true;
    pthread_mutex_unlock(&s->h.lock);
    cd__hstream_wake(&s->h);
    cd__hstream_slot_leave(&slot, &s->h);
    cd__hstream_unref(&s->h);
    return NULL;
}

/* ---- format=go ---------------------------------------------------------- */

/* The writer's sink for format=go: appends to the recording, whole records
 * only. Past CD__HTTP_TRACE_GO_RECORD_MAX it refuses the call (-EFBIG: the
 * writer then stops tracing) and flags the controller, which ends the
 * recording: what was recorded is whole records, converted as a shorter
 * trace. Writer thread. */
static int record_write(cd__tsink *sk, const struct iovec *iov, int n)
{
    tstream *s = sk->ctx;
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    if (total > CD__HTTP_TRACE_GO_RECORD_MAX - s->rec_len) {
        atomic_store(&s->full, true);
        return -EFBIG;
    }
    if (s->rec_len + total > s->rec_cap) {
        size_t cap = s->rec_cap ? s->rec_cap : (size_t)1 << 20;
        while (cap < s->rec_len + total)
            cap *= 2;
        if (cap > CD__HTTP_TRACE_GO_RECORD_MAX)
            cap = CD__HTTP_TRACE_GO_RECORD_MAX;
        uint8_t *p = realloc(s->rec, cap);
        if (p == NULL) {
            atomic_store(&s->full, true);
            return -ENOMEM;
        }
        s->rec = p;
        s->rec_cap = cap;
    }
    for (int i = 0; i < n; i++) {
        if (iov[i].iov_len == 0)
            continue; /* an empty payload may have no base */
        memcpy(s->rec + s->rec_len, iov[i].iov_base, iov[i].iov_len);
        s->rec_len += iov[i].iov_len;
    }
    return 0;
}

/* The Go writer's output: into the queue; refused once the server stops
 * (cd_http_stop waits 2 s at most: the client loses the tail). */
static int go_out(void *ud, const void *buf, size_t n)
{
    tstream *s = ud;
    pthread_mutex_lock(&s->h.lock);
    bool cancel = s->h.cancel;
    pthread_mutex_unlock(&s->h.lock);
    if (cancel)
        return -ECANCELED;
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = n};
    return queue_write(s, &iov, 1);
}

/* Converts the recording into the queue. Returns 0 or a negative errno
 * (-EPIPE: the client went away). Controller thread. */
static int go_convert(tstream *s)
{
    cd_trace_reader *r = NULL;
    cd__go_writer *g = NULL;
    /* The reader's own bounds, below its defaults: the recording is at
     * most CD__HTTP_TRACE_GO_RECORD_MAX, and its tables cannot outgrow it
     * by much; events held past 16 MiB are delivered early (and clamped
     * below). docs/http.md sums the bound. */
    cd_tr_opts o = {.max_held_bytes = CD__HTTP_TRACE_GO_HELD_MAX,
                    .max_table_bytes = CD__HTTP_TRACE_GO_RECORD_MAX};
    int rc = cd_trace_reader_open_mem(&r, s->rec, s->rec_len, &o);
    if (rc < 0)
        goto cleanup;
    if ((g = cd__go_new(r, go_out, s)) == NULL) {
        rc = -ENOMEM;
        goto cleanup;
    }
    cd_tr_event ev;
    int64_t now = 0;
    while ((rc = cd_trace_reader_next(r, &ev)) == 1) {
        /* The clock never goes back (cd__go_event's contract): a late
         * event happens at the previous time; one before the start at 0. */
        int64_t ns = cd_trace_reader_ns(r, ev.ts);
        if (ns > now)
            now = ns;
        if ((rc = cd__go_event(g, &ev, now)) < 0)
            goto cleanup;
    }
    /* A recording cut by its bound ends after a whole record but without
     * END (-ENODATA): what was read is converted all the same. */
    if (rc == -ENODATA && atomic_load(&s->full))
        rc = 0;
    if (rc == 0)
        rc = cd__go_finish(g);
cleanup:
    cd__go_free(g);
    cd_trace_reader_close(r);
    return rc;
}

/* The controller of format=go: records until the deadline (or a hang-up,
 * a cancel, a full recording), stops the trace, converts. */
static void *go_control(void *arg)
{
    tstream *s = arg;
    bool gone = false;
    for (;;) {
        pthread_mutex_lock(&s->h.lock);
        bool stop = s->h.cancel || s->h.closed;
        pthread_mutex_unlock(&s->h.lock);
        int64_t left = cd__hstream_ms_until(&s->h.deadline);
        if (stop || left <= 0 || atomic_load(&s->full))
            break;
        int ms = left < 100 ? (int)left : 100;
        if (cd__hstream_peer_gone(s->sock, ms)) {
            gone = true; /* Go's handler would fail its writes: stop now */
            break;
        }
    }
    (void)cd__writer_stop_sink(&s->sink); /* -EFBIG when the recording filled */
    pthread_mutex_lock(&s->h.lock);
    gone = gone || s->h.cancel || s->h.closed; /* no one to convert for */
    pthread_mutex_unlock(&s->h.lock);
    int rc = gone ? -ECANCELED : go_convert(s);
    free(s->rec); /* the writer is stopped: the recording is ours */
    s->rec = NULL;
    pthread_mutex_lock(&s->h.lock);
    s->eof = true;
    s->failed = rc < 0;
    pthread_mutex_unlock(&s->h.lock);
    cd__hstream_wake(&s->h);
    cd__hstream_slot_leave(&slot, &s->h);
    cd__hstream_unref(&s->h);
    return NULL;
}

static void stop_trace(cd__hstream *h)
{
    (void)cd__writer_stop_sink(&((tstream *)h)->sink);
}

static void trace_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Content-Type", "application/octet-stream");
    MHD_add_response_header(r, "Content-Disposition", "attachment; filename=\"trace\"");
}

/* ?flight=1: the flight recorder's window, in one buffer. */
static enum MHD_Result serve_flight(const cd__http_req *req)
{
    uint8_t *buf;
    size_t len;
    int rc = cd__flight_copy(&buf, &len);
    if (rc == -ENOENT)
        return cd__pprof_error(req, MHD_HTTP_BAD_REQUEST,
                               "flight recorder is not running (start it with "
                               "CDEBUG=flight=SECONDS or cd_flight_start)\n");
    if (rc != 0)
        return cd__pprof_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                               "Could not write the flight recorder's window: %s\n",
                               cd_strerror(rc));
    struct MHD_Response *r = MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(buf);
        return MHD_NO;
    }
    trace_headers(r);
    enum MHD_Result res = MHD_queue_response(req->conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return res;
}

/* Go's strconv.ParseFloat on the whole value, then "sec <= 0 || err:
 * 1 s". NaN is treated as an error too. */
static double parse_seconds(const char *v)
{
    if (v == NULL || *v == '\0')
        return 1;
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (*end != '\0' || end == v || isnan(d) || d <= 0)
        return 1;
    return d; /* ERANGE overflow gives HUGE_VAL: refused by the caller */
}

static enum MHD_Result serve_trace(const cd__http_req *req, void *ctx)
{
    (void)ctx;
    /* format: Go's handler has none; cdebug's own format stays the
     * default, go is Go 1.19's for go tool trace. */
    const char *format = cd__http_query(req, "format");
    bool go = format != NULL && strcmp(format, "go") == 0;
    if (format != NULL && !go && strcmp(format, "cdebug") != 0)
        return cd__pprof_error(req, MHD_HTTP_BAD_REQUEST,
                               "bad format value \"%.32s\": want go or cdebug\n", format);
    const char *flight = cd__http_query(req, "flight");
    if (flight != NULL && strcmp(flight, "0") != 0 && strcmp(flight, "") != 0) {
        if (strcmp(flight, "1") != 0)
            return cd__pprof_error(req, MHD_HTTP_BAD_REQUEST,
                                   "bad flight value \"%.32s\": want 0 or 1\n", flight);
        if (go)
            return cd__pprof_error(req, MHD_HTTP_BAD_REQUEST,
                                   "format=go does not apply to flight=1: convert the window "
                                   "with cdebug-trace export --format=go\n");
        if (req->head)
            goto head;
        return serve_flight(req);
    }
    double sec = parse_seconds(cd__http_query(req, "seconds"));
    if (sec > CD__HTTP_TRACE_MAX_SECONDS)
        return cd__pprof_error(req, MHD_HTTP_BAD_REQUEST,
                               "profile duration exceeds the server's maximum of %.0f seconds\n",
                               CD__HTTP_TRACE_MAX_SECONDS);
    if (req->head)
        goto head;

    tstream *s = calloc(1, sizeof *s);
    if (s == NULL)
        return cd__pprof_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                               "Could not enable tracing: %s\n", "out of memory");
    cd__hstream_init(&s->h, req->conn, sec, stream_destroy);
    s->sink = (cd__tsink){.write = go ? record_write : stream_write, .fd = -1, .ctx = s};
    s->sock = cd__hstream_socket(req->conn);
    /* A Go-format trace still converting holds the slot (and this server
     * thread is the only one that fills it): one trace at a time. */
    int rc = cd__hstream_slot_busy(&slot) ? -EBUSY : cd__writer_start(&s->sink, 0);
    if (rc != 0) {
        cd__hstream_discard(&s->h);
        return cd__pprof_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                               "Could not enable tracing: %s\n",
                               rc == -EBUSY ? "tracing is already enabled" : cd_strerror(rc));
    }
    static const cd__hstream_route route = {
        .slot = &slot,
        .read = stream_read,
        .headers = trace_headers,
        .control = stream_timer,
        .stop = stop_trace,
        .error_prefix = "Could not enable tracing",
    };
    static const cd__hstream_route go_route = {
        .slot = &slot,
        .read = stream_read,
        .headers = trace_headers,
        .control = go_control,
        .stop = stop_trace,
        .error_prefix = "Could not enable tracing",
    };
    return cd__hstream_serve(req, &s->h, go ? &go_route : &route);

head : {
    /* HEAD: the headers a GET would get, and no trace. */
    struct MHD_Response *hr = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (hr == NULL)
        return MHD_NO;
    trace_headers(hr);
    enum MHD_Result hres = MHD_queue_response(req->conn, MHD_HTTP_OK, hr);
    MHD_destroy_response(hr);
    return hres;
}
}

int cd__http_trace_route_register(void)
{
    return cd__http_route("/debug/pprof/trace", false, serve_trace, NULL);
}

void cd__http_trace_shutdown(void)
{
    cd__hstream_slot_shutdown(&slot);
}

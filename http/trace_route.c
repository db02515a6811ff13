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
 * Errors follow Go: an unparsable, zero or negative `seconds` means 1; a
 * second trace while one runs gets 500 "Could not enable tracing: tracing
 * is already enabled" with X-Go-Pprof: 1. Where Go would sleep for ever
 * (seconds=1e9, inf) cdebug answers 400: see CD__HTTP_TRACE_MAX_SECONDS.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
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
} tstream;

/* The running stream (one trace at a time), for cd__http_trace_shutdown. */
static cd__hstream_slot slot = CD__HSTREAM_SLOT_INIT;

static void stream_destroy(cd__hstream *h)
{
    tstream *s = (tstream *)h;
    free(s->q);
    free(s);
}

/* The writer's sink: queue the bytes, wake the reader. Waits while the
 * queue is full (the client is slower than the trace). */
static int stream_write(cd__tsink *sk, const struct iovec *iov, int n)
{
    tstream *s = sk->ctx;
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
        pthread_mutex_unlock(&s->h.lock);
        return MHD_CONTENT_READER_END_OF_STREAM;
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
    const char *flight = cd__http_query(req, "flight");
    if (flight != NULL && strcmp(flight, "0") != 0 && strcmp(flight, "") != 0) {
        if (strcmp(flight, "1") != 0)
            return cd__pprof_error(req, MHD_HTTP_BAD_REQUEST,
                                   "bad flight value \"%.32s\": want 0 or 1\n", flight);
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
    s->sink = (cd__tsink){.write = stream_write, .fd = -1, .ctx = s};
    int rc = cd__writer_start(&s->sink, 0);
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
    return cd__hstream_serve(req, &s->h, &route);

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

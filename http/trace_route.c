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
 * Lifetime: the stream is shared by the response (freed by libmicrohttpd)
 * and the timer thread; the last of the two frees it (refs).
 *
 * Errors follow Go: an unparsable, zero or negative `seconds` means 1; a
 * second trace while one runs gets 500 "Could not enable tracing: tracing
 * is already enabled" with X-Go-Pprof: 1. Where Go would sleep for ever
 * (seconds=1e9, inf) cdebug answers 400: see CD__HTTP_TRACE_MAX_SECONDS.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
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
#include "http/trace_route.h"
#include "runtime/thread.h"
#include "trace/flight.h"
#include "trace/writer.h"

typedef struct tstream {
    cd__tsink sink; /* first: the writer hands it back to stream_write */
    pthread_mutex_t lock;
    pthread_cond_t cond; /* room in the queue, eof, cancel */
    struct MHD_Connection *conn;
    uint8_t *q; /* queued bytes [off, off+len) */
    size_t off, len, cap;
    bool suspended; /* the connection is suspended (by the reader) */
    bool closed;    /* the response was destroyed: nobody reads */
    bool cancel;    /* end the trace now */
    bool eof;       /* the trace ended: END is queued */
    int refs;
    struct timespec deadline; /* CLOCK_MONOTONIC */
} tstream;

/* The running stream (one trace at a time), for cd__http_trace_shutdown. */
static pthread_mutex_t active_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t active_cond = PTHREAD_COND_INITIALIZER;
static tstream *active;

static void stream_unref(tstream *s)
{
    pthread_mutex_lock(&s->lock);
    int left = --s->refs;
    pthread_mutex_unlock(&s->lock);
    if (left > 0)
        return;
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s->q);
    free(s);
}

/* Marks the connection resumed if the reader suspended it (lock held);
 * returns whether the caller must call MHD_resume_connection, which it
 * does after unlocking: libmicrohttpd takes its own locks there, and
 * holding ours across them could deadlock with its thread. The reader
 * suspends with our lock held, so the flag is never seen before the
 * suspension is done. */
static bool take_suspended(tstream *s)
{
    if (!s->suspended || s->closed)
        return false;
    s->suspended = false;
    return true;
}

/* The writer's sink: queue the bytes, wake the reader. Waits while the
 * queue is full (the client is slower than the trace). */
static int stream_write(cd__tsink *sk, const struct iovec *iov, int n)
{
    tstream *s = sk->ctx;
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    pthread_mutex_lock(&s->lock);
    while (!s->closed && !s->cancel && s->len > 0 && s->len + total > CD__HTTP_TRACE_QUEUE_MAX) {
        if (take_suspended(s)) {
            pthread_mutex_unlock(&s->lock);
            MHD_resume_connection(s->conn);
            pthread_mutex_lock(&s->lock);
            continue;
        }
        pthread_cond_wait(&s->cond, &s->lock);
    }
    if (s->closed) {
        pthread_mutex_unlock(&s->lock);
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
                pthread_mutex_unlock(&s->lock);
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
    bool resume = take_suspended(s);
    pthread_mutex_unlock(&s->lock);
    if (resume)
        MHD_resume_connection(s->conn);
    return 0;
}

/* libmicrohttpd's content reader, on the server thread. Never waits. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    tstream *s = cls;
    pthread_mutex_lock(&s->lock);
    if (s->len > 0) {
        size_t n = s->len < max ? s->len : max;
        memcpy(buf, s->q + s->off, n);
        s->off += n;
        s->len -= n;
        if (s->len == 0)
            s->off = 0;
        pthread_cond_broadcast(&s->cond); /* room for the writer */
        pthread_mutex_unlock(&s->lock);
        return (ssize_t)n;
    }
    if (s->eof) {
        pthread_mutex_unlock(&s->lock);
        return MHD_CONTENT_READER_END_OF_STREAM;
    }
    /* Nothing yet: sleep until stream_write or the timer resumes us. */
    s->suspended = true;
    MHD_suspend_connection(s->conn);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/* The response is destroyed: sent in full, or the client went away. */
static void stream_free(void *cls)
{
    tstream *s = cls;
    pthread_mutex_lock(&s->lock);
    s->closed = true;
    s->suspended = false;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    stream_unref(s);
}

/* Ends the trace at the deadline, or when cancelled. */
static void *stream_timer(void *arg)
{
    tstream *s = arg;
    pthread_mutex_lock(&s->lock);
    while (!s->cancel && !s->closed &&
           pthread_cond_timedwait(&s->cond, &s->lock, &s->deadline) != ETIMEDOUT)
        ;
    pthread_mutex_unlock(&s->lock);
    (void)cd__writer_stop_sink(&s->sink); /* queues the rest and END */
    pthread_mutex_lock(&s->lock);
    s->eof = true;
    bool resume = take_suspended(s);
    pthread_mutex_unlock(&s->lock);
    if (resume)
        MHD_resume_connection(s->conn);

    pthread_mutex_lock(&active_lock);
    if (active == s)
        active = NULL;
    pthread_cond_broadcast(&active_cond);
    pthread_mutex_unlock(&active_lock);
    stream_unref(s);
    return NULL;
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
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
    s->conn = req->conn;
    s->refs = 2; /* the response and the timer */
    s->sink = (cd__tsink){.write = stream_write, .fd = -1, .ctx = s};
    clock_gettime(CLOCK_MONOTONIC, &s->deadline);
    double whole = (double)(long)sec; /* sec is in (0, 600]: no libm floor() */
    s->deadline.tv_sec += (time_t)whole;
    s->deadline.tv_nsec += (long)((sec - whole) * 1e9);
    if (s->deadline.tv_nsec >= 1000000000L) {
        s->deadline.tv_sec++;
        s->deadline.tv_nsec -= 1000000000L;
    }

    struct MHD_Response *r = NULL;
    int rc = cd__writer_start(&s->sink, 0);
    if (rc != 0) {
        s->refs = 1;
        stream_unref(s);
        return cd__pprof_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                               "Could not enable tracing: %s\n",
                               rc == -EBUSY ? "tracing is already enabled" : cd_strerror(rc));
    }
    r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, s, stream_free);
    if (r == NULL)
        goto fail_started;
    trace_headers(r);
    pthread_mutex_lock(&active_lock);
    active = s;
    pthread_mutex_unlock(&active_lock);
    pthread_t t;
    if (cd__thread_spawn(&t, CD__THREAD_SYSTEM, false, stream_timer, s) != 0) {
        pthread_mutex_lock(&active_lock);
        active = NULL;
        pthread_mutex_unlock(&active_lock);
        MHD_destroy_response(r); /* calls stream_free: one ref left */
        (void)cd__writer_stop_sink(&s->sink);
        stream_unref(s);
        return cd__pprof_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                               "Could not enable tracing: %s\n", "cannot start a thread");
    }
    pthread_detach(t);
    enum MHD_Result res = MHD_queue_response(req->conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r); /* libmicrohttpd holds its own reference */
    return res;

fail_started:
    (void)cd__writer_stop_sink(&s->sink);
    s->refs = 1;
    stream_unref(s);
    return MHD_NO;

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

void cd__http_trace_route_register(void)
{
    int rc = cd__http_route("/debug/pprof/trace", false, serve_trace, NULL);
    if (rc != 0)
        fprintf(stderr, "cdebug: http: cannot register /debug/pprof/trace: %s\n", cd_strerror(rc));
}

void cd__http_trace_shutdown(void)
{
    pthread_mutex_lock(&active_lock);
    tstream *s = active;
    if (s != NULL) {
        pthread_mutex_lock(&s->lock);
        s->refs++; /* ours until the wait below is over */
        s->cancel = true;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_unlock(&active_lock);
    if (s == NULL)
        return;
    /* The timer stops the trace and resumes the connection; the server
     * thread then sends the rest, END included, and destroys the response.
     * Wait for that (2 s at most: a client that stopped reading loses the
     * tail when the daemon stops). */
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 2;
    pthread_mutex_lock(&s->lock);
    while (!s->closed && pthread_cond_timedwait(&s->cond, &s->lock, &until) == 0)
        ;
    pthread_mutex_unlock(&s->lock);
    pthread_mutex_lock(&active_lock);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2;
    while (active == s && pthread_cond_timedwait(&active_cond, &active_lock, &until) == 0)
        ;
    pthread_mutex_unlock(&active_lock);
    stream_unref(s);
}

/* http/pprof_profile_route.c - GET /debug/pprof/profile.
 *
 * Go's handler starts the CPU profiler writing into the response, sleeps
 * for `seconds` (or until the client goes away: it selects on the
 * request's context), and stops it. Sleeping on the debug server's one
 * polling thread would stall every other client, so here the handler
 * starts the profiler, queues a streaming response whose reader suspends
 * the connection, and leaves the waiting to a small "watch" thread: at the
 * deadline, on a hang-up of the client, or at server shutdown, it stops
 * the profile; the profiler hands the encoded profile to on_done, which
 * resumes the connection, and libmicrohttpd sends it.
 *
 * Hang-ups. A suspended connection is not watched by libmicrohttpd, so
 * the watch thread polls the connection's socket for POLLRDHUP/POLLHUP
 * (the peer closed) every CD__PROFILE_POLL_MS at most; like Go, a client
 * that disconnects stops the profile early (the profiler is free again).
 * The socket stays open while the connection is suspended; the thread
 * stops polling before the connection is resumed.
 *
 * Lifetime: the stream is shared by the response (freed by
 * libmicrohttpd) and the watch thread; the last of the two frees it. The
 * profiler calls on_done while the watch thread still holds its
 * reference: that thread's own stop waits for any other stop to finish.
 *
 * Differences from Go, all deliberate: the status and headers are sent
 * when the profile starts, not when it ends (a failure to encode then
 * ends the connection early instead of giving a 500); `seconds` above
 * CD__HTTP_PROFILE_MAX_SECONDS gets 400 (Go's limit is the server's
 * WriteTimeout); HEAD gets the headers and no profile.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cdebug/cdebug.h"
#include "http/pprof_common.h"
#include "http/pprof_profile_route.h"
#include "http/router.h"
#include "prof/cpuprof.h"
#include "runtime/thread.h"

#define CD__PROFILE_POLL_MS 100 /* hang-up and cancel checks */

typedef struct pstream {
    pthread_mutex_t lock;
    struct MHD_Connection *conn;
    int sock;      /* the connection's socket, or -1 */
    uint8_t *body; /* the encoded profile [off, len) */
    size_t len, off;
    bool done;      /* on_done ran */
    bool failed;    /* ... without a profile */
    bool suspended; /* the connection is suspended (by the reader) */
    bool closed;    /* the response was destroyed: nobody reads */
    bool cancel;    /* stop now (server shutdown) */
    int refs;
    struct timespec deadline; /* CLOCK_MONOTONIC */
} pstream;

/* The stream being served (one profile at a time), for shutdown. */
static pthread_mutex_t active_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t active_cond = PTHREAD_COND_INITIALIZER;
static pstream *active;

int64_t cd__http_profile_seconds(const char *value)
{
    int64_t sec;
    if (!cd__pprof_parse_int(value, &sec) || sec <= 0)
        return 30;
    return sec;
}

static void unref(pstream *s)
{
    pthread_mutex_lock(&s->lock);
    int left = --s->refs;
    pthread_mutex_unlock(&s->lock);
    if (left > 0)
        return;
    pthread_mutex_destroy(&s->lock);
    free(s->body);
    free(s);
}

/* Marks the connection resumed if the reader suspended it (lock held);
 * the caller resumes after unlocking (libmicrohttpd takes its own locks;
 * see http/trace_route.c). */
static bool take_suspended(pstream *s)
{
    if (!s->suspended || s->closed)
        return false;
    s->suspended = false;
    return true;
}

/* The profiler's delivery (cd__cpuprof_done_fn), on the stopping thread. */
static void on_done(void *ctx, int err, uint8_t *buf, size_t len)
{
    pstream *s = ctx;
    pthread_mutex_lock(&s->lock);
    if (s->closed || err != 0) {
        free(buf);
    } else {
        s->body = buf;
        s->len = len;
    }
    s->failed = err != 0;
    s->done = true;
    bool resume = take_suspended(s);
    pthread_mutex_unlock(&s->lock);
    if (resume)
        MHD_resume_connection(s->conn);
}

/* libmicrohttpd's content reader, on the server thread. Never waits. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    pstream *s = cls;
    pthread_mutex_lock(&s->lock);
    if (s->off < s->len) {
        size_t n = s->len - s->off < max ? s->len - s->off : max;
        memcpy(buf, s->body + s->off, n);
        s->off += n;
        pthread_mutex_unlock(&s->lock);
        return (ssize_t)n;
    }
    if (s->done) {
        bool failed = s->failed;
        pthread_mutex_unlock(&s->lock);
        return failed ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
    }
    s->suspended = true;
    MHD_suspend_connection(s->conn);
    pthread_mutex_unlock(&s->lock);
    return 0;
}

/* The response is destroyed: sent in full, or the client went away. */
static void stream_free(void *cls)
{
    pstream *s = cls;
    pthread_mutex_lock(&s->lock);
    s->closed = true;
    s->suspended = false;
    pthread_mutex_unlock(&s->lock);
    unref(s);
}

static int64_t ms_until(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
}

/* Waits for the deadline, a hang-up or a cancel, then stops the profile. */
static void *watch(void *arg)
{
    pstream *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->lock);
        bool stop = s->cancel || s->closed || s->done;
        pthread_mutex_unlock(&s->lock);
        int64_t left = ms_until(&s->deadline);
        if (stop || left <= 0)
            break;
        int ms = left < CD__PROFILE_POLL_MS ? (int)left : CD__PROFILE_POLL_MS;
        if (s->sock < 0) {
            struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
            nanosleep(&ts, NULL);
            continue;
        }
        /* POLLIN is not asked for: a pipelined request is not a hang-up. */
        struct pollfd p = {.fd = s->sock, .events = POLLRDHUP};
        if (poll(&p, 1, ms) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL)))
            break; /* the client went away: Go's handler returns too */
    }
    (void)cd__cpuprof_stop_owner(s); /* -ENOENT: someone else stopped it */

    pthread_mutex_lock(&active_lock);
    if (active == s)
        active = NULL;
    pthread_cond_broadcast(&active_cond);
    pthread_mutex_unlock(&active_lock);
    unref(s);
    return NULL;
}

static void profile_headers(struct MHD_Response *r)
{
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Content-Type", "application/octet-stream");
    MHD_add_response_header(r, "Content-Disposition", "attachment; filename=\"profile\"");
}

static enum MHD_Result serve_head(const cd__http_req *req)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    profile_headers(r);
    enum MHD_Result res = MHD_queue_response(req->conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return res;
}

static enum MHD_Result serve_profile(const cd__http_req *req, void *ctx)
{
    (void)ctx;
    int64_t sec = cd__http_profile_seconds(cd__http_query(req, "seconds"));
    if (sec > CD__HTTP_PROFILE_MAX_SECONDS)
        return cd__pprof_error(req, MHD_HTTP_BAD_REQUEST,
                               "profile duration exceeds the server's maximum of %d seconds\n",
                               CD__HTTP_PROFILE_MAX_SECONDS);
    if (req->head)
        return serve_head(req);

    pstream *s = calloc(1, sizeof *s);
    if (s == NULL)
        return cd__pprof_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                               "Could not enable CPU profiling: %s\n", "out of memory");
    pthread_mutex_init(&s->lock, NULL);
    s->conn = req->conn;
    s->refs = 2; /* the response and the watch thread */
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(req->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    s->sock = ci != NULL ? (int)ci->connect_fd : -1;
    clock_gettime(CLOCK_MONOTONIC, &s->deadline);
    s->deadline.tv_sec += (time_t)sec;

    int rc = cd__cpuprof_start_cb(0, on_done, s);
    if (rc != 0) {
        s->refs = 1;
        unref(s);
        return cd__pprof_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                               "Could not enable CPU profiling: %s\n",
                               rc == -EBUSY ? "cpu profiling already in use" : cd_strerror(rc));
    }
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, stream_read, s, stream_free);
    if (r == NULL) {
        (void)cd__cpuprof_stop_owner(s);
        s->refs = 1;
        unref(s);
        return MHD_NO;
    }
    profile_headers(r);
    pthread_mutex_lock(&active_lock);
    active = s;
    pthread_mutex_unlock(&active_lock);
    pthread_t t;
    if (cd__thread_spawn(&t, CD__THREAD_SYSTEM, false, watch, s) != 0) {
        pthread_mutex_lock(&active_lock);
        active = NULL;
        pthread_mutex_unlock(&active_lock);
        MHD_destroy_response(r); /* stream_free: one reference left */
        (void)cd__cpuprof_stop_owner(s);
        unref(s);
        return cd__pprof_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                               "Could not enable CPU profiling: %s\n", "cannot start a thread");
    }
    pthread_detach(t);
    enum MHD_Result res = MHD_queue_response(req->conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r); /* libmicrohttpd holds its own reference */
    return res;
}

void cd__http_profile_route_register(void)
{
    int rc = cd__http_route("/debug/pprof/profile", false, serve_profile, NULL);
    if (rc != 0)
        fprintf(stderr, "cdebug: http: cannot register /debug/pprof/profile: %s\n",
                cd_strerror(rc));
}

void cd__http_profile_shutdown(void)
{
    pthread_mutex_lock(&active_lock);
    pstream *s = active;
    if (s != NULL) {
        pthread_mutex_lock(&s->lock);
        s->refs++; /* ours until the waits below are over */
        s->cancel = true;
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_unlock(&active_lock);
    if (s == NULL)
        return;
    /* The watch thread stops the profile within CD__PROFILE_POLL_MS; the
     * profile is delivered, the connection resumed, and the server thread
     * sends it and destroys the response. Wait for that, 2 s at most: a
     * client that stopped reading loses the profile when the server stops. */
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 2;
    struct timespec tick = {0, 10 * 1000000L};
    for (;;) {
        pthread_mutex_lock(&s->lock);
        bool settled = s->closed;
        pthread_mutex_unlock(&s->lock);
        if (settled || ms_until(&until) <= 0)
            break;
        nanosleep(&tick, NULL);
    }
    pthread_mutex_lock(&active_lock);
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 2;
    while (active == s && pthread_cond_timedwait(&active_cond, &active_lock, &until) == 0)
        ;
    pthread_mutex_unlock(&active_lock);
    unref(s);
}

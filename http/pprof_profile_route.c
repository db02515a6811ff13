/* http/pprof_profile_route.c - GET /debug/pprof/profile.
 *
 * Go's handler starts the CPU profiler writing into the response, sleeps
 * for `seconds` (or until the client goes away: it selects on the
 * request's context), and stops it. Sleeping on one of the debug server's
 * polling threads would stall its clients, so here the handler
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
 * The suspend/resume protocol, the stream's lifetime and the server-stop
 * path are http/stream.c's (shared with /debug/pprof/trace); the watch
 * thread is this route's controller. The profiler calls on_done while the
 * watch thread still holds its reference: that thread's own stop waits
 * for any other stop to finish.
 *
 * Differences from Go, all deliberate: the status and headers are sent
 * when the profile starts, not when it ends (a failure to encode then
 * ends the connection early instead of giving a 500); `seconds` above
 * CD__HTTP_PROFILE_MAX_SECONDS gets 400 (Go's limit is the server's
 * WriteTimeout); HEAD gets the headers and no profile.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cdebug/cdebug.h"
#include "http/pprof_common.h"
#include "http/pprof_profile_route.h"
#include "http/router.h"
#include "http/stream.h"
#include "prof/cpuprof.h"
#include "runtime/thread.h"

#define CD__PROFILE_POLL_MS 100 /* hang-up and cancel checks */

typedef struct pstream {
    cd__hstream h; /* first: the stream callbacks get &h */
    int sock;      /* the connection's socket, or -1 */
    uint8_t *body; /* the encoded profile [off, len); h.lock */
    size_t len, off;
    bool done;   /* on_done ran */
    bool failed; /* ... without a profile */
} pstream;

/* The stream being served (one profile at a time), for shutdown. */
static cd__hstream_slot slot = CD__HSTREAM_SLOT_INIT;

int64_t cd__http_profile_seconds(const char *value)
{
    int64_t sec;
    if (!cd__pprof_parse_int(value, &sec) || sec <= 0)
        return 30;
    return sec;
}

static void stream_destroy(cd__hstream *h)
{
    pstream *s = (pstream *)h;
    free(s->body);
    free(s);
}

/* The profiler's delivery (cd__cpuprof_done_fn), on the stopping thread. */
static void on_done(void *ctx, int err, uint8_t *buf, size_t len)
{
    pstream *s = ctx;
    pthread_mutex_lock(&s->h.lock);
    if (s->h.closed || err != 0) {
        free(buf);
    } else {
        s->body = buf;
        s->len = len;
    }
    s->failed = err != 0;
    s->done = true;
    pthread_mutex_unlock(&s->h.lock);
    cd__hstream_wake(&s->h);
}

/* libmicrohttpd's content reader, on the server thread. Never waits. */
static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    pstream *s = cls;
    pthread_mutex_lock(&s->h.lock);
    if (s->off < s->len) {
        size_t n = s->len - s->off < max ? s->len - s->off : max;
        memcpy(buf, s->body + s->off, n);
        s->off += n;
        pthread_mutex_unlock(&s->h.lock);
        return (ssize_t)n;
    }
    if (s->done) {
        bool failed = s->failed;
        pthread_mutex_unlock(&s->h.lock);
        return failed ? MHD_CONTENT_READER_END_WITH_ERROR : MHD_CONTENT_READER_END_OF_STREAM;
    }
    bool wait = cd__hstream_suspend_locked(&s->h);
    pthread_mutex_unlock(&s->h.lock);
    return wait ? 0 : MHD_CONTENT_READER_END_WITH_ERROR;
}

/* Waits for the deadline, a hang-up or a cancel, then stops the profile. */
static void *watch(void *arg)
{
    pstream *s = arg;
    for (;;) {
        pthread_mutex_lock(&s->h.lock);
        bool stop = s->h.cancel || s->h.closed || s->done;
        pthread_mutex_unlock(&s->h.lock);
        int64_t left = cd__hstream_ms_until(&s->h.deadline);
        if (stop || left <= 0)
            break;
        int ms = left < CD__PROFILE_POLL_MS ? (int)left : CD__PROFILE_POLL_MS;
        if (cd__hstream_peer_gone(s->sock, ms))
            break; /* the client went away: Go's handler returns too */
    }
    (void)cd__cpuprof_stop_owner(s); /* -ENOENT: someone else stopped it */
    cd__hstream_slot_leave(&slot, &s->h);
    cd__hstream_unref(&s->h);
    return NULL;
}

static void stop_profile(cd__hstream *h)
{
    (void)cd__cpuprof_stop_owner(h);
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
    cd__hstream_init(&s->h, req->conn, (double)sec, stream_destroy);
    s->sock = cd__hstream_socket(req->conn);

    int rc = cd__cpuprof_start_cb(0, on_done, s);
    if (rc != 0) {
        cd__hstream_discard(&s->h);
        return cd__pprof_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
                               "Could not enable CPU profiling: %s\n",
                               rc == -EBUSY ? "cpu profiling already in use" : cd_strerror(rc));
    }
    static const cd__hstream_route route = {
        .slot = &slot,
        .read = stream_read,
        .headers = profile_headers,
        .control = watch,
        .stop = stop_profile,
        .error_prefix = "Could not enable CPU profiling",
    };
    return cd__hstream_serve(req, &s->h, &route);
}

int cd__http_profile_route_register(void)
{
    return cd__http_route("/debug/pprof/profile", false, serve_profile, NULL);
}

void cd__http_profile_shutdown(void)
{
    cd__hstream_slot_shutdown(&slot);
}

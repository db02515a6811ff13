/* http/stream.c - streamed responses produced off the server thread. See
 * stream.h for the protocol; this file holds its mechanics. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>

#include "http/pprof_common.h"
#include "http/stream.h"
#include "runtime/thread.h"

void cd__hstream_init(cd__hstream *s, struct MHD_Connection *conn, double seconds,
                      void (*destroy)(cd__hstream *s))
{
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
    s->conn = conn;
    s->suspended = s->closed = s->cancel = s->abandoned = false;
    s->refs = 2; /* the response and the controller */
    s->destroy = destroy;
    clock_gettime(CLOCK_MONOTONIC, &s->deadline);
    time_t whole = (time_t)seconds; /* seconds is in (0, a few hundred]: no libm floor() */
    s->deadline.tv_sec += whole;
    s->deadline.tv_nsec += (long)((seconds - (double)whole) * 1e9);
    if (s->deadline.tv_nsec >= 1000000000L) {
        s->deadline.tv_sec++;
        s->deadline.tv_nsec -= 1000000000L;
    }
}

void cd__hstream_unref(cd__hstream *s)
{
    pthread_mutex_lock(&s->lock);
    int left = --s->refs;
    pthread_mutex_unlock(&s->lock);
    if (left > 0)
        return;
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    s->destroy(s);
}

void cd__hstream_discard(cd__hstream *s)
{
    s->refs = 1;
    cd__hstream_unref(s);
}

bool cd__hstream_suspend_locked(cd__hstream *s)
{
    if (s->abandoned)
        return false;
    s->suspended = true;
    MHD_suspend_connection(s->conn);
    return true;
}

bool cd__hstream_take_suspended(cd__hstream *s)
{
    if (!s->suspended || s->closed)
        return false;
    s->suspended = false;
    return true;
}

void cd__hstream_wake(cd__hstream *s)
{
    pthread_mutex_lock(&s->lock);
    bool resume = cd__hstream_take_suspended(s);
    pthread_mutex_unlock(&s->lock);
    if (resume)
        MHD_resume_connection(s->conn);
}

/* libmicrohttpd's free callback for the response: marks the stream closed,
 * wakes the waiters and drops the response's reference. */
static void response_free(void *cls)
{
    cd__hstream *s = cls;
    pthread_mutex_lock(&s->lock);
    s->closed = true;
    s->suspended = false;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    cd__hstream_unref(s);
}

static void slot_set(cd__hstream_slot *slot, cd__hstream *s)
{
    pthread_mutex_lock(&slot->lock);
    slot->active = s;
    pthread_mutex_unlock(&slot->lock);
}

enum MHD_Result cd__hstream_serve(const cd__http_req *req, cd__hstream *s,
                                  const cd__hstream_route *route)
{
    struct MHD_Response *r = MHD_create_response_from_callback(
        MHD_SIZE_UNKNOWN, 64 * 1024, route->read, s, response_free);
    if (r == NULL) {
        route->stop(s);
        cd__hstream_discard(s);
        return MHD_NO;
    }
    route->headers(r);
    slot_set(route->slot, s);
    pthread_t t;
    if (cd__thread_spawn(&t, "cd-http-stream", CD__THREAD_SYSTEM, false, route->control, s) != 0) {
        slot_set(route->slot, NULL);
        MHD_destroy_response(r); /* response_free: one reference left */
        route->stop(s);
        cd__hstream_unref(s);
        return cd__pprof_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "%s: %s\n", route->error_prefix,
                               "cannot start a thread");
    }
    pthread_detach(t);
    enum MHD_Result res = MHD_queue_response(req->conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r); /* libmicrohttpd holds its own reference */
    return res;
}

void cd__hstream_slot_leave(cd__hstream_slot *slot, cd__hstream *s)
{
    pthread_mutex_lock(&slot->lock);
    if (slot->active == s)
        slot->active = NULL;
    pthread_cond_broadcast(&slot->cond);
    pthread_mutex_unlock(&slot->lock);
}

bool cd__hstream_slot_busy(cd__hstream_slot *slot)
{
    pthread_mutex_lock(&slot->lock);
    bool busy = slot->active != NULL;
    pthread_mutex_unlock(&slot->lock);
    return busy;
}

void cd__hstream_slot_shutdown(cd__hstream_slot *slot)
{
    pthread_mutex_lock(&slot->lock);
    cd__hstream *s = slot->active;
    if (s != NULL) {
        pthread_mutex_lock(&s->lock);
        s->refs++; /* ours until the waits below are over */
        s->cancel = true;
        pthread_cond_broadcast(&s->cond);
        pthread_mutex_unlock(&s->lock);
    }
    pthread_mutex_unlock(&slot->lock);
    if (s == NULL)
        return;
    /* The controller ends production and resumes the connection; the
     * server thread sends the rest and destroys the response. Wait for
     * that, 2 s at most: a client that stopped reading loses the tail. */
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += 2;
    pthread_mutex_lock(&s->lock);
    while (!s->closed && pthread_cond_timedwait(&s->cond, &s->lock, &until) == 0)
        ;
    /* Not closed in time (a controller slow to end production, on a
     * loaded machine): the reader must not suspend again, and a suspended
     * connection is resumed here, so that libmicrohttpd finds none
     * suspended when it is stopped (it aborts the process then). The
     * client loses the tail. */
    bool resume = false;
    if (!s->closed) {
        s->abandoned = true;
        resume = cd__hstream_take_suspended(s);
    }
    pthread_mutex_unlock(&s->lock);
    if (resume)
        MHD_resume_connection(s->conn);
    pthread_mutex_lock(&slot->lock);
    clock_gettime(CLOCK_REALTIME, &until); /* the slot's cond uses the default clock */
    until.tv_sec += 2;
    while (slot->active == s && pthread_cond_timedwait(&slot->cond, &slot->lock, &until) == 0)
        ;
    pthread_mutex_unlock(&slot->lock);
    cd__hstream_unref(s);
}

int64_t cd__hstream_ms_until(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)(t->tv_sec - now.tv_sec) * 1000 + (t->tv_nsec - now.tv_nsec) / 1000000;
}

int cd__hstream_socket(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    return ci != NULL ? (int)ci->connect_fd : -1;
}

bool cd__hstream_peer_gone(int sock, int ms)
{
    if (sock < 0) {
        struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
        return false;
    }
    struct pollfd p = {.fd = sock, .events = POLLRDHUP};
    return poll(&p, 1, ms) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR | POLLNVAL));
}

/* http/conns.c - see conns.h. */
#include <stdlib.h>
#include <sys/ioctl.h>

#include "http/conns.h"
#include "base/clock.h"

struct cd__http_conn {
    cd__http_conn *prev, *next;
    int fd;
    bool started;   /* libmicrohttpd started it: its socket is its own */
    bool busy;      /* a request is being answered */
    bool evicted;   /* shut down by cd__http_conns_admit, closing */
    uint64_t since; /* cd__nanotime() when it last began waiting */
};

void cd__http_conns_init(cd__http_conns *t, unsigned soft)
{
    *t = (cd__http_conns){.soft = soft ? soft : 1,
                          .evict_after_ns = (uint64_t)CD__HTTP_EVICT_AFTER_MS * 1000000u,
                          .start_within_ns = (uint64_t)CD__HTTP_START_WITHIN_MS * 1000000u};
    t->hard = t->soft * 2;
    pthread_mutex_init(&t->lock, NULL);
}

void cd__http_conns_destroy(cd__http_conns *t)
{
    while (t->head != NULL)
        cd__http_conns_remove(t, t->head);
    pthread_mutex_destroy(&t->lock);
}

unsigned cd__http_conns_mhd_limit(const cd__http_conns *t, unsigned threads)
{
    /* Closed connections leave libmicrohttpd's count at its next poll:
     * one admission closes at most one, so a small margin is enough. Each
     * thread gets the whole: the connections may all land on one. */
    return (t->hard + 16) * (threads ? threads : 1);
}

/* True when bytes of a request wait unread on fd: its client is not
 * trickling, libmicrohttpd has just not read them yet. */
static bool has_unread(int fd)
{
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 && n > 0;
}

/* The connection that has waited longest for its request, at least
 * min_wait ns, skipping those with unread bytes when skip_unread. */
static cd__http_conn *oldest_waiter(cd__http_conns *t, uint64_t now, uint64_t min_wait,
                                    bool skip_unread)
{
    cd__http_conn *oldest = NULL;
    for (cd__http_conn *k = t->head; k != NULL; k = k->next)
        if (k->started && !k->busy && !k->evicted && now - k->since >= min_wait &&
            (oldest == NULL || k->since < oldest->since) && !(skip_unread && has_unread(k->fd)))
            oldest = k;
    return oldest;
}

/* Closes the connection that has waited longest for its request, if it
 * waited long enough. One with unread bytes (a keep-alive client whose
 * next request has just arrived) is spared while another qualifies; not
 * always, or a trickler that keeps one byte in flight would never be
 * closed. Returns whether one was closed. */
static bool evict_one(cd__http_conns *t)
{
    uint64_t now = cd__nanotime();
    cd__http_conn *k = oldest_waiter(t, now, t->evict_after_ns, true);
    if (k == NULL)
        k = oldest_waiter(t, now, t->evict_after_ns, false);
    if (k == NULL)
        return false;
    /* libmicrohttpd reads the end of the stream at its next poll and
     * closes the connection; the record goes with its notification. */
    (void)shutdown(k->fd, SHUT_RDWR);
    k->evicted = true;
    t->live--;
    t->evicted++;
    return true;
}

/* Forgets the admitted connections libmicrohttpd has not started within
 * start_within_ns: it closed them on its own thread (at its own limit, or
 * without memory) and will never report them. One it starts later after
 * all is added then (cd__http_conns_start). */
static void expire_unstarted(cd__http_conns *t, uint64_t now)
{
    cd__http_conn *next;
    for (cd__http_conn *k = t->head; k != NULL; k = next) {
        next = k->next;
        if (!k->started && now - k->since >= t->start_within_ns) {
            cd__http_conns_remove(t, k);
            t->unstarted++;
        }
    }
}

bool cd__http_conns_admit_one(cd__http_conns *t)
{
    if (t->live < t->soft)
        return true;
    expire_unstarted(t, cd__nanotime());
    if (t->live < t->soft || evict_one(t) || t->live < t->hard)
        return true;
    t->refused++;
    return false;
}

cd__http_conn *cd__http_conns_add(cd__http_conns *t, int fd)
{
    cd__http_conn *k = calloc(1, sizeof *k);
    if (k == NULL)
        return NULL;
    k->fd = fd;
    k->since = cd__nanotime();
    k->next = t->head;
    if (t->head != NULL)
        t->head->prev = k;
    t->head = k;
    t->live++;
    return k;
}

cd__http_conn *cd__http_conns_start(cd__http_conns *t, int fd)
{
    /* The newest unstarted record of fd: an older one is a connection
     * libmicrohttpd closed unreported, whose number was reused. */
    for (cd__http_conn *k = t->head; k != NULL; k = k->next)
        if (!k->started && k->fd == fd) {
            k->started = true;
            return k;
        }
    cd__http_conn *k = cd__http_conns_add(t, fd);
    if (k != NULL)
        k->started = true;
    return k;
}

void cd__http_conns_remove(cd__http_conns *t, cd__http_conn *k)
{
    if (k->prev != NULL)
        k->prev->next = k->next;
    else
        t->head = k->next;
    if (k->next != NULL)
        k->next->prev = k->prev;
    if (!k->evicted)
        t->live--;
    free(k);
}

void cd__http_conn_set_busy(cd__http_conn *k, bool busy)
{
    k->busy = busy;
    if (!busy)
        k->since = cd__nanotime();
}

/* ---- libmicrohttpd's callbacks ---------------------------------------------- */

cd__http_conn *cd__http_conns_admit(cd__http_conns *t, int fd)
{
    pthread_mutex_lock(&t->lock);
    cd__http_conn *k = cd__http_conns_admit_one(t) ? cd__http_conns_add(t, fd) : NULL;
    pthread_mutex_unlock(&t->lock);
    return k;
}

void cd__http_conns_drop(cd__http_conns *t, cd__http_conn *k)
{
    pthread_mutex_lock(&t->lock);
    cd__http_conns_remove(t, k);
    pthread_mutex_unlock(&t->lock);
}

void cd__http_conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                           enum MHD_ConnectionNotificationCode toe)
{
    cd__http_conns *t = cls;
    cd__http_conn *k = *socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        pthread_mutex_lock(&t->lock);
        k = ci != NULL ? cd__http_conns_start(t, ci->connect_fd) : NULL;
        pthread_mutex_unlock(&t->lock);
        /* Untracked, it could never be closed for a newcomer: close it now
         * (libmicrohttpd has no other way to refuse here). */
        if (k == NULL && ci != NULL)
            (void)shutdown(ci->connect_fd, SHUT_RDWR);
        *socket_context = k;
        return;
    }
    if (k != NULL)
        cd__http_conns_drop(t, k);
    *socket_context = NULL;
}

void cd__http_conns_busy(cd__http_conns *t, struct MHD_Connection *c, bool busy)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (ci == NULL || ci->socket_context == NULL)
        return;
    /* Under the lock: another thread's admission reads busy and since. */
    pthread_mutex_lock(&t->lock);
    cd__http_conn_set_busy(ci->socket_context, busy);
    pthread_mutex_unlock(&t->lock);
}

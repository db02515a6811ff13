/* http/conns.c - see conns.h. */
#include <stdlib.h>
#include <sys/ioctl.h>

#include "http/conns.h"
#include "runtime/clock.h"

struct cd__http_conn {
    cd__http_conn *prev, *next;
    int fd;
    bool busy;      /* a request is being answered */
    bool evicted;   /* shut down by cd__http_conns_admit, closing */
    uint64_t since; /* cd__nanotime() when it last began waiting */
};

void cd__http_conns_init(cd__http_conns *t, unsigned soft)
{
    *t = (cd__http_conns){.soft = soft ? soft : 1};
    t->hard = t->soft * 2;
}

unsigned cd__http_conns_mhd_limit(const cd__http_conns *t)
{
    /* Closed connections leave libmicrohttpd's count at its next poll:
     * one admission closes at most one, so a small margin is enough. */
    return t->hard + 16;
}

/* True when bytes of a request wait unread on fd: its client is not
 * trickling, libmicrohttpd has just not read them yet. */
static bool has_unread(int fd)
{
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 && n > 0;
}

/* Closes the connection that has waited longest, if it waited long enough
 * and has nothing unread. Returns whether one was closed. */
static bool evict_one(cd__http_conns *t)
{
    uint64_t now = cd__nanotime();
    uint64_t min_wait = (uint64_t)CD__HTTP_EVICT_AFTER_MS * 1000000u;
    for (;;) {
        cd__http_conn *oldest = NULL;
        for (cd__http_conn *k = t->head; k != NULL; k = k->next)
            if (!k->busy && !k->evicted && now - k->since >= min_wait &&
                (oldest == NULL || k->since < oldest->since))
                oldest = k;
        if (oldest == NULL)
            return false;
        if (has_unread(oldest->fd)) {
            oldest->since = now; /* it is about to make progress: not a trickler */
            continue;
        }
        /* libmicrohttpd reads the end of the stream at its next poll and
         * closes the connection; the record goes with its notification. */
        (void)shutdown(oldest->fd, SHUT_RDWR);
        oldest->evicted = true;
        t->live--;
        t->evicted++;
        return true;
    }
}

enum MHD_Result cd__http_conns_admit(void *cls, const struct sockaddr *addr, socklen_t len)
{
    (void)addr, (void)len;
    cd__http_conns *t = cls;
    if (t->live < t->soft)
        return MHD_YES;
    if (evict_one(t) || t->live < t->hard)
        return MHD_YES;
    t->refused++;
    return MHD_NO;
}

void cd__http_conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                           enum MHD_ConnectionNotificationCode toe)
{
    cd__http_conns *t = cls;
    cd__http_conn *k = *socket_context;
    if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        k = ci != NULL ? calloc(1, sizeof *k) : NULL;
        if (k == NULL) {
            /* Untracked, it could never be closed for a newcomer: close it
             * now (libmicrohttpd has no other way to refuse here). */
            if (ci != NULL)
                (void)shutdown(ci->connect_fd, SHUT_RDWR);
            *socket_context = NULL;
            return;
        }
        k->fd = ci->connect_fd;
        k->since = cd__nanotime();
        k->next = t->head;
        if (t->head != NULL)
            t->head->prev = k;
        t->head = k;
        t->live++;
        *socket_context = k;
        return;
    }
    if (k == NULL)
        return;
    if (k->prev != NULL)
        k->prev->next = k->next;
    else
        t->head = k->next;
    if (k->next != NULL)
        k->next->prev = k->prev;
    if (!k->evicted)
        t->live--;
    free(k);
    *socket_context = NULL;
}

void cd__http_conns_busy(struct MHD_Connection *c, bool busy)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    cd__http_conn *k = ci != NULL ? ci->socket_context : NULL;
    if (k == NULL)
        return;
    k->busy = busy;
    if (!busy)
        k->since = cd__nanotime();
}

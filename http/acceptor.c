/* http/acceptor.c - see acceptor.h. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http/acceptor.h"
#include "runtime/thread.h"

#define BACKOFF_MIN_MS 5
#define BACKOFF_MAX_MS 1000
/* Connections taken per wake-up before looking at the wake-up eventfd
 * again: a flood of newcomers cannot delay a stop. */
#define ACCEPT_BURST 64

struct cd__http_acceptor {
    int lfd, wake;
    struct MHD_Daemon *daemon;
    cd__http_conns *table;
    pthread_t thread;
};

/* Whether a failed accept4 was about that one connection (it was reset,
 * or its network went away before it was taken): the next may be fine.
 * accept(2) lists these for Linux, which passes the new socket's pending
 * network errors to accept. */
static bool one_connection(int e)
{
    switch (e) {
    case EINTR:
    case ECONNABORTED:
    case EPROTO:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EHOSTDOWN:
    case ENONET:
    case EHOSTUNREACH:
    case EOPNOTSUPP:
    case ENETUNREACH:
        return true;
    default:
        return false;
    }
}

/* Takes up to ACCEPT_BURST pending connections. Returns the next delay:
 * 0 when the socket was drained (or may hold more), else the back-off
 * after a failure that will recur (no descriptor, no memory). */
static unsigned accept_burst(cd__http_acceptor *a, unsigned delay)
{
    for (int i = 0; i < ACCEPT_BURST; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        int fd = accept4(a->lfd, (struct sockaddr *)&ss, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK)
                return 0;
            if (one_connection(errno))
                continue;
            /* EMFILE, ENFILE, ENOBUFS, ENOMEM: the connection waits in the
             * backlog until a descriptor or memory is free again. */
            return delay == 0                   ? BACKOFF_MIN_MS
                   : delay * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS
                                                : delay * 2;
        }
        cd__http_conn *k = cd__http_conns_admit(a->table, fd);
        if (k == NULL) {
            close(fd); /* refused at the hard limit (conns.h) */
            continue;
        }
        /* libmicrohttpd closes fd itself when it cannot take it. Once it
         * has, k may be started and freed on its threads at any time: not
         * touched again. When it has not, k is still unstarted (only this
         * thread expires those). */
        if (MHD_add_connection(a->daemon, fd, (struct sockaddr *)&ss, len) != MHD_YES)
            cd__http_conns_drop(a->table, k);
    }
    return 0;
}

static void *accept_main(void *arg)
{
    cd__http_acceptor *a = arg;
    unsigned delay = 0;
    for (;;) {
        struct pollfd p[2] = {{.fd = a->wake, .events = POLLIN}, {.fd = a->lfd, .events = POLLIN}};
        /* Backing off: only the wake-up is watched until the delay ends. */
        int n = poll(p, delay ? 1 : 2, delay ? (int)delay : -1);
        if (n > 0 && p[0].revents != 0)
            return NULL;
        if (n < 0 && errno != EINTR) {
            delay = delay ? delay : BACKOFF_MIN_MS; /* ENOMEM: wait, never spin */
            continue;
        }
        delay = accept_burst(a, delay);
    }
}

int cd__http_acceptor_start(cd__http_acceptor **out, int lfd, struct MHD_Daemon *d,
                            cd__http_conns *t)
{
    cd__http_acceptor *a = calloc(1, sizeof *a);
    if (a == NULL)
        return -ENOMEM;
    a->lfd = lfd;
    a->daemon = d;
    a->table = t;
    a->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    int rc;
    if (a->wake < 0) {
        rc = -errno;
        goto fail;
    }
    if ((rc = cd__thread_spawn(&a->thread, "cd-http-accept", CD__THREAD_SYSTEM, false, accept_main,
                               a)) != 0)
        goto fail;
    *out = a;
    return 0;
fail:
    if (a->wake >= 0)
        close(a->wake);
    free(a);
    return rc;
}

void cd__http_acceptor_stop(cd__http_acceptor *a)
{
    if (a == NULL)
        return;
    uint64_t one = 1;
    while (write(a->wake, &one, sizeof one) < 0 && errno == EINTR)
        ;
    pthread_join(a->thread, NULL);
    close(a->lfd);
    close(a->wake);
    free(a);
}

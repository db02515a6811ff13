/* http/server.c - the debug server: one libmicrohttpd daemon serving the
 * route table (router.h), started by cd_http_start or CDEBUG=http=ADDR.
 *
 * Why the socket is ours. cdebug creates, binds and listens on the socket
 * itself and hands it to libmicrohttpd (MHD_OPTION_LISTEN_SOCKET): that
 * binds exactly the address asked for (never INADDR_ANY by accident) and
 * gives the real errno of a failed bind, so "port in use" is reported as
 * such rather than as "the daemon did not start".
 *
 * Threads. libmicrohttpd's internal threads (CD__HTTP_THREADS, its thread
 * pool: each accepts from the one listening socket and serves the
 * connections it accepted) poll the sockets and run the handlers; the
 * connection table (conns.h) is shared under its lock. They use poll(),
 * not epoll: libmicrohttpd 0.9.75 (Debian 12) in
 * MHD_USE_EPOLL_INTERNAL_THREAD mode stalls when exactly 128 or 256
 * connections are busy and stops accepting for good once the connection
 * limit has been reached (reproduced with a bare libmicrohttpd program and
 * wrk -c256), which would let any local client switch the debug server
 * off. poll() costs O(connections) per wake-up, negligible at a few
 * hundred connections. The threads are not registered with bdwgc: handlers
 * use malloc'd memory only. They are created with the asynchronous signals
 * blocked, like every kit thread, so SIGINT/SIGTERM/SIGPROF... reach the
 * application's threads, never the server's.
 *
 * Noise. libmicrohttpd's messages are captured while the daemon starts
 * (they explain a failure) and dropped afterwards: a debug server must not
 * write to the program's stderr because a client reset a connection.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/buf.h"
#include "http/acceptor.h"
#include "http/addr.h"
#include "http/conns.h"
#include "http/deferred.h"
#include "http/pprof_profile_route.h"
#include "http/trace_route.h"
#include "http/auth.h"
#include "http/response.h"
#include "http/router.h"
#include "http/server.h"
#include "runtime/thread.h"
#include "runtime/fdguard.h"
#include "runtime/start.h"

typedef struct server {
    struct MHD_Daemon *daemon;
    cd__http_acceptor *acceptor; /* takes the connections (acceptor.h) */
    cd__http_conns conns; /* who holds the connection slots (conns.h) */
    const char *token; /* NULL: no token; else token_copy or the env token */
    char *token_copy;  /* malloc'd copy of cd_http_opts.token */
    pid_t pid;         /* process that started it (see cd_http_stop) */
    /* libmicrohttpd messages while starting; written by the logger. */
    pthread_mutex_t log_lock;
    bool log_capture;
    char log[256];
} server;

static pthread_mutex_t srv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
static server *srv;                    /* the running server, under srv_lock */
static _Atomic int srv_port = -ENOENT; /* its port, read without the lock */

/* Signals kept away from the daemon's threads: a kit thread's, plus
 * SIGPROF, so that a process-wide profiling timer (setitimer, gperftools)
 * samples the program's threads, never the server's. */
static void block_async_signals(sigset_t *old)
{
    sigset_t block;
    sigemptyset(&block);
    cd__thread_kit_signals(&block);
    sigaddset(&block, SIGPROF);
    pthread_sigmask(SIG_BLOCK, &block, old);
}

/* MHD_LogCallback: keeps the first message of a failing start. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    server *s = cls;
    pthread_mutex_lock(&s->log_lock);
    if (s->log_capture && s->log[0] == '\0') {
        vsnprintf(s->log, sizeof s->log, fmt, ap);
        size_t n = strlen(s->log);
        while (n > 0 && (s->log[n - 1] == '\n' || s->log[n - 1] == '.'))
            s->log[--n] = '\0';
    }
    pthread_mutex_unlock(&s->log_lock);
}

/* The body of a request to a route that accepts POST, kept until the
 * answer (freed by on_completed). */
typedef struct reqbody {
    cd__buf b;
    bool too_big; /* longer than CD__HTTP_BODY_MAX: answered with 413 */
} reqbody;

static char seen;        /* *req_cls of a request whose body is not kept */
static char nul_target;  /* *req_cls of a request whose target holds %00 */

/* MHD_OPTION_URI_LOG_CALLBACK: sees the request target before
 * libmicrohttpd decodes it, and returns the request's first *req_cls. A
 * decoded NUL would end the path early ("/debug/vars%00.png" would be
 * served as /debug/vars), so such a request is marked here and refused
 * in on_request. Go decodes %00 into the path and its mux matches nothing
 * (404); a 400 says what is wrong instead. */
static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)cls, (void)c;
    return strstr(uri, "%00") != NULL ? &nul_target : NULL;
}

/* r, for a request answered now: from here until the request completes
 * its connection is busy, never closed to admit another (conns.h). */
static enum MHD_Result answered(server *s, struct MHD_Connection *c, enum MHD_Result r)
{
    cd__http_conns_busy(&s->conns, c, true);
    return r;
}

/* MHD_AccessHandlerCallback. libmicrohttpd calls it once when the headers
 * are in (*req_cls NULL, or &nul_target), then once per chunk of body,
 * then once more with *upload_data_size 0.
 *
 * On the first call, before any body is read, a request is refused when
 * its target holds %00 (400) or when it may not reach a route (token,
 * client and Host: cd__http_guard), so an unauthenticated client never
 * gets a body buffered. GET and HEAD, and any request a route accepts,
 * are answered on the last call, which keeps the connection alive (an
 * answer queued on the first call makes libmicrohttpd close the
 * connection after it). A POST a route accepts keeps its body (up to
 * CD__HTTP_BODY_MAX) for the route; any other body is dropped chunk by
 * chunk, never stored. Other methods no route accepts (405, or 404 for a
 * POST elsewhere) are answered on the first call: the body is never read,
 * and libmicrohttpd closes the connection after the answer. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    server *s = cls;
    (void)version;
    if (*req_cls == &nul_target)
        return answered(s, c, cd__http_reply_text(c, MHD_HTTP_BAD_REQUEST,
                                               "Bad Request: NUL byte (%00) in the request "
                                               "target\n"));
    if (*req_cls == NULL) {
        enum MHD_Result refused;
        if (!cd__http_guard(c, s->token, &refused))
            return answered(s, c, refused);
        if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0) {
            *req_cls = &seen;
            return MHD_YES;
        }
        if (!cd__http_route_accepts(url, method))
            return answered(s, c, cd__http_dispatch(c, url, method, s->token));
        reqbody *b = calloc(1, sizeof *b);
        if (b == NULL)
            return MHD_NO;
        *req_cls = b;
        return MHD_YES;
    }
    reqbody *b = *req_cls == &seen ? NULL : *req_cls;
    if (*upload_data_size != 0) {
        if (b != NULL && !b->too_big) {
            if (b->b.len + *upload_data_size > CD__HTTP_BODY_MAX) {
                b->too_big = true;
            } else {
                cd__buf_put(&b->b, upload_data, *upload_data_size);
                if (b->b.oom)
                    return MHD_NO;
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (b != NULL && b->too_big)
        return answered(s, c, cd__http_reply_text(c, MHD_HTTP_CONTENT_TOO_LARGE,
                                               "request body too large\n"));
    return answered(s, c, cd__http_dispatch_body(c, url, method, s->token, b ? b->b.p : NULL,
                                              b ? b->b.len : 0));
}

/* MHD_RequestCompletedCallback: frees a kept body; the connection waits
 * for its next request. */
static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    server *s = cls;
    (void)toe;
    cd__http_conns_busy(&s->conns, c, false);
    if (*req_cls != NULL && *req_cls != &seen && *req_cls != &nul_target) {
        reqbody *b = *req_cls;
        cd__buf_free(&b->b);
        free(b);
    }
    *req_cls = NULL;
}

/* Writes a reason into why (snprintf contract), when why is given. */
static void set_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void set_why(char *why, size_t whylen, const char *fmt, ...)
{
    if (why == NULL || whylen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
}

/* strerror_r text for errno e (GNU variant). */
static void set_why_errno(char *why, size_t whylen, const char *what, int e)
{
    char buf[128];
    const char *msg = strerror_r(e, buf, sizeof buf);
    set_why(why, whylen, "%s%s%s", what, what[0] != '\0' ? ": " : "", msg);
}

/* A socket bound to a and listening. Returns the fd or a negative errno. */
static int open_listener(const cd__http_sockaddr *a, int backlog, char *why, size_t whylen)
{
    int fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        int e = errno;
        set_why_errno(why, whylen, "socket", e);
        return -e;
    }
    int one = 1, e;
    /* As Go and libmicrohttpd do: a restarted program can bind the port
     * while connections of its previous run are in TIME_WAIT. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
        goto fail_errno;
    if (a->family == AF_INET6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0)
        goto fail_errno;
    if (bind(fd, (const struct sockaddr *)&a->ss, a->len) != 0) {
        e = errno;
        set_why_errno(why, whylen, "", e);
        goto fail;
    }
    if (listen(fd, backlog) != 0) {
        e = errno;
        set_why_errno(why, whylen, "listen", e);
        goto fail;
    }
    return fd;

fail_errno:
    e = errno;
    set_why_errno(why, whylen, "setsockopt", e);
fail:
    close(fd);
    return -e;
}

/* The port fd is bound to, or a negative errno. */
static int bound_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0)
        return -errno;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)(void *)&ss)->sin_port);
    return ntohs(((struct sockaddr_in6 *)(void *)&ss)->sin6_port);
}

static void server_free(server *s)
{
    if (s == NULL)
        return;
    pthread_mutex_destroy(&s->log_lock);
    cd__http_conns_destroy(&s->conns);
    free(s->token_copy);
    free(s);
}

/* What the descriptors of the daemon are guarded for (runtime/fdguard.h):
 * a daemonizing program that closes them would take the server down (and
 * libmicrohttpd aborts when it cannot wake its own thread). */
static const char server_fds[] = "cdebug's debug server";

/* Starts libmicrohttpd on the listening socket lfd. On success the daemon
 * owns a duplicate of lfd (closed by MHD_stop_daemon); lfd stays ours. */
static int start_daemon(server *s, int lfd, int family, unsigned conns, unsigned timeout, char *why,
                        size_t whylen)
{
    cd__fdset before;
    bool snap = cd__fd_snapshot(&before) == 0;
    int mfd = fcntl(lfd, F_DUPFD_CLOEXEC, 0);
    if (mfd < 0) {
        int e = errno;
        set_why_errno(why, whylen, "dup", e);
        return -e;
    }
    /* Suspend/resume: the trace route's content reader sleeps on it. No
     * listening socket: the acceptor (acceptor.h) hands connections in,
     * which the inter-thread channel (ITC) makes the threads see. */
    unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC;
    if (family == AF_INET6)
        flags |= MHD_USE_IPv6;

    s->log_capture = true;
    sigset_t old;
    block_async_signals(&old);
    cd__http_conns_init(&s->conns, conns);
    s->daemon =
        MHD_start_daemon(flags, 0, NULL, NULL, on_request, s,
                         /* first, so that no start message escapes */
                         MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s,
                         MHD_OPTION_THREAD_POOL_SIZE, (unsigned)CD__HTTP_THREADS,
                         MHD_OPTION_CONNECTION_LIMIT,
                         cd__http_conns_mhd_limit(&s->conns, CD__HTTP_THREADS),
                         MHD_OPTION_NOTIFY_CONNECTION, cd__http_conns_notify, &s->conns,
                         MHD_OPTION_CONNECTION_TIMEOUT, timeout,
                         MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
                         MHD_OPTION_URI_LOG_CALLBACK, on_uri, NULL, MHD_OPTION_END);
    int arc = 0; /* the acceptor's start, when the daemon started */
    if (s->daemon != NULL &&
        (arc = cd__http_acceptor_start(&s->acceptor, mfd, s->daemon, &s->conns)) != 0) {
        MHD_stop_daemon(s->daemon);
        s->daemon = NULL;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    pthread_mutex_lock(&s->log_lock);
    s->log_capture = false;
    pthread_mutex_unlock(&s->log_lock);

    if (s->daemon != NULL) {
        /* The socket's duplicate, the wake-up channels and poll sets: every
         * descriptor the start made. */
        if (snap)
            (void)cd__fd_guard_new(&before, server_fds);
        return 0;
    }
    close(mfd);
    if (arc != 0) {
        set_why_errno(why, whylen, "starting the accepting thread", -arc);
        return arc;
    }
    set_why(why, whylen, "libmicrohttpd: %s",
            s->log[0] != '\0' ? s->log : "the daemon did not start");
    return -EIO;
}

/* One line on stderr, in one write(2), when the server listens beyond
 * loopback: whoever reads the program's output learns that it is
 * reachable from other hosts. */
static void say_exposed(const cd__http_sockaddr *a, int port)
{
    cd__http_sockaddr b = *a;
    if (b.family == AF_INET)
        ((struct sockaddr_in *)(void *)&b.ss)->sin_port = htons((uint16_t)port);
    else
        ((struct sockaddr_in6 *)(void *)&b.ss)->sin6_port = htons((uint16_t)port);
    char shown[INET6_ADDRSTRLEN + 16];
    cd__http_addr_format((const struct sockaddr *)&b.ss, shown, sizeof shown);
    char line[160];
    int n = snprintf(line, sizeof line,
                     "cdebug: http: serving %s to other hosts; every request needs the bearer "
                     "token\n",
                     shown);
    if (n > 0 && (size_t)n < sizeof line) {
        ssize_t w = write(2, line, (size_t)n);
        (void)w;
    }
}

/* pthread_atfork child handler. A thread of the parent may have held
 * srv_lock at the fork (cd_http_stop holds it while libmicrohttpd's thread
 * finishes a request); that thread does not exist in the child, so the
 * lock would never be released and the child's cd_http_stop (run by
 * exit) would wait for ever. The child owns no thread that could be
 * inside it: the lock is made anew, a plain store. */
static void fork_child(void)
{
    srv_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
}

static void register_atfork(void)
{
    (void)pthread_atfork(NULL, NULL, fork_child);
}

/* cd_http_start_opts without cd__ensure_init (cd__http_start_env runs
 * during cd_init). On failure, when why != NULL, a one-line English reason
 * ("address already in use", "... is not a loopback address; ...") is
 * written into why[0..whylen). Returns what cd_http_start_opts returns.
 * Thread-safe; not async-signal-safe; may block on the resolver. */
static int start_server(const cd_http_opts *opts, char *why, size_t whylen)
{
    if (why != NULL && whylen > 0)
        why[0] = '\0';
    if (opts == NULL || opts->addr == NULL) {
        set_why(why, whylen, "no address given");
        return -EINVAL;
    }

    const char *token = opts->token != NULL ? opts->token : cd__http_env_token();
    if (token != NULL && token[0] == '\0' && opts->token != NULL)
        token = NULL; /* an empty token in the options means none */
    if (token != NULL && !cd__http_token_valid(token)) {
        set_why(why, whylen,
                "bad bearer token (want 1 to %d printable ASCII characters, no spaces)",
                CD__HTTP_TOKEN_MAX);
        return -EINVAL;
    }

    cd__http_sockaddr a;
    int rc = cd__http_addr_resolve(opts->addr, &a, why, whylen);
    if (rc != 0)
        return rc;
    /* Other hosts are served only when asked for twice: the address and
     * httpunsafe say where, the token says who. Without a token, anyone
     * who can reach the port would read the program's memory profile,
     * arguments and stacks. */
    if (!a.loopback) {
        char shown[INET6_ADDRSTRLEN + 16];
        cd__http_addr_format((const struct sockaddr *)&a.ss, shown, sizeof shown);
        if (!opts->allow_nonloopback) {
            set_why(why, whylen,
                    "%s is not a loopback address; the debug server exposes the program's "
                    "internals, set CDEBUG=httpunsafe=1 (cd_http_opts.allow_nonloopback) to allow it",
                    shown);
            return -EPERM;
        }
        if (token == NULL) {
            set_why(why, whylen,
                    "%s is not a loopback address and no bearer token is set; set "
                    "CDEBUG_HTTP_TOKEN to serve other hosts",
                    shown);
            return -EPERM;
        }
    }

    unsigned conns = opts->max_connections ? opts->max_connections : CD__HTTP_DEFAULT_CONNECTIONS;
    unsigned timeout = opts->timeout_seconds ? opts->timeout_seconds : CD__HTTP_DEFAULT_TIMEOUT_S;
    int backlog = conns < 64 ? 64 : conns > 4096 ? 4096 : (int)conns;

    server *s = calloc(1, sizeof *s);
    if (s == NULL) {
        set_why(why, whylen, "out of memory");
        return -ENOMEM;
    }
    pthread_mutex_init(&s->log_lock, NULL);
    s->pid = getpid();
    s->token = token;
    if (opts->token != NULL && token != NULL) {
        if ((s->token_copy = strdup(token)) == NULL) {
            set_why(why, whylen, "out of memory");
            rc = -ENOMEM;
            goto fail_free;
        }
        s->token = s->token_copy;
    }

    pthread_once(&atfork_once, register_atfork);
    pthread_mutex_lock(&srv_lock);
    if (srv != NULL) {
        set_why(why, whylen, "the debug server is already running on port %d",
                atomic_load(&srv_port));
        rc = -EBUSY;
        goto fail_unlock;
    }
    int lfd = open_listener(&a, backlog, why, whylen);
    if (lfd < 0) {
        rc = lfd;
        goto fail_unlock;
    }
    int port = bound_port(lfd);
    if (port < 0) {
        set_why_errno(why, whylen, "getsockname", -port);
        rc = port;
        goto fail_close;
    }
    if ((rc = start_daemon(s, lfd, a.family, conns, timeout, why, whylen)) != 0)
        goto fail_close;
    close(lfd); /* the daemon holds its own descriptor of the socket */
    srv = s;
    atomic_store(&srv_port, port);
    pthread_mutex_unlock(&srv_lock);
    if (!a.loopback)
        say_exposed(&a, port);
    return 0;

fail_close:
    close(lfd);
fail_unlock:
    pthread_mutex_unlock(&srv_lock);
fail_free:
    server_free(s);
    return rc;
}

int cd_http_start_opts(const cd_http_opts *opts)
{
    cd__ensure_init();
    return start_server(opts, NULL, 0);
}

int cd_http_start(const char *addr)
{
    cd_http_opts o = {.addr = addr};
    return cd_http_start_opts(&o);
}

int cd_http_port(void)
{
    return atomic_load(&srv_port);
}

/* A server a child of fork() forgot (cd_http_stop): reachable, so that
 * LeakSanitizer does not report libmicrohttpd's memory; never read. */
static server *volatile fork_ghost;

void cd_http_stop(void)
{
    pthread_mutex_lock(&srv_lock);
    server *s = srv;
    srv = NULL;
    atomic_store(&srv_port, -ENOENT);
    if (s != NULL && s->pid != getpid()) {
        /* In a forked child the daemon's threads do not exist: stopping
         * it would wait forever, so the child only forgets the daemon
         * (whose memory is reached through s: kept, not freed). */
        fork_ghost = s;
        s = NULL;
    }
    if (s != NULL) {
        cd__http_trace_shutdown();    /* no suspended connection may remain */
        cd__http_deferred_shutdown(); /* nor a profile being rendered */
        cd__http_profile_shutdown();  /* nor a CPU profile being served */
        cd__fd_unguard_all(server_fds);
        cd__http_acceptor_stop(s->acceptor); /* no newcomer from here on */
        MHD_stop_daemon(s->daemon);          /* joins the threads, closes connections */
    }
    pthread_mutex_unlock(&srv_lock);
    server_free(s);
}

void cd__http_start_env(const cd__config *cfg)
{
    if (cfg->http_addr[0] == '\0')
        return;
    cd_http_opts o = {.addr = cfg->http_addr, .allow_nonloopback = cfg->httpunsafe != 0};
    char why[384];
    int rc = start_server(&o, why, sizeof why);
    if (rc == 0) {
        /* A port the system chose is known to no one else: say it, once,
         * with the PID (children of a preloaded program each take one:
         * runtime/lineage.h). A program that asked for a port knows it. */
        if (cd__env_http_port_zero(cfg->http_addr))
            dprintf(STDERR_FILENO, "cdebug: http: pid %ld listening on port %d\n", (long)getpid(),
                    cd_http_port());
        return;
    }
    char line[600];
    int n = snprintf(line, sizeof line, "cdebug: http: cannot listen on %s: %s\n", cfg->http_addr,
                     why[0] != '\0' ? why : cd_strerror(rc));
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line) {
        n = (int)sizeof line - 1;
        line[n - 1] = '\n';
    }
    ssize_t w = write(2, line, (size_t)n); /* one write: never interleaved */
    (void)w;
}

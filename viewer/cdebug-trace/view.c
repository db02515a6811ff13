/* viewer/cdebug-trace/view.c - `cdebug-trace view [--http=ADDR]
 * [--no-browser-hint] TRACE`: a local web UI for one trace.
 *
 * The trace is read once into the span index (view_index.h) and its
 * statistics are computed once (stats.h); then a small libmicrohttpd
 * daemon on a loopback address serves the embedded web files (web/, turned
 * into view_assets.c at build time) and the JSON routes the page queries:
 *
 *   GET /                 index.html (also /app.js, /style.css)
 *   GET /api/meta         the trace and its tracks
 *   GET /api/slices?start=NS&end=NS&px=W    what a viewport shows
 *   GET /api/slice?ref=N  details of one span (N from /api/slices)
 *   GET /api/heap?start=NS&end=NS&px=W      the heap counter, per pixel
 *   GET /api/stats        `cdebug-trace stats --json`
 *   GET /api/lints        its "lints" member only
 *
 * Unknown paths answer 404, a missing or bad parameter 400 with the reason,
 * other methods 405. Each answer is bounded (view_index.h). Requests whose
 * Host header is not a loopback name are refused (403): a page of another
 * site cannot read the trace through DNS rebinding.
 *
 * It prints "cdebug-trace: serving http://127.0.0.1:PORT/" on stdout and
 * serves until SIGINT or SIGTERM (exit 0). A busy port is reported on
 * stderr and a free one is used instead. Exit 1: unreadable trace, server
 * failure; 2: bad usage (unknown flag, non-loopback address).
 * docs/cdebug-trace-view.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <jansson.h>
#include <microhttpd.h>

#include "../../http/addr.h"
#include "cdt.h"
#include "stats.h"
#include "view_index.h"

/* The web files, generated from web/ by view_embed.cmake. */
typedef struct cdt_view_asset {
    const char *path; /* "/index.html" */
    const char *type; /* Content-Type */
    const unsigned char *data;
    size_t len;
} cdt_view_asset;
extern const cdt_view_asset cdt_view_assets[];
extern const size_t cdt_view_nassets;

#define VIEW_CONNECTIONS 64
#define VIEW_TIMEOUT_S   60

typedef struct view {
    cdt_vindex *ix;
    char *stats_json; /* whole stats --json text, NULL if it failed */
    size_t stats_len;
    char *lints_json;
    size_t lints_len;
    char mhd_log[256];        /* first libmicrohttpd message while starting */
    _Atomic bool log_capture; /* also read by the daemon's thread */
} view;

/* The usage text of `view` on f. */
static void view_usage(FILE *f)
{
    fprintf(f,
            "usage: %s view [--http=ADDR] [--no-browser-hint] TRACE\n"
            "  Serves a web timeline of TRACE on a loopback address and prints its URL;\n"
            "  runs until interrupted (Ctrl-C, SIGTERM).\n"
            "  --http=ADDR        host:port to listen on (default 127.0.0.1:0: a free port);\n"
            "                     loopback only (127.0.0.0/8, ::1, localhost); a busy port\n"
            "                     is reported and a free one used instead\n"
            "  --no-browser-hint  do not print the hint about opening a browser\n",
            cdt_prog);
}

/* ---- answers ---------------------------------------------------------- */

/* Queues an answer with our headers (type, no sniffing, caching, a
 * Content-Security-Policy allowing only our own files). `owned`: buf is
 * malloc'd and freed by libmicrohttpd (also on failure here); else it is
 * static. Runs on the daemon's thread; O(1) plus the copy-free send. */
static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type, void *buf,
                             size_t len, bool owned, bool cache)
{
    struct MHD_Response *r =
        owned ? MHD_create_response_from_buffer_with_free_callback(len, buf, free)
              : MHD_create_response_from_buffer(len, buf, MHD_RESPMEM_PERSISTENT);
    if (r == NULL) {
        if (owned)
            free(buf);
        return MHD_NO;
    }
    enum MHD_Result rc = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    if (rc == MHD_YES)
        rc = MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (rc == MHD_YES)
        rc = MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL,
                                     cache ? "no-cache" : "no-store");
    /* Only our own files run in the page. */
    if (rc == MHD_YES)
        rc = MHD_add_response_header(r, "Content-Security-Policy",
                                     "default-src 'self'; img-src 'self' data:; "
                                     "frame-ancestors 'none'; base-uri 'none'");
    if (rc == MHD_YES)
        rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* A text/plain error answer: "<status text>: <detail>\n". */
static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static enum MHD_Result reply_error(struct MHD_Connection *c, unsigned status, const char *fmt, ...)
{
    char *msg = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (n < 0)
        return MHD_NO;
    return reply(c, status, "text/plain; charset=utf-8", msg, (size_t)n, true, false);
}

/* A JSON answer built by fill(f); 500 if the memory stream fails. */
typedef int (*json_fill)(const view *v, struct MHD_Connection *c, FILE *f, char *why,
                         size_t whylen);

/* Answers 200 with the JSON fill() writes, or the error it returns: 400
 * (-EINVAL), 404 (-ENOENT) or 500, with fill's reason. Bounded by fill. */
static enum MHD_Result reply_json(const view *v, struct MHD_Connection *c, json_fill fill)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    char why[256] = "";
    int rc = fill(v, c, f, why, sizeof(why));
    bool bad = ferror(f) != 0;
    if (fclose(f) != 0)
        bad = true;
    if (rc != 0 || bad) {
        free(buf);
        if (rc == -EINVAL)
            return reply_error(c, MHD_HTTP_BAD_REQUEST, "bad request: %s\n", why);
        if (rc == -ENOENT)
            return reply_error(c, MHD_HTTP_NOT_FOUND, "not found: %s\n", why);
        return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal error: %s\n",
                           rc == -ENOMEM || bad ? "out of memory" : why);
    }
    return reply(c, MHD_HTTP_OK, "application/json; charset=utf-8", buf, len, true, false);
}

/* ---- query parameters ------------------------------------------------- */

/* Parses parameter `key` as a decimal integer in [lo, hi]. Returns 0, or
 * -EINVAL with the reason in why. */
static int param_int(struct MHD_Connection *c, const char *key, int64_t lo, int64_t hi,
                     int64_t *out, char *why, size_t whylen)
{
    const char *s = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
    if (s == NULL) {
        snprintf(why, whylen, "missing parameter %s", key);
        return -EINVAL;
    }
    const char *p = s;
    bool neg = *p == '-';
    if (neg)
        p++;
    uint64_t mag = 0;
    bool ok = *p != '\0';
    for (; *p != '\0' && ok; p++) {
        if (*p < '0' || *p > '9' || mag > (UINT64_MAX - 9) / 10)
            ok = false;
        else
            mag = mag * 10 + (uint64_t)(*p - '0');
    }
    if (ok && ((!neg && mag > (uint64_t)INT64_MAX) || (neg && mag > (uint64_t)INT64_MAX + 1)))
        ok = false;
    int64_t v = 0;
    if (ok)
        v = neg ? (int64_t)(0 - mag) : (int64_t)mag;
    if (!ok || v < lo || v > hi) {
        snprintf(why, whylen, "parameter %s=%.40s%s: want an integer in [%" PRId64 ", %" PRId64 "]",
                 key, s, strlen(s) > 40 ? "..." : "", lo, hi);
        return -EINVAL;
    }
    *out = v;
    return 0;
}

#define NS_LIMIT CDT_VIX_TIME_LIMIT

/* start, end and px of a viewport query, checked. */
static int window_params(struct MHD_Connection *c, int64_t *start, int64_t *end, unsigned *px,
                         char *why, size_t whylen)
{
    int64_t w;
    int rc;
    if ((rc = param_int(c, "start", -NS_LIMIT, NS_LIMIT, start, why, whylen)) != 0 ||
        (rc = param_int(c, "end", -NS_LIMIT, NS_LIMIT, end, why, whylen)) != 0 ||
        (rc = param_int(c, "px", 1, CDT_VIX_MAX_PX, &w, why, whylen)) != 0)
        return rc;
    if (*start >= *end) {
        snprintf(why, whylen, "want start < end (start=%" PRId64 ", end=%" PRId64 ")", *start,
                 *end);
        return -EINVAL;
    }
    *px = (unsigned)w;
    return 0;
}

/* json_fill of the routes: /api/meta, /api/slices, /api/heap, /api/slice. */
static int fill_meta(const view *v, struct MHD_Connection *c, FILE *f, char *why, size_t whylen)
{
    (void)c;
    (void)why;
    (void)whylen;
    return cdt_vindex_meta_json(v->ix, f);
}

static int fill_slices(const view *v, struct MHD_Connection *c, FILE *f, char *why, size_t whylen)
{
    int64_t s, e;
    unsigned px;
    int rc = window_params(c, &s, &e, &px, why, whylen);
    return rc != 0 ? rc : cdt_vindex_slices_json(v->ix, s, e, px, f);
}

static int fill_heap(const view *v, struct MHD_Connection *c, FILE *f, char *why, size_t whylen)
{
    int64_t s, e;
    unsigned px;
    int rc = window_params(c, &s, &e, &px, why, whylen);
    return rc != 0 ? rc : cdt_vindex_heap_json(v->ix, s, e, px, f);
}

static int fill_slice(const view *v, struct MHD_Connection *c, FILE *f, char *why, size_t whylen)
{
    int64_t ref;
    int rc = param_int(c, "ref", 0, INT64_MAX, &ref, why, whylen);
    if (rc != 0)
        return rc;
    rc = cdt_vindex_slice_json(v->ix, (uint64_t)ref, f);
    if (rc == -ENOENT)
        snprintf(why, whylen, "no span with ref %" PRId64 " (the trace has %" PRIu64 ")", ref,
                 cdt_vindex_spans(v->ix));
    return rc;
}

/* ---- routing ---------------------------------------------------------- */

/* True when the Host header names a loopback host (or is absent, as in
 * HTTP/1.0): what a browser sends for the URL we print. The debug server
 * applies the same rule (http/auth.h). */
static bool host_ok(struct MHD_Connection *c)
{
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    return h == NULL || cd__http_host_is_loopback(h);
}

/* Dispatches one GET or HEAD (url without the query string). Runs on the
 * daemon's thread; the index is read-only, so no lock is needed. */
static enum MHD_Result route(view *v, struct MHD_Connection *c, const char *url)
{
    if (!host_ok(c))
        return reply_error(c, MHD_HTTP_FORBIDDEN,
                           "forbidden: the viewer answers loopback host names only\n");
    if (strcmp(url, "/") == 0)
        url = "/index.html";
    if (strncmp(url, "/api/", 5) == 0) {
        const char *r = url + 5;
        if (strcmp(r, "meta") == 0)
            return reply_json(v, c, fill_meta);
        if (strcmp(r, "slices") == 0)
            return reply_json(v, c, fill_slices);
        if (strcmp(r, "slice") == 0)
            return reply_json(v, c, fill_slice);
        if (strcmp(r, "heap") == 0)
            return reply_json(v, c, fill_heap);
        if (strcmp(r, "stats") == 0 || strcmp(r, "lints") == 0) {
            bool stats = r[0] == 's';
            const char *body = stats ? v->stats_json : v->lints_json;
            if (body == NULL)
                return reply_error(c, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                   "internal error: the statistics could not be computed\n");
            return reply(c, MHD_HTTP_OK, "application/json; charset=utf-8", (void *)body,
                         stats ? v->stats_len : v->lints_len, false, false);
        }
    } else {
        for (size_t i = 0; i < cdt_view_nassets; i++)
            if (strcmp(url, cdt_view_assets[i].path) == 0)
                return reply(c, MHD_HTTP_OK, cdt_view_assets[i].type,
                             (void *)cdt_view_assets[i].data, cdt_view_assets[i].len, false, true);
    }
    return reply_error(c, MHD_HTTP_NOT_FOUND, "not found: %.200s\n", url);
}

/* MHD_AccessHandlerCallback: GET and HEAD are answered on the second call
 * (headers complete, no body), which keeps the connection alive; other
 * methods get 405 at once and their body is never read. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **req_cls)
{
    static char seen;
    (void)version;
    (void)upload_data;
    bool get =
        strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    if (*req_cls == NULL) {
        *req_cls = &seen;
        if (get)
            return MHD_YES;
        return reply_error(c, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed: %.20s\n", method);
    }
    if (*upload_data_size != 0) { /* a GET with a body: dropped */
        *upload_data_size = 0;
        return MHD_YES;
    }
    return route(cls, c, url);
}

/* MHD_LogCallback: keeps the first message while the daemon starts (it
 * explains a failure); later messages are dropped. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    view *v = cls;
    if (!v->log_capture || v->mhd_log[0] != '\0')
        return; /* a client resetting a connection is not worth a line */
    vsnprintf(v->mhd_log, sizeof(v->mhd_log), fmt, ap);
    size_t n = strlen(v->mhd_log);
    while (n > 0 && (v->mhd_log[n - 1] == '\n' || v->mhd_log[n - 1] == '.'))
        v->mhd_log[--n] = '\0';
}

/* ---- statistics ------------------------------------------------------- */

/* Computes the stats JSON (and its lints member) once. The trace was just
 * read without error by the index; any warning (truncation) was printed
 * then, so the second pass runs with stderr silenced rather than print it
 * twice. */
static void compute_stats(view *v, const char *path)
{
    fflush(stderr);
    int saved = dup(STDERR_FILENO), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (saved >= 0 && null >= 0)
        dup2(null, STDERR_FILENO);
    if (null >= 0)
        close(null);
    cdt_stats *s = NULL;
    int rc = cdt_stats_compute(path, &s);
    char *buf = NULL;
    size_t len = 0;
    if (rc == CDT_OK) {
        FILE *f = open_memstream(&buf, &len);
        if (f != NULL) {
            cdt_stats_report(f, s, path, CDT_REPORT_JSON);
            if (ferror(f) != 0) {
                fclose(f);
                free(buf);
                buf = NULL;
            } else if (fclose(f) != 0) {
                free(buf);
                buf = NULL;
            }
        }
    }
    cdt_stats_free(s);
    fflush(stderr);
    if (saved >= 0) {
        dup2(saved, STDERR_FILENO);
        close(saved);
    }
    if (buf == NULL) {
        cdt_error("warning: view: the statistics could not be computed; "
                  "the Stats and Lints pages will be empty");
        return;
    }
    v->stats_json = buf;
    v->stats_len = len;
    json_error_t jerr;
    json_t *root = json_loadb(buf, len, 0, &jerr);
    json_t *lints = root != NULL ? json_object_get(root, "lints") : NULL;
    json_t *out = json_object();
    int set = out == NULL     ? -1
              : lints != NULL ? json_object_set(out, "lints", lints)
                              : json_object_set_new(out, "lints", json_array());
    if (set == 0) {
        v->lints_json = json_dumps(out, JSON_COMPACT);
        if (v->lints_json != NULL)
            v->lints_len = strlen(v->lints_json);
    }
    json_decref(out);
    json_decref(root);
}

/* ---- listening -------------------------------------------------------- */

/* A listening socket on a (port replaced by `port` when port >= 0).
 * Returns the fd or a negative errno. */
static int listen_on(const cd__http_sockaddr *a, int port)
{
    cd__http_sockaddr b = *a;
    if (port >= 0) {
        if (b.family == AF_INET)
            ((struct sockaddr_in *)(void *)&b.ss)->sin_port = htons((uint16_t)port);
        else
            ((struct sockaddr_in6 *)(void *)&b.ss)->sin6_port = htons((uint16_t)port);
    }
    int fd = socket(b.family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    /* A restarted viewer can bind its port while the previous run's
     * connections are in TIME_WAIT (not while it still listens). */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (b.family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)&b.ss, b.len) != 0 || listen(fd, 64) != 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

/* Listens on addr (or on a free port of its host if addr's is taken),
 * prints the URL, serves until SIGINT or SIGTERM. Returns the exit code.
 * Call once, from the main thread: it changes the signal mask and the
 * dispositions of SIGINT, SIGTERM and SIGPIPE. */
static int serve(view *v, const char *addr, bool hint)
{
    int code = CDT_FAIL;
    cd__http_sockaddr a;
    char why[300] = "";
    if (cd__http_addr_resolve(addr, &a, why, sizeof(why)) != 0) {
        cdt_error("view: bad address %s: %s", addr, why[0] ? why : "cannot resolve");
        return CDT_USAGE;
    }
    int fd = listen_on(&a, -1);
    if (fd == -EADDRINUSE) {
        cdt_error("view: %s: address already in use; serving on a free port instead", addr);
        fd = listen_on(&a, 0);
    }
    if (fd < 0) {
        cdt_error("view: cannot listen on %s: %s", addr, strerror(-fd));
        return CDT_FAIL;
    }
    struct sockaddr_storage ss;
    socklen_t sl = sizeof(ss);
    char shown[INET6_ADDRSTRLEN + 16];
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) != 0 ||
        cd__http_addr_format((const struct sockaddr *)&ss, shown, sizeof(shown)) < 0) {
        cdt_error("view: getsockname: %s", strerror(errno));
        close(fd);
        return CDT_FAIL;
    }

    /* SIGINT and SIGTERM are taken by sigwait below; blocked before the
     * daemon's thread starts so that it inherits the mask. Their
     * disposition is reset to the default once blocked: a shell starts
     * background commands with SIGINT ignored, and an ignored signal is
     * discarded, never waited for, so `kill -INT` would not stop a viewer
     * started with `&`. */
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, &old);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_IGN); /* a closed stdout must not kill the server */

    v->log_capture = true;
    struct MHD_Daemon *d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_USE_ERROR_LOG |
            (a.family == AF_INET6 ? MHD_USE_IPv6 : 0),
        0, NULL, NULL, on_request, v, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, v,
        MHD_OPTION_LISTEN_SOCKET, fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)VIEW_CONNECTIONS,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)VIEW_TIMEOUT_S, MHD_OPTION_END);
    if (d == NULL) {
        /* fd is not closed: whether a failed start closed it differs
         * between libmicrohttpd versions, and the process exits now. */
        cdt_error("view: cannot start the HTTP server: %s",
                  v->mhd_log[0] ? v->mhd_log : "libmicrohttpd failed");
        goto out;
    }
    v->log_capture = false; /* later messages are dropped: see mhd_log */

    printf("%s: serving http://%s/\n", cdt_prog, shown);
    fflush(stdout);
    if (hint)
        fprintf(stderr, "%s: open that URL in a web browser; Ctrl-C stops the server\n", cdt_prog);

    int sig;
    while (sigwait(&stop, &sig) != 0)
        ;
    MHD_stop_daemon(d); /* joins the thread, closes the socket */
    code = CDT_OK;
out:
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return code;
}

/* `cdebug-trace view`: see the top of this file and cdt.h. */
int cdt_cmd_view(int argc, char **argv)
{
    const char *addr = "127.0.0.1:0", *path = NULL;
    bool hint = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--http=", 7) == 0) {
            addr = a + 7;
        } else if (strcmp(a, "--http") == 0) {
            if (i + 1 == argc) {
                cdt_error("view: --http needs an address (HOST:PORT)");
                view_usage(stderr);
                return CDT_USAGE;
            }
            addr = argv[++i];
        } else if (strcmp(a, "--no-browser-hint") == 0) {
            hint = false;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            view_usage(stdout);
            return CDT_OK;
        } else if (strcmp(a, "--") == 0 && i + 2 == argc && path == NULL) {
            path = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            cdt_error("view: unknown flag %s", a);
            view_usage(stderr);
            return CDT_USAGE;
        } else if (path == NULL) {
            path = a;
        } else {
            cdt_error("view: one TRACE only");
            view_usage(stderr);
            return CDT_USAGE;
        }
    }
    if (path == NULL) {
        cdt_error("view: missing TRACE");
        view_usage(stderr);
        return CDT_USAGE;
    }
    if (strcmp(path, "-") == 0) {
        cdt_error("view: needs a trace file (it reads it twice), not standard input");
        return CDT_USAGE;
    }
    /* The address is checked before the (possibly long) indexing. */
    cd__http_sockaddr sa;
    char why[300] = "";
    if (cd__http_addr_resolve(addr, &sa, why, sizeof(why)) != 0) {
        cdt_error("view: bad --http address \"%s\": %s", addr,
                  why[0] ? why : "want HOST:PORT, e.g. 127.0.0.1:8080");
        return CDT_USAGE;
    }
    if (!sa.loopback) {
        cdt_error("view: --http=%s is not a loopback address; the viewer serves on 127.0.0.1, "
                  "::1 or localhost only",
                  addr);
        return CDT_USAGE;
    }

    view v = {0};
    int code = cdt_vindex_build(path, &v.ix);
    if (code != CDT_OK)
        return code;
    compute_stats(&v, path);
    code = serve(&v, addr, hint);
    cdt_vindex_free(v.ix);
    free(v.stats_json);
    free(v.lints_json);
    return code;
}

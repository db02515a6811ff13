/* http/router.c - route table, dispatch, and the embedding entry points
 * cd_http_handle / cd_http_is_route.
 *
 * The table is tiny (a handful of routes) and read on every request, so it
 * is a fixed array scanned linearly: no allocation, no hashing, and an
 * append-only layout that lets readers skip the lock entirely.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "cdebug/http_mhd.h"
#include "http/auth.h"
#include "http/response.h"
#include "http/router.h"
#include "runtime/start.h"

typedef struct route {
    const char *path;
    size_t len;
    bool prefix;
    unsigned methods;
    char allow[32]; /* the Allow header for a 405 */
    cd__http_handler fn;
    void *ctx;
} route;

static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static route table[CD__HTTP_ROUTES_MAX];
static _Atomic size_t table_len; /* entries [0, table_len) are immutable */

/* "GET, HEAD, POST" for a method set. Pure. */
static void format_allow(char *buf, size_t n, unsigned methods)
{
    static const struct {
        unsigned bit;
        const char *name;
    } names[] = {{CD__HTTP_GET, "GET"}, {CD__HTTP_HEAD, "HEAD"}, {CD__HTTP_POST, "POST"}};
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if (!(methods & names[i].bit))
            continue;
        int w = snprintf(buf + len, n - len, "%s%s", len > 0 ? ", " : "", names[i].name);
        if (w < 0 || (size_t)w >= n - len)
            return;
        len += (size_t)w;
    }
}

int cd__http_route_methods(const char *path, bool prefix, unsigned methods, cd__http_handler fn,
                           void *ctx)
{
    if (path == NULL || path[0] != '/' || fn == NULL)
        return -EINVAL;
    methods &= CD__HTTP_GET | CD__HTTP_HEAD | CD__HTTP_POST;
    if (methods & CD__HTTP_GET)
        methods |= CD__HTTP_HEAD;
    if (methods == 0)
        return -EINVAL;

    int rc = 0;
    pthread_mutex_lock(&table_lock);
    size_t n = atomic_load_explicit(&table_len, memory_order_relaxed);
    for (size_t i = 0; i < n; i++)
        if (table[i].prefix == prefix && strcmp(table[i].path, path) == 0) {
            rc = -EEXIST;
            goto out;
        }
    if (n == CD__HTTP_ROUTES_MAX) {
        rc = -ENOMEM;
        goto out;
    }
    route *r = &table[n];
    r->path = path;
    r->len = strlen(path);
    r->prefix = prefix;
    r->methods = methods;
    format_allow(r->allow, sizeof r->allow, methods);
    r->fn = fn;
    r->ctx = ctx;
    atomic_store_explicit(&table_len, n + 1, memory_order_release);
out:
    pthread_mutex_unlock(&table_lock);
    return rc;
}

int cd__http_route(const char *path, bool prefix, cd__http_handler fn, void *ctx)
{
    return cd__http_route_methods(path, prefix, CD__HTTP_GET | CD__HTTP_HEAD, fn, ctx);
}

/* The route for url: an exact route, else the longest prefix route, else
 * NULL. Lock-free. */
static const route *lookup(const char *url)
{
    size_t n = atomic_load_explicit(&table_len, memory_order_acquire);
    const route *best = NULL;
    for (size_t i = 0; i < n; i++) {
        const route *r = &table[i];
        if (!r->prefix) {
            if (strcmp(url, r->path) == 0)
                return r;
        } else if (strncmp(url, r->path, r->len) == 0 && (best == NULL || r->len > best->len)) {
            best = r;
        }
    }
    return best;
}

/* The method's bit, 0 for a method no route accepts. */
static unsigned method_bit(const char *m)
{
    if (strcmp(m, MHD_HTTP_METHOD_GET) == 0)
        return CD__HTTP_GET;
    if (strcmp(m, MHD_HTTP_METHOD_HEAD) == 0)
        return CD__HTTP_HEAD;
    if (strcmp(m, MHD_HTTP_METHOD_POST) == 0)
        return CD__HTTP_POST;
    return 0;
}

bool cd__http_route_accepts(const char *url, const char *method)
{
    const route *r = url != NULL ? lookup(url) : NULL;
    return r != NULL && method != NULL && (r->methods & method_bit(method)) != 0;
}

enum MHD_Result cd__http_dispatch(struct MHD_Connection *c, const char *url, const char *method,
                                  const char *token)
{
    return cd__http_dispatch_body(c, url, method, token, NULL, 0);
}

enum MHD_Result cd__http_dispatch_body(struct MHD_Connection *c, const char *url,
                                       const char *method, const char *token, const char *body,
                                       size_t body_len)
{
    enum MHD_Result refused;
    if (!cd__http_guard(c, token, &refused))
        return refused;
    const route *r = url != NULL ? lookup(url) : NULL;
    if (r == NULL)
        return cd__http_reply_text(c, MHD_HTTP_NOT_FOUND, "404 page not found\n");
    unsigned bit = method != NULL ? method_bit(method) : 0;
    if (!(r->methods & bit))
        return cd__http_reply_text_hdr(c, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed\n",
                                       MHD_HTTP_HEADER_ALLOW, r->allow);
    cd__http_req req = {.conn = c,
                        .url = url,
                        .method = method,
                        .head = bit == CD__HTTP_HEAD,
                        .body = body,
                        .body_len = body_len};
    return r->fn(&req, r->ctx);
}

const char *cd__http_query(const cd__http_req *req, const char *key)
{
    return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

/* ---- Embedding: routes mounted in the application's own server -------- */

enum MHD_Result cd_http_handle(struct MHD_Connection *c, const char *url, const char *method)
{
    return cd_http_handle_body(c, url, method, NULL, 0);
}

enum MHD_Result cd_http_handle_body(struct MHD_Connection *c, const char *url, const char *method,
                                    const char *body, size_t body_len)
{
    if (c == NULL)
        return MHD_NO;
    cd__ensure_init();
    const char *token = cd__http_env_token();
    if (body == NULL && body_len > 0 && body_len <= CD__HTTP_BODY_MAX)
        return MHD_NO; /* the caller's error: no body to read */
    if (body_len > CD__HTTP_BODY_MAX) {
        enum MHD_Result refused;
        if (!cd__http_guard(c, token, &refused))
            return refused;
        return cd__http_reply_text(c, MHD_HTTP_CONTENT_TOO_LARGE, "request body too large\n");
    }
    return cd__http_dispatch_body(c, url, method, token, body, body_len);
}

bool cd_http_is_route(const char *url)
{
    return url != NULL && lookup(url) != NULL;
}

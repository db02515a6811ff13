/* http/router.h - the one route table of the debug server.
 *
 * Go registers its debug handlers on http.DefaultServeMux; cdebug has this
 * table instead. /debug/vars and /metrics are registered at first use;
 * the other routes (/debug/pprof/ as a prefix route) are added with
 * cd__http_route. The same table serves the built-in server and
 * cd_http_handle, so an application that embeds the routes gets every
 * one of them.
 *
 * Dispatch order, for every request:
 *   1. who asks (http/auth.h): with a token configured, 401 without the
 *      right bearer token; without one, 403 for a non-loopback client or a
 *      Host header that is not a loopback name;
 *   2. path: exact routes first, then the longest matching prefix route;
 *      no match: 404 "404 page not found\n" (Go's text);
 *   3. method: not allowed by the route: 405 with an Allow header;
 *   4. the route's handler.
 * Paths are matched byte for byte as libmicrohttpd delivers them (query
 * string removed); handlers read query values with cd__http_query.
 *
 * Concurrency: the table is append-only. Registration takes a mutex and
 * publishes each entry with a release store of the count; lookups read the
 * count with an acquire load and never lock, so a request never waits for
 * a registration.
 */
#ifndef CDEBUG_HTTP_ROUTER_H
#define CDEBUG_HTTP_ROUTER_H

#include <stdbool.h>

#include <microhttpd.h>

#include "cdebug/http_mhd.h"

/* Most routes the table holds. */
#define CD__HTTP_ROUTES_MAX 32

/* Methods a route accepts (a bit set). GET implies HEAD, as in Go. */
enum {
    CD__HTTP_GET = 1u << 0,
    CD__HTTP_HEAD = 1u << 1,
    CD__HTTP_POST = 1u << 2,
};

/* One request, as a handler sees it. */
typedef struct cd__http_req {
    struct MHD_Connection *conn; /* for MHD_queue_response and headers */
    const char *url;             /* the path, without the query string */
    const char *method;          /* "GET", "HEAD", ... */
    bool head;                   /* method is HEAD: the body is not sent */
    const char *body;            /* a POST's body (up to CD__HTTP_BODY_MAX), else NULL */
    size_t body_len;
} cd__http_req;

/* Largest request body kept for a route that accepts POST; a longer one
 * gets 413. (Only /debug/pprof/symbol reads a body: a list of addresses.)
 * The public CD_HTTP_BODY_MAX, which embedding applications buffer to. */
#define CD__HTTP_BODY_MAX CD_HTTP_BODY_MAX

/* A route handler: queues exactly one response on req->conn and returns
 * MHD_queue_response's result (MHD_NO closes the connection). Runs on a
 * libmicrohttpd thread, which bdwgc does not know: it must not touch GC
 * memory (the collector neither scans that thread's stack nor stops it).
 * ctx is the pointer given at registration. */
typedef enum MHD_Result (*cd__http_handler)(const cd__http_req *req, void *ctx);

/* Adds a GET/HEAD route. path starts with '/' and must stay valid for the
 * life of the process (a string literal); prefix true matches every path
 * that starts with it (Go's "/debug/pprof/" subtree pattern). Returns 0,
 * -EINVAL (bad path, NULL fn), -EEXIST (same path and kind already
 * registered; the first is kept) or -ENOMEM (the table is full).
 * Thread-safe; not async-signal-safe; O(routes). */
int cd__http_route(const char *path, bool prefix, cd__http_handler fn, void *ctx);

/* Same, accepting the methods in the CD__HTTP_* set (e.g. pprof's symbol
 * endpoint takes POST). */
int cd__http_route_methods(const char *path, bool prefix, unsigned methods, cd__http_handler fn,
                           void *ctx);

/* The value of query parameter key ("seconds" in ?seconds=5), decoded by
 * libmicrohttpd; NULL when absent or given without '='. Valid until the
 * handler returns. Thread-safe (the handler's thread); O(parameters). */
const char *cd__http_query(const cd__http_req *req, const char *key);

/* True when url reaches a route that accepts method: the request will get
 * its handler's answer unless the token check fails. Thread-safe;
 * lock-free; O(routes). */
bool cd__http_route_accepts(const char *url, const char *method);

/* Runs the dispatch described above for one request and queues exactly
 * one response. token NULL means no token is required. Returns MHD_YES, or
 * MHD_NO when no response could be queued (out of memory, or called in a
 * state where libmicrohttpd refuses a response). Call from the access
 * handler's thread. Cost: O(routes) plus the handler. */
enum MHD_Result cd__http_dispatch(struct MHD_Connection *c, const char *url, const char *method,
                                  const char *token);

/* Same, with the request body (NULL, 0 for none) handed to the route. */
enum MHD_Result cd__http_dispatch_body(struct MHD_Connection *c, const char *url,
                                       const char *method, const char *token, const char *body,
                                       size_t body_len);

#endif /* CDEBUG_HTTP_ROUTER_H */

/* cdebug/http.h - the debug HTTP server (Go's DefaultServeMux with expvar
 * and net/http/pprof registered), on libmicrohttpd.
 *
 * Routes: /debug/vars (expvar JSON), /metrics (Prometheus text); later
 * issues add /debug/pprof/. Secure by default: loopback addresses only
 * unless the caller allows others explicitly; an optional bearer token
 * (CDEBUG_HTTP_TOKEN) guards every route.
 */
#ifndef CDEBUG_HTTP_H
#define CDEBUG_HTTP_H

#include <stdbool.h>

#include <microhttpd.h>

#include <cdebug/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cd_http_opts {
    const char *addr;           /* "host:port"; port 0 picks a free port */
    bool allow_nonloopback;     /* bind a non-loopback address (httpunsafe=1) */
    const char *token;          /* bearer token, NULL: CDEBUG_HTTP_TOKEN or none;
                                 * "": none, whatever the environment says */
    unsigned max_connections;   /* 0: default (256); more wait in the backlog */
    unsigned timeout_seconds;   /* idle connection timeout, 0: default (30) */
} cd_http_opts;

/* Starts the debug server on addr ("127.0.0.1:6060", "localhost:0",
 * "[::1]:6060"). Returns 0, -EBUSY if already running, -EINVAL for a
 * malformed address or an unusable token (not 1..4096 printable ASCII
 * characters without spaces), -EADDRNOTAVAIL when a name does not resolve,
 * -EPERM for a non-loopback address (use cd_http_start_opts with
 * allow_nonloopback), -EADDRINUSE, -EACCES, -ENOMEM, -EIO (libmicrohttpd
 * failed). Prints nothing (CDEBUG=http=ADDR prints the reason of a failure).
 * Thread-safe; not async-signal-safe; a host name may block on the
 * resolver. Starts one thread. CDEBUG=http=ADDR calls it at start. */
CD_EXTERN int cd_http_start(const char *addr);
CD_EXTERN int cd_http_start_opts(const cd_http_opts *opts);

/* The port the server listens on (useful with port 0), or -ENOENT.
 * Thread-safe; async-signal-safe (one atomic load). */
CD_EXTERN int cd_http_port(void);

/* Stops the server: waits for handlers that are running to return, then
 * closes every connection (a response still being sent is cut short).
 * Idempotent; run by cd_shutdown and at exit. Thread-safe; not
 * async-signal-safe; must not be called from a debug route handler. */
CD_EXTERN void cd_http_stop(void);

/* Serves url if it is a debug route, for applications that run their own
 * libmicrohttpd server: call it from your access handler and return its
 * result (MHD_NO only on an internal failure). Returns MHD_YES after
 * queueing a 404 when url is not a debug route; check cd_http_is_route
 * first to fall through to your own routes. Applies the token check
 * (CDEBUG_HTTP_TOKEN) and the method check (405). Call it when a response
 * may be queued: on the first call for the request (*req_cls still NULL)
 * or on the last one (*upload_data_size == 0). Handlers run on your
 * daemon's thread, which need not be registered with the collector.
 * Not async-signal-safe. Cost: one render of the route's document. */
CD_EXTERN enum MHD_Result cd_http_handle(struct MHD_Connection *c, const char *url,
                                         const char *method);
/* True when url (the path, without query) is served by cd_http_handle.
 * Thread-safe; lock-free; O(routes). */
CD_EXTERN bool cd_http_is_route(const char *url);

#ifdef __cplusplus
}
#endif
#endif /* CDEBUG_HTTP_H */

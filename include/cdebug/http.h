/* cdebug/http.h - the debug HTTP server (Go's DefaultServeMux with expvar
 * and net/http/pprof registered), on libmicrohttpd.
 *
 * Routes: /debug/vars (expvar JSON), /metrics (Prometheus text), and Go's
 * /debug/pprof/ (the index, profiles, cmdline, symbol, trace); docs/http.md
 * lists them. Secure by default: loopback addresses only unless the caller
 * allows others explicitly; an optional bearer token (CDEBUG_HTTP_TOKEN)
 * guards every route. To serve the routes from your own libmicrohttpd
 * server instead, see <cdebug/http_mhd.h>.
 */
#ifndef CDEBUG_HTTP_H
#define CDEBUG_HTTP_H

#include <stdbool.h>

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
 * Thread-safe; not async-signal-safe. Cost: a host name may block on the
 * resolver; starts the server's thread. CDEBUG=http=ADDR calls it at
 * start. */
CD_EXTERN int cd_http_start(const char *addr);
/* cd_http_start with every option (the struct above; NULL opts: -EINVAL).
 * Same errors, rules and cost. */
CD_EXTERN int cd_http_start_opts(const cd_http_opts *opts);

/* The port the server listens on (useful with port 0), or -ENOENT.
 * Thread-safe; async-signal-safe; O(1), one atomic load. */
CD_EXTERN int cd_http_port(void);

/* Stops the server: waits for handlers that are running to return, then
 * closes every connection (a response still being sent is cut short).
 * Idempotent; run by cd_shutdown and at exit. Thread-safe; not
 * async-signal-safe; must not be called from a debug route handler. Cost:
 * blocks until the running handlers return (a streamed trace or CPU
 * profile is cut short). */
CD_EXTERN void cd_http_stop(void);

/* True when url (the path, without query) is one of the debug routes: what
 * cd_http_handle (<cdebug/http_mhd.h>) serves in an application's own
 * libmicrohttpd server. Thread-safe; not async-signal-safe (the first
 * call registers the routes, once); then lock-free, O(routes). */
CD_EXTERN bool cd_http_is_route(const char *url);

#ifdef __cplusplus
}
#endif
#endif /* CDEBUG_HTTP_H */

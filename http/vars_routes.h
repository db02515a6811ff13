/* http/vars_routes.h - /debug/vars (Go's expvar handler) and /metrics
 * (Prometheus text exposition 0.0.4).
 *
 * Both render a fresh document per request with the renderers of
 * cdebug/vars.h, which return malloc'd text: the buffer is handed to
 * libmicrohttpd as is and freed by it after sending, so a request costs
 * one render and no copy. Query strings are ignored, as Go's expvar does.
 */
#ifndef CDEBUG_HTTP_VARS_ROUTES_H
#define CDEBUG_HTTP_VARS_ROUTES_H

/* Content types, Go's and Prometheus' exact strings. */
#define CD__HTTP_JSON_TYPE "application/json; charset=utf-8"
#define CD__HTTP_PROM_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Adds the routes to the table. Called once by init/ (its explicit
 * registration). Returns 0 or the first failing cd__http_route result
 * (-EEXIST when already added). Thread-safe; not async-signal-safe. */
int cd__http_vars_routes_register(void);

#endif /* CDEBUG_HTTP_VARS_ROUTES_H */

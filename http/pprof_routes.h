/* http/pprof_routes.h - /debug/pprof/ (index and named profiles),
 * /debug/pprof/cmdline and /debug/pprof/symbol; see pprof_routes.c and
 * docs/http.md. */
#ifndef CDEBUG_HTTP_PPROF_ROUTES_H
#define CDEBUG_HTTP_PPROF_ROUTES_H

/* Adds the routes to the table. Called once by init/ (its explicit
 * registration). Returns 0 or the first failing cd__http_route result
 * (-EEXIST when already added). Thread-safe; not async-signal-safe. */
int cd__http_pprof_routes_register(void);

#endif /* CDEBUG_HTTP_PPROF_ROUTES_H */

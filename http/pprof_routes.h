/* http/pprof_routes.h - /debug/pprof/ (index and named profiles),
 * /debug/pprof/cmdline and /debug/pprof/symbol; see pprof_routes.c and
 * docs/http.md. */
#ifndef CDEBUG_HTTP_PPROF_ROUTES_H
#define CDEBUG_HTTP_PPROF_ROUTES_H

/* Adds the routes to the table. Called once by cd__http_routes_init. */
void cd__http_pprof_routes_register(void);

#endif /* CDEBUG_HTTP_PPROF_ROUTES_H */

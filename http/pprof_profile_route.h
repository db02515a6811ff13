/* http/pprof_profile_route.h - GET /debug/pprof/profile: Go's
 * net/http/pprof Profile handler over the CPU profiler (prof/cpuprof.h).
 * docs/profiling.md. */
#ifndef CDEBUG_HTTP_PPROF_PROFILE_ROUTE_H
#define CDEBUG_HTTP_PPROF_PROFILE_ROUTE_H

#include <stdbool.h>
#include <stdint.h>

/* Longest profile a request may ask for, in seconds. Go has no limit but
 * the server's WriteTimeout; longer requests get 400, as for traces. */
#define CD__HTTP_PROFILE_MAX_SECONDS 600

/* Go's rule for `seconds`: strconv.ParseInt of the whole value; an error
 * or a value <= 0 means 30. Pure. */
int64_t cd__http_profile_seconds(const char *value);

/* Adds the route to the table. Called once by init/ (its explicit
 * registration). Returns 0 or the first failing cd__http_route result
 * (-EEXIST when already added). Thread-safe; not async-signal-safe. */
int cd__http_profile_route_register(void);

/* Ends a profile being served, if any, and waits (2 s at most) until its
 * connection is no longer suspended: libmicrohttpd must not be stopped
 * with a suspended connection. Called by cd_http_stop before the daemon
 * stops. Thread-safe; not async-signal-safe. */
void cd__http_profile_shutdown(void);

#endif /* CDEBUG_HTTP_PPROF_PROFILE_ROUTE_H */

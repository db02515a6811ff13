/* http/server.h - the built-in debug server (one libmicrohttpd daemon).
 *
 * cd_http_start / cd_http_start_opts / cd_http_port / cd_http_stop are the
 * public face (cdebug/http.h); this header adds what cd_init needs.
 */
#ifndef CDEBUG_HTTP_SERVER_H
#define CDEBUG_HTTP_SERVER_H

#include <stddef.h>

#include "cdebug/http.h"
#include "runtime/env.h"

/* Defaults of cd_http_opts fields left at 0. */
#define CD__HTTP_DEFAULT_CONNECTIONS 256
#define CD__HTTP_DEFAULT_TIMEOUT_S   30

/* Threads serving the connections (libmicrohttpd's thread pool). Two: a
 * request costs tens of microseconds of rendering and system calls, and
 * one thread left a second core idle under load (docs/bench.md, vars); a
 * debug server should not take more of the program's machine than that. */
#define CD__HTTP_THREADS 2

/* CDEBUG=http=ADDR: starts the server on cfg->http_addr (nothing when it
 * is empty) with allow_nonloopback = cfg->httpunsafe. A failure prints one
 * line on stderr, `cdebug: http: cannot listen on ADDR: REASON`, and the
 * program goes on without a server. Called by cd_init after the scheduler
 * started. Not async-signal-safe. */
void cd__http_start_env(const cd__config *cfg);

#endif /* CDEBUG_HTTP_SERVER_H */

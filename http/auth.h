/* http/auth.h - who the debug routes answer.
 *
 * With a token, whoever presents it; without one, loopback clients that
 * name a loopback host (cd__http_guard):
 *
 * - A non-loopback client needs the token. The built-in server listens on
 *   other hosts only with a token (http/server.c), but an application that
 *   mounts the routes in its own daemon (cd_http_handle) may listen
 *   anywhere, or sit behind a proxy: its non-loopback peers get 403.
 * - A Host header that is not a loopback name gets 403: a web page the
 *   operator visits can make its own name resolve to 127.0.0.1 (DNS
 *   rebinding) and then read the debug routes as same-origin; its requests
 *   still carry its own name in Host. An absent Host (HTTP/1.0) is
 *   served: browsers always send one.
 *
 * When a token is configured (cd_http_opts.token, else the environment
 * variable CDEBUG_HTTP_TOKEN), a request must carry
 *
 *     Authorization: Bearer <token>
 *
 * or it gets 401 with `WWW-Authenticate: Bearer realm="cdebug"`. The scheme
 * name is case-insensitive (RFC 7235); the token is compared in time that
 * does not depend on how much of it matches.
 */
#ifndef CDEBUG_HTTP_AUTH_H
#define CDEBUG_HTTP_AUTH_H

#include <stdbool.h>

#include <microhttpd.h>

/* Longest token accepted, in bytes. */
#define CD__HTTP_TOKEN_MAX 4096

/* True when token is usable: 1..CD__HTTP_TOKEN_MAX bytes, all printable
 * ASCII without spaces (0x21..0x7e), so any HTTP client can send it.
 * Pure; thread-safe; async-signal-safe; O(length). */
bool cd__http_token_valid(const char *token);

/* The token in CDEBUG_HTTP_TOKEN, read once (at the first call) and kept
 * for the life of the process; NULL when unset or empty. An invalid value
 * is returned as is so that the caller can refuse it (cd__http_token_valid).
 * Thread-safe; not async-signal-safe; O(1) after the first call. */
const char *cd__http_env_token(void);

/* Decides whether the request on c may reach a route, before anything of
 * it but its headers is read: returns true, or queues the refusal (401 as
 * cd__http_auth_reject, or 403 for a non-loopback client or Host without
 * a token; text bodies that say why) and stores MHD_queue_response's
 * result in *res. token NULL: none configured. Thread-safe (MHD thread of
 * c); not async-signal-safe; O(length of the headers checked). */
bool cd__http_guard(struct MHD_Connection *c, const char *token, enum MHD_Result *res);

#endif /* CDEBUG_HTTP_AUTH_H */

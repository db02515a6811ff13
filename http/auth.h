/* http/auth.h - the optional bearer token that guards every debug route.
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

/* Checks the Authorization header of c against token. Returns true when
 * token is NULL (no token configured) or the header carries it.
 * Thread-safe (MHD thread of c); not async-signal-safe;
 * O(length of the header). A token that is not cd__http_token_valid
 * never matches (fail closed). */
bool cd__http_auth_ok(struct MHD_Connection *c, const char *token);

/* Queues the 401 response (text body, WWW-Authenticate header). Returns
 * MHD_queue_response's result. Same thread rules as MHD_queue_response. */
enum MHD_Result cd__http_auth_reject(struct MHD_Connection *c);

#endif /* CDEBUG_HTTP_AUTH_H */

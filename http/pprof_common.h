/* http/pprof_common.h - what every /debug/pprof/ route shares: Go's
 * serveError and the headers of a profile response.
 */
#ifndef CDEBUG_HTTP_PPROF_COMMON_H
#define CDEBUG_HTTP_PPROF_COMMON_H

#include <stddef.h>
#include <stdint.h>

#include "http/router.h"

/* Go's serveError: the status, the text (printf format; at most 255
 * bytes), Content-Type text/plain, X-Content-Type-Options: nosniff and
 * X-Go-Pprof: 1. Returns MHD_queue_response's result. Thread-safe. */
enum MHD_Result cd__pprof_error(const cd__http_req *req, unsigned status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* cd__pprof_error with one more header (Retry-After on a 503...). */
enum MHD_Result cd__pprof_error_hdr(const cd__http_req *req, unsigned status, const char *hdr,
                                    const char *value, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* A 200 response with a body of the given Content-Type (malloc'ed body,
 * ownership passes) and X-Content-Type-Options: nosniff. Thread-safe. */
enum MHD_Result cd__pprof_reply_typed(const cd__http_req *req, const char *content_type, char *body,
                                      size_t len);

/* Go's strconv.Atoi/ParseInt rules for a query value: optional sign,
 * decimal digits only, in int64 range. Returns true and stores *out, or
 * false for anything else (empty included). */
bool cd__pprof_parse_int(const char *s, int64_t *out);

#endif /* CDEBUG_HTTP_PPROF_COMMON_H */

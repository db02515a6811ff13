/* http/response.h - building and queueing responses of the debug routes.
 *
 * Two shapes cover every route: a body the renderer malloc'd (handed to
 * libmicrohttpd without a copy and freed by it once sent), and a short
 * static text for errors, which carries Go's http.Error headers
 * (`Content-Type: text/plain; charset=utf-8`, `X-Content-Type-Options:
 * nosniff`). HEAD requests get the same headers, Content-Length included;
 * libmicrohttpd leaves the body out.
 */
#ifndef CDEBUG_HTTP_RESPONSE_H
#define CDEBUG_HTTP_RESPONSE_H

#include <stddef.h>

#include <microhttpd.h>

#define CD__HTTP_TEXT_PLAIN "text/plain; charset=utf-8"

/* Queues status with body buf[0..len), a malloc'd buffer whose ownership
 * passes to this function: it is freed with free() when the response is
 * destroyed, or at once if the response cannot be built. content_type may
 * be NULL (no header). Returns MHD_queue_response's result, MHD_NO when out
 * of memory. Call from the access handler's thread. Cost: two small
 * allocations inside libmicrohttpd; no copy of buf. */
enum MHD_Result cd__http_reply_owned(struct MHD_Connection *c, unsigned status,
                                     const char *content_type, char *buf, size_t len);

/* Queues status with a static NUL-terminated text as body and the
 * http.Error headers. The text must outlive the process (a literal).
 * Returns MHD_queue_response's result. Call from the access handler's
 * thread. Cost: one small allocation inside libmicrohttpd. */
enum MHD_Result cd__http_reply_text(struct MHD_Connection *c, unsigned status, const char *text);

/* Like cd__http_reply_text plus one extra header (name, value), e.g.
 * Allow or WWW-Authenticate; name NULL adds nothing. */
enum MHD_Result cd__http_reply_text_hdr(struct MHD_Connection *c, unsigned status,
                                        const char *text, const char *name, const char *value);

#endif /* CDEBUG_HTTP_RESPONSE_H */

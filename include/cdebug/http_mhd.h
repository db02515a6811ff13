/* cdebug/http_mhd.h - the debug routes inside an application's own
 * libmicrohttpd server.
 *
 * The one part of the server API with third-party types (libmicrohttpd's),
 * kept out of <cdebug/http.h> and <cdebug/cdebug.h> so that a program that
 * does not use it needs no libmicrohttpd headers. This header includes
 * <microhttpd.h> and <cdebug/http.h>; a program that includes it runs its
 * own libmicrohttpd daemon, so it compiles and links with libmicrohttpd
 * (`pkg-config --cflags --libs cdebug libmicrohttpd`). docs/http.md.
 */
#ifndef CDEBUG_HTTP_MHD_H
#define CDEBUG_HTTP_MHD_H

#include <microhttpd.h>

#include <cdebug/http.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Serves url if it is a debug route, for applications that run their own
 * libmicrohttpd server: call it from your access handler and return its
 * result (MHD_NO only on an internal failure). Returns MHD_YES after
 * queueing a 404 when url is not a debug route; check cd_http_is_route
 * first to fall through to your own routes. Applies the token check
 * (CDEBUG_HTTP_TOKEN) and the method check (405). Call it when a response
 * may be queued: on the first call for the request (*req_cls still NULL)
 * or on the last one (*upload_data_size == 0). Handlers run on your
 * daemon's thread, which need not be registered with the collector.
 * Thread-safe (your daemon may run one thread per connection); not
 * async-signal-safe. Cost: one render of the route's document. */
CD_EXTERN enum MHD_Result cd_http_handle(struct MHD_Connection *c, const char *url,
                                         const char *method);

/* The most bytes of a request body the debug routes take (64 KiB), in the
 * built-in server and through cd_http_handle_body. */
#define CD_HTTP_BODY_MAX (64 * 1024)

/* cd_http_handle with the request's body, for the routes that read one:
 * /debug/pprof/symbol takes its addresses from a POST's body, as Go's
 * pprof.Symbol does (go tool pprof POSTs them). Keep the body's chunks,
 * at most CD_HTTP_BODY_MAX bytes, and call this on the last call for the
 * request (*upload_data_size == 0) with body_len the body's full length:
 * above CD_HTTP_BODY_MAX the answer is 413 "request body too large" (after
 * the token check, as in the built-in server), and body may then hold only
 * its first bytes, or be NULL. Routes that read no body ignore it; body
 * may be NULL when body_len is 0 (NULL with a length up to the limit is
 * the caller's error: MHD_NO). Same thread safety and cost as
 * cd_http_handle, which is this with no body. */
CD_EXTERN enum MHD_Result cd_http_handle_body(struct MHD_Connection *c, const char *url,
                                              const char *method, const char *body,
                                              size_t body_len);

#ifdef __cplusplus
}
#endif
#endif /* CDEBUG_HTTP_MHD_H */

/* http/deferred.h - a response whose body is computed on another thread.
 *
 * The debug server has one polling thread for every connection
 * (http/server.c), so a handler must never wait: Go's pprof handlers sleep
 * for `seconds` or collect garbage in their own goroutine, which here would
 * stall every other client. cd__http_deferred answers at once with the
 * status and headers, runs the job on a new kit thread (registered with
 * bdwgc, so the job may call cd_gc), and the body follows when the job
 * returns: meanwhile the connection is suspended, costing nothing.
 *
 * Because the status is sent first, a job that fails can only end the
 * connection early (the client sees a short body); jobs check everything
 * they can before (in the handler) and answer errors with a status.
 * A client that goes away is noticed when the job ends (its result is
 * then dropped); the job itself always runs to completion.
 */
#ifndef CDEBUG_HTTP_DEFERRED_H
#define CDEBUG_HTTP_DEFERRED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/router.h"

/* A job: computes the body into *out (malloc'ed) and *len. Returns 0 or a
 * negative errno. Runs on its own thread, registered with bdwgc. */
typedef int (*cd__http_job)(void *ctx, uint8_t **out, size_t *len);

/* Queues a 200 response for req whose body is job(ctx)'s result, produced
 * on a new thread. filename NULL: a text/plain body; else
 * application/octet-stream with Content-Disposition: attachment;
 * filename="<filename>" (copied). X-Content-Type-Options: nosniff always.
 * ctx_free(ctx), if given, runs once the job is done. Returns
 * MHD_queue_response's result; on failure to start (MHD_NO) ctx_free has
 * run. Thread-safe (handler thread); not async-signal-safe. */
enum MHD_Result cd__http_deferred(const cd__http_req *req, const char *filename, cd__http_job job,
                                  void *ctx, void (*ctx_free)(void *));

/* Ends every answer whose job has not finished: its connection is
 * resumed and closed (the client sees a short body); the job runs on and
 * its result is dropped. libmicrohttpd refuses to stop a daemon with a
 * suspended connection, so cd_http_stop calls this first. Thread-safe. */
void cd__http_deferred_shutdown(void);

#endif /* CDEBUG_HTTP_DEFERRED_H */

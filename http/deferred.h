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
 *
 * A client that goes away cancels its job, as Go cancels the request's
 * context: a job that waits (a delta profile's interval) waits with
 * cd__http_job_sleep, which returns at once when the client hangs up, the
 * response is closed or the server stops. A job that only computes runs
 * to its end and its result is dropped; one whose client is gone before it
 * starts does not run at all.
 *
 * At most CD__HTTP_JOBS_MAX jobs run at a time (one thread each); beyond
 * that the answer is 503 at once, so abandoned or hostile requests cannot
 * multiply threads. Go has no such cap (a goroutine each is cheap there).
 */
#ifndef CDEBUG_HTTP_DEFERRED_H
#define CDEBUG_HTTP_DEFERRED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/router.h"

/* Most deferred jobs running at once. Above the 24 parallel profile
 * requests a browser or a script fetching every profile sends; small
 * enough that the threads stay few. */
#define CD__HTTP_JOBS_MAX 32

/* A running job's handle, for cd__http_job_sleep. */
typedef struct cd__http_jobctl cd__http_jobctl;

/* A job: computes the body into *out (malloc'ed) and *len. Returns 0 or a
 * negative errno. Runs on its own thread, registered with bdwgc. */
typedef int (*cd__http_job)(void *ctx, cd__http_jobctl *ctl, uint8_t **out, size_t *len);

/* Queues a 200 response for req whose body is job(ctx)'s result, produced
 * on a new thread. filename NULL: a text/plain body; else
 * application/octet-stream with Content-Disposition: attachment;
 * filename="<filename>" (copied). X-Content-Type-Options: nosniff always.
 * ctx_free(ctx), if given, runs once the job is done. With
 * CD__HTTP_JOBS_MAX jobs running it queues instead 503 "... profiles are
 * being rendered ..." with X-Go-Pprof: 1 and Retry-After: 1, and the job
 * never runs. Returns MHD_queue_response's result; on failure to start
 * (MHD_NO) ctx_free has run. Thread-safe (handler thread); not
 * async-signal-safe. */
enum MHD_Result cd__http_deferred(const cd__http_req *req, const char *filename, cd__http_job job,
                                  void *ctx, void (*ctx_free)(void *));

/* Waits `seconds` on the job's thread (cd__profile_wait_fn's shape, with
 * ctl as arg). Returns 0 when the time is up, or -ECANCELED as soon as the
 * client hangs up (checked every 100 ms), its response is closed or the
 * server stops. Job thread only. */
int cd__http_job_sleep(void *ctl, int64_t seconds);

/* Ends every answer whose job has not finished: its connection is
 * resumed and closed (the client sees a short body); a waiting job returns
 * from cd__http_job_sleep, a computing one runs on and its result is
 * dropped. libmicrohttpd refuses to stop a daemon with a suspended
 * connection, so cd_http_stop calls this first. Thread-safe. */
void cd__http_deferred_shutdown(void);

#endif /* CDEBUG_HTTP_DEFERRED_H */

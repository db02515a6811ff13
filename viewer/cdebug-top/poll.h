/* poll.h - fetches every service's /debug/vars with libcurl's multi API.
 *
 * One round requests all services at once and completes when each has
 * answered, failed or timed out; rounds never overlap (like expvarmon, which
 * waits for every service before the next tick), so a round's duration is
 * bounded by the request timeout. The caller's own file descriptors (signal
 * pipe, terminal) are waited on together with the sockets, so one thread
 * runs the whole program and the screen stays responsive during requests.
 *
 * Every request is bounded: connect timeout min(timeout, 3 s), total timeout
 * `timeout`, body at most TOP_MAX_BODY, at most 5 redirects, http/https only.
 * Connections are kept alive between rounds. CDEBUG_HTTP_TOKEN, when set, is
 * sent as "Authorization: Bearer <token>" (cdebug's debug server);
 * HTTP_USER/HTTP_PASSWORD as basic auth (expvarmon's variables).
 *
 * Not thread-safe: one thread owns a top_poll and its services.
 */
#ifndef CDEBUG_TOP_POLL_H
#define CDEBUG_TOP_POLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "service.h"
#include "vars_path.h"

typedef struct top_poll top_poll;

/* Called after service index i was updated (ok or failed). */
typedef void (*top_poll_done_fn)(void *arg, size_t i);

/* Creates a poller for n services (not copied; they must outlive it).
 * curl_global_init must have been called. Returns 0, or -ENOMEM/-EIO with a
 * message in err. */
int top_poll_new(top_poll **out, top_service *svcs, size_t n, const top_var *vars, size_t nvars,
                 int64_t timeout_ns, char *err, size_t errlen);
void top_poll_free(top_poll *p);

/* Starts a round: one request per service. No-op while a round runs. */
void top_poll_start_round(top_poll *p);

/* Whether requests of the current round are still running. */
bool top_poll_busy(const top_poll *p);

/* Waits up to timeout_ms for network progress or for one of nfds extra
 * descriptors to become readable (ready[i] is set accordingly), then
 * finishes completed requests, calling done for each. Returns 0 or -EIO. */
int top_poll_wait(top_poll *p, const int *fds, bool *ready, unsigned nfds, int timeout_ms,
                  top_poll_done_fn done, void *arg);

#endif

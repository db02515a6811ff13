/* service.h - what cdebug-top knows about one monitored service.
 *
 * A service is waiting (never answered yet), ok, or failed (the last poll
 * got no usable document; err says why, e.g. "connection refused" or
 * "vars not found at <url>"). Independently it may be marked restarted, a
 * sticky marker as in expvarmon: the process behind the port is a new one,
 * seen because its cmdline changed, or a counter that only grows within one
 * process went backwards (memstats.NumGC, memstats.TotalAlloc,
 * memstats.PauseTotalNs - expvarmon's own uptime counter - or a top-level
 * "uptime"/"uptime_s"). A service that is unreachable for a while and comes
 * back with growing counters is not a restart.
 *
 * The functions here are pure state transitions, no I/O: poll.c feeds them
 * HTTP results. Not thread-safe; one thread owns all services.
 */
#ifndef CDEBUG_TOP_SERVICE_H
#define CDEBUG_TOP_SERVICE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ring.h"
#include "vars_path.h"

typedef enum { TOP_SVC_WAITING, TOP_SVC_OK, TOP_SVC_FAILED } top_status;

/* Largest response body accepted: Go's document is a few KiB (memstats'
 * two 256-entry arrays dominate); anything near this is not an expvar page. */
#define TOP_MAX_BODY (16u << 20)

/* History, current and maximum of one var on one service. */
typedef struct top_series {
    top_value cur; /* last sample; n/a after a failed poll */
    top_value max; /* largest numeric sample seen (n/a until one is) */
    top_ring hist;
} top_series;

#define TOP_N_MONOTONIC 5 /* counters watched for restarts, see service.c */

typedef struct top_service {
    char *name;          /* "host:port", malloc'd */
    char *url;           /* what is polled, malloc'd */
    char cmd[64];        /* basename of cmdline[0], "" until known */
    char cmdline[512];   /* cmdline joined by spaces (bounded) */
    top_status status;
    char err[320];       /* why the last poll failed */
    unsigned restarts;   /* restarts detected so far */
    char restart_why[160];
    struct timespec restart_at; /* wall clock of the last restart */
    bool restart_new;    /* set when one is detected; the UI clears it */
    struct timespec updated_at; /* wall clock of the last completed poll */
    uint64_t polls, failures;
    struct {
        bool seen;
        double v;
    } mono[TOP_N_MONOTONIC];
    size_t nseries;
    top_series *series; /* one per var, malloc'd */
} top_service;

/* Initialises s for nvars vars (copies name and url). Returns 0 or
 * -ENOMEM. */
int top_service_init(top_service *s, const char *name, const char *url, size_t nvars);
void top_service_free(top_service *s);

/* Records a failed poll: status failed with the printf-style reason, every
 * var's current value n/a, a gap in every history. */
void top_service_fail(top_service *s, const struct timespec *now, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records an HTTP response: 404 fails with "vars not found at <url>", any
 * other non-2xx with "HTTP <status> from <url>", a body that is not a JSON
 * object with "invalid JSON at <url>: <reason>". Otherwise samples every var
 * (top_service_apply). Returns 0 when the document was used, -EINVAL when
 * the poll counted as failed. O(body + vars x depth). */
int top_service_apply_body(top_service *s, const struct timespec *now, long http_status,
                           const char *body, size_t len, const top_var *vars, size_t nvars);

/* Samples every var from a parsed document, updates max and history, and
 * checks for a restart (sets restart_new, restarts, restart_why). */
void top_service_apply(top_service *s, const struct timespec *now, const json_t *doc,
                       const top_var *vars, size_t nvars);

/* The name the UI shows: "cmd (host:port)" once the cmdline is known. */
const char *top_service_title(const top_service *s, char *buf, size_t len);

#endif

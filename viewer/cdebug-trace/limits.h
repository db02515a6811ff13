/* viewer/cdebug-trace/limits.h - what the memory limits of cdebug-trace
 * left out of a report, in the words every subcommand prints.
 *
 * The model (model.h), the statistics (stats.h) and the reader (cdt_open)
 * keep fixed limits so that memory does not depend on the trace
 * (docs/cdebug-trace.md, "Memory and speed"). Whatever a limit drops or
 * approximates is counted; this file turns the counts into the lines of
 * `stats`, the "limits" member of `stats --json`, export's otherData and
 * view's /api/meta, so that a user is always told.
 *
 * Not thread-safe (one list per caller); not async-signal-safe.
 */
#ifndef CDEBUG_VIEWER_LIMITS_H
#define CDEBUG_VIEWER_LIMITS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cdebug/trace_reader.h>

#include "model.h"

#define CDT_LIMITS_MAX 10

/* One counter: its JSON member, how much was left out (0: nothing) and
 * the sentence a text report prints after the count. */
typedef struct cdt_limit {
    const char *key;
    uint64_t count;
    char text[240];
} cdt_limit;

/* A list of counters, filled by cdt_limits_init and cdt_limits_add. */
typedef struct cdt_limits {
    cdt_limit v[CDT_LIMITS_MAX];
    size_t n;
} cdt_limits;

/* The counters every run of the model has: the model's (lim) and the
 * reader's early deliveries (rd: forced, out_of_order; may be NULL). */
void cdt_limits_init(cdt_limits *l, const cdt_model_limits *lim, const cd_tr_stats *rd);

/* One more counter (the statistics' own). `text` is a printf format with
 * at most one conversion, for `arg`. */
void cdt_limits_add(cdt_limits *l, const char *key, uint64_t count, const char *text,
                    unsigned long long arg) __attribute__((format(printf, 4, 0)));

/* Whether any counter is not 0. */
bool cdt_limits_any(const cdt_limits *l);

/* Text: nothing when no counter is set; else an empty line, "Limits: "
 * and `what`, and one line per counter set: "  <count> <text>". */
void cdt_limits_text(FILE *f, const cdt_limits *l, const char *what);

/* JSON object: every limit's value ("max_tasks", ...) and every counter. */
void cdt_limits_json(FILE *f, const cdt_limits *l);

#endif /* CDEBUG_VIEWER_LIMITS_H */

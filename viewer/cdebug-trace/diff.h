/* viewer/cdebug-trace/diff.h - what `cdebug-trace diff` (diff.c: the
 * subjects, the report, the evaluation of conditions) and its --fail-if
 * parser (diff_expr.c) share: subject kinds, units, the metric table and a
 * condition. Not for other files. The grammar is in
 * docs/cdebug-trace-diff.md ("Conditions").
 */
#ifndef CDEBUG_VIEWER_DIFF_H
#define CDEBUG_VIEWER_DIFF_H

#include <stdbool.h>
#include <stddef.h>

/* Exit status when some --fail-if condition is met (0, 1, 2 as cdt.h). */
#define CDT_DIFF_MET 3

typedef enum subject_kind {
    SUBJ_TRACE = 0,
    SUBJ_TASK = 1,
    SUBJ_REGION = 2,
    SUBJ_USERTASK = 3,
    SUBJ_GC = 4,
    SUBJ_NKINDS = 5,
} subject_kind;

/* How an expression and the report spell each kind ("task:NAME"). */
extern const char *const cdt_diff_kind_names[SUBJ_NKINDS];

typedef enum unit {
    U_COUNT = 0, /* an integer, no unit */
    U_NS = 1,    /* a duration in nanoseconds, printed as milliseconds */
    U_BYTES = 2, /* bytes */
    U_PCT = 3,   /* a percentage, 0..100 */
    U_NUM = 4,   /* a real number with no unit (average parallelism) */
} unit;

/* A metric's value in one trace: `ok` false when the trace has no value
 * for it (a percentile of a task name the trace lacks, a pause of a trace
 * without collections). Integers (ns, bytes, counts) are exact up to 2^53
 * in a double: 104 days of nanoseconds. */
typedef struct value {
    bool ok;
    double v;
} value;

typedef enum metric_id {
    M_DURATION,
    M_EVENTS,
    M_LOST,
    M_PARALLELISM,
    M_COUNT,
    M_TOTAL,
    M_MEAN,
    M_P50,
    M_P99,
    M_MAX,
    M_WAIT_P99,
    M_BLOCKED,
    M_FORCED,
    M_PAUSE_P50,
    M_PAUSE_P99,
    M_PAUSE_MAX,
    M_PAUSE_TOTAL,
    M_PAUSE_PCT,
    M_HEAP_AFTER,
    M_HEAP_PEAK,
    M_MMU_1MS,
    M_MMU_10MS,
    M_MMU_100MS,
    M_MMU_1S,
} metric_id;

typedef struct metric {
    metric_id id;
    const char *name;
    unit unit;
    unsigned kinds; /* bit per subject_kind it applies to */
} metric;

#define K(k)     (1u << (k))
#define K_NAMED  (K(SUBJ_REGION) | K(SUBJ_USERTASK))
#define K_TIMING (K(SUBJ_TASK) | K_NAMED)

/* Every metric, in report order (diff.c), and how many. */
extern const metric cdt_diff_metrics[];
extern const size_t cdt_diff_nmetrics;

/* ---- --fail-if conditions ------------------------------------------------ */

typedef enum op { OP_GT, OP_LT, OP_GE, OP_LE } op;

typedef enum threshold_kind {
    T_RELATIVE = 0, /* +10%: relative change in percent */
    T_DELTA = 1,    /* +5ms: after - before */
    T_ABSOLUTE = 2, /* 5ms: the after value */
} threshold_kind;

typedef struct cond {
    const char *text; /* the expression as given */
    const metric *m;
    subject_kind kind;
    char *name; /* task/region/user task name, NULL for trace and gc */
    op op;
    threshold_kind tk;
    double threshold; /* percent, or in the metric's base unit */
    /* Evaluation. */
    bool evaluated, met;
    value before, after;
    double compared; /* what was compared with the threshold */
} cond;

/* Parses `text` (docs/cdebug-trace-diff.md, "Conditions":
 * METRIC(SUBJECT) OP THRESHOLD) into *c, evaluation fields cleared; c->text
 * is text itself (kept by pointer). Returns 0, or -1 after one error line
 * on stderr naming the expression and what is wrong. Allocates c->name
 * (the caller frees it, also after a failure). Not thread-safe (stderr);
 * O(length + metrics). */
int cdt_diff_parse_cond(const char *text, cond *c);

#endif /* CDEBUG_VIEWER_DIFF_H */

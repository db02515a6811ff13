/* viewer/cdebug-trace/stats.h - the numbers of `cdebug-trace stats`,
 * computed in one streaming pass over a trace (model.h), and kept for
 * `diff` and `view`.
 *
 * Distributions keep a log-linear histogram instead of every sample, so the
 * memory of a run does not grow with the trace: a quantile is exact to
 * within 1/CDT_HIST_SUB (1.6%) of its value; count, sum, min and max are
 * exact. Names (task, user task type, region) are capped at
 * CDT_STATS_MAX_NAMES per table and CDT_STATS_MAX_NAME_BYTES of text, block
 * reasons at 64 per task name and CDT_STATS_MAX_REASONS in all; later names
 * are counted under "(other)". Histogram rows are capped at
 * CDT_STATS_MAX_HIST_ROWS per cdt_stats: a value that would need a new row
 * past it is counted in its distribution's count, total, min and max but
 * not in its percentiles (cdt_stats.unbinned says how many). So the memory
 * of a cdt_stats is bounded (about 25 MB at the limits) whatever the trace.
 *
 * Not thread-safe (one cdt_stats per thread); not async-signal-safe.
 */
#ifndef CDEBUG_VIEWER_STATS_H
#define CDEBUG_VIEWER_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cdebug/trace_reader.h>

#include "model.h"

#define CDT_HIST_SUB             64 /* sub-buckets per power of two */
#define CDT_STATS_MAX_NAMES      4096
#define CDT_STATS_MAX_NAME_BYTES (2u << 20) /* text of the names of one table */
#define CDT_STATS_MAX_REASONS    4096       /* block reasons, all task names together */
#define CDT_STATS_MAX_HIST_ROWS  16384      /* 512-byte histogram rows: 8 MiB */
#define CDT_STATS_MAX_WORKERS    1024       /* = CDT_MODEL_MAX_WORKERS */
#define CDT_MMU_WINDOWS          4          /* 1 ms, 10 ms, 100 ms, 1 s */

/* Lint thresholds (docs/cdebug-trace.md, "Lints"). */
#define CDT_LINT_PAUSE_NS       100000   /* The Go tutorial's health rule: 100 µs */
#define CDT_LINT_WAIT_NS        10000000 /* p99 scheduler wait of a task name */
#define CDT_LINT_WAIT_MIN_TASKS 20       /* ... with at least this many tasks: one */
                                         /* task's wait is a wake-up, not a queue */
#define CDT_LINT_LONG_TASK_NS   10000000 /* p99 run time of a never-blocking name */
#define CDT_LINT_PARALLEL_SHARE 0.55     /* mean busy workers <= this x workers */
#define CDT_LINT_BUSY_SHARE     0.5      /* ... over a trace busy at least this much */
#define CDT_LINT_HEAP_GCS       3        /* collections, heap after growing at each */

/* A distribution of nanosecond (or byte) values >= 0. */
typedef struct cdt_dist {
    uint64_t count;
    int64_t sum, min, max;
    uint64_t *buckets[64]; /* per power of two, CDT_HIST_SUB counters, lazily */
    uint64_t unbinned;     /* values in count but in no bucket (row budget spent) */
} cdt_dist;

/* Adds v (< 0 counts as 0). A new histogram row is taken from *rows_left
 * (no limit if rows_left is NULL); with none left, or out of memory, v is
 * counted in count, sum, min and max only (unbinned). O(1). */
void cdt_dist_add(cdt_dist *d, int64_t v, size_t *rows_left);
/* The q-quantile (0 <= q <= 1) of the values added, 0 if none (of the
 * binned ones when some are unbinned). */
int64_t cdt_dist_quantile(const cdt_dist *d, double q);
int64_t cdt_dist_mean(const cdt_dist *d);
void cdt_dist_free(cdt_dist *d);

/* Per block reason, inside a task name. */
typedef struct cdt_reason_stats {
    char *reason;
    cdt_dist blocked; /* each blocking call's duration */
} cdt_reason_stats;

typedef struct cdt_task_stats {
    char *name;
    uint64_t count;   /* tasks that ended */
    uint64_t unended; /* still alive at the end of the trace */
    cdt_dist exec;    /* execution time of ended tasks */
    cdt_dist wait;    /* scheduler wait: created to first start */
    cdt_dist blocked; /* total blocked time per ended task */
    cdt_reason_stats *reasons;
    size_t nreasons;
    bool ever_blocked; /* some task of this name blocked */
} cdt_task_stats;

/* User task types and region names. */
typedef struct cdt_named_dist {
    char *name;
    cdt_dist latency;
    uint64_t unfinished; /* open at the end of the trace (not in latency) */
} cdt_named_dist;

/* Worker time categories of cdt_worker_stats.ns (the model's states, with
 * every state's time during a GC pause counted as GC instead). */
enum {
    CDT_WS_IDLE = 0,    /* not held, or held between tasks */
    CDT_WS_RUNNING = 1, /* running tasks */
    CDT_WS_SPINNING = 2,
    CDT_WS_GC = 3, /* the world was stopped */
    CDT_WS_N = 4,
};

typedef struct cdt_worker_stats {
    uint64_t worker; /* its id */
    bool seen;
    int64_t ns[CDT_WS_N]; /* time per category */
} cdt_worker_stats;

typedef struct cdt_gc_stats {
    uint64_t count, forced;
    cdt_dist pause;    /* world-stopped time per collection */
    cdt_dist duration; /* GC_BEGIN to GC_END */
    int64_t pause_total_ns;
    int64_t heap_first_before;              /* heap in use before the first collection, -1 */
    int64_t heap_first_after;               /* after the first one, -1 */
    int64_t heap_last_after;                /* after the last one, -1 */
    int64_t heap_min_after, heap_max_after; /* -1 when no collection */
    uint64_t after_grew;                    /* collections whose heap after > the previous one's */
    uint64_t with_after;                    /* collections with a known heap after */
    int64_t heap_peak;                      /* largest HEAP in_use sample, -1 none */
    uint64_t long_pauses;                   /* pauses > CDT_LINT_PAUSE_NS */
    uint64_t max_pause_gc;                  /* number of the collection with the longest pause */
} cdt_gc_stats;

typedef struct cdt_stats {
    /* The trace. */
    cd_tr_header header;
    cd_tr_stats reader;
    int64_t duration_ns; /* last event's time */
    uint64_t events;
    uint64_t lost_events, lost_batches;
    bool truncated;
    uint64_t threads;
    /* What the limits of the model (model.h) and of these statistics left
     * out (docs/cdebug-trace.md, "Memory and speed"). */
    cdt_model_limits lim;
    uint64_t unbinned;      /* values outside the percentile histograms */
    uint64_t reasons_other; /* blocking calls counted under the reason "(other)" */
    size_t hist_rows_left;  /* of CDT_STATS_MAX_HIST_ROWS */
    /* Workers: utilisation and parallelism. */
    uint64_t nworkers;          /* distinct workers (at most CDT_STATS_MAX_WORKERS) */
    cdt_worker_stats *workers;  /* [nworkers], by id */
    double avg_parallelism;     /* time-weighted mean of running workers */
    int64_t *parallel_ns;       /* [nworkers + 1]: time with k workers running */
    int64_t low_parallelism_ns; /* time with < nworkers/2 running while tasks were runnable */
    /* Tasks, user tasks, regions. */
    cdt_task_stats *tasks;
    size_t ntasks;
    cdt_named_dist *user_tasks, *regions;
    size_t nuser_tasks, nregions;
    uint64_t tasks_created;
    /* GC. */
    cdt_gc_stats gc;
    /* Minimum mutator utilisation per window (1 ms .. 1 s), in [0, 1];
     * -1 when the trace is shorter than the window. */
    int64_t mmu_window_ns[CDT_MMU_WINDOWS];
    double mmu[CDT_MMU_WINDOWS];
} cdt_stats;

/* Computes the statistics of the trace at `path` ("-": stdin). On success
 * stores a new cdt_stats in *out and returns CDT_OK (also for a truncated
 * trace, after a warning on stderr); else reports the error on stderr and
 * returns CDT_FAIL. */
int cdt_stats_compute(const char *path, cdt_stats **out);

/* A finding printed after the tables: what, the numbers behind it, and
 * what to look at next. */
typedef struct cdt_lint {
    const char *id; /* "low-parallelism", "gc-pause", "heap-growth",
                       "sched-wait", "long-task", "lost-events" */
    char summary[256];
    char evidence[512];
    char next[512];
} cdt_lint;

#define CDT_MAX_LINTS 64

/* Evaluates every rule of docs/cdebug-trace.md ("Lints") on s; stores up to
 * max findings in out and returns how many. Pure function of s. */
size_t cdt_lints(const cdt_stats *s, cdt_lint *out, size_t max);

typedef enum cdt_report_format {
    CDT_REPORT_TEXT = 0, /* tables, then lints */
    CDT_REPORT_JSON = 1, /* one JSON object (docs/cdebug-trace.md) */
} cdt_report_format;

/* Prints the statistics and the lints of s to f. `file` is the trace's
 * name for the report. */
void cdt_stats_report(FILE *f, const cdt_stats *s, const char *file, cdt_report_format fmt);

struct cdt_limits;

/* What the limits of the model, the reader and these statistics left out
 * of s, as the counters of limits.h (stats' "limits"). Pure; O(1). */
void cdt_stats_limits(const cdt_stats *s, struct cdt_limits *l);

/* Finds a task name (NULL if absent). O(n). */
const cdt_task_stats *cdt_stats_task(const cdt_stats *s, const char *name);

void cdt_stats_free(cdt_stats *s);

#endif /* CDEBUG_VIEWER_STATS_H */

/* viewer/cdebug-trace/lints.c - the rules `cdebug-trace stats` prints
 * after its tables (stats.h, cdt_lints). Each rule reads the statistics
 * only, names the numbers that triggered it and says what to look at next.
 * The thresholds are the CDT_LINT_* constants of stats.h, documented in
 * docs/cdebug-trace.md ("Lints").
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cdt.h"
#include "stats.h"

#define MAX_NAMES_PER_RULE 5

typedef struct out {
    cdt_lint *v;
    size_t n, max;
} out;

static cdt_lint *add(out *o, const char *id)
{
    if (o->n >= o->max)
        return NULL;
    cdt_lint *l = &o->v[o->n++];
    memset(l, 0, sizeof *l);
    l->id = id;
    return l;
}

static void put(char *dst, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(char *dst, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(dst, size, fmt, ap);
    va_end(ap);
}

/* The Go tutorial's "only one P at a time": work for most of the trace, but on
 * average at most about half the workers running it. */
static void low_parallelism(const cdt_stats *s, out *o)
{
    if (s->nworkers < 2 || s->duration_ns <= 0 || s->parallel_ns == NULL)
        return;
    int64_t busy = s->duration_ns - s->parallel_ns[0];
    double work = 0;
    for (uint64_t k = 1; k <= s->nworkers; k++)
        work += (double)k * (double)s->parallel_ns[k];
    if (busy <= 0 || (double)busy < CDT_LINT_BUSY_SHARE * (double)s->duration_ns)
        return;
    double mean = work / (double)busy;
    if (mean > CDT_LINT_PARALLEL_SHARE * (double)s->nworkers)
        return;
    cdt_lint *l = add(o, "low-parallelism");
    if (l == NULL)
        return;
    put(l->summary, sizeof l->summary,
        "only %.2f of %" PRIu64 " workers run tasks at a time: the program is not using its "
        "parallelism",
        mean, s->nworkers);
    put(l->evidence, sizeof l->evidence,
        "tasks ran during %.1f%% of the trace, with %.2f workers running on average then "
        "(%.1f%% of the time exactly 1); workers idle %.1f%% of their time overall",
        100.0 * (double)busy / (double)s->duration_ns, mean,
        100.0 * (double)s->parallel_ns[1] / (double)s->duration_ns,
        100.0 - 100.0 * work / ((double)s->duration_ns * (double)s->nworkers));
    put(l->next, sizeof l->next,
        "in the timeline (cdebug-trace view) only one Worker row is busy at a time: look for "
        "work done in one task that could be split, a task that waits for each task it "
        "spawns, or a lock all tasks take");
}

static void gc_pause(const cdt_stats *s, out *o)
{
    const cdt_gc_stats *g = &s->gc;
    if (g->long_pauses == 0)
        return;
    cdt_lint *l = add(o, "gc-pause");
    if (l == NULL)
        return;
    char p99[32], mx[32];
    put(l->summary, sizeof l->summary,
        "%" PRIu64 " of %" PRIu64 " collections stopped the world for more than %d us",
        g->long_pauses, g->count, CDT_LINT_PAUSE_NS / 1000);
    put(l->evidence, sizeof l->evidence,
        "pause p99 %s, max %s (collection %" PRIu64 "); %.2f%% of the trace was spent paused",
        cdt_fmt_dur(p99, cdt_dist_quantile(&g->pause, 0.99)), cdt_fmt_dur(mx, g->pause.max),
        g->max_pause_gc,
        s->duration_ns > 0 ? 100.0 * (double)g->pause_total_ns / (double)s->duration_ns : 0.0);
    put(l->next, sizeof l->next,
        "bdwgc marks with the world stopped, so a pause grows with the live heap and its "
        "pointers: keep less pointer-rich data live, allocate pointer-free data with "
        "cd_alloc_atomic, or collect less often (CDGC); CDEBUG=gctrace=1 shows the heap per "
        "collection");
}

/* The Go tutorial's leak: the heap left after collection grows at every one. */
static void heap_growth(const cdt_stats *s, out *o)
{
    const cdt_gc_stats *g = &s->gc;
    if (g->with_after < CDT_LINT_HEAP_GCS || g->after_grew + 1 < g->with_after)
        return;
    cdt_lint *l = add(o, "heap-growth");
    if (l == NULL)
        return;
    put(l->summary, sizeof l->summary,
        "the heap left after collection grew at every one of %" PRIu64
        " collections: a leak suspect",
        g->with_after);
    put(l->evidence, sizeof l->evidence,
        "heap in use after collection: %.2f MB after the first, %.2f MB after the last "
        "(+%.2f MB, %.2f MB per second of trace)",
        (double)g->heap_first_after / 1e6, (double)g->heap_last_after / 1e6,
        (double)(g->heap_last_after - g->heap_first_after) / 1e6,
        s->duration_ns > 0 ? (double)(g->heap_last_after - g->heap_first_after) / 1e6 /
                                 ((double)s->duration_ns / 1e9)
                           : 0.0);
    put(l->next, sizeof l->next,
        "live data is only ever added: look for a map, list or cache that grows without bound "
        "(the leak example); a longer trace tells a leak from a warm-up, and comparing two "
        "heap profiles shows who allocates what stays");
}

static void sched_wait(const cdt_stats *s, out *o)
{
    int n = 0;
    for (size_t i = 0; i < s->ntasks && n < MAX_NAMES_PER_RULE; i++) {
        const cdt_task_stats *t = &s->tasks[i];
        int64_t p99 = cdt_dist_quantile(&t->wait, 0.99);
        if (t->wait.count < CDT_LINT_WAIT_MIN_TASKS || p99 <= CDT_LINT_WAIT_NS)
            continue;
        cdt_lint *l = add(o, "sched-wait");
        if (l == NULL)
            return;
        n++;
        char a[32], b[32], c[32];
        put(l->summary, sizeof l->summary,
            "tasks \"%s\" wait long to be scheduled: p99 %s between creation and start", t->name,
            cdt_fmt_dur(a, p99));
        put(l->evidence, sizeof l->evidence,
            "%" PRIu64 " tasks; scheduler wait p50 %s, p99 %s, max %s; %" PRIu64
            " workers, %.2f running on average",
            t->wait.count, cdt_fmt_dur(b, cdt_dist_quantile(&t->wait, 0.5)), a,
            cdt_fmt_dur(c, t->wait.max), s->nworkers, s->avg_parallelism);
        put(l->next, sizeof l->next,
            "the run queues are backed up: more tasks are created than the workers run; look "
            "for long-running tasks ahead of them (Tasks table: max), too few workers "
            "(CDMAXPROCS), or tasks that should block with cd_block_begin instead of "
            "holding a worker");
    }
}

static void long_task(const cdt_stats *s, out *o)
{
    int n = 0;
    for (size_t i = 0; i < s->ntasks && n < MAX_NAMES_PER_RULE; i++) {
        const cdt_task_stats *t = &s->tasks[i];
        int64_t p99 = cdt_dist_quantile(&t->exec, 0.99);
        if (t->ever_blocked || t->exec.count == 0 || p99 <= CDT_LINT_LONG_TASK_NS)
            continue;
        cdt_lint *l = add(o, "long-task");
        if (l == NULL)
            return;
        n++;
        char a[32], b[32], c[32];
        put(l->summary, sizeof l->summary, "tasks \"%s\" run for %s (p99) without ever blocking",
            t->name, cdt_fmt_dur(a, p99));
        put(l->evidence, sizeof l->evidence,
            "%" PRIu64 " tasks; execution p50 %s, p99 %s, max %s; no blocking call in any of "
            "them",
            t->exec.count, cdt_fmt_dur(b, cdt_dist_quantile(&t->exec, 0.5)), a,
            cdt_fmt_dur(c, t->exec.max));
        put(l->next, sizeof l->next,
            "a task holds its worker until it returns: split the work into smaller tasks, or "
            "wrap a blocking call in cd_block_begin/cd_block_end so the worker runs other "
            "tasks meanwhile; a CPU profile of the task shows where the time goes");
    }
}

static void lost_events(const cdt_stats *s, out *o)
{
    if (s->lost_events == 0 && s->reader.lost_records == 0)
        return;
    cdt_lint *l = add(o, "lost-events");
    if (l == NULL)
        return;
    put(l->summary, sizeof l->summary, "%" PRIu64 " events were lost: the figures above undercount",
        s->lost_events);
    put(l->evidence, sizeof l->evidence,
        "%" PRIu64 " events in %" PRIu64 " batches dropped by the recorder (%" PRIu64
        " LOST records); %" PRIu64 " events read",
        s->lost_events, s->lost_batches, s->reader.lost_records, s->events);
    put(l->next, sizeof l->next,
        "the trace writer fell behind the threads recording: write the trace to a faster "
        "disk or a file instead of a slow network client, trace for a shorter time, or "
        "record fewer annotations");
}

size_t cdt_lints(const cdt_stats *s, cdt_lint *v, size_t max)
{
    out o = {v, 0, max};
    low_parallelism(s, &o);
    gc_pause(s, &o);
    heap_growth(s, &o);
    sched_wait(s, &o);
    long_task(s, &o);
    lost_events(s, &o);
    return o.n;
}

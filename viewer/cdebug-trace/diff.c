/* viewer/cdebug-trace/diff.c - `cdebug-trace diff [--json] [--fail-if EXPR]...
 * BEFORE AFTER`: the statistics of two traces of the same program side by
 * side, per subject (the whole trace, each task name, region name and user
 * task type, the collector), with the change; and conditions on the change
 * for CI. docs/cdebug-trace-diff.md is the user's documentation.
 *
 *   task:search                before           after      change
 *     count                       100             100       +0.0%
 *     mean                 1.000000ms      2.000000ms     +100.0%
 *
 * Every row is one metric of one subject, and its name in a --fail-if
 * expression is METRIC(SUBJECT): `p99(task:search) > +10%`. The metric
 * table below (`cdt_diff_metrics`) is the single list of what is shown,
 * what can be named in an expression (diff_expr.c parses them), and its
 * unit.
 *
 * Memory: the two cdt_stats (bounded, stats.h) and one row per subject.
 * Cost: two streaming passes (cdt_stats_compute), then O(n log n) in the
 * number of names. Not thread-safe (static output buffer); one diff per
 * process.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdt.h"
#include "diff.h"
#include "limits.h"
#include "stats.h"

/* ---- subjects and metrics ----------------------------------------------- */

/* How an expression and the report spell each kind ("task:NAME"). */
const char *const cdt_diff_kind_names[SUBJ_NKINDS] = {"trace", "task", "region", "usertask", "gc"};

/* In report order. */
const metric cdt_diff_metrics[] = {
    {M_DURATION, "duration", U_NS, K(SUBJ_TRACE)}, /* time of the last event */
    {M_EVENTS, "events", U_COUNT, K(SUBJ_TRACE)},  /* events read */
    {M_LOST, "lost", U_COUNT, K(SUBJ_TRACE)},      /* events the recorder dropped */
    /* time-weighted mean of running workers */
    {M_PARALLELISM, "parallelism", U_NUM, K(SUBJ_TRACE)},
    /* ended tasks, finished regions or user tasks, collections */
    {M_COUNT, "count", U_COUNT, K_TIMING | K(SUBJ_GC)},
    {M_TOTAL, "total", U_NS, K_TIMING},                /* sum of execution times (latencies) */
    {M_MEAN, "mean", U_NS, K_TIMING},                  /* mean execution time (latency) */
    {M_P50, "p50", U_NS, K_TIMING},                    /* median */
    {M_P99, "p99", U_NS, K_TIMING},                    /* 99th percentile */
    {M_MAX, "max", U_NS, K_TIMING},                    /* maximum */
    {M_WAIT_P99, "wait_p99", U_NS, K(SUBJ_TASK)},      /* 99th percentile of the scheduler wait */
    {M_BLOCKED, "blocked", U_NS, K(SUBJ_TASK)},        /* total time in blocking calls */
    {M_FORCED, "forced", U_COUNT, K(SUBJ_GC)},         /* collections by cd_gc() */
    {M_PAUSE_P50, "pause_p50", U_NS, K(SUBJ_GC)},      /* median stop-the-world pause */
    {M_PAUSE_P99, "pause_p99", U_NS, K(SUBJ_GC)},      /* 99th percentile pause */
    {M_PAUSE_MAX, "pause_max", U_NS, K(SUBJ_GC)},      /* longest pause */
    {M_PAUSE_TOTAL, "pause_total", U_NS, K(SUBJ_GC)},  /* sum of the pauses */
    {M_PAUSE_PCT, "pause_pct", U_PCT, K(SUBJ_GC)},     /* pauses as a share of the trace */
    {M_HEAP_AFTER, "heap_after", U_BYTES, K(SUBJ_GC)}, /* heap in use after the last collection */
    {M_HEAP_PEAK, "heap_peak", U_BYTES, K(SUBJ_GC)},   /* largest heap sample */
    {M_MMU_1MS, "mmu_1ms", U_PCT, K(SUBJ_GC)},     /* minimum mutator utilisation, 1 ms windows */
    {M_MMU_10MS, "mmu_10ms", U_PCT, K(SUBJ_GC)},   /* same, 10 ms windows */
    {M_MMU_100MS, "mmu_100ms", U_PCT, K(SUBJ_GC)}, /* same, 100 ms windows */
    {M_MMU_1S, "mmu_1s", U_PCT, K(SUBJ_GC)},       /* same, 1 s windows */
};
#define NMETRICS (sizeof(cdt_diff_metrics) / sizeof(cdt_diff_metrics[0]))
const size_t cdt_diff_nmetrics = NMETRICS;

/* One subject as seen in one trace: a pointer into its cdt_stats, or NULL
 * when the trace lacks it. */
typedef struct side {
    const cdt_stats *s;
    const cdt_task_stats *task;
    const cdt_named_dist *named;
} side;

/* A subject of the report, and where it is in each trace. */
typedef struct subject {
    subject_kind kind;
    const char *name; /* NULL for trace and gc */
    side before, after;
    int64_t weight; /* sort key: the larger total time of the two */
} subject;

/* No value (undefined in that trace). */
static value none(void)
{
    value v = {false, 0};
    return v;
}

/* A defined value. */
static value val(double d)
{
    value v = {true, d};
    return v;
}

/* A distribution's statistic; undefined when it has no sample. */
static value dist_metric(const cdt_dist *d, metric_id id)
{
    switch (id) {
    case M_COUNT:
        return val((double)d->count);
    case M_TOTAL:
        return val((double)d->sum);
    default:
        break;
    }
    if (d->count == 0)
        return none();
    switch (id) {
    case M_MEAN:
        return val((double)cdt_dist_mean(d));
    case M_P50:
        return val((double)cdt_dist_quantile(d, 0.50));
    case M_P99:
        return val((double)cdt_dist_quantile(d, 0.99));
    case M_MAX:
        return val((double)d->max);
    default:
        return none();
    }
}

/* MMU of window i in percent; undefined when the trace is shorter. */
static value mmu_metric(const cdt_stats *s, int i)
{
    return s->mmu[i] < 0 ? none() : val(s->mmu[i] * 100.0);
}

/* The value of metric id for a subject in one trace. A subject the trace
 * lacks has no value, except sums (count, total, blocked), which are 0:
 * "no task of that name ran" is a count of zero, and conditions such as
 * `count(task:x) < 1` must see it. Pure; O(buckets) for a quantile. */
static value metric_value(subject_kind kind, const side *sd, metric_id id)
{
    const cdt_stats *s = sd->s;
    switch (kind) {
    case SUBJ_TRACE:
        switch (id) {
        case M_DURATION:
            return val((double)s->duration_ns);
        case M_EVENTS:
            return val((double)s->events);
        case M_LOST:
            return val((double)s->lost_events);
        case M_PARALLELISM:
            return s->nworkers > 0 ? val(s->avg_parallelism) : none();
        default:
            return none();
        }
    case SUBJ_TASK: {
        const cdt_task_stats *t = sd->task;
        if (t == NULL)
            return id == M_COUNT || id == M_TOTAL || id == M_BLOCKED ? val(0) : none();
        if (id == M_WAIT_P99)
            return t->wait.count > 0 ? val((double)cdt_dist_quantile(&t->wait, 0.99)) : none();
        if (id == M_BLOCKED)
            return val((double)t->blocked.sum);
        if (id == M_COUNT)
            return val((double)t->count);
        return dist_metric(&t->exec, id);
    }
    case SUBJ_REGION:
    case SUBJ_USERTASK:
        if (sd->named == NULL)
            return id == M_COUNT || id == M_TOTAL ? val(0) : none();
        return dist_metric(&sd->named->latency, id);
    case SUBJ_GC: {
        const cdt_gc_stats *g = &s->gc;
        switch (id) {
        case M_COUNT:
            return val((double)g->count);
        case M_FORCED:
            return val((double)g->forced);
        case M_PAUSE_P50:
            return g->pause.count ? val((double)cdt_dist_quantile(&g->pause, 0.50)) : none();
        case M_PAUSE_P99:
            return g->pause.count ? val((double)cdt_dist_quantile(&g->pause, 0.99)) : none();
        case M_PAUSE_MAX:
            return g->pause.count ? val((double)g->pause.max) : none();
        case M_PAUSE_TOTAL:
            return val((double)g->pause_total_ns);
        case M_PAUSE_PCT:
            return s->duration_ns > 0
                       ? val((double)g->pause_total_ns * 100.0 / (double)s->duration_ns)
                       : none();
        case M_HEAP_AFTER:
            return g->heap_last_after >= 0 ? val((double)g->heap_last_after) : none();
        case M_HEAP_PEAK:
            return g->heap_peak >= 0 ? val((double)g->heap_peak) : none();
        case M_MMU_1MS:
            return mmu_metric(s, 0);
        case M_MMU_10MS:
            return mmu_metric(s, 1);
        case M_MMU_100MS:
            return mmu_metric(s, 2);
        case M_MMU_1S:
            return mmu_metric(s, 3);
        default:
            return none();
        }
    }
    default:
        return none();
    }
}

/* Whether the subject exists in that trace (trace and gc always do). */
static bool subject_in(const subject *sj, const side *sd)
{
    switch (sj->kind) {
    case SUBJ_TASK:
        return sd->task != NULL;
    case SUBJ_REGION:
    case SUBJ_USERTASK:
        return sd->named != NULL;
    default:
        return true;
    }
}

/* ---- the change ---------------------------------------------------------- */

/* The relative change in percent of after against before, with before 0
 * meaning +infinity (after > 0) or 0 (after 0). Both must be defined. */
static double rel_change(double before, double after)
{
    if (before == 0)
        return after == 0 ? 0.0 : after > 0 ? INFINITY : -INFINITY;
    return (after - before) * 100.0 / fabs(before);
}

/* Writes v in unit u, as the text report shows it ("1.500000ms", "12B",
 * "3", "4.25%"); `sign` forces a leading + on positive values (deltas).
 * buf: 48 bytes. */
static char *fmt_value(char *buf, unit u, double v, bool sign)
{
    const char *plus = sign && v > 0 ? "+" : "";
    switch (u) {
    case U_NS: {
        char t[32];
        snprintf(buf, 48, "%s%s", plus, cdt_fmt_ms(t, (int64_t)llround(v)));
        break;
    }
    case U_BYTES:
        snprintf(buf, 48, "%s%lldB", plus, (long long)llround(v));
        break;
    case U_COUNT:
        snprintf(buf, 48, "%s%lld", plus, (long long)llround(v));
        break;
    case U_PCT:
        snprintf(buf, 48, "%s%.2f%%", plus, v);
        break;
    case U_NUM:
        snprintf(buf, 48, "%s%.2f", plus, v);
        break;
    }
    return buf;
}

/* The change column: "new" / "gone" for a subject in one trace only, "-"
 * when a side has no value, the absolute delta when before is 0 (a
 * relative change would be infinite), else the relative change. */
static char *fmt_change(char *buf, const subject *sj, unit u, value b, value a)
{
    bool in_b = subject_in(sj, &sj->before), in_a = subject_in(sj, &sj->after);
    if (!in_b || !in_a)
        snprintf(buf, 48, "%s", in_a ? "new" : "gone");
    else if (!b.ok || !a.ok)
        snprintf(buf, 48, "-");
    else if (b.v == 0 && a.v != 0)
        fmt_value(buf, u, a.v - b.v, true);
    else
        snprintf(buf, 48, "%+.1f%%", rel_change(b.v, a.v));
    return buf;
}

/* ---- --fail-if conditions: evaluation (diff_expr.c parses them) -------- */

/* v OP t. */
static bool compare(double v, op o, double t)
{
    switch (o) {
    case OP_GT:
        return v > t;
    case OP_LT:
        return v < t;
    case OP_GE:
        return v >= t;
    case OP_LE:
        return v <= t;
    }
    return false;
}

/* Evaluates c on a subject (NULL: in neither trace, refused earlier). A
 * condition whose values are missing is not met (c->evaluated false). */
static void eval_cond(cond *c, const subject *sj)
{
    c->before = metric_value(c->kind, &sj->before, c->m->id);
    c->after = metric_value(c->kind, &sj->after, c->m->id);
    bool need_before = c->tk != T_ABSOLUTE;
    if (!c->after.ok || (need_before && !c->before.ok))
        return;
    c->evaluated = true;
    switch (c->tk) {
    case T_RELATIVE:
        /* (a - b) * 100 against t * b rather than the quotient against t:
         * exact for integers, so +100% of 1 ms is exactly 2 ms. */
        if (c->before.v == 0) {
            c->compared = rel_change(0, c->after.v);
            c->met = compare(c->compared, c->op, c->threshold);
        } else {
            c->compared = rel_change(c->before.v, c->after.v);
            c->met = compare((c->after.v - c->before.v) * 100.0, c->op,
                             c->threshold * fabs(c->before.v));
        }
        break;
    case T_DELTA:
        c->compared = c->after.v - c->before.v;
        c->met = compare(c->compared, c->op, c->threshold);
        break;
    case T_ABSOLUTE:
        c->compared = c->after.v;
        c->met = compare(c->compared, c->op, c->threshold);
        break;
    }
}

/* ---- building the subjects ---------------------------------------------- */

typedef struct name_ref {
    const char *name;
    size_t idx;
} name_ref;

/* qsort: by name, bytewise. */
static int cmp_name_ref(const void *a, const void *b)
{
    return strcmp(((const name_ref *)a)->name, ((const name_ref *)b)->name);
}

/* The name of entry i of a kind's array in s. */
static const char *entry_name(const cdt_stats *s, subject_kind k, size_t i)
{
    return k == SUBJ_TASK     ? s->tasks[i].name
           : k == SUBJ_REGION ? s->regions[i].name
                              : s->user_tasks[i].name;
}

/* How many names of kind k (task, region, user task) s has. */
static size_t entry_count(const cdt_stats *s, subject_kind k)
{
    return k == SUBJ_TASK ? s->ntasks : k == SUBJ_REGION ? s->nregions : s->nuser_tasks;
}

/* Points sd at entry i of kind k of s. */
static void set_side(side *sd, const cdt_stats *s, subject_kind k, size_t i)
{
    if (k == SUBJ_TASK)
        sd->task = &s->tasks[i];
    else
        sd->named = k == SUBJ_REGION ? &s->regions[i] : &s->user_tasks[i];
}

/* The subject's total time in that trace (execution or latency): the
 * report lists the heaviest names first. */
static int64_t side_weight(const side *sd)
{
    if (sd->task != NULL)
        return sd->task->exec.sum;
    if (sd->named != NULL)
        return sd->named->latency.sum;
    return 0;
}

/* qsort: by kind (report order), then decreasing weight, then name. */
static int cmp_subject(const void *a, const void *b)
{
    const subject *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->weight != y->weight)
        return x->weight > y->weight ? -1 : 1;
    if (x->name == NULL || y->name == NULL)
        return 0;
    return strcmp(x->name, y->name);
}

/* The names of kind k of s with their index, sorted; *n of them. NULL on
 * out of memory. O(n log n). */
static name_ref *sorted_names(const cdt_stats *s, subject_kind k, size_t *n)
{
    *n = entry_count(s, k);
    name_ref *r = calloc(*n ? *n : 1, sizeof(*r));
    if (r == NULL)
        return NULL;
    for (size_t i = 0; i < *n; i++) {
        r[i].name = entry_name(s, k, i);
        r[i].idx = i;
    }
    qsort(r, *n, sizeof(*r), cmp_name_ref);
    return r;
}

/* Appends the union of kind k's names of both traces to subj (which has
 * room for them). Returns the new count, or (size_t)-1 out of memory. */
static size_t merge_kind(const cdt_stats *b, const cdt_stats *a, subject_kind k, subject *subj,
                         size_t n)
{
    size_t nb, na;
    name_ref *rb = sorted_names(b, k, &nb), *ra = sorted_names(a, k, &na);
    if (rb == NULL || ra == NULL) {
        free(rb);
        free(ra);
        return (size_t)-1;
    }
    size_t i = 0, j = 0;
    while (i < nb || j < na) {
        int c = i == nb ? 1 : j == na ? -1 : strcmp(rb[i].name, ra[j].name);
        subject *sj = &subj[n++];
        memset(sj, 0, sizeof(*sj));
        sj->kind = k;
        sj->before.s = b;
        sj->after.s = a;
        if (c <= 0) {
            sj->name = rb[i].name;
            set_side(&sj->before, b, k, rb[i].idx);
            i++;
        }
        if (c >= 0) {
            sj->name = ra[j].name;
            set_side(&sj->after, a, k, ra[j].idx);
            j++;
        }
        int64_t wb = side_weight(&sj->before), wa = side_weight(&sj->after);
        sj->weight = wb > wa ? wb : wa;
    }
    free(rb);
    free(ra);
    return n;
}

/* Every subject of either trace, in report order: trace, tasks, regions,
 * user tasks (each by decreasing total time, then name), gc. NULL on out
 * of memory. */
static subject *build_subjects(const cdt_stats *b, const cdt_stats *a, size_t *n)
{
    size_t cap = 2;
    for (int k = SUBJ_TASK; k <= SUBJ_USERTASK; k++)
        cap += entry_count(b, (subject_kind)k) + entry_count(a, (subject_kind)k);
    subject *subj = calloc(cap, sizeof(*subj));
    if (subj == NULL)
        return NULL;
    size_t m = 0;
    subj[m].kind = SUBJ_TRACE;
    subj[m].before.s = b;
    subj[m++].after.s = a;
    for (int k = SUBJ_TASK; k <= SUBJ_USERTASK; k++) {
        m = merge_kind(b, a, (subject_kind)k, subj, m);
        if (m == (size_t)-1) {
            free(subj);
            return NULL;
        }
    }
    subj[m].kind = SUBJ_GC;
    subj[m].before.s = b;
    subj[m++].after.s = a;
    qsort(subj, m, sizeof(*subj), cmp_subject);
    *n = m;
    return subj;
}

/* The subject of kind k and name (NULL for trace and gc), or NULL when
 * neither trace has it. O(n). */
static const subject *find_subject(const subject *subj, size_t n, subject_kind k, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (subj[i].kind == k && (name == NULL || strcmp(subj[i].name, name) == 0))
            return &subj[i];
    return NULL;
}

/* ---- output -------------------------------------------------------------- */

/* A name as the text report shows it after "task:": as is when it is plain
 * printable ASCII, else quoted (control bytes, non-ASCII, quotes). */
static void put_name(FILE *f, const char *name)
{
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (*p < 0x20 || *p >= 0x7f || *p == '"' || *p == '\\') {
            cdt_put_quoted(f, name, strlen(name));
            return;
        }
    fputs(name, f);
}

/* Column widths of the text report. */
#define W_LABEL  24
#define W_VALUE  18
#define W_CHANGE 11

/* "before: FILE: 100.000000ms, 118 events, 0 lost, 2 workers". */
static void put_file_line(FILE *f, const char *label, const char *path, const cdt_stats *s)
{
    char t[32];
    fprintf(f, "%-7s %s: %s, %" PRIu64 " events, %" PRIu64 " lost, %" PRIu64 " workers%s\n", label,
            path, cdt_fmt_ms(t, s->duration_ns), s->events, s->lost_events, s->nworkers,
            s->truncated ? ", truncated" : "");
}

/* The text report: the two traces, a column header, then each subject's
 * heading ("task:search") and one row per metric. */
static void report_text(FILE *f, const char *pb, const cdt_stats *b, const char *pa,
                        const cdt_stats *a, const subject *subj, size_t n)
{
    put_file_line(f, "before:", pb, b);
    put_file_line(f, "after:", pa, a);
    /* what the memory limits left out of either trace, said before the
     * figures that depend on it */
    for (int k = 0; k < 2; k++) {
        cdt_limits lim;
        char what[300];
        cdt_stats_limits(k ? a : b, &lim);
        snprintf(what, sizeof what, "what the figures of %.200s leave out", k ? pa : pb);
        cdt_limits_text(f, &lim, what);
    }
    fprintf(f, "\n%-*s%*s%*s%*s\n", W_LABEL, "", W_VALUE, "before", W_VALUE, "after", W_CHANGE,
            "change");
    for (size_t i = 0; i < n; i++) {
        const subject *sj = &subj[i];
        fputs(cdt_diff_kind_names[sj->kind], f);
        if (sj->name != NULL) {
            putc(':', f);
            put_name(f, sj->name);
        }
        putc('\n', f);
        for (size_t k = 0; k < NMETRICS; k++) {
            const metric *m = &cdt_diff_metrics[k];
            if (!(m->kinds & K(sj->kind)))
                continue;
            value vb = metric_value(sj->kind, &sj->before, m->id);
            value va = metric_value(sj->kind, &sj->after, m->id);
            bool in_b = vb.ok && subject_in(sj, &sj->before);
            bool in_a = va.ok && subject_in(sj, &sj->after);
            char sb[48], sa[48], sc[48];
            fprintf(f, "  %-*s%*s%*s%*s\n", W_LABEL - 2, m->name, W_VALUE,
                    in_b ? fmt_value(sb, m->unit, vb.v, false) : "-", W_VALUE,
                    in_a ? fmt_value(sa, m->unit, va.v, false) : "-", W_CHANGE,
                    fmt_change(sc, sj, m->unit, vb, va));
        }
    }
}

/* A NUL-terminated string as JSON (cdt_put_json_string). */
static void put_json_str(FILE *f, const char *s)
{
    cdt_put_json_string(f, s, strlen(s));
}

/* A number of unit u in JSON: integers exact, others to 6 digits; null when
 * undefined or not finite. */
static void put_json_num(FILE *f, unit u, bool ok, double v)
{
    if (!ok || !isfinite(v))
        fputs("null", f);
    else if (u == U_PCT || u == U_NUM)
        fprintf(f, "%.6g", v);
    else
        fprintf(f, "%lld", (long long)llround(v));
}

/* {"file", "duration_ns", "events", "lost_events", "workers",
 * "truncated", "limits"} of one trace. */
static void put_json_trace(FILE *f, const char *path, const cdt_stats *s)
{
    fputs("{\"file\":", f);
    put_json_str(f, path);
    fprintf(f,
            ",\"duration_ns\":%" PRId64 ",\"events\":%" PRIu64 ",\"lost_events\":%" PRIu64
            ",\"workers\":%" PRIu64 ",\"truncated\":%s,\"limits\":",
            s->duration_ns, s->events, s->lost_events, s->nworkers,
            s->truncated ? "true" : "false");
    cdt_limits lim;
    cdt_stats_limits(s, &lim);
    cdt_limits_json(f, &lim);
    putc('}', f);
}

/* {METRIC: {"before", "after", "delta", "change_pct"}, ...} of a
 * subject; null where undefined (change_pct: also when before is 0 and
 * after is not). */
static void put_json_metrics(FILE *f, const subject *sj)
{
    fputs("{", f);
    bool first = true;
    for (size_t k = 0; k < NMETRICS; k++) {
        const metric *m = &cdt_diff_metrics[k];
        if (!(m->kinds & K(sj->kind)))
            continue;
        value vb = metric_value(sj->kind, &sj->before, m->id);
        value va = metric_value(sj->kind, &sj->after, m->id);
        fprintf(f, "%s\"%s\":{\"before\":", first ? "" : ",", m->name);
        first = false;
        put_json_num(f, m->unit, vb.ok, vb.v);
        fputs(",\"after\":", f);
        put_json_num(f, m->unit, va.ok, va.v);
        fputs(",\"delta\":", f);
        put_json_num(f, m->unit, vb.ok && va.ok, va.v - vb.v);
        fputs(",\"change_pct\":", f);
        bool rel = vb.ok && va.ok && vb.v != 0;
        if (rel)
            fprintf(f, "%.6g", rel_change(vb.v, va.v));
        else if (vb.ok && va.ok && va.v == 0)
            fputs("0", f);
        else
            fputs("null", f);
        fputs("}", f);
    }
    fputs("}", f);
}

/* The JSON report (docs/cdebug-trace-diff.md, "JSON"): one object, one
 * line. */
static void report_json(FILE *f, const char *pb, const cdt_stats *b, const char *pa,
                        const cdt_stats *a, const subject *subj, size_t n, const cond *conds,
                        size_t nconds)
{
    static const char *const arrays[SUBJ_NKINDS] = {NULL, "tasks", "regions", "user_tasks", NULL};
    fputs("{\"before\":", f);
    put_json_trace(f, pb, b);
    fputs(",\"after\":", f);
    put_json_trace(f, pa, a);
    for (int k = 0; k < SUBJ_NKINDS; k++) {
        if (arrays[k] == NULL) {
            fprintf(f, ",\"%s\":", cdt_diff_kind_names[k]);
            put_json_metrics(f, find_subject(subj, n, (subject_kind)k, NULL));
            continue;
        }
        fprintf(f, ",\"%s\":[", arrays[k]);
        bool first = true;
        for (size_t i = 0; i < n; i++) {
            const subject *sj = &subj[i];
            if (sj->kind != (subject_kind)k)
                continue;
            bool in_b = subject_in(sj, &sj->before), in_a = subject_in(sj, &sj->after);
            fprintf(f, "%s{\"name\":", first ? "" : ",");
            first = false;
            put_json_str(f, sj->name);
            fprintf(f, ",\"status\":\"%s\",\"metrics\":",
                    in_b && in_a ? "both"
                    : in_a       ? "new"
                                 : "gone");
            put_json_metrics(f, sj);
            fputs("}", f);
        }
        fputs("]", f);
    }
    fputs(",\"conditions\":[", f);
    for (size_t i = 0; i < nconds; i++) {
        const cond *c = &conds[i];
        fprintf(f, "%s{\"expr\":", i ? "," : "");
        put_json_str(f, c->text);
        fprintf(f, ",\"met\":%s,\"evaluated\":%s,\"before\":", c->met ? "true" : "false",
                c->evaluated ? "true" : "false");
        put_json_num(f, c->m->unit, c->before.ok, c->before.v);
        fputs(",\"after\":", f);
        put_json_num(f, c->m->unit, c->after.ok, c->after.v);
        fputs("}", f);
    }
    fputs("]}\n", f);
}

/* The line on stderr for a condition met, with its numbers. */
static void report_cond(const cond *c)
{
    char sb[48], sa[48], sc[48];
    const char *b = c->before.ok ? fmt_value(sb, c->m->unit, c->before.v, false) : "-";
    const char *a = fmt_value(sa, c->m->unit, c->after.v, false);
    switch (c->tk) {
    case T_RELATIVE:
        if (isfinite(c->compared))
            snprintf(sc, sizeof(sc), "%+.1f%%", c->compared);
        else
            snprintf(sc, sizeof(sc), "from 0");
        break;
    case T_DELTA:
        fmt_value(sc, c->m->unit, c->compared, true);
        break;
    case T_ABSOLUTE:
        snprintf(sc, sizeof(sc), "after");
        break;
    }
    cdt_error("diff: condition met: %s: %s -> %s (%s)", c->text, b, a, sc);
}

/* ---- the command ---------------------------------------------------------- */

/* The usage text, with the expression grammar and every metric. */
static void diff_usage(FILE *f)
{
    fprintf(f,
            "usage: %s diff [--json] [--fail-if EXPR]... BEFORE AFTER\n"
            "  Compares two traces of the same program ('-': standard input, for one\n"
            "  of them): per task name, region, user task type and for the collector,\n"
            "  before/after values and the change.\n"
            "  --json          one JSON object instead of the tables\n"
            "  --fail-if EXPR  exit with status %d when EXPR holds (repeatable):\n"
            "                  METRIC(SUBJECT) OP THRESHOLD, e.g. 'p99(task:search) > +10%%'\n"
            "    SUBJECT    trace, gc, task:NAME, region:NAME, usertask:NAME\n"
            "    OP         >  <  >=  <=\n"
            "    THRESHOLD  +10%% / -5%%: relative change; +2ms / -1MB / +3: absolute\n"
            "               change; 2ms / 1MB / 3: the AFTER value. Units: ns us ms s,\n"
            "               B KB MB GB (powers of 1024); counts have none;\n"
            "               percentages (pause_pct, mmu_*) take 5%% or 5\n"
            "    METRIC     per subject:\n",
            cdt_prog, CDT_DIFF_MET);
    for (int k = 0; k < SUBJ_NKINDS; k++) {
        if (k == SUBJ_USERTASK)
            continue; /* same as region */
        fprintf(f, "      %-17s", k == SUBJ_REGION ? "region, usertask" : cdt_diff_kind_names[k]);
        int col = 23;
        for (size_t i = 0; i < NMETRICS; i++) {
            if (!(cdt_diff_metrics[i].kinds & K(k)))
                continue;
            int len = (int)strlen(cdt_diff_metrics[i].name) + 1;
            if (col + len > 79) {
                fprintf(f, "\n%23s", "");
                col = 23;
            }
            fprintf(f, " %s", cdt_diff_metrics[i].name);
            col += len;
        }
        putc('\n', f);
    }
    fprintf(f,
            "  Exit status: 0 no condition met, %d some condition met (each printed on\n"
            "  stderr), 1 unreadable trace, 2 bad usage (also a malformed EXPR, or a\n"
            "  subject in neither trace). docs/cdebug-trace-diff.md.\n",
            CDT_DIFF_MET);
}

/* `cdebug-trace diff`: parses the flags and expressions (a malformed one is
 * a usage error before any trace is read), computes both traces' stats,
 * checks each condition's subject exists, prints the report, then the
 * conditions met. Returns the exit status (cdt.h, and CDT_DIFF_MET). */
int cdt_cmd_diff(int argc, char **argv)
{
    int code = CDT_USAGE;
    bool json = false;
    const char *paths[2] = {NULL, NULL};
    size_t npaths = 0, nconds = 0;
    cond *conds = calloc((size_t)argc, sizeof(*conds));
    cdt_stats *st[2] = {NULL, NULL};
    subject *subj = NULL;
    size_t nsubj = 0;
    if (conds == NULL) {
        cdt_error("diff: out of memory");
        return CDT_FAIL;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *expr = NULL;
        if (strcmp(a, "--json") == 0) {
            json = true;
        } else if (strcmp(a, "--fail-if") == 0) {
            if (i + 1 == argc) {
                cdt_error("diff: --fail-if needs an expression");
                diff_usage(stderr);
                goto cleanup;
            }
            expr = argv[++i];
        } else if (strncmp(a, "--fail-if=", 10) == 0) {
            expr = a + 10;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            diff_usage(stdout);
            code = CDT_OK;
            goto cleanup;
        } else if (strcmp(a, "--") == 0) {
            for (i++; i < argc; i++) {
                if (npaths == 2) {
                    cdt_error("diff: two traces only: BEFORE AFTER");
                    diff_usage(stderr);
                    goto cleanup;
                }
                paths[npaths++] = argv[i];
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            cdt_error("diff: unknown flag %s", a);
            diff_usage(stderr);
            goto cleanup;
        } else if (npaths == 2) {
            cdt_error("diff: two traces only: BEFORE AFTER");
            diff_usage(stderr);
            goto cleanup;
        } else {
            paths[npaths++] = a;
        }
        if (expr != NULL && cdt_diff_parse_cond(expr, &conds[nconds++]) != 0)
            goto cleanup; /* the error is printed; no usage text: it would bury it */
    }
    if (npaths != 2) {
        cdt_error("diff: needs two traces: BEFORE AFTER");
        diff_usage(stderr);
        goto cleanup;
    }
    if (strcmp(paths[0], "-") == 0 && strcmp(paths[1], "-") == 0) {
        cdt_error("diff: only one of the traces can be standard input");
        goto cleanup;
    }

    code = CDT_FAIL;
    for (int k = 0; k < 2; k++)
        if (cdt_stats_compute(paths[k], &st[k]) != CDT_OK)
            goto cleanup;
    subj = build_subjects(st[0], st[1], &nsubj);
    if (subj == NULL) {
        cdt_error("diff: out of memory");
        goto cleanup;
    }
    /* A subject in neither trace is most likely a typo: refuse it rather
     * than never fire. Checked before anything is printed. */
    for (size_t i = 0; i < nconds; i++) {
        const subject *sj = find_subject(subj, nsubj, conds[i].kind, conds[i].name);
        if (sj == NULL) {
            cdt_error("diff: --fail-if '%s': no %s named \"%s\" in either trace", conds[i].text,
                      conds[i].kind == SUBJ_USERTASK ? "user task type"
                                                     : cdt_diff_kind_names[conds[i].kind],
                      conds[i].name);
            code = CDT_USAGE;
            goto cleanup;
        }
        eval_cond(&conds[i], sj);
    }

    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
    if (json)
        report_json(stdout, paths[0], st[0], paths[1], st[1], subj, nsubj, conds, nconds);
    else
        report_text(stdout, paths[0], st[0], paths[1], st[1], subj, nsubj);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cdt_error("diff: writing the output: %s", strerror(errno));
        goto cleanup;
    }
    code = CDT_OK;
    for (size_t i = 0; i < nconds; i++) {
        if (!conds[i].evaluated) {
            cdt_error("diff: note: --fail-if '%s': %s has no value in %s; not evaluated",
                      conds[i].text, conds[i].m->name, !conds[i].after.ok ? "AFTER" : "BEFORE");
        } else if (conds[i].met) {
            report_cond(&conds[i]);
            code = CDT_DIFF_MET;
        }
    }
cleanup:
    for (size_t i = 0; i < nconds; i++)
        free(conds[i].name);
    free(conds);
    free(subj);
    for (int k = 0; k < 2; k++)
        if (st[k] != NULL)
            cdt_stats_free(st[k]);
    return code;
}

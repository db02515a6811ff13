/* viewer/cdebug-trace/report.c - prints a cdt_stats as the text tables and
 * lints of `cdebug-trace stats`, or as its JSON (docs/cdebug-trace.md has
 * both layouts). Also the `stats` subcommand itself.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cdt.h"
#include "limits.h"
#include "stats.h"

static double pct(int64_t part, int64_t whole)
{
    return whole > 0 ? 100.0 * (double)part / (double)whole : 0.0;
}

/* The same for sums over workers, in double: a duration times 1024
 * workers does not fit an int64. */
static double pctd(double part, double whole)
{
    return whole > 0 ? 100.0 * part / whole : 0.0;
}

/* ---- text --------------------------------------------------------------------- */

static const char *dur(char *buf, int64_t ns)
{
    return cdt_fmt_dur(buf, ns);
}

/* A name cut to w columns (bytes; names are usually ASCII) for the tables. */
static void put_name(FILE *f, const char *name, int w)
{
    size_t n = strlen(name);
    if (n <= (size_t)w)
        fprintf(f, "%-*s", w, name);
    else
        fprintf(f, "%.*s~", w - 1, name);
}

static void text_header(FILE *f, const cdt_stats *s, const char *file)
{
    char d[32], wall[48];
    fprintf(f, "Trace %s: cdebug trace v%u, started %s%s, %s\n", file, s->header.version,
            cdt_fmt_wall(wall, s->header.start_wall_ns),
            (s->header.flags & CD_TR_FLAG_FLIGHT) ? " (flight-recorder window)" : "",
            s->truncated ? "TRUNCATED" : "complete");
    fprintf(f,
            "Duration %s, %" PRIu64 " events, %" PRIu64 " lost, %" PRIu64 " threads, %" PRIu64
            " workers, %" PRIu64 " tasks created\n",
            dur(d, s->duration_ns), s->events, s->lost_events, s->threads, s->nworkers,
            s->tasks_created);
}

static void text_workers(FILE *f, const cdt_stats *s)
{
    if (s->nworkers == 0)
        return;
    double tot[CDT_WS_N] = {0};
    fprintf(f, "\nWorkers      running     idle  spinning       GC\n");
    for (uint64_t w = 0; w < s->nworkers; w++) {
        const cdt_worker_stats *ws = &s->workers[w];
        fprintf(
            f, "  P%-8" PRIu64 " %7.1f%%  %6.1f%%  %7.1f%%  %6.1f%%\n", ws->worker,
            pct(ws->ns[CDT_WS_RUNNING], s->duration_ns), pct(ws->ns[CDT_WS_IDLE], s->duration_ns),
            pct(ws->ns[CDT_WS_SPINNING], s->duration_ns), pct(ws->ns[CDT_WS_GC], s->duration_ns));
        for (int k = 0; k < CDT_WS_N; k++)
            tot[k] += (double)ws->ns[k];
    }
    double all = (double)s->duration_ns * (double)s->nworkers;
    fprintf(f, "  all       %7.1f%%  %6.1f%%  %7.1f%%  %6.1f%%\n", pctd(tot[CDT_WS_RUNNING], all),
            pctd(tot[CDT_WS_IDLE], all), pctd(tot[CDT_WS_SPINNING], all),
            pctd(tot[CDT_WS_GC], all));

    fprintf(f, "\nParallelism: %.2f workers running tasks on average, of %" PRIu64 "\n",
            s->avg_parallelism, s->nworkers);
    fprintf(f, "  running  time\n");
    for (uint64_t k = 0; k <= s->nworkers; k++) {
        double p = pct(s->parallel_ns[k], s->duration_ns);
        fprintf(f, "  %7" PRIu64 " %6.1f%%  ", k, p);
        for (int i = 0; i < (int)(p / 2.5 + 0.5); i++)
            putc('#', f);
        putc('\n', f);
    }
}

static void text_tasks(FILE *f, const cdt_stats *s)
{
    if (s->ntasks == 0)
        return;
    char a[32], b[32], c[32], d[32], e[32], g[32], h[32], i2[32], j[32];
    fprintf(f, "\nTasks                   count      total       mean        p50        p99        "
               "max   wait p50   wait p99   wait max    blocked\n");
    for (size_t i = 0; i < s->ntasks; i++) {
        const cdt_task_stats *t = &s->tasks[i];
        fputs("  ", f);
        put_name(f, t->name, 20);
        fprintf(f, " %6" PRIu64 " %10s %10s %10s %10s %10s %10s %10s %10s %10s", t->count,
                dur(a, t->exec.sum), dur(b, cdt_dist_mean(&t->exec)),
                dur(c, cdt_dist_quantile(&t->exec, 0.5)), dur(d, cdt_dist_quantile(&t->exec, 0.99)),
                dur(e, t->exec.max), dur(g, cdt_dist_quantile(&t->wait, 0.5)),
                dur(h, cdt_dist_quantile(&t->wait, 0.99)), dur(i2, t->wait.max),
                dur(j, t->blocked.sum));
        if (t->unended)
            fprintf(f, "  (+%" PRIu64 " unfinished)", t->unended);
        putc('\n', f);
    }
    bool any = false;
    for (size_t i = 0; i < s->ntasks; i++)
        any |= s->tasks[i].nreasons > 0;
    if (!any)
        return;
    fprintf(f,
            "\nBlocked by reason        task                    count      total        p50        "
            "p99        max\n");
    for (size_t i = 0; i < s->ntasks; i++)
        for (size_t k = 0; k < s->tasks[i].nreasons; k++) {
            const cdt_reason_stats *r = &s->tasks[i].reasons[k];
            fputs("  ", f);
            put_name(f, r->reason, 22);
            putc(' ', f);
            put_name(f, s->tasks[i].name, 20);
            fprintf(f, " %8" PRIu64 " %10s %10s %10s %10s\n", r->blocked.count,
                    dur(a, r->blocked.sum), dur(b, cdt_dist_quantile(&r->blocked, 0.5)),
                    dur(c, cdt_dist_quantile(&r->blocked, 0.99)), dur(d, r->blocked.max));
        }
}

static void text_named(FILE *f, const char *title, const cdt_named_dist *v, size_t n)
{
    if (n == 0)
        return;
    char a[32], b[32], c[32], d[32];
    fprintf(f, "\n%-22s    count        p50        p90        p99        max\n", title);
    for (size_t i = 0; i < n; i++) {
        fputs("  ", f);
        put_name(f, v[i].name, 22);
        fprintf(f, " %8" PRIu64 " %10s %10s %10s %10s", v[i].latency.count,
                dur(a, cdt_dist_quantile(&v[i].latency, 0.5)),
                dur(b, cdt_dist_quantile(&v[i].latency, 0.9)),
                dur(c, cdt_dist_quantile(&v[i].latency, 0.99)), dur(d, v[i].latency.max));
        if (v[i].unfinished)
            fprintf(f, "  (+%" PRIu64 " unfinished)", v[i].unfinished);
        putc('\n', f);
    }
}

static void text_gc(FILE *f, const cdt_stats *s)
{
    const cdt_gc_stats *g = &s->gc;
    char a[32], b[32], c[32], d[32];
    fprintf(f, "\nGC\n");
    if (g->count == 0) {
        fprintf(f, "  no collection in the trace\n");
    } else {
        fprintf(f,
                "  %" PRIu64 " collections (%" PRIu64 " forced); stop-the-world pause p50 %s, "
                "p99 %s, max %s\n",
                g->count, g->forced, dur(a, cdt_dist_quantile(&g->pause, 0.5)),
                dur(b, cdt_dist_quantile(&g->pause, 0.99)), dur(c, g->pause.max));
        fprintf(f, "  total pause %s (%.3f%% of the trace); collection duration p50 %s\n",
                dur(d, g->pause_total_ns), pct(g->pause_total_ns, s->duration_ns),
                dur(a, cdt_dist_quantile(&g->duration, 0.5)));
    }
    if (g->heap_first_before >= 0 || g->heap_last_after >= 0 || g->heap_peak >= 0) {
        fprintf(f, "  heap in use:");
        if (g->heap_first_before >= 0)
            fprintf(f, " %.2f MB before the first collection,", (double)g->heap_first_before / 1e6);
        if (g->heap_last_after >= 0)
            fprintf(f, " %.2f MB after the last,", (double)g->heap_last_after / 1e6);
        fprintf(f, " peak %.2f MB\n", (double)(g->heap_peak < 0 ? 0 : g->heap_peak) / 1e6);
    }
}

static void text_mmu(FILE *f, const cdt_stats *s)
{
    char w[32];
    fprintf(f, "\nMinimum mutator utilisation\n  window ");
    for (int i = 0; i < CDT_MMU_WINDOWS; i++)
        fprintf(f, " %8s", dur(w, s->mmu_window_ns[i]));
    fprintf(f, "\n  MMU    ");
    for (int i = 0; i < CDT_MMU_WINDOWS; i++) {
        if (s->mmu[i] < 0)
            fprintf(f, " %8s", "-");
        else
            fprintf(f, " %7.1f%%", 100.0 * s->mmu[i]);
    }
    putc('\n', f);
}

static void text_lints(FILE *f, const cdt_lint *l, size_t n)
{
    fprintf(f, "\nLints\n");
    if (n == 0)
        fprintf(f, "  no findings\n");
    for (size_t i = 0; i < n; i++)
        fprintf(f, "  [%s] %s\n      evidence: %s\n      next: %s\n", l[i].id, l[i].summary,
                l[i].evidence, l[i].next);
}

/* ---- JSON ----------------------------------------------------------------------- */

static void json_dist(FILE *f, const cdt_dist *d)
{
    fprintf(f,
            "{\"count\":%" PRIu64 ",\"total\":%" PRId64 ",\"mean\":%" PRId64 ",\"min\":%" PRId64
            ",\"p50\":%" PRId64 ",\"p90\":%" PRId64 ",\"p99\":%" PRId64 ",\"max\":%" PRId64 "}",
            d->count, d->sum, cdt_dist_mean(d), d->count ? d->min : 0, cdt_dist_quantile(d, 0.5),
            cdt_dist_quantile(d, 0.9), cdt_dist_quantile(d, 0.99), d->count ? d->max : 0);
}

static void json_named(FILE *f, const char *key, const cdt_named_dist *v, size_t n)
{
    fprintf(f, ",\"%s\":[", key);
    for (size_t i = 0; i < n; i++) {
        fputs(i ? ",{\"name\":" : "{\"name\":", f);
        cdt_put_json_string(f, v[i].name, strlen(v[i].name));
        fprintf(f, ",\"count\":%" PRIu64 ",\"unfinished\":%" PRIu64 ",\"latency_ns\":",
                v[i].latency.count, v[i].unfinished);
        json_dist(f, &v[i].latency);
        putc('}', f);
    }
    putc(']', f);
}

void cdt_stats_limits(const cdt_stats *s, cdt_limits *l)
{
    cdt_limits_init(l, &s->lim, &s->reader);
    cdt_limits_add(l, "values_outside_percentiles", s->unbinned,
                   "durations are left out of the percentiles (past the statistics' %llu "
                   "histogram rows): counts, totals, minimums and maximums include them",
                   CDT_STATS_MAX_HIST_ROWS);
    cdt_limits_add(l, "reasons_other", s->reasons_other,
                   "blocking calls are counted under the reason \"(other)\" (past 64 reasons for "
                   "a task name or %llu in all)",
                   CDT_STATS_MAX_REASONS);
}

static void json_report(FILE *f, const cdt_stats *s, const char *file, const cdt_lint *l, size_t nl)
{
    fputs("{\"trace\":{\"file\":", f);
    cdt_put_json_string(f, file, strlen(file));
    fprintf(f,
            ",\"version\":%u,\"flight\":%s,\"start_wall_ns\":%" PRIu64 ",\"duration_ns\":%" PRId64
            ",\"events\":%" PRIu64 ",\"lost_events\":%" PRIu64 ",\"lost_batches\":%" PRIu64
            ",\"truncated\":%s,\"threads\":%" PRIu64 ",\"workers\":%" PRIu64
            ",\"tasks_created\":%" PRIu64 "}",
            s->header.version, (s->header.flags & CD_TR_FLAG_FLIGHT) ? "true" : "false",
            s->header.start_wall_ns, s->duration_ns, s->events, s->lost_events, s->lost_batches,
            s->truncated ? "true" : "false", s->threads, s->nworkers, s->tasks_created);
    cdt_limits lim;
    cdt_stats_limits(s, &lim);
    fputs(",\"limits\":", f);
    cdt_limits_json(f, &lim);

    fputs(",\"workers\":[", f);
    double run = 0;
    for (uint64_t w = 0; w < s->nworkers; w++) {
        const cdt_worker_stats *ws = &s->workers[w];
        run += (double)ws->ns[CDT_WS_RUNNING];
        fprintf(f,
                "%s{\"worker\":%" PRIu64 ",\"running_pct\":%.3f,\"idle_pct\":%.3f,"
                "\"spinning_pct\":%.3f,\"gc_pct\":%.3f,\"running_ns\":%" PRId64 "}",
                w ? "," : "", ws->worker, pct(ws->ns[CDT_WS_RUNNING], s->duration_ns),
                pct(ws->ns[CDT_WS_IDLE], s->duration_ns),
                pct(ws->ns[CDT_WS_SPINNING], s->duration_ns),
                pct(ws->ns[CDT_WS_GC], s->duration_ns), ws->ns[CDT_WS_RUNNING]);
    }
    fprintf(f, "],\"utilisation_pct\":%.3f",
            pctd(run, (double)s->duration_ns * (double)s->nworkers));
    fprintf(f, ",\"parallelism\":{\"average\":%.4f,\"histogram\":[", s->avg_parallelism);
    for (uint64_t k = 0; s->parallel_ns != NULL && k <= s->nworkers; k++)
        fprintf(f, "%s{\"running\":%" PRIu64 ",\"pct\":%.3f,\"ns\":%" PRId64 "}", k ? "," : "", k,
                pct(s->parallel_ns[k], s->duration_ns), s->parallel_ns[k]);
    fputs("]}", f);

    fputs(",\"tasks\":[", f);
    for (size_t i = 0; i < s->ntasks; i++) {
        const cdt_task_stats *t = &s->tasks[i];
        fputs(i ? ",{\"name\":" : "{\"name\":", f);
        cdt_put_json_string(f, t->name, strlen(t->name));
        fprintf(f,
                ",\"count\":%" PRIu64 ",\"unended\":%" PRIu64 ",\"ever_blocked\":%s,\"exec_ns\":",
                t->count, t->unended, t->ever_blocked ? "true" : "false");
        json_dist(f, &t->exec);
        fputs(",\"wait_ns\":", f);
        json_dist(f, &t->wait);
        fputs(",\"blocked_ns\":", f);
        json_dist(f, &t->blocked);
        fputs(",\"blocked\":[", f);
        for (size_t k = 0; k < t->nreasons; k++) {
            fputs(k ? ",{\"reason\":" : "{\"reason\":", f);
            cdt_put_json_string(f, t->reasons[k].reason, strlen(t->reasons[k].reason));
            fputs(",\"ns\":", f);
            json_dist(f, &t->reasons[k].blocked);
            putc('}', f);
        }
        fputs("]}", f);
    }
    putc(']', f);
    json_named(f, "user_tasks", s->user_tasks, s->nuser_tasks);
    json_named(f, "regions", s->regions, s->nregions);

    const cdt_gc_stats *g = &s->gc;
    fprintf(f, ",\"gc\":{\"count\":%" PRIu64 ",\"forced\":%" PRIu64 ",\"pause_ns\":", g->count,
            g->forced);
    json_dist(f, &g->pause);
    fputs(",\"duration_ns\":", f);
    json_dist(f, &g->duration);
    fprintf(f,
            ",\"pause_total_ns\":%" PRId64 ",\"pause_pct\":%.4f,\"long_pauses\":%" PRIu64
            ",\"heap_first_before\":%" PRId64 ",\"heap_first_after\":%" PRId64
            ",\"heap_last_after\":%" PRId64 ",\"heap_min_after\":%" PRId64
            ",\"heap_max_after\":%" PRId64 ",\"heap_after_grew\":%" PRIu64 ",\"heap_peak\":%" PRId64
            "}",
            g->pause_total_ns, pct(g->pause_total_ns, s->duration_ns), g->long_pauses,
            g->heap_first_before, g->heap_first_after, g->heap_last_after, g->heap_min_after,
            g->heap_max_after, g->after_grew, g->heap_peak);

    fputs(",\"mmu\":[", f);
    for (int i = 0; i < CDT_MMU_WINDOWS; i++) {
        fprintf(f, "%s{\"window_ns\":%" PRId64 ",\"mmu\":", i ? "," : "", s->mmu_window_ns[i]);
        if (s->mmu[i] < 0)
            fputs("null}", f);
        else
            fprintf(f, "%.6f}", s->mmu[i]);
    }
    fputs("],\"lints\":[", f);
    for (size_t i = 0; i < nl; i++) {
        fprintf(f, "%s{\"id\":\"%s\",\"summary\":", i ? "," : "", l[i].id);
        cdt_put_json_string(f, l[i].summary, strlen(l[i].summary));
        fputs(",\"evidence\":", f);
        cdt_put_json_string(f, l[i].evidence, strlen(l[i].evidence));
        fputs(",\"next\":", f);
        cdt_put_json_string(f, l[i].next, strlen(l[i].next));
        putc('}', f);
    }
    fputs("]}\n", f);
}

void cdt_stats_report(FILE *f, const cdt_stats *s, const char *file, cdt_report_format fmt)
{
    cdt_lint lints[CDT_MAX_LINTS];
    size_t nl = cdt_lints(s, lints, CDT_MAX_LINTS);
    if (fmt == CDT_REPORT_JSON) {
        json_report(f, s, file, lints, nl);
        return;
    }
    text_header(f, s, file);
    cdt_limits lim;
    cdt_stats_limits(s, &lim);
    cdt_limits_text(f, &lim, "what this report leaves out");
    text_workers(f, s);
    text_tasks(f, s);
    text_named(f, "User tasks", s->user_tasks, s->nuser_tasks);
    text_named(f, "Regions", s->regions, s->nregions);
    text_gc(f, s);
    text_mmu(f, s);
    text_lints(f, lints, nl);
}

/* ---- the subcommand ------------------------------------------------------------- */

static void stats_usage(FILE *f)
{
    fprintf(f,
            "usage: %s stats [--json] FILE\n"
            "  Prints the summary tables of the trace FILE ('-': standard input) and the\n"
            "  lints (findings) after them. Streams the file: memory does not grow with it.\n"
            "  --json  one JSON object instead of the tables (docs/cdebug-trace.md)\n",
            cdt_prog);
}

int cdt_cmd_stats(int argc, char **argv)
{
    bool json = false;
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            stats_usage(stdout);
            return CDT_OK;
        } else if (argv[i][0] == '-' && argv[i][1] != '\0') {
            cdt_error("stats: unknown flag \"%s\"", argv[i]);
            stats_usage(stderr);
            return CDT_USAGE;
        } else if (path != NULL) {
            cdt_error("stats: one trace file expected, got \"%s\" and \"%s\"", path, argv[i]);
            stats_usage(stderr);
            return CDT_USAGE;
        } else {
            path = argv[i];
        }
    }
    if (path == NULL) {
        cdt_error("stats: no trace file given");
        stats_usage(stderr);
        return CDT_USAGE;
    }
    cdt_stats *s;
    int code = cdt_stats_compute(path, &s);
    if (code != CDT_OK)
        return code;
    cdt_stats_report(stdout, s, path, json ? CDT_REPORT_JSON : CDT_REPORT_TEXT);
    cdt_stats_free(s);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cdt_error("stats: writing the report failed");
        return CDT_FAIL;
    }
    return CDT_OK;
}

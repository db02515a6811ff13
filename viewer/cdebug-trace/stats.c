/* viewer/cdebug-trace/stats.c - cdt_stats_compute: one pass of the model
 * (model.h) with callbacks that fold every span, task and collection into
 * the figures of stats.h.
 *
 * Worker time: each worker's state is accounted from its previous change to
 * the next one. A GC pause overrides every state (the world is stopped), so
 * at a pause's begin and end every worker is flushed first. Parallelism is
 * the number of workers in the running state, accounted the same way.
 *
 * MMU (minimum mutator utilisation, as `go tool trace` draws it): for a
 * window length w, the lowest fraction of any w-long window of the trace in
 * which the world was not stopped. The worst window either ends at a
 * pause's end or starts at a pause's start, so only those windows are
 * evaluated. Pauses are kept only while a 1 s window that starts at them
 * can still be affected by later pauses (see mmu_drop), so memory depends
 * on the pause rate, not the trace length.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cdt.h"
#include "map.h"
#include "model.h"
#include "stats.h"

static const int64_t mmu_windows[CDT_MMU_WINDOWS] = {1000000, 10000000, 100000000, 1000000000};

typedef struct pause_iv {
    int64_t s, e;
    int64_t before; /* disjoint pauses: the lengths of all earlier ones, summed */
} pause_iv;

typedef struct names {
    cdt_map index;  /* name hash -> position + 1 */
    cdt_map by_ptr; /* the text's address -> position + 1: the model's names
                       (the reader's strings) neither move nor change, and a
                       lookup by address skips hashing and comparing the text */
    size_t n;
    size_t bytes; /* of the names copied, against CDT_STATS_MAX_NAME_BYTES */
} names;

typedef struct acc {
    cdt_stats *s;
    bool oom;
    /* workers, in the order the model first reported them */
    cdt_map windex;            /* worker id -> position + 1 */
    uint32_t wsmall[256];      /* the same for ids below 256, 0: not yet (a
                                  worker changes state at most events) */
    int64_t *w_since;          /* [nworkers] last accounting time */
    cdt_worker_state *w_state; /* [nworkers] */
    size_t wcap;
    size_t nreasons; /* in all task names, against CDT_STATS_MAX_REASONS */
    uint64_t running;
    int64_t par_since;
    size_t parcap;
    bool paused;
    /* names */
    names tasks, users, regions;
    /* MMU */
    pause_iv *pauses; /* ring */
    size_t pcap, phead, plen;
    bool overlap;    /* a pause began before the previous one ended */
    int64_t stopped; /* disjoint pauses: their lengths, summed */
    int64_t pause_begin;
    int64_t prev_after; /* heap after the previous collection, -1 */
} acc;

/* ---- names ---------------------------------------------------------------- */

static uint64_t hash_name(const char *p, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)p[i]) * 1099511628211ull;
    return h;
}

static char *dup_name(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s != NULL) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

/* Position of name in an array of elements whose first member is a char *
 * (the element size is `size`), adding it (zeroed) if new. The array may
 * move. Returns -1 on out of memory. Past CDT_STATS_MAX_NAMES names or
 * CDT_STATS_MAX_NAME_BYTES of their text, every new one maps to "(other)". */
static long find_name_text(names *nm, void **arr, size_t size, const char *p, size_t n);

static long find_name(names *nm, void **arr, size_t size, const char *p, size_t n)
{
    if (p == NULL)
        p = "", n = 0;
    uintptr_t pos = (uintptr_t)cdt_map_get(&nm->by_ptr, (uintptr_t)p);
    if (pos != 0)
        return (long)(pos - 1);
    long i = find_name_text(nm, arr, size, p, n);
    /* Cached only while small: a hostile trace's millions of names, all
     * "(other)", are not each worth an entry. Out of memory: uncached. */
    if (i >= 0 && nm->by_ptr.len < 4 * CDT_STATS_MAX_NAMES)
        (void)cdt_map_put(&nm->by_ptr, (uintptr_t)p, (void *)(uintptr_t)(i + 1));
    return i;
}

/* find_name by the text itself. */
static long find_name_text(names *nm, void **arr, size_t size, const char *p, size_t n)
{
    for (int round = 0; round < 2; round++) {
        uint64_t h = hash_name(p, n);
        for (;; h++) { /* probe on a (rare) hash collision between names */
            uintptr_t pos = (uintptr_t)cdt_map_get(&nm->index, h);
            if (pos == 0)
                break;
            char *have = *(char **)((char *)*arr + (pos - 1) * size);
            if (strlen(have) == n && memcmp(have, p, n) == 0)
                return (long)(pos - 1);
        }
        if ((nm->n < CDT_STATS_MAX_NAMES && nm->bytes + n <= CDT_STATS_MAX_NAME_BYTES) ||
            round == 1) {
            char *copy = dup_name(p, n);
            void *grown = realloc(*arr, (nm->n + 1) * size);
            if (copy == NULL || grown == NULL) {
                free(copy);
                if (grown != NULL)
                    *arr = grown;
                return -1;
            }
            *arr = grown;
            char *el = (char *)grown + nm->n * size;
            memset(el, 0, size);
            *(char **)el = copy;
            while (cdt_map_get(&nm->index, h) != NULL)
                h++;
            if (cdt_map_put(&nm->index, h, (void *)(uintptr_t)(nm->n + 1)) < 0)
                return -1;
            nm->bytes += n;
            return (long)nm->n++;
        }
        p = "(other)";
        n = 7;
    }
    return -1;
}

/* ---- workers and parallelism ----------------------------------------------- */

static int ws_category(acc *a, cdt_worker_state st)
{
    if (a->paused)
        return CDT_WS_GC;
    switch (st) {
    case CDT_W_RUNNING:
        return CDT_WS_RUNNING;
    case CDT_W_SPINNING:
        return CDT_WS_SPINNING;
    default:
        return CDT_WS_IDLE;
    }
}

/* Position of worker w in the per-worker arrays, added (idle since the
 * trace start) if new. -1 past CDT_STATS_MAX_WORKERS (the model reports no
 * more) or on out of memory. The arrays grow by doubling, by the number of
 * workers, never by the id. */
static long worker_index(acc *a, uint64_t w)
{
    cdt_stats *s = a->s;
    if (w < 256 && a->wsmall[w] != 0)
        return (long)a->wsmall[w] - 1;
    uintptr_t pos = (uintptr_t)cdt_map_get(&a->windex, w);
    if (pos != 0)
        return (long)(pos - 1);
    if (s->nworkers >= CDT_STATS_MAX_WORKERS)
        return -1;
    if (s->nworkers == a->wcap) {
        size_t cap = a->wcap ? a->wcap * 2 : 8;
        cdt_worker_stats *ws = realloc(s->workers, cap * sizeof *ws);
        if (ws != NULL)
            s->workers = ws;
        int64_t *since = realloc(a->w_since, cap * sizeof *since);
        if (since != NULL)
            a->w_since = since;
        cdt_worker_state *st = realloc(a->w_state, cap * sizeof *st);
        if (st != NULL)
            a->w_state = st;
        int64_t *par = realloc(s->parallel_ns, (cap + 1) * sizeof *par);
        if (par != NULL)
            s->parallel_ns = par;
        if (ws == NULL || since == NULL || st == NULL || par == NULL) {
            a->oom = true;
            return -1;
        }
        a->wcap = cap;
    }
    size_t i = s->nworkers;
    if (cdt_map_put(&a->windex, w, (void *)(uintptr_t)(i + 1)) < 0) {
        a->oom = true;
        return -1;
    }
    if (w < 256)
        a->wsmall[w] = (uint32_t)(i + 1); /* i < CDT_STATS_MAX_WORKERS */
    memset(&s->workers[i], 0, sizeof s->workers[i]);
    s->workers[i].worker = w;
    a->w_since[i] = 0;
    a->w_state[i] = CDT_W_IDLE;
    s->parallel_ns[i + 1] = 0;
    s->nworkers = i + 1;
    return (long)i;
}

/* Accounts worker w's time up to ns in its current category. */
static void flush_worker(acc *a, uint64_t w, int64_t ns)
{
    if (ns > a->w_since[w]) {
        a->s->workers[w].ns[ws_category(a, a->w_state[w])] += ns - a->w_since[w];
        a->w_since[w] = ns;
    }
}

static void flush_parallel(acc *a, int64_t ns)
{
    if (ns > a->par_since) {
        uint64_t k = a->paused ? 0 : a->running;
        if (k > a->s->nworkers)
            k = a->s->nworkers;
        a->s->parallel_ns[k] += ns - a->par_since;
        a->par_since = ns;
    }
}

static void flush_all(acc *a, int64_t ns)
{
    flush_parallel(a, ns);
    for (uint64_t w = 0; w < a->s->nworkers; w++)
        flush_worker(a, w, ns);
}

static void on_worker_state(void *ud, uint64_t id, cdt_worker_state old, cdt_worker_state st,
                            int64_t ns)
{
    acc *a = ud;
    (void)old;
    long i = worker_index(a, id);
    if (i < 0)
        return;
    uint64_t w = (uint64_t)i;
    flush_parallel(a, ns);
    flush_worker(a, w, ns);
    if (!a->s->workers[w].seen) {
        a->s->workers[w].seen = true; /* idle since the trace start */
    }
    if (a->w_state[w] == CDT_W_RUNNING)
        a->running--;
    a->w_state[w] = st;
    if (st == CDT_W_RUNNING)
        a->running++;
}

/* ---- MMU -------------------------------------------------------------------- */

static pause_iv *pause_at(acc *a, size_t i)
{
    return &a->pauses[(a->phead + i) % a->pcap];
}

/* The world-stopped time in [ws, we): the sum of each kept pause's overlap
 * with it. Pauses come in end order; while they are disjoint (a real
 * trace: one collection at a time) their starts are in order too, so two
 * binary searches find the ones that overlap and the kept sums of lengths
 * give the total, the same integer as the sum, in O(log pauses). */
static int64_t stopped_in(acc *a, int64_t ws, int64_t we)
{
    int64_t stopped = 0;
    if (a->overlap) {
        for (size_t i = 0; i < a->plen; i++) {
            pause_iv p = *pause_at(a, i);
            int64_t s = p.s > ws ? p.s : ws, e = p.e < we ? p.e : we;
            if (e > s)
                stopped += e - s;
        }
        return stopped;
    }
    size_t lo = 0, hi = a->plen; /* first pause ending after ws */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pause_at(a, mid)->e > ws)
            hi = mid;
        else
            lo = mid + 1;
    }
    size_t first = lo;
    hi = a->plen; /* first pause starting at or after we */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pause_at(a, mid)->s >= we)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (first >= lo)
        return 0;
    const pause_iv *f = pause_at(a, first), *l = pause_at(a, lo - 1);
    stopped = l->before + (l->e - l->s) - f->before;
    if (f->s < ws)
        stopped -= ws - f->s;
    if (l->e > we)
        stopped -= l->e - we;
    return stopped;
}

static double mutator_share(acc *a, int64_t ws, int64_t we)
{
    return 1.0 - (double)stopped_in(a, ws, we) / (double)(we - ws);
}

static void mmu_eval(acc *a, int i, int64_t ws, int64_t end)
{
    int64_t w = mmu_windows[i];
    if (ws < 0)
        ws = 0;
    if (ws + w > end)
        ws = end - w;
    if (ws < 0)
        return; /* trace shorter than the window */
    double u = mutator_share(a, ws, ws + w);
    if (u < a->s->mmu[i])
        a->s->mmu[i] = u;
}

/* Evaluates and drops the pauses no window can still need. The windows of
 * pause p are the one starting at p.s and the one ending at p.e (clamped
 * into the trace); both lie within [p.e - 1 s, p.s + 1 s], so they overlap
 * only pauses that began before p.e + 1 s: all known once a pause begins
 * after that (`now`), or at the end of the trace (`all`). */
static void mmu_drop(acc *a, int64_t now, int64_t end, bool all)
{
    while (a->plen > 0) {
        pause_iv p = a->pauses[a->phead];
        if (!all && p.e + mmu_windows[CDT_MMU_WINDOWS - 1] >= now)
            break;
        for (int i = 0; i < CDT_MMU_WINDOWS; i++) {
            mmu_eval(a, i, p.s, end);
            mmu_eval(a, i, p.e - mmu_windows[i], end);
        }
        a->phead = (a->phead + 1) % a->pcap;
        a->plen--;
    }
}

static void mmu_pause(acc *a, int64_t s, int64_t e)
{
    mmu_drop(a, s, INT64_MAX, false);
    if (a->plen == a->pcap) {
        size_t cap = a->pcap ? a->pcap * 2 : 64;
        pause_iv *v = malloc(cap * sizeof *v);
        if (v == NULL) {
            a->oom = true;
            return;
        }
        for (size_t i = 0; i < a->plen; i++)
            v[i] = a->pauses[(a->phead + i) % a->pcap];
        free(a->pauses);
        a->pauses = v;
        a->pcap = cap;
        a->phead = 0;
    }
    if (a->plen > 0 && s < pause_at(a, a->plen - 1)->e)
        a->overlap = true;
    a->pauses[(a->phead + a->plen++) % a->pcap] = (pause_iv){s, e, a->stopped};
    if (!a->overlap)
        a->stopped += e - s;
}

/* ---- spans, tasks, collections -------------------------------------------- */

static void on_span_begin(void *ud, const cdt_span *sp)
{
    acc *a = ud;
    if (sp->kind == CDT_SPAN_PAUSE) {
        flush_all(a, sp->start_ns);
        a->paused = true;
        a->pause_begin = sp->start_ns;
    }
}

/* cdt_dist_add against the histogram row budget, counting what it left
 * out of the percentiles. */
static void dist_add(acc *a, cdt_dist *d, int64_t v)
{
    uint64_t before = d->unbinned;
    cdt_dist_add(d, v, &a->s->hist_rows_left);
    a->s->unbinned += d->unbinned - before;
}

static void add_named(acc *a, names *nm, cdt_named_dist **arr, size_t *n, const cdt_span *sp)
{
    long i = find_name(nm, (void **)arr, sizeof **arr, sp->name, sp->name_len);
    if (i < 0) {
        a->oom = true;
        return;
    }
    *n = nm->n;
    if (sp->unfinished)
        (*arr)[i].unfinished++;
    else
        dist_add(a, &(*arr)[i].latency, sp->end_ns - sp->start_ns);
}

static cdt_task_stats *task_stats(acc *a, const char *name, size_t len)
{
    long i = find_name(&a->tasks, (void **)&a->s->tasks, sizeof *a->s->tasks, name, len);
    if (i < 0) {
        a->oom = true;
        return NULL;
    }
    a->s->ntasks = a->tasks.n;
    return &a->s->tasks[i];
}

static void add_block(acc *a, const cdt_span *sp)
{
    cdt_task_stats *t = task_stats(a, sp->task_name, sp->task_name_len);
    if (t == NULL)
        return;
    t->ever_blocked = true;
    const char *r = sp->name ? sp->name : "";
    size_t len = sp->name ? sp->name_len : 0, i;
    for (int round = 0;; round++) {
        for (i = 0; i < t->nreasons; i++)
            if (strlen(t->reasons[i].reason) == len && memcmp(t->reasons[i].reason, r, len) == 0)
                break;
        /* past 64 reasons for the name or CDT_STATS_MAX_REASONS in all (a
         * hostile number of them), new ones go to "(other)" */
        if (i < t->nreasons || round == 1 ||
            (t->nreasons < 64 && a->nreasons < CDT_STATS_MAX_REASONS &&
             len <= CDT_STATS_MAX_NAME_BYTES / CDT_STATS_MAX_REASONS))
            break;
        r = "(other)";
        len = 7;
        a->s->reasons_other++;
    }
    if (i == t->nreasons) {
        cdt_reason_stats *v = realloc(t->reasons, (t->nreasons + 1) * sizeof *v);
        char *copy = dup_name(r, len);
        if (v != NULL)
            t->reasons = v;
        if (v == NULL || copy == NULL) {
            free(copy);
            a->oom = true;
            return;
        }
        memset(&v[i], 0, sizeof v[i]);
        v[i].reason = copy;
        t->nreasons++;
        a->nreasons++;
    }
    dist_add(a, &t->reasons[i].blocked, sp->end_ns - sp->start_ns);
}

static void on_span_end(void *ud, const cdt_span *sp)
{
    acc *a = ud;
    cdt_stats *s = a->s;
    switch (sp->kind) {
    case CDT_SPAN_PAUSE:
        flush_all(a, sp->end_ns);
        a->paused = false;
        mmu_pause(a, sp->start_ns, sp->end_ns);
        break;
    case CDT_SPAN_REGION:
        add_named(a, &a->regions, &s->regions, &s->nregions, sp);
        break;
    case CDT_SPAN_USER_TASK:
        add_named(a, &a->users, &s->user_tasks, &s->nuser_tasks, sp);
        break;
    case CDT_SPAN_BLOCKED:
        if (!sp->unfinished)
            add_block(a, sp);
        break;
    default:
        break;
    }
}

static void on_task_create(void *ud, uint64_t task, uint64_t parent, const char *name, size_t len,
                           uint64_t thread, uint64_t stack, int64_t ns)
{
    acc *a = ud;
    (void)task, (void)parent, (void)name, (void)len, (void)thread, (void)stack, (void)ns;
    a->s->tasks_created++;
}

static void on_task_done(void *ud, const cdt_task_info *t)
{
    acc *a = ud;
    cdt_task_stats *ts = task_stats(a, t->name, t->name_len);
    if (ts == NULL)
        return;
    if (t->blocks > 0)
        ts->ever_blocked = true;
    if (!t->ended) {
        ts->unended++;
        return;
    }
    ts->count++;
    dist_add(a, &ts->exec, t->exec_ns);
    if (t->wait_ns >= 0)
        dist_add(a, &ts->wait, t->wait_ns);
    dist_add(a, &ts->blocked, t->blocked_ns);
}

static void on_gc_done(void *ud, const cdt_gc_info *g)
{
    acc *a = ud;
    cdt_gc_stats *gs = &a->s->gc;
    gs->count++;
    if (g->forced)
        gs->forced++;
    if (gs->pause.count == 0 || g->pause_ns > gs->pause.max)
        gs->max_pause_gc = g->gc;
    dist_add(a, &gs->pause, g->pause_ns);
    if (g->pause_ns > CDT_LINT_PAUSE_NS)
        gs->long_pauses++;
    gs->pause_total_ns += g->pause_ns;
    if (g->complete)
        dist_add(a, &gs->duration, g->end_ns - g->begin_ns);
    if (gs->count == 1)
        gs->heap_first_before = g->heap_before;
    if (g->heap_after >= 0) {
        if (a->prev_after >= 0 && g->heap_after > a->prev_after)
            gs->after_grew++;
        a->prev_after = g->heap_after;
        if (gs->with_after == 0)
            gs->heap_first_after = g->heap_after;
        gs->heap_last_after = g->heap_after;
        if (gs->heap_min_after < 0 || g->heap_after < gs->heap_min_after)
            gs->heap_min_after = g->heap_after;
        if (g->heap_after > gs->heap_max_after)
            gs->heap_max_after = g->heap_after;
        gs->with_after++;
    }
}

static void on_heap(void *ud, int64_t in_use, int64_t goal, int64_t ns)
{
    acc *a = ud;
    (void)goal, (void)ns;
    if (in_use > a->s->gc.heap_peak)
        a->s->gc.heap_peak = in_use;
}

static void on_end(void *ud, const cdt_model_end *e)
{
    acc *a = ud;
    cdt_stats *s = a->s;
    int64_t end = e->end_ns;
    s->duration_ns = end;
    s->threads = e->threads;
    s->lim = e->lim;
    flush_all(a, end);
    mmu_drop(a, INT64_MAX, end, true);
    for (int i = 0; i < CDT_MMU_WINDOWS; i++)
        if (end < mmu_windows[i])
            s->mmu[i] = -1;
    double busy = 0;
    for (uint64_t k = 0; k <= s->nworkers && s->parallel_ns != NULL; k++)
        busy += (double)k * (double)s->parallel_ns[k];
    s->avg_parallelism = end > 0 ? busy / (double)end : 0;
}

/* ---- entry points ------------------------------------------------------------ */

static int cmp_task(const void *x, const void *y)
{
    const cdt_task_stats *a = x, *b = y;
    /* busiest first: total execution time, then name */
    if (a->exec.sum != b->exec.sum)
        return a->exec.sum > b->exec.sum ? -1 : 1;
    return strcmp(a->name, b->name);
}

static int cmp_worker(const void *x, const void *y)
{
    const cdt_worker_stats *a = x, *b = y;
    return a->worker < b->worker ? -1 : a->worker > b->worker;
}

static int cmp_named(const void *x, const void *y)
{
    const cdt_named_dist *a = x, *b = y;
    if (a->latency.sum != b->latency.sum)
        return a->latency.sum > b->latency.sum ? -1 : 1;
    return strcmp(a->name, b->name);
}

int cdt_stats_compute(const char *path, cdt_stats **out)
{
    *out = NULL;
    cdt_stats *s = calloc(1, sizeof *s);
    acc a = {.s = s, .prev_after = -1};
    if (s == NULL) {
        cdt_error("out of memory");
        return CDT_FAIL;
    }
    s->gc.heap_first_before = s->gc.heap_first_after = s->gc.heap_last_after = -1;
    s->gc.heap_min_after = s->gc.heap_max_after = s->gc.heap_peak = -1;
    s->hist_rows_left = CDT_STATS_MAX_HIST_ROWS;
    for (int i = 0; i < CDT_MMU_WINDOWS; i++) {
        s->mmu_window_ns[i] = mmu_windows[i];
        s->mmu[i] = 1.0;
    }
    s->parallel_ns = calloc(1, sizeof *s->parallel_ns);
    cdt_model_cb cb = {.ud = &a,
                       .reader_untouched = true,
                       .span_begin = on_span_begin,
                       .span_end = on_span_end,
                       .worker_state = on_worker_state,
                       .task_create = on_task_create,
                       .task_done = on_task_done,
                       .gc_done = on_gc_done,
                       .heap = on_heap,
                       .end = on_end};
    int code = s->parallel_ns ? cdt_model_run(path, &cb, &s->reader, &s->header) : CDT_FAIL;
    if (code == CDT_OK && a.oom) {
        cdt_error("out of memory while computing the statistics");
        code = CDT_FAIL;
    }
    free(a.w_since);
    free(a.w_state);
    free(a.pauses);
    cdt_map_free(&a.windex);
    cdt_map_free(&a.tasks.index);
    cdt_map_free(&a.users.index);
    cdt_map_free(&a.regions.index);
    cdt_map_free(&a.tasks.by_ptr);
    cdt_map_free(&a.users.by_ptr);
    cdt_map_free(&a.regions.by_ptr);
    if (code != CDT_OK) {
        cdt_stats_free(s);
        return code;
    }
    s->events = s->reader.events;
    s->lost_events = s->reader.lost_events;
    s->lost_batches = s->reader.lost_batches;
    s->truncated = s->reader.truncated;
    /* qsort's array may not be NULL, even for 0 elements. */
    if (s->nworkers > 0) /* by id (parallel_ns is by count: unaffected) */
        qsort(s->workers, s->nworkers, sizeof *s->workers, cmp_worker);
    if (s->ntasks > 0)
        qsort(s->tasks, s->ntasks, sizeof *s->tasks, cmp_task);
    if (s->nuser_tasks > 0)
        qsort(s->user_tasks, s->nuser_tasks, sizeof *s->user_tasks, cmp_named);
    if (s->nregions > 0)
        qsort(s->regions, s->nregions, sizeof *s->regions, cmp_named);
    *out = s;
    return CDT_OK;
}

const cdt_task_stats *cdt_stats_task(const cdt_stats *s, const char *name)
{
    for (size_t i = 0; i < s->ntasks; i++)
        if (strcmp(s->tasks[i].name, name) == 0)
            return &s->tasks[i];
    return NULL;
}

static void free_named(cdt_named_dist *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        cdt_dist_free(&v[i].latency);
    }
    free(v);
}

void cdt_stats_free(cdt_stats *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->ntasks; i++) {
        cdt_task_stats *t = &s->tasks[i];
        free(t->name);
        cdt_dist_free(&t->exec);
        cdt_dist_free(&t->wait);
        cdt_dist_free(&t->blocked);
        for (size_t j = 0; j < t->nreasons; j++) {
            free(t->reasons[j].reason);
            cdt_dist_free(&t->reasons[j].blocked);
        }
        free(t->reasons);
    }
    free(s->tasks);
    free_named(s->user_tasks, s->nuser_tasks);
    free_named(s->regions, s->nregions);
    cdt_dist_free(&s->gc.pause);
    cdt_dist_free(&s->gc.duration);
    free(s->workers);
    free(s->parallel_ns);
    free(s);
}

/* viewer/cdebug-trace/view_query.c - the viewport queries of the view
 * index (the JSON answers of `cdebug-trace view`'s routes) over an index
 * view_index.c built. Costs: view_index.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdt.h"
#include "view_index_int.h"

/* ---- JSON ------------------------------------------------------------- */

/* Writes the name of a string ref as a JSON string. */
static void put_ref_str(const cdt_vindex *ix, FILE *f, uint64_t ref)
{
    size_t n;
    const char *s = name_of(ix, ref, &n);
    cdt_put_json_string(f, s, n);
}

/* "worker", "thread", "gc", "heap" or "user". */
static const char *track_kind_name(uint8_t k)
{
    static const char *const names[] = {[VT_WORKER] = "worker",
                                        [VT_THREAD] = "thread",
                                        [VT_GC] = "gc",
                                        [VT_HEAP] = "heap",
                                        [VT_USER] = "user"};
    return names[k];
}

/* Writes a track's display name ("Thread 3 (worker)") as a JSON string. */
static void put_track_name(FILE *f, const vtrack *t)
{
    static const char *const tk[] = {"main", "worker", "service", "registered", "pthread"};
    char buf[96];
    switch (t->kind) {
    case VT_WORKER:
        snprintf(buf, sizeof(buf), "Worker %" PRIu64, t->id);
        break;
    case VT_THREAD:
        if (t->thread_kind < sizeof tk / sizeof tk[0])
            snprintf(buf, sizeof(buf), "Thread %" PRIu64 " (%s)", t->id, tk[t->thread_kind]);
        else
            snprintf(buf, sizeof(buf), "Thread %" PRIu64, t->id);
        break;
    case VT_GC:
        snprintf(buf, sizeof(buf), "GC");
        break;
    case VT_HEAP:
        snprintf(buf, sizeof(buf), "Heap");
        break;
    default:
        snprintf(buf, sizeof(buf), "User tasks");
        break;
    }
    cdt_put_json_string(f, buf, strlen(buf));
}

int cdt_vindex_meta_json(const cdt_vindex *ix, FILE *f)
{
    fputs("{\"file\":", f);
    cdt_put_json_string(f, ix->path, strlen(ix->path));
    fprintf(f,
            ",\"duration_ns\":%" PRId64 ",\"events\":%" PRIu64 ",\"lost_events\":%" PRIu64
            ",\"truncated\":%s,\"spans\":%" PRIu64 ",\"dropped_spans\":%" PRIu64
            ",\"tasks\":%" PRIu64 ",\"collections\":%" PRIu64 ",\"workers\":%" PRIu64
            ",\"threads\":%" PRIu64 ",\"max_px\":%d",
            ix->end_ns, ix->rst.events, ix->rst.lost_events, ix->rst.truncated ? "true" : "false",
            ix->nrecs, ix->dropped, ix->ntasks, ix->ngcs, ix->workers, ix->threads, CDT_VIX_MAX_PX);
    cdt_limits lim;
    cdt_limits_init(&lim, &ix->lim, &ix->rst);
    fputs(",\"limits\":", f);
    cdt_limits_json(f, &lim);
    fprintf(f, ",\"heap\":{\"samples\":%" PRIu64, ix->nheap);
    if (ix->nheap > 0)
        fprintf(f, ",\"min\":%" PRId64 ",\"max\":%" PRId64 ",\"goal_max\":%" PRId64, ix->heap_min,
                ix->heap_max, ix->goal_max);
    fputs("},\"tracks\":[", f);
    for (uint32_t i = 0; i < ix->ntracks; i++) {
        const vtrack *t = &ix->tracks[i];
        fprintf(f, "%s{\"index\":%" PRIu32 ",\"kind\":\"%s\",\"id\":%" PRIu64 ",\"name\":",
                i ? "," : "", i, track_kind_name(t->kind), t->id);
        put_track_name(f, t);
        fprintf(f, ",\"lanes\":%" PRIu32 ",\"spans\":%" PRIu64 "}", track_depths(t), t->spans);
    }
    fputs("]}\n", f);
    return 0;
}

/* ---- viewport queries ------------------------------------------------- */

/* First position in [lo, hi) of `arr` (record numbers of one lane, or of
 * one class of it) whose record satisfies end > t or start >= t: monotone
 * along a lane, whose spans do not overlap. O(log(hi - lo)). */
static uint64_t lb_overlap_rec(const vrec *recs, const uint64_t *arr, uint64_t lo, uint64_t hi,
                               int64_t t)
{
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        const vrec *r = &recs[arr[mid]];
        if (r->end > t || r->start >= t)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* The same on the lane array. */
static uint64_t lb_overlap(const vent *a, uint64_t lo, uint64_t hi, int64_t t)
{
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (a[mid].end > t || a[mid].start >= t)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* First position >= lo in [lo, hi) of the lane array whose span starts at
 * or after t, galloping from lo: O(log distance). */
static uint64_t gallop_start(const vent *a, uint64_t lo, uint64_t hi, int64_t t)
{
    uint64_t step = 1, x = lo, y = lo;
    while (y < hi && a[y].start < t) {
        x = y + 1;
        y = lo + step;
        step *= 2;
    }
    if (y > hi)
        y = hi;
    while (x < y) {
        uint64_t mid = x + (y - x) / 2;
        if (a[mid].start < t)
            x = mid + 1;
        else
            y = mid;
    }
    return x;
}

typedef struct wide {
    int64_t start;
    uint64_t rec;
} wide;

/* qsort order of wide spans: by start. */
static int cmp_wide(const void *a, const void *b)
{
    const wide *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return x->rec < y->rec ? -1 : x->rec > y->rec;
}

/* Scratch of one query. */
typedef struct qbuf {
    wide *w;
    size_t n, cap;
} qbuf;

/* Appends v to the query scratch. Returns 0 or -ENOMEM. */
static int qbuf_push(qbuf *q, wide v)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 256;
        wide *w = realloc(q->w, cap * sizeof(*w));
        if (w == NULL)
            return -ENOMEM;
        q->w = w;
        q->cap = cap;
    }
    q->w[q->n++] = v;
    return 0;
}

static const char *const span_kind_names[] = {"task", "blocked", "region",   "spin",
                                              "gc",   "pause",   "gc_phase", "user_task"};

/* The JSON name of a cdt_span_kind. */
static const char *span_kind_name(uint8_t k)
{
    return k < sizeof(span_kind_names) / sizeof(span_kind_names[0]) ? span_kind_names[k] : "?";
}

/* Wide spans (>= P) of lane ln overlapping [S, E), sorted by start, in q. */
static int lane_wide(const cdt_vindex *ix, const vlane *ln, int64_t S, int64_t E, int64_t P,
                     qbuf *q, uint64_t *visits)
{
    const vrec *recs = ix->recs.map;
    const uint64_t *cidx = ix->cidx.map;
    q->n = 0;
    for (unsigned k = 0; k < ln->nclasses; k++) {
        const vclass *c = &ln->classes[k];
        /* class c holds [2^(c-1), 2^c): skip it when even its longest is
         * narrower than a pixel (class 0 always: zero length) */
        if (c->cls == 0 || (c->cls < 63 && ((int64_t)1 << c->cls) - 1 < P))
            continue;
        cdt_vix_pace(ix, visits, 2 * search_steps(c->n)); /* cidx and recs */
        uint64_t i = lb_overlap_rec(recs, cidx, c->off, c->off + c->n, S);
        for (; i < c->off + c->n; i++) {
            cdt_vix_pace(ix, visits, 1);
            const vrec *r = &recs[cidx[i]];
            if (r->start >= E)
                break;
            if (r->end > S && r->end - r->start >= P)
                if (qbuf_push(q, (wide){r->start, cidx[i]}) != 0)
                    return -ENOMEM;
        }
    }
    if (q->n > 1) /* qsort(NULL, 0) is undefined */
        qsort(q->w, q->n, sizeof(*q->w), cmp_wide);
    return 0;
}

int cdt_vindex_slices_json(const cdt_vindex *ix, int64_t S, int64_t E, unsigned px, FILE *f)
{
    if (S >= E || px < 1 || px > CDT_VIX_MAX_PX || S < -CDT_VIX_TIME_LIMIT ||
        E > CDT_VIX_TIME_LIMIT)
        return -EINVAL;
    int64_t width = E - S;
    int64_t P = width / px + (width % px != 0);
    const vrec *recs = ix->recs.map;
    const vent *lidx = ix->lidx.map;
    qbuf q = {0};
    uint64_t nslices = 0, nbusy = 0, nbusy_spans = 0, visits = 0;
    int rc = 0;
    fprintf(f,
            "{\"start\":%" PRId64 ",\"end\":%" PRId64 ",\"px\":%u,\"ns_per_px\":%" PRId64
            ",\"lanes\":[",
            S, E, px, P);
    bool first_lane = true;
    for (uint32_t t = 0; t < ix->ntracks; t++) {
        const vtrack *tr = &ix->tracks[t];
        for (uint32_t d = 0; d < tr->ndepth; d++) {
            if (tr->lanes[d] == NO_ID32)
                continue;
            const vlane *ln = &ix->lanes[tr->lanes[d]];
            if (ln->n == 0)
                continue;
            if ((rc = lane_wide(ix, ln, S, E, P, &q, &visits)) != 0)
                goto out;
            /* busy blocks: walk the lane from the first span that reaches
             * S, one galloping search per non-empty column or wide span */
            uint64_t n = ln->n, base = ln->off;
            cdt_vix_pace(ix, &visits, search_steps(n));
            uint64_t i = lb_overlap(lidx, base, base + n, S) - base;
            size_t w = 0;
            bool opened = false;
            uint64_t lane_busy = 0;
            while (i < n) {
                const vent *r = &lidx[base + i];
                if (r->start >= E)
                    break;
                if (i % 64 == 0) /* a walk along the lane: 64 entries, a page or less */
                    cdt_vix_pace(ix, &visits, 1);
                if (r->end - r->start >= P) { /* wide: drawn on its own */
                    i++;
                    continue;
                }
                int64_t col = r->start <= S ? 0 : (r->start - S) / P, bcol = col;
                uint64_t count = 0, firstref = r->rec;
                for (;;) {
                    int64_t t1 = S + (col + 1) * P;
                    if (t1 > E) /* the last column ends with the window */
                        t1 = E;
                    uint64_t k = gallop_start(lidx, base + i, base + n, t1) - base;
                    cdt_vix_pace(ix, &visits, 2 * search_steps(k - i));
                    /* wide spans among [i, k): those starting before t1 */
                    while (w < q.n && q.w[w].start < r->start)
                        w++;
                    size_t cw = 0;
                    while (w + cw < q.n && q.w[w + cw].start < t1)
                        cw++;
                    uint64_t small = k - i > cw ? k - i - cw : 1;
                    count += small;
                    w += cw;
                    i = k;
                    if (i >= n)
                        break;
                    r = &lidx[base + i];
                    if (r->start >= E || r->end - r->start >= P || (r->start - S) / P != col + 1)
                        break;
                    col++;
                }
                int64_t bs = S + bcol * P, be = S + (col + 1) * P;
                if (be > E)
                    be = E;
                if (!opened) {
                    fprintf(f, "%s{\"track\":%" PRIu32 ",\"depth\":%" PRIu32 ",\"busy\":[",
                            first_lane ? "" : ",", t, d);
                    first_lane = false;
                    opened = true;
                }
                fprintf(f, "%s[%" PRId64 ",%" PRId64 ",%" PRIu64 ",%" PRIu64 "]",
                        lane_busy ? "," : "", bs, be, count, firstref);
                lane_busy++;
                nbusy_spans += count;
            }
            nbusy += lane_busy;
            if (!opened && q.n == 0)
                continue;
            if (!opened) {
                fprintf(f, "%s{\"track\":%" PRIu32 ",\"depth\":%" PRIu32 ",\"busy\":[",
                        first_lane ? "" : ",", t, d);
                first_lane = false;
            }
            fputs("],\"slices\":[", f);
            for (size_t k = 0; k < q.n; k++) {
                cdt_vix_pace(ix, &visits, 1);
                const vrec *r = &recs[q.w[k].rec];
                fprintf(f, "%s[%" PRIu64 ",%" PRId64 ",%" PRId64 ",\"%s\",", k ? "," : "",
                        q.w[k].rec, r->start, r->end - r->start, span_kind_name(r->kind));
                put_ref_str(ix, f, r->name);
                putc(']', f);
            }
            nslices += q.n;
            fputs("]}", f);
        }
    }
    fprintf(f, "],\"nslices\":%" PRIu64 ",\"nbusy\":%" PRIu64 ",\"nbusy_spans\":%" PRIu64 "}\n",
            nslices, nbusy, nbusy_spans);
out:
    free(q.w);
    cdt_vix_trim(ix); /* what the query read leaves the resident set */
    return rc;
}

/* Binary search of a sorted (by first uint64) array of n `size`-byte
 * elements for key. NULL if absent. */
static const void *find_u64(const void *base, uint64_t n, size_t size, uint64_t key)
{
    const unsigned char *a = base;
    uint64_t lo = 0, hi = n;
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        uint64_t k = *(const uint64_t *)(const void *)(a + mid * size);
        if (k < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < n && *(const uint64_t *)(const void *)(a + lo * size) == key)
        return a + lo * size;
    return NULL;
}

/* ,"key":v, or null for a negative (unknown) v. */
static void put_opt_ns(FILE *f, const char *key, int64_t v)
{
    if (v < 0)
        fprintf(f, ",\"%s\":null", key);
    else
        fprintf(f, ",\"%s\":%" PRId64, key, v);
}

int cdt_vindex_slice_json(const cdt_vindex *ix, uint64_t ref, FILE *f)
{
    if (ref >= ix->nrecs)
        return -ENOENT;
    const vrec *r = &((const vrec *)ix->recs.map)[ref];
    const vlane *ln = &ix->lanes[r->lane];
    const vtrack *tr = &ix->tracks[ln->track];
    fprintf(f, "{\"ref\":%" PRIu64 ",\"kind\":\"%s\",\"name\":", ref, span_kind_name(r->kind));
    put_ref_str(ix, f, r->name);
    fprintf(f, ",\"id\":%" PRIu64 ",\"track\":%" PRIu32 ",\"track_name\":", r->id, ln->track);
    put_track_name(f, tr);
    fprintf(f,
            ",\"depth\":%" PRIu32 ",\"start_ns\":%" PRId64 ",\"end_ns\":%" PRId64
            ",\"duration_ns\":%" PRId64,
            ln->depth, r->start, r->end, r->end - r->start);
    if (r->thread != NO_ID32)
        fprintf(f, ",\"thread\":%" PRIu32, r->thread);
    else
        fputs(",\"thread\":null", f);
    if (r->worker != NO_ID32)
        fprintf(f, ",\"worker\":%" PRIu32, r->worker);
    else
        fputs(",\"worker\":null", f);
    fprintf(f, ",\"parent\":%" PRIu64, r->parent);
    if (r->kind == CDT_SPAN_BLOCKED) {
        fputs(",\"task_name\":", f);
        put_ref_str(ix, f, r->task_name);
    }
    fprintf(f, ",\"first_run\":%s,\"unfinished\":%s,\"from_snapshot\":%s,\"adjusted\":%s",
            r->flags & VR_FIRST_RUN ? "true" : "false", r->flags & VR_UNFINISHED ? "true" : "false",
            r->flags & VR_SNAPSHOT ? "true" : "false", r->flags & VR_ADJUSTED ? "true" : "false");
    const vtask *t = NULL;
    const vgc *g = NULL;
    if (r->kind == CDT_SPAN_TASK || r->kind == CDT_SPAN_BLOCKED)
        t = find_u64(ix->tasks.map, ix->ntasks, sizeof(vtask), r->id);
    if (r->kind == CDT_SPAN_GC || r->kind == CDT_SPAN_PAUSE || r->kind == CDT_SPAN_GC_PHASE)
        g = find_u64(ix->gcs.map, ix->ngcs, sizeof(vgc), r->id);
    if (t != NULL) {
        fprintf(f, ",\"task\":{\"id\":%" PRIu64 ",\"parent\":%" PRIu64 ",\"name\":", t->id,
                t->parent);
        put_ref_str(ix, f, t->name);
        put_opt_ns(f, "create_ns", t->create_ns);
        put_opt_ns(f, "first_start_ns", t->first_start_ns);
        put_opt_ns(f, "end_ns", t->end_ns);
        put_opt_ns(f, "exec_ns", t->exec_ns);
        put_opt_ns(f, "blocked_ns", t->blocked_ns);
        put_opt_ns(f, "wait_ns", t->wait_ns);
        fprintf(f, ",\"blocks\":%" PRIu64 ",\"create_stack\":%" PRIu64 ",\"ended\":%s}", t->blocks,
                t->create_stack, t->ended ? "true" : "false");
    }
    if (g != NULL) {
        fprintf(f,
                ",\"gc\":{\"gc\":%" PRIu64 ",\"forced\":%s,\"complete\":%s,\"begin_ns\":%" PRId64
                ",\"end_ns\":%" PRId64 ",\"pause_ns\":%" PRId64 ",\"stop_ns\":%" PRId64
                ",\"mark_ns\":%" PRId64 ",\"reclaim_ns\":%" PRId64,
                g->gc, g->flags & 1 ? "true" : "false", g->flags & 2 ? "true" : "false",
                g->begin_ns, g->end_ns, g->pause_ns, g->stop_ns, g->mark_ns, g->reclaim_ns);
        put_opt_ns(f, "heap_before", g->heap_before);
        put_opt_ns(f, "heap_after", g->heap_after);
        put_opt_ns(f, "goal_after", g->goal_after);
        fprintf(f, ",\"thread\":%" PRIu64 "}", g->thread);
    }
    fputs("}\n", f);
    return 0;
}

/* ---- heap counter ----------------------------------------------------- */

/* Item i of heap level lev: 0 the samples, L >= 1 pyramid level L-1. */
static vminmax heap_item(const cdt_vindex *ix, unsigned lev, uint64_t i)
{
    if (lev == 0) {
        const vheap *h = ix->heap.map;
        return (vminmax){h[i].in_use, h[i].in_use};
    }
    return ((const vminmax *)ix->hpyr.map)[ix->hlev_off[lev - 1] + i];
}

/* Widens m to include v. */
static void minmax_take(vminmax *m, vminmax v)
{
    if (v.min < m->min)
        m->min = v.min;
    if (v.max > m->max)
        m->max = v.max;
}

/* Min and max of in_use over samples [a, b) (a < b), through the pyramid:
 * at most 2 * 15 items per level. */
static vminmax heap_range(const cdt_vindex *ix, uint64_t a, uint64_t b)
{
    vminmax m = {INT64_MAX, INT64_MIN};
    unsigned lev = 0;
    while (a < b) {
        if (lev >= ix->hlevels || b - a < HEAP_FAN) {
            for (uint64_t i = a; i < b; i++)
                minmax_take(&m, heap_item(ix, lev, i));
            break;
        }
        while (a < b && a % HEAP_FAN != 0)
            minmax_take(&m, heap_item(ix, lev, a++));
        while (a < b && b % HEAP_FAN != 0)
            minmax_take(&m, heap_item(ix, lev, --b));
        a /= HEAP_FAN;
        b /= HEAP_FAN;
        lev++;
    }
    return m;
}

int cdt_vindex_heap_json(const cdt_vindex *ix, int64_t S, int64_t E, unsigned px, FILE *f)
{
    if (S >= E || px < 1 || px > CDT_VIX_MAX_PX || S < -CDT_VIX_TIME_LIMIT ||
        E > CDT_VIX_TIME_LIMIT)
        return -EINVAL;
    int64_t width = E - S;
    int64_t P = width / px + (width % px != 0);
    const vheap *h = ix->heap.map;
    uint64_t n = ix->nheap, lo = 0, hi = n;
    while (lo < hi) { /* first sample at or after S */
        uint64_t mid = lo + (hi - lo) / 2;
        if (h[mid].ns < S)
            lo = mid + 1;
        else
            hi = mid;
    }
    fprintf(f, "{\"start\":%" PRId64 ",\"end\":%" PRId64 ",\"px\":%u,\"ns_per_px\":%" PRId64, S, E,
            px, P);
    if (lo > 0)
        fprintf(f, ",\"before\":[%" PRId64 ",%" PRId64 ",%" PRId64 "]", h[lo - 1].ns,
                h[lo - 1].in_use, h[lo - 1].goal);
    else
        fputs(",\"before\":null", f);
    fputs(",\"points\":[", f);
    uint64_t i = lo, npoints = 0, visits = 0;
    while (i < n && h[i].ns < E) {
        int64_t col = (h[i].ns - S) / P, t1 = S + (col + 1) * P;
        uint64_t a = i, b = i + 1, step = 1;
        while (b < n && h[b].ns < t1) { /* gallop to the first sample >= t1 */
            a = b;
            b = i + 1 + step;
            step *= 2;
        }
        if (b > n)
            b = n;
        while (a < b) {
            uint64_t mid = a + (b - a) / 2;
            if (h[mid].ns < t1)
                a = mid + 1;
            else
                b = mid;
        }
        cdt_vix_pace(ix, &visits, 2 * search_steps(a - i) + 2 * HEAP_LEVELS);
        vminmax m = heap_range(ix, i, a);
        fprintf(f, "%s[%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "]",
                npoints ? "," : "", S + col * P, m.min, m.max, h[a - 1].in_use, h[a - 1].goal);
        npoints++;
        i = a;
    }
    fprintf(f, "],\"npoints\":%" PRIu64 "}\n", npoints);
    cdt_vix_trim(ix); /* what the query read leaves the resident set */
    return 0;
}

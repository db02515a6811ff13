/* viewer/cdebug-trace/view_index.c - the span index behind `cdebug-trace
 * view`: built in one pass of the model into temporary files
 * (view_store.c), then sorted, mapped and given its lane, class and heap
 * arrays; view_query.c answers the viewport queries. Layout and costs:
 * view_index.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hash.h"
#include "cdt.h"
#include "view_index_int.h"

/* ---- keeping the mapped index out of the resident set -----------------
 *
 * The index lives in mapped files, larger than memory for a large trace;
 * a page a pass or a query reads stays mapped, and counts in the resident
 * set, until the kernel needs the memory back. To bound the viewer's RSS
 * whatever the index size, every VIX_CHECK_EVERY page-touching accesses
 * (a binary search counts its steps) cdt_vix_pace() reads the process's
 * file-backed resident memory (statm) and, past VIX_MAPPED_MAX, drops
 * every mapped page of the index (cdt_vf_trim): the pages stay in the page
 * cache, so mapping them again costs a minor fault. The check is on the
 * resident memory rather than on a count of pages, because one read fault
 * may map many pages (fault-around maps up to 64 KiB, a recent kernel
 * maps a whole large folio of the page cache, up to 2 MiB). */

#define VIX_MAPPED_MAX  (64u << 20)
#define VIX_CHECK_EVERY 64

/* File-backed resident memory of the process, in bytes (statm's third
 * field: mapped file pages, the program's text and libraries included); 0
 * if unknown. Two system calls and an open. */
static uint64_t mapped_resident(void)
{
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    unsigned long long size, resident, shared;
    if (sscanf(buf, "%llu %llu %llu", &size, &resident, &shared) != 3)
        return 0;
    return (uint64_t)shared * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* Counts k page-touching accesses on *acc (the caller's: one per pass or
 * query, so concurrent queries need no lock); every VIX_CHECK_EVERY,
 * trims the mapped index if it holds more than VIX_MAPPED_MAX. */
void cdt_vix_pace(const cdt_vindex *ix, uint64_t *acc, uint64_t k)
{
    *acc += k;
    if (*acc < VIX_CHECK_EVERY)
        return;
    *acc = 0;
    if (mapped_resident() > VIX_MAPPED_MAX)
        cdt_vix_trim(ix);
}

/* Remembers the first error of the pass (the callbacks cannot return one). */
static void set_err(cdt_vindex *ix, int rc, const char *what)
{
    if (ix->err == 0 && rc < 0) {
        ix->err = rc;
        ix->err_what = what;
    }
}

/* ---- names ------------------------------------------------------------ */

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h | 1; /* never 0: 0 marks an empty slot */
}

/* The ref of name s (cut to CDT_VIX_NAME_MAX bytes), appending it to the
 * string file unless the cache knows it. The cache stops growing when full
 * (NAME_SLOTS * 3/4 names or CDT_VIX_NAME_CACHE_BYTES of text): later
 * distinct names are appended each time, which costs disk, not memory. */
static uint64_t intern(cdt_vindex *ix, const char *s, size_t n)
{
    if (s == NULL || n == 0)
        return 0;
    if (n > CDT_VIX_NAME_MAX)
        n = CDT_VIX_NAME_MAX;
    uint64_t h = fnv1a(s, n);
    uint32_t mask = NAME_SLOTS - 1, i = (uint32_t)h & mask;
    if (ix->names != NULL) {
        for (;; i = (i + 1) & mask) {
            vname *e = &ix->names[i];
            if (e->hash == 0)
                break;
            if (e->hash == h && (e->ref & 1023) == n && memcmp(ix->arena + e->text, s, n) == 0)
                return e->ref;
        }
    }
    uint64_t ref = ix->strs.len << 10 | n;
    int rc = cdt_vf_append(&ix->strs, s, n);
    if (rc != 0) {
        set_err(ix, rc, "writing the name file");
        return 0;
    }
    if (ix->names == NULL || ix->nnames >= NAME_SLOTS / 4 * 3 ||
        ix->arena_len + n > CDT_VIX_NAME_CACHE_BYTES)
        return ref;
    if (ix->arena_len + n > ix->arena_cap) {
        size_t cap = ix->arena_cap ? ix->arena_cap * 2 : 64u << 10;
        while (cap < ix->arena_len + n)
            cap *= 2;
        if (cap > CDT_VIX_NAME_CACHE_BYTES)
            cap = CDT_VIX_NAME_CACHE_BYTES;
        char *a = realloc(ix->arena, cap);
        if (a == NULL)
            return ref; /* not cached: still correct */
        ix->arena = a;
        ix->arena_cap = cap;
    }
    memcpy(ix->arena + ix->arena_len, s, n);
    ix->names[i] = (vname){.hash = h, .ref = ref, .text = (uint32_t)ix->arena_len};
    ix->arena_len += n;
    ix->nnames++;
    return ref;
}

/* ---- tracks and lanes ------------------------------------------------- */

/* Home slot of track (kind, id) in the track map. */
static uint32_t tmap_slot(const cdt_vindex *ix, uint8_t kind, uint64_t id)
{
    return (uint32_t)cd__mix64(id * 8 + kind) & (ix->tmap_cap - 1);
}

/* The track (kind, id), created if new. NO_ID32 on out of memory. O(1)
 * expected. */
static uint32_t track_get(cdt_vindex *ix, uint8_t kind, uint64_t id)
{
    if (ix->tmap != NULL) {
        for (uint32_t i = tmap_slot(ix, kind, id);; i = (i + 1) & (ix->tmap_cap - 1)) {
            uint32_t t = ix->tmap[i];
            if (t == 0)
                break;
            if (ix->tracks[t - 1].kind == kind && ix->tracks[t - 1].id == id)
                return t - 1;
        }
    }
    if (kind == VT_THREAD && ix->nthread_tracks >= CDT_VIX_MAX_THREAD_TRACKS)
        return NO_ID32; /* not an error: the caller counts what is dropped */
    if ((uint64_t)(ix->ntracks + 1) * 2 > ix->tmap_cap) { /* rehash at 1/2 load */
        uint32_t cap = ix->tmap_cap ? ix->tmap_cap * 2 : 64;
        uint32_t *m = calloc(cap, sizeof(*m));
        if (m == NULL) {
            set_err(ix, -ENOMEM, "out of memory");
            return NO_ID32;
        }
        free(ix->tmap);
        ix->tmap = m;
        ix->tmap_cap = cap;
        for (uint32_t t = 0; t < ix->ntracks; t++) {
            uint32_t i = tmap_slot(ix, ix->tracks[t].kind, ix->tracks[t].id);
            while (m[i] != 0)
                i = (i + 1) & (cap - 1);
            m[i] = t + 1;
        }
    }
    if (ix->ntracks == ix->tcap) {
        uint32_t cap = ix->tcap ? ix->tcap * 2 : 16;
        vtrack *t = realloc(ix->tracks, cap * sizeof(*t));
        if (t == NULL) {
            set_err(ix, -ENOMEM, "out of memory");
            return NO_ID32;
        }
        ix->tracks = t;
        ix->tcap = cap;
    }
    uint32_t t = ix->ntracks++;
    ix->tracks[t] = (vtrack){.kind = kind, .thread_kind = 255, .id = id};
    if (kind == VT_THREAD)
        ix->nthread_tracks++;
    uint32_t i = tmap_slot(ix, kind, id);
    while (ix->tmap[i] != 0)
        i = (i + 1) & (ix->tmap_cap - 1);
    ix->tmap[i] = t + 1;
    return t;
}

/* The lane of track t at depth d, created if new. NO_ID32 on error. */
static uint32_t lane_get(cdt_vindex *ix, uint32_t t, unsigned d)
{
    vtrack *tr = &ix->tracks[t];
    if (d < tr->ndepth && tr->lanes[d] != NO_ID32)
        return tr->lanes[d];
    if (d >= tr->ndepth) {
        uint32_t nd = tr->ndepth ? tr->ndepth : 2;
        while (nd <= d)
            nd *= 2;
        uint32_t *l = realloc(tr->lanes, nd * sizeof(*l));
        if (l == NULL) {
            set_err(ix, -ENOMEM, "out of memory");
            return NO_ID32;
        }
        for (uint32_t k = tr->ndepth; k < nd; k++)
            l[k] = NO_ID32;
        tr->lanes = l;
        tr->ndepth = nd;
    }
    if (ix->nlanes == ix->lcap) {
        uint32_t cap = ix->lcap ? ix->lcap * 2 : 32;
        vlane *l = realloc(ix->lanes, cap * sizeof(*l));
        if (l == NULL) {
            set_err(ix, -ENOMEM, "out of memory");
            return NO_ID32;
        }
        ix->lanes = l;
        ix->lcap = cap;
    }
    uint32_t id = ix->nlanes++;
    ix->lanes[id] = (vlane){.track = t, .depth = d, .last_end = INT64_MIN};
    tr->lanes[d] = id;
    return id;
}

/* ---- the pass: model callbacks ---------------------------------------- */

static void on_event(void *ud, const cd_tr_event *ev, int64_t ns)
{
    cdt_vindex *ix = ud;
    (void)ns;
    if (ix->err != 0)
        return;
    uint64_t thread, kind;
    if (ev->type == CD_TR_THREAD_START && ev->nargs >= 1) {
        thread = ev->thread;
        kind = ev->args[0];
    } else if (ev->type == CD_TR_STATE_THREAD && ev->nargs >= 2) {
        thread = ev->args[0];
        kind = ev->args[1];
    } else {
        return;
    }
    uint32_t t = track_get(ix, VT_THREAD, thread);
    if (t != NO_ID32)
        ix->tracks[t].thread_kind = kind <= 4 ? (uint8_t)kind : 255; /* 4: pthread (runtime/thread.h) */
}

/* User tasks: the lowest free row while they run. O(rows). */
static void on_span_begin(void *ud, const cdt_span *s)
{
    cdt_vindex *ix = ud;
    if (ix->err != 0 || s->track_kind != CDT_TRACK_USER)
        return;
    for (unsigned r = 0; r < CDT_VIX_MAX_USER_ROWS; r++)
        if (!ix->user_row_used[r]) {
            ix->user_row_used[r] = true;
            ix->user_row_id[r] = s->track;
            return;
        }
}

/* ns within [-CDT_VIX_TIME_LIMIT, CDT_VIX_TIME_LIMIT]. */
static int64_t clamp_ns(int64_t ns)
{
    return ns < -CDT_VIX_TIME_LIMIT  ? -CDT_VIX_TIME_LIMIT
           : ns > CDT_VIX_TIME_LIMIT ? CDT_VIX_TIME_LIMIT
                                     : ns;
}

/* A thread or worker id in 32 bits, NO_ID32 if it does not fit. */
static uint32_t id32(uint64_t v)
{
    return v < NO_ID32 ? (uint32_t)v : NO_ID32;
}

/* A span closed: one record on its lane. Spans arrive in end order, so
 * each lane's records are appended in time order. O(1) expected. */
static void on_span_end(void *ud, const cdt_span *s)
{
    cdt_vindex *ix = ud;
    if (ix->err != 0)
        return;
    uint8_t kind;
    uint64_t id = s->track;
    unsigned depth = s->depth;
    switch (s->track_kind) {
    case CDT_TRACK_WORKER:
        kind = VT_WORKER;
        break;
    case CDT_TRACK_THREAD:
        kind = VT_THREAD;
        break;
    case CDT_TRACK_GC:
        kind = VT_GC;
        id = 0;
        break;
    case CDT_TRACK_USER: {
        kind = VT_USER;
        id = 0;
        unsigned r = 0;
        while (r < CDT_VIX_MAX_USER_ROWS &&
               !(ix->user_row_used[r] && ix->user_row_id[r] == s->track))
            r++;
        if (r == CDT_VIX_MAX_USER_ROWS) { /* more than the rows at once */
            ix->dropped++;
            return;
        }
        ix->user_row_used[r] = false;
        depth = r;
        break;
    }
    default:
        ix->dropped++;
        return;
    }
    if (depth >= CDT_VIX_MAX_DEPTH) {
        ix->dropped++;
        return;
    }
    uint32_t t = track_get(ix, kind, id);
    if (t == NO_ID32) { /* a thread past CDT_VIX_MAX_THREAD_TRACKS (or an error) */
        ix->dropped++;
        return;
    }
    uint32_t l = lane_get(ix, t, depth);
    if (l == NO_ID32)
        return;
    vlane *ln = &ix->lanes[l];
    vrec r = {
        .start = s->start_ns,
        .end = s->end_ns,
        .id = s->id,
        .parent = s->parent,
        .thread = id32(s->thread),
        .worker = s->worker == CDT_NO_WORKER ? NO_ID32 : id32(s->worker),
        .lane = l,
        .kind = (uint8_t)s->kind,
        .flags = (uint8_t)((s->first_run ? VR_FIRST_RUN : 0) | (s->unfinished ? VR_UNFINISHED : 0) |
                           (s->from_snapshot ? VR_SNAPSHOT : 0)),
    };
    /* Hostile times (the reader saturates ticks to the int64 range) are
     * clamped, so that durations and query arithmetic cannot overflow. */
    r.start = clamp_ns(r.start);
    r.end = clamp_ns(r.end);
    /* The queries binary-search a lane by start and by end, so a lane must
     * stay ordered: spans of one lane never overlap in a well-formed trace,
     * but events the reader had to deliver out of order (stats.forced) can
     * make them; such a span is moved after its predecessor and flagged. */
    if (r.start < ln->last_end) {
        r.start = ln->last_end;
        r.flags |= VR_ADJUSTED;
    }
    if (r.end < r.start) {
        r.end = r.start;
        r.flags |= VR_ADJUSTED;
    }
    r.name = intern(ix, s->name, s->name_len);
    if (s->kind == CDT_SPAN_BLOCKED)
        r.task_name = intern(ix, s->task_name, s->task_name_len);
    int rc = cdt_vf_append(&ix->recs, &r, sizeof(r));
    if (rc != 0) {
        set_err(ix, rc, "writing the span file");
        return;
    }
    ln->last_end = r.end;
    ln->n++;
    ix->tracks[t].spans++;
    ix->nrecs++;
}

/* A task ended (or the trace did): its summary, for the details panel. */
static void on_task_done(void *ud, const cdt_task_info *ti)
{
    cdt_vindex *ix = ud;
    if (ix->err != 0)
        return;
    vtask t = {
        .id = ti->id,
        .parent = ti->parent,
        .create_ns = ti->create_ns,
        .first_start_ns = ti->first_start_ns,
        .end_ns = ti->end_ns,
        .exec_ns = ti->exec_ns,
        .blocked_ns = ti->blocked_ns,
        .wait_ns = ti->wait_ns,
        .blocks = ti->blocks,
        .create_stack = ti->create_stack,
        .ended = ti->ended,
    };
    t.name = intern(ix, ti->name, ti->name_len);
    int rc = cdt_vf_append(&ix->tasks, &t, sizeof(t));
    if (rc != 0)
        set_err(ix, rc, "writing the task file");
    else
        ix->ntasks++;
}

/* A collection ended: its summary, for the details panel. */
static void on_gc_done(void *ud, const cdt_gc_info *g)
{
    cdt_vindex *ix = ud;
    if (ix->err != 0)
        return;
    vgc v = {
        .gc = g->gc,
        .begin_ns = g->begin_ns,
        .end_ns = g->end_ns,
        .pause_ns = g->pause_ns,
        .stop_ns = g->stop_ns,
        .mark_ns = g->mark_ns,
        .reclaim_ns = g->reclaim_ns,
        .heap_before = g->heap_before,
        .heap_after = g->heap_after,
        .goal_after = g->goal_after,
        .thread = g->thread,
        .flags = (g->forced ? 1u : 0u) | (g->complete ? 2u : 0u),
    };
    int rc = cdt_vf_append(&ix->gcs, &v, sizeof(v));
    if (rc != 0)
        set_err(ix, rc, "writing the collection file");
    else
        ix->ngcs++;
}

/* A HEAP sample: one point of the counter. */
static void on_heap(void *ud, int64_t in_use, int64_t goal, int64_t ns)
{
    cdt_vindex *ix = ud;
    if (ix->err != 0)
        return;
    vheap h = {.ns = clamp_ns(ns), .in_use = in_use, .goal = goal};
    /* kept in time order for the binary searches (see on_span_end) */
    if (ix->nheap > 0 && h.ns < ix->heap_last_ns)
        h.ns = ix->heap_last_ns;
    ix->heap_last_ns = h.ns;
    int rc = cdt_vf_append(&ix->heap, &h, sizeof(h));
    if (rc != 0)
        set_err(ix, rc, "writing the heap file");
    else
        ix->nheap++;
}

/* Events the recorder dropped (meta reports the reader's total too). */
static void on_lost(void *ud, uint64_t thread, uint64_t events, uint64_t batches, int64_t ns)
{
    cdt_vindex *ix = ud;
    (void)thread;
    (void)batches;
    (void)ns;
    ix->lost_events += events;
}

/* The pass ended: the trace's end and how many workers and threads. */
static void on_end(void *ud, const cdt_model_end *e)
{
    cdt_vindex *ix = ud;
    ix->end_ns = clamp_ns(e->end_ns);
    ix->workers = e->workers;
    ix->threads = e->threads;
    ix->lim = e->lim;
}

/* A worker's first state: its track exists from then on, even if it never
 * runs a task (the model reports at most CDT_MODEL_MAX_WORKERS of them). */
static void on_worker_state(void *ud, uint64_t worker, cdt_worker_state old, cdt_worker_state new_,
                            int64_t ns)
{
    cdt_vindex *ix = ud;
    (void)old, (void)new_, (void)ns;
    if (ix->err == 0)
        track_get(ix, VT_WORKER, worker);
}

/* ---- after the pass --------------------------------------------------- */

/* Duration class: 0 for zero length, else c with dur in [2^(c-1), 2^c). */
static unsigned dur_class(int64_t dur)
{
    return dur <= 0 ? 0 : (unsigned)(64 - __builtin_clzll((unsigned long long)dur));
}

/* Order of the kinds of track on the page. */
static int display_rank(const vtrack *t)
{
    static const int rank[] = {
        [VT_WORKER] = 0, [VT_THREAD] = 1, [VT_GC] = 2, [VT_HEAP] = 3, [VT_USER] = 4};
    return rank[t->kind];
}

/* qsort order of tracks: by kind (display_rank), then id. */
static int cmp_track(const void *a, const void *b)
{
    const vtrack *x = a, *y = b;
    int rx = display_rank(x), ry = display_rank(y);
    if (rx != ry)
        return rx < ry ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* Sorts the tracks in display order (workers, threads, GC, heap, user
 * tasks; by id) and renumbers the lanes' references. */
static int sort_tracks(cdt_vindex *ix)
{
    if (ix->nheap > 0 && track_get(ix, VT_HEAP, 0) == NO_ID32)
        return ix->err;
    uint32_t n = ix->ntracks;
    uint32_t *perm = malloc((n ? n : 1) * sizeof(*perm)); /* old -> new */
    struct tmp {
        vtrack t;
        uint32_t old;
    } *tmp = malloc((n ? n : 1) * sizeof(*tmp));
    if (perm == NULL || tmp == NULL) {
        free(perm);
        free(tmp);
        return -ENOMEM;
    }
    for (uint32_t i = 0; i < n; i++)
        tmp[i] = (struct tmp){.t = ix->tracks[i], .old = i};
    /* vtrack is first in struct tmp, so cmp_track compares the right part */
    qsort(tmp, n, sizeof(*tmp), cmp_track);
    for (uint32_t i = 0; i < n; i++) {
        ix->tracks[i] = tmp[i].t;
        perm[tmp[i].old] = i;
    }
    for (uint32_t l = 0; l < ix->nlanes; l++)
        ix->lanes[l].track = perm[ix->lanes[l].track];
    free(perm);
    free(tmp);
    free(ix->tmap); /* not needed for queries */
    ix->tmap = NULL;
    ix->tmap_cap = 0;
    return 0;
}

/* The lane array (record numbers grouped by lane, in time order) and the
 * class array (grouped by lane then duration class). Two sequential passes
 * over the records plus one per lane. */
static int build_arrays(cdt_vindex *ix)
{
    int rc;
    uint64_t off = 0;
    for (uint32_t l = 0; l < ix->nlanes; l++) {
        ix->lanes[l].off = off;
        off += ix->lanes[l].n;
    }
    if ((rc = cdt_vf_open(&ix->lidx)) != 0 ||
        (rc = cdt_vf_alloc(&ix->lidx, ix->nrecs * sizeof(vent))) != 0)
        return rc;
    if ((rc = cdt_vf_open(&ix->cidx)) != 0 || (rc = cdt_vf_alloc(&ix->cidx, ix->nrecs * 8)) != 0)
        return rc;
    if (ix->nrecs == 0)
        return 0;
    uint64_t *cursor = malloc(ix->nlanes * sizeof(*cursor));
    if (cursor == NULL)
        return -ENOMEM;
    for (uint32_t l = 0; l < ix->nlanes; l++)
        cursor[l] = ix->lanes[l].off;
    const vrec *recs = ix->recs.map;
    vent *lidx = ix->lidx.map;
    uint64_t *cidx = ix->cidx.map;
    uint64_t acc = 0;                          /* cdt_vix_pace() */
    for (uint64_t i = 0; i < ix->nrecs; i++) { /* stable: keeps each lane in end order */
        lidx[cursor[recs[i].lane]++] = (vent){recs[i].start, recs[i].end, i};
        if (i % 64 == 0) /* a page of records, and one page per lane at most */
            cdt_vix_pace(ix, &acc, 2);
    }
    free(cursor);

    for (uint32_t l = 0; l < ix->nlanes; l++) {
        vlane *ln = &ix->lanes[l];
        uint64_t count[64] = {0}, pos[64];
        for (uint64_t k = 0; k < ln->n; k++) {
            const vent *e = &lidx[ln->off + k];
            count[dur_class(e->end - e->start)]++;
            if (k % 128 == 0)
                cdt_vix_pace(ix, &acc, 1);
        }
        unsigned nc = 0;
        uint64_t o = ln->off;
        for (unsigned c = 0; c < 64; c++) {
            pos[c] = o;
            o += count[c];
            nc += count[c] > 0;
        }
        ln->classes = calloc(nc ? nc : 1, sizeof(*ln->classes));
        if (ln->classes == NULL)
            return -ENOMEM;
        for (unsigned c = 0; c < 64; c++)
            if (count[c] > 0)
                ln->classes[ln->nclasses++] =
                    (vclass){.off = pos[c], .n = count[c], .cls = (uint8_t)c};
        for (uint64_t k = 0; k < ln->n; k++) {
            const vent *e = &lidx[ln->off + k];
            cidx[pos[dur_class(e->end - e->start)]++] = e->rec;
            if (k % 128 == 0)
                cdt_vix_pace(ix, &acc, 2);
        }
    }
    cdt_vix_trim(ix);
    return 0;
}

/* The min/max pyramid over the heap samples: level 1 summarises 16
 * samples, level k 16 items of level k-1. Written to one file. */
static int build_heap(cdt_vindex *ix)
{
    int rc;
    if ((rc = cdt_vf_open(&ix->hpyr)) != 0)
        return rc;
    const vheap *h = ix->heap.map;
    ix->heap_min = INT64_MAX;
    ix->heap_max = INT64_MIN;
    ix->goal_max = 0;
    uint64_t acc = 0; /* cdt_vix_pace() */
    for (uint64_t i = 0; i < ix->nheap; i++) {
        if (i % 128 == 0)
            cdt_vix_pace(ix, &acc, 1);
        if (h[i].in_use < ix->heap_min)
            ix->heap_min = h[i].in_use;
        if (h[i].in_use > ix->heap_max)
            ix->heap_max = h[i].in_use;
        if (h[i].goal > ix->goal_max)
            ix->goal_max = h[i].goal;
    }
    uint64_t prev_n = ix->nheap, written = 0, prev_off = 0;
    unsigned lev = 0;
    while (prev_n > 1 && lev < HEAP_LEVELS) {
        uint64_t n = (prev_n + HEAP_FAN - 1) / HEAP_FAN;
        ix->hlev_off[lev] = written;
        for (uint64_t j = 0; j < n; j++) {
            vminmax m = {INT64_MAX, INT64_MIN}, blk[HEAP_FAN];
            uint64_t first = j * HEAP_FAN,
                     cnt = prev_n - first < HEAP_FAN ? prev_n - first : HEAP_FAN;
            if (lev == 0) {
                if (first % 128 == 0)
                    cdt_vix_pace(ix, &acc, 1);
                for (uint64_t k = 0; k < cnt; k++)
                    blk[k] = (vminmax){h[first + k].in_use, h[first + k].in_use};
            } else {
                /* the previous level is in the file already (flushed
                 * below); it is 1/16 of the size of the one before */
                size_t want = (size_t)cnt * sizeof(vminmax);
                if (pread(ix->hpyr.fd, blk, want, (off_t)((prev_off + first) * sizeof(vminmax))) !=
                    (ssize_t)want)
                    return errno ? -errno : -EIO;
            }
            for (uint64_t k = 0; k < cnt; k++) {
                if (blk[k].min < m.min)
                    m.min = blk[k].min;
                if (blk[k].max > m.max)
                    m.max = blk[k].max;
            }
            if ((rc = cdt_vf_append(&ix->hpyr, &m, sizeof(m))) != 0)
                return rc;
        }
        if (ix->hpyr.blen > 0 && (rc = cdt_vf_flush(&ix->hpyr)) != 0)
            return rc;
        prev_off = written;
        written += n;
        prev_n = n;
        lev++;
    }
    ix->hlevels = lev;
    cdt_vix_trim(ix);
    return cdt_vf_map(&ix->hpyr, false);
}

/* After the pass: maps the files, sorts tasks and collections by id,
 * builds the lane and class arrays and the heap pyramid. Returns 0 or a
 * negative errno. O(spans + tasks log tasks). */
static int finish(cdt_vindex *ix)
{
    int rc;
    free(ix->names);
    ix->names = NULL;
    free(ix->arena);
    ix->arena = NULL;
    if (ix->err != 0)
        return ix->err;
    if ((rc = sort_tracks(ix)) != 0)
        return rc;
    if ((rc = cdt_vf_sort(&ix->tasks, sizeof(vtask))) != 0 ||
        (rc = cdt_vf_sort(&ix->gcs, sizeof(vgc))) != 0)
        return rc;
    if ((rc = cdt_vf_map(&ix->recs, false)) != 0 || (rc = cdt_vf_map(&ix->strs, false)) != 0 ||
        (rc = cdt_vf_map(&ix->tasks, false)) != 0 || (rc = cdt_vf_map(&ix->gcs, false)) != 0 ||
        (rc = cdt_vf_map(&ix->heap, false)) != 0)
        return rc;
    if ((rc = build_arrays(ix)) != 0)
        return rc;
    return build_heap(ix);
}

/* Drops every mapped page of the index (cdt_vf_trim). */
void cdt_vix_trim(const cdt_vindex *ix)
{
    const cdt_vfile *files[] = {&ix->recs, &ix->strs, &ix->tasks, &ix->gcs,
                                &ix->heap, &ix->lidx, &ix->cidx,  &ix->hpyr};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        cdt_vf_trim(files[i]);
}

void cdt_vindex_free(cdt_vindex *ix)
{
    if (ix == NULL)
        return;
    cdt_vfile *files[] = {&ix->recs, &ix->strs, &ix->tasks, &ix->gcs,
                          &ix->heap, &ix->lidx, &ix->cidx,  &ix->hpyr};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        cdt_vf_close(files[i]);
    for (uint32_t t = 0; t < ix->ntracks; t++)
        free(ix->tracks[t].lanes);
    for (uint32_t l = 0; l < ix->nlanes; l++)
        free(ix->lanes[l].classes);
    free(ix->tracks);
    free(ix->tmap);
    free(ix->lanes);
    free(ix->names);
    free(ix->arena);
    free(ix->path);
    free(ix);
}

int cdt_vindex_build(const char *path, cdt_vindex **out)
{
    *out = NULL;
    cdt_vindex *ix = calloc(1, sizeof(*ix));
    if (ix == NULL) {
        cdt_error("view: out of memory");
        return CDT_FAIL;
    }
    cdt_vfile *files[] = {&ix->recs, &ix->strs, &ix->tasks, &ix->gcs,
                          &ix->heap, &ix->lidx, &ix->cidx,  &ix->hpyr};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        files[i]->fd = -1;
    int rc = 0;
    ix->path = strdup(path);
    ix->names = calloc(NAME_SLOTS, sizeof(*ix->names));
    if (ix->path == NULL || ix->names == NULL) {
        cdt_error("view: out of memory");
        goto fail;
    }
    for (size_t i = 0; i < 5; i++) /* the files of the pass */
        if ((rc = cdt_vf_open(files[i])) != 0) {
            cdt_error("view: cannot create a temporary file in %s: %s", cdt_vf_tmp_dir(),
                      strerror(-rc));
            goto fail;
        }
    cdt_model_cb cb = {
        .ud = ix,
        .event = on_event,
        .span_begin = on_span_begin,
        .span_end = on_span_end,
        .task_done = on_task_done,
        .gc_done = on_gc_done,
        .heap = on_heap,
        .lost = on_lost,
        .worker_state = on_worker_state,
        .end = on_end,
    };
    if (cdt_model_run(path, &cb, &ix->rst, NULL) != CDT_OK)
        goto fail; /* the model reported it */
    if (ix->err != 0) {
        cdt_error("view: %s (in %s): %s", ix->err_what, cdt_vf_tmp_dir(), strerror(-ix->err));
        goto fail;
    }
    if ((rc = finish(ix)) != 0) {
        cdt_error("view: building the index (in %s): %s", cdt_vf_tmp_dir(), strerror(-rc));
        goto fail;
    }
    *out = ix;
    return CDT_OK;

fail:
    cdt_vindex_free(ix);
    return CDT_FAIL;
}

uint64_t cdt_vindex_spans(const cdt_vindex *ix)
{
    return ix->nrecs;
}

int64_t cdt_vindex_duration(const cdt_vindex *ix)
{
    return ix->end_ns;
}

/* viewer/cdebug-trace/view_index_int.h - what the two halves of the view
 * index share: the records of its files and struct cdt_vindex, built by
 * view_index.c (one pass of the model, then the arrays) and read by
 * view_query.c (the viewport queries). Layout and costs: view_index.h.
 * Not for other files.
 */
#ifndef CDEBUG_VIEWER_VIEW_INDEX_INT_H
#define CDEBUG_VIEWER_VIEW_INDEX_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "limits.h"
#include "model.h"
#include "view_index.h"
#include "view_store.h"

/* ---- records ---------------------------------------------------------- */

enum {
    VT_WORKER = 0,
    VT_THREAD = 1,
    VT_GC = 2,
    VT_HEAP = 3,
    VT_USER = 4,
};

#define VR_FIRST_RUN  1u
#define VR_UNFINISHED 2u
#define VR_SNAPSHOT   4u
#define VR_ADJUSTED   8u /* times moved to keep the lane ordered (see add_span) */

#define NO_ID32 UINT32_MAX

/* One span. Strings are refs into the string file: offset << 10 | length. */
typedef struct vrec {
    int64_t start, end;
    uint64_t id, parent;
    uint64_t name, task_name;
    uint32_t thread, worker; /* NO_ID32: none, or an id beyond 32 bits */
    uint32_t lane;
    uint8_t kind;
    uint8_t flags;
    uint16_t pad;
} vrec;
_Static_assert(sizeof(vrec) == 64, "vrec is 64 bytes");

typedef struct vtask {
    uint64_t id, parent;
    int64_t create_ns, first_start_ns, end_ns, exec_ns, blocked_ns, wait_ns;
    uint64_t blocks, create_stack, name;
    uint64_t ended;
} vtask;
_Static_assert(sizeof(vtask) == 96, "vtask is 96 bytes");

typedef struct vgc {
    uint64_t gc;
    int64_t begin_ns, end_ns, pause_ns, stop_ns, mark_ns, reclaim_ns;
    int64_t heap_before, heap_after, goal_after;
    uint64_t thread;
    uint64_t flags; /* 1 forced, 2 complete */
} vgc;
_Static_assert(sizeof(vgc) == 96, "vgc is 96 bytes");

typedef struct vheap {
    int64_t ns, in_use, goal;
} vheap;

typedef struct vminmax {
    int64_t min, max;
} vminmax;

/* An entry of the lane array: a span's times beside its record number, so
 * that the searches of a query read one contiguous run per lane instead of
 * records scattered over the span file. */
typedef struct vent {
    int64_t start, end;
    uint64_t rec;
} vent;

/* A non-empty duration class of a lane: its slice of the class array. */
typedef struct vclass {
    uint64_t off, n;
    uint8_t cls;
} vclass;

typedef struct vlane {
    uint32_t track, depth;
    uint64_t n;
    int64_t last_end; /* while building: end of the latest span */
    uint64_t off;     /* first slot in the lane and class arrays */
    vclass *classes;
    unsigned nclasses;
} vlane;

typedef struct vtrack {
    uint8_t kind;        /* VT_* */
    uint8_t thread_kind; /* THREAD_START kind, 255 unknown */
    uint64_t id;
    uint32_t *lanes; /* per depth, NO_ID32 none */
    uint32_t ndepth;
    uint64_t spans;
} vtrack;

#define HEAP_FAN    16
#define HEAP_LEVELS 20

/* Name cache entry: one distinct name already in the string file. */
typedef struct vname {
    uint64_t hash; /* 0: empty slot */
    uint64_t ref;
    uint32_t text; /* offset in the cache arena */
} vname;

#define NAME_SLOTS (1u << 16)

struct cdt_vindex {
    char *path;
    cdt_vfile recs, strs, tasks, gcs, heap, lidx, cidx, hpyr;
    uint64_t nrecs, ntasks, ngcs, nheap;

    vtrack *tracks;
    uint32_t ntracks, tcap;
    uint32_t nthread_tracks; /* against CDT_VIX_MAX_THREAD_TRACKS */
    uint32_t *tmap;          /* open addressing: track + 1, 0 empty */
    uint32_t tmap_cap;
    vlane *lanes;
    uint32_t nlanes, lcap;

    uint64_t user_row_id[CDT_VIX_MAX_USER_ROWS];
    bool user_row_used[CDT_VIX_MAX_USER_ROWS];

    vname *names; /* NAME_SLOTS, while building */
    uint32_t nnames;
    /* The names' text: a cache bounded by CDT_VIX_NAME_CACHE_BYTES whose
     * failed growth only stops caching (intern), so not base/buf.h's
     * buffer, which fails for good. */
    char *arena;
    size_t arena_len, arena_cap;

    unsigned hlevels;               /* pyramid levels above the samples */
    uint64_t hlev_off[HEAP_LEVELS]; /* in vminmax units in hpyr */
    int64_t heap_min, heap_max, goal_max;
    int64_t heap_last_ns; /* while building: time of the latest sample */

    cd_tr_stats rst;
    int64_t end_ns;
    uint64_t workers, threads, dropped, lost_events;
    cdt_model_limits lim;
    int err; /* first error while building (negative errno) */
    const char *err_what;
};

/* Counts k page-touching accesses on *acc (the caller's: one per pass or
 * query, so concurrent queries need no lock); every 64, drops the mapped
 * pages of the index (cdt_vf_trim) when the process's file-backed resident
 * memory is over 64 MiB (view_index.c explains why). Thread-safe on a
 * finished index. */
void cdt_vix_pace(const cdt_vindex *ix, uint64_t *acc, uint64_t k);

/* Drops every mapped page of the index from the process (cdt_vf_trim on
 * each file): after a build or a query, so what it read does not stay in
 * the resident set. Thread-safe on a finished index. */
void cdt_vix_trim(const cdt_vindex *ix);

/* Steps of a binary search over n entries (an upper bound). */
static inline uint64_t search_steps(uint64_t n)
{
    return n < 2 ? 1 : (uint64_t)(64 - __builtin_clzll((unsigned long long)n)) + 1;
}

/* The text of a ref (after the pass). */
static inline const char *name_of(const cdt_vindex *ix, uint64_t ref, size_t *len)
{
    uint64_t off = ref >> 10;
    size_t n = (size_t)(ref & 1023);
    if (n == 0 || ix->strs.map == NULL || off + n > ix->strs.len) {
        *len = 0;
        return "";
    }
    *len = n;
    return (const char *)ix->strs.map + off;
}

/* Number of depths a track shows (highest lane + 1). */
static inline uint32_t track_depths(const vtrack *tr)
{
    uint32_t d = tr->ndepth;
    while (d > 0 && tr->lanes[d - 1] == NO_ID32)
        d--;
    return d;
}

#endif /* CDEBUG_VIEWER_VIEW_INDEX_INT_H */

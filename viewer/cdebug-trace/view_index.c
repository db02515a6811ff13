/* viewer/cdebug-trace/view_index.c - the span index behind `cdebug-trace
 * view`: built in one pass of the model, kept in mapped temporary files,
 * queried per viewport. Layout and costs: view_index.h.
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

#include "cdt.h"
#include "limits.h"
#include "model.h"
#include "view_index.h"

/* ---- temporary files ---------------------------------------------------
 *
 * An append-only file with a write buffer, later mapped. The file is
 * unlinked at once (O_TMPFILE, or mkstemp + unlink), so nothing is left
 * behind whatever way the process ends. */

#define VF_BUF (256u << 10)

typedef struct vfile {
    int fd;           /* -1: not open */
    uint64_t len;     /* bytes appended, buffered ones included */
    uint64_t flushed; /* bytes written to the file */
    unsigned char *buf;
    size_t blen;
    void *map; /* after vf_map/vf_alloc; NULL for an empty file */
    size_t maplen;
} vfile;

/* Where the temporary files go: $TMPDIR, else /tmp. */
static const char *tmp_dir(void)
{
    const char *d = getenv("TMPDIR");
    return d != NULL && d[0] != '\0' ? d : "/tmp";
}

/* Opens an unlinked temporary file. Returns 0 or a negative errno. */
static int vf_open(vfile *f)
{
    memset(f, 0, sizeof(*f));
    const char *dir = tmp_dir();
    f->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (f->fd < 0) {
        /* O_TMPFILE is missing on some file systems (and old kernels). */
        char path[4096];
        snprintf(path, sizeof(path), "%s/cdebug-trace-view-XXXXXX", dir);
        f->fd = mkostemp(path, O_CLOEXEC);
        if (f->fd < 0) {
            f->fd = -1;
            return -errno;
        }
        unlink(path);
    }
    return 0;
}

/* Writes the buffered bytes. Returns 0 or a negative errno. */
static int vf_flush(vfile *f)
{
    size_t done = 0;
    while (done < f->blen) {
        ssize_t w = pwrite(f->fd, f->buf + done, f->blen - done, (off_t)(f->flushed + done));
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        done += (size_t)w;
    }
    f->flushed += f->blen;
    f->blen = 0;
    return 0;
}

/* Appends n bytes. Returns 0 or a negative errno (ENOSPC...). */
static int vf_append(vfile *f, const void *p, size_t n)
{
    if (f->buf == NULL && (f->buf = malloc(VF_BUF)) == NULL)
        return -ENOMEM;
    const unsigned char *s = p;
    while (n > 0) {
        size_t k = VF_BUF - f->blen;
        if (k > n)
            k = n;
        memcpy(f->buf + f->blen, s, k);
        f->blen += k;
        f->len += k;
        s += k;
        n -= k;
        if (f->blen == VF_BUF) {
            int rc = vf_flush(f);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

/* Writes the buffer out and maps the whole file (writable: for in-place
 * sorting). Returns 0 or a negative errno. */
static int vf_map(vfile *f, bool writable)
{
    if (f->blen > 0) {
        int rc = vf_flush(f);
        if (rc != 0)
            return rc;
    }
    free(f->buf);
    f->buf = NULL;
    if (f->len == 0)
        return 0;
    if (f->len > SIZE_MAX)
        return -EFBIG;
    void *m =
        mmap(NULL, (size_t)f->len, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, f->fd, 0);
    if (m == MAP_FAILED)
        return -errno;
    f->map = m;
    f->maplen = (size_t)f->len;
    return 0;
}

/* Sizes the file to len bytes and maps it writable (for the arrays built
 * after the pass). Space is reserved with posix_fallocate so that a full
 * disk is an error here, not a SIGBUS while filling the mapping. */
static int vf_alloc(vfile *f, uint64_t len)
{
    f->len = len;
    if (len == 0)
        return 0;
    if (len > SIZE_MAX || len > (uint64_t)INT64_MAX)
        return -EFBIG;
    int rc = posix_fallocate(f->fd, 0, (off_t)len);
    if (rc == EOPNOTSUPP || rc == EINVAL) /* e.g. tmpfs without fallocate */
        rc = ftruncate(f->fd, (off_t)len) == 0 ? 0 : errno;
    if (rc != 0)
        return -rc;
    void *m = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
    if (m == MAP_FAILED)
        return -errno;
    f->map = m;
    f->maplen = (size_t)len;
    return 0;
}

/* Drops f's mapped pages from the process (they stay in the page cache,
 * and in the file); a later access maps them in again. Harmless while
 * other threads read the mapping: MAP_SHARED file pages are not lost. */
static void vf_trim(const vfile *f)
{
    if (f->map != NULL)
        madvise(f->map, f->maplen, MADV_DONTNEED);
}

/* Unmaps and closes f (its storage goes with it: it is unlinked). */
static void vf_close(vfile *f)
{
    if (f->map != NULL)
        munmap(f->map, f->maplen);
    if (f->fd >= 0)
        close(f->fd);
    free(f->buf);
    memset(f, 0, sizeof(*f));
    f->fd = -1;
}

/* ---- records ---------------------------------------------------------- */

/* (The pacing of mapped pages, pace(), follows struct cdt_vindex.) */

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
    vfile recs, strs, tasks, gcs, heap, lidx, cidx, hpyr;
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

/* ---- keeping the mapped index out of the resident set -----------------
 *
 * The index lives in mapped files, larger than memory for a large trace;
 * a page a pass or a query reads stays mapped, and counts in the resident
 * set, until the kernel needs the memory back. To bound the viewer's RSS
 * whatever the index size, every VIX_CHECK_EVERY page-touching accesses
 * (a binary search counts its steps) pace() reads the process's
 * file-backed resident memory (statm) and, past VIX_MAPPED_MAX, drops
 * every mapped page of the index (vf_trim): the pages stay in the page
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

static void trim_all(const cdt_vindex *ix);

/* Counts k page-touching accesses on *acc (the caller's: one per pass or
 * query, so concurrent queries need no lock); every VIX_CHECK_EVERY,
 * trims the mapped index if it holds more than VIX_MAPPED_MAX. */
static void pace(const cdt_vindex *ix, uint64_t *acc, uint64_t k)
{
    *acc += k;
    if (*acc < VIX_CHECK_EVERY)
        return;
    *acc = 0;
    if (mapped_resident() > VIX_MAPPED_MAX)
        trim_all(ix);
}

/* Steps of a binary search over n entries (an upper bound). */
static uint64_t search_steps(uint64_t n)
{
    return n < 2 ? 1 : (uint64_t)(64 - __builtin_clzll((unsigned long long)n)) + 1;
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
    int rc = vf_append(&ix->strs, s, n);
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

/* The text of a ref (after the pass). */
static const char *name_of(const cdt_vindex *ix, uint64_t ref, size_t *len)
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

/* ---- tracks and lanes ------------------------------------------------- */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return x;
}

/* Home slot of track (kind, id) in the track map. */
static uint32_t tmap_slot(const cdt_vindex *ix, uint8_t kind, uint64_t id)
{
    return (uint32_t)mix64(id * 8 + kind) & (ix->tmap_cap - 1);
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

/* Number of depths a track shows (highest lane + 1). */
static uint32_t track_depths(const vtrack *tr)
{
    uint32_t d = tr->ndepth;
    while (d > 0 && tr->lanes[d - 1] == NO_ID32)
        d--;
    return d;
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
        ix->tracks[t].thread_kind = kind <= 3 ? (uint8_t)kind : 255;
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
    int rc = vf_append(&ix->recs, &r, sizeof(r));
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
    int rc = vf_append(&ix->tasks, &t, sizeof(t));
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
    int rc = vf_append(&ix->gcs, &v, sizeof(v));
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
    int rc = vf_append(&ix->heap, &h, sizeof(h));
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

/* ---- sorting a file of records in bounded memory ------------------------
 *
 * The task and collection summaries are sorted by id for the details
 * panel's binary search. An in-place sort of their mapping would touch
 * pages all over it (3 million tasks: 288 MB resident); instead, runs of
 * SORT_RUN bytes are read, sorted in memory and written back, then merged
 * into a new file through per-run read buffers sharing SORT_MERGE bytes:
 * sequential I/O, SORT_RUN + SORT_MERGE + VF_BUF of memory whatever n. */

#define SORT_RUN   (8u << 20)
#define SORT_MERGE (8u << 20)

/* The uint64 key at the start of a record. */
static uint64_t key_at(const unsigned char *p)
{
    uint64_t k;
    memcpy(&k, p, sizeof k);
    return k;
}

static int cmp_key(const void *a, const void *b)
{
    uint64_t x = key_at(a), y = key_at(b);
    return x < y ? -1 : x > y;
}

/* pread/pwrite of exactly n bytes at off. Return 0 or a negative errno. */
static int rw_full(int fd, void *buf, size_t n, uint64_t off, bool write_it)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t k = write_it ? pwrite(fd, p, n, (off_t)off) : pread(fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? -errno : -EIO;
        p += k, off += (uint64_t)k, n -= (size_t)k;
    }
    return 0;
}

/* One run of the merge: its next records, buffered. */
typedef struct sort_run {
    uint64_t off, end; /* file range not yet buffered */
    unsigned char *buf;
    size_t pos, len; /* buffered bytes [pos, len) */
} sort_run;

/* Refills run r's buffer (cap bytes). Returns 0 or a negative errno. */
static int run_fill(int fd, sort_run *r, size_t cap)
{
    size_t n = r->end - r->off < cap ? (size_t)(r->end - r->off) : cap;
    int rc = rw_full(fd, r->buf, n, r->off, false);
    r->off += n;
    r->pos = 0;
    r->len = n;
    return rc;
}

/* Sorts the records of `size` bytes (<= 128) of the unmapped file *f by
 * their first uint64; on success *f is replaced by the sorted copy.
 * Returns 0 or a negative errno. O(n log n) time, memory as above. */
static int vf_sort(vfile *f, size_t size)
{
    int rc;
    if (f->blen > 0 && (rc = vf_flush(f)) != 0)
        return rc;
    uint64_t n = f->len / size;
    if (n < 2)
        return 0;
    size_t per_run = SORT_RUN / size;
    uint64_t nruns = (n + per_run - 1) / per_run;
    unsigned char *chunk = malloc(per_run * size);
    if (chunk == NULL)
        return -ENOMEM;
    rc = 0;
    for (uint64_t r = 0; rc == 0 && r < nruns; r++) { /* sorted runs, in place */
        uint64_t first = r * per_run, cnt = n - first < per_run ? n - first : per_run;
        rc = rw_full(f->fd, chunk, cnt * size, first * size, false);
        if (rc == 0) {
            qsort(chunk, cnt, size, cmp_key);
            rc = rw_full(f->fd, chunk, cnt * size, first * size, true);
        }
    }
    free(chunk);
    if (rc != 0)
        return rc;
    if (nruns == 1)
        return 0;
    /* k-way merge into a new file: the least head by a linear scan of the
     * runs (a few dozen for millions of records) */
    size_t cap = SORT_MERGE / nruns / size * size;
    if (cap < size * 16)
        cap = size * 16;
    sort_run *runs = calloc(nruns, sizeof *runs);
    unsigned char *bufs = malloc(nruns * cap);
    vfile out;
    if (runs == NULL || bufs == NULL) {
        free(runs);
        free(bufs);
        return -ENOMEM;
    }
    rc = vf_open(&out);
    for (uint64_t r = 0; rc == 0 && r < nruns; r++) {
        runs[r].off = r * per_run * size;
        runs[r].end = r + 1 == nruns ? n * size : (r + 1) * per_run * size;
        runs[r].buf = bufs + r * cap;
        rc = run_fill(f->fd, &runs[r], cap);
    }
    for (uint64_t i = 0; rc == 0 && i < n; i++) {
        uint64_t best = nruns;
        for (uint64_t r = 0; r < nruns; r++)
            if (runs[r].pos < runs[r].len &&
                (best == nruns ||
                 key_at(runs[r].buf + runs[r].pos) < key_at(runs[best].buf + runs[best].pos)))
                best = r;
        sort_run *b = &runs[best];
        rc = vf_append(&out, b->buf + b->pos, size);
        b->pos += size;
        if (rc == 0 && b->pos == b->len && b->off < b->end)
            rc = run_fill(f->fd, b, cap);
    }
    free(runs);
    free(bufs);
    if (rc == 0)
        rc = vf_flush(&out);
    if (rc != 0) {
        vf_close(&out);
        return rc;
    }
    vf_close(f);
    *f = out;
    return 0;
}

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
    if ((rc = vf_open(&ix->lidx)) != 0 || (rc = vf_alloc(&ix->lidx, ix->nrecs * sizeof(vent))) != 0)
        return rc;
    if ((rc = vf_open(&ix->cidx)) != 0 || (rc = vf_alloc(&ix->cidx, ix->nrecs * 8)) != 0)
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
    uint64_t acc = 0;                          /* pace() */
    for (uint64_t i = 0; i < ix->nrecs; i++) { /* stable: keeps each lane in end order */
        lidx[cursor[recs[i].lane]++] = (vent){recs[i].start, recs[i].end, i};
        if (i % 64 == 0) /* a page of records, and one page per lane at most */
            pace(ix, &acc, 2);
    }
    free(cursor);

    for (uint32_t l = 0; l < ix->nlanes; l++) {
        vlane *ln = &ix->lanes[l];
        uint64_t count[64] = {0}, pos[64];
        for (uint64_t k = 0; k < ln->n; k++) {
            const vent *e = &lidx[ln->off + k];
            count[dur_class(e->end - e->start)]++;
            if (k % 128 == 0)
                pace(ix, &acc, 1);
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
                pace(ix, &acc, 2);
        }
    }
    trim_all(ix);
    return 0;
}

/* The min/max pyramid over the heap samples: level 1 summarises 16
 * samples, level k 16 items of level k-1. Written to one file. */
static int build_heap(cdt_vindex *ix)
{
    int rc;
    if ((rc = vf_open(&ix->hpyr)) != 0)
        return rc;
    const vheap *h = ix->heap.map;
    ix->heap_min = INT64_MAX;
    ix->heap_max = INT64_MIN;
    ix->goal_max = 0;
    uint64_t acc = 0; /* pace() */
    for (uint64_t i = 0; i < ix->nheap; i++) {
        if (i % 128 == 0)
            pace(ix, &acc, 1);
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
                    pace(ix, &acc, 1);
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
            if ((rc = vf_append(&ix->hpyr, &m, sizeof(m))) != 0)
                return rc;
        }
        if (ix->hpyr.blen > 0 && (rc = vf_flush(&ix->hpyr)) != 0)
            return rc;
        prev_off = written;
        written += n;
        prev_n = n;
        lev++;
    }
    ix->hlevels = lev;
    trim_all(ix);
    return vf_map(&ix->hpyr, false);
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
    if ((rc = vf_sort(&ix->tasks, sizeof(vtask))) != 0 ||
        (rc = vf_sort(&ix->gcs, sizeof(vgc))) != 0)
        return rc;
    if ((rc = vf_map(&ix->recs, false)) != 0 || (rc = vf_map(&ix->strs, false)) != 0 ||
        (rc = vf_map(&ix->tasks, false)) != 0 || (rc = vf_map(&ix->gcs, false)) != 0 ||
        (rc = vf_map(&ix->heap, false)) != 0)
        return rc;
    if ((rc = build_arrays(ix)) != 0)
        return rc;
    return build_heap(ix);
}

/* Drops every mapped page of the index (vf_trim). */
static void trim_all(const cdt_vindex *ix)
{
    const vfile *files[] = {&ix->recs, &ix->strs, &ix->tasks, &ix->gcs,
                            &ix->heap, &ix->lidx, &ix->cidx,  &ix->hpyr};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        vf_trim(files[i]);
}

void cdt_vindex_free(cdt_vindex *ix)
{
    if (ix == NULL)
        return;
    vfile *files[] = {&ix->recs, &ix->strs, &ix->tasks, &ix->gcs,
                      &ix->heap, &ix->lidx, &ix->cidx,  &ix->hpyr};
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        vf_close(files[i]);
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
    vfile *files[] = {&ix->recs, &ix->strs, &ix->tasks, &ix->gcs,
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
        if ((rc = vf_open(files[i])) != 0) {
            cdt_error("view: cannot create a temporary file in %s: %s", tmp_dir(), strerror(-rc));
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
        cdt_error("view: %s (in %s): %s", ix->err_what, tmp_dir(), strerror(-ix->err));
        goto fail;
    }
    if ((rc = finish(ix)) != 0) {
        cdt_error("view: building the index (in %s): %s", tmp_dir(), strerror(-rc));
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
    static const char *const tk[] = {"main", "worker", "service", "registered"};
    char buf[96];
    switch (t->kind) {
    case VT_WORKER:
        snprintf(buf, sizeof(buf), "Worker %" PRIu64, t->id);
        break;
    case VT_THREAD:
        if (t->thread_kind <= 3)
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
        pace(ix, visits, 2 * search_steps(c->n)); /* cidx and recs */
        uint64_t i = lb_overlap_rec(recs, cidx, c->off, c->off + c->n, S);
        for (; i < c->off + c->n; i++) {
            pace(ix, visits, 1);
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
            pace(ix, &visits, search_steps(n));
            uint64_t i = lb_overlap(lidx, base, base + n, S) - base;
            size_t w = 0;
            bool opened = false;
            uint64_t lane_busy = 0;
            while (i < n) {
                const vent *r = &lidx[base + i];
                if (r->start >= E)
                    break;
                if (i % 64 == 0) /* a walk along the lane: 64 entries, a page or less */
                    pace(ix, &visits, 1);
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
                    pace(ix, &visits, 2 * search_steps(k - i));
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
                pace(ix, &visits, 1);
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
    trim_all(ix); /* what the query read leaves the resident set */
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
        pace(ix, &visits, 2 * search_steps(a - i) + 2 * HEAP_LEVELS);
        vminmax m = heap_range(ix, i, a);
        fprintf(f, "%s[%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64 "]",
                npoints ? "," : "", S + col * P, m.min, m.max, h[a - 1].in_use, h[a - 1].goal);
        npoints++;
        i = a;
    }
    fprintf(f, "],\"npoints\":%" PRIu64 "}\n", npoints);
    trim_all(ix); /* what the query read leaves the resident set */
    return 0;
}

/* prof/heapprof.c - the "heap" and "allocs" profiles, rendered from the
 * heap sampler's snapshot (runtime/mprof.h): Go's writeHeapProto (debug=0)
 * and writeHeapInternal's text (debug=1), the public writers and
 * CDEBUG=memprofile. docs/profiling.md is the user's view.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gc/gc.h>

#include "cdebug/prof.h"
#include "cdebug/runtime.h"
#include "base/clock.h"
#include "base/io.h"
#include "base/symbolize.h"
#include "prof/countprof.h"
#include "prof/heapprof.h"
#include "prof/pprof.h"
#include "prof/profiles.h"
#include "prof/tabwriter.h"
#include "runtime/env.h"
#include "runtime/gc.h"
#include "runtime/start.h"
#include "runtime/mprof.h"
#include "runtime/thread.h"

/* Rows and their counts, as the sampler published them. */
typedef cd__mprof_row hrow;

static int64_t heap_count(void)
{
    return cd__mprof_buckets();
}

/* a - b, 0 when b > a: a bucket never shows more frees than allocations
 * published (the cycle rules guarantee it; this guards the arithmetic). */
static uint64_t sub0(uint64_t a, uint64_t b)
{
    return a > b ? a - b : 0;
}

/* Go's scaleHeapSample (runtime/pprof/protomem.go): a sampled object of s
 * bytes stands for 1 / (1 - exp(-s/rate)) objects. */
static void scale(uint64_t count, uint64_t bytes, int64_t r, int64_t *oc, int64_t *ob)
{
    if (count == 0 || bytes == 0) {
        *oc = *ob = 0;
        return;
    }
    if (r <= 1) {
        *oc = (int64_t)count;
        *ob = (int64_t)bytes;
        return;
    }
    double avg = (double)bytes / (double)count;
    double k = 1 / cd__mprof_sample_prob(avg, r);
    *oc = (int64_t)((double)count * k);
    *ob = (int64_t)((double)bytes * k);
}

/* debug=0 for both profiles: Go's writeHeapProto. */
static int build(cd__pprof *p, const char *default_type)
{
    int64_t r = cd__mprof_rate();
    int rc;
    if ((rc = cd__pprof_period(p, "space", "bytes", r)) < 0 ||
        (rc = cd__pprof_sample_type(p, "alloc_objects", "count")) < 0 ||
        (rc = cd__pprof_sample_type(p, "alloc_space", "bytes")) < 0 ||
        (rc = cd__pprof_sample_type(p, "inuse_objects", "count")) < 0 ||
        (rc = cd__pprof_sample_type(p, "inuse_space", "bytes")) < 0)
        return rc;
    /* Go sets it for allocs only; for heap pprof's default, the last type,
     * is inuse_space. */
    if (default_type != NULL && (rc = cd__pprof_default_type(p, default_type)) < 0)
        return rc;
    cd__pprof_time(p, (int64_t)cd__walltime(), 0);

    hrow *rows;
    size_t n;
    if ((rc = cd__mprof_snapshot(&rows, &n)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const hrow *c = &rows[i];
        int64_t v[4];
        scale(c->allocs, c->alloc_bytes, r, &v[0], &v[1]);
        scale(sub0(c->allocs, c->frees), sub0(c->alloc_bytes, c->free_bytes), r, &v[2], &v[3]);
        /* Go's "bytes" label: the bucket's object size (Go leaves it out of
         * a bucket with no allocation); cdebug's "allocator": whose object. */
        cd__pprof_label labels[2] = {
            {.key = "allocator", .str = c->kind == CD__MPROF_MALLOC ? "malloc" : "gc"},
            {.key = "bytes", .num = (int64_t)c->size},
        };
        rc = cd__pprof_sample_at(p, c->stk, c->depth, false, c->epoch, v, labels,
                                 c->allocs > 0 ? 2 : 1);
    }
    free(rows);
    return rc;
}

static int heap_build(cd__pprof *p)
{
    return build(p, NULL);
}

static int allocs_build(cd__pprof *p)
{
    return build(p, "alloc_space");
}

/* ---- debug=1 text ------------------------------------------------------------ */

static int cmp_inuse_desc(const void *x, const void *y)
{
    const hrow *a = x, *b = y;
    uint64_t ia = sub0(a->alloc_bytes, a->free_bytes), ib = sub0(b->alloc_bytes, b->free_bytes);
    if (ia != ib)
        return ia > ib ? -1 : 1;
    if (a->alloc_bytes != b->alloc_bytes)
        return a->alloc_bytes > b->alloc_bytes ? -1 : 1;
    return a->hash < b->hash ? -1 : a->hash > b->hash;
}

/* Symbols of the pcs already printed: buckets share most frames, and a
 * libdw lookup costs a scan of the module's symbols. Open addressing; when
 * full, lookups go straight to libdw. */
#define SYMCACHE 4096

typedef struct symcache {
    cd__symctx *ctx;
    uintptr_t pc[SYMCACHE]; /* 0: empty */
    cd__sym s[SYMCACHE];
} symcache;

static void sym_get(symcache *c, uintptr_t pc, uint32_t epoch, cd__sym *out)
{
    /* A pc of a library unloaded since (rare): looked up there, uncached
     * (the cache is by pc, and the pc may be another library's now). */
    uint32_t which = cd__sym_which(c->ctx, pc, epoch);
    if (which != 0) {
        cd__sym_lookup_in(c->ctx, pc, which, out);
        return;
    }
    size_t i = (size_t)(((uint64_t)pc * 0x9e3779b97f4a7c15ull) >> 40) % SYMCACHE;
    for (size_t probe = 0; probe < 8; probe++, i = (i + 1) % SYMCACHE) {
        if (c->pc[i] == pc) {
            *out = c->s[i];
            return;
        }
        if (c->pc[i] == 0) {
            cd__sym_lookup(c->ctx, pc, &c->s[i]);
            c->pc[i] = pc;
            *out = c->s[i];
            return;
        }
    }
    cd__sym_lookup(c->ctx, pc, out);
}

/* Go's printStackRecord: one "#\tpc\tfunc+off\tfile:line" line per frame,
 * pc being the call (return address - 1). */
static void print_stack(FILE *f, symcache *sym, const hrow *b)
{
    for (uint32_t i = 0; i < b->depth; i++) {
        uintptr_t pc = b->stk[i] - 1;
        cd__sym s;
        sym_get(sym, pc, b->epoch, &s);
        cd__countprof_frame(f, pc, &s);
    }
    fputc('\n', f);
}

/* Go's %v of a float64: the shortest decimal that reads back the same. */
static void print_float(FILE *f, double v)
{
    char buf[40];
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    fputs(buf, f);
}

static void print_array(FILE *f, const char *name, const uint64_t *v, size_t n)
{
    fprintf(f, "# %s = [", name);
    for (size_t i = 0; i < n; i++)
        fprintf(f, i ? " %" PRIu64 : "%" PRIu64, v[i]);
    fputs("]\n", f);
}

/* The body of writeHeapInternal's debug != 0 branch, before the tabwriter. */
static int text_body(FILE *f)
{
    /* MemStats first, as Go does, so the profile's own work is not in it. */
    cd_memstats *m = malloc(sizeof *m);
    if (m == NULL)
        return -ENOMEM;
    cd_read_memstats(m);
    hrow *rows;
    size_t n;
    int rc = cd__mprof_snapshot(&rows, &n);
    if (rc < 0) {
        free(m);
        return rc;
    }
    qsort(rows, n, sizeof *rows, cmp_inuse_desc);
    symcache *sym = calloc(1, sizeof *sym);
    if (sym == NULL || (rc = cd__sym_begin(&sym->ctx)) < 0) {
        free(sym);
        free(rows);
        free(m);
        return rc < 0 ? rc : -ENOMEM;
    }

    /* Each stack ends before its first pc in no code, as in the proto
     * form (base/symbolize.h, cd__sym_cut). */
    for (size_t i = 0; i < n; i++)
        rows[i].depth =
            (uint32_t)cd__sym_cut(sym->ctx, rows[i].stk, rows[i].depth, rows[i].epoch, true);
    hrow t = {0};
    for (size_t i = 0; i < n; i++) {
        t.allocs += rows[i].allocs;
        t.frees += rows[i].frees;
        t.alloc_bytes += rows[i].alloc_bytes;
        t.free_bytes += rows[i].free_bytes;
    }
    /* Twice the rate, as Go prints it (what early C++ pprof reported). */
    fprintf(
        f, "heap profile: %" PRIu64 ": %" PRIu64 " [%" PRIu64 ": %" PRIu64 "] @ heap/%" PRId64 "\n",
        sub0(t.allocs, t.frees), sub0(t.alloc_bytes, t.free_bytes), t.allocs, t.alloc_bytes,
        2 * cd__mprof_rate());
    for (size_t i = 0; i < n; i++) {
        const hrow *c = &rows[i];
        fprintf(f, "%" PRIu64 ": %" PRIu64 " [%" PRIu64 ": %" PRIu64 "] @",
                sub0(c->allocs, c->frees), sub0(c->alloc_bytes, c->free_bytes), c->allocs,
                c->alloc_bytes);
        for (uint32_t j = 0; j < c->depth; j++)
            fprintf(f, " %#" PRIxPTR, c->stk[j]);
        fputc('\n', f);
        print_stack(f, sym, c);
    }
    cd__sym_end(sym->ctx);
    free(sym);
    free(rows);

    fprintf(f, "\n# runtime.MemStats\n");
    fprintf(f, "# Alloc = %" PRIu64 "\n", m->Alloc);
    fprintf(f, "# TotalAlloc = %" PRIu64 "\n", m->TotalAlloc);
    fprintf(f, "# Sys = %" PRIu64 "\n", m->Sys);
    fprintf(f, "# Lookups = %" PRIu64 "\n", m->Lookups);
    fprintf(f, "# Mallocs = %" PRIu64 "\n", m->Mallocs);
    fprintf(f, "# Frees = %" PRIu64 "\n", m->Frees);
    fprintf(f, "# HeapAlloc = %" PRIu64 "\n", m->HeapAlloc);
    fprintf(f, "# HeapSys = %" PRIu64 "\n", m->HeapSys);
    fprintf(f, "# HeapIdle = %" PRIu64 "\n", m->HeapIdle);
    fprintf(f, "# HeapInuse = %" PRIu64 "\n", m->HeapInuse);
    fprintf(f, "# HeapReleased = %" PRIu64 "\n", m->HeapReleased);
    fprintf(f, "# HeapObjects = %" PRIu64 "\n", m->HeapObjects);
    fprintf(f, "# Stack = %" PRIu64 " / %" PRIu64 "\n", m->StackInuse, m->StackSys);
    fprintf(f, "# MSpan = %" PRIu64 " / %" PRIu64 "\n", m->MSpanInuse, m->MSpanSys);
    fprintf(f, "# MCache = %" PRIu64 " / %" PRIu64 "\n", m->MCacheInuse, m->MCacheSys);
    fprintf(f, "# BuckHashSys = %" PRIu64 "\n", m->BuckHashSys);
    fprintf(f, "# GCSys = %" PRIu64 "\n", m->GCSys);
    fprintf(f, "# OtherSys = %" PRIu64 "\n", m->OtherSys);
    fprintf(f, "# NextGC = %" PRIu64 "\n", m->NextGC);
    fprintf(f, "# LastGC = %" PRIu64 "\n", m->LastGC);
    print_array(f, "PauseNs", m->PauseNs, 256);
    print_array(f, "PauseEnd", m->PauseEnd, 256);
    fprintf(f, "# NumGC = %" PRIu32 "\n", m->NumGC);
    fprintf(f, "# NumForcedGC = %" PRIu32 "\n", m->NumForcedGC);
    fputs("# GCCPUFraction = ", f);
    print_float(f, m->GCCPUFraction);
    fputc('\n', f);
    fprintf(f, "# DebugGC = %s\n", m->DebugGC ? "true" : "false");
    free(m);
    /* Go's addMaxRSS: ru_maxrss is in KiB on Linux. */
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) == 0)
        fprintf(f, "# MaxRSS = %" PRIu64 "\n", (uint64_t)ru.ru_maxrss * 1024);
    return 0;
}

/* debug >= 1 for both profiles (Go prints the same text for heap and
 * allocs, whatever the debug level above 0). */
static int heap_text(FILE *f, int debug)
{
    (void)debug;
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    if (mf == NULL)
        return -ENOMEM;
    int rc = text_body(mf);
    if (fclose(mf) != 0 && rc == 0)
        rc = -ENOMEM;
    if (rc == 0)
        rc = cd__tabwriter(f, buf, len);
    free(buf);
    return rc;
}

/* ---- registration, public API, CDEBUG=memprofile ------------------------- */

static const cd__profile heap_profile = {
    .name = "heap",
    .desc = "A sampling of memory allocations of live objects. You can specify the gc GET "
            "parameter to run GC before taking the heap sample.",
    .delta = true,
    .count = heap_count,
    .build = heap_build,
    .text = heap_text,
};

static const cd__profile allocs_profile = {
    .name = "allocs",
    .desc = "A sampling of all past memory allocations",
    .delta = true,
    .count = heap_count,
    .build = allocs_build,
    .text = heap_text,
};

/* The process that read CDEBUG=memprofile: the file is its own. A child
 * of fork() writes nothing there (docs/profiling.md). */
static pid_t memprofile_pid;

int cd__heapprof_init(void)
{
    memprofile_pid = getpid();
    int rc = cd__profile_register(&heap_profile);
    int rc2 = cd__profile_register(&allocs_profile);
    return rc < 0 ? rc : rc2;
}

static int write_profile(const cd__profile *p, int fd, int debug)
{
    cd__ensure_init();
    return cd__profile_write_fd(p, fd, debug);
}

int cd_heapprof_write(int fd, int debug)
{
    return write_profile(&heap_profile, fd, debug);
}

int cd_allocsprof_write(int fd, int debug)
{
    return write_profile(&allocs_profile, fd, debug);
}

static void *collect_main(void *arg)
{
    (void)arg;
    cd_gc();
    return NULL;
}

/* Runs a full collection from any thread, including threads bdwgc does not
 * know (CDEBUG=memprofile's at-exit work may run on one): a registered
 * thread collects itself (cd_gc); any other spawns a short-lived kit thread
 * registered with bdwgc that runs cd_gc, and joins it. Returns 0 or a
 * negative errno (thread creation failed). Not async-signal-safe. Cost: a
 * collection (plus a thread creation from a foreign thread). */
static int collect(void)
{
    cd__ensure_init();
    if (!cd__gc_running())
        return 0; /* no collector, nothing to collect (runtime/gc.h) */
    if (GC_thread_is_registered()) {
        cd_gc();
        return 0;
    }
    pthread_t t;
    int rc = cd__thread_spawn(&t, "cd-collect", CD__THREAD_SYSTEM, true, collect_main, NULL);
    if (rc < 0)
        return rc;
    pthread_join(t, NULL);
    return 0;
}

void cd__heapprof_write_env(void)
{
    static _Atomic bool done;
    const char *path = cd__cfg.memprofile_path;
    if (path[0] == '\0' || getpid() != memprofile_pid || atomic_exchange(&done, true))
        return;
    /* go test -memprofile: runtime.GC() "to materialize all statistics",
     * then the allocs profile. */
    int rc = collect();
    if (rc < 0)
        fprintf(stderr, "cdebug: memprofile: collection failed: %s\n", cd_strerror(rc));
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        fprintf(stderr, "cdebug: memprofile: cannot create %s: %s\n", path, strerror(errno));
        return;
    }
    rc = cd_allocsprof_write(fd, 0);
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    if (rc < 0)
        fprintf(stderr, "cdebug: memprofile: writing %s failed: %s\n", path, cd_strerror(rc));
}

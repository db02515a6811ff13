/* runtime/memstats.c - cd_read_memstats: Go's runtime.MemStats from bdwgc's
 * counters and the collection hook's totals.
 *
 * docs/memstats.md documents every field: where it comes from, and whether it
 * is exact, an estimate or always zero. The bdwgc counters and the hook's
 * totals are read in one hold of the allocation lock, so they agree with each
 * other (the hook also runs under that lock); the world is not stopped. The
 * per-thread object counters are summed just before, outside the lock,
 * because the thread registry's mutex must never nest inside bdwgc's lock.
 */
#include <string.h>

#include <gc/gc.h>

#include "cdebug/runtime.h"
#include "runtime/env.h"
#include "runtime/gc.h"
#include "runtime/gcevents.h"
#include "runtime/start.h"

/* Go 1.19's class_to_size, first 61 entries (runtime.MemStats.BySize has 61:
 * the classes Go had when the field was frozen). */
static const uint32_t go_size_classes[61] = {
    0,    8,    16,    24,    32,    48,    64,    80,    96,    112,  128,  144,  160,
    176,  192,  208,   224,   240,   256,   288,   320,   352,   384,  416,  448,  480,
    512,  576,  640,   704,   768,   896,   1024,  1152,  1280,  1408, 1536, 1792, 2048,
    2304, 2688, 3072,  3200,  3456,  4096,  4864,  5376,  6144,  6528, 6784, 6912, 8192,
    9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432,
};

struct snapshot {
    struct GC_prof_stats_s st;
    cd__gc_totals tot;
    int disabled;
};

/* Runs with the allocation lock held: copy, nothing else. O(256). */
static void *read_locked(void *arg)
{
    struct snapshot *s = arg;
    GC_get_prof_stats_unsafe(&s->st, sizeof s->st);
    cd__gcevents_read_locked(&s->tot);
    s->disabled = GC_is_disabled();
    return NULL;
}

void cd_read_memstats(cd_memstats *m)
{
    cd__ensure_init();

    uint64_t mallocs, bytes, frees;
    cd__gc_alloc_totals(&mallocs, &bytes, &frees);
    (void)frees; /* explicit frees are a subset of Frees, which we estimate */

    struct snapshot s;
    memset(&s, 0, sizeof s);
    /* Before the collector starts (runtime/gc.h) its heap is empty:
     * zeros, as bdwgc would report, without initialising it. */
    if (cd__gc_running())
        GC_call_with_alloc_lock(read_locked, &s);

    memset(m, 0, sizeof *m);
    const struct GC_prof_stats_s *st = &s.st;

    /* Heap: bdwgc's blocks are Go's spans. */
    m->HeapSys = st->heapsize_full;
    m->HeapIdle = st->free_bytes_full; /* includes unmapped, like Go's */
    m->HeapInuse = m->HeapSys - m->HeapIdle;
    m->HeapReleased = st->unmapped_bytes;
    m->HeapAlloc = cd__gc_heap_alloc(s.tot.live_bytes, st);
    m->Alloc = m->HeapAlloc;
    m->TotalAlloc = (uint64_t)st->allocd_bytes_before_gc + st->bytes_allocd_since_gc;

    /* Everything bdwgc obtained from the OS; what is not heap is its
     * metadata (block headers, mark stack, root tables). */
    uint64_t os = st->obtained_from_os_bytes;
    m->Sys = os > m->HeapSys ? os : m->HeapSys;
    m->GCSys = m->Sys - m->HeapSys;

    /* Objects: Mallocs is exact; bdwgc does not count objects, so live
     * objects are estimated from live bytes at the mean object size. */
    m->Mallocs = mallocs;
    if (bytes > 0) {
        double objs = (double)m->HeapAlloc * (double)mallocs / (double)bytes;
        m->HeapObjects = objs < (double)mallocs ? (uint64_t)objs : mallocs;
    }
    m->Frees = m->Mallocs - m->HeapObjects;

    /* Collector. */
    m->NumGC = s.tot.num_gc;
    m->NumForcedGC = s.tot.num_forced;
    m->NextGC = s.tot.num_gc > 0 ? s.tot.goal_bytes : m->HeapSys;
    m->LastGC = s.tot.last_gc_unix_ns;
    m->PauseTotalNs = s.tot.pause_total_ns;
    memcpy(m->PauseNs, s.tot.pause_ns, sizeof m->PauseNs);
    memcpy(m->PauseEnd, s.tot.pause_end, sizeof m->PauseEnd);
    m->GCCPUFraction = s.tot.cpu_fraction;
    m->EnableGC = cd__cfg.gc_percent >= 0 && !s.disabled;
    m->DebugGC = false;

    for (int i = 0; i < 61; i++)
        m->BySize[i].Size = go_size_classes[i];
}

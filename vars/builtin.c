/* vars/builtin.c - memstats, malloc and sched, and the registration of
 * the built-in vars (cmdline lives in vars/cmdline.c). See builtin.h.
 *
 * All three are read at render time without stopping the world:
 * cd_read_memstats takes bdwgc's allocation lock for a copy (about a
 * microsecond), cd_read_schedstats reads the pool's atomics, and cmdline
 * was copied from /proc/self/cmdline when the registry was created.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/mallocstats.h"
#include "vars/builtin.h"
#include "vars/cmdline.h"
#include "vars/gofloat.h"
#include "vars/registry.h"

/* ---- memstats ----------------------------------------------------------- */

/* `"Name":` as a literal, and the field written after it. */
#define KEY(b, lit) cd__buf_put(b, lit, sizeof lit - 1)

/* ",0" 64 times: a run of zeros is copied, not formatted. */
static const char zeros[] = ",0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0"
                            ",0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0";
#define ZEROS_MAX ((sizeof zeros - 1) / 2)

/* [a0,a1,...]. PauseNs and PauseEnd are 256 entries each, all 0 until
 * that many collections have run: most of a document's numbers, so runs
 * of zeros go in one copy each. */
static void u64_array(cd__buf *b, const uint64_t *a, size_t n)
{
    cd__buf_putc(b, '[');
    for (size_t i = 0; i < n;) {
        if (a[i] == 0) {
            size_t j = i + 1;
            while (j < n && a[j] == 0 && j - i < ZEROS_MAX)
                j++;
            /* The first element has no comma before it. */
            size_t skip = i == 0;
            cd__buf_put(b, zeros + skip, 2 * (j - i) - skip);
            i = j;
            continue;
        }
        if (i > 0)
            cd__buf_putc(b, ',');
        cd__buf_u64(b, a[i]);
        i++;
    }
    cd__buf_putc(b, ']');
}

void cd__memstats_json(cd__buf *b, const cd_memstats *m)
{
    /* ~600 numbers, mostly short: reserve once so growth is rare. */
    (void)cd__buf_grow(b, 16384);
    /* Go's runtime.MemStats field order (json.Marshal keeps it). */
    KEY(b, "{\"Alloc\":");
    cd__buf_u64(b, m->Alloc);
    KEY(b, ",\"TotalAlloc\":");
    cd__buf_u64(b, m->TotalAlloc);
    KEY(b, ",\"Sys\":");
    cd__buf_u64(b, m->Sys);
    KEY(b, ",\"Lookups\":");
    cd__buf_u64(b, m->Lookups);
    KEY(b, ",\"Mallocs\":");
    cd__buf_u64(b, m->Mallocs);
    KEY(b, ",\"Frees\":");
    cd__buf_u64(b, m->Frees);
    KEY(b, ",\"HeapAlloc\":");
    cd__buf_u64(b, m->HeapAlloc);
    KEY(b, ",\"HeapSys\":");
    cd__buf_u64(b, m->HeapSys);
    KEY(b, ",\"HeapIdle\":");
    cd__buf_u64(b, m->HeapIdle);
    KEY(b, ",\"HeapInuse\":");
    cd__buf_u64(b, m->HeapInuse);
    KEY(b, ",\"HeapReleased\":");
    cd__buf_u64(b, m->HeapReleased);
    KEY(b, ",\"HeapObjects\":");
    cd__buf_u64(b, m->HeapObjects);
    KEY(b, ",\"StackInuse\":");
    cd__buf_u64(b, m->StackInuse);
    KEY(b, ",\"StackSys\":");
    cd__buf_u64(b, m->StackSys);
    KEY(b, ",\"MSpanInuse\":");
    cd__buf_u64(b, m->MSpanInuse);
    KEY(b, ",\"MSpanSys\":");
    cd__buf_u64(b, m->MSpanSys);
    KEY(b, ",\"MCacheInuse\":");
    cd__buf_u64(b, m->MCacheInuse);
    KEY(b, ",\"MCacheSys\":");
    cd__buf_u64(b, m->MCacheSys);
    KEY(b, ",\"BuckHashSys\":");
    cd__buf_u64(b, m->BuckHashSys);
    KEY(b, ",\"GCSys\":");
    cd__buf_u64(b, m->GCSys);
    KEY(b, ",\"OtherSys\":");
    cd__buf_u64(b, m->OtherSys);
    KEY(b, ",\"NextGC\":");
    cd__buf_u64(b, m->NextGC);
    KEY(b, ",\"LastGC\":");
    cd__buf_u64(b, m->LastGC);
    KEY(b, ",\"PauseTotalNs\":");
    cd__buf_u64(b, m->PauseTotalNs);
    KEY(b, ",\"PauseNs\":");
    u64_array(b, m->PauseNs, 256);
    KEY(b, ",\"PauseEnd\":");
    u64_array(b, m->PauseEnd, 256);
    KEY(b, ",\"NumGC\":");
    cd__buf_u64(b, m->NumGC);
    KEY(b, ",\"NumForcedGC\":");
    cd__buf_u64(b, m->NumForcedGC);
    KEY(b, ",\"GCCPUFraction\":");
    char f[CD__FLOAT_BUF];
    cd__buf_put(b, f, cd__fmt_go_json(f, m->GCCPUFraction));
    KEY(b, ",\"EnableGC\":");
    cd__buf_puts(b, m->EnableGC ? "true" : "false");
    KEY(b, ",\"DebugGC\":");
    cd__buf_puts(b, m->DebugGC ? "true" : "false");
    KEY(b, ",\"BySize\":[");
    for (int i = 0; i < 61; i++) {
        if (i > 0)
            cd__buf_putc(b, ',');
        KEY(b, "{\"Size\":");
        cd__buf_u64(b, m->BySize[i].Size);
        KEY(b, ",\"Mallocs\":");
        cd__buf_u64(b, m->BySize[i].Mallocs);
        KEY(b, ",\"Frees\":");
        cd__buf_u64(b, m->BySize[i].Frees);
        cd__buf_putc(b, '}');
    }
    KEY(b, "]}");
}

static void memstats_json(cd__buf *b)
{
    /* ~6 KB: on the heap rather than a server thread's stack. */
    cd_memstats *m = malloc(sizeof *m);
    if (m == NULL) {
        cd__buf_fail(b);
        return;
    }
    cd_read_memstats(m);
    cd__memstats_json(b, m);
    free(m);
}

/* ---- malloc ------------------------------------------------------------- */

void cd__mallocstats_json(cd__buf *b, const cd__mallocstats *m)
{
    static const struct {
        unsigned bit;
        const char *key;
        size_t off;
    } fields[] = {
        {CD__MS_HEAP_ALLOC, ",\"HeapAlloc\":", offsetof(cd__mallocstats, heap_alloc)},
        {CD__MS_HEAP_SYS, ",\"HeapSys\":", offsetof(cd__mallocstats, heap_sys)},
        {CD__MS_HEAP_IDLE, ",\"HeapIdle\":", offsetof(cd__mallocstats, heap_idle)},
        {CD__MS_HEAP_INUSE, ",\"HeapInuse\":", offsetof(cd__mallocstats, heap_inuse)},
        {CD__MS_HEAP_RELEASED, ",\"HeapReleased\":", offsetof(cd__mallocstats, heap_released)},
    };
    KEY(b, "{\"Allocator\":\"");
    cd__buf_puts(b, m->allocator); /* a fixed word: nothing to escape */
    cd__buf_putc(b, '"');
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (!(m->have & fields[i].bit))
            continue;
        cd__buf_puts(b, fields[i].key);
        uint64_t v;
        memcpy(&v, (const char *)m + fields[i].off, sizeof v);
        cd__buf_u64(b, v);
    }
    cd__buf_putc(b, '}');
}

static void malloc_json(cd__buf *b)
{
    cd__mallocstats m;
    cd__mallocstats_read(&m);
    cd__mallocstats_json(b, &m);
}

/* ---- sched -------------------------------------------------------------- */

void cd__sched_json(cd__buf *b, const cd_schedstats *s)
{
    KEY(b, "{\"workers\":");
    cd__buf_u64(b, s->gomaxprocs);
    KEY(b, ",\"idle_workers\":");
    cd__buf_u64(b, s->idleprocs);
    KEY(b, ",\"threads\":");
    cd__buf_u64(b, s->threads);
    KEY(b, ",\"idle_threads\":");
    cd__buf_u64(b, s->idlethreads);
    KEY(b, ",\"spinning_threads\":");
    cd__buf_u64(b, s->spinningthreads);
    KEY(b, ",\"tasks_created\":");
    cd__buf_u64(b, s->tasks_created);
    KEY(b, ",\"tasks_running\":");
    cd__buf_u64(b, s->tasks_running);
    KEY(b, ",\"tasks_queued\":");
    cd__buf_u64(b, s->tasks_queued);
    KEY(b, ",\"tasks_blocked\":");
    cd__buf_u64(b, s->tasks_blocked);
    KEY(b, ",\"tasks_done\":");
    cd__buf_u64(b, s->tasks_done);
    KEY(b, ",\"steals\":");
    cd__buf_u64(b, s->steals);
    KEY(b, ",\"parks\":");
    cd__buf_u64(b, s->parks);
    KEY(b, ",\"handoffs\":");
    cd__buf_u64(b, s->handoffs);
    KEY(b, ",\"global_runqueue\":");
    cd__buf_u64(b, s->runqueue);
    KEY(b, ",\"runqueues\":[");
    uint32_t n = s->gomaxprocs < 1024 ? s->gomaxprocs : 1024;
    for (uint32_t i = 0; i < n; i++) {
        if (i > 0)
            cd__buf_putc(b, ',');
        cd__buf_u64(b, s->runq[i]);
    }
    KEY(b, "]}");
}

static void sched_json(cd__buf *b)
{
    cd_schedstats *s = malloc(sizeof *s); /* ~4 KB of run-queue lengths */
    if (s == NULL) {
        cd__buf_fail(b);
        return;
    }
    cd_read_schedstats(s);
    cd__sched_json(b, s);
    free(s);
}

/* ---- registration ------------------------------------------------------- */

static void add_builtin(const char *name, cd__builtin_json_fn fn)
{
    cd__var *v = cd__var_alloc(name, CD__K_BUILTIN);
    if (v == NULL)
        return; /* out of memory at start: the var is simply missing */
    v->u.builtin = fn;
    if (cd__var_insert(v) != 0)
        cd__var_free_unpublished(v);
}

void cd__builtins_register(void)
{
    cd__cmdline_read();
    add_builtin("cmdline", cd__cmdline_json);
    add_builtin("malloc", malloc_json);
    add_builtin("memstats", memstats_json);
    add_builtin("sched", sched_json);
}

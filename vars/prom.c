/* vars/prom.c - cd_vars_prometheus: Prometheus text exposition 0.0.4.
 *
 * Output: the runtime metrics first (GC, heap, scheduler: fixed names, see
 * docs/vars.md), then one or more families per user var in sorted name
 * order. Every family has # HELP and # TYPE lines and passes
 * `promtool check metrics` and its lint, provided the user's names carry
 * no unit abbreviation or type word (those lints are about meaning, which
 * sanitising cannot fix).
 *
 * Names: "cdebug_" + cd__prom_sanitise(name). Different var names can
 * sanitise to the same metric name ("a.b", "a-b", "aB"); collisions are
 * resolved per render in a fixed order: the runtime metrics claim their
 * names first, then families are claimed in the order they are written
 * (vars sorted bytewise by original name, a map's own family before its
 * "_info" family and its children in sorted key order). The first claimant
 * keeps the name, a later one takes the first free "_2", "_3", ... A
 * family claims every series name it writes (a histogram: name, _bucket,
 * _sum, _count), so no two families ever share a series name.
 *
 * Kinds: Int and Float -> one gauge (a counter when the name ends in
 * "_total"); String -> NAME_info{value="..."} 1; Map -> one gauge family
 * with a "key" label for its numeric entries, NAME_info{key,value} for its
 * strings, and each nested map flattened into NAME_<key> recursively; Func
 * -> a gauge when it returns a number, else a "# cdebug:" comment line;
 * Histogram -> a classic histogram (_bucket/_sum/_count). The built-in vars are not repeated:
 * the runtime metrics cover them (cmdline is left out on purpose).
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdebug/runtime.h"
#include "cdebug/sched.h"
#include "runtime/gcevents.h"
#include "runtime/mallocstats.h"
#include "base/buf.h"
#include "vars/gofloat.h"
#include "vars/prom.h"
#include "vars/registry.h"
#include "vars/types.h"

#define PREFIX "cdebug_"

static _Atomic size_t last_size = 8192;

size_t cd__prom_sanitise(const char *str, size_t n, char *out)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t o = 0;
    enum { SEP, LOWER, UPPER } prev = SEP;
    for (size_t i = 0; i < n; i++) {
        unsigned c = s[i];
        bool up = c >= 'A' && c <= 'Z', low = c >= 'a' && c <= 'z', dig = c >= '0' && c <= '9';
        if (up) {
            bool next_low = i + 1 < n && s[i + 1] >= 'a' && s[i + 1] <= 'z';
            if (o > 0 && out[o - 1] != '_' && (prev == LOWER || (prev == UPPER && next_low)))
                out[o++] = '_';
            out[o++] = (char)(c - 'A' + 'a');
            prev = UPPER;
        } else if (low || dig) {
            out[o++] = (char)c;
            prev = LOWER;
        } else {
            if (o > 0 && out[o - 1] != '_')
                out[o++] = '_';
            prev = SEP;
        }
    }
    while (o > 0 && out[o - 1] == '_')
        o--;
    if (o == 0) {
        memcpy(out, "var", 3);
        o = 3;
    }
    return o;
}

/* ---- names claimed in this render --------------------------------------- */

/* An open-addressing set of malloc'd names, per render. */
typedef struct nameset {
    char **slot;
    size_t cap, used;
} nameset;

typedef struct prom {
    cd__buf *b;
    nameset names;
} prom;

static size_t slot_of(const nameset *ns, const char *name)
{
    size_t i = cd__hash(name, strlen(name)) & (ns->cap - 1);
    while (ns->slot[i] != NULL && strcmp(ns->slot[i], name) != 0)
        i = (i + 1) & (ns->cap - 1);
    return i;
}

static bool taken(const nameset *ns, const char *name)
{
    return ns->cap > 0 && ns->slot[slot_of(ns, name)] != NULL;
}

/* Adds a copy of name. false when out of memory. */
static bool claim(nameset *ns, const char *name)
{
    if (2 * (ns->used + 1) > ns->cap) {
        size_t cap = ns->cap ? 2 * ns->cap : 64;
        nameset bigger = {calloc(cap, sizeof(char *)), cap, ns->used};
        if (bigger.slot == NULL)
            return false;
        for (size_t i = 0; i < ns->cap; i++)
            if (ns->slot[i] != NULL)
                bigger.slot[slot_of(&bigger, ns->slot[i])] = ns->slot[i];
        free(ns->slot);
        *ns = bigger;
    }
    size_t i = slot_of(ns, name);
    if (ns->slot[i] != NULL)
        return true;
    if ((ns->slot[i] = strdup(name)) == NULL)
        return false;
    ns->used++;
    return true;
}

static void nameset_free(nameset *ns)
{
    for (size_t i = 0; i < ns->cap; i++)
        free(ns->slot[i]);
    free(ns->slot);
}

/* Picks the family name for base: base itself when base+suffix is free
 * for every suffix, else the first free base_2, base_3, ...; claims all
 * the series names and returns the chosen name (malloc'd), NULL when out
 * of memory. suffixes is NULL-terminated; "" is the name itself. */
static char *resolve(prom *p, const char *base, const char *const *suffixes)
{
    size_t blen = strlen(base);
    char *name = malloc(blen + 24);
    char *series = malloc(blen + 48);
    if (name == NULL || series == NULL)
        goto oom;
    for (unsigned k = 1;; k++) {
        if (k == 1)
            memcpy(name, base, blen + 1);
        else
            snprintf(name, blen + 24, "%s_%u", base, k);
        bool ok = true;
        for (const char *const *s = suffixes; *s != NULL && ok; s++) {
            snprintf(series, blen + 48, "%s%s", name, *s);
            ok = !taken(&p->names, series);
        }
        if (ok)
            break;
    }
    for (const char *const *s = suffixes; *s != NULL; s++) {
        snprintf(series, blen + 48, "%s%s", name, *s);
        if (!claim(&p->names, series))
            goto oom;
    }
    free(series);
    return name;
oom:
    free(name);
    free(series);
    cd__buf_fail(p->b);
    return NULL;
}

static const char *const SUFFIX_PLAIN[] = {"", NULL};
static const char *const SUFFIX_HIST[] = {"", "_bucket", "_sum", "_count", NULL};

/* ---- writers ------------------------------------------------------------ */

static bool ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && memcmp(s + n - m, suffix, m) == 0;
}

/* Prometheus' float spelling is Go's: shortest 'g', NaN, +Inf, -Inf. */
static void put_float(cd__buf *b, double d)
{
    char f[CD__FLOAT_BUF];
    cd__buf_put(b, f, cd__fmt_go_g(f, d));
}

/* # HELP and # TYPE lines. help is written escaped; what, when not NULL,
 * is a var or key name quoted into the help text. */
static void header(cd__buf *b, const char *name, const char *type, const char *help,
                   const char *what, size_t whatlen)
{
    cd__buf_puts(b, "# HELP ");
    cd__buf_puts(b, name);
    cd__buf_putc(b, ' ');
    cd__buf_prom_text(b, help, strlen(help), "\\\n");
    if (what != NULL) {
        cd__buf_puts(b, " \"");
        cd__buf_prom_text(b, what, whatlen, "\\\n");
        cd__buf_putc(b, '"');
    }
    cd__buf_puts(b, "\n# TYPE ");
    cd__buf_puts(b, name);
    cd__buf_putc(b, ' ');
    cd__buf_puts(b, type);
    cd__buf_putc(b, '\n');
}

/* `name{label="value"} ` (no braces when label is NULL). */
static void series(cd__buf *b, const char *name, const char *label, const char *val, size_t vlen)
{
    cd__buf_puts(b, name);
    if (label != NULL) {
        cd__buf_putc(b, '{');
        cd__buf_puts(b, label);
        cd__buf_puts(b, "=\"");
        cd__buf_prom_text(b, val, vlen, "\\\"\n");
        cd__buf_puts(b, "\"}");
    }
    cd__buf_putc(b, ' ');
}

/* A runtime metric with a single unlabelled integer sample. */
static void metric_u64(prom *p, const char *name, const char *type, const char *help, uint64_t v)
{
    (void)claim(&p->names, name);
    header(p->b, name, type, help, NULL, 0);
    series(p->b, name, NULL, NULL, 0);
    cd__buf_u64(p->b, v);
    cd__buf_putc(p->b, '\n');
}

static void metric_f64(prom *p, const char *name, const char *help, double v)
{
    (void)claim(&p->names, name);
    header(p->b, name, "gauge", help, NULL, 0);
    series(p->b, name, NULL, NULL, 0);
    put_float(p->b, v);
    cd__buf_putc(p->b, '\n');
}

/* The _bucket/_sum/_count lines of a histogram (cumulative buckets). */
static void hist_lines(cd__buf *b, const char *name, const double *bounds, size_t nb,
                       const uint64_t *counts, double sum)
{
    uint64_t cum = 0;
    size_t nlen = strlen(name);
    for (size_t i = 0; i <= nb; i++) {
        cum += counts[i];
        cd__buf_put(b, name, nlen);
        cd__buf_puts(b, "_bucket{le=\"");
        if (i < nb)
            put_float(b, bounds[i]);
        else
            cd__buf_puts(b, "+Inf");
        cd__buf_puts(b, "\"} ");
        cd__buf_u64(b, cum);
        cd__buf_putc(b, '\n');
    }
    cd__buf_put(b, name, nlen);
    cd__buf_puts(b, "_sum ");
    put_float(b, sum);
    cd__buf_putc(b, '\n');
    cd__buf_put(b, name, nlen);
    cd__buf_puts(b, "_count ");
    cd__buf_u64(b, cum);
    cd__buf_putc(b, '\n');
}

/* ---- runtime metrics ---------------------------------------------------- */

static void runtime_metrics(prom *p, const cd_memstats *m, const cd_schedstats *s)
{
    cd__buf *b = p->b;

    uint64_t counts[CD__GC_PAUSE_BUCKETS + 1], sum_ns;
    double bounds[CD__GC_PAUSE_BUCKETS];
    cd__gcevents_pause_hist(counts, &sum_ns);
    for (int i = 0; i < CD__GC_PAUSE_BUCKETS; i++)
        bounds[i] = (double)cd__gc_pause_bounds_ns[i] / 1e9;
    static const char *const pause = PREFIX "gc_pause_seconds";
    for (const char *const *sfx = SUFFIX_HIST; *sfx != NULL; sfx++) {
        char nm[64];
        snprintf(nm, sizeof nm, "%s%s", pause, *sfx);
        (void)claim(&p->names, nm);
    }
    header(b, pause, "histogram", "Stop-the-world pauses of the garbage collector.", NULL, 0);
    hist_lines(b, pause, bounds, CD__GC_PAUSE_BUCKETS, counts, (double)sum_ns / 1e9);

    metric_u64(p, PREFIX "gc_count_total", "counter", "Completed garbage collections (NumGC).",
               m->NumGC);
    metric_u64(p, PREFIX "gc_forced_count_total", "counter",
               "Collections forced by cd_gc() (NumForcedGC).", m->NumForcedGC);
    metric_u64(p, PREFIX "gc_next_bytes", "gauge",
               "Heap size at which the next collection is expected (NextGC).", m->NextGC);
    metric_f64(p, PREFIX "gc_cpu_fraction",
               "Share of the available CPU used by the collector since start (GCCPUFraction).",
               m->GCCPUFraction);
    metric_f64(p, PREFIX "gc_last_time_seconds",
               "End of the last collection, seconds since 1970 (LastGC), 0 before the first.",
               (double)m->LastGC / 1e9);
    metric_u64(p, PREFIX "heap_alloc_bytes", "gauge",
               "Bytes of allocated heap objects (HeapAlloc, an upper-bound estimate).",
               m->HeapAlloc);
    metric_u64(p, PREFIX "heap_sys_bytes", "gauge",
               "Bytes of heap obtained from the OS (HeapSys).", m->HeapSys);
    metric_u64(p, PREFIX "heap_idle_bytes", "gauge",
               "Bytes in heap blocks holding no object (HeapIdle).", m->HeapIdle);
    metric_u64(p, PREFIX "heap_inuse_bytes", "gauge",
               "Bytes in heap blocks holding objects (HeapInuse).", m->HeapInuse);
    metric_u64(p, PREFIX "heap_released_bytes", "gauge",
               "Bytes of heap returned to the OS (HeapReleased).", m->HeapReleased);
    metric_u64(p, PREFIX "heap_objects", "gauge",
               "Allocated heap objects (HeapObjects, an estimate).", m->HeapObjects);
    metric_u64(p, PREFIX "sys_bytes", "gauge",
               "Bytes obtained from the OS by the collector (Sys).", m->Sys);
    metric_u64(p, PREFIX "alloc_bytes_total", "counter",
               "Bytes allocated since start (TotalAlloc).", m->TotalAlloc);
    metric_u64(p, PREFIX "mallocs_total", "counter",
               "Objects allocated by cd_alloc and friends since start (Mallocs).", m->Mallocs);

    metric_u64(p, PREFIX "workers", "gauge", "Workers, the P of Go's scheduler (CDMAXPROCS).",
               s->gomaxprocs);
    metric_u64(p, PREFIX "idle_workers", "gauge", "Workers with no thread running tasks.",
               s->idleprocs);
    metric_u64(p, PREFIX "threads", "gauge", "OS threads known to cdebug.", s->threads);
    metric_u64(p, PREFIX "idle_threads", "gauge", "Pool threads parked without a worker.",
               s->idlethreads);
    metric_u64(p, PREFIX "spinning_threads", "gauge", "Threads looking for work.",
               s->spinningthreads);
    metric_u64(p, PREFIX "global_runqueue_tasks", "gauge", "Runnable tasks in the global queue.",
               s->runqueue);

    static const char *const rq = PREFIX "runqueue_tasks";
    (void)claim(&p->names, rq);
    header(b, rq, "gauge", "Runnable tasks in each worker's local queue.", NULL, 0);
    uint32_t nw = s->gomaxprocs < 1024 ? s->gomaxprocs : 1024;
    for (uint32_t i = 0; i < nw; i++) {
        char w[16];
        int wl = snprintf(w, sizeof w, "%u", i);
        series(b, rq, "worker", w, (size_t)wl);
        cd__buf_u64(b, s->runq[i]);
        cd__buf_putc(b, '\n');
    }

    metric_u64(p, PREFIX "tasks_created_total", "counter", "Tasks spawned since start.",
               s->tasks_created);
    metric_u64(p, PREFIX "tasks_done_total", "counter", "Tasks completed since start.",
               s->tasks_done);
    metric_u64(p, PREFIX "tasks_running", "gauge", "Tasks running now, blocked ones included.",
               s->tasks_running);
    metric_u64(p, PREFIX "tasks_queued", "gauge", "Runnable tasks in all queues.",
               s->tasks_queued);
    metric_u64(p, PREFIX "tasks_blocked", "gauge", "Tasks inside cd_block_begin/end.",
               s->tasks_blocked);
    metric_u64(p, PREFIX "sched_steals_total", "counter",
               "Successful steals from another worker's queue.", s->steals);
    metric_u64(p, PREFIX "sched_parks_total", "counter", "Times a thread parked for lack of work.",
               s->parks);
    metric_u64(p, PREFIX "sched_handoffs_total", "counter",
               "Workers handed to another thread when a task blocked.", s->handoffs);
}

/* The malloc heap (runtime/mallocstats.h): an info series naming the
 * allocator, then the figures it gives, under the names of the collected
 * heap's with "malloc_" (the `malloc` var's fields). */
static void malloc_metrics(prom *p)
{
    cd__mallocstats m;
    cd__mallocstats_read(&m);
    static const char *const info = PREFIX "malloc_info";
    (void)claim(&p->names, info);
    header(p->b, info, "gauge", "The allocator serving malloc (always 1).", NULL, 0);
    series(p->b, info, "allocator", m.allocator, strlen(m.allocator));
    cd__buf_puts(p->b, "1\n");
    static const struct {
        unsigned bit;
        const char *name, *help;
        size_t off;
    } fields[] = {
        {CD__MS_HEAP_ALLOC, PREFIX "malloc_heap_alloc_bytes",
         "Bytes in malloc'd blocks not yet freed (malloc.HeapAlloc).",
         offsetof(cd__mallocstats, heap_alloc)},
        {CD__MS_HEAP_SYS, PREFIX "malloc_heap_sys_bytes",
         "Bytes of malloc heap obtained from the OS (malloc.HeapSys).",
         offsetof(cd__mallocstats, heap_sys)},
        {CD__MS_HEAP_IDLE, PREFIX "malloc_heap_idle_bytes",
         "Bytes of malloc heap holding no block (malloc.HeapIdle).",
         offsetof(cd__mallocstats, heap_idle)},
        {CD__MS_HEAP_INUSE, PREFIX "malloc_heap_inuse_bytes",
         "Bytes of malloc heap holding blocks (malloc.HeapInuse).",
         offsetof(cd__mallocstats, heap_inuse)},
        {CD__MS_HEAP_RELEASED, PREFIX "malloc_heap_released_bytes",
         "Bytes of malloc heap returned to the OS (malloc.HeapReleased).",
         offsetof(cd__mallocstats, heap_released)},
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (!(m.have & fields[i].bit))
            continue;
        uint64_t v;
        memcpy(&v, (const char *)&m + fields[i].off, sizeof v);
        metric_u64(p, fields[i].name, "gauge", fields[i].help, v);
    }
}

/* ---- user vars ---------------------------------------------------------- */

/* "cdebug_" + sanitised name, or parent + "_" + sanitised key (malloc'd). */
static char *base_name(const char *parent, const char *s, size_t n)
{
    size_t plen = parent ? strlen(parent) : strlen(PREFIX);
    char *out = malloc(plen + 1 + 2 * n + 5);
    if (out == NULL)
        return NULL;
    size_t o;
    if (parent != NULL) {
        memcpy(out, parent, plen);
        out[plen] = '_';
        o = plen + 1;
    } else {
        memcpy(out, PREFIX, plen);
        o = plen;
    }
    o += cd__prom_sanitise(s, n, out + o);
    out[o] = '\0';
    return out;
}

/* Claims and returns the name for a family derived from base + suffix. */
static char *family(prom *p, const char *base, const char *suffix, const char *const *series_sfx)
{
    size_t n = strlen(base) + strlen(suffix) + 1;
    char *full = malloc(n);
    if (full == NULL) {
        cd__buf_fail(p->b);
        return NULL;
    }
    snprintf(full, n, "%s%s", base, suffix);
    char *name = resolve(p, full, series_sfx);
    free(full);
    return name;
}

static void user_map(prom *p, const struct cd_map *m, const char *base, const char *vname,
                     size_t vlen);

/* Writes one numeric sample line with an optional key label. */
static void entry_sample(cd__buf *b, const char *name, const cd__entry *e)
{
    series(b, name, "key", e->key, e->keylen);
    if (e->kind == CD__K_INT)
        cd__buf_i64(b, atomic_load_explicit(&((cd__entry *)e)->u.i.v, memory_order_relaxed));
    else
        put_float(b, cd__float_load(&e->u.f));
    cd__buf_putc(b, '\n');
}

/* Label-value escaping, in the shape cd__string_with wants. */
static void put_label_value(cd__buf *b, const char *s, size_t n)
{
    cd__buf_prom_text(b, s, n, "\\\"\n");
}

/* `name{[key="k",]value="v"} 1`: the value is escaped inside the RCU
 * read-side section that keeps it alive (cd__string_with). */
static void string_sample(cd__buf *b, const char *name, const cd__entry *e,
                          const struct cd_string *s)
{
    cd__buf_puts(b, name);
    cd__buf_putc(b, '{');
    if (e != NULL) {
        cd__buf_puts(b, "key=\"");
        put_label_value(b, e->key, e->keylen);
        cd__buf_puts(b, "\",");
    }
    cd__buf_puts(b, "value=\"");
    cd__string_with(b, s, put_label_value);
    cd__buf_puts(b, "\"} 1\n");
}

static void user_map(prom *p, const struct cd_map *m, const char *base, const char *vname,
                     size_t vlen)
{
    cd__buf *b = p->b;
    size_t n;
    cd__entry **es = cd__map_sorted(m, &n);
    if (es == NULL) {
        cd__buf_fail(b);
        return;
    }
    size_t nnum = 0, nstr = 0;
    for (size_t i = 0; i < n; i++) {
        nnum += es[i]->kind == CD__K_INT || es[i]->kind == CD__K_FLOAT;
        nstr += es[i]->kind == CD__K_STRING;
    }
    char *name = NULL, *info = NULL;
    if (nnum > 0 && (name = family(p, base, "", SUFFIX_PLAIN)) != NULL) {
        header(b, name, ends_with(name, "_total") ? "counter" : "gauge", "cdebug map", vname,
               vlen);
        for (size_t i = 0; i < n; i++)
            if (es[i]->kind == CD__K_INT || es[i]->kind == CD__K_FLOAT)
                entry_sample(b, name, es[i]);
    }
    if (nstr > 0 && (info = family(p, base, "_info", SUFFIX_PLAIN)) != NULL) {
        header(b, info, "gauge", "cdebug map strings", vname, vlen);
        for (size_t i = 0; i < n; i++)
            if (es[i]->kind == CD__K_STRING)
                string_sample(b, info, es[i], &es[i]->u.s);
    }
    /* Children after the parent's own families, in key order: the rule
     * that makes collision resolution deterministic. Their HELP names the
     * parent's var and the key path. */
    for (size_t i = 0; i < n && !b->oom; i++) {
        if (es[i]->kind != CD__K_MAP)
            continue;
        char *cbase = base_name(base, es[i]->key, es[i]->keylen);
        size_t plen = vlen + 1 + es[i]->keylen;
        char *path = malloc(plen + 1);
        if (cbase == NULL || path == NULL) {
            free(cbase);
            free(path);
            cd__buf_fail(b);
            break;
        }
        memcpy(path, vname, vlen);
        path[vlen] = '.';
        memcpy(path + vlen + 1, es[i]->key, es[i]->keylen);
        path[plen] = '\0';
        user_map(p, &es[i]->u.m, cbase, path, plen);
        free(cbase);
        free(path);
    }
    free(name);
    free(info);
    free(es);
}

static void user_var(prom *p, cd__var *v)
{
    cd__buf *b = p->b;
    if (v->kind == CD__K_BUILTIN)
        return; /* covered by the runtime metrics */
    char *base = base_name(NULL, v->name, v->namelen);
    if (base == NULL) {
        cd__buf_fail(b);
        return;
    }
    char *name = NULL;
    switch (v->kind) {
    case CD__K_INT:
    case CD__K_FLOAT:
        if ((name = family(p, base, "", SUFFIX_PLAIN)) == NULL)
            break;
        header(b, name, ends_with(name, "_total") ? "counter" : "gauge",
               v->kind == CD__K_INT ? "cdebug int" : "cdebug float", v->name, v->namelen);
        series(b, name, NULL, NULL, 0);
        if (v->kind == CD__K_INT)
            cd__buf_i64(b, cd_int_value(&v->u.i));
        else
            put_float(b, cd__float_load(&v->u.f));
        cd__buf_putc(b, '\n');
        break;
    case CD__K_STRING:
        if ((name = family(p, base, "_info", SUFFIX_PLAIN)) == NULL)
            break;
        header(b, name, "gauge", "cdebug string", v->name, v->namelen);
        string_sample(b, name, NULL, &v->u.s);
        break;
    case CD__K_MAP:
        user_map(p, &v->u.m, base, v->name, v->namelen);
        break;
    case CD__K_FUNC: {
        json_t *j = v->u.func.fn(v->u.func.arg);
        if (json_is_number(j)) {
            if ((name = family(p, base, "", SUFFIX_PLAIN)) != NULL) {
                header(b, name, ends_with(name, "_total") ? "counter" : "gauge", "cdebug func",
                       v->name, v->namelen);
                series(b, name, NULL, NULL, 0);
                if (json_is_integer(j))
                    cd__buf_i64(b, (int64_t)json_integer_value(j));
                else
                    put_float(b, json_real_value(j));
                cd__buf_putc(b, '\n');
            }
        } else {
            /* A comment line: parsers skip it, a reader learns why the
             * var is missing. The name is the sanitised one (no newline
             * can reach the output). */
            cd__buf_puts(b, "# cdebug: func var ");
            cd__buf_puts(b, base);
            cd__buf_puts(b, " skipped: its value is not a number\n");
        }
        json_decref(j);
        break;
    }
    case CD__K_HIST: {
        if ((name = family(p, base, "", SUFFIX_HIST)) == NULL)
            break;
        cd__hist_snap s;
        cd__hist_read(&v->u.h, &s);
        header(b, name, "histogram", "cdebug histogram", v->name, v->namelen);
        hist_lines(b, name, s.bounds, s.nbounds, s.counts, s.sum);
        break;
    }
    case CD__K_BUILTIN:
        break;
    }
    free(name);
    free(base);
}

char *cd_vars_prometheus(void)
{
    size_t n;
    cd__var **vars = cd__vars_sorted(&n);
    if (vars == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    cd_memstats *m = malloc(sizeof *m);
    cd_schedstats *s = malloc(sizeof *s);
    cd__buf b;
    cd__buf_init(&b, atomic_load_explicit(&last_size, memory_order_relaxed) + 1024);
    prom p = {&b, {NULL, 0, 0}};
    if (m == NULL || s == NULL) {
        cd__buf_fail(&b);
    } else {
        cd_read_memstats(m);
        cd_read_schedstats(s);
        runtime_metrics(&p, m, s);
        malloc_metrics(&p);
        for (size_t i = 0; i < n && !b.oom; i++)
            user_var(&p, vars[i]);
    }
    free(m);
    free(s);
    free(vars);
    nameset_free(&p.names);
    atomic_store_explicit(&last_size, b.len, memory_order_relaxed);
    char *doc = cd__buf_finish(&b);
    if (doc == NULL)
        errno = ENOMEM;
    return doc;
}

/* prof/pprof.c - see pprof.h.
 *
 * Addresses: a Location's address and its Mapping's range are in the
 * mapped file's own (link-time) addresses, not the process's: the pc less
 * the file's load bias (base/symbolize.h, cd__sym.objaddr and
 * cd__mapping.obj_*), as a non-PIE Go binary's are. `go tool pprof`
 * disassembles and finds lines at the profile's addresses without
 * relocating them, so -disasm, -weblist and the web UI's source view need
 * them (with the process's addresses they came back empty for a PIE
 * executable and every shared library). Upstream pprof relocates with the
 * mapping (base start - offset + p_offset - p_vaddr = 0) and reads the
 * same. Two files' addresses may now coincide; the Locations stay
 * distinct (by id and mapping). The addresses in the text forms
 * (debug=1) stay the process's, as Go prints them.
 *
 * Stacks are cut at their first pc in no code (cd__sym_cut) when the
 * profile is encoded, before the samples are merged.
 *
 * Nothing is deduplicated while samples come in (adding a sample is a copy);
 * at encode time every table is built by sorting: samples (to merge equal
 * ones), addresses (Locations), (name, file) pairs (Functions) and strings
 * (the string table). Each id is then found by binary search. Sorting keeps
 * this file free of hash tables and makes the output deterministic.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zlib.h>

#include "prof/pprof.h"
#include "base/buf.h"
#include "base/dlhist.h"
#include "base/symbolize.h"
#include "base/io.h"

typedef struct psample {
    uintptr_t *pcs; /* symbolization addresses, innermost first */
    size_t n;
    uint32_t epoch; /* base/dlhist.h's, when the stack was taken */
    int64_t v[CD__PPROF_MAX_VALUES];
    cd__pprof_label *labels; /* strings owned */
    size_t nl;
} psample;

struct cd__pprof {
    char *types[CD__PPROF_MAX_VALUES], *units[CD__PPROF_MAX_VALUES];
    size_t ntypes;
    char *period_type, *period_unit, *default_type;
    int64_t period, time_ns, duration_ns;
    char **comments;
    size_t ncomments;
    psample *s;
    size_t ns, cap;
    cd__pprof_lookup_fn lookup; /* recorded stacks (cd__pprof_symbols), or NULL */
    void *lookup_ctx;
};

/* ---- building --------------------------------------------------------------- */

cd__pprof *cd__pprof_new(void)
{
    return calloc(1, sizeof(cd__pprof));
}

static void free_sample(psample *s)
{
    for (size_t i = 0; i < s->nl; i++) {
        free((char *)s->labels[i].key);
        free((char *)s->labels[i].str);
        free((char *)s->labels[i].unit);
    }
    free(s->labels);
    free(s->pcs);
}

void cd__pprof_free(cd__pprof *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->ntypes; i++) {
        free(p->types[i]);
        free(p->units[i]);
    }
    for (size_t i = 0; i < p->ncomments; i++)
        free(p->comments[i]);
    free(p->comments);
    free(p->period_type);
    free(p->period_unit);
    free(p->default_type);
    for (size_t i = 0; i < p->ns; i++)
        free_sample(&p->s[i]);
    free(p->s);
    free(p);
}

/* strdup that keeps NULL as NULL; *ok cleared on out of memory. */
static char *copy_str(const char *s, bool *ok)
{
    if (s == NULL)
        return NULL;
    char *d = strdup(s);
    if (d == NULL)
        *ok = false;
    return d;
}

int cd__pprof_sample_type(cd__pprof *p, const char *type, const char *unit)
{
    if (p->ntypes == CD__PPROF_MAX_VALUES)
        return -E2BIG;
    bool ok = true;
    char *t = copy_str(type, &ok), *u = copy_str(unit, &ok);
    if (!ok) {
        free(t);
        free(u);
        return -ENOMEM;
    }
    p->types[p->ntypes] = t;
    p->units[p->ntypes++] = u;
    return 0;
}

int cd__pprof_period(cd__pprof *p, const char *type, const char *unit, int64_t period)
{
    bool ok = true;
    free(p->period_type);
    free(p->period_unit);
    p->period_type = copy_str(type, &ok);
    p->period_unit = copy_str(unit, &ok);
    p->period = period;
    return ok ? 0 : -ENOMEM;
}

void cd__pprof_time(cd__pprof *p, int64_t time_ns, int64_t duration_ns)
{
    p->time_ns = time_ns;
    p->duration_ns = duration_ns;
}

int cd__pprof_default_type(cd__pprof *p, const char *type)
{
    bool ok = true;
    free(p->default_type);
    p->default_type = copy_str(type, &ok);
    return ok ? 0 : -ENOMEM;
}

void cd__pprof_symbols(cd__pprof *p, cd__pprof_lookup_fn fn, void *ctx)
{
    p->lookup = fn;
    p->lookup_ctx = ctx;
}

int cd__pprof_comment(cd__pprof *p, const char *text)
{
    char **v = realloc(p->comments, (p->ncomments + 1) * sizeof *v);
    if (v == NULL)
        return -ENOMEM;
    p->comments = v;
    bool ok = true;
    v[p->ncomments] = copy_str(text, &ok);
    if (!ok)
        return -ENOMEM;
    p->ncomments++;
    return 0;
}

/* Appends a sample whose pcs are already symbolization addresses. */
static int add_sample(cd__pprof *p, const uintptr_t *pcs, size_t n, uint32_t epoch,
                      const int64_t *values, const cd__pprof_label *labels, size_t nlabels)
{
    if (p->ns == p->cap) {
        size_t cap = p->cap ? p->cap * 2 : 64;
        psample *v = realloc(p->s, cap * sizeof *v);
        if (v == NULL)
            return -ENOMEM;
        p->s = v;
        p->cap = cap;
    }
    psample s = {0};
    s.pcs = malloc((n ? n : 1) * sizeof *s.pcs);
    s.labels = calloc(nlabels ? nlabels : 1, sizeof *s.labels);
    bool ok = s.pcs != NULL && s.labels != NULL;
    for (size_t i = 0; ok && i < n; i++)
        s.pcs[i] = pcs[i];
    s.n = n;
    s.epoch = epoch;
    for (size_t i = 0; i < p->ntypes; i++)
        s.v[i] = values[i];
    for (size_t i = 0; ok && i < nlabels; i++) {
        s.labels[i].key = copy_str(labels[i].key ? labels[i].key : "", &ok);
        s.labels[i].str = copy_str(labels[i].str, &ok);
        s.labels[i].unit = copy_str(labels[i].unit, &ok);
        s.labels[i].num = labels[i].num;
        s.nl = i + 1;
    }
    if (!ok) {
        free_sample(&s);
        return -ENOMEM;
    }
    p->s[p->ns++] = s;
    return 0;
}

int cd__pprof_sample(cd__pprof *p, const uintptr_t *pcs, size_t n, bool leaf_exact,
                     const int64_t *values, const cd__pprof_label *labels, size_t nlabels)
{
    return cd__pprof_sample_at(p, pcs, n, leaf_exact, CD__DL_EPOCH_NOW, values, labels, nlabels);
}

int cd__pprof_sample_at(cd__pprof *p, const uintptr_t *pcs, size_t n, bool leaf_exact,
                        uint32_t epoch, const int64_t *values, const cd__pprof_label *labels,
                        size_t nlabels)
{
    uintptr_t adj[64] = {0}, *a = n <= 64 ? adj : malloc(n * sizeof *a);
    if (a == NULL)
        return -ENOMEM;
    /* A return address is symbolized as the call before it; a recorded
     * stack's pcs are its symbols' keys, kept as they are. */
    for (size_t i = 0; i < n; i++)
        a[i] = (i == 0 && leaf_exact) || pcs[i] == 0 || p->lookup != NULL ? pcs[i] : pcs[i] - 1;
    int rc = add_sample(p, a, n, epoch, values, labels, nlabels);
    if (a != adj)
        free(a);
    return rc;
}

int cd__pprof_subtract(cd__pprof *p, const cd__pprof *base)
{
    if (p->ntypes != base->ntypes)
        return -EINVAL;
    for (size_t i = 0; i < base->ns; i++) {
        const psample *b = &base->s[i];
        int64_t v[CD__PPROF_MAX_VALUES];
        for (size_t t = 0; t < base->ntypes; t++)
            v[t] = -b->v[t];
        /* pcs are already symbolization addresses: add them as exact. */
        int rc = add_sample(p, b->pcs, b->n, b->epoch, v, b->labels, b->nl);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- sorting helpers ------------------------------------------------------------ */

static int cmp_str0(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static int cmp_sample(const void *x, const void *y)
{
    const psample *a = x, *b = y;
    if (a->n != b->n)
        return a->n < b->n ? -1 : 1;
    for (size_t i = 0; i < a->n; i++)
        if (a->pcs[i] != b->pcs[i])
            return a->pcs[i] < b->pcs[i] ? -1 : 1;
    if (a->epoch != b->epoch)
        return a->epoch < b->epoch ? -1 : 1;
    if (a->nl != b->nl)
        return a->nl < b->nl ? -1 : 1;
    for (size_t i = 0; i < a->nl; i++) {
        int c = cmp_str0(a->labels[i].key, b->labels[i].key);
        if (c == 0)
            c = cmp_str0(a->labels[i].str, b->labels[i].str);
        if (c == 0)
            c = cmp_str0(a->labels[i].unit, b->labels[i].unit);
        if (c == 0 && a->labels[i].num != b->labels[i].num)
            c = a->labels[i].num < b->labels[i].num ? -1 : 1;
        if ((a->labels[i].str == NULL) != (b->labels[i].str == NULL))
            c = a->labels[i].str == NULL ? -1 : 1;
        if (c != 0)
            return c;
    }
    return 0;
}

/* A Location: an address, and the library it lies in (base/symbolize.h's
 * cd__sym_which: 0 what is mapped now, else an unloaded one). */
typedef struct loc {
    uintptr_t pc;
    uint32_t which;
} loc;

static int cmp_loc(const void *x, const void *y)
{
    const loc *a = x, *b = y;
    if (a->pc != b->pc)
        return a->pc < b->pc ? -1 : 1;
    return a->which < b->which ? -1 : a->which > b->which;
}

static int cmp_pstr(const void *x, const void *y)
{
    return strcmp(*(const char *const *)x, *(const char *const *)y);
}

typedef struct func {
    const char *name, *file;
} func;

static int cmp_func(const void *x, const void *y)
{
    const func *a = x, *b = y;
    int c = strcmp(a->name, b->name);
    return c ? c : strcmp(a->file, b->file);
}

/* Sorts v (n elements of size sz) and removes duplicates; returns the new
 * count. */
static size_t sort_unique(void *v, size_t n, size_t sz, int (*cmp)(const void *, const void *))
{
    if (n == 0)
        return 0;
    qsort(v, n, sz, cmp);
    char *b = v;
    size_t k = 1;
    for (size_t i = 1; i < n; i++)
        if (cmp(b + (k - 1) * sz, b + i * sz) != 0)
            memmove(b + k++ * sz, b + i * sz, sz);
    return k;
}

/* ---- the wire format ------------------------------------------------------------- */

/* Messages are built in base/buf.h's buffers; integers are varints
 * (cd__buf_uvarint). */

/* field with wire type 0 (varint); zero values are left out (proto3). */
static void pb_int(cd__buf *b, int field, int64_t v)
{
    if (v == 0)
        return;
    cd__buf_uvarint(b, (uint64_t)field << 3);
    cd__buf_uvarint(b, (uint64_t)v);
}

static void pb_bool(cd__buf *b, int field, bool v)
{
    pb_int(b, field, v ? 1 : 0);
}

/* field with wire type 2: a nested message, string or packed array. */
static void pb_len(cd__buf *b, int field, const void *p, size_t n)
{
    cd__buf_uvarint(b, (uint64_t)field << 3 | 2);
    cd__buf_uvarint(b, n);
    cd__buf_put(b, p, n); /* n 0: p may be NULL (an empty message) */
}

/* Appends the message in m as field `field` of b and empties m. */
static void pb_msg(cd__buf *b, int field, cd__buf *m)
{
    if (m->oom)
        cd__buf_fail(b);
    pb_len(b, field, m->p, m->len);
    cd__buf_reset(m);
}

/* ---- encoding ---------------------------------------------------------------------- */

typedef struct enc {
    cd__pprof *p;
    const char **strs; /* sorted unique strings; strs[0] is "" */
    size_t nstrs;
    cd__symctx *sym;
    loc *addrs; /* sorted unique: Location i + 1 */
    size_t naddrs;
    cd__sym *syms; /* per address */
    func *funcs;   /* sorted unique: Function i + 1 */
    size_t nfuncs;
    const cd__mapping *maps;
    size_t nmaps;
} enc;

static int64_t str_id(const enc *e, const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    const char **hit = bsearch(&s, e->strs, e->nstrs, sizeof *e->strs, cmp_pstr);
    return hit ? hit - e->strs : 0;
}

static uint64_t loc_id(const enc *e, uintptr_t pc, uint32_t epoch)
{
    loc k = {pc, e->sym != NULL ? cd__sym_which(e->sym, pc, epoch) : 0};
    loc *hit = bsearch(&k, e->addrs, e->naddrs, sizeof k, cmp_loc);
    return hit ? (uint64_t)(hit - e->addrs) + 1 : 0;
}

static uint64_t func_id(const enc *e, const cd__sym *s)
{
    func k = {s->func, s->file};
    func *hit = bsearch(&k, e->funcs, e->nfuncs, sizeof k, cmp_func);
    return hit ? (uint64_t)(hit - e->funcs) + 1 : 0;
}

/* Every string the message refers to, sorted and unique, "" first. */
static int collect_strings(enc *e)
{
    cd__pprof *p = e->p;
    size_t n = 8 + 2 * p->ntypes + p->ncomments + 2 * e->nfuncs + 2 * e->nmaps;
    for (size_t i = 0; i < p->ns; i++)
        n += 3 * p->s[i].nl;
    const char **v = malloc(n * sizeof *v);
    if (v == NULL)
        return -ENOMEM;
    size_t k = 0;
    v[k++] = "";
#define ADD(s)                                                                                     \
    do {                                                                                           \
        if ((s) != NULL)                                                                           \
            v[k++] = (s);                                                                          \
    } while (0)
    for (size_t i = 0; i < p->ntypes; i++) {
        ADD(p->types[i]);
        ADD(p->units[i]);
    }
    ADD(p->period_type);
    ADD(p->period_unit);
    ADD(p->default_type);
    for (size_t i = 0; i < p->ncomments; i++)
        ADD(p->comments[i]);
    for (size_t i = 0; i < p->ns; i++)
        for (size_t j = 0; j < p->s[i].nl; j++) {
            ADD(p->s[i].labels[j].key);
            ADD(p->s[i].labels[j].str);
            ADD(p->s[i].labels[j].unit);
        }
    for (size_t i = 0; i < e->nfuncs; i++) {
        ADD(e->funcs[i].name);
        ADD(e->funcs[i].file);
    }
    for (size_t i = 0; i < e->nmaps; i++) {
        ADD(e->maps[i].file);
        ADD(e->maps[i].build_id);
    }
#undef ADD
    e->strs = v;
    e->nstrs = sort_unique(v, k, sizeof *v, cmp_pstr);
    return 0;
}

/* Merges equal samples (same stack and labels): values summed. */
static void merge_samples(cd__pprof *p)
{
    if (p->ns == 0)
        return;
    qsort(p->s, p->ns, sizeof *p->s, cmp_sample);
    size_t k = 0;
    for (size_t i = 1; i < p->ns; i++) {
        if (cmp_sample(&p->s[k], &p->s[i]) == 0) {
            for (size_t t = 0; t < p->ntypes; t++)
                p->s[k].v[t] += p->s[i].v[t];
            free_sample(&p->s[i]);
        } else {
            p->s[++k] = p->s[i];
        }
    }
    p->ns = k + 1;
    /* Samples cancelled out by cd__pprof_subtract carry nothing. */
    size_t j = 0;
    for (size_t i = 0; i < p->ns; i++) {
        bool zero = p->ntypes > 0;
        for (size_t t = 0; t < p->ntypes; t++)
            zero &= p->s[i].v[t] == 0;
        if (zero)
            free_sample(&p->s[i]);
        else
            p->s[j++] = p->s[i];
    }
    p->ns = j;
}

static void encode_body(enc *e, cd__buf *out)
{
    cd__pprof *p = e->p;
    cd__buf m = {0}, sub = {0};
    for (size_t i = 0; i < p->ntypes; i++) { /* 1: sample_type */
        pb_int(&m, 1, str_id(e, p->types[i]));
        pb_int(&m, 2, str_id(e, p->units[i]));
        pb_msg(out, 1, &m);
    }
    for (size_t i = 0; i < p->ns; i++) { /* 2: sample */
        const psample *s = &p->s[i];
        for (size_t j = 0; j < s->n; j++)
            cd__buf_uvarint(&sub, loc_id(e, s->pcs[j], s->epoch));
        pb_msg(&m, 1, &sub); /* location_id, packed */
        for (size_t t = 0; t < p->ntypes; t++)
            cd__buf_uvarint(&sub, (uint64_t)s->v[t]);
        pb_msg(&m, 2, &sub); /* value, packed */
        for (size_t j = 0; j < s->nl; j++) {
            pb_int(&sub, 1, str_id(e, s->labels[j].key));
            if (s->labels[j].str != NULL) {
                pb_int(&sub, 2, str_id(e, s->labels[j].str));
            } else {
                pb_int(&sub, 3, s->labels[j].num);
                pb_int(&sub, 4, str_id(e, s->labels[j].unit));
            }
            pb_msg(&m, 3, &sub);
        }
        pb_msg(out, 2, &m);
    }
    /* Mappings and Locations in each file's own addresses (see the file
     * comment). has_functions and the rest: every location was looked up
     * in process, with all the file has (symbol tables, DWARF, separate
     * debug files); pprof is not to ask again (the symbol route takes the
     * process's addresses, not these). */
    for (size_t i = 0; i < e->nmaps; i++) { /* 3: mapping */
        const cd__mapping *mp = &e->maps[i];
        pb_int(&m, 1, (int64_t)i + 1);
        pb_int(&m, 2, (int64_t)mp->obj_start);
        pb_int(&m, 3, (int64_t)mp->obj_limit);
        pb_int(&m, 4, (int64_t)mp->obj_offset);
        pb_int(&m, 5, str_id(e, mp->file));
        pb_int(&m, 6, str_id(e, mp->build_id));
        pb_bool(&m, 7, true);
        pb_bool(&m, 8, true);
        pb_bool(&m, 9, true);
        pb_msg(out, 3, &m);
    }
    for (size_t i = 0; i < e->naddrs; i++) { /* 4: location */
        /* In no Mapping (the vdso, which /proc/self/maps names no file
         * for): the process's address, there being no file to open. */
        uint64_t mid = e->syms[i].mapping;
        pb_int(&m, 1, (int64_t)i + 1);
        pb_int(&m, 2, (int64_t)mid);
        pb_int(&m, 3, (int64_t)(mid != 0 ? e->syms[i].objaddr : e->addrs[i].pc));
        /* No symbol: no Line, pprof's unsymbolized location, which it
         * shows as its file ("[libz.so.1.2.13]", the address with
         * -addresses and -raw), as it does Go's for C code. */
        if (e->syms[i].named) {
            pb_int(&sub, 1, (int64_t)func_id(e, &e->syms[i]));
            pb_int(&sub, 2, e->syms[i].line);
            pb_msg(&m, 4, &sub);
        }
        pb_msg(out, 4, &m);
    }
    for (size_t i = 0; i < e->nfuncs; i++) { /* 5: function */
        pb_int(&m, 1, (int64_t)i + 1);
        pb_int(&m, 2, str_id(e, e->funcs[i].name));
        pb_int(&m, 3, str_id(e, e->funcs[i].name));
        pb_int(&m, 4, str_id(e, e->funcs[i].file));
        pb_msg(out, 5, &m);
    }
    for (size_t i = 0; i < e->nstrs; i++) /* 6: string_table */
        pb_len(out, 6, e->strs[i], strlen(e->strs[i]));
    pb_int(out, 9, p->time_ns);
    pb_int(out, 10, p->duration_ns);
    if (p->period_type != NULL) {
        pb_int(&m, 1, str_id(e, p->period_type));
        pb_int(&m, 2, str_id(e, p->period_unit));
        pb_msg(out, 11, &m);
    }
    pb_int(out, 12, p->period);
    for (size_t i = 0; i < p->ncomments; i++)
        pb_int(out, 13, str_id(e, p->comments[i]));
    pb_int(out, 14, str_id(e, p->default_type));
    if (m.oom || sub.oom)
        cd__buf_fail(out);
    cd__buf_free(&m);
    cd__buf_free(&sub);
}

static int gzip_buf(const cd__buf *in, uint8_t **out, size_t *len)
{
    z_stream z = {0};
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    size_t cap = deflateBound(&z, in->len) + 32;
    uint8_t *buf = malloc(cap);
    if (buf == NULL) {
        deflateEnd(&z);
        return -ENOMEM;
    }
    z.next_in = (Bytef *)in->p;
    z.avail_in = (uInt)in->len;
    z.next_out = buf;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *len = cap - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(buf);
        return -EIO;
    }
    *out = buf;
    return 0;
}

/* A recorded pc's symbol (cd__pprof_symbols): no mapping, the address as
 * recorded; "?" and no Line for a pc without one. */
static void lookup_recorded(cd__pprof *p, uintptr_t pc, cd__sym *out)
{
    const char *func = NULL, *file = NULL;
    int64_t line = 0;
    bool named = p->lookup(p->lookup_ctx, pc, &func, &file, &line) && func != NULL && *func != '\0';
    *out = (cd__sym){.func = named ? func : "?",
                     .file = named && file != NULL ? file : "",
                     .line = named ? line : 0,
                     .named = named,
                     .objaddr = pc};
}

int cd__pprof_encode(cd__pprof *p, uint8_t **out, size_t *len)
{
    enc e = {.p = p};
    cd__symctx *sym = NULL;
    cd__buf body = {0};
    int rc;
    *out = NULL;
    *len = 0;

    if (p->lookup == NULL) {
        rc = cd__sym_begin(&sym);
        if (rc < 0)
            goto out;
    }
    e.sym = sym;
    /* Every stack ends before its first pc in no code (base/symbolize.h,
     * cd__sym_cut: a word of data a frame-pointer walk took for a return
     * address), before the merge: stacks equal once cut are one sample,
     * as pprof expects. Here, when the profile is written, because here
     * every mapping is known: one cut for every profile encoded (heap,
     * allocs, mutex, block, goroutine, threadcreate, and the CPU
     * profile, whose handler cuts first with its own table), the walks
     * in the malloc and lock interposers left as cheap as they are. */
    for (size_t i = 0; sym != NULL && i < p->ns; i++)
        p->s[i].n = cd__sym_cut(sym, p->s[i].pcs, p->s[i].n, p->s[i].epoch, false);
    merge_samples(p);
    size_t total = 0;
    for (size_t i = 0; i < p->ns; i++)
        total += p->s[i].n;
    e.addrs = malloc((total ? total : 1) * sizeof *e.addrs);
    rc = -ENOMEM;
    if (e.addrs == NULL)
        goto out;
    for (size_t i = 0, k = 0; i < p->ns; i++)
        for (size_t j = 0; j < p->s[i].n; j++) {
            uintptr_t pc = p->s[i].pcs[j];
            e.addrs[k++] = (loc){pc, sym != NULL ? cd__sym_which(sym, pc, p->s[i].epoch) : 0};
        }
    e.naddrs = sort_unique(e.addrs, total, sizeof *e.addrs, cmp_loc);
    e.syms = malloc((e.naddrs ? e.naddrs : 1) * sizeof *e.syms);
    e.funcs = malloc((e.naddrs ? e.naddrs : 1) * sizeof *e.funcs);
    rc = -ENOMEM;
    if (e.syms == NULL || e.funcs == NULL)
        goto out;
    size_t nf = 0;
    for (size_t i = 0; i < e.naddrs; i++) {
        if (sym != NULL)
            cd__sym_lookup_in(sym, e.addrs[i].pc, e.addrs[i].which, &e.syms[i]);
        else
            lookup_recorded(p, e.addrs[i].pc, &e.syms[i]);
        if (e.syms[i].named)
            e.funcs[nf++] = (func){e.syms[i].func, e.syms[i].file};
    }
    if (sym != NULL)
        e.nmaps = cd__sym_mappings(sym, &e.maps); /* with the unloaded libraries' used */
    e.nfuncs = sort_unique(e.funcs, nf, sizeof *e.funcs, cmp_func);
    rc = collect_strings(&e);
    if (rc < 0)
        goto out;
    encode_body(&e, &body);
    rc = -ENOMEM;
    if (body.oom)
        goto out;
    rc = gzip_buf(&body, out, len);
out:
    cd__buf_free(&body);
    free(e.strs);
    free(e.funcs);
    free(e.syms);
    free(e.addrs);
    cd__sym_end(sym);
    return rc;
}

int cd__pprof_write(cd__pprof *p, int fd)
{
    uint8_t *buf;
    size_t len;
    int rc = cd__pprof_encode(p, &buf, &len);
    if (rc < 0)
        return rc;
    rc = cd__write_all(fd, buf, len);
    free(buf);
    return rc;
}

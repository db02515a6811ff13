/* reader/reader_tables.c - the string, stack and symbol tables a trace
 * defines, and the two containers they are built on: a u64 hash map and a
 * bump arena.
 *
 * Entries live in the arena until the reader is closed, which is what lets
 * the reader hand out plain pointers "valid until close" even when a later
 * record redefines an id. Memory is capped by max_bytes (arena + maps);
 * each entry is charged before it is allocated, and no entry is larger than
 * a constant factor of the payload bytes that define it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/hash.h"
#include "reader/reader_int.h"

/* ---- hash map ----------------------------------------------------------- */

/* Ids are often dense: mixed, they spread over the table. */
static size_t hash64(uint64_t k)
{
    return (size_t)cd__mix64(k);
}

void *cd__tr_map_get(const cd__tr_map *m, uint64_t key)
{
    if (m->mask == 0 && m->vals == NULL)
        return NULL;
    for (size_t i = hash64(key) & m->mask;; i = (i + 1) & m->mask) {
        if (m->vals[i] == NULL)
            return NULL;
        if (m->keys[i] == key)
            return m->vals[i];
    }
}

static int map_resize(cd__tr_map *m, size_t ncap)
{
    uint64_t *keys = malloc(ncap * sizeof(*keys));
    void **vals = calloc(ncap, sizeof(*vals));
    if (keys == NULL || vals == NULL) {
        free(keys);
        free(vals);
        return -ENOMEM;
    }
    size_t nmask = ncap - 1;
    if (m->vals != NULL) {
        for (size_t i = 0; i <= m->mask; i++) {
            if (m->vals[i] == NULL)
                continue;
            size_t j = hash64(m->keys[i]) & nmask;
            while (vals[j] != NULL)
                j = (j + 1) & nmask;
            keys[j] = m->keys[i];
            vals[j] = m->vals[i];
        }
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->mask = nmask;
    return 0;
}

int cd__tr_map_put(cd__tr_map *m, uint64_t key, void *val, size_t *grew_bytes)
{
    if (grew_bytes != NULL)
        *grew_bytes = 0;
    size_t cap = m->vals == NULL ? 0 : m->mask + 1;
    if ((m->n + 1) * 2 > cap) {
        size_t ncap = cap == 0 ? 16 : cap * 2;
        size_t old = cd__tr_map_bytes(m);
        int rc = map_resize(m, ncap);
        if (rc < 0)
            return rc;
        if (grew_bytes != NULL)
            *grew_bytes = cd__tr_map_bytes(m) - old;
    }
    size_t i = hash64(key) & m->mask;
    while (m->vals[i] != NULL) {
        if (m->keys[i] == key) {
            m->vals[i] = val;
            return 0;
        }
        i = (i + 1) & m->mask;
    }
    m->keys[i] = key;
    m->vals[i] = val;
    m->n++;
    return 0;
}

void *cd__tr_map_del(cd__tr_map *m, uint64_t key)
{
    if (m->vals == NULL)
        return NULL;
    size_t i = hash64(key) & m->mask;
    while (m->vals[i] != NULL && m->keys[i] != key)
        i = (i + 1) & m->mask;
    void *val = m->vals[i];
    if (val == NULL)
        return NULL;
    /* Backward-shift deletion: move later members of the probe run into
     * the hole when their home slot does not lie between hole and them. */
    size_t hole = i;
    for (size_t j = (i + 1) & m->mask; m->vals[j] != NULL; j = (j + 1) & m->mask) {
        size_t home = hash64(m->keys[j]) & m->mask;
        if (((j - home) & m->mask) >= ((j - hole) & m->mask)) {
            m->keys[hole] = m->keys[j];
            m->vals[hole] = m->vals[j];
            hole = j;
        }
    }
    m->vals[hole] = NULL;
    m->n--;
    return val;
}

size_t cd__tr_map_bytes(const cd__tr_map *m)
{
    return m->vals == NULL ? 0 : (m->mask + 1) * (sizeof(uint64_t) + sizeof(void *));
}

void cd__tr_map_free(cd__tr_map *m)
{
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof(*m));
}

/* ---- arena -------------------------------------------------------------- */

struct cd__tr_chunk {
    cd__tr_chunk *next;
    size_t cap;
    _Alignas(16) unsigned char data[];
};

#define ARENA_CHUNK (64u * 1024)

/* Size the arena would add to satisfy n bytes (for charging up front). */
static size_t arena_cost(const cd__tr_arena *a, size_t n)
{
    size_t used = (a->used + 15) & ~(size_t)15;
    if (a->head != NULL && used + n <= a->cap)
        return 0;
    return sizeof(cd__tr_chunk) + (n > ARENA_CHUNK ? n : ARENA_CHUNK);
}

static void *arena_alloc(cd__tr_arena *a, size_t n)
{
    size_t used = (a->used + 15) & ~(size_t)15;
    if (a->head == NULL || used + n > a->cap) {
        size_t cap = n > ARENA_CHUNK ? n : ARENA_CHUNK;
        cd__tr_chunk *c = malloc(sizeof(*c) + cap);
        if (c == NULL)
            return NULL;
        c->next = a->head;
        c->cap = cap;
        a->head = c;
        a->cap = cap;
        a->bytes += sizeof(*c) + cap;
        used = 0;
    }
    a->used = used + n;
    return a->head->data + used;
}

static void arena_free(cd__tr_arena *a)
{
    cd__tr_chunk *c = a->head;
    while (c != NULL) {
        cd__tr_chunk *next = c->next;
        free(c);
        c = next;
    }
    memset(a, 0, sizeof(*a));
}

/* ---- tables ------------------------------------------------------------- */

void cd__tr_tables_init(cd__tr_tables *t, size_t max_bytes)
{
    memset(t, 0, sizeof(*t));
    t->max_bytes = max_bytes;
}

void cd__tr_tables_free(cd__tr_tables *t)
{
    arena_free(&t->arena);
    cd__tr_map_free(&t->strings);
    cd__tr_map_free(&t->stacks);
    cd__tr_map_free(&t->symbols);
}

/* Charges an entry of n bytes plus a map slot pair against the cap and
 * allocates it. Map growth is charged by estimate first (a map doubles at
 * half load), so the cap holds before memory is taken. */
static int table_alloc(cd__tr_tables *t, cd__tr_map *m, size_t n, void **out, char *err,
                       size_t errlen)
{
    size_t map_next = ((m->n + 1) * 2 > (m->vals == NULL ? 0 : m->mask + 1))
                          ? (cd__tr_map_bytes(m) == 0 ? 16 * 16 : cd__tr_map_bytes(m))
                          : 0;
    size_t cost = arena_cost(&t->arena, n) + map_next;
    if (cost > t->max_bytes || t->bytes > t->max_bytes - cost) {
        snprintf(err, errlen, "tables exceed the %zu-byte limit", t->max_bytes);
        return -EFBIG;
    }
    size_t before = t->arena.bytes;
    *out = arena_alloc(&t->arena, n);
    if (*out == NULL)
        return -ENOMEM;
    t->bytes += t->arena.bytes - before;
    return 0;
}

static int table_put(cd__tr_tables *t, cd__tr_map *m, uint64_t key, void *val)
{
    size_t grew;
    int rc = cd__tr_map_put(m, key, val, &grew);
    t->bytes += grew;
    return rc;
}

static int bad(char *err, size_t errlen, const char *what, size_t at)
{
    snprintf(err, errlen, "%s at payload byte %zu", what, at);
    return -EPROTO;
}

/* STRINGS: (uv id, str text)*. */
static int strings_pass(cd__tr_tables *t, const uint8_t *p0, size_t len, bool add, char *err,
                        size_t errlen)
{
    const uint8_t *p = p0, *end = p0 + len;
    while (p < end) {
        uint64_t id, n;
        if (cd__tr_uv(&p, end, &id) != CD__UV_OK)
            return bad(err, errlen, "STRINGS: bad id varint", (size_t)(p - p0));
        if (id == 0)
            return bad(err, errlen, "STRINGS: string id 0 is reserved", (size_t)(p - p0));
        if (cd__tr_uv(&p, end, &n) != CD__UV_OK)
            return bad(err, errlen, "STRINGS: bad length varint", (size_t)(p - p0));
        if (n > (uint64_t)(end - p))
            return bad(err, errlen, "STRINGS: string runs past the record", (size_t)(p - p0));
        if (add) {
            cd__tr_string *s;
            int rc =
                table_alloc(t, &t->strings, sizeof(*s) + (size_t)n + 1, (void **)&s, err, errlen);
            if (rc < 0)
                return rc;
            s->len = (size_t)n;
            memcpy(s->text, p, (size_t)n);
            s->text[n] = '\0';
            if ((rc = table_put(t, &t->strings, id, s)) < 0)
                return rc;
            t->nstrings++;
        }
        p += n;
    }
    return 0;
}

/* STACKS: (uv id, uv nframes, uv pc[nframes])*. */
static int stacks_pass(cd__tr_tables *t, const uint8_t *p0, size_t len, bool add, char *err,
                       size_t errlen)
{
    const uint8_t *p = p0, *end = p0 + len;
    while (p < end) {
        uint64_t id, n;
        if (cd__tr_uv(&p, end, &id) != CD__UV_OK)
            return bad(err, errlen, "STACKS: bad id varint", (size_t)(p - p0));
        if (id == 0)
            return bad(err, errlen, "STACKS: stack id 0 is reserved", (size_t)(p - p0));
        if (cd__tr_uv(&p, end, &n) != CD__UV_OK)
            return bad(err, errlen, "STACKS: bad frame count varint", (size_t)(p - p0));
        /* Each pc takes at least one byte: a count above the bytes left is
         * a lie, whatever the pcs say. */
        if (n > (uint64_t)(end - p))
            return bad(err, errlen, "STACKS: frame count runs past the record", (size_t)(p - p0));
        cd__tr_stack *s = NULL;
        if (add) {
            int rc = table_alloc(t, &t->stacks, sizeof(*s) + (size_t)n * sizeof(uint64_t),
                                 (void **)&s, err, errlen);
            if (rc < 0)
                return rc;
            s->n = (size_t)n;
        }
        for (uint64_t i = 0; i < n; i++) {
            uint64_t pc;
            if (cd__tr_uv(&p, end, &pc) != CD__UV_OK)
                return bad(err, errlen, "STACKS: bad pc varint", (size_t)(p - p0));
            if (s != NULL)
                s->pcs[i] = pc;
        }
        if (add) {
            int rc = table_put(t, &t->stacks, id, s);
            if (rc < 0)
                return rc;
            t->nstacks++;
        }
    }
    return 0;
}

/* SYMBOLS: (uv pc, uv func_str, uv file_str, uv line)*. */
static int symbols_pass(cd__tr_tables *t, const uint8_t *p0, size_t len, bool add, char *err,
                        size_t errlen)
{
    const uint8_t *p = p0, *end = p0 + len;
    while (p < end) {
        uint64_t v[4];
        for (int i = 0; i < 4; i++)
            if (cd__tr_uv(&p, end, &v[i]) != CD__UV_OK)
                return bad(err, errlen, "SYMBOLS: bad or short entry", (size_t)(p - p0));
        if (add) {
            cd__tr_symbol *s;
            int rc = table_alloc(t, &t->symbols, sizeof(*s), (void **)&s, err, errlen);
            if (rc < 0)
                return rc;
            s->func = v[1];
            s->file = v[2];
            s->line = v[3];
            if ((rc = table_put(t, &t->symbols, v[0], s)) < 0)
                return rc;
            t->nsymbols++;
        }
    }
    return 0;
}

typedef int (*pass_fn)(cd__tr_tables *, const uint8_t *, size_t, bool, char *, size_t);

static int two_pass(pass_fn f, cd__tr_tables *t, const uint8_t *p, size_t len, char *err,
                    size_t errlen)
{
    int rc = f(t, p, len, false, err, errlen); /* check everything first */
    if (rc < 0)
        return rc;
    return f(t, p, len, true, err, errlen);
}

int cd__tr_tables_strings(cd__tr_tables *t, const uint8_t *p, size_t len, char *err, size_t errlen)
{
    return two_pass(strings_pass, t, p, len, err, errlen);
}

int cd__tr_tables_stacks(cd__tr_tables *t, const uint8_t *p, size_t len, char *err, size_t errlen)
{
    return two_pass(stacks_pass, t, p, len, err, errlen);
}

int cd__tr_tables_symbols(cd__tr_tables *t, const uint8_t *p, size_t len, char *err, size_t errlen)
{
    return two_pass(symbols_pass, t, p, len, err, errlen);
}

const cd__tr_string *cd__tr_string_get(const cd__tr_tables *t, uint64_t id)
{
    return cd__tr_map_get(&t->strings, id);
}

const cd__tr_stack *cd__tr_stack_get(const cd__tr_tables *t, uint64_t id)
{
    return cd__tr_map_get(&t->stacks, id);
}

const cd__tr_symbol *cd__tr_symbol_get(const cd__tr_tables *t, uint64_t pc)
{
    return cd__tr_map_get(&t->symbols, pc);
}

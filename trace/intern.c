/* trace/intern.c - interning strings and stacks for a trace session.
 *
 * Names (task names, region names, log categories) are mostly string
 * literals: the calling thread first looks the pointer up in its own
 * 64-entry cache (no lock); on a miss, one global open-addressing table,
 * keyed by content, under a mutex. Stacks work the same way, keyed by a
 * 64-bit hash of their program counters (a collision would merge two
 * stacks; at 2^-64 per pair it is not worth a comparison on the hot path,
 * the global table compares frames anyway).
 *
 * New entries are queued for the writer, which writes them (STRINGS,
 * STACKS, SYMBOLS records) before any batch that could use them: an id is
 * handed out only after it is queued, and the writer drains this queue
 * before copying events. Memory: the tables grow with the distinct strings
 * and stacks of a session and are freed at cd_trace_stop.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "trace/intern.h"
#include "trace/recorder.h"
#include "trace/trace_int.h"

typedef struct entry {
    uint64_t hash;
    uint32_t id;
    uint32_t len;    /* bytes (strings) or frames (stacks) */
    void *data;      /* malloc'd copy */
    struct entry *next_pending;
    int kind;        /* 0 string, 1 stack */
} entry;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static entry **table;       /* open addressing, cap a power of two */
static size_t cap, count;
static uint32_t next_id = 1;
static entry *pending_head, **pending_tail = &pending_head;

static uint64_t fnv1a(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static int grow(void)
{
    size_t ncap = cap ? cap * 2 : 1024;
    entry **nt = calloc(ncap, sizeof *nt);
    if (nt == NULL)
        return -1;
    for (size_t i = 0; i < cap; i++) {
        if (table[i] == NULL)
            continue;
        size_t j = table[i]->hash & (ncap - 1);
        while (nt[j] != NULL)
            j = (j + 1) & (ncap - 1);
        nt[j] = table[i];
    }
    free(table);
    table = nt;
    cap = ncap;
    return 0;
}

/* Finds or adds (kind, data[0..len*unit)); returns its id or 0. */
static uint32_t lookup(int kind, uint64_t hash, const void *data, uint32_t len, size_t unit)
{
    uint32_t id = 0;
    pthread_mutex_lock(&lock);
    if ((count + 1) * 2 > cap && grow() != 0)
        goto out;
    size_t j = hash & (cap - 1);
    for (; table[j] != NULL; j = (j + 1) & (cap - 1)) {
        entry *e = table[j];
        if (e->hash == hash && e->kind == kind && e->len == len &&
            memcmp(e->data, data, len * unit) == 0) {
            id = e->id;
            goto out;
        }
    }
    entry *e = calloc(1, sizeof *e);
    void *copy = malloc(len * unit + 1);
    if (e == NULL || copy == NULL) {
        free(e);
        free(copy);
        goto out;
    }
    memcpy(copy, data, len * unit);
    ((char *)copy)[len * unit] = '\0';
    *e = (entry){.hash = hash, .id = next_id++, .len = len, .data = copy, .kind = kind};
    table[j] = e;
    count++;
    *pending_tail = e;
    pending_tail = &e->next_pending;
    id = e->id;
out:
    pthread_mutex_unlock(&lock);
    return id;
}

/* Per-thread cache slot for key. */
static uint32_t cached(cd__tstate *st, const void *key, uint64_t hash, uint32_t session)
{
    unsigned slot = (unsigned)((hash ^ (hash >> 29)) & 63);
    if (st->cache[slot].session == session && st->cache[slot].key == key &&
        st->cache[slot].hash == hash)
        return st->cache[slot].id;
    return 0;
}

static void remember(cd__tstate *st, const void *key, uint64_t hash, uint32_t session,
                     uint32_t id)
{
    unsigned slot = (unsigned)((hash ^ (hash >> 29)) & 63);
    st->cache[slot].key = key;
    st->cache[slot].hash = hash;
    st->cache[slot].id = id;
    st->cache[slot].session = session;
}

uint32_t cd__trace_string(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    uint32_t session = atomic_load_explicit(&cd__trace_session, memory_order_relaxed);
    cd__tstate *st = cd__trace_self(true);
    /* The pointer is the cache key: a literal is the same pointer every
     * time. A reused buffer with new text would hit a stale entry, so the
     * key also includes the first bytes' hash. */
    size_t n = strlen(s);
    uint64_t quick = fnv1a(s, n < 16 ? n : 16, 14695981039346656037ull) ^ (uint64_t)n;
    if (st != NULL) {
        uint32_t id = cached(st, s, quick, session);
        if (id != 0)
            return id;
    }
    uint32_t id = lookup(0, fnv1a(s, n, 14695981039346656037ull), s, (uint32_t)n, 1);
    if (st != NULL && id != 0)
        remember(st, s, quick, session, id);
    return id;
}

uint32_t cd__trace_string_content(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    size_t n = strlen(s);
    return lookup(0, fnv1a(s, n, 14695981039346656037ull), s, (uint32_t)n, 1);
}

uint32_t cd__trace_stack(int skip)
{
    cd__tstate *st = cd__trace_self(true);
    if (st == NULL || st->stack_hi == 0)
        return 0;
    uintptr_t pcs[CD__TRACE_MAX_FRAMES];
    int n = 0;
    /* Frame-pointer walk, bounded by the thread's stack: a frame without a
     * frame pointer ends the walk (a truncated stack, never a crash). */
    uintptr_t *fp = __builtin_frame_address(0);
    while (n < CD__TRACE_MAX_FRAMES && (uintptr_t)fp >= st->stack_lo &&
           (uintptr_t)fp + 2 * sizeof(uintptr_t) <= st->stack_hi &&
           ((uintptr_t)fp & (sizeof(uintptr_t) - 1)) == 0) {
        uintptr_t pc = fp[1];
        uintptr_t *next = (uintptr_t *)fp[0];
        if (pc == 0)
            break;
        if (skip > 0)
            skip--;
        else
            pcs[n++] = pc;
        if (next <= fp)
            break;
        fp = next;
    }
    if (n == 0)
        return 0;
    uint64_t h = fnv1a(pcs, (size_t)n * sizeof pcs[0], 14695981039346656037ull);
    uint32_t session = atomic_load_explicit(&cd__trace_session, memory_order_relaxed);
    uint32_t id = cached(st, (const void *)(uintptr_t)1, h, session);
    if (id != 0)
        return id;
    id = lookup(1, h, pcs, (uint32_t)n, sizeof pcs[0]);
    if (id != 0)
        remember(st, (const void *)(uintptr_t)1, h, session, id);
    return id;
}

void cd__intern_drain(void (*on_string)(uint32_t, const char *, size_t, void *),
                      void (*on_stack)(uint32_t, const uintptr_t *, int, void *), void *ctx)
{
    pthread_mutex_lock(&lock);
    for (entry *e = pending_head; e != NULL; e = e->next_pending) {
        if (e->kind == 0)
            on_string(e->id, e->data, e->len, ctx);
        else
            on_stack(e->id, e->data, (int)e->len, ctx);
    }
    pending_head = NULL;
    pending_tail = &pending_head;
    pthread_mutex_unlock(&lock);
}

static void free_all_locked(void)
{
    for (size_t i = 0; i < cap; i++) {
        if (table[i] != NULL) {
            free(table[i]->data);
            free(table[i]);
        }
    }
    free(table);
    table = NULL;
    cap = count = 0;
    next_id = 1;
    pending_head = NULL;
    pending_tail = &pending_head;
}

void cd__intern_reset(void)
{
    pthread_mutex_lock(&lock);
    free_all_locked();
    pthread_mutex_unlock(&lock);
}

void cd__intern_free(void)
{
    cd__intern_reset();
}

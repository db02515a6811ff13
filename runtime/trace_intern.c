/* runtime/trace_intern.c - interning strings and stacks for a trace session.
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
 * and stacks of a session, up to CD__INTERN_MAX_BYTES; past that bound a
 * new string or stack gets id 0 (the empty string, no stack) and is
 * counted (`refused`). Distinct log messages are what could
 * otherwise grow them without end in a long (flight-recorder) session.
 * Freed at cd_trace_stop.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/fpwalk.h"
#include "runtime/trace_intern.h"
#include "runtime/trace_recorder.h"

typedef struct entry {
    uint64_t hash;
    uint32_t id;
    uint32_t len; /* bytes (strings) or frames (stacks) */
    void *data;   /* malloc'd copy */
    struct entry *next_pending;
    int kind; /* 0 string, 1 stack */
} entry;

#define CD__INTERN_MAX_BYTES (16u << 20)

/* The tables and the pending queue. Lock order (written whole at
 * trace/writer.c's ctl): a leaf, taken after any other lock (a recording
 * thread may hold the scheduler's or the thread registry's; a session's
 * start or stop holds trace/writer.c's ctl), never together with
 * runtime/trace_recorder.c's states_lock; nothing is locked under it (the
 * drain's callbacks only append to the writer's buffers). */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static size_t bytes; /* copies and entries, against CD__INTERN_MAX_BYTES */
/* Strings and stacks refused because the tables reached their bound:
 * nothing reports it yet (a debugger can read it). */
static _Atomic uint64_t refused;
static entry **table; /* open addressing, cap a power of two */
static size_t cap, count;
static uint32_t next_id = 1;
static entry *pending_head, **pending_tail = &pending_head;

/* A 64-bit hash of n bytes, eight at a time (one multiply per word): log
 * messages are hashed whole on every cd_trace_log. */
static uint64_t hash_bytes(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n, w;
    for (; n >= 8; s += 8, n -= 8) {
        memcpy(&w, s, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    for (w = 0; n > 0; n--)
        w = (w << 8) | s[n - 1]; /* the tail, without a memcpy call */
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    return h ^ (h >> 29);
}

/* A cheap key of a string of length n for the per-thread pointer cache:
 * the first and last 8 bytes (overlapping when n < 16) and n. It only has
 * to tell a reused buffer's new text from the old one in practice; a
 * literal, the common case, never changes. */
static uint64_t quick_key(const char *s, size_t n)
{
    uint64_t a = 0, b = 0;
    if (n >= 8) {
        memcpy(&a, s, 8);
        memcpy(&b, s + n - 8, 8);
    } else {
        for (size_t i = 0; i < n; i++)
            a = (a << 8) | (unsigned char)s[i];
    }
    uint64_t h = (a ^ (b << 1 | b >> 63) ^ n) * 0x9e3779b97f4a7c15ull;
    return h ^ (h >> 32);
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

/* A 64-bit hash of n words, one multiply each (the byte-wise FNV above
 * costs a multiply per byte: 8 times more for a stack of pcs). */
static uint64_t hash_words(const uintptr_t *w, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    for (size_t i = 0; i < n; i++) {
        h ^= w[i];
        h *= 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    return h;
}

/* Finds or adds (kind, data[0..len*unit)); returns its id or 0, and in
 * *stored (when not NULL) the table's copy, valid for the session. */
static uint32_t lookup_entry(int kind, uint64_t hash, const void *data, uint32_t len, size_t unit,
                             const void **stored)
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
            if (stored != NULL)
                *stored = e->data;
            goto out;
        }
    }
    size_t need = sizeof(entry) + len * unit + 1;
    if (bytes + need > CD__INTERN_MAX_BYTES) {
        atomic_fetch_add_explicit(&refused, 1, memory_order_relaxed);
        goto out;
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
    bytes += need;
    *pending_tail = e;
    pending_tail = &e->next_pending;
    id = e->id;
    if (stored != NULL)
        *stored = e->data;
out:
    pthread_mutex_unlock(&lock);
    return id;
}

static uint32_t lookup(int kind, uint64_t hash, const void *data, uint32_t len, size_t unit)
{
    return lookup_entry(kind, hash, data, len, unit, NULL);
}

/* Per-thread cache slot for key. */
static uint32_t cached(cd__tstate *st, const void *key, uint64_t hash, uint32_t session)
{
    unsigned slot = (unsigned)((hash ^ (hash >> 29)) & 63);
    if (st->cache[slot].session == session && st->cache[slot].key == key &&
        st->cache[slot].hash == hash && st->cache[slot].mode == CD__ICACHE_POINTER)
        return st->cache[slot].id;
    return 0;
}

static void remember(cd__tstate *st, const void *key, uint64_t hash, uint32_t session, uint32_t id)
{
    unsigned slot = (unsigned)((hash ^ (hash >> 29)) & 63);
    st->cache[slot].key = key;
    st->cache[slot].hash = hash;
    st->cache[slot].id = id;
    st->cache[slot].session = session;
    st->cache[slot].mode = CD__ICACHE_POINTER;
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
    uint64_t quick = quick_key(s, n);
    if (st != NULL) {
        uint32_t id = cached(st, s, quick, session);
        if (id != 0)
            return id;
    }
    uint32_t id = lookup(0, hash_bytes(s, n), s, (uint32_t)n, 1);
    if (st != NULL && id != 0)
        remember(st, s, quick, session, id);
    return id;
}

/* Whether cache slot holds a literal of this session. */
static bool lit_live(const cd__tstate *st, unsigned slot, uint32_t session)
{
    return st->cache[slot].mode == CD__ICACHE_LITERAL && st->cache[slot].session == session;
}

uint32_t cd__trace_string_lit_slow(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    size_t n = strlen(s);
    uint32_t id = lookup(0, hash_bytes(s, n), s, (uint32_t)n, 1);
    cd__tstate *st = cd__trace_self(true);
    if (st != NULL && id != 0) {
        /* The home slot, unless it holds another literal of this session
         * and the neighbour does not: then the neighbour. */
        uint32_t session = atomic_load_explicit(&cd__trace_session, memory_order_relaxed);
        unsigned slot = cd__icache_lit_slot(s);
        if (lit_live(st, slot, session) && !lit_live(st, slot ^ 1, session))
            slot ^= 1;
        st->cache[slot].key = s;
        st->cache[slot].hash = 0;
        st->cache[slot].id = id;
        st->cache[slot].session = session;
        st->cache[slot].mode = CD__ICACHE_LITERAL;
    }
    return id;
}

uint32_t cd__trace_string_content(const char *s)
{
    if (s == NULL || *s == '\0')
        return 0;
    size_t n = strlen(s);
    uint64_t h = hash_bytes(s, n);
    /* The per-thread cache, keyed by the table's own copy of the text
     * (stable for the session): a hit compares the text, no lock. */
    uint32_t session = atomic_load_explicit(&cd__trace_session, memory_order_relaxed);
    cd__tstate *st = cd__trace_self(true);
    if (st != NULL) {
        unsigned slot = (unsigned)((h ^ (h >> 29)) & 63);
        if (st->cache[slot].session == session && st->cache[slot].hash == h &&
            st->cache[slot].mode == CD__ICACHE_CONTENT && strcmp(st->cache[slot].key, s) == 0)
            return st->cache[slot].id;
    }
    const void *stored = NULL;
    uint32_t id = lookup_entry(0, h, s, (uint32_t)n, 1, &stored);
    if (st != NULL && id != 0) {
        remember(st, stored, h, session, id);
        st->cache[(unsigned)((h ^ (h >> 29)) & 63)].mode = CD__ICACHE_CONTENT;
    }
    return id;
}

uint32_t cd__trace_stack(const void *frame, const uintptr_t *tail, size_t ntail)
{
    cd__tstate *st = cd__trace_tls;
    if (st == NULL)
        st = cd__trace_self(true);
    if (st == NULL || st->stack_hi == 0)
        return 0;
    uintptr_t pcs[CD__TRACE_MAX_FRAMES];
    int n = 0;
    /* A spawner in a loop creates from the same stack again and again:
     * compared with the last one during the walk (diff stays 0), it needs
     * no hash. last_stack past last_stack_n is stale, which the final
     * n == last_stack_n check makes harmless. */
    uintptr_t diff = 0;
    /* Frame-pointer walk, bounded by the thread's stack: a frame pointer
     * outside it, misaligned or not above the previous one ends the walk
     * (a truncated stack, never a crash). Frames only go up the stack, so
     * the lower bound is checked once. The loads are base/fpwalk.h's: a
     * garbage frame pointer may lead to a word ASan poisons. A walk that
     * starts off the thread's stack (on the signal alternate stack) gives
     * no stack. */
    uintptr_t top = st->stack_hi - 2 * sizeof(uintptr_t);
    uintptr_t fp = (uintptr_t)frame;
    if (fp < st->stack_lo || fp > top || (fp & (sizeof(uintptr_t) - 1)) != 0)
        return 0;
    for (;;) {
        uintptr_t pc = cd__fpwalk_load(fp + sizeof(uintptr_t));
        uintptr_t next = cd__fpwalk_load(fp);
        if (pc == 0)
            break;
        if (ntail > 0 && pc == tail[0]) {
            for (size_t i = 0; i < ntail && n < CD__TRACE_MAX_FRAMES; i++) {
                diff |= tail[i] ^ st->last_stack[n];
                pcs[n++] = tail[i];
            }
            break;
        }
        diff |= pc ^ st->last_stack[n];
        pcs[n++] = pc;
        if (n == CD__TRACE_MAX_FRAMES || next <= fp || next > top ||
            (next & (sizeof(uintptr_t) - 1)) != 0)
            break;
        fp = next;
    }
    if (n == 0)
        return 0;
    uint32_t session = atomic_load_explicit(&cd__trace_session, memory_order_relaxed);
    if (diff == 0 && n == st->last_stack_n && session == st->last_stack_session)
        return st->last_stack_id;
    uint64_t h = hash_words(pcs, (size_t)n);
    uint32_t id = cached(st, (const void *)(uintptr_t)1, h, session);
    if (id == 0) {
        id = lookup(1, h, pcs, (uint32_t)n, sizeof pcs[0]);
        if (id != 0)
            remember(st, (const void *)(uintptr_t)1, h, session, id);
    }
    if (id != 0) {
        memcpy(st->last_stack, pcs, (size_t)n * sizeof pcs[0]);
        st->last_stack_n = n;
        st->last_stack_id = id;
        st->last_stack_session = session;
    }
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

/* Empty tables, as at start (the entries, if any, freed or forgotten). */
static void clear_tables(void)
{
    table = NULL;
    cap = count = 0;
    bytes = 0;
    next_id = 1;
    pending_head = NULL;
    pending_tail = &pending_head;
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
    clear_tables();
}

/* The parent's table (cd__intern_fork_child), reachable for LeakSanitizer,
 * never read. */
static entry **volatile fork_ghost;

void cd__intern_fork_child(void)
{
    lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    fork_ghost = table;
    clear_tables();
}

void cd__intern_reset(void)
{
    pthread_mutex_lock(&lock);
    free_all_locked();
    pthread_mutex_unlock(&lock);
}


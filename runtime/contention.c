/* runtime/contention.c - see contention.h. */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/dlhist.h"
#include "base/hash.h"
#include "runtime/contention.h"

_Atomic int64_t cd__block_rate;
_Atomic int64_t cd__mutex_fraction;

typedef struct bucket {
    struct bucket *next;
    uint64_t hash;
    cd__contention_kind kind;
    double count; /* a float, as Go's: a short block event counts rate/delay */
    int64_t delay_ns;
    size_t depth;
    uint32_t epoch; /* base/dlhist.h's: the libraries loaded when recorded */
    uintptr_t stack[];
} bucket;

#define TAB_BITS 12

static atomic_flag lock = ATOMIC_FLAG_INIT;
static bucket *tab[1u << TAB_BITS]; /* chains; guarded by lock */
static size_t nbuckets;

/* Set while this thread records: the allocation below may take a
 * contended lock, whose event must not be recorded from inside. */
static __thread bool recording;
static __thread uint64_t rng;

static void spin_lock(void)
{
    while (atomic_flag_test_and_set_explicit(&lock, memory_order_acquire))
        sched_yield(); /* held for a lookup: the holder is about to leave */
}

static void spin_unlock(void)
{
    atomic_flag_clear_explicit(&lock, memory_order_release);
}

/* xorshift64*, seeded per thread. */
static uint64_t rand64(void)
{
    if (rng == 0)
        rng = cd__mix64(cd__nanotime() ^ (uint64_t)(uintptr_t)&rng) | 1;
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

void cd__contention_set_block_rate(int64_t ns)
{
    atomic_store_explicit(&cd__block_rate, ns < 0 ? 0 : ns, memory_order_relaxed);
}

int64_t cd__contention_set_mutex_fraction(int64_t n)
{
    if (n < 0)
        return atomic_load_explicit(&cd__mutex_fraction, memory_order_relaxed);
    return atomic_exchange_explicit(&cd__mutex_fraction, n, memory_order_relaxed);
}

static uint64_t hash_stack(cd__contention_kind kind, const uintptr_t *pcs, size_t n, uint32_t epoch)
{
    uint64_t h = (uint64_t)kind + 1 + ((uint64_t)epoch << 8);
    for (size_t i = 0; i < n; i++)
        h = cd__mix64(h ^ pcs[i]);
    return h;
}

/* Adds (count, delay) to the bucket of (kind, stack, unload epoch), made
 * if new: the same pcs before and after a dlclose may be two libraries'
 * code. */
static void save(cd__contention_kind kind, const uintptr_t *pcs, size_t n, double count,
                 int64_t delay)
{
    uint32_t epoch = cd__dl_epoch();
    uint64_t h = hash_stack(kind, pcs, n, epoch);
    size_t slot = h & ((1u << TAB_BITS) - 1);
    spin_lock();
    for (bucket *b = tab[slot]; b != NULL; b = b->next)
        if (b->hash == h && b->kind == kind && b->depth == n && b->epoch == epoch &&
            memcmp(b->stack, pcs, n * sizeof *pcs) == 0) {
            b->count += count;
            b->delay_ns += delay;
            spin_unlock();
            return;
        }
    spin_unlock();
    /* New: allocated outside the lock (malloc may block, or lock). */
    bucket *nb = malloc(sizeof *nb + n * sizeof *pcs);
    if (nb == NULL)
        return; /* the event is lost, as a sample the profile never had */
    nb->hash = h;
    nb->kind = kind;
    nb->count = count;
    nb->delay_ns = delay;
    nb->depth = n;
    nb->epoch = epoch;
    memcpy(nb->stack, pcs, n * sizeof *pcs);
    spin_lock();
    for (bucket *b = tab[slot]; b != NULL; b = b->next)
        if (b->hash == h && b->kind == kind && b->depth == n && b->epoch == epoch &&
            memcmp(b->stack, pcs, n * sizeof *pcs) == 0) { /* made meanwhile */
            b->count += count;
            b->delay_ns += delay;
            spin_unlock();
            free(nb);
            return;
        }
    nb->next = tab[slot];
    tab[slot] = nb;
    nbuckets++;
    spin_unlock();
}

__attribute__((noinline)) void cd__contention_event(cd__contention_kind kind, int64_t delay_ns,
                                                    unsigned skip)
{
    if (recording || delay_ns < 0)
        return;
    double count = 1;
    int64_t delay = delay_ns;
    if (kind == CD__CONTENTION_BLOCK) {
        /* Go's blocksampled and saveblockevent: always when the event
         * lasted the rate or more, else with probability delay/rate, then
         * counted rate/delay times with the rate as its delay, which
         * removes the sampling's bias. */
        int64_t rate = atomic_load_explicit(&cd__block_rate, memory_order_relaxed);
        if (rate <= 0)
            return;
        if (rate > delay_ns) {
            if ((int64_t)(rand64() % (uint64_t)rate) > delay_ns)
                return;
            count = delay_ns > 0 ? (double)rate / (double)delay_ns : 1;
            delay = rate;
        }
    } else {
        /* Go's mutexevent: one event in `fraction`, scaled when rendered. */
        int64_t fraction = atomic_load_explicit(&cd__mutex_fraction, memory_order_relaxed);
        if (fraction <= 0 || rand64() % (uint64_t)fraction != 0)
            return;
    }
    recording = true;
    uintptr_t pcs[CD__FPWALK_MAX];
    /* skip + 1: this function's own frame. */
    size_t n = cd__fpwalk_here(pcs, CD__FPWALK_MAX, skip + 1);
    if (n > 0)
        save(kind, pcs, n, count, delay);
    recording = false;
}

int cd__contention_snapshot(cd__contention_kind kind, cd__contention_row **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    bool was = recording;
    recording = true; /* our own malloc's locks are not events */
    spin_lock();
    size_t cap = nbuckets;
    spin_unlock();
    cd__contention_row *rows = malloc((cap ? cap : 1) * sizeof *rows);
    if (rows == NULL) {
        recording = was;
        return -ENOMEM;
    }
    size_t k = 0;
    spin_lock();
    /* Buckets made since cap was read are left for the next snapshot. */
    for (size_t i = 0; i < (1u << TAB_BITS) && k < cap; i++)
        for (bucket *b = tab[i]; b != NULL && k < cap; b = b->next) {
            if (b->kind != kind)
                continue;
            cd__contention_row *r = &rows[k++];
            r->count = (int64_t)(b->count + 0.5);
            r->delay_ns = b->delay_ns;
            r->depth = b->depth;
            r->epoch = b->epoch;
            memcpy(r->stack, b->stack, b->depth * sizeof b->stack[0]);
        }
    spin_unlock();
    recording = was;
    *out = rows;
    *n = k;
    return 0;
}

/* The forking thread holds the lock around fork(), so the table is whole
 * in the child (another thread could hold it mid-insertion). */
static void fork_prepare(void)
{
    spin_lock();
}

static void fork_release(void)
{
    spin_unlock();
}

static int atfork_rc;

static void register_atfork(void)
{
    atfork_rc = -pthread_atfork(fork_prepare, fork_release, fork_release);
}

int cd__contention_init(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, register_atfork);
    return atfork_rc;
}

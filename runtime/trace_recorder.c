/* runtime/trace_recorder.c - per-thread event buffers and the clock. See recorder.h.
 *
 * The hot path is inline in recorder.h (cd__trace_put); this file holds
 * what it calls rarely: a thread's first event, a full buffer, the clock's
 * calibration.
 *
 * A full buffer is queued for the writer and replaced by a spare the
 * writer keeps ready (the thread's own, else one of the shared reserve);
 * with no spare the thread drops events (whole batches, counted) until the
 * writer catches up. The thread never allocates here, so
 * the path is safe in signal handlers and in bdwgc's collection callback.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>

#include "base/clock.h"
#include "base/futex.h"
#include "runtime/env.h"
#include "runtime/thread.h"
#include "runtime/trace_recorder.h"

bool cd_trace_active; /* read and written with __atomic builtins only */
_Atomic uint32_t cd__trace_session;
cd__tbuf *_Atomic cd__trace_reserve[CD__TRACE_RESERVE];

/* ---- clock --------------------------------------------------------------
 * rdtsc (~10 ns here) when the TSC is invariant (constant_tsc and
 * nonstop_tsc: same rate on every core, through sleep states), else
 * CLOCK_MONOTONIC (~25 ns, vDSO). The TSC rate is calibrated once against
 * CLOCK_MONOTONIC over 20 ms; the header records it as tick_hz.
 *
 * A tick is 64 TSC cycles (about 20-30 ns) or 64 ns, as Go's tracer does
 * (traceTickDiv): finer resolution than any event needs, and it keeps the
 * delta of back-to-back events in one varint byte. */

bool cd__trace_use_tsc;
static uint64_t tick_hz = 1000000000u >> CD__TICK_SHIFT;
static pthread_once_t clock_once = PTHREAD_ONCE_INIT;

static bool tsc_invariant(void)
{
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (f == NULL)
        return false;
    char line[4096];
    bool constant = false, nonstop = false;
    while (fgets(line, sizeof line, f) != NULL) {
        if (strncmp(line, "flags", 5) != 0)
            continue;
        constant = strstr(line, " constant_tsc") != NULL;
        nonstop = strstr(line, " nonstop_tsc") != NULL;
        break;
    }
    fclose(f);
    return constant && nonstop;
}

static void clock_init(void)
{
    if (!tsc_invariant() || cd__getenv("CDEBUG_TRACE_NO_TSC") != NULL)
        return;
    uint64_t m0 = cd__nanotime(), t0 = __rdtsc();
    struct timespec ts = {0, 20000000};
    nanosleep(&ts, NULL);
    uint64_t m1 = cd__nanotime(), t1 = __rdtsc();
    if (m1 <= m0 || t1 <= t0)
        return;
    tick_hz = (uint64_t)((double)(t1 - t0) * 1e9 / (double)(m1 - m0)) >> CD__TICK_SHIFT;
    cd__trace_use_tsc = tick_hz > 0;
    if (!cd__trace_use_tsc)
        tick_hz = 1000000000u >> CD__TICK_SHIFT;
}

uint64_t cd__trace_tick_hz(void)
{
    pthread_once(&clock_once, clock_init);
    return tick_hz;
}

/* ---- buffers ------------------------------------------------------------ */

#define CD__TRACE_MAX_BUFS 512 /* 32 MiB of event buffers at most */
static _Atomic int nbufs;

cd__tbuf *cd__tbuf_new(void)
{
    if (atomic_fetch_add(&nbufs, 1) >= CD__TRACE_MAX_BUFS) {
        atomic_fetch_sub(&nbufs, 1);
        return NULL;
    }
    cd__tbuf *b = malloc(sizeof *b);
    if (b == NULL) {
        atomic_fetch_sub(&nbufs, 1);
        return NULL;
    }
    cds_wfcq_node_init(&b->qnode);
    atomic_init(&b->pos, 0);
    b->base_ts = b->taken_ts = 0;
    memset(b->taken_ids, 0, sizeof b->taken_ids);
    b->taken = 0;
    b->handed_off = false;
    b->next_free = NULL;
    return b;
}

void cd__tbuf_free(cd__tbuf *b)
{
    free(b);
    atomic_fetch_sub(&nbufs, 1);
}

/* ---- per-thread state ---------------------------------------------------- */

/* The list of per-thread states. Lock order (written whole at
 * trace/writer.c's ctl): a leaf, taken after any other lock (a thread
 * recording its first event may hold the scheduler's or the thread
 * registry's; a session's start or stop holds trace/writer.c's ctl),
 * never together with runtime/trace_intern.c's lock; nothing is locked
 * under it (the writer only moves buffers and allocates with malloc). */
static pthread_mutex_t states_lock = PTHREAD_MUTEX_INITIALIZER;
static cd__tstate *states;
__thread cd__tstate *cd__trace_tls __attribute__((tls_model("initial-exec")));
static pthread_key_t exit_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;

static void on_thread_exit(void *p)
{
    cd__tstate *st = p;
    atomic_store_explicit(&st->dead, true, memory_order_release);
}

static void key_init(void)
{
    pthread_key_create(&exit_key, on_thread_exit);
}

void cd__trace_states_lock(void)
{
    pthread_mutex_lock(&states_lock);
}
void cd__trace_states_unlock(void)
{
    pthread_mutex_unlock(&states_lock);
}
cd__tstate *cd__trace_states_head(void)
{
    return states;
}

cd__tstate *cd__trace_self(bool may_alloc)
{
    if (cd__trace_tls != NULL || !may_alloc)
        return cd__trace_tls;
    cd__tstate *st = calloc(1, sizeof *st);
    if (st == NULL)
        return NULL;
    st->thread = cd__self != NULL ? cd__self->id : 0;
    cds_wfcq_init(&st->full_head, &st->full_tail);
    pthread_attr_t attr;
    if (pthread_getattr_np(pthread_self(), &attr) == 0) {
        void *addr;
        size_t size;
        if (pthread_attr_getstack(&attr, &addr, &size) == 0) {
            st->stack_lo = (uintptr_t)addr;
            st->stack_hi = (uintptr_t)addr + size;
        }
        pthread_attr_destroy(&attr);
    }
    pthread_once(&key_once, key_init);
    pthread_setspecific(exit_key, st);
    /* First buffers now: a thread's first events (THREAD_START) must not
     * be lost waiting for the writer's next sweep. Installed before st is
     * on the list: once there, the writer owns the empty spare slots (it
     * fills them in its sweep), and two stores would lose a buffer. */
    if (__atomic_load_n(&cd_trace_active, __ATOMIC_SEQ_CST))
        for (int i = 0; i < CD__TRACE_SPARES_MIN; i++)
            atomic_store_explicit(&st->spare[i], cd__tbuf_new(), memory_order_release);
    pthread_mutex_lock(&states_lock);
    st->next = states;
    states = st;
    pthread_mutex_unlock(&states_lock);
    cd__trace_tls = st;
    cd__trace_wake_writer();
    return st;
}

/* ---- waking the writer ------------------------------------------------- */

/* 0 while the writer sleeps until woken (or its next full sweep), 1 while
 * it is awake or polling. It lives here, beside the producers that store
 * it, so that the recorder never calls up into the writer (trace/). */
static _Atomic uint32_t wake_word;

/* A thread that queued a buffer, took a spare or ran dry calls this after
 * those stores: while the writer polls (a busy trace) that costs a fence
 * and a load, no system call and no write to a shared line. The writer
 * stores 0, then fences and looks for such work before it sleeps
 * (cd__trace_writer_sleep): of the two, one sees the other's store (both
 * sides fence between their store and their load). */
void cd__trace_wake_writer(void)
{
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load_explicit(&wake_word, memory_order_relaxed) == 0 &&
        atomic_exchange_explicit(&wake_word, 1, memory_order_acq_rel) == 0)
        cd__futex_wake(&wake_word, 1);
}

void cd__trace_writer_sleep(bool (*nothing_to_do)(void), const struct timespec *until)
{
    atomic_store(&wake_word, 0);
    atomic_thread_fence(memory_order_seq_cst);
    if (nothing_to_do())
        cd__futex_wait(&wake_word, 0, until);
    atomic_store(&wake_word, 1);
}

/* What a fork left behind (cd__recorder_fork_child): the parent's states
 * (and through them their buffers) and its reserve, reachable so that
 * LeakSanitizer does not report them in a child that exits; never read.
 * volatile: the stores must stay. */
static void *volatile fork_ghosts[1 + CD__TRACE_RESERVE];

void cd__recorder_fork_child(void)
{
    CD__TRACE_SET(false);
    states_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    fork_ghosts[0] = states;
    states = NULL;
    for (int i = 0; i < CD__TRACE_RESERVE; i++) {
        fork_ghosts[1 + i] = atomic_load_explicit(&cd__trace_reserve[i], memory_order_relaxed);
        atomic_store_explicit(&cd__trace_reserve[i], NULL, memory_order_relaxed);
    }
    cd__trace_tls = NULL; /* the forking thread's, the only one left */
    atomic_store_explicit(&wake_word, 0, memory_order_relaxed);
    atomic_store_explicit(&nbufs, 0, memory_order_relaxed); /* the bound counts the child's */
}

/* The first buffer found in slots[0, n), taken (the writer fills the
 * slots; a load first, so empty slots cost no locked instruction). NULL
 * if all are empty. Async-signal-safe. */
static cd__tbuf *spare_take(cd__tbuf *_Atomic *slots, int n)
{
    for (int i = 0; i < n; i++)
        if (atomic_load_explicit(&slots[i], memory_order_relaxed) != NULL) {
            cd__tbuf *b = atomic_exchange_explicit(&slots[i], NULL, memory_order_acquire);
            if (b != NULL)
                return b;
        }
    return NULL;
}

cd__tbuf *cd__trace_refill(cd__tstate *st, cd__tbuf *b)
{
    if (b != NULL)
        cds_wfcq_enqueue(&st->full_head, &st->full_tail, &b->qnode);
    cd__tbuf *n = spare_take(st->spare, CD__TRACE_SPARES);
    if (n == NULL)
        n = spare_take(cd__trace_reserve, CD__TRACE_RESERVE);
    atomic_store_explicit(&st->cur, n, memory_order_release);
    if (n != NULL) /* tells the writer a spare went (and how fast they go) */
        atomic_store_explicit(&st->refills,
                              atomic_load_explicit(&st->refills, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    if (n == NULL) /* the writer is behind: this event is lost, counted */
        atomic_store_explicit(&st->lost_events,
                              atomic_load_explicit(&st->lost_events, memory_order_relaxed) + 1,
                              memory_order_relaxed);
    if (b != NULL || n == NULL)
        cd__trace_wake_writer(); /* a queue to drain or a spare to provide */
    return n;
}

void cd__trace_emit(uint8_t type, int n, const uint64_t *args)
{
    /* In a signal handler or the collection callback a thread without a
     * state cannot create one (malloc); it drops the event silently: such
     * a thread has never traced, so no batch of its is damaged. */
    cd__tstate *st = cd__trace_tls;
    if (st == NULL && (st = cd__trace_self(cd__self != NULL)) == NULL)
        return;
    cd__trace_put(st, type, n, args);
}

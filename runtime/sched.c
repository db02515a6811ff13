/* runtime/sched.c - the work-stealing pool: Ps, Ms, spawning, scheduling,
 * hand-off around blocking calls, shutdown.
 *
 * The design is Go's scheduler (runtime/proc.go) without preemption and
 * without stack switching: a task runs to completion on the thread that
 * started it. What follows in one paragraph each:
 *
 * Spawning. A task spawned by a task goes to the local run queue of the P
 * its thread holds (no lock, no system call); a task spawned by any other
 * thread goes to the global queue (wait-free enqueue). Either way the
 * spawner then calls wakep(), which starts one more spinning M only when a P
 * is idle and no M is already spinning: that keeps wake-ups, the expensive
 * part, to the minimum that still spreads work.
 *
 * Finding work (find_work). An M holding a P looks, in order: every 61st
 * tick the global queue (fairness), its local queue, the global queue, then
 * it "spins": steals half of a random victim's queue, four rounds over all
 * Ps. Finding nothing, it puts its P on the idle list and parks on a futex.
 * At most half of the busy Ps spin at once (Go's limit), so idle CPUs are
 * not burnt by a crowd of thieves.
 *
 * Lost wake-ups. A spawner publishes its task, then checks for idle Ps and
 * spinners; an M going idle publishes its idleness (npidle, nmspinning),
 * then checks every queue once more. Both sides separate the store from the
 * load with a sequentially consistent fence, so at least one of them sees
 * the other: a task is never left queued with every M asleep.
 *
 * Blocking (cd_block_begin/end). The task's M gives its P away at once: to
 * an M waiting to resume a task, else to an idle or new M if there is work,
 * else to the idle list. On cd_block_end the M takes an idle P or queues
 * itself as a P-waiter; P-waiters have priority over queued tasks at every
 * scheduling point, so a resumed task waits at most for one task to end.
 *
 * Shutdown. Foreign spawns are refused, then cd__sched_stop waits until the
 * count of created tasks equals the count of finished ones (tasks may keep
 * spawning tasks while draining), then wakes and joins every M.
 *
 * Fork. Only the forking thread lives on in a child of fork(). An atfork
 * child handler (fork_child) makes the pool there as new with plain stores:
 * every P idle and empty, no M but the forking thread's own, fresh locks.
 * Tasks queued or running in the parent are dropped and counted, never run
 * twice; threads start again on demand as after cd_init. Go has no answer
 * here (its runtime does not support fork without exec): see
 * docs/scheduler.md for the choices.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cdebug/sched.h"
#include "base/fpwalk.h"
#include "base/futex.h"
#include "base/io.h"
#include "runtime/gc.h"
#include "runtime/hooks.h"
#include "runtime/start.h"
#include "runtime/sched_int.h"
#include "runtime/contention.h"
#include "runtime/sched_priv.h"
#include "runtime/trace_intern.h"
#include "runtime/trace_recorder.h"

#define S                cd__sched_g
#define CD__MAX_THREADS  10000 /* as Go's default SetMaxThreads */
#define CD__STEAL_ROUNDS 4

cd__sched cd__sched_g;
static __thread cd__m *cur_m; /* the calling worker thread's M, NULL elsewhere */

/* Owner-only counter increment: the P's holder is its only writer, so a
 * relaxed load and store suffice (no locked instruction on the hot path). */
static inline void inc_owned(_Atomic uint64_t *c)
{
    atomic_store_explicit(c, atomic_load_explicit(c, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* ---- idle Ps, idle Ms, P-waiters (all under S.lock) -------------------- */

static void pidle_put(cd__p *p)
{
    atomic_store_explicit(&p->status, CD__P_IDLE, memory_order_relaxed);
    atomic_store_explicit(&p->m, -1, memory_order_relaxed);
    p->idle_next = S.pidle;
    S.pidle = p;
    atomic_fetch_add(&S.npidle, 1);
}

static cd__p *pidle_get(void)
{
    cd__p *p = S.pidle;
    if (p != NULL) {
        S.pidle = p->idle_next;
        atomic_fetch_sub(&S.npidle, 1);
    }
    return p;
}

static cd__m *midle_get(void)
{
    cd__m *m = S.midle;
    if (m != NULL) {
        S.midle = m->link;
        atomic_fetch_sub(&S.nmidle, 1);
    }
    return m;
}

static cd__m *pwait_get(void)
{
    cd__m *m = S.pwait_head;
    if (m != NULL) {
        S.pwait_head = m->link;
        if (S.pwait_head == NULL)
            S.pwait_tail = NULL;
        atomic_fetch_sub(&S.npwait, 1);
    }
    return m;
}

/* ---- M parking ---------------------------------------------------------- */

/* Hands p (NULL: "exit") to a parked or newborn M and wakes it. */
static void m_wake(cd__m *m, cd__p *p, bool spinning)
{
    atomic_store_explicit(&m->next_spinning, spinning, memory_order_relaxed);
    atomic_store_explicit(&m->nextp, p, memory_order_relaxed);
    atomic_store_explicit(&m->park, 1, memory_order_release);
    cd__futex_wake(&m->park, 1);
}

/* Sleeps until m_wake; returns the P handed over (NULL: exit). */
static cd__p *m_park(cd__m *m)
{
    while (atomic_load_explicit(&m->park, memory_order_acquire) == 0)
        cd__futex_wait(&m->park, 0, NULL);
    atomic_store_explicit(&m->park, 0, memory_order_relaxed);
    return atomic_exchange_explicit(&m->nextp, NULL, memory_order_relaxed);
}

static void m_acquire(cd__m *m, cd__p *p)
{
    if (CD__TRACING())
        cd__trace_ev1(CD__EV_WORKER_ACQUIRE, (uint64_t)p->id);
    m->p = p;
    atomic_store_explicit(&m->pid, p->id, memory_order_relaxed);
    atomic_store_explicit(&p->m, (int64_t)atomic_load(&m->id), memory_order_relaxed);
    atomic_store_explicit(&p->status, CD__P_RUNNING, memory_order_relaxed);
}

static void m_release(cd__m *m)
{
    if (CD__TRACING() && m->p != NULL)
        cd__trace_ev1(CD__EV_WORKER_RELEASE, (uint64_t)m->p->id);
    m->p = NULL;
    atomic_store_explicit(&m->pid, -1, memory_order_relaxed);
}

/* Sets m's spinning flag (owner only), tracing the change. The caller
 * keeps S.nmspinning in step. */
static void set_spinning(cd__m *m, bool on)
{
    if (CD__TRACING() && atomic_load_explicit(&m->spinning, memory_order_relaxed) != on)
        cd__trace_ev0(on ? CD__EV_SPIN_BEGIN : CD__EV_SPIN_END);
    atomic_store_explicit(&m->spinning, on, memory_order_relaxed);
}

static void *m_main(void *arg);

/* Creates an M that starts holding p. Called with S.lock held so shutdown
 * never races a half-created thread. Returns NULL on failure. */
static cd__m *m_create_locked(cd__p *p, bool spinning)
{
    if (atomic_load(&S.nm) >= CD__MAX_THREADS)
        return NULL;
    cd__m *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    atomic_init(&m->pid, -1);
    atomic_init(&m->next_spinning, spinning);
    atomic_init(&m->nextp, p);
    atomic_init(&m->park, 1); /* its first m_park returns p at once */
    m->rand = (uint32_t)(uintptr_t)m | 1u;
    if (cd__thread_spawn(&m->pthread, NULL, CD__THREAD_WORKER, true, m_main, m) != 0) {
        free(m);
        return NULL;
    }
    m->all_next = S.allm;
    S.allm = m;
    atomic_fetch_add(&S.nm, 1);
    return m;
}

/* Parks m as an idle M until it is handed a P. Returns false on exit. */
static bool m_stop(cd__m *m)
{
    pthread_mutex_lock(&S.lock);
    if (atomic_load(&S.exiting)) {
        pthread_mutex_unlock(&S.lock);
        return false;
    }
    m->link = S.midle;
    S.midle = m;
    atomic_fetch_add(&S.nmidle, 1);
    pthread_mutex_unlock(&S.lock);
    atomic_fetch_add_explicit(&S.parks, 1, memory_order_relaxed);

    cd__p *p = m_park(m);
    if (p == NULL)
        return false;
    m_acquire(m, p);
    set_spinning(m, atomic_load(&m->next_spinning));
    return true;
}

/* Gets p (or an idle P when p is NULL) running on an idle or new M. With
 * spinning, the caller has already counted the new spinner in nmspinning. */
static void m_start(cd__p *p, bool spinning)
{
    pthread_mutex_lock(&S.lock);
    if (p == NULL && (p = pidle_get()) == NULL)
        goto undo_spin;
    if (atomic_load(&S.exiting)) {
        pidle_put(p);
        goto undo_spin;
    }
    cd__m *m = midle_get();
    if (m == NULL) {
        if (m_create_locked(p, spinning) == NULL) {
            static _Atomic int warned;
            if (!atomic_exchange(&warned, 1))
                fprintf(stderr, "cdebug: sched: cannot start a thread (limit %d)\n",
                        CD__MAX_THREADS);
            pidle_put(p);
            goto undo_spin;
        }
        pthread_mutex_unlock(&S.lock);
        return;
    }
    pthread_mutex_unlock(&S.lock);
    m_wake(m, p, spinning);
    return;

undo_spin:
    pthread_mutex_unlock(&S.lock);
    if (spinning)
        atomic_fetch_sub(&S.nmspinning, 1);
}

/* Called after new work became visible (the caller has fenced): wakes one
 * more spinning M if a P is idle and nobody is already looking. */
static void wakep(void)
{
    if (atomic_load_explicit(&S.npidle, memory_order_relaxed) == 0)
        return;
    int zero = 0;
    if (atomic_load_explicit(&S.nmspinning, memory_order_relaxed) != 0 ||
        !atomic_compare_exchange_strong(&S.nmspinning, &zero, 1))
        return;
    m_start(NULL, true);
}

/* A spinning M found work: stop counting it, and if it was the last
 * spinner, start another so a burst of work keeps spreading. */
static void reset_spinning(cd__m *m)
{
    set_spinning(m, false);
    int left = atomic_fetch_sub(&S.nmspinning, 1) - 1;
    if (left == 0 && atomic_load(&S.npidle) > 0)
        wakep();
}

/* ---- global queue ------------------------------------------------------ */

static void globq_put(cd__task *t)
{
    cds_wfcq_enqueue(&S.gq_head, &S.gq_tail, &t->qnode);
    atomic_fetch_add(&S.gq_len, 1);
}

/* Takes a fair share of the global queue: one task to run, the rest into
 * p's local queue. max limits the batch (0: no limit beyond half a ring). */
static cd__task *globq_get(cd__p *p, uint32_t max)
{
    uint32_t len = atomic_load(&S.gq_len);
    if (len == 0)
        return NULL;
    uint32_t n = len / (uint32_t)S.nprocs + 1;
    if (max != 0 && n > max)
        n = max;
    if (n > CD__RUNQ_SIZE / 2)
        n = CD__RUNQ_SIZE / 2;

    cd__task *first = NULL;
    uint32_t taken = 0;
    cds_wfcq_dequeue_lock(&S.gq_head, &S.gq_tail);
    for (; taken < n; taken++) {
        struct cds_wfcq_node *node = __cds_wfcq_dequeue_blocking(&S.gq_head, &S.gq_tail);
        if (node == NULL)
            break;
        cd__task *t = caa_container_of(node, cd__task, qnode);
        (void)atomic_load_explicit(&t->state, memory_order_acquire); /* see cd_go_named */
        if (first == NULL)
            first = t;
        else if (!cd__runq_put(p, t))
            globq_put(t); /* cannot happen while p's queue has room */
    }
    /* One update for the batch: the length's line is shared with every
     * spawner from a thread without a P. */
    if (taken > 0)
        atomic_fetch_sub(&S.gq_len, taken);
    cds_wfcq_dequeue_unlock(&S.gq_head, &S.gq_tail);
    return first;
}

/* ---- scheduling -------------------------------------------------------- */

static inline uint32_t xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Gives m's P to the first P-waiter, if any. Returns true when it did (m
 * then has no P). */
static bool give_to_waiter(cd__m *m)
{
    pthread_mutex_lock(&S.lock);
    cd__m *w = pwait_get();
    if (w == NULL) {
        pthread_mutex_unlock(&S.lock);
        return false;
    }
    cd__p *p = m->p;
    m_release(m);
    pthread_mutex_unlock(&S.lock);
    m_wake(w, p, false);
    return true;
}

static bool any_work(void)
{
    if (atomic_load(&S.gq_len) > 0)
        return true;
    for (int i = 0; i < S.nprocs; i++)
        if (cd__runq_len(S.allp[i]) > 0)
            return true;
    return false;
}

/* m, holding p, found a task. */
static void took_work(cd__m *m, cd__p *p)
{
    if (m->spinning)
        reset_spinning(m);
    else if (cd__runq_len(p) > 0)
        /* Tasks run to completion (no preemption, unlike Go): tasks left
         * in our queue, e.g. the rest of a batch from the global queue,
         * would wait behind the one we start while another P idles.
         * wakep() is a no-op when no P is idle or someone spins. */
        wakep();
}

/* Returns the next task for m (m then holds a P), or NULL when the pool
 * is exiting. May park m any number of times. */
static cd__task *find_work(cd__m *m)
{
    cd__task *t;
top:
    if (atomic_load_explicit(&S.exiting, memory_order_relaxed)) {
        if (m->p != NULL) {
            pthread_mutex_lock(&S.lock);
            pidle_put(m->p);
            m_release(m);
            pthread_mutex_unlock(&S.lock);
        }
        if (m->spinning) {
            set_spinning(m, false);
            atomic_fetch_sub(&S.nmspinning, 1);
        }
        return NULL;
    }
    cd__p *p = m->p;

    /* A thread back from a blocking call is waiting for a P: it goes first. */
    if (atomic_load_explicit(&S.npwait, memory_order_relaxed) > 0) {
        bool was_spinning = m->spinning;
        if (m->spinning) {
            set_spinning(m, false);
            atomic_fetch_sub(&S.nmspinning, 1);
        }
        if (give_to_waiter(m)) {
            /* While we counted as a spinner, spawners skipped wakep(): look
             * again for work they published (see the idle path below). */
            if (was_spinning) {
                atomic_thread_fence(memory_order_seq_cst);
                if (any_work())
                    wakep();
            }
            goto park;
        }
    }

    uint64_t tick = atomic_load_explicit(&p->schedtick, memory_order_relaxed);
    if (tick % 61 == 0 && (t = globq_get(p, 1)) != NULL)
        goto found;
    if ((t = cd__runq_get(p)) != NULL)
        goto found;
    if ((t = globq_get(p, 0)) != NULL)
        goto found;

    /* Steal. Spin only while fewer than half of the busy Ps spin. */
    if (!m->spinning) {
        int busy = S.nprocs - atomic_load(&S.npidle);
        if (2 * atomic_load(&S.nmspinning) < busy) {
            set_spinning(m, true);
            atomic_fetch_add(&S.nmspinning, 1);
        }
    }
    if (m->spinning && S.nprocs > 1) {
        for (int round = 0; round < CD__STEAL_ROUNDS; round++) {
            uint32_t start = xorshift(&m->rand) % (uint32_t)S.nprocs;
            for (int i = 0; i < S.nprocs; i++) {
                cd__p *v = S.allp[(start + (uint32_t)i) % (uint32_t)S.nprocs];
                if (v == p)
                    continue;
                if ((t = cd__runq_steal(p, v)) != NULL) {
                    inc_owned(&p->steals);
                    goto found;
                }
            }
            if ((t = globq_get(p, 0)) != NULL)
                goto found;
        }
    }

    /* Nothing to run: give the P back (to a P-waiter first). */
    pthread_mutex_lock(&S.lock);
    if ((t = globq_get(p, 0)) != NULL) {
        pthread_mutex_unlock(&S.lock);
        goto found;
    }
    cd__m *w = pwait_get();
    m_release(m);
    if (w == NULL)
        pidle_put(p);
    pthread_mutex_unlock(&S.lock);
    if (w != NULL)
        m_wake(w, p, false);

    if (m->spinning) {
        set_spinning(m, false);
        atomic_fetch_sub(&S.nmspinning, 1); /* seq_cst: the fence of the note above */
    }
    atomic_thread_fence(memory_order_seq_cst);
    /* Work published after our last look, whose spawner saw no idle P or
     * saw a spinner (us), would otherwise wait for the next spawn. This
     * holds even when our P went to a waiter: that thread may finish its
     * task and go idle before the spawner's push, while our spinner count
     * made the spawner skip wakep(). */
    if (any_work()) {
        pthread_mutex_lock(&S.lock);
        cd__p *q = pidle_get();
        pthread_mutex_unlock(&S.lock);
        if (q != NULL) {
            m_acquire(m, q);
            set_spinning(m, true);
            atomic_fetch_add(&S.nmspinning, 1);
            goto top;
        }
    }

park:
    if (!m_stop(m))
        return NULL;
    goto top;

found:
    took_work(m, p);
    return t;
}

/* The first place find_work looks when nothing needs attention first (no
 * exit, no P-waiter, not the 61st tick): m's own run queue. NULL when
 * find_work must run. Used by execute while tracing, to read the clock
 * once for a task's end and the next one's start. */
static cd__task *local_work(cd__m *m)
{
    cd__p *p = m->p;
    if (atomic_load_explicit(&S.exiting, memory_order_relaxed) ||
        atomic_load_explicit(&S.npwait, memory_order_relaxed) > 0 ||
        atomic_load_explicit(&p->schedtick, memory_order_relaxed) % 61 == 0)
        return NULL;
    cd__task *t = cd__runq_get(p);
    if (t != NULL)
        took_work(m, p);
    return t;
}

/* The frames below every task's function (see cd__sched_task_base),
 * published once with a release store of task_base_n. */
static uintptr_t task_base[CD__SCHED_BASE_MAX];
static _Atomic size_t task_base_n;
static _Atomic int task_base_claimed;

size_t cd__sched_task_base(uintptr_t *pcs, size_t max)
{
    size_t n = atomic_load_explicit(&task_base_n, memory_order_acquire);
    if (n > max)
        n = max;
    memcpy(pcs, task_base, n * sizeof pcs[0]);
    return n;
}

/* Runs t. noinline and never a tail call, so every task's stack has the
 * same frames below its function: one return address into run_task, then
 * task_base, which the first task run records (a walk of a few frames,
 * once per process). */
static void __attribute__((noinline)) run_task(cd__task *t)
{
    if (atomic_load_explicit(&task_base_n, memory_order_relaxed) == 0 &&
        !atomic_exchange_explicit(&task_base_claimed, 1, memory_order_relaxed)) {
        size_t n = cd__fpwalk_here(task_base, CD__SCHED_BASE_MAX, 0);
        atomic_store_explicit(&task_base_n, n, memory_order_release);
    }
    t->fn(t->arg);
    __asm__ volatile("" ::: "memory");
}

/* In a child of fork(), the task that called fork() has returned. It was
 * the child's only flow of control (the child has no main to go back to):
 * the child ends as a Go program ends when main returns, with status 0,
 * whatever other tasks still run. Sleeping here instead would leave the
 * child idle for ever. */
static void __attribute__((noreturn, cold, noinline)) fork_main_returned(void)
{
    exit(0);
}

/* Runs t on m. started: its TASK_START is already recorded. Returns the
 * next task, already taken, when tracing found one in m's own queue (its
 * TASK_START recorded with t's TASK_END: one clock read for both, the pop
 * between them is under a tick), else NULL: call find_work. */
static cd__task *execute(cd__m *m, cd__task *t, bool started)
{
    inc_owned(&m->p->schedtick);
    atomic_store_explicit(&t->m, (int64_t)atomic_load(&m->id), memory_order_relaxed);
    atomic_store_explicit(&t->state, CD__G_RUNNING, memory_order_relaxed);
    atomic_store_explicit(&m->curg, t, memory_order_release);
    uint64_t id = atomic_load_explicit(&t->id, memory_order_relaxed);
    if (CD__TRACING() && !started)
        cd__trace_ev1(CD__EV_TASK_START, id);

    run_task(t);
    if (__builtin_expect(m->fork_main, 0))
        fork_main_returned();

    cd__task *next = NULL;
    if (CD__TRACING()) {
        next = local_work(m);
        if (next != NULL)
            cd__trace_ev1_pair(CD__EV_TASK_END, id, CD__EV_TASK_START,
                               atomic_load_explicit(&next->id, memory_order_relaxed));
        else
            cd__trace_ev1(CD__EV_TASK_END, id);
    }

    /* The task may have blocked and resumed on another P. */
    cd__p *p = m->p;
    atomic_store_explicit(&m->curg, NULL, memory_order_release);
    atomic_store_explicit(&t->m, -1, memory_order_relaxed);
    atomic_store_explicit(&t->state, CD__G_DONE, memory_order_relaxed);
    cd__task_free(p, t);
    /* Release: everything the task did happens before the drain sees it. */
    atomic_store_explicit(&p->done, atomic_load_explicit(&p->done, memory_order_relaxed) + 1,
                          memory_order_release);
    return next;
}

static void *m_main(void *arg)
{
    cd__m *m = arg;
    cur_m = m;
    m->thr = cd__self;
    atomic_store(&m->id, cd__self->id);
    /* Atomic: the task profile reads it from other threads (taskprof.c). */
    __atomic_store_n(&cd__self->sched, (void *)m, __ATOMIC_RELEASE);

    cd__p *p = m_park(m);
    if (p != NULL) {
        m_acquire(m, p);
        set_spinning(m, atomic_load(&m->next_spinning));
        bool started = false;
        cd__task *t = find_work(m);
        while (t != NULL) {
            cd__task *next = execute(m, t, started);
            started = next != NULL;
            t = started ? next : find_work(m);
        }
    }
    cur_m = NULL;
    return NULL;
}

/* ---- public: spawning -------------------------------------------------- */

/* TASK_CREATE with the creation stack: from the return address of
 * cd_go/cd_go_named, whose frame (spawn is inlined into them) is `frame`.
 * A task's stack ends in run_task and the worker's frames, task_base: the
 * walk stops there and copies them (cd__trace_stack). */
static void __attribute__((noinline)) trace_create(cd__task *t, const void *frame)
{
    size_t nbase = atomic_load_explicit(&task_base_n, memory_order_acquire);
    cd__trace_ev4(CD__EV_TASK_CREATE, atomic_load_explicit(&t->id, memory_order_relaxed), t->parent,
                  cd__trace_string(t->name), cd__trace_stack(frame, task_base, nbase));
}

/* Fills a new record's fields. Relaxed atomic stores: the task profile
 * reads them concurrently (see cd__task in sched_priv.h); on x86-64 and
 * aarch64 they are plain stores. */
static inline void task_fill(cd__task *t, const char *name, void (*fn)(void *), void *arg,
                             uint64_t parent, uintptr_t gopc)
{
    __atomic_store_n(&t->fn, fn, __ATOMIC_RELAXED);
    t->arg = arg;
    __atomic_store_n(&t->name, name, __ATOMIC_RELAXED);
    __atomic_store_n(&t->parent, parent, __ATOMIC_RELAXED);
    atomic_store_explicit(&t->gopc, gopc, memory_order_relaxed);
}

/* cd_go_named's body; gopc: the return address of the cd_go(_named) call.
 * Always inlined: __builtin_frame_address(0) is then cd_go's frame, where
 * trace_create's stack starts. */
static inline __attribute__((always_inline)) int spawn(const char *name, void (*fn)(void *),
                                                       void *arg, uintptr_t gopc)
{
    if (fn == NULL)
        return -EINVAL;
    cd__ensure_init();
    cd__gc_start(); /* tasks and their workers use the collector */
    if (!atomic_load_explicit(&S.started, memory_order_acquire))
        return -ESHUTDOWN;

    cd__m *m = cur_m;
    cd__p *p = m != NULL ? m->p : NULL;
    cd__task *cur = m != NULL ? atomic_load_explicit(&m->curg, memory_order_relaxed) : NULL;
    uint64_t parent = cur != NULL ? atomic_load_explicit(&cur->id, memory_order_relaxed) : 0;

    if (p != NULL) {
        /* Fast path: a task spawning a task. No lock; the drain in
         * cd_shutdown waits for us because our own task is unfinished. */
        cd__task *t = cd__task_alloc(p);
        if (t == NULL)
            return -ENOMEM;
        task_fill(t, name, fn, arg, parent, gopc);
        atomic_store_explicit(&t->id, cd__task_next_id(p), memory_order_relaxed);
        atomic_store_explicit(&t->m, -1, memory_order_relaxed);
        if (CD__TRACING())
            trace_create(t, __builtin_frame_address(0));
        /* Release: also published through the global queue on overflow. */
        atomic_store_explicit(&t->state, CD__G_RUNNABLE, memory_order_release);
        inc_owned(&p->created);
        if (!cd__runq_put(p, t)) {
            /* Local queue full: move half of it and t to the global queue
             * in one go, as Go's runqputslow does. */
            cd__task *batch[CD__RUNQ_SIZE / 2];
            uint32_t n = cd__runq_grab_half(p, batch, CD__RUNQ_SIZE / 2);
            for (uint32_t i = 0; i < n; i++)
                globq_put(batch[i]);
            globq_put(t);
        }
        atomic_thread_fence(memory_order_seq_cst);
        wakep();
        return 0;
    }

    /* Slow path: main, foreign and blocked threads use the global queue.
     * The task counts as created before the stopping check: cd__sched_stop
     * sets stopping, then waits for created == done, so either we see
     * stopping and take the count back, or the drain waits for this task
     * (a store then a load on each side, both sequentially consistent). */
    atomic_fetch_add(&S.created_global, 1);
    if (atomic_load(&S.stopping)) {
        atomic_fetch_sub(&S.created_global, 1);
        return -ESHUTDOWN;
    }
    cd__task *t = cd__task_alloc(NULL);
    if (t == NULL) {
        atomic_fetch_sub(&S.created_global, 1);
        return -ENOMEM;
    }
    task_fill(t, name, fn, arg, parent, gopc);
    atomic_store_explicit(&t->id, cd__task_next_id(NULL), memory_order_relaxed);
    atomic_store_explicit(&t->m, -1, memory_order_relaxed);
    if (CD__TRACING())
        trace_create(t, __builtin_frame_address(0));
    /* Release, paired with the acquire in globq_get: publishes the fields
     * above by the C11 model itself, not only through liburcu's barriers. */
    atomic_store_explicit(&t->state, CD__G_RUNNABLE, memory_order_release);
    globq_put(t);
    atomic_thread_fence(memory_order_seq_cst);
    wakep();
    return 0;
}

int cd_go_named(const char *name, void (*fn)(void *), void *arg)
{
    return spawn(name, fn, arg, (uintptr_t)__builtin_return_address(0));
}

int cd_go(void (*fn)(void *), void *arg)
{
    return spawn(NULL, fn, arg, (uintptr_t)__builtin_return_address(0));
}

/* ---- public: blocking hand-off ----------------------------------------- */

/* TASK_BLOCK with the blocking call's stack, which starts in the caller of
 * cd_block_begin: `frame` is block_begin's own frame, whose saved frame
 * pointer is that of cd_block_begin (or cd__sched_block_begin), whose
 * return address is in the caller. Go records a stack with each blocking
 * event too: its trace's block, syscall and network profiles are built
 * from them. Cost: the walk (the task's scheduler frames are copied, as
 * for TASK_CREATE) and a hash. */
static void __attribute__((noinline)) trace_block(cd__task *t, const char *reason, void *frame)
{
    size_t nbase = atomic_load_explicit(&task_base_n, memory_order_acquire);
    const void *caller = *(void *const *)frame;
    cd__trace_ev3(CD__EV_TASK_BLOCK, atomic_load_explicit(&t->id, memory_order_relaxed),
                  cd__trace_string(reason), cd__trace_stack(caller, task_base, nbase));
}

/* cd_block_begin's body. noinline, never tail-called by its two callers:
 * the blocking record's stack starts in the caller of cd_block_begin (or
 * of cd__sched_block_begin: cd_wg_wait). Every registered thread records
 * it, task or not, for the task profile and the SIGQUIT dump. */
static void __attribute__((noinline)) block_begin(const char *reason)
{
    cd__thread *self = cd__self;
    if (self != NULL && self->block_depth++ == 0)
        cd__thread_block_enter(self, reason != NULL ? reason : "blocked", 2);
    cd__m *m = cur_m;
    cd__task *t = m != NULL ? atomic_load_explicit(&m->curg, memory_order_relaxed) : NULL;
    if (t == NULL)
        return; /* not inside a task: nothing to hand off */
    if (m->block_depth++ > 0)
        return;

    atomic_store_explicit(&t->reason, reason != NULL ? reason : "blocked", memory_order_relaxed);
    if (CD__TRACING())
        trace_block(t, reason != NULL ? reason : "blocked", __builtin_frame_address(0));
    atomic_store_explicit(&t->state, CD__G_BLOCKED, memory_order_relaxed);
    atomic_store_explicit(&m->blocked, true, memory_order_relaxed);
    atomic_fetch_add_explicit(&S.blocked_tasks, 1, memory_order_relaxed);

    cd__p *p = m->p;
    inc_owned(&p->syscalltick);
    atomic_fetch_add_explicit(&S.handoffs, 1, memory_order_relaxed);

    pthread_mutex_lock(&S.lock);
    m_release(m);
    cd__m *w = pwait_get();
    if (w != NULL) {
        pthread_mutex_unlock(&S.lock);
        m_wake(w, p, false);
        return;
    }
    if (cd__runq_len(p) > 0 || atomic_load(&S.gq_len) > 0) {
        /* There is work for this P now: give it a thread. */
        pthread_mutex_unlock(&S.lock);
        m_start(p, false);
        return;
    }
    pidle_put(p);
    pthread_mutex_unlock(&S.lock);
    /* A spawner may have seen no idle P just before we made this one idle. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_load(&S.gq_len) > 0)
        wakep();
}

void cd__sched_block_end(void)
{
    cd__thread *self = cd__self;
    if (self != NULL && self->block_depth > 0 && --self->block_depth == 0)
        cd__thread_block_exit(self);
    cd__m *m = cur_m;
    cd__task *t = m != NULL ? atomic_load_explicit(&m->curg, memory_order_relaxed) : NULL;
    if (t == NULL || m->block_depth == 0)
        return;
    if (--m->block_depth > 0)
        return;

    pthread_mutex_lock(&S.lock);
    cd__p *p = pidle_get();
    if (p != NULL) {
        pthread_mutex_unlock(&S.lock);
    } else {
        /* Every P is busy: queue for one. */
        m->link = NULL;
        if (S.pwait_tail != NULL)
            S.pwait_tail->link = m;
        else
            S.pwait_head = m;
        S.pwait_tail = m;
        atomic_fetch_add(&S.npwait, 1);
        pthread_mutex_unlock(&S.lock);
        p = m_park(m);
    }
    m_acquire(m, p);
    atomic_store_explicit(&m->blocked, false, memory_order_relaxed);
    atomic_fetch_sub_explicit(&S.blocked_tasks, 1, memory_order_relaxed);
    atomic_store_explicit(&t->reason, NULL, memory_order_relaxed);
    atomic_store_explicit(&t->state, CD__G_RUNNING, memory_order_relaxed);
    if (CD__TRACING())
        cd__trace_ev1(CD__EV_TASK_UNBLOCK, atomic_load_explicit(&t->id, memory_order_relaxed));
}

void cd__sched_block_begin(const char *reason)
{
    block_begin(reason);
    __asm__ volatile("" ::: "memory"); /* no tail call: see block_begin */
}

void cd_block_begin(const char *reason)
{
    block_begin(reason);
    __asm__ volatile("" ::: "memory");
}

void cd_block_end(void)
{
    /* The outermost end of a blocking section is a block profile event
     * (runtime/contention.h), from its cd_block_begin. */
    cd__thread *self = cd__self;
    uint64_t since = 0;
    if (self != NULL && self->block_depth == 1 &&
        atomic_load_explicit(&cd__block_rate, memory_order_relaxed) != 0)
        since = atomic_load_explicit(&self->block_since, memory_order_relaxed);
    cd__sched_block_end();
    if (since != 0)
        cd__contention_event(CD__CONTENTION_BLOCK, (int64_t)(cd__nanotime() - since), 0);
    __asm__ volatile("" ::: "memory"); /* no tail call: the event's stack skips this frame */
}

/* ---- public: foreign threads, stats ------------------------------------ */

int cd_thread_register(void)
{
    cd__ensure_init();
    cd__gc_start();
    int rc = cd__thread_attach(CD__THREAD_FOREIGN, true);
    /* Already known: a kit thread (registered with bdwgc already), or a
     * thread the program created with pthread_create, which the registry
     * knows but bdwgc does not yet. */
    return rc == -EEXIST ? cd__thread_gc_register() : rc;
}

void cd_thread_unregister(void)
{
    if (cd__self == NULL)
        return;
    if (cd__self->kind == CD__THREAD_FOREIGN)
        cd__thread_detach();
    else if (cd__self->kind == CD__THREAD_PTHREAD)
        cd__thread_gc_unregister(); /* it stays seen until it exits */
}

int cd_maxprocs(void)
{
    return S.nprocs;
}

void cd_read_schedstats(cd_schedstats *s)
{
    memset(s, 0, sizeof *s);
    if (!atomic_load_explicit(&S.started, memory_order_acquire))
        return;
    s->gomaxprocs = (uint32_t)S.nprocs;
    s->idleprocs = (uint32_t)atomic_load(&S.npidle);
    s->threads = cd__thread_count();
    s->spinningthreads = (uint32_t)atomic_load(&S.nmspinning);
    s->idlethreads = (uint32_t)atomic_load(&S.nmidle);
    s->runqueue = atomic_load(&S.gq_len);
    uint64_t created = atomic_load(&S.created_global), done = 0, queued = s->runqueue;
    for (int i = 0; i < S.nprocs; i++) {
        cd__p *p = S.allp[i];
        done += atomic_load_explicit(&p->done, memory_order_acquire);
        created += atomic_load_explicit(&p->created, memory_order_relaxed);
        s->steals += atomic_load_explicit(&p->steals, memory_order_relaxed);
        s->runq[i] = cd__runq_len(p);
        queued += s->runq[i];
    }
    uint64_t dropped = atomic_load(&S.dropped);
    if (dropped > created - done) /* a fork's copy caught counters mid-update */
        dropped = created > done ? created - done : 0;
    s->tasks_created = created;
    s->tasks_done = done;
    s->tasks_dropped = dropped;
    s->tasks_queued = queued;
    s->tasks_blocked = atomic_load(&S.blocked_tasks);
    uint64_t live = created > done + dropped ? created - done - dropped : 0;
    s->tasks_running = live > queued ? live - queued : 0;
    s->parks = atomic_load(&S.parks);
    s->handoffs = atomic_load(&S.handoffs);
}

/* ---- fork ---------------------------------------------------------------- */

static uint64_t created_total(void);
static uint64_t outstanding(void);

/* The Ms a fork left behind, reachable, never read (see fork_child). */
static cd__m *volatile fork_ghosts[2];

/* pthread_atfork child handler: runs in the child of fork(), on its only
 * thread (the one that called fork), before fork returns there. The
 * pool's other threads are gone wherever they stood: inside S.lock, the
 * global queue's lock or the free list's, half-way through a queue or a
 * counter update (the child's copy of memory is not even one instant of
 * the parent: pages are copied while those threads run). So nothing of the
 * parent's queues is trusted; the pool is made as new instead:
 *  - the locks are re-initialised, every queue emptied, every P put idle
 *    but the one the forking thread holds (if it is an M running a task);
 *  - no M is left but the forking thread's: the others' records are
 *    kept, not freed (readers may still hold them; a few hundred bytes
 *    each, shared with the parent until written), and reachable from
 *    fork_ghosts so that LeakSanitizer does not report them;
 *  - tasks created and not done are dropped, the forking task excepted:
 *    they belong to the parent, which runs them; running them here too
 *    would run them twice. S.dropped counts them, computed as created -
 *    done - (forking task) from this very copy, modulo 2^64, so that
 *    outstanding() is exact afterwards even if the copy caught a counter
 *    mid-update (tasks_dropped may then be off by a few);
 *  - task records are taken back on the first allocation (task.c), not
 *    here: touching them all would copy their pages in a child that is
 *    about to exec.
 * Only plain stores (pthread_mutex_init and cds_wfcq_init store too): no
 * allocation, no lock taken, no system call, which is what a child of a
 * multi-threaded fork may safely do before exec, and what costs a child
 * that only execs nothing. Threads start again on demand, as after
 * cd_init. bdwgc's own child handler (registered at GC_INIT, so run
 * before this one) forgets the parent's threads the same way.
 *
 * This is the runtime's one atfork child handler: the kit's services
 * whose threads the child does not have (trace writer and flight
 * recorder, gctrace printer, schedtrace monitor) forget their state here
 * too, by the same rules, so that nothing in the child waits for, joins or
 * writes on behalf of a thread of the parent's. The debug server and the
 * CPU profiler notice the fork when stopped (they record their pid). */
static void fork_child(void)
{
    cd__thread_fork_child();
    cd__recorder_fork_child(); /* first: tracing off */
    cd__intern_fork_child();
    cd__hooks_run_fork_child(); /* the trace writer, the flight recorder (trace/) */
    cd__gctrace_fork_child();
    cd__schedtrace_fork_child();
    if (!atomic_load_explicit(&S.started, memory_order_relaxed))
        return;
    cd__m *self = cur_m;
    cd__task *cur = self != NULL ? atomic_load_explicit(&self->curg, memory_order_relaxed) : NULL;

    S.lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    cds_wfcq_init(&S.gq_head, &S.gq_tail);
    atomic_store(&S.gq_len, 0);

    uint64_t done = 0;
    for (int i = 0; i < S.nprocs; i++)
        done += atomic_load_explicit(&S.allp[i]->done, memory_order_relaxed);
    /* created - done already holds what earlier forks dropped. */
    atomic_store(&S.dropped, created_total() - done - (cur != NULL ? 1u : 0u));

    S.pidle = NULL;
    atomic_store(&S.npidle, 0);
    for (int i = S.nprocs - 1; i >= 0; i--) {
        cd__p *p = S.allp[i];
        atomic_store(&p->runq.head, 0);
        atomic_store(&p->runq.tail, 0);
        p->free = NULL;
        atomic_store(&p->nfree, 0);
        p->id_next = p->id_end = 0;
        if (self != NULL && self->p == p)
            continue; /* stays running: its holder goes on with its task */
        pidle_put(p);
    }
    S.midle = NULL;
    atomic_store(&S.nmidle, 0);
    S.pwait_head = S.pwait_tail = NULL;
    atomic_store(&S.npwait, 0);
    atomic_store(&S.nmspinning, 0);
    fork_ghosts[0] = S.allm;
    S.allm = NULL;
    atomic_store(&S.nm, 0);
    atomic_store(&S.blocked_tasks, 0);
    if (self != NULL) {
        fork_ghosts[1] = self->all_next;
        self->link = NULL;
        self->all_next = NULL;
        atomic_store(&self->spinning, false);
        self->fork_main = cur != NULL;
        S.allm = self;
        atomic_store(&S.nm, 1);
        if (atomic_load(&self->blocked))
            atomic_store(&S.blocked_tasks, 1);
    }
    cd__task_fork_child(cur);
}

static void register_atfork(void)
{
    /* After GC_INIT's (cd_init orders it): child handlers run in
     * registration order, so the collector is whole again before ours. */
    if (pthread_atfork(NULL, NULL, fork_child) != 0)
        fprintf(stderr, "cdebug: sched: pthread_atfork failed: the pool will not work "
                        "in a child of fork()\n");
}

/* The number of threads of this process, from /proc/self/stat (field 20),
 * or -1. open/read/close: no allocation, no stdio. */
static long proc_threads(void)
{
    char buf[1024];
    if (cd__read_small("/proc/self/stat", buf, sizeof buf) <= 0)
        return -1;
    const char *p = strrchr(buf, ')'); /* the command name may hold anything */
    if (p == NULL)
        return -1;
    for (int field = 2; field < 20; field++) { /* p is at the space before field 3 */
        p = strchr(p + 1, ' ');
        if (p == NULL)
            return -1;
    }
    char *end;
    long v = strtol(p + 1, &end, 10);
    return end != p + 1 && v > 0 ? v : -1;
}

bool cd__sched_deadlocked(void)
{
    if (!atomic_load_explicit(&S.started, memory_order_acquire) || atomic_load(&S.exiting))
        return false;
    cd__m *m = cur_m;
    uint64_t self = m != NULL && atomic_load_explicit(&m->curg, memory_order_relaxed) != NULL;
    uint64_t created = created_total();
    if (outstanding() > self)
        return false;
    /* No task but ours. If every other thread is a pool thread, nothing is
     * left that runs code able to wake us: pool threads run only tasks. A
     * thread in the middle of being created or of exiting only makes the
     * counts differ, which answers "not proven". */
    long n = proc_threads();
    if (n < 0 || n - 1 != (long)atomic_load(&S.nm) - (m != NULL ? 1 : 0))
        return false;
    /* Nothing was spawned while we looked (a thread counted above may have
     * spawned and left): then no task and no other thread exists now. */
    return created_total() == created && outstanding() <= self;
}

uint64_t cd__sched_dropped(void)
{
    return atomic_load(&S.dropped);
}

/* ---- start and stop ---------------------------------------------------- */

int cd__sched_start(const cd__config *cfg)
{
    static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
    pthread_once(&atfork_once, register_atfork);
    int n = cfg->maxprocs > 0 ? cfg->maxprocs : 1;
    pthread_mutex_init(&S.lock, NULL);
    cds_wfcq_init(&S.gq_head, &S.gq_tail);
    atomic_init(&S.next_id, 1);
    S.allp = calloc((size_t)n, sizeof *S.allp);
    if (S.allp == NULL)
        return -ENOMEM;
    for (int i = 0; i < n; i++) {
        cd__p *p = aligned_alloc(64, sizeof *p);
        if (p == NULL)
            return -ENOMEM; /* the process is about to fail anyway */
        memset(p, 0, sizeof *p);
        p->id = i;
        atomic_init(&p->m, -1);
        S.allp[i] = p;
    }
    S.nprocs = n;
    /* Ps start idle and threads start on demand (wakep), as in Go: a
     * program that never spawns costs no thread. Push in reverse so P0 is
     * handed out first. */
    for (int i = n - 1; i >= 0; i--)
        pidle_put(S.allp[i]);
    atomic_store_explicit(&S.started, 1, memory_order_release);
    return 0;
}

static uint64_t created_total(void)
{
    uint64_t created = atomic_load(&S.created_global);
    for (int i = 0; i < S.nprocs; i++)
        created += atomic_load_explicit(&S.allp[i]->created, memory_order_acquire);
    return created;
}

/* Tasks accepted and not yet finished (nor dropped by a fork). Reads the
 * done counters first: every task is created before it is done, so the
 * result never undercounts what was outstanding between the two reads.
 * The subtraction is modular (see fork_child), the result never negative. */
static uint64_t outstanding(void)
{
    uint64_t done = 0;
    for (int i = 0; i < S.nprocs; i++)
        done += atomic_load_explicit(&S.allp[i]->done, memory_order_acquire);
    uint64_t live = created_total() - done - atomic_load(&S.dropped);
    return (int64_t)live > 0 ? live : 0;
}

void cd__sched_stop(void)
{
    if (!atomic_load(&S.started))
        return;
    if (cur_m != NULL) {
        static const char msg[] = "cdebug: cd_shutdown called from a task; ignored\n";
        (void)!write(2, msg, sizeof msg - 1);
        return;
    }
    atomic_store(&S.stopping, 1); /* see spawn's slow path */
    /* Drain: tasks may still spawn tasks; poll until all have ended. */
    struct timespec ms = {0, 1000000};
    while (outstanding() > 0)
        nanosleep(&ms, NULL);

    pthread_mutex_lock(&S.lock);
    atomic_store(&S.exiting, 1);
    cd__m *m;
    while ((m = midle_get()) != NULL)
        m_wake(m, NULL, false);
    cd__m *all = S.allm;
    S.allm = NULL;
    pthread_mutex_unlock(&S.lock);

    while (all != NULL) {
        cd__m *next = all->all_next;
        pthread_join(all->pthread, NULL);
        free(all);
        all = next;
    }
    atomic_store_explicit(&S.started, 0, memory_order_release);
}

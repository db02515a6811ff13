/* runtime/sched_view.c - see sched_view.h: the one walk of the pool's
 * tasks and the few reads of its state that other modules need. */
#include <pthread.h>
#include <stdatomic.h>

#include "runtime/sched_priv.h"
#include "runtime/sched_view.h"

#define S cd__sched_g

static bool alive(int st)
{
    return st == CD__G_RUNNABLE || st == CD__G_RUNNING || st == CD__G_BLOCKED;
}

/* Copies t into v; false when t is not alive or changed meanwhile. Pairs
 * with the writers' ordering (sched.c spawn, task.c cd__task_free): a
 * field written after the task ended is only seen with its state past
 * alive, or with a new id. Relaxed loads of the fields: a spawner may be
 * refilling a reused record, so a field may be another task's, but never
 * torn, and the id check around them catches the reuse. */
static bool read_task(const cd__task *t, cd__task_view *v)
{
    if (t == NULL)
        return false;
    int st1 = atomic_load_explicit(&t->state, memory_order_acquire);
    if (!alive(st1))
        return false;
    uint64_t id1 = atomic_load_explicit(&t->id, memory_order_relaxed);
    v->rec = t;
    v->parent = __atomic_load_n(&t->parent, __ATOMIC_RELAXED);
    v->name = __atomic_load_n(&t->name, __ATOMIC_RELAXED);
    v->fn = (uintptr_t)__atomic_load_n(&t->fn, __ATOMIC_RELAXED);
    v->gopc = atomic_load_explicit(&t->gopc, memory_order_relaxed);
    v->m = atomic_load_explicit(&t->m, memory_order_relaxed);
    const char *reason = atomic_load_explicit(&t->reason, memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    int st2 = atomic_load_explicit(&t->state, memory_order_acquire);
    uint64_t id2 = atomic_load_explicit(&t->id, memory_order_relaxed);
    if (!alive(st2) || id1 != id2)
        return false;
    v->id = id1;
    v->state = st2; /* CD__G_* and CD__TASKV_* are the same numbers */
    v->reason = st2 == CD__G_BLOCKED ? reason : NULL;
    return true;
}

_Static_assert((int)CD__TASKV_RUNNABLE == (int)CD__G_RUNNABLE &&
                   (int)CD__TASKV_RUNNING == (int)CD__G_RUNNING &&
                   (int)CD__TASKV_BLOCKED == (int)CD__G_BLOCKED,
               "a view's state is the record's");

static void visit_task(const cd__task *t, cd__task_visit visit, void *ctx)
{
    cd__task_view v;
    if (read_task(t, &v))
        visit(&v, ctx);
}

void cd__sched_foreach_task(unsigned which, cd__task_visit visit, void *ctx)
{
    if (!atomic_load_explicit(&S.started, memory_order_acquire))
        return;
    if (which & CD__TASKS_CURRENT) {
        /* Under the lock, the M list cannot shrink. */
        pthread_mutex_lock(&S.lock);
        for (cd__m *m = S.allm; m != NULL; m = m->all_next)
            visit_task(atomic_load_explicit(&m->curg, memory_order_acquire), visit, ctx);
        pthread_mutex_unlock(&S.lock);
    }
    if (!(which & CD__TASKS_QUEUED))
        return;
    for (int i = 0; i < S.nprocs; i++) {
        cd__runq *q = &S.allp[i]->runq;
        uint32_t h = atomic_load_explicit(&q->head, memory_order_acquire);
        uint32_t n = cd__runq_len(S.allp[i]);
        for (uint32_t k = 0; k < n; k++)
            visit_task(atomic_load_explicit(&q->slots[(h + k) % CD__RUNQ_SIZE],
                                            memory_order_relaxed),
                       visit, ctx);
    }
    /* The dequeue lock only pauses dequeuers; spawners go on enqueueing. */
    cds_wfcq_dequeue_lock(&S.gq_head, &S.gq_tail);
    struct cds_wfcq_node *node;
    __cds_wfcq_for_each_blocking(&S.gq_head, &S.gq_tail, node)
    {
        visit_task(caa_container_of(node, cd__task, qnode), visit, ctx);
    }
    cds_wfcq_dequeue_unlock(&S.gq_head, &S.gq_tail);
}

/* thr's M. The acquire pairs with m_main's release store (sched.c): the M
 * is set up before its thread publishes it. */
static const cd__m *thread_m(const cd__thread *thr)
{
    return thr != NULL ? __atomic_load_n(&thr->sched, __ATOMIC_ACQUIRE) : NULL;
}

bool cd__sched_thread_task(const cd__thread *thr, cd__task_view *v)
{
    const cd__m *m = thread_m(thr);
    return m != NULL && read_task(atomic_load_explicit(&m->curg, memory_order_acquire), v);
}

const char *cd__sched_thread_task_name(const cd__thread *thr)
{
    /* Only the thread's own M and its curg are read, both written by this
     * very thread (the handler interrupts it); the task's name lives as
     * long as the task (cd_go_named's contract), which runs right here. */
    const cd__m *m = thr != NULL ? thr->sched : NULL;
    if (m == NULL)
        return NULL;
    const cd__task *t = atomic_load_explicit(&m->curg, memory_order_relaxed);
    return t != NULL ? t->name : NULL;
}

int cd__sched_thread_worker(const cd__thread *thr)
{
    const cd__m *m = thread_m(thr);
    return m != NULL ? atomic_load(&m->pid) : -1;
}

int cd__sched_thread_idle_kind(const cd__thread *thr)
{
    const cd__m *m = thread_m(thr);
    if (m == NULL)
        return CD__THREADV_OTHER;
    return atomic_load_explicit(&m->spinning, memory_order_relaxed) ? CD__THREADV_SPINNING
                                                                    : CD__THREADV_IDLE;
}

bool cd__sched_task_same(const cd__task_view *v)
{
    const cd__task *t = v->rec;
    return atomic_load_explicit(&t->id, memory_order_acquire) == v->id &&
           alive(atomic_load_explicit(&t->state, memory_order_acquire));
}

int cd__sched_workers(void)
{
    return atomic_load_explicit(&S.started, memory_order_acquire) ? S.nprocs : 0;
}

bool cd__sched_worker_running(int i)
{
    return i >= 0 && i < cd__sched_workers() && atomic_load(&S.allp[i]->status) == CD__P_RUNNING;
}

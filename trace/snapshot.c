/* trace/snapshot.c - threads, workers and live tasks at trace start, so a
 * trace started mid-run never shows an event for an unknown entity. */
#include <stdlib.h>
#include <string.h>

#include "runtime/sched_priv.h"
#include "runtime/thread.h"
#include "base/trace_events.h"
#include "runtime/trace_recorder.h"
#include "trace/snapshot.h"

#define S cd__sched_g

typedef struct sb {
    uint8_t *p;
    size_t len, cap;
    bool failed;
    uint64_t ids[CD__TRACE_CHAINS]; /* id delta bases (the payload's are 0) */
} sb;

static void put_event(sb *b, uint8_t type, int n, const uint64_t *args)
{
    if (b->failed)
        return;
    if (b->len + CD__TRACE_MAX_EVENT > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        uint8_t *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    uint8_t *p = b->p + b->len;
    *p++ = type;
    *p++ = 0; /* dts: every snapshot event has the snapshot's timestamp */
    for (int i = 0; i < n; i++)
        p = cd__uv_put(p, cd__ids_enc(type, i, args[i], b->ids));
    b->len = (size_t)(p - b->p);
}

static void put_uv(sb *b, uint64_t v)
{
    if (b->failed)
        return;
    if (b->len + 10 > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        uint8_t *p = realloc(b->p, cap);
        if (p == NULL) {
            b->failed = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    b->len = (size_t)(cd__uv_put(b->p + b->len, v) - b->p);
}

static void thread_cb(cd__thread *t, void *ctx)
{
    int worker = -1;
    /* The acquire pairs with m_main's release store (sched.c): the M is
     * set up before its thread publishes it. */
    cd__m *m = __atomic_load_n(&t->sched, __ATOMIC_ACQUIRE);
    if (m != NULL)
        worker = atomic_load(&m->pid);
    uint64_t a[3] = {t->id, (uint64_t)t->kind, (uint64_t)(worker + 1)};
    put_event(ctx, CD__EV_STATE_THREAD, 3, a);
}

/* Relaxed atomic loads throughout: a spawner may be refilling the record
 * (a stale queue slot, a record freed and reused), so the fields may be
 * another task's, but never torn; the trace reader accepts a snapshot that
 * events then contradict (docs/trace-format.md). */
static void task_event(sb *b, cd__task *t)
{
    int state = atomic_load_explicit(&t->state, memory_order_relaxed);
    if (state != CD__G_RUNNABLE && state != CD__G_RUNNING && state != CD__G_BLOCKED)
        return;
    int64_t m = atomic_load_explicit(&t->m, memory_order_relaxed);
    const char *reason = atomic_load_explicit(&t->reason, memory_order_relaxed);
    uint64_t a[6] = {atomic_load_explicit(&t->id, memory_order_relaxed),
                     (uint64_t)state,
                     __atomic_load_n(&t->parent, __ATOMIC_RELAXED),
                     cd__trace_string(__atomic_load_n(&t->name, __ATOMIC_RELAXED)),
                     state == CD__G_BLOCKED ? cd__trace_string(reason) : 0,
                     m >= 0 ? (uint64_t)m + 1 : 0};
    put_event(b, CD__EV_STATE_TASK, 6, a);
}

void cd__trace_snapshot(uint64_t ts, uint8_t **out, size_t *n)
{
    sb b = {0};
    put_uv(&b, cd__self != NULL ? cd__self->id : 0);
    put_uv(&b, ts);
    put_uv(&b, 0); /* base_task */
    put_uv(&b, 0); /* base_parent */
    put_uv(&b, 0); /* base_user */
    cd__thread_foreach(thread_cb, &b);
    if (atomic_load_explicit(&S.started, memory_order_acquire)) {
        for (int i = 0; i < S.nprocs; i++) {
            uint64_t a[2] = {(uint64_t)i,
                             atomic_load(&S.allp[i]->status) == CD__P_RUNNING ? 1u : 0u};
            put_event(&b, CD__EV_STATE_WORKER, 2, a);
        }
        pthread_mutex_lock(&S.lock);
        for (cd__m *m = S.allm; m != NULL; m = m->all_next) {
            cd__task *t = atomic_load_explicit(&m->curg, memory_order_acquire);
            if (t != NULL)
                task_event(&b, t);
        }
        pthread_mutex_unlock(&S.lock);
        for (int i = 0; i < S.nprocs; i++) {
            cd__runq *q = &S.allp[i]->runq;
            uint32_t h = atomic_load_explicit(&q->head, memory_order_acquire);
            uint32_t len = cd__runq_len(S.allp[i]);
            for (uint32_t k = 0; k < len; k++)
                task_event(&b, atomic_load_explicit(&q->slots[(h + k) % CD__RUNQ_SIZE],
                                                    memory_order_relaxed));
        }
        cds_wfcq_dequeue_lock(&S.gq_head, &S.gq_tail);
        struct cds_wfcq_node *node;
        __cds_wfcq_for_each_blocking(&S.gq_head, &S.gq_tail, node)
        {
            task_event(&b, caa_container_of(node, cd__task, qnode));
        }
        cds_wfcq_dequeue_unlock(&S.gq_head, &S.gq_tail);
    }
    if (b.failed) {
        free(b.p);
        *out = NULL;
        *n = 0;
        return;
    }
    *out = b.p;
    *n = b.len;
}

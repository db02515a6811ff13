/* trace/snapshot.c - threads, workers and live tasks at trace start, so a
 * trace started mid-run never shows an event for an unknown entity. */
#include <stdlib.h>
#include <string.h>

#include "runtime/sched_view.h"
#include "runtime/thread.h"
#include "base/trace_events.h"
#include "runtime/trace_recorder.h"
#include "trace/snapshot.h"


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
    int worker = cd__sched_thread_worker(t);
    uint64_t a[3] = {t->id, (uint64_t)t->kind, (uint64_t)(worker + 1)};
    put_event(ctx, CD__EV_STATE_THREAD, 3, a);
}

/* cd__sched_foreach_task's visitor. Tasks move while the pool runs: the
 * trace reader accepts a snapshot that events then contradict
 * (docs/trace-format.md). */
static void task_event(const cd__task_view *v, void *ctx)
{
    uint64_t a[6] = {v->id,
                     (uint64_t)v->state,
                     v->parent,
                     cd__trace_string(v->name),
                     v->state == CD__TASKV_BLOCKED ? cd__trace_string(v->reason) : 0,
                     v->m >= 0 ? (uint64_t)v->m + 1 : 0};
    put_event(ctx, CD__EV_STATE_TASK, 6, a);
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
    for (int i = 0, n = cd__sched_workers(); i < n; i++) {
        uint64_t a[2] = {(uint64_t)i, cd__sched_worker_running(i) ? 1u : 0u};
        put_event(&b, CD__EV_STATE_WORKER, 2, a);
    }
    cd__sched_foreach_task(CD__TASKS_CURRENT | CD__TASKS_QUEUED, task_event, &b);
    if (b.failed) {
        free(b.p);
        *out = NULL;
        *n = 0;
        return;
    }
    *out = b.p;
    *n = b.len;
}

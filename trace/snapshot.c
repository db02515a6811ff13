/* trace/snapshot.c - threads, workers and live tasks at trace start, so a
 * trace started mid-run never shows an event for an unknown entity. */
#include "base/buf.h"
#include "runtime/sched_view.h"
#include "runtime/thread.h"
#include "base/trace_events.h"
#include "runtime/trace_recorder.h"
#include "trace/snapshot.h"

/* The payload being built and the id delta bases of its events (the
 * payload's own bases are 0). */
typedef struct snap {
    cd__buf *b;
    uint64_t ids[CD__TRACE_CHAINS];
} snap;

static void put_event(snap *s, uint8_t type, int n, const uint64_t *args)
{
    uint8_t *start = (uint8_t *)cd__buf_room(s->b, CD__TRACE_MAX_EVENT), *p = start;
    if (p == NULL)
        return;
    *p++ = type;
    *p++ = 0; /* dts: every snapshot event has the snapshot's timestamp */
    for (int i = 0; i < n; i++)
        p = cd__uv_put(p, cd__ids_enc(type, i, args[i], s->ids));
    s->b->len += (size_t)(p - start);
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

void cd__trace_snapshot(uint64_t ts, cd__buf *out)
{
    snap s = {.b = out};
    cd__buf_uvarint(out, cd__self != NULL ? cd__self->id : 0);
    cd__buf_uvarint(out, ts);
    cd__buf_uvarint(out, 0); /* base_task */
    cd__buf_uvarint(out, 0); /* base_parent */
    cd__buf_uvarint(out, 0); /* base_user */
    cd__thread_foreach(thread_cb, &s);
    for (int i = 0, n = cd__sched_workers(); i < n; i++) {
        uint64_t a[2] = {(uint64_t)i, cd__sched_worker_running(i) ? 1u : 0u};
        put_event(&s, CD__EV_STATE_WORKER, 2, a);
    }
    cd__sched_foreach_task(CD__TASKS_CURRENT | CD__TASKS_QUEUED, task_event, &s);
}

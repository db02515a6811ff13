/* viewer/cdebug-trace/model.c - the trace's state machine; see model.h.
 *
 * One struct per live thread, worker, task and user task, found by id in a
 * hash map. Each track keeps a stack of its open spans; closing a span
 * closes the spans above it first (marked unfinished), which is what keeps
 * every track properly nested even when the program misuses the annotation
 * API or events were lost.
 *
 * A worker's state is not stored from events but derived from its holder
 * thread after every event (recompute_worker): no thread → idle; the thread
 * runs a task → running; spinning → spinning; else held. Deriving it makes
 * the state right whatever order the runtime emits its events in.
 *
 * Memory has fixed limits (model.h): tasks, threads and user tasks are kept
 * in least-recently-used order (an intrusive list per kind), and a new one
 * past the limit makes the model forget the least recently used one (a
 * task: the least recently used one without an open span on its thread),
 * exactly as if the trace had ended for it there; open spans past their
 * limit and workers past theirs are not tracked. Each is counted in
 * cdt_model_limits and reported by the subcommands.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cdt.h"
#include "map.h"
#include "model.h"

#define MAX_DEPTH 1024 /* deeper spans are not reported (hostile nesting) */
#define SMALL_WORKERS 256

/* A doubly linked list through its members' first field, circular around a
 * sentinel: least recently used first. */
typedef struct lru {
    struct lru *prev, *next;
} lru;

static void lru_init(lru *h)
{
    h->prev = h->next = h;
}

static void lru_unlink(lru *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
}

/* Appends n as the most recently used. */
static void lru_push(lru *h, lru *n)
{
    n->prev = h->prev;
    n->next = h;
    h->prev->next = n;
    h->prev = n;
}

static void lru_touch(lru *h, lru *n)
{
    if (h->prev == n) /* already the most recent: most events follow one of their thread's */
        return;
    lru_unlink(n);
    lru_push(h, n);
}

typedef struct stack {
    cdt_span *v;
    size_t n, cap;
    uint64_t overflow; /* pushes refused past MAX_DEPTH, still "open" */
} stack;

typedef enum { T_RUNNABLE = 1, T_RUNNING = 2, T_BLOCKED = 4 } task_state;

typedef struct task {
    lru link; /* first: a task is its link */
    cdt_task_info info;
    task_state state;
    uint64_t thread;         /* thread whose track holds its TASK span */
    bool on_thread;          /* it has a TASK span open on that thread */
    int64_t run_start;       /* current running stretch */
    int64_t block_start;     /* current blocking call */
    bool queued_in_snapshot; /* known from a STATE_TASK "runnable" only */
} task;

typedef struct thread {
    lru link; /* first */
    uint64_t id;
    uint64_t worker; /* held worker or CDT_NO_WORKER */
    task *cur;       /* task running or blocked on this thread */
    bool spinning;
    stack spans;
} thread;

typedef struct worker {
    uint64_t id;
    bool known; /* its first state was reported */
    bool held;  /* a thread holds it */
    cdt_worker_state state;
    uint64_t holder; /* thread id, valid when held */
    bool seg_open;   /* a TASK span is open on the worker track */
    cdt_span seg;
} worker;

/* An open user task. */
typedef struct utask {
    lru link; /* first: begun first, forgotten first */
    cdt_span s;
} utask;

struct cdt_model {
    cd_trace_reader *r;
    cdt_model_cb cb;
    int64_t now;
    cdt_map threads, tasks, users, workers;
    /* In front of the maps (every event looks up its thread, most its
     * worker): the last thread found, and workers by id below
     * SMALL_WORKERS (never freed before the model). */
    struct thread *last_thread;
    struct worker *small_workers[SMALL_WORKERS];
    lru task_lru, thread_lru, user_lru;
    uint64_t threads_seen;
    size_t open_spans;   /* on every stack, against CDT_MODEL_MAX_OPEN_SPANS */
    bool worker_refused; /* this event named a worker past the limit */
    cdt_model_limits lim;
    stack gc;
    cdt_gc_info gci;
    bool gc_open;    /* between GC_BEGIN and GC_END */
    bool gc_pending; /* ended, waiting for its HEAP */
    bool pause_open;
    int64_t phase_start, pause_start;
    int64_t last_heap;
    bool finished;
};

/* ---- spans --------------------------------------------------------------- */

static void emit_begin(cdt_model *m, const cdt_span *s)
{
    if (m->cb.span_begin)
        m->cb.span_begin(m->cb.ud, s);
}

static void emit_end(cdt_model *m, cdt_span *s, int64_t ns, bool unfinished)
{
    s->end_ns = ns < s->start_ns ? s->start_ns : ns;
    s->unfinished = unfinished;
    if (m->cb.span_end)
        m->cb.span_end(m->cb.ud, s);
}

/* Opens s on stack st (depth set here). Past MAX_DEPTH on the stack or
 * CDT_MODEL_MAX_OPEN_SPANS on all of them, the span is not tracked (counted
 * in lim.spans_not_shown; a region's end then pairs with the overflow).
 * -ENOMEM leaves the stack as is. */
static int push(cdt_model *m, stack *st, cdt_span s)
{
    if (st->n >= MAX_DEPTH || m->open_spans >= CDT_MODEL_MAX_OPEN_SPANS) {
        st->overflow++;
        m->lim.spans_not_shown++;
        return 0;
    }
    if (st->n == st->cap) {
        size_t cap = st->cap ? st->cap * 2 : 8;
        cdt_span *v = realloc(st->v, cap * sizeof *v);
        if (v == NULL)
            return -ENOMEM;
        st->v = v;
        st->cap = cap;
    }
    s.depth = (unsigned)st->n;
    st->v[st->n++] = s;
    m->open_spans++;
    emit_begin(m, &st->v[st->n - 1]);
    return 0;
}

/* Closes the topmost span of st at ns. A stack that empties gives back a
 * large array (a deep nesting once must not hold its memory for the
 * thread's life). */
static void pop(cdt_model *m, stack *st, int64_t ns, bool unfinished)
{
    emit_end(m, &st->v[--st->n], ns, unfinished);
    m->open_spans--;
    if (st->n == 0 && st->cap > 64) {
        free(st->v);
        st->v = NULL;
        st->cap = 0;
    }
}

/* Closes the topmost span of `kind` (and, if match_id, with that id) at ns,
 * after closing every span above it as unfinished. Returns false if there
 * is none (then nothing changes). */
static bool close_kind_ex(cdt_model *m, stack *st, cdt_span_kind kind, bool match_id, uint64_t id,
                          int64_t ns, bool unfinished)
{
    if (st->overflow > 0 && kind == CDT_SPAN_REGION) {
        st->overflow--; /* the innermost region is one that was never pushed */
        return true;
    }
    size_t i = st->n;
    while (i > 0 && !(st->v[i - 1].kind == kind && (!match_id || st->v[i - 1].id == id)))
        i--;
    if (i == 0)
        return false;
    while (st->n > i)
        pop(m, st, ns, true);
    pop(m, st, ns, unfinished);
    return true;
}

static bool close_kind(cdt_model *m, stack *st, cdt_span_kind kind, bool match_id, uint64_t id,
                       int64_t ns)
{
    return close_kind_ex(m, st, kind, match_id, id, ns, false);
}

static void close_all(cdt_model *m, stack *st, int64_t ns)
{
    while (st->n > 0)
        pop(m, st, ns, true);
    st->overflow = 0;
}

/* ---- objects --------------------------------------------------------------- */

/* A worker that exists, or NULL (never creates one). */
static worker *find_worker(const cdt_model *m, uint64_t w)
{
    if (w < SMALL_WORKERS)
        return m->small_workers[w];
    return w == CDT_NO_WORKER ? NULL : cdt_map_get(&m->workers, w);
}

/* A live thread, or NULL. */
static struct thread *find_thread(cdt_model *m, uint64_t id)
{
    if (m->last_thread != NULL && m->last_thread->id == id)
        return m->last_thread;
    struct thread *t = cdt_map_get(&m->threads, id);
    if (t != NULL)
        m->last_thread = t;
    return t;
}

/* Worker w, created if new. NULL for CDT_NO_WORKER (and the id below it,
 * which STATE_THREAD cannot name), for a new worker past
 * CDT_MODEL_MAX_WORKERS (the event is counted in lim.worker_events_ignored)
 * and on out of memory. Any id is kept in a map: an array sized by a
 * hostile id would cost its size. */
static worker *get_worker(cdt_model *m, uint64_t w)
{
    if (w >= CDT_NO_WORKER - 1) {
        m->worker_refused = true;
        return NULL;
    }
    worker *wk = find_worker(m, w);
    if (wk != NULL)
        return wk;
    if (m->workers.len >= CDT_MODEL_MAX_WORKERS) {
        m->worker_refused = true;
        return NULL;
    }
    wk = calloc(1, sizeof *wk);
    if (wk == NULL)
        return NULL;
    wk->id = w;
    if (cdt_map_put(&m->workers, w, wk) < 0) {
        free(wk);
        return NULL;
    }
    if (w < SMALL_WORKERS)
        m->small_workers[w] = wk;
    return wk;
}

static void thread_drop(cdt_model *m, thread *t, int64_t ns);

/* Thread id, created if new; the most recently used either way. A new one
 * past CDT_MODEL_MAX_THREADS makes the model forget the least recently
 * used thread first (thread_drop, counted in lim.threads_forgotten): the
 * thread of the event being applied is always the most recent, so it is
 * never the one forgotten. */
static thread *get_thread(cdt_model *m, uint64_t id)
{
    thread *t = find_thread(m, id);
    if (t != NULL) {
        lru_touch(&m->thread_lru, &t->link);
        return t;
    }
    if (m->threads.len >= CDT_MODEL_MAX_THREADS) {
        m->lim.threads_forgotten++;
        thread_drop(m, (thread *)m->thread_lru.next, m->now);
    }
    t = calloc(1, sizeof *t);
    if (t == NULL)
        return NULL;
    t->id = id;
    t->worker = CDT_NO_WORKER;
    if (cdt_map_put(&m->threads, id, t) < 0) {
        free(t);
        return NULL;
    }
    lru_push(&m->thread_lru, &t->link);
    m->threads_seen++;
    return t;
}

static void task_end(cdt_model *m, task *k, bool ended, int64_t ns);

/* Forgets the least recently used task that has no open span on a thread
 * (one running, or blocked in its thread's call, stays): it is reported
 * now as unfinished and forgotten. Such a task exists: there are far fewer
 * threads than CDT_MODEL_MAX_TASKS, and a thread holds one task span. */
static void forget_task(cdt_model *m)
{
    for (size_t tries = m->tasks.len; tries > 0; tries--) {
        task *k = (task *)m->task_lru.next;
        if (k->on_thread) {
            lru_touch(&m->task_lru, &k->link);
            continue;
        }
        k->info.forgotten = true;
        m->lim.tasks_forgotten++;
        task_end(m, k, false, m->now);
        return;
    }
}

/* Task id if live, made the most recently used; NULL if not. */
static task *find_task(cdt_model *m, uint64_t id)
{
    task *k = cdt_map_get(&m->tasks, id);
    if (k != NULL)
        lru_touch(&m->task_lru, &k->link);
    return k;
}

static task *new_task(cdt_model *m, uint64_t id, uint64_t parent, const char *name, size_t len,
                      int64_t create_ns)
{
    /* An id created again without its TASK_END (lost events, or a hostile
     * trace): the old task ends here, unfinished. */
    task *old = cdt_map_get(&m->tasks, id);
    if (old != NULL)
        task_end(m, old, false, m->now);
    if (m->tasks.len >= CDT_MODEL_MAX_TASKS)
        forget_task(m);
    task *k = calloc(1, sizeof *k);
    if (k == NULL)
        return NULL;
    k->info.id = id;
    k->info.parent = parent;
    k->info.name = name;
    k->info.name_len = len;
    k->info.create_ns = create_ns;
    k->info.first_start_ns = -1;
    k->info.wait_ns = -1;
    k->state = T_RUNNABLE;
    if (cdt_map_put(&m->tasks, id, k) < 0) {
        free(k);
        return NULL;
    }
    lru_push(&m->task_lru, &k->link);
    return k;
}

/* A task the trace never created (it began before the trace, and the
 * snapshot missed it, or its TASK_CREATE was lost, or the model forgot
 * it). */
static task *get_task(cdt_model *m, uint64_t id)
{
    task *k = find_task(m, id);
    return k != NULL ? k : new_task(m, id, 0, "(unknown)", 9, -1);
}

static void release(cdt_model *m, uint64_t w)
{
    worker *wk = get_worker(m, w);
    if (wk != NULL)
        wk->held = false;
}

/* Derives worker w's state from its holder; reports a change. */
static void recompute_worker(cdt_model *m, uint64_t w, int64_t ns)
{
    worker *wk = get_worker(m, w);
    if (wk == NULL)
        return;
    cdt_worker_state st = CDT_W_IDLE;
    thread *t = wk->held ? find_thread(m, wk->holder) : NULL;
    if (t != NULL && t->worker == w) {
        if (t->cur != NULL && t->cur->state == T_RUNNING)
            st = CDT_W_RUNNING;
        else if (t->spinning)
            st = CDT_W_SPINNING;
        else
            st = CDT_W_HELD;
    }
    if (!wk->known || st != wk->state) {
        cdt_worker_state old = wk->known ? wk->state : st;
        wk->known = true;
        wk->state = st;
        if (m->cb.worker_state)
            m->cb.worker_state(m->cb.ud, w, old, st, ns);
    }
}

/* The span of task k running on thread t from ns, on a worker's or the
 * thread's track. */
static cdt_span task_span(const thread *t, const task *k, cdt_track_kind track_kind, uint64_t track,
                          bool first, int64_t ns)
{
    return (cdt_span){.kind = CDT_SPAN_TASK,
                      .track_kind = track_kind,
                      .track = track,
                      .start_ns = ns,
                      .id = k->info.id,
                      .name = k->info.name,
                      .name_len = k->info.name_len,
                      .thread = t->id,
                      .worker = t->worker,
                      .parent = k->info.parent,
                      .task_name = k->info.name,
                      .task_name_len = k->info.name_len,
                      .first_run = first};
}

/* Opens/closes the task's stretch on the worker its thread holds. */
static void seg_open(cdt_model *m, thread *t, task *k, bool first, int64_t ns)
{
    worker *wk = find_worker(m, t->worker);
    if (wk == NULL || wk->seg_open)
        return;
    wk->seg = task_span(t, k, CDT_TRACK_WORKER, t->worker, first, ns);
    wk->seg_open = true;
    emit_begin(m, &wk->seg);
}

static void seg_close(cdt_model *m, uint64_t w, int64_t ns, bool unfinished)
{
    worker *wk = find_worker(m, w);
    if (wk == NULL || !wk->seg_open)
        return;
    wk->seg_open = false;
    emit_end(m, &wk->seg, ns, unfinished);
}

static void seg_close_task(cdt_model *m, uint64_t w, uint64_t id, int64_t ns)
{
    worker *wk = find_worker(m, w);
    if (wk != NULL && wk->seg_open && wk->seg.id == id)
        seg_close(m, w, ns, false);
}

/* ---- tasks ----------------------------------------------------------------- */

static int task_run(cdt_model *m, thread *t, task *k, bool snapshot, int64_t ns)
{
    if (t->cur != NULL && t->cur != k) {
        /* The thread's previous task never ended here (lost events). */
        close_kind_ex(m, &t->spans, CDT_SPAN_TASK, true, t->cur->info.id, ns, true);
        seg_close_task(m, t->worker, t->cur->info.id, ns);
        if (t->cur->thread == t->id)
            t->cur->on_thread = false;
        t->cur = NULL;
    }
    k->queued_in_snapshot = false;
    bool first = !snapshot && k->info.first_start_ns < 0;
    if (first) {
        k->info.first_start_ns = ns;
        if (k->info.create_ns >= 0)
            k->info.wait_ns = ns - k->info.create_ns;
    }
    k->state = T_RUNNING;
    k->run_start = ns;
    k->thread = t->id;
    t->cur = k;
    if (t->spinning) { /* found work without a SPIN_END */
        close_kind(m, &t->spans, CDT_SPAN_SPIN, false, 0, ns);
        t->spinning = false;
    }
    if (!k->on_thread) {
        cdt_span s = task_span(t, k, CDT_TRACK_THREAD, t->id, first, ns);
        s.from_snapshot = snapshot;
        if (push(m, &t->spans, s) < 0)
            return -ENOMEM;
        k->on_thread = true;
    }
    seg_open(m, t, k, first, ns);
    return 0;
}

static int task_block(cdt_model *m, thread *t, task *k, const char *reason, size_t len,
                      uint64_t stack, bool snapshot, int64_t ns)
{
    if (k->state == T_RUNNING)
        k->info.exec_ns += ns - k->run_start;
    k->state = T_BLOCKED;
    k->block_start = ns;
    k->info.blocks++;
    seg_close(m, t->worker, ns, false);
    cdt_span s = {.kind = CDT_SPAN_BLOCKED,
                  .track_kind = CDT_TRACK_THREAD,
                  .track = t->id,
                  .start_ns = ns,
                  .id = k->info.id,
                  .name = reason,
                  .name_len = len,
                  .thread = t->id,
                  .worker = t->worker,
                  .parent = k->info.parent,
                  .task_name = k->info.name,
                  .task_name_len = k->info.name_len,
                  .stack = stack,
                  .from_snapshot = snapshot};
    return push(m, &t->spans, s);
}

static void task_unblock(cdt_model *m, thread *t, task *k, int64_t ns)
{
    if (k->state == T_BLOCKED) {
        k->info.blocked_ns += ns - k->block_start;
        thread *bt = find_thread(m, k->thread);
        close_kind(m, bt != NULL ? &bt->spans : &t->spans, CDT_SPAN_BLOCKED, true, k->info.id, ns);
    }
    task_run(m, t, k, false, ns);
}

static void task_done(cdt_model *m, task *k, bool ended, int64_t ns)
{
    if (k->state == T_RUNNING)
        k->info.exec_ns += ns - k->run_start;
    else if (k->state == T_BLOCKED)
        k->info.blocked_ns += ns - k->block_start;
    k->info.end_ns = ns;
    k->info.ended = ended;
    if (m->cb.task_done)
        m->cb.task_done(m->cb.ud, &k->info);
}

/* Removes every reference a thread holds to k: its TASK span (closed at
 * ns, unfinished unless `ended`) and its `cur`. Normally only k->thread
 * has one; events that contradict each other (lost events, hostile
 * traces) can leave k current elsewhere, so the other threads are checked
 * then, and only then (the normal path stays O(1)). */
static void detach_task(cdt_model *m, task *k, bool ended, int64_t ns)
{
    thread *kt = find_thread(m, k->thread);
    if (kt != NULL) {
        seg_close_task(m, kt->worker, k->info.id, ns);
        if (k->on_thread)
            close_kind_ex(m, &kt->spans, CDT_SPAN_TASK, true, k->info.id, ns, !ended);
        if (kt->cur == k) {
            kt->cur = NULL;
            return;
        }
    }
    for (size_t i = 0; i < m->threads.cap; i++) {
        thread *t = m->threads.slots[i].val;
        if (t != NULL && t->cur == k) {
            seg_close_task(m, t->worker, k->info.id, ns);
            close_kind_ex(m, &t->spans, CDT_SPAN_TASK, true, k->info.id, ns, true);
            t->cur = NULL;
        }
    }
}

/* TASK_END, a task forgotten (ended false), or the end of the trace (ended
 * false, spans already closed). Reports it and frees k. */
static void task_end(cdt_model *m, task *k, bool ended, int64_t ns)
{
    detach_task(m, k, ended, ns);
    k->on_thread = false;
    task_done(m, k, ended, ns);
    cdt_map_del(&m->tasks, k->info.id);
    lru_unlink(&k->link);
    free(k);
}

/* ---- collections ----------------------------------------------------------- */

static void gc_report(cdt_model *m)
{
    if (!m->gc_pending)
        return;
    m->gc_pending = false;
    if (m->cb.gc_done)
        m->cb.gc_done(m->cb.ud, &m->gci);
}

static int gc_push(cdt_model *m, cdt_span_kind kind, const char *name, int64_t ns)
{
    cdt_span s = {.kind = kind,
                  .track_kind = CDT_TRACK_GC,
                  .start_ns = ns,
                  .id = m->gci.gc,
                  .name = name,
                  .name_len = strlen(name),
                  .thread = m->gci.thread,
                  .worker = CDT_NO_WORKER};
    return push(m, &m->gc, s);
}

/* The world restarts: ends the pause (and its "restart" phase). */
static void gc_pause_end(cdt_model *m, int64_t ns)
{
    if (!m->pause_open)
        return;
    m->pause_open = false;
    m->gci.pause_ns = ns - m->pause_start;
    close_kind(m, &m->gc, CDT_SPAN_GC_PHASE, false, 0, ns);
    close_kind(m, &m->gc, CDT_SPAN_PAUSE, false, 0, ns);
}

static void gc_finish(cdt_model *m, bool complete, int64_t ns)
{
    if (!m->gc_open)
        return;
    gc_pause_end(m, ns);
    if (complete) /* phases left open end unfinished; the collection does not */
        close_kind(m, &m->gc, CDT_SPAN_GC, false, 0, ns);
    close_all(m, &m->gc, ns);
    m->gc_open = false;
    m->gci.end_ns = ns;
    m->gci.complete = complete;
    m->gc_pending = true;
}

static int gc_event(cdt_model *m, const cd_tr_event *ev, int64_t ns)
{
    if (ev->type == CD_TR_GC_BEGIN) {
        gc_finish(m, false, ns); /* a collection that never ended */
        gc_report(m);
        memset(&m->gci, 0, sizeof m->gci);
        m->gci.gc = ev->args[0];
        m->gci.forced = ev->args[1] != 0;
        m->gci.begin_ns = ns;
        m->phase_start = ns;
        m->gci.heap_before = m->last_heap;
        m->gci.heap_after = m->gci.goal_after = -1;
        m->gci.thread = ev->thread;
        m->gc_open = true;
        return gc_push(m, CDT_SPAN_GC, m->gci.forced ? "GC (forced)" : "GC", ns);
    }
    if (!m->gc_open)
        return 0; /* phases of a collection begun before the trace */
    switch (ev->type) {
    case CD_TR_GC_STW_BEGIN:
        m->pause_open = true;
        m->pause_start = m->phase_start = ns;
        if (gc_push(m, CDT_SPAN_PAUSE, "stop the world", ns) < 0)
            return -ENOMEM;
        return gc_push(m, CDT_SPAN_GC_PHASE, "stopping", ns);
    case CD_TR_GC_STW_END:
        m->gci.stop_ns += ns - m->phase_start;
        m->phase_start = ns; /* a second end adds nothing: sums stay below the length */
        close_kind(m, &m->gc, CDT_SPAN_GC_PHASE, false, 0, ns);
        return 0;
    case CD_TR_GC_MARK_BEGIN:
        m->phase_start = ns;
        return gc_push(m, CDT_SPAN_GC_PHASE, "mark", ns);
    case CD_TR_GC_MARK_END:
        m->gci.mark_ns += ns - m->phase_start;
        m->phase_start = ns;
        close_kind(m, &m->gc, CDT_SPAN_GC_PHASE, false, 0, ns);
        return 0;
    case CD_TR_GC_RESTART:
        return m->pause_open ? gc_push(m, CDT_SPAN_GC_PHASE, "restart", ns) : 0;
    case CD_TR_GC_RECLAIM_BEGIN:
        gc_pause_end(m, ns);
        m->phase_start = ns;
        return gc_push(m, CDT_SPAN_GC_PHASE, "reclaim", ns);
    case CD_TR_GC_RECLAIM_END:
        m->gci.reclaim_ns += ns - m->phase_start;
        m->phase_start = ns;
        close_kind(m, &m->gc, CDT_SPAN_GC_PHASE, false, 0, ns);
        return 0;
    case CD_TR_GC_END:
        gc_finish(m, true, ns);
        return 0;
    default:
        return 0;
    }
}

/* ---- events ---------------------------------------------------------------- */

/* Ends user task u (its span) at ns and frees it. */
static void user_end(cdt_model *m, utask *u, int64_t ns, bool unfinished)
{
    cdt_map_del(&m->users, u->s.id);
    lru_unlink(&u->link);
    emit_end(m, &u->s, ns, unfinished);
    free(u);
}

static int user_task(cdt_model *m, const cd_tr_event *ev, int64_t ns)
{
    utask *old = cdt_map_get(&m->users, ev->args[0]);
    if (ev->type == CD_TR_USER_TASK_END) {
        if (old != NULL)
            user_end(m, old, ns, false);
        return 0;
    }
    if (old != NULL) /* id begun twice: the first one ends here */
        user_end(m, old, ns, true);
    if (m->users.len >= CDT_MODEL_MAX_USER_TASKS) { /* the oldest one is forgotten */
        m->lim.user_tasks_forgotten++;
        user_end(m, (utask *)m->user_lru.next, ns, true);
    }
    utask *u = malloc(sizeof *u);
    if (u == NULL)
        return -ENOMEM;
    u->s = (cdt_span){.kind = CDT_SPAN_USER_TASK,
                      .track_kind = CDT_TRACK_USER,
                      .track = ev->args[0],
                      .start_ns = ns,
                      .id = ev->args[0],
                      .name = ev->str[2],
                      .name_len = ev->str_len[2],
                      .thread = ev->thread,
                      .worker = CDT_NO_WORKER,
                      .parent = ev->args[1]};
    if (cdt_map_put(&m->users, ev->args[0], u) < 0) {
        free(u);
        return -ENOMEM;
    }
    lru_push(&m->user_lru, &u->link);
    emit_begin(m, &u->s);
    return 0;
}

/* THREAD_STOP, or a thread forgotten: closes its spans at ns (unfinished),
 * releases its worker, frees it. */
static void thread_drop(cdt_model *m, thread *t, int64_t ns)
{
    uint64_t w = t->worker;
    if (t->cur != NULL) {
        seg_close_task(m, w, t->cur->info.id, ns);
        t->cur->on_thread = false;
        t->cur = NULL;
    }
    close_all(m, &t->spans, ns);
    if (w != CDT_NO_WORKER) {
        t->worker = CDT_NO_WORKER;
        release(m, w);
        recompute_worker(m, w, ns);
    }
    cdt_map_del(&m->threads, t->id);
    if (m->last_thread == t)
        m->last_thread = NULL;
    lru_unlink(&t->link);
    if (m->cb.thread_gone)
        m->cb.thread_gone(m->cb.ud, t->id);
    free(t->spans.v);
    free(t);
}

static int thread_event(cdt_model *m, thread *t, const cd_tr_event *ev, int64_t ns)
{
    uint64_t w = t->worker;
    int rc = 0;
    switch (ev->type) {
    case CD_TR_THREAD_START:
        break;
    case CD_TR_THREAD_STOP:
        thread_drop(m, t, ns);
        return 0;
    case CD_TR_WORKER_ACQUIRE: {
        uint64_t nw = ev->args[0];
        worker *wk = get_worker(m, nw);
        if (wk == NULL)
            break;
        if (w != CDT_NO_WORKER && w != nw) { /* its release was lost */
            seg_close(m, w, ns, true);
            t->worker = CDT_NO_WORKER;
            release(m, w);
        }
        if (wk->held && wk->holder != t->id) { /* the holder's release was lost */
            thread *o = find_thread(m, wk->holder);
            seg_close(m, nw, ns, true);
            if (o != NULL && o->worker == nw)
                o->worker = CDT_NO_WORKER;
        }
        wk->held = true;
        wk->holder = t->id;
        t->worker = nw;
        if (t->cur != NULL && t->cur->state == T_RUNNING)
            seg_open(m, t, t->cur, false, ns);
        break;
    }
    case CD_TR_WORKER_RELEASE:
        seg_close(m, ev->args[0], ns, false);
        if (t->worker == ev->args[0]) {
            t->worker = CDT_NO_WORKER;
            release(m, ev->args[0]);
        }
        recompute_worker(m, ev->args[0], ns);
        break;
    case CD_TR_SPIN_BEGIN:
        if (!t->spinning) {
            cdt_span s = {.kind = CDT_SPAN_SPIN,
                          .track_kind = CDT_TRACK_THREAD,
                          .track = t->id,
                          .start_ns = ns,
                          .name = "spinning",
                          .name_len = 8,
                          .thread = t->id,
                          .worker = w};
            t->spinning = true;
            rc = push(m, &t->spans, s);
        }
        break;
    case CD_TR_SPIN_END:
        if (t->spinning)
            close_kind(m, &t->spans, CDT_SPAN_SPIN, false, 0, ns);
        t->spinning = false;
        break;
    case CD_TR_TASK_START: {
        task *k = get_task(m, ev->args[0]);
        rc = k == NULL ? -ENOMEM : task_run(m, t, k, false, ns);
        break;
    }
    case CD_TR_TASK_BLOCK: {
        task *k = get_task(m, ev->args[0]);
        if (k == NULL)
            return -ENOMEM;
        if (t->cur != k) /* blocked without a start seen: it ran here */
            task_run(m, t, k, true, ns);
        rc = task_block(m, t, k, ev->str[1], ev->str_len[1], ev->args[2], false, ns);
        break;
    }
    case CD_TR_TASK_UNBLOCK: {
        task *k = get_task(m, ev->args[0]);
        if (k == NULL)
            return -ENOMEM;
        task_unblock(m, t, k, ns);
        break;
    }
    case CD_TR_TASK_END: {
        task *k = find_task(m, ev->args[0]);
        if (k != NULL)
            task_end(m, k, true, ns);
        break;
    }
    case CD_TR_REGION_BEGIN: {
        cdt_span s = {.kind = CDT_SPAN_REGION,
                      .track_kind = CDT_TRACK_THREAD,
                      .track = t->id,
                      .start_ns = ns,
                      .id = ev->args[0],
                      .name = ev->str[1],
                      .name_len = ev->str_len[1],
                      .thread = t->id,
                      .worker = w,
                      .task_name = t->cur ? t->cur->info.name : NULL,
                      .task_name_len = t->cur ? t->cur->info.name_len : 0};
        rc = push(m, &t->spans, s);
        break;
    }
    case CD_TR_REGION_END:
        close_kind(m, &t->spans, CDT_SPAN_REGION, false, 0, ns);
        break;
    default:
        break;
    }
    if (t->worker != CDT_NO_WORKER)
        recompute_worker(m, t->worker, ns);
    if (w != CDT_NO_WORKER && w != t->worker)
        recompute_worker(m, w, ns);
    return rc;
}

/* STATE_* records: the state of a trace begun mid-run. */
static int snapshot(cdt_model *m, const cd_tr_event *ev, int64_t ns)
{
    switch (ev->type) {
    case CD_TR_STATE_THREAD: {
        thread *t = get_thread(m, ev->args[0]);
        if (t == NULL)
            return -ENOMEM;
        if (ev->args[2] == 0)
            return 0;
        cd_tr_event acq = {.type = CD_TR_WORKER_ACQUIRE, .nargs = 1, .thread = t->id};
        acq.args[0] = ev->args[2] - 1;
        return thread_event(m, t, &acq, ns);
    }
    case CD_TR_STATE_WORKER:
        if (get_worker(m, ev->args[0]) != NULL)
            recompute_worker(m, ev->args[0], ns);
        return 0;
    case CD_TR_STATE_TASK: {
        task *k = find_task(m, ev->args[0]);
        if (k == NULL)
            k = new_task(m, ev->args[0], ev->args[2], ev->str[3], ev->str_len[3], -1);
        if (k == NULL)
            return -ENOMEM;
        if (ev->args[5] == 0 || (ev->args[1] != T_RUNNING && ev->args[1] != T_BLOCKED)) {
            /* runnable: queued, on no thread */
            k->queued_in_snapshot = k->info.create_ns < 0 && k->info.first_start_ns < 0;
            return 0;
        }
        thread *t = get_thread(m, ev->args[5] - 1);
        if (t == NULL)
            return -ENOMEM;
        int rc = task_run(m, t, k, true, ns);
        if (rc == 0 && ev->args[1] == T_BLOCKED)
            rc = task_block(m, t, k, ev->str[4], ev->str_len[4], 0, true, ns);
        if (t->worker != CDT_NO_WORKER)
            recompute_worker(m, t->worker, ns);
        return rc;
    }
    default:
        return 0;
    }
}

static int feed(cdt_model *m, const cd_tr_event *ev, int64_t ns);

/* cdt_model_feed with the event's time already converted (cdt_event_ns). */
static int feed_at(cdt_model *m, const cd_tr_event *ev, int64_t ns)
{
    /* The model's clock never goes back: an event the reader delivered
     * late (stats.out_of_order) happens now. So every interval it measures
     * is >= 0, and the intervals of one object never overlap: their sums
     * stay below the trace's length. Events before the trace start happen
     * at 0. */
    if (ns > m->now)
        m->now = ns;
    else
        ns = m->now;
    int rc = feed(m, ev, ns);
    if (m->worker_refused) {
        m->worker_refused = false;
        m->lim.worker_events_ignored++;
    }
    return rc;
}

int cdt_model_feed(cdt_model *m, const cd_tr_event *ev)
{
    int64_t ns;
    if (!cdt_event_ns(m->r, ev, &ns))
        return -ERANGE;
    return feed_at(m, ev, ns);
}

/* cdt_model_feed once the time is known. */
static int feed(cdt_model *m, const cd_tr_event *ev, int64_t ns)
{
    if (m->cb.event)
        m->cb.event(m->cb.ud, ev, ns);
    thread *t = get_thread(m, ev->thread);
    if (t == NULL)
        return -ENOMEM;
    switch (ev->type) {
    case CD_TR_GC_BEGIN:
    case CD_TR_GC_STW_BEGIN:
    case CD_TR_GC_STW_END:
    case CD_TR_GC_MARK_BEGIN:
    case CD_TR_GC_MARK_END:
    case CD_TR_GC_RESTART:
    case CD_TR_GC_RECLAIM_BEGIN:
    case CD_TR_GC_RECLAIM_END:
    case CD_TR_GC_END:
        return gc_event(m, ev, ns);
    case CD_TR_HEAP:
        m->last_heap = (int64_t)(ev->args[0] > INT64_MAX ? INT64_MAX : ev->args[0]);
        if (m->cb.heap)
            m->cb.heap(m->cb.ud, m->last_heap,
                       (int64_t)(ev->args[1] > INT64_MAX ? INT64_MAX : ev->args[1]), ns);
        if (m->gc_pending) {
            m->gci.heap_after = m->last_heap;
            m->gci.goal_after = (int64_t)(ev->args[1] > INT64_MAX ? INT64_MAX : ev->args[1]);
            gc_report(m);
        }
        return 0;
    case CD_TR_TASK_CREATE: {
        /* The snapshot's timestamp is taken before it reads the run queues,
         * so it can list a task created meanwhile, whose TASK_CREATE then
         * follows it: the same task, not an id reused. */
        task *k = find_task(m, ev->args[0]);
        if (k != NULL && k->queued_in_snapshot) {
            k->queued_in_snapshot = false;
            k->info.parent = ev->args[1];
            k->info.name = ev->str[2];
            k->info.name_len = ev->str_len[2];
            k->info.create_ns = ns;
        } else {
            k = new_task(m, ev->args[0], ev->args[1], ev->str[2], ev->str_len[2], ns);
        }
        if (k == NULL)
            return -ENOMEM;
        k->info.create_stack = ev->args[3];
        if (m->cb.task_create)
            m->cb.task_create(m->cb.ud, ev->args[0], ev->args[1], ev->str[2], ev->str_len[2],
                              ev->thread, ev->args[3], ns);
        return 0;
    }
    case CD_TR_USER_TASK_BEGIN:
    case CD_TR_USER_TASK_END:
        return user_task(m, ev, ns);
    case CD_TR_LOG:
        if (m->cb.log)
            m->cb.log(m->cb.ud, ev->thread, ev->args[0], ev->str[1], ev->str_len[1], ev->str[2],
                      ev->str_len[2], ns);
        return 0;
    case CD_TR_LOST:
        if (m->cb.lost)
            m->cb.lost(m->cb.ud, ev->thread, ev->args[0], ev->args[1], ns);
        return 0;
    case CD_TR_STATE_THREAD:
    case CD_TR_STATE_WORKER:
    case CD_TR_STATE_TASK:
        return snapshot(m, ev, ns);
    case CD_TR_CPU_SAMPLE:
        return 0;
    default:
        return thread_event(m, t, ev, ns);
    }
}

cdt_model *cdt_model_new(cd_trace_reader *r, const cdt_model_cb *cb)
{
    cdt_model *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->r = r;
    if (cb != NULL)
        m->cb = *cb;
    m->last_heap = -1;
    lru_init(&m->task_lru);
    lru_init(&m->thread_lru);
    lru_init(&m->user_lru);
    return m;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

void cdt_model_finish(cdt_model *m)
{
    if (m->finished)
        return;
    m->finished = true;
    int64_t ns = m->now;
    /* workers in id order (at most CDT_MODEL_MAX_WORKERS of them) */
    uint64_t ids[CDT_MODEL_MAX_WORKERS];
    size_t nw = 0;
    for (size_t i = 0; i < m->workers.cap; i++)
        if (m->workers.slots[i].val != NULL && nw < CDT_MODEL_MAX_WORKERS)
            ids[nw++] = m->workers.slots[i].key;
    qsort(ids, nw, sizeof ids[0], cmp_u64);
    for (size_t i = 0; i < nw; i++)
        seg_close(m, ids[i], ns, true);
    for (size_t i = 0; i < m->threads.cap; i++) {
        thread *t = m->threads.slots[i].val;
        if (t != NULL)
            close_all(m, &t->spans, ns);
    }
    while (m->user_lru.next != &m->user_lru)
        user_end(m, (utask *)m->user_lru.next, ns, true);
    gc_finish(m, false, ns);
    gc_report(m);
    while (m->task_lru.next != &m->task_lru) {
        task *k = (task *)m->task_lru.next;
        k->on_thread = false; /* its span was closed above */
        task_end(m, k, false, ns);
    }
    if (m->cb.end) {
        cdt_model_end e = {
            .end_ns = ns, .workers = m->workers.len, .threads = m->threads_seen, .lim = m->lim};
        m->cb.end(m->cb.ud, &e);
    }
}

int64_t cdt_model_now(const cdt_model *m)
{
    return m->now;
}

uint64_t cdt_model_workers(const cdt_model *m)
{
    return m->workers.len;
}

uint64_t cdt_model_threads(const cdt_model *m)
{
    return m->threads_seen;
}

void cdt_model_free(cdt_model *m)
{
    if (m == NULL)
        return;
    for (size_t i = 0; i < m->threads.cap; i++) {
        thread *t = m->threads.slots[i].val;
        if (t != NULL) {
            free(t->spans.v);
            free(t);
        }
    }
    for (size_t i = 0; i < m->tasks.cap; i++)
        free(m->tasks.slots[i].val);
    for (size_t i = 0; i < m->users.cap; i++)
        free(m->users.slots[i].val);
    for (size_t i = 0; i < m->workers.cap; i++)
        free(m->workers.slots[i].val);
    cdt_map_free(&m->threads);
    cdt_map_free(&m->tasks);
    cdt_map_free(&m->users);
    cdt_map_free(&m->workers);
    free(m->gc.v);
    free(m);
}

/* ---- cdt_model_run ---------------------------------------------------------- */

/* The read-ahead of cdt_model_run: a reader thread fills blocks of events
 * that the calling thread feeds to the model, so reading (I/O, CRC, decoding,
 * the merge) and the model's work use two cores. A block is handed over
 * whole (one lock round trip per PIPE_EVENTS events); PIPE_BLOCKS of them
 * bound the memory (about 2.8 MiB) and how far the reader runs ahead. A
 * thread that has to wait (the reader: the ring is full; the model's: it is
 * empty) sleeps until half the ring is there for it, not just one block:
 * waking the other thread for every block, when one side is the faster,
 * cost more than the work it moved to the second core (a sleep and a
 * wake-up per 1024 events: on a 20 M-event trace, 19000 context switches
 * and 70% more CPU time).
 * Event strings point into the reader's tables, which stay valid until it is
 * closed, so events cross threads as plain copies. The reader thread also
 * converts each event's time (cdt_event_ns reads only the header), one
 * step less for the model's thread, the busier one. */
#define PIPE_EVENTS 2048
#define PIPE_BLOCKS 8
#define PIPE_HALF   (PIPE_BLOCKS / 2)

#define NO_TIME INT64_MIN /* ns of an event with an impossible time */

typedef struct pipe_block {
    size_t n;
    cd_tr_event ev[PIPE_EVENTS];
    int64_t ns[PIPE_EVENTS]; /* cdt_event_ns of ev[], or NO_TIME */
} pipe_block;

typedef struct pipe_ring {
    cd_trace_reader *r;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    uint64_t filled, used; /* blocks handed over and given back, ever */
    bool done;             /* the reader returned rc (filled is final) */
    bool stop;             /* the consumer wants no more */
    bool reader_waits;     /* for PIPE_HALF free blocks (or stop) */
    bool model_waits;      /* for PIPE_HALF filled blocks (or done) */
    int rc;
    pipe_block blocks[PIPE_BLOCKS];
} pipe_ring;

static void *pipe_reader(void *arg)
{
    pipe_ring *p = arg;
    int rc = 1;
    for (uint64_t k = 0; rc == 1; k++) {
        pthread_mutex_lock(&p->mu);
        if (k - p->used == PIPE_BLOCKS) {
            p->reader_waits = true;
            while (k - p->used > PIPE_HALF && !p->stop)
                pthread_cond_wait(&p->cv, &p->mu);
            p->reader_waits = false;
        }
        bool stop = p->stop;
        pthread_mutex_unlock(&p->mu);
        if (stop)
            break;
        pipe_block *b = &p->blocks[k % PIPE_BLOCKS];
        size_t n = 0;
        while (n < PIPE_EVENTS && (rc = cd_trace_reader_next(p->r, &b->ev[n])) == 1) {
            if (!cdt_event_ns(p->r, &b->ev[n], &b->ns[n]))
                b->ns[n] = NO_TIME;
            n++;
        }
        b->n = n;
        pthread_mutex_lock(&p->mu);
        p->filled = k + 1;
        if (rc != 1) {
            p->done = true;
            p->rc = rc;
        }
        if (p->model_waits && (p->filled - p->used >= PIPE_HALF || p->done))
            pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
    }
    return NULL;
}

/* Applies one event at ns (NO_TIME: its time is impossible); on a
 * failure says why and returns CDT_FAIL. */
static int run_feed(const char *path, cdt_model *m, cd_trace_reader *r, const cd_tr_event *ev,
                    int64_t ns)
{
    int frc = ns == NO_TIME ? -ERANGE : feed_at(m, ev, ns);
    if (frc == -ERANGE) {
        cdt_time_error(path, r, ev); /* the header only: thread-safe */
        return CDT_FAIL;
    }
    if (frc < 0) {
        cdt_error("out of memory");
        return CDT_FAIL;
    }
    return CDT_OK;
}

/* Feeds every event through the read-ahead thread, storing the reader's
 * last result in *rc. Returns 1, -1 when feeding failed (said), 0 when no
 * thread could be started (nothing was read). */
static int run_piped(const char *path, cdt_model *m, cd_trace_reader *r, int *rcp)
{
    pipe_ring *p = malloc(sizeof *p);
    if (p == NULL)
        return 0;
    p->r = r;
    p->filled = p->used = 0;
    p->done = p->stop = p->reader_waits = p->model_waits = false;
    p->rc = 0;
    pthread_t th;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p);
        return 0;
    }
    if (pthread_cond_init(&p->cv, NULL) != 0) {
        pthread_mutex_destroy(&p->mu);
        free(p);
        return 0;
    }
    if (pthread_create(&th, NULL, pipe_reader, p) != 0) {
        pthread_cond_destroy(&p->cv);
        pthread_mutex_destroy(&p->mu);
        free(p);
        return 0;
    }
    bool failed = false;
    for (uint64_t k = 0;; k++) {
        pthread_mutex_lock(&p->mu);
        if (p->filled == k && !p->done) {
            p->model_waits = true;
            while (p->filled - k < PIPE_HALF && !p->done)
                pthread_cond_wait(&p->cv, &p->mu);
            p->model_waits = false;
        }
        bool have = p->filled > k;
        pthread_mutex_unlock(&p->mu);
        if (!have)
            break;
        const pipe_block *b = &p->blocks[k % PIPE_BLOCKS];
        for (size_t i = 0; i < b->n && !failed; i++)
            failed = run_feed(path, m, r, &b->ev[i], b->ns[i]) != CDT_OK;
        pthread_mutex_lock(&p->mu);
        p->used = k + 1;
        p->stop = failed;
        if (p->reader_waits && (p->filled - p->used <= PIPE_HALF || p->stop))
            pthread_cond_signal(&p->cv);
        pthread_mutex_unlock(&p->mu);
        if (failed)
            break;
    }
    pthread_join(th, NULL);
    *rcp = p->rc;
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
    return failed ? -1 : 1;
}

int cdt_model_run(const char *path, const cdt_model_cb *cb, cd_tr_stats *stats_out,
                  cd_tr_header *hdr_out)
{
    cd_trace_reader *r;
    if (cdt_open(path, NULL, &r) != 0)
        return CDT_FAIL;
    int code = CDT_FAIL, rc = 0, piped = 0;
    cdt_model *m = cdt_model_new(r, cb);
    if (m == NULL) {
        cdt_error("out of memory");
        goto out;
    }
    if (hdr_out != NULL)
        *hdr_out = *cd_trace_reader_header(r);
    if (cb != NULL && cb->start != NULL)
        cb->start(cb->ud, r);
    if (cb != NULL && cb->reader_untouched)
        piped = run_piped(path, m, r, &rc);
    if (piped < 0)
        goto out;
    if (piped == 0) { /* on this thread alone */
        cd_tr_event ev;
        int64_t ns;
        while ((rc = cd_trace_reader_next(r, &ev)) == 1)
            if (run_feed(path, m, r, &ev, cdt_event_ns(r, &ev, &ns) ? ns : NO_TIME) != CDT_OK)
                goto out;
    }
    cdt_model_finish(m);
    if (stats_out != NULL)
        cd_trace_reader_stats(r, stats_out);
    code = cdt_finish(path, r, rc);
out:
    cdt_model_free(m);
    cd_trace_reader_close(r);
    return code;
}

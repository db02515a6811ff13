/* viewer/cdebug-trace/model.h - the trace's state machine, shared by stats,
 * export and view.
 *
 * The reader gives events; every analysis wants intervals ("task 7 ran on
 * worker 1 from 3.2 ms to 3.9 ms"). The model is fed the events in time
 * order, keeps the state of every thread, worker, live task, user task and
 * the collection in progress, and calls back with:
 *
 *   - spans: intervals on a track, opened and closed in time order and
 *     properly nested per track (span_begin at the start, span_end at the
 *     end, with the start again so a consumer need not remember it). A span
 *     left open by the program (region never ended, task still running at
 *     the end of the trace) is closed by the model: when an outer span of
 *     the same track closes, or at cdt_model_finish, with `unfinished` set;
 *   - worker state changes (for utilisation and parallelism);
 *   - task creation, heap samples, logs and lost events;
 *   - a summary of each task when it ends and of each collection.
 *
 * Tracks and what goes on them:
 *
 *   CDT_TRACK_WORKER (id = worker): TASK spans, one per stretch a task runs
 *       while its thread holds that worker (a task that blocks leaves the
 *       worker; after the block it may run on another one).
 *   CDT_TRACK_THREAD (id = thread): TASK spans from start to end (depth 0),
 *       BLOCKED spans inside them (the blocking call, named by its reason),
 *       REGION spans (cd_trace_region_begin/end, nested), SPIN spans.
 *   CDT_TRACK_GC (id 0): GC spans (one per collection, depth 0), the PAUSE
 *       inside it (world stopped: GC_STW_BEGIN to GC_RECLAIM_BEGIN, or to
 *       GC_END without reclaim), and the phases (STOP, MARK inside the pause;
 *       RECLAIM after it).
 *   CDT_TRACK_USER (id = user task id): one USER_TASK span per user task.
 *
 * Times are nanoseconds since the trace start (cd_trace_reader_ns), never
 * decreasing from one callback to the next and within [0,
 * CDT_MAX_TIME_NS]: a trace with an event beyond that is corrupt
 * (cdt_model_feed). Strings
 * point into the reader and stay valid until it is closed; with
 * cdt_model_run that is the end of the run, so a consumer copies the
 * strings it keeps.
 *
 * Memory: the live objects only (threads, workers, tasks that were created
 * and have not ended, open user tasks, open spans), each kind capped by a
 * CDT_MODEL_MAX_* limit below, so a model needs a bounded amount of memory
 * (about 30 MB at the limits) whatever the trace. Past a limit the model
 * forgets the least recently used task, thread or user task (as if the
 * trace ended there for it: its spans close unfinished, a task is reported
 * with ended false and forgotten true), or does not track a new span or
 * worker; each is counted in cdt_model_limits, which the end callback
 * passes on, so that every report can say what it left out. Below the
 * limits nothing is dropped. Cost: O(1) expected per event (hash tables,
 * least-recently-used lists).
 *
 * Not thread-safe: one model per thread. Not async-signal-safe.
 */
#ifndef CDEBUG_VIEWER_MODEL_H
#define CDEBUG_VIEWER_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cdebug/trace_reader.h>

typedef enum cdt_track_kind {
    CDT_TRACK_WORKER = 0,
    CDT_TRACK_THREAD = 1,
    CDT_TRACK_GC = 2,
    CDT_TRACK_USER = 3,
} cdt_track_kind;

typedef enum cdt_span_kind {
    CDT_SPAN_TASK = 0,      /* name: task name; id: task id */
    CDT_SPAN_BLOCKED = 1,   /* name: reason; id: task id; task_name set */
    CDT_SPAN_REGION = 2,    /* name: region name; id: its user task (0 none) */
    CDT_SPAN_SPIN = 3,      /* name: "spinning" */
    CDT_SPAN_GC = 4,        /* name: "GC" or "GC (forced)"; id: gc number */
    CDT_SPAN_PAUSE = 5,     /* name: "stop the world"; id: gc number */
    CDT_SPAN_GC_PHASE = 6,  /* name: "stopping", "mark" or "reclaim"; id: gc */
    CDT_SPAN_USER_TASK = 7, /* name: user task type; id: user task id */
} cdt_span_kind;

#define CDT_NO_WORKER UINT64_MAX

/* Limits on the live objects (docs/cdebug-trace.md, "Memory and speed").
 * Workers: a cdebug program has at most 1024 (CD__MAXPROCS_MAX, the cap Go
 * put on GOMAXPROCS until Go 1.9); the others are far above what a program
 * holds at once. */
#define CDT_MODEL_MAX_TASKS      65536 /* live tasks: created, not ended */
#define CDT_MODEL_MAX_THREADS    4096  /* threads started, not stopped */
#define CDT_MODEL_MAX_WORKERS    1024  /* distinct workers */
#define CDT_MODEL_MAX_USER_TASKS 16384 /* open user tasks */
#define CDT_MODEL_MAX_OPEN_SPANS 32768 /* open spans, all threads together */

/* What the limits left out, counted over the whole trace. */
typedef struct cdt_model_limits {
    uint64_t tasks_forgotten;       /* a task past CDT_MODEL_MAX_TASKS: its later
                                       events make it a task of unknown name */
    uint64_t threads_forgotten;     /* a thread past CDT_MODEL_MAX_THREADS */
    uint64_t user_tasks_forgotten;  /* ended unfinished past CDT_MODEL_MAX_USER_TASKS */
    uint64_t spans_not_shown;       /* nested deeper than 1024 on a track, or past
                                       CDT_MODEL_MAX_OPEN_SPANS */
    uint64_t worker_events_ignored; /* events naming a worker past the first
                                       CDT_MODEL_MAX_WORKERS (or the id 2^64 - 2) */
} cdt_model_limits;

/* What the end callback receives. */
typedef struct cdt_model_end {
    int64_t end_ns;   /* the time of the last event */
    uint64_t workers; /* distinct workers (at most CDT_MODEL_MAX_WORKERS) */
    uint64_t threads; /* threads met (met again after a stop or being forgotten: counted again) */
    cdt_model_limits lim;
} cdt_model_end;

typedef struct cdt_span {
    cdt_span_kind kind;
    cdt_track_kind track_kind;
    uint64_t track;   /* worker, thread, 0 or user task id */
    unsigned depth;   /* nesting level on the track, 0 outermost */
    int64_t start_ns; /* span_begin: the start; span_end: also the start */
    int64_t end_ns;   /* span_end only */
    uint64_t id;      /* see cdt_span_kind */
    const char *name;
    size_t name_len;
    uint64_t thread;       /* thread it ran on (CDT_TRACK_GC: the collecting one) */
    uint64_t worker;       /* worker held, or CDT_NO_WORKER */
    uint64_t parent;       /* TASK: parent task; USER_TASK: parent user task */
    const char *task_name; /* BLOCKED: the task's name; TASK: same as name */
    size_t task_name_len;
    uint64_t stack;     /* BLOCKED: the blocking call's stack id (0: none, as in
                           a version 2 trace or a snapshot) */
    bool first_run;     /* TASK on a worker or thread track: its first start */
    bool unfinished;    /* span_end: closed by the model, not by an event */
    bool from_snapshot; /* began with a STATE_* record, not an event */
} cdt_span;

typedef enum cdt_worker_state {
    CDT_W_IDLE = 0,     /* no thread holds the worker */
    CDT_W_HELD = 1,     /* held, between tasks (scheduling) */
    CDT_W_RUNNING = 2,  /* its thread runs a task */
    CDT_W_SPINNING = 3, /* its thread looks for work */
    CDT_W_NSTATES = 4,
} cdt_worker_state;

/* A task's life, reported at TASK_END (or at cdt_model_finish with ended
 * false). Times -1 when unknown (a task the trace met mid-life). */
typedef struct cdt_task_info {
    uint64_t id, parent;
    const char *name;
    size_t name_len;
    int64_t create_ns;      /* TASK_CREATE, -1 if before the trace */
    int64_t first_start_ns; /* first TASK_START, -1 if before the trace */
    int64_t end_ns;         /* TASK_END, or the trace end */
    int64_t exec_ns;        /* time running (start/unblock to block/end) */
    int64_t blocked_ns;     /* time in blocking calls */
    int64_t wait_ns;        /* runnable to first start; -1 if unknown */
    uint64_t blocks;        /* blocking calls */
    uint64_t create_stack;  /* stack id of the creation, 0 if unknown */
    bool ended;             /* false: still alive at the end of the trace */
    bool forgotten;         /* ended false: forgotten past CDT_MODEL_MAX_TASKS */
} cdt_task_info;

/* A collection, reported once its HEAP sample after GC_END arrived (or at
 * the next GC_BEGIN / the end of the trace). */
typedef struct cdt_gc_info {
    uint64_t gc;   /* collection number */
    bool forced;   /* cd_gc() */
    bool complete; /* GC_BEGIN and GC_END both seen */
    int64_t begin_ns, end_ns;
    int64_t pause_ns; /* world stopped; 0 if unknown */
    int64_t stop_ns, mark_ns, reclaim_ns;
    int64_t heap_before; /* last HEAP in_use before GC_BEGIN, -1 unknown */
    int64_t heap_after;  /* first HEAP in_use after GC_END, -1 unknown */
    int64_t goal_after;  /* its goal, -1 unknown */
    uint64_t thread;
} cdt_gc_info;

/* Every callback is optional (NULL). `ud` is passed back. A callback must
 * not call into the model. */
typedef struct cdt_model_cb {
    void *ud;
    /* cdt_model_run only: the callbacks never call the reader (start may
     * keep it, not use it while the run lasts; cd_trace_reader_ns and
     * cd_trace_reader_header are thread-safe and allowed). The run may
     * then read and decode on a second thread while this one applies
     * the events (same events, same order, same output). */
    bool reader_untouched;
    /* cdt_model_run only: the reader, once open (header, stacks, symbols). */
    void (*start)(void *ud, cd_trace_reader *r);
    /* Raw event, before the model applies it (export of events the model
     * does not turn into spans). */
    void (*event)(void *ud, const cd_tr_event *ev, int64_t ns);
    void (*span_begin)(void *ud, const cdt_span *s);
    void (*span_end)(void *ud, const cdt_span *s);
    /* A worker changes state at ns. The first call for a worker has
     * old == new (its state when the trace first mentions it). */
    void (*worker_state)(void *ud, uint64_t worker, cdt_worker_state old, cdt_worker_state new_,
                         int64_t ns);
    /* TASK_CREATE. */
    void (*task_create)(void *ud, uint64_t task, uint64_t parent, const char *name, size_t name_len,
                        uint64_t thread, uint64_t stack, int64_t ns);
    void (*task_done)(void *ud, const cdt_task_info *t);
    void (*gc_done)(void *ud, const cdt_gc_info *g);
    void (*heap)(void *ud, int64_t in_use, int64_t goal, int64_t ns);
    void (*log)(void *ud, uint64_t thread, uint64_t user_task, const char *category,
                size_t category_len, const char *message, size_t message_len, int64_t ns);
    void (*lost)(void *ud, uint64_t thread, uint64_t events, uint64_t batches, int64_t ns);
    /* The model no longer tracks `thread` (THREAD_STOP, or forgotten past
     * CDT_MODEL_MAX_THREADS); a later event of it makes it new again. */
    void (*thread_gone)(void *ud, uint64_t thread);
    /* After cdt_model_finish closed everything: the trace's end, how many
     * workers and threads it saw, what the limits left out. */
    void (*end)(void *ud, const cdt_model_end *e);
} cdt_model_cb;

typedef struct cdt_model cdt_model;

/* New model reporting to *cb (copied). NULL on out of memory. */
cdt_model *cdt_model_new(cd_trace_reader *r, const cdt_model_cb *cb);

/* Applies one event (in the reader's order). An event older than the last
 * one applied is applied at the last one's time (the model's clock never
 * goes back). Returns 0, -ENOMEM, or -ERANGE when the event's time is one
 * no trace can have (cdt_event_ns, cdt.h): the trace is corrupt, nothing
 * was applied. */
int cdt_model_feed(cdt_model *m, const cd_tr_event *ev);

/* Closes everything still open at the last event's time (unfinished spans,
 * task_done with ended false, a pending gc_done). Call once, after the last
 * event. */
void cdt_model_finish(cdt_model *m);

/* Time of the last event fed (ns), 0 before any; the number of distinct
 * workers and of threads met so far (as in cdt_model_end). O(1). */
int64_t cdt_model_now(const cdt_model *m);
uint64_t cdt_model_workers(const cdt_model *m);
uint64_t cdt_model_threads(const cdt_model *m);

void cdt_model_free(cdt_model *m);

/* Runs a whole file through a model: opens `path` ("-": stdin) with the
 * tool's error messages, feeds every event (read ahead by a second thread
 * when cb->reader_untouched; the callbacks all run on the calling one), finishes, reports a truncation
 * as a warning and an impossible time as corruption (cdt_time_error). *stats_out (may be NULL)
 * receives the reader's counters and *hdr_out (may be NULL) the header. Returns a cdt exit code
 * (CDT_OK, CDT_FAIL). */
int cdt_model_run(const char *path, const cdt_model_cb *cb, cd_tr_stats *stats_out,
                  cd_tr_header *hdr_out);

#endif /* CDEBUG_VIEWER_MODEL_H */

/* runtime/sched_view.h - the pool's state, read from outside the pool.
 *
 * The task dump (prof/taskprof.c), the trace snapshot (trace/snapshot.c),
 * schedtrace and the CPU profiler's task labels read tasks, workers and
 * the task a thread runs. They do it here, in one place, without the
 * pool's internals (runtime/sched_priv.h is the pool's own): each task is
 * copied into a view with one consistent read, its id and state checked
 * around the copy, while the pool runs on. Nothing here stops the world.
 */
#ifndef CDEBUG_RUNTIME_SCHED_VIEW_H
#define CDEBUG_RUNTIME_SCHED_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/thread.h"

/* A task's state, Go's numbers (schedtrace prints them): runnable (queued,
 * not started), running (on an M holding a worker), blocked (inside
 * cd_block_begin/end: its M gave its worker away). */
enum { CD__TASKV_RUNNABLE = 1, CD__TASKV_RUNNING = 2, CD__TASKV_BLOCKED = 4 };

typedef struct cd__task_view {
    const void *rec;    /* the task's record, for cd__sched_task_same only */
    uint64_t id;        /* Go's goroutine id */
    uint64_t parent;    /* the spawning task's id, 0 if none */
    int state;          /* CD__TASKV_* */
    int64_t m;          /* id of the M running it (or that ran it last), -1 */
    const char *name;   /* NULL: unnamed; a literal for the task's life */
    const char *reason; /* the wait reason while blocked, else NULL */
    uintptr_t fn;       /* the task's function */
    uintptr_t gopc;     /* the return address of its cd_go call */
} cd__task_view;

typedef void (*cd__task_visit)(const cd__task_view *v, void *ctx);

/* What cd__sched_foreach_task visits. */
enum {
    CD__TASKS_CURRENT = 1 << 0, /* each M's current task (running or blocked), in M order */
    CD__TASKS_QUEUED = 1 << 1,  /* each worker's queue head to tail, then the global queue */
};

/* Calls visit for every live task of the kinds in `which`, current ones
 * first. Tasks move meanwhile: one stolen between two queues may be seen
 * twice, one taken from a queue may be missed; each view is one consistent
 * copy. visit runs with the M list's lock (CD__TASKS_CURRENT) or the global
 * queue's dequeue lock held: it must not spawn, block or wait on the pool.
 * Nothing when the pool has not started. Thread-safe; not
 * async-signal-safe; O(tasks queued + threads). */
void cd__sched_foreach_task(unsigned which, cd__task_visit visit, void *ctx);

/* The task thr runs now (running, or blocked in cd_block_begin), copied
 * into *v: false when it runs none. Thread-safe; async-signal-safe (atomic
 * loads only: the crash report's handler reads its own thread's task). */
bool cd__sched_thread_task(const cd__thread *thr, cd__task_view *v);

/* The name of the task thr runs, or NULL: a few loads, for a signal
 * handler interrupting thr itself (the CPU profiler's task label).
 * Async-signal-safe; O(1). */
const char *cd__sched_thread_task_name(const cd__thread *thr);

/* The worker thr holds, or -1 (not a pool thread, or idle). Thread-safe;
 * async-signal-safe; O(1). */
int cd__sched_thread_worker(const cd__thread *thr);

/* What a thread that runs no task is doing: not a pool thread (it runs
 * its own code), a parked pool thread, or one looking for work. */
enum { CD__THREADV_OTHER, CD__THREADV_IDLE, CD__THREADV_SPINNING };
int cd__sched_thread_idle_kind(const cd__thread *thr);

/* True while the task seen in v is still that task and alive (its record
 * is reused once it ends). Thread-safe; O(1). */
bool cd__sched_task_same(const cd__task_view *v);

/* The number of workers (0 before the pool started), and whether worker i
 * is running (holds an M) rather than idle. Thread-safe; O(1). */
int cd__sched_workers(void);
bool cd__sched_worker_running(int i);

/* The frames every task's stack ends with below its function (the pool
 * thread's own: run_task's caller up to the thread's start), captured once
 * by the first task run; 0 until then. A task's stack ends with these plus
 * one frame in run_task: the task dump and the trace's creation stacks
 * stop there and copy these instead of walking them. Returns the number
 * stored (<= max). Thread-safe; async-signal-safe. */
#define CD__SCHED_BASE_MAX 16
size_t cd__sched_task_base(uintptr_t *pcs, size_t max);

#endif /* CDEBUG_RUNTIME_SCHED_VIEW_H */

/* cdebug/sched.h - the work-stealing task pool (Go's goroutine scheduler).
 *
 * CDMAXPROCS workers ("P"s) run tasks to completion on OS threads ("M"s).
 * A task that is about to block (I/O, a lock, cd_wg_wait) brackets the call
 * with cd_block_begin/cd_block_end: its thread hands the worker to another
 * thread so the pool keeps CDMAXPROCS tasks running, as Go does for syscalls.
 * docs/scheduler.md describes the design and the task state machine.
 */
#ifndef CDEBUG_SCHED_H
#define CDEBUG_SCHED_H

#include <cdebug/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Spawns a task running fn(arg) on the pool. arg may point to GC memory: the
 * pool keeps it reachable until fn returns. Returns 0, -EINVAL for a NULL fn,
 * -ESHUTDOWN after cd_shutdown(), -ENOMEM. A task accepted (0) always runs,
 * in the process that accepted it: in a child of fork() the pool works as
 * new (threads start on demand), and the tasks the parent had queued or
 * running at the fork are dropped there, counted in tasks_dropped; a task
 * that calls fork() goes on in the child, and its return ends the child
 * with exit(0) (docs/scheduler.md, "fork()").
 * Thread-safe from any thread (workers queue locally, others globally); not
 * async-signal-safe. Cost: O(1), no lock and no system call unless an idle
 * worker must be woken. */
CD_EXTERN int cd_go(void (*fn)(void *), void *arg);

/* Like cd_go and names the task (shown by scheddetail, in traces and in the
 * goroutine profile). name must stay valid for the task's life (use a
 * literal). Same errors, thread/signal rules and cost as cd_go. */
CD_EXTERN int cd_go_named(const char *name, void (*fn)(void *), void *arg);

/* Go's sync.WaitGroup. Fields are private; declare one anywhere (stack, GC
 * memory, globals) and call cd_wg_init before use. */
typedef struct cd_waitgroup {
    uint64_t state_; /* private: count (high 32 bits, signed) | waiters (low 32) */
    uint32_t seq_;   /* private: futex word, bumped when waiters are released */
    uint32_t pad_;
} cd_waitgroup;

/* Sets the count to zero. Not thread-safe against concurrent use of wg;
 * async-signal-safe (two atomic stores); O(1). */
CD_EXTERN void cd_wg_init(cd_waitgroup *wg);
/* Adds delta (may be negative) to the count; waking waiters when it reaches
 * zero. A negative count aborts with a message (Go panics; the crash report
 * then exits with status 2, as Go's panic does: docs/crash.md). As in Go, Adds
 * that start a new round must happen after every Wait of the previous round
 * has returned. Thread-safe; not async-signal-safe; O(1), one atomic add
 * (plus a futex wake when the count reaches zero with waiters). */
CD_EXTERN void cd_wg_add(cd_waitgroup *wg, int delta);
/* cd_wg_add(wg, -1): same rules and cost. */
CD_EXTERN void cd_wg_done(cd_waitgroup *wg);
/* Waits until the count is zero. Inside a task the wait is a blocking call
 * with hand-off (cd_block_begin("sync.WaitGroup.Wait")), so the worker keeps
 * running other tasks and waiting never deadlocks the pool. A wait nothing
 * can end (no other task exists, and every other thread is an idle pool
 * thread: e.g. a child of fork() waiting for its parent's tasks) is fatal
 * as in Go: "fatal error: all goroutines are asleep - deadlock!" on stderr,
 * exit status 2. A sleeping wait checks that once a second. Thread-safe;
 * not async-signal-safe. Cost: O(1) when the count is already zero, else
 * a futex wait (and the worker's hand-off inside a task). */
CD_EXTERN void cd_wg_wait(cd_waitgroup *wg);

/* Declares that the calling task is about to block in reason (a literal such
 * as "select" or "IO wait"). Its worker is handed to another thread so other
 * tasks keep running; cd_block_end() takes a worker back (waiting for one if
 * all are busy). Calls nest only as begin/end pairs. Outside a task (main or
 * foreign thread) both only record the state. Thread-safe; not
 * async-signal-safe. Cost: a lock and at most one thread wake each. */
CD_EXTERN void cd_block_begin(const char *reason);
CD_EXTERN void cd_block_end(void);

/* Registers the calling thread (created with plain pthread_create) with the
 * collector and cdebug's thread registry, so it may use cd_alloc, appears
 * in schedtrace's threads= and in profiles, and its trace events are
 * recorded. Returns 0, or 0 again when already registered, or a negative
 * errno (-ENOMEM, -EAGAIN when bdwgc cannot find the thread's stack).
 * cd_thread_unregister() must run before the thread exits. Thread-safe
 * (it acts on the calling thread); not async-signal-safe. Cost: a registry
 * lock, bdwgc's registration (its allocation lock), a CPU-profiler timer
 * when a profile runs. */
CD_EXTERN int cd_thread_register(void);
/* Undoes cd_thread_register for the calling thread; a no-op on a thread
 * it did not register (cdebug's own, or never registered). Same rules and
 * cost. */
CD_EXTERN void cd_thread_unregister(void);

/* Scheduler counters, read without stopping anything (each field is exact,
 * fields are not mutually atomic).
 *
 * Unlike cd_memstats, which copies runtime.MemStats, these fields do not
 * follow a Go struct: Go exports none for its scheduler (runtime/metrics
 * has a few single values, /sched/gomaxprocs:threads and
 * /sched/goroutines:goroutines). The first six are named as the fields of
 * Go's schedtrace line, which cdebug's schedtrace prints from them
 * ("SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=1
 * idlethreads=1 runqueue=3 [...]"); the others are cdebug's own, named in
 * the same lower case, "tasks" being Go's goroutines. */
typedef struct cd_schedstats {
    uint32_t gomaxprocs;      /* workers (P) */
    uint32_t idleprocs;       /* workers with no thread running tasks */
    uint32_t threads;         /* OS threads known to cdebug */
    uint32_t spinningthreads; /* threads looking for work */
    uint32_t idlethreads;     /* pool threads parked without a worker */
    uint32_t runqueue;        /* tasks in the global queue */
    uint64_t tasks_created;   /* cumulative cd_go successes (may briefly count one in flight) */
    uint64_t tasks_done;      /* cumulative completed tasks */
    uint64_t tasks_dropped;   /* tasks of the parent dropped by fork() (see cd_go) */
    uint64_t tasks_running;   /* tasks running now (incl. blocked ones) */
    uint64_t tasks_blocked;   /* tasks inside cd_block_begin/end now */
    uint64_t tasks_queued;    /* runnable tasks in all queues now */
    uint64_t steals;          /* successful steals from another worker */
    uint64_t parks;           /* times a thread parked for lack of work */
    uint64_t handoffs;        /* workers handed to another thread on block */
    uint32_t runq[1024];      /* local run-queue length per worker, [0, gomaxprocs) */
} cd_schedstats;

/* Fills *s. Thread-safe, from any thread; not async-signal-safe. Cost:
 * O(gomaxprocs), lock-free. */
CD_EXTERN void cd_read_schedstats(cd_schedstats *s);

/* Number of workers (CDMAXPROCS), fixed at cd_init. Thread-safe;
 * async-signal-safe; O(1). */
CD_EXTERN int cd_maxprocs(void);

#ifdef __cplusplus
}
#endif
#endif /* CDEBUG_SCHED_H */

/* runtime/sched_priv.h - the scheduler's data structures, shared by
 * sched.c (the pool), runq.c (local queues), task.c (task records),
 * waitgroup.c and schedtrace.c. Not for the rest of the runtime.
 *
 * Vocabulary is Go's: a task is a G, a worker (a right to run tasks) is a P,
 * an OS thread is an M. An M runs tasks only while it holds a P; there are
 * exactly CDMAXPROCS Ps, so at most CDMAXPROCS tasks run at once, except that
 * a task inside cd_block_begin/end holds a thread but no P.
 */
#ifndef CDEBUG_RUNTIME_SCHED_PRIV_H
#define CDEBUG_RUNTIME_SCHED_PRIV_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <urcu/wfcqueue.h>

#include "runtime/sched_view.h"
#include "runtime/thread.h"

/* Task states. The numbers are Go's g status codes so scheddetail reads the
 * same as Go's: runnable -> running -> (blocked -> running)* -> done. */
enum {
    CD__G_RUNNABLE = 1, /* queued, not started */
    CD__G_RUNNING = 2,  /* executing on an M that holds a P */
    CD__G_BLOCKED = 4,  /* inside cd_block_begin/end; its M gave its P away */
    CD__G_DONE = 6,     /* finished; the record is back in a free cache */
};

/* A task record. Records live in GC memory allocated "uncollectable"
 * (scanned, never reclaimed): the collector sees arg while the task is
 * queued or running even though the queues themselves are plain memory, and
 * a stale pointer read by schedtrace always points at a valid record.
 * Records are recycled through free caches and never returned. */
typedef struct cd__task {
    struct cds_wfcq_node qnode; /* link in the global run queue */
    void (*fn)(void *);
    void *arg;
    const char *name;    /* NULL: unnamed */
    _Atomic uint64_t id; /* G number, unique, from 1 */
    uint64_t parent;     /* id of the spawning task, 0 if none */
    _Atomic int state;   /* CD__G_* */
    /* id of the M running it, -1. 32 bits (M ids stay far below 2^31) so
     * that it shares a word with state and gopc fits in the 80 bytes the
     * record had: bench_spawn with 1M queued tasks slows by 10% with 8
     * bytes more per record (docs/profiling.md). */
    _Atomic int32_t m;
    _Atomic(const char *) reason; /* wait reason while blocked */
    struct cd__task *next_free;
    /* Where it was spawned: the return address of its cd_go call, Go's
     * gopc, for the task profile's "created by" (prof/taskprof.c). One
     * frame, as in Go: a deeper walk on every spawn costs too much (see
     * docs/profiling.md). fn, name, parent and gopc are written at
     * spawn with relaxed atomic stores (__atomic_store_n for the plain
     * fields) so the task profile may read them while the task lives,
     * validating its copy with id and state. */
    _Atomic uintptr_t gopc;
} cd__task;

/* Bounded lock-free local run queue (Go's runq): the owner P pushes at the
 * tail, any M takes from the head with a CAS, thieves grab half. */
#define CD__RUNQ_SIZE 256
typedef struct cd__runq {
    _Atomic uint32_t head; /* next slot to take; advanced by CAS */
    _Atomic uint32_t tail; /* next slot to fill; written by the owner only */
    _Atomic(cd__task *) slots[CD__RUNQ_SIZE];
} cd__runq;

enum { CD__P_IDLE = 0, CD__P_RUNNING = 1 }; /* Go's _Pidle, _Prunning */

typedef struct cd__p {
    int id;
    _Atomic int status;
    _Atomic int64_t m; /* id of the M holding it, -1 */
    cd__runq runq;
    /* Counters written only by the M holding this P (relaxed store of
     * load+1, no lock prefix), summed by readers. */
    _Atomic uint64_t schedtick;   /* tasks started here */
    _Atomic uint64_t syscalltick; /* hand-offs from cd_block_begin here */
    _Atomic uint64_t created;     /* tasks spawned by tasks running here */
    _Atomic uint64_t done;        /* tasks finished here */
    _Atomic uint64_t steals;      /* successful steals by this P */
    uint64_t id_next, id_end;     /* cached block of task ids */
    cd__task *free;               /* free task records, owner only */
    _Atomic uint32_t nfree;
    struct cd__p *idle_next; /* link in the idle-P list (sched.lock) */
} __attribute__((aligned(64))) cd__p;

typedef struct cd__m {
    _Atomic uint64_t id; /* = its cd__thread id, set by the thread itself */
    cd__thread *thr;
    pthread_t pthread;
    cd__p *p;                 /* P held, owner only (see pid for others) */
    _Atomic int pid;          /* p->id or -1, for readers */
    _Atomic(cd__task *) curg; /* task running on this thread, or NULL */
    _Atomic bool spinning;    /* looking for work while holding a P */
    _Atomic bool blocked;     /* its task is inside cd_block_begin/end */
    /* Parking: a waker stores nextp (may be NULL to ask the M to exit),
     * then sets park to 1 and wakes the futex. */
    _Atomic uint32_t park;
    cd__p *_Atomic nextp;
    _Atomic bool next_spinning;
    uint32_t rand;   /* xorshift state for victim choice */
    int block_depth; /* nesting of cd_block_begin, owner only */
    /* In a child of fork(): this M's thread called fork() from its task,
     * so that task is the child's only flow of control (sched.c). */
    bool fork_main;
    struct cd__m *link;     /* idle-M or P-waiter list (sched.lock) */
    struct cd__m *all_next; /* every M (sched.lock) */
} cd__m;

/* The scheduler singleton. Fields are grouped by who writes them, a cache
 * line per group: a spawn from a thread without a P writes the queue's tail,
 * the queue's length and created_global, and reads the read-mostly group
 * and the idle counts; sharing a line with what the workers write on every
 * scheduling step made every spawn a cache miss. */
#define CD__LINE _Alignas(64)
typedef struct cd__sched {
    /* Read-mostly: set at start and stop. */
    int nprocs;
    cd__p **allp;
    _Atomic int started;
    _Atomic int stopping; /* cd_shutdown began: refuse foreign cd_go */
    _Atomic int exiting;  /* pool threads must exit */

    /* Tasks spawned from threads without a P (main, foreign, blocked),
     * counted before they are queued (see spawn in sched.c). */
    CD__LINE _Atomic uint64_t created_global;

    /* Global run queue: wait-free enqueue from any thread at the tail;
     * the head's mutex serialises dequeuers. */
    CD__LINE struct cds_wfcq_tail gq_tail;
    CD__LINE struct cds_wfcq_head gq_head;
    CD__LINE _Atomic uint32_t gq_len;

    /* Read by every spawn (wakep), written when Ms park and wake. */
    CD__LINE _Atomic int npidle;
    _Atomic int nmspinning;
    _Atomic int npwait;

    /* The rest: under lock, or rarely written. */
    CD__LINE pthread_mutex_t lock; /* idle lists, M list, waiters; never on a hot path */
    cd__p *pidle;                  /* idle Ps (lock) */
    cd__m *midle;                  /* parked Ms without a P (lock) */
    _Atomic int nmidle;
    cd__m *pwait_head, *pwait_tail; /* Ms back from blocking, waiting for a P */
    cd__m *allm;                    /* lock */
    _Atomic int nm;                 /* pool threads created */
    _Atomic uint64_t next_id;       /* task ids, handed out in blocks (task.c) */
    _Atomic uint64_t parks, handoffs;
    _Atomic uint32_t blocked_tasks;
    /* Tasks queued or running in an ancestor when this process was forked
     * from it (over all generations): they never run here, and
     * outstanding() subtracts them. Modular arithmetic, see fork_child. */
    _Atomic uint64_t dropped;
} cd__sched;

extern cd__sched cd__sched_g;

/* runq.c */
bool cd__runq_put(cd__p *p, cd__task *t); /* false: full, nothing queued */
cd__task *cd__runq_get(cd__p *p);
/* Moves about half of victim's queue into p's (p's must be empty) and
 * returns one task to run, or NULL. */
cd__task *cd__runq_steal(cd__p *p, cd__p *victim);
/* Removes half of p's queue (owner only) into batch[]; returns the count. */
uint32_t cd__runq_grab_half(cd__p *p, cd__task **batch, uint32_t max);
static inline uint32_t cd__runq_len(cd__p *p)
{
    uint32_t h = atomic_load_explicit(&p->runq.head, memory_order_acquire);
    uint32_t t = atomic_load_explicit(&p->runq.tail, memory_order_acquire);
    uint32_t n = t - h;
    return n > CD__RUNQ_SIZE ? 0 : n; /* torn read: report empty */
}

/* task.c */
cd__task *cd__task_alloc(cd__p *p); /* p NULL: from the calling thread's cache */
void cd__task_free(cd__p *p, cd__task *t);
/* Task records made so far (free or in use; never returned). For tests.
 * Thread-safe; a relaxed load. */
uint64_t cd__task_records(void);
/* A new task id: from p's block, or with p NULL from the calling thread's
 * (Go's goid cache): unique, increasing per thread, not across threads. */
uint64_t cd__task_next_id(cd__p *p);
/* In a child of fork(), from sched.c's atfork child handler, after the Ps'
 * caches were emptied: forgets the global cache and schedules every record
 * except keep (the forking task's, or NULL) to be cleared and recycled on
 * the next refill. Plain stores only. */
void cd__task_fork_child(cd__task *keep);


/* sched.c, for waitgroup.c and schedtrace.c */
void cd__sched_block_begin(const char *reason);
void cd__sched_block_end(void);

/* sched.c, for waitgroup.c: true when nothing can ever run again that
 * could wake the calling thread from a wait: no task but the caller's own
 * is queued, running or blocked, and every other thread of the process is
 * a pool thread (which runs nothing but tasks). Reads /proc/self/stat only
 * when no task is outstanding; false when it cannot tell. Thread-safe, not
 * async-signal-safe (open/read). */
bool cd__sched_deadlocked(void);
/* Tasks dropped at fork (S.dropped), for the fatal error's message. */
uint64_t cd__sched_dropped(void);

#endif /* CDEBUG_RUNTIME_SCHED_PRIV_H */

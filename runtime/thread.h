/* runtime/thread.h - the registry of threads cdebug knows ("M"s).
 *
 * Every thread the kit creates (workers, spare threads, the gctrace printer,
 * the schedtrace monitor) and every thread the user registers appears here,
 * so schedtrace can count them and the CPU profiler can arm a timer per
 * thread. Registration also makes the thread known to bdwgc when asked, so
 * its stack is scanned for GC pointers.
 *
 * Records are malloc'd (never GC memory: the registry is read by threads
 * bdwgc may not know) and linked in one list under one mutex; only
 * registration, exit and enumeration take it, never a hot path. The calling
 * thread's record is in a thread-local pointer, read without a lock.
 */
#ifndef CDEBUG_RUNTIME_THREAD_H
#define CDEBUG_RUNTIME_THREAD_H

#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/fpwalk.h"

#define CD__THREAD_CREATE_DEPTH 32 /* frames kept of a thread's creation stack */

typedef enum cd__thread_kind {
    CD__THREAD_MAIN,    /* the thread that ran cd_init */
    CD__THREAD_WORKER,  /* scheduler thread (runs tasks) */
    CD__THREAD_SYSTEM,  /* kit service thread (printer, monitor, ...) */
    CD__THREAD_FOREIGN, /* user thread registered with cd_thread_register */
    CD__THREAD_PTHREAD, /* created with pthread_create outside the kit, seen by
                           runtime/pthread_create.c */
} cd__thread_kind;

typedef struct cd__thread {
    uint64_t id; /* cdebug thread id ("M" number): 1 for main, never reused */
    pid_t tid;   /* kernel thread id */
    pthread_t pthread;
    cd__thread_kind kind;
    bool gc_registered; /* we registered it with bdwgc: unregister at detach */
    bool gc_ok;         /* bdwgc knows it (by anyone): it may allocate */
    /* Allocation counters, written only by the owning thread with relaxed
     * atomic stores (no lock prefix on x86), read by cd_read_memstats. */
    uint64_t mallocs;
    uint64_t alloc_bytes;
    uint64_t frees;
    void *sched; /* the scheduler's per-thread state (an M), or NULL */
    void *prof;  /* the CPU profiler's slot while sampled (prof/cpuprof.c) */
    /* For the threadcreate profile: the stack that created the thread
     * (cd__thread_spawn's caller, innermost first) or, for main and
     * registered threads, the stack that registered it. Written before the
     * record is published, then immutable. */
    uint32_t ncreate;
    uintptr_t create_pcs[CD__THREAD_CREATE_DEPTH];
    /* The blocking call the thread is in (cd_block_begin..cd_block_end),
     * for the task profile (prof/taskprof.c): the reason (NULL: not
     * blocked), when it began and the stack of cd_block_begin's caller.
     * Written by the owner only, under the seqlock block_seq (odd while
     * writing), read by any thread with cd__thread_block_read. */
    _Atomic uint32_t block_seq;
    _Atomic(const char *) block_reason;
    _Atomic uint64_t block_since; /* cd__nanotime() at cd_block_begin */
    _Atomic uint32_t block_n;
    _Atomic uintptr_t block_pcs[CD__FPWALK_MAX];
    int block_depth; /* nesting of cd_block_begin, owner only */
    /* The alternate signal stack cdebug gave the thread (NULL: none, or
     * the thread had its own), freed at detach. */
    void *sigstack;
    size_t sigstack_len;
    struct cd__thread *next;
} cd__thread;

/* The calling thread's record, or NULL when it is not registered.
 * Thread-safe; async-signal-safe (a TLS read). */
extern __thread cd__thread *cd__self;

/* Registers the calling thread with the given kind; with gc true it is also
 * registered with bdwgc (GC_register_my_thread) unless bdwgc already knows
 * it, and the collector must be running (cd__gc_start).
 * Returns 0, -EEXIST if already registered (the record is kept), -ENOMEM.
 * Not async-signal-safe. Cost: malloc + one mutex. */
int cd__thread_attach(cd__thread_kind kind, bool gc);

/* cd__thread_attach whose creation stack starts `skip` frames above its
 * caller: the runtime's start attaches M0 with the stack of whoever
 * started the runtime (cd_init, or the first entry point), not its own. */
int cd__thread_attach_skip(cd__thread_kind kind, bool gc, unsigned skip);

/* Registers the calling thread, just started, as kind (not with bdwgc),
 * with creation stack pcs[0..n), and arranges that it leaves the registry
 * when it exits (a thread-specific-data destructor: on return,
 * pthread_exit and cancellation). For runtime/pthread_create.c's threads.
 * Returns as cd__thread_attach. Not async-signal-safe. */
int cd__thread_attach_created(cd__thread_kind kind, const uintptr_t *pcs, size_t n);

/* Registers the calling thread, which must be registered, with bdwgc if it
 * is not yet (a thread of the program's on its first use of the collector
 * or its cd_thread_register; main when the collector started elsewhere).
 * The collector must be running.
 * Returns 0, -EAGAIN when bdwgc cannot find its stack, -ENOENT when the
 * thread is not registered. */
int cd__thread_gc_register(void);

/* Undoes cd__thread_gc_register on the calling thread when it made the
 * registration (the thread stays in cdebug's registry). */
void cd__thread_gc_unregister(void);

/* Removes the calling thread: folds its counters into the dead-thread totals,
 * unregisters it from bdwgc if we registered it, frees the record. */
void cd__thread_detach(void);

/* In a child of fork(), from the scheduler's atfork child handler (the
 * only caller): keeps only the calling thread's record (if any), the only
 * thread left. Plain stores: no allocation, no lock, no system call. */
void cd__thread_fork_child(void);

/* Number of registered threads (O(1), relaxed atomic read). */
uint32_t cd__thread_count(void);

/* Calls fn for every registered thread with the registry lock held; fn must
 * not register or detach threads, and must not allocate GC memory. */
void cd__thread_foreach(void (*fn)(cd__thread *t, void *ctx), void *ctx);

/* Sums allocation counters over live threads plus the ones that exited. */
void cd__thread_alloc_totals(uint64_t *mallocs, uint64_t *bytes, uint64_t *frees);

/* Records that the calling thread enters a blocking call (depth 0 -> 1 of
 * cd_block_begin): reason, time and the stack from this function's return
 * address on, `skip` frames left out (skip 0: pcs[0] is in the caller).
 * Owner only; no lock; not async-signal-safe.
 * Cost: one frame walk (<= CD__FPWALK_MAX frames) and relaxed stores. */
void cd__thread_block_enter(cd__thread *self, const char *reason, unsigned skip);
/* Clears the record (depth 1 -> 0). Owner only. */
void cd__thread_block_exit(cd__thread *self);
/* Copies t's blocking record if t is in a blocking call: returns the
 * reason (NULL when not blocked, or when the record changed while read),
 * with the stack in pcs (up to max frames, *n) and the start time in
 * *since. Any thread (t must stay registered: call it under
 * cd__thread_foreach). Lock-free, async-signal-safe. */
const char *cd__thread_block_read(cd__thread *t, uintptr_t *pcs, size_t max, size_t *n,
                                  uint64_t *since);

/* The name of a thread kind in the task dump and the crash report:
 * "main", "worker", "system", "registered" or "pthread". Async-signal-safe;
 * pure. */
const char *cd__thread_kind_name(cd__thread_kind kind);

/* Bytes of the alternate signal stack a thread gets (the fatal-signal
 * handlers run there, so a stack overflow is reported), plus one guard
 * page below it. Go gives each M 32 KiB; the report's handler needs less
 * than 16, a sanitizer's interceptors more. */
#define CD__SIGSTACK_SIZE (64 * 1024)

/* Gives the calling thread an alternate signal stack (sigaltstack) unless
 * it has one already (the program's, a sanitizer's: kept). Returns the
 * mapping to pass to cd__sigstack_drop, with its length in *len, or NULL
 * when nothing was installed (the thread had one, or mmap failed: a stack
 * overflow on that thread then kills it without a report). Every thread
 * the registry attaches gets one; the crash report's own thread too. Not
 * async-signal-safe (mmap). */
void *cd__sigstack_add(size_t *len);

/* Takes back a stack cd__sigstack_add installed on the calling thread
 * (disables it unless the thread has another one by now) and unmaps it.
 * NULL: nothing. Not async-signal-safe. */
void cd__sigstack_drop(void *mem, size_t len);

/* Creates a joinable kit thread named name (NULL: the creator's name, as
 * the pool's workers keep the program's; else at most 15 bytes, "cd-..."
 * by convention, what `top -H` and the CPU profile's thread= label show)
 * that registers itself (kind; with gc, also with the collector when it
 * runs, else on its first use of it) before running fn(arg) and detaches
 * after. The process-directed signals a program expects on its own
 * threads are blocked in the new thread. Returns 0 or a negative errno.
 * Thread-safe; not async-signal-safe. Cost: a thread creation. */
int cd__thread_spawn(pthread_t *out, const char *name, cd__thread_kind kind, bool gc,
                     void *(*fn)(void *), void *arg);

/* Adds to *set the process-directed signals a C program expects on its own
 * threads (SIGINT for Ctrl-C, SIGTERM, SIGCHLD...), which every kit thread
 * keeps blocked: cd__thread_spawn's threads, and threads a library starts
 * for the kit (libmicrohttpd's). bdwgc's stop-the-world signals stay
 * deliverable. Async-signal-safe (sigaddset); O(1). */
void cd__thread_kit_signals(sigset_t *set);

#endif /* CDEBUG_RUNTIME_THREAD_H */

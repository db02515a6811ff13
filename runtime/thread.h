/* runtime/thread.h - the registry of threads cdebug knows ("M"s).
 *
 * Every thread the kit creates (workers, spare threads, the gctrace printer,
 * the schedtrace monitor) and every thread the user registers appears here,
 * so schedtrace can count them and later the profiler can arm a timer per
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
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

typedef enum cd__thread_kind {
    CD__THREAD_MAIN,    /* the thread that ran cd_init */
    CD__THREAD_WORKER,  /* scheduler thread (runs tasks) */
    CD__THREAD_SYSTEM,  /* kit service thread (printer, monitor, ...) */
    CD__THREAD_FOREIGN, /* user thread registered with cd_thread_register */
} cd__thread_kind;

typedef struct cd__thread {
    uint64_t id;          /* cdebug thread id ("M" number), never reused */
    pid_t tid;            /* kernel thread id */
    pthread_t pthread;
    cd__thread_kind kind;
    bool gc_registered;   /* we called GC_register_my_thread for it */
    /* Allocation counters, written only by the owning thread with relaxed
     * atomic stores (no lock prefix on x86), read by cd_read_memstats. */
    uint64_t mallocs;
    uint64_t alloc_bytes;
    uint64_t frees;
    void *sched;          /* the scheduler's per-thread state (an M), or NULL */
    struct cd__thread *next;
} cd__thread;

/* The calling thread's record, or NULL when it is not registered.
 * Thread-safe; async-signal-safe (a TLS read). */
extern __thread cd__thread *cd__self;

/* Registers the calling thread with the given kind; with gc true it is also
 * registered with bdwgc (GC_register_my_thread) unless bdwgc already knows it.
 * Returns 0, -EEXIST if already registered (the record is kept), -ENOMEM.
 * Not async-signal-safe. Cost: malloc + one mutex. */
int cd__thread_attach(cd__thread_kind kind, bool gc);

/* Removes the calling thread: folds its counters into the dead-thread totals,
 * unregisters it from bdwgc if we registered it, frees the record. */
void cd__thread_detach(void);

/* Number of registered threads (O(1), relaxed atomic read). */
uint32_t cd__thread_count(void);

/* Calls fn for every registered thread with the registry lock held; fn must
 * not register or detach threads, and must not allocate GC memory. */
void cd__thread_foreach(void (*fn)(cd__thread *t, void *ctx), void *ctx);

/* Sums allocation counters over live threads plus the ones that exited. */
void cd__thread_alloc_totals(uint64_t *mallocs, uint64_t *bytes, uint64_t *frees);

/* Creates a joinable kit thread that registers itself (kind, gc) before
 * running fn(arg) and detaches after. Signals are blocked in the new thread
 * except bdwgc's stop-the-world ones. Returns 0 or a negative errno. */
int cd__thread_spawn(pthread_t *out, cd__thread_kind kind, bool gc, void *(*fn)(void *),
                     void *arg);

#endif /* CDEBUG_RUNTIME_THREAD_H */

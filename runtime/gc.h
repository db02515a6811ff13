/* runtime/gc.h - internal interface of the bdwgc layer (gc.c, gcevents.c,
 * gctrace.c, memstats.c). */
#ifndef CDEBUG_RUNTIME_GC_H
#define CDEBUG_RUNTIME_GC_H

#include <stdbool.h>
#include <stdint.h>

#include "runtime/env.h"

/* Starts bdwgc once, on first need (the cd_alloc family, cd_gc, cd_go,
 * cd_thread_register, gctrace): GC_INIT from the calling thread, thread
 * registration allowed (which starts the parallel markers), CDGC applied
 * (divisor or GC_disable), the collection-event callback installed. The
 * calling thread is registered with the collector. The environment must
 * be loaded (cd__ensure_init). bdwgc aborts the process when it cannot
 * initialise. Thread-safe; not async-signal-safe. Cost: one acquire load
 * once started. */
void cd__gc_start(void);

/* Whether cd__gc_start has run: false proves no object of the collector
 * exists and no collection has run. Thread-safe; async-signal-safe. */
bool cd__gc_running(void);

/* Starts the gctrace printer thread when cfg->gctrace is set. */
int cd__gctrace_start(const cd__config *cfg);

/* Prints every collection recorded so far and stops the printer thread.
 * Called by cd_shutdown (and at exit). Idempotent. */
void cd__gctrace_stop(void);

/* In a child of fork(), from the runtime's atfork child handler (sched.c):
 * the printer thread is the parent's; the child forgets it and prints no
 * gctrace line (a line of the parent's not yet printed is the parent's to
 * print; the child's own collections would repeat the parent's numbers).
 * cd__gctrace_stop is then a no-op. Plain stores only. */
void cd__gctrace_fork_child(void);

/* Number of collections observed by the event callback (NumGC). Thread-safe,
 * async-signal-safe (atomic load). */
uint32_t cd__gc_count(void);

/* Objects and bytes allocated and explicit frees counted by the cd_alloc
 * family, over every thread (live, exited, and unknown to cdebug). Each sum
 * is exact; they are not read atomically together. Thread-safe; not
 * async-signal-safe (takes the thread-registry mutex). O(threads). */
void cd__gc_alloc_totals(uint64_t *mallocs, uint64_t *bytes, uint64_t *frees);

#endif /* CDEBUG_RUNTIME_GC_H */

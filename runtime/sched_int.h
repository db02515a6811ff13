/* runtime/sched_int.h - what the rest of the runtime sees of the scheduler. */
#ifndef CDEBUG_RUNTIME_SCHED_INT_H
#define CDEBUG_RUNTIME_SCHED_INT_H

#include "runtime/env.h"

/* Starts cfg->maxprocs workers. Called once by cd_init after the collector
 * is ready. Returns 0 or a negative errno. */
int cd__sched_start(const cd__config *cfg);

/* Refuses new tasks (-ESHUTDOWN), waits until every accepted task has
 * finished, stops and joins the pool threads. Must not run on a worker. */
void cd__sched_stop(void);

/* Starts/stops the schedtrace monitor thread (no-op when schedtrace is 0). */
int cd__schedtrace_start(const cd__config *cfg);
void cd__schedtrace_stop(void);

/* In a child of fork(), from the atfork child handler: the monitor thread
 * is the parent's; the child forgets it (no SCHED line comes from a child)
 * and cd__schedtrace_stop is then a no-op. Plain stores only. */
void cd__schedtrace_fork_child(void);

#endif /* CDEBUG_RUNTIME_SCHED_INT_H */

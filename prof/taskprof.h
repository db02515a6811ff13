/* prof/taskprof.h - the task profile: Go's goroutine profile for cdebug's
 * tasks and threads (/debug/pprof/goroutine, cd_taskprof_write).
 *
 * What is counted. Every live task (queued, running, blocked in
 * cd_block_begin) and every thread cdebug knows that is not running a task
 * (idle or spinning pool threads, kit service threads, main, registered
 * threads): a Go program's goroutines are its tasks and the threads that
 * stand for its main goroutine and other code.
 *
 * The stacks.
 *   - a running task or thread: its current stack, asked by signal
 *     (prof/threadstack.h), unless it sits in a system call a signal would
 *     interrupt (then: [syscall], and only what is known without it);
 *   - a blocked task or thread: the stack recorded by cd_block_begin;
 *   - a queued task: its function (it has not started).
 * A task's stack stops at its function (the pool's frames below it are cut)
 * and, in the profile (debug 0 and 1), is followed by its creation frame,
 * the code that called cd_go: "where it is, then who spawned it".
 * debug=2 prints Go's traceback shape, one block per task then per thread,
 * with "created by". Details and the design: docs/profiling.md.
 *
 * Consistency. Nothing is stopped: tasks are listed from the thread
 * registry and the run queues with lock-free reads validated per task (a
 * task that ends or moves during the walk may be missed or dropped), the
 * same way schedtrace's scheddetail lists them.
 */
#ifndef CDEBUG_PROF_TASKPROF_H
#define CDEBUG_PROF_TASKPROF_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "prof/profiles.h"
#include "runtime/thread.h"

/* Registers the "goroutine" profile (prof/profiles.h). Called once by
 * init/. Returns 0 or a negative errno. Thread-safe. */
int cd__taskprof_register(void);

/* Options of the debug=2 dump for the SIGQUIT handler (prof/sigquit.c). */
typedef struct cd__taskprof_dumpopt {
    bool signal_all;            /* ask every thread for its stack, even in a
                                 * system call a signal interrupts (the process
                                 * is about to exit) */
    const cd__thread *skip;     /* a thread left out (the dumping thread), or NULL */
    uint64_t first_m;           /* thread printed first (the one the signal hit), 0: none */
    const uintptr_t *first_pcs; /* its stack at the signal: [0] the interrupted pc */
    size_t first_n;
} cd__taskprof_dumpopt;

/* Writes the debug=2 dump (Go's traceback shape) to f. NULL opt: the
 * profile's own (no thread skipped, careful signalling). Returns 0 or a
 * negative errno. Thread-safe; not async-signal-safe; allocates (malloc,
 * never GC memory) and symbolizes. */
int cd__taskprof_dump(FILE *f, const cd__taskprof_dumpopt *opt);

#endif /* CDEBUG_PROF_TASKPROF_H */

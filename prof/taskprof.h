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

#include "base/symbolize.h"
#include "prof/profiles.h"
#include "runtime/thread.h"

/* Registers the "goroutine" profile (prof/profiles.h). Called once by
 * init/. Returns 0 or a negative errno. Thread-safe. */
int cd__taskprof_register(void);

/* Options of the debug=2 dump for the crash report (prof/crash.c). */
typedef struct cd__taskprof_dumpopt {
    bool signal_all;        /* ask every thread for its stack, even in a
                             * system call a signal interrupts (the process
                             * is about to exit) */
    const cd__thread *skip; /* a thread left out (the one the report began
                             * with), or NULL */
    bool user_only;         /* leave out pool and kit threads running no
                             * task (GOTRACEBACK=all: the program's own) */
    bool runtime;           /* keep the pool's frames below a task's
                             * function (GOTRACEBACK=system) */
    cd__symctx *sym;        /* a symbolizer to use, or NULL: one of its own */
} cd__taskprof_dumpopt;

/* Writes the debug=2 dump (Go's traceback shape) to f. NULL opt: the
 * profile's own (no thread skipped, careful signalling). Returns 0 or a
 * negative errno. Thread-safe; not async-signal-safe; allocates (malloc,
 * never GC memory), symbolizes, takes the thread registry's and the
 * scheduler's locks. */
int cd__taskprof_dump(FILE *f, const cd__taskprof_dumpopt *opt);

/* The frames of one stack taken in a signal handler (cd__fpwalk_ucontext:
 * pcs[0] the interrupted pc, then return addresses), in the dump's shape,
 * then "created by" created_by when not 0 (a return address). A task's
 * stack (task) loses the pool's frames below its function unless runtime.
 * For the crash report, whose handler has printed the header. Takes no
 * lock of the runtime (only sym's and the allocator's). Not
 * async-signal-safe. */
void cd__taskprof_print_stack(FILE *f, cd__symctx *sym, const uintptr_t *pcs, size_t n, bool task,
                              bool runtime, uintptr_t created_by);

#endif /* CDEBUG_PROF_TASKPROF_H */

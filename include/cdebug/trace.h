/* cdebug/trace.h - execution tracing (Go's runtime/trace) and annotations.
 *
 * A trace records what the scheduler, the collector and the program's own
 * annotations did, in the binary format of docs/trace-format.md, read by
 * `cdebug-trace`. One trace runs at a time (the file, a pipe or a socket of
 * cd_trace_start, CDEBUG=trace=FILE, or /debug/pprof/trace).
 *
 * Annotations are Go's trace.NewTask / StartRegion / Log, as
 * cd_trace_task_begin / cd_trace_region_begin / cd_trace_log. With no trace
 * running each costs one load and one predictable branch.
 */
#ifndef CDEBUG_TRACE_H
#define CDEBUG_TRACE_H

#include <stdbool.h>
#include <stdint.h>

#include <cdebug/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Starts tracing into fd (a file, pipe or socket, open for writing;
 * cdebug does not close it). Returns 0, -EBADF (fd not open for writing),
 * -EBUSY when a trace is already running (Go's "tracing is already
 * enabled"; the flight recorder is one), -ENOSYS without membarrier(2),
 * -ENOMEM, -EAGAIN (no thread for the writer), or write(2)'s error on the
 * header. Threads must be cdebug's own or registered (cd_thread_register)
 * for their events to be recorded. Thread-safe; not async-signal-safe.
 * Cost: a 20 ms clock calibration the first time, a snapshot of the pool,
 * one writer thread for the session. */
CD_EXTERN int cd_trace_start(int fd);

/* Stops the trace: every event recorded so far is written, then an END
 * record. Returns 0, -ENOENT when no trace runs, or the first write error
 * (e.g. -EPIPE: the reader went away; tracing had stopped by itself).
 * In a child of fork() the parent's trace does not run: -ENOENT, nothing
 * written (docs/scheduler.md, "fork()"); a trace the child started is
 * stopped as usual. Thread-safe; not async-signal-safe. Cost: blocks
 * until the last events are written and the writer thread has ended. */
CD_EXTERN int cd_trace_stop(void);

/* Whether a trace is recording, the flight recorder included (in this
 * process: false in a child of fork() until it starts its own).
 * Thread-safe; async-signal-safe; O(1), one atomic load. */
CD_EXTERN bool cd_trace_enabled(void);

/* The flight recorder (CDEBUG=flight=SECONDS): an always-on trace kept in
 * memory, of which the most recent `seconds` (0 < seconds <= 3600) can be
 * written at any time as a self-contained trace, without stopping it. It
 * is a trace session: while it runs cd_trace_start and /debug/pprof/trace
 * get -EBUSY, and it cannot start while another trace runs. Memory: at
 * most 64 MiB of events (the window shrinks past that), the tables of
 * distinct strings and stacks (16 MiB at most) and the recorder's buffers
 * (32 MiB at most); docs/trace-format.md, "Flight recorder".
 *
 * cd_flight_start returns 0, -EINVAL (seconds out of range or NaN),
 * -EBUSY, -ENOSYS, -EAGAIN or -ENOMEM (the errors of cd_trace_start).
 * Thread-safe; not async-signal-safe. Cost: as cd_trace_start, plus the
 * memory above as the window fills. */
CD_EXTERN int cd_flight_start(double seconds);

/* Stops the flight recorder and frees its window. Returns 0 or -ENOENT
 * (none runs). Thread-safe; not async-signal-safe. Cost: blocks until the
 * writer thread has ended (and any cd_flight_write has copied). */
CD_EXTERN int cd_flight_stop(void);

/* Whether the flight recorder runs (in this process: false in a child of
 * fork()). Thread-safe; async-signal-safe, like cd_trace_enabled; O(1),
 * one atomic load (it takes no lock, not even while cd_flight_write
 * holds the recorder's). */
CD_EXTERN bool cd_flight_enabled(void);

/* Writes the flight recorder's window (the last `seconds`, plus up to a
 * tenth more) to fd as a trace whose header has the flight flag. Waits up
 * to 1 s for the writer's next sweep so that the window ends now; the
 * writing happens on the caller's thread from a copy, so a slow fd never
 * stalls recording. Returns 0, -EBADF (fd not open for writing), -ENOENT
 * (no flight recorder), -ENOMEM, -EAGAIN (nothing recorded yet) or
 * write(2)'s error. Thread-safe (concurrent writes take turns); not
 * async-signal-safe. Cost: up to 1 s of waiting, and a copy of the window
 * (up to 64 MiB) for the duration of the write. */
CD_EXTERN int cd_flight_write(int fd);

/* ---- annotations --------------------------------------------------------
 * Go's trace.NewTask, trace.StartRegion and trace.Log, named cd_trace_*:
 * a user task here is a logical operation of the program, not a task of
 * the pool (cd_go). With no trace running the macros below make each call
 * one load and one predictable branch. None is async-signal-safe: a new
 * name takes the interning lock. */

/* User tasks (Go's trace.NewTask): a logical operation that may span
 * threads and pool tasks. cd_trace_task_begin returns a new id (never 0)
 * even when no trace runs; the calling thread's current user task becomes
 * it until cd_trace_task_end, so regions and logs on this thread are
 * attributed to it; ending it makes the user task it interrupted on this
 * thread current again (up to 16 nested). parent 0: none. type should be
 * a literal. Thread-safe; not async-signal-safe. Cost: one atomic add;
 * with a trace running, one event (about 20 ns) and, the first time a
 * type is seen in the session, its interning. */
typedef uint64_t cd_trace_task_id;
CD_EXTERN cd_trace_task_id cd_trace_task_begin(cd_trace_task_id parent, const char *type);
/* Ends user task id (any thread may end it). Same rules and cost. */
CD_EXTERN void cd_trace_task_end(cd_trace_task_id id);

/* Regions (Go's trace.StartRegion): a named interval on the calling thread;
 * they nest (up to 64 deep per thread; deeper ones are not recorded).
 * cd_trace_region_end closes the innermost region begun while the same
 * trace records; as with Go's no-op regions, a region begun with no trace
 * running is not recorded and its end is ignored. Thread-safe (per-thread
 * state); not async-signal-safe. Cost: with no trace running one load and
 * one predictable branch (the macros below), else about 20 ns, half of it
 * the clock read (docs/bench.md). A literal name is interned by its
 * address alone, the cheapest; any other pointer by address and text, so
 * a reused buffer is fine. */
CD_EXTERN void cd_trace_region_begin(const char *name);
CD_EXTERN void cd_trace_region_end(void);

/* CD_TRACE_REGION("parse") { ... } runs the block inside a region. Do not
 * leave the block with return/goto/break (the region would stay open). */
#define CD_TRACE_REGION(name)                                                                      \
    for (int cd__trace_region_once = (cd_trace_region_begin(name), 1); cd__trace_region_once;      \
         cd__trace_region_once = 0, cd_trace_region_end())

/* A log message in the trace (Go's trace.Log), attributed to the thread's
 * current user task. Both strings are copied; either may be NULL.
 * Thread-safe; not async-signal-safe. Cost: with no trace running the
 * macro below skips the call and does not evaluate the arguments (like
 * Go's `if trace.IsEnabled()`); else one event and a hash of the message
 * (messages are interned by content). */
CD_EXTERN void cd_trace_log(const char *category, const char *message);

/* True while a trace records (cd_trace_enabled() as a variable). Read it
 * only (relaxed, or through the macros below); libcdebug alone writes it.
 * Exported so that an annotation with no trace running is a load and a
 * branch, no call. */
CD_EXTERN extern bool cd_trace_active;

/* The functions stay exported (for other languages and function
 * pointers); these macros put the "is a trace running" test inline. A
 * parenthesised name, (cd_trace_region_begin)(name), calls the function. */
#define CD__TRACE_ACTIVE() __builtin_expect(__atomic_load_n(&cd_trace_active, __ATOMIC_RELAXED), 0)

/* What the cd_trace_region_begin and cd_trace_log macros call when a name,
 * category or message is a string literal (__builtin_constant_p): it is
 * interned by its address alone instead of its address and text (name,
 * category) or its text (message). lits: bit 0 category, bit 1 message.
 * Exported for the macros; call cd_trace_region_begin and cd_trace_log
 * instead (passing a pointer whose text changes here would record stale
 * names). Thread-safe; not async-signal-safe; cost as the functions they
 * stand for, without the hash of a literal's text. */
CD_EXTERN void cd_trace_region_begin_lit(const char *name);
CD_EXTERN void cd_trace_log_lit(const char *category, const char *message, int lits);

#define cd_trace_region_begin(name)                                                                \
    (CD__TRACE_ACTIVE() ? (__builtin_constant_p(name) ? cd_trace_region_begin_lit(name)            \
                                                      : (cd_trace_region_begin)(name))             \
                        : (void)0)
#define cd_trace_region_end() (CD__TRACE_ACTIVE() ? (cd_trace_region_end)() : (void)0)
#define cd_trace_log(category, message)                                                            \
    (CD__TRACE_ACTIVE() ? (__builtin_constant_p(category) || __builtin_constant_p(message)         \
                               ? cd_trace_log_lit(category, message,                               \
                                                  __builtin_constant_p(category) |                 \
                                                      __builtin_constant_p(message) << 1)          \
                               : (cd_trace_log)(category, message))                                \
                        : (void)0)

#ifdef __cplusplus
}
#endif
#endif /* CDEBUG_TRACE_H */

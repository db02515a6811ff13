/* trace/trace_int.h - what init/ sees of the tracer: the CDEBUG=trace file
 * and the registration of its hooks. */
#ifndef CDEBUG_TRACE_TRACE_INT_H
#define CDEBUG_TRACE_TRACE_INT_H

#include <stdint.h>

/* CDEBUG=trace=FILE: start at init, stop (and flush) at cd_shutdown/exit. */
int cd__trace_file_start(const char *path);
void cd__trace_file_stop(void);

/* Registers the trace session's fork-child hook (runtime/hooks.h): in a
 * child of fork(), on the forking thread, the trace session of the parent
 * (a trace to a file or fd, an HTTP trace, the flight recorder) is
 * forgotten, so the child records nothing (cd_trace_enabled() false, the
 * trace points' one branch not taken) and writes nothing at cd_trace_stop,
 * cd_shutdown or exit; it may start a trace of its own. The writer thread
 * does not exist there, and any other thread of the parent may have been
 * mid-event or inside one of the tracer's locks at the fork: so nothing of
 * the session is walked or freed, only forgotten (kept reachable for
 * LeakSanitizer), and the locks are made anew. Plain stores only: no
 * allocation, no lock, no system call, as the atfork child handlers of a
 * multi-threaded process must (and what costs a child about to exec
 * nothing). */
int cd__trace_init(void);

#endif /* CDEBUG_TRACE_TRACE_INT_H */

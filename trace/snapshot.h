/* trace/snapshot.h - the state snapshot that starts every trace. */
#ifndef CDEBUG_TRACE_SNAPSHOT_H
#define CDEBUG_TRACE_SNAPSHOT_H

#include <stdint.h>

#include "base/buf.h"

/* Appends to out an EVENTS payload (docs/trace-format.md) of STATE_THREAD,
 * STATE_WORKER and STATE_TASK events at timestamp ts, for the threads,
 * workers and live tasks of the pool now (read like scheddetail, without
 * stopping anything). Out of memory fails out (base/buf.h's rule).
 * Interns task names and wait reasons. Not async-signal-safe. */
void cd__trace_snapshot(uint64_t ts, cd__buf *out);

#endif /* CDEBUG_TRACE_SNAPSHOT_H */

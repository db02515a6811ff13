/* trace/snapshot.h - the state snapshot that starts every trace. */
#ifndef CDEBUG_TRACE_SNAPSHOT_H
#define CDEBUG_TRACE_SNAPSHOT_H

#include <stddef.h>
#include <stdint.h>

/* Builds an EVENTS payload (docs/trace-format.md) of STATE_THREAD,
 * STATE_WORKER and STATE_TASK events at timestamp ts, for the threads,
 * workers and live tasks of the pool now (read like scheddetail, without
 * stopping anything). *out is malloc'd (free it); *n 0 when out of memory.
 * Interns task names and wait reasons. Not async-signal-safe. */
void cd__trace_snapshot(uint64_t ts, uint8_t **out, size_t *n);

#endif /* CDEBUG_TRACE_SNAPSHOT_H */

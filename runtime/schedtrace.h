/* runtime/schedtrace.h - the SCHED lines (CDEBUG=schedtrace=N,scheddetail=1). */
#ifndef CDEBUG_RUNTIME_SCHEDTRACE_H
#define CDEBUG_RUNTIME_SCHEDTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* At most this many G lines per scheddetail report; the rest are counted
 * in one "(N more tasks not shown)" line, so a million queued tasks cannot
 * turn one report into a million lines. */
#define CD__SCHEDDETAIL_MAX_G 1000

/* Formats one report for the state of the pool now into a malloc'd,
 * NUL-terminated string (caller frees), elapsed_ms after start. Returns NULL
 * when out of memory. Reads the pool without stopping it (like Go, a snapshot
 * whose lines may disagree slightly). Takes the scheduler lock briefly for
 * the M list. Not async-signal-safe. Cost: O(workers + threads + shown G). */
char *cd__schedtrace_format(uint64_t elapsed_ms, bool detailed, size_t *len);

#endif /* CDEBUG_RUNTIME_SCHEDTRACE_H */

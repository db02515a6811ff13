/* viewer/cdebug-trace/export_go.h - a cdebug trace as Go 1.19's execution
 * trace (the format `go tool trace` of Go 1.19 reads), written while the
 * trace is read.
 *
 * Use: cdt_go_new with the open reader and a write callback, then
 * cdt_go_event for each event in the reader's order, cdt_go_finish once,
 * cdt_go_free. The writer holds no file: the caller decides where the
 * bytes go (a FILE for `cdebug-trace export --format=go`, a socket for a
 * streaming HTTP handler). docs/cdebug-trace-export.md ("--format=go") has
 * the mapping of cdebug's events to Go's and what cannot be mapped.
 *
 * Memory: the live goroutines (tasks created and not ended), the Ps
 * (workers) and threads met, the open user tasks, and the ids of the
 * strings and stacks already written (bounded by the reader's tables);
 * nothing grows with the number of events.
 *
 * Not thread-safe (one writer per export, on one thread); not
 * async-signal-safe (allocates).
 */
#ifndef CDEBUG_VIEWER_EXPORT_GO_H
#define CDEBUG_VIEWER_EXPORT_GO_H

#include <stddef.h>
#include <stdint.h>

#include <cdebug/trace_reader.h>

/* Receives the output: n bytes at buf. Returns 0, or a negative errno that
 * stops the export (cdt_go_event and cdt_go_finish then return it). */
typedef int (*cdt_go_write_fn)(void *ud, const void *buf, size_t n);

typedef struct cdt_go cdt_go;

/* A writer for the trace r is reading (r must outlive it: stacks,
 * symbols and strings are looked up in it). Nothing is written yet.
 * Returns NULL on out of memory. O(1). */
cdt_go *cdt_go_new(cd_trace_reader *r, cdt_go_write_fn write, void *ud);

/* Converts one event, ns its time since the trace start, never less than
 * the previous call's (cdt_model_feed's clock, which never goes back).
 * The first call writes Go's header. Returns 0, -ENOMEM, or the write
 * callback's error; after an error every call returns it again. O(1)
 * expected plus the bytes written (a stack the first time it is used). */
int cdt_go_event(cdt_go *g, const cd_tr_event *ev, int64_t ns);

/* Ends the output: Go's frequency event, then flushes the buffer. Call
 * once, after the last event (also after a truncated or corrupt input:
 * what was converted is a valid Go trace). Returns 0 or the sticky error. */
int cdt_go_finish(cdt_go *g);

/* Counters of what the conversion left out or repaired, for the report:
 * events cdebug has and Go's format has not (spinning, lost records,
 * reclaim phases) and events dropped or repaired so that Go's parser
 * accepts the output (a region end that does not match, a task id met
 * again, ...). */
typedef struct cdt_go_stats {
    uint64_t unmapped; /* events with no Go counterpart */
    uint64_t repaired; /* events made consistent (dropped, or a state forced) */
    uint64_t goroutines, procs;
} cdt_go_stats;
void cdt_go_get_stats(const cdt_go *g, cdt_go_stats *st);

/* Frees the writer (not the reader). NULL is fine. */
void cdt_go_free(cdt_go *g);

#endif /* CDEBUG_VIEWER_EXPORT_GO_H */

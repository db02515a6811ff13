/* reader/go_writer.h - a cdebug trace as Go 1.19's execution trace (the
 * format `go tool trace` of Go 1.19 reads), written while the trace is
 * read.
 *
 * Why here: it is a writer over the reader (it looks stacks, symbols and
 * strings up in an open cd_trace_reader), and two users need it: the
 * viewer's `cdebug-trace export --format=go` and the HTTP route
 * /debug/pprof/trace?format=go (http/trace_route.c). http/ may only call
 * down, so the writer lives in reader/, the layer both sit above. Internal
 * (cd__ prefix), not in include/cdebug/trace_reader.h: Go's format is an
 * output of cdebug's tools, not a promise of the library's API, and Go
 * 1.19's format is not the one newer Go versions write.
 *
 * Use: cd__go_new with the open reader and a write callback, then
 * cd__go_event for each event in the reader's order, cd__go_finish once,
 * cd__go_free. The writer holds no file: the caller decides where the
 * bytes go (a FILE for `cdebug-trace export --format=go`, the HTTP
 * route's response queue). docs/cdebug-trace-export.md ("--format=go") has
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
#ifndef CDEBUG_READER_GO_WRITER_H
#define CDEBUG_READER_GO_WRITER_H

#include <stddef.h>
#include <stdint.h>

#include <cdebug/trace_reader.h>

/* Receives the output: n bytes at buf. Returns 0, or a negative errno that
 * stops the export (cd__go_event and cd__go_finish then return it). */
typedef int (*cd__go_write_fn)(void *ud, const void *buf, size_t n);

typedef struct cd__go_writer cd__go_writer;

/* A writer for the trace r is reading (r must outlive it: stacks,
 * symbols and strings are looked up in it). Nothing is written yet.
 * Returns NULL on out of memory. O(1). */
cd__go_writer *cd__go_new(cd_trace_reader *r, cd__go_write_fn write, void *ud);

/* Converts one event, ns its time since the trace start, never less than
 * the previous call's (the caller clamps: an event the reader delivered
 * late happens at the previous time, as the viewer's cdt_model_feed
 * does). The first call writes Go's header. Returns 0, -ENOMEM, or the write
 * callback's error; after an error every call returns it again. O(1)
 * expected plus the bytes written (a stack the first time it is used). */
int cd__go_event(cd__go_writer *g, const cd_tr_event *ev, int64_t ns);

/* Ends the output: Go's frequency event, then flushes the buffer. Call
 * once, after the last event (also after a truncated or corrupt input:
 * what was converted is a valid Go trace). Returns 0 or the sticky error. */
int cd__go_finish(cd__go_writer *g);

/* Counters of what the conversion left out or repaired, for the report:
 * events cdebug has and Go's format has not (spinning, lost records,
 * reclaim phases) and events dropped or repaired so that Go's parser
 * accepts the output (a region end that does not match, a task id met
 * again, ...). */
typedef struct cd__go_stats {
    uint64_t unmapped; /* events with no Go counterpart */
    uint64_t repaired; /* events made consistent (dropped, or a state forced) */
    uint64_t goroutines, procs;
} cd__go_stats;
void cd__go_get_stats(const cd__go_writer *g, cd__go_stats *st);

/* Which of go tool trace's blocking profiles (-pprof=) a blocking call
 * lands in, by its reason (cd_block_begin's text): the class of the Go
 * event the writer gives it. cdebug-trace pprof uses it, so that its
 * profiles and go tool trace's of the export agree. Pure; O(length). */
typedef enum cd__go_wait {
    CD__GO_WAIT_NET = 0,     /* -pprof=net: GoBlockNet */
    CD__GO_WAIT_SYNC = 1,    /* -pprof=sync: GoBlockSync, Cond, Send, Recv, Select */
    CD__GO_WAIT_SYSCALL = 2, /* -pprof=syscall: GoSysCall (any reason not known) */
    CD__GO_WAIT_OTHER = 3,   /* in none: GoSleep, GoBlockGC */
} cd__go_wait;
cd__go_wait cd__go_wait_class(const char *reason, size_t len);

/* Frees the writer (not the reader). NULL is fine. */
void cd__go_free(cd__go_writer *g);

#endif /* CDEBUG_READER_GO_WRITER_H */

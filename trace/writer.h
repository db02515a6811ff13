/* trace/writer.h - the trace writer thread. */
#ifndef CDEBUG_TRACE_WRITER_H
#define CDEBUG_TRACE_WRITER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

/* Where records go: a file descriptor, an HTTP response, or (flight
 * recorder) memory. All callbacks run on the thread that runs the writer
 * (the writer thread, or cd_trace_start/stop's caller), one at a time. */
typedef struct cd__tsink {
    /* Writes the bytes of iov[0..n): the 40-byte header in the first call,
     * then whole records only (a record is never split across calls).
     * Returns 0 or a negative errno (the trace then stops). */
    int (*write)(struct cd__tsink *s, const struct iovec *iov, int n);
    /* Optional: called after each FRONTIER record. */
    void (*frontier)(struct cd__tsink *s, uint64_t ts);
    /* Optional (flight recorder): a new segment starts; the next record is
     * a state snapshot at ts. Called at start, then whenever segment_ticks
     * have passed since the last one or want_segment is set. */
    void (*segment)(struct cd__tsink *s, uint64_t ts);
    uint64_t segment_ticks;
    _Atomic bool want_segment;
    int fd;    /* fd sink */
    void *ctx; /* other sinks */
} cd__tsink;

/* A sink writing to a file descriptor (blocking writes, EINTR retried). */
int cd__tsink_fd_write(cd__tsink *s, const struct iovec *iov, int n);

/* Writes the header and a state snapshot, switches tracing on and starts
 * the writer thread. Returns 0, -EBUSY (a trace is running) or an errno. */
int cd__writer_start(cd__tsink *sink, uint32_t flags);

/* Switches tracing off, waits for in-flight events, writes everything left
 * and an END record, stops the writer; only when the running session
 * writes to s (each owner of a session -- cd_trace_start's caller, an HTTP
 * trace, the flight recorder -- stops its own), or whatever session runs
 * when s is NULL. Returns 0 or the first write error; -ENOENT when no such
 * session runs. */
int cd__writer_stop_sink(cd__tsink *s);

/* In a child of fork(), from the trace fork-child hook (trace/api.c): no session runs (the
 * writer thread does not exist there), the parent's session's memory
 * (recycled buffers, staging area, symbolizer) is forgotten, not freed,
 * and the next cd__writer_start starts afresh (membarrier registered
 * again). Plain stores only. */
void cd__writer_fork_child(void);

/* Asks the writer for a full sweep (and FRONTIER) now rather than at its
 * next period: the flight recorder's window then ends at the request.
 * Thread-safe; returns at once. */
void cd__trace_request_frontier(void);

/* The same framing into memory: out needs CD__TRACE_MAX_FRAMED(n) bytes;
 * returns the record's length. Any thread; pure. */
#define CD__TRACE_MAX_FRAMED(n) (11 + (n) + 4)
size_t cd__writer_frame(uint8_t *out, uint8_t kind, const uint8_t *payload, size_t n);

#endif /* CDEBUG_TRACE_WRITER_H */

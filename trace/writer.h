/* trace/writer.h - the trace writer thread. */
#ifndef CDEBUG_TRACE_WRITER_H
#define CDEBUG_TRACE_WRITER_H

#include <stddef.h>
#include <stdint.h>

/* Where records go: a file descriptor, or (flight recorder) memory. */
typedef struct cd__tsink {
    /* Writes n bytes; returns 0 or a negative errno (the trace then stops). */
    int (*write)(struct cd__tsink *s, const void *p, size_t n);
    /* Called after each FRONTIER record (flight recorder: a window edge). */
    void (*frontier)(struct cd__tsink *s, uint64_t ts);
    int fd;
} cd__tsink;

/* Writes the header and a state snapshot, switches tracing on and starts
 * the writer thread. Returns 0, -EBUSY (a trace is running) or an errno. */
int cd__writer_start(cd__tsink *sink, uint32_t flags);

/* Switches tracing off, waits for in-flight events, writes everything left
 * and an END record, stops the writer. Returns 0 or the first write error.
 * Idempotent (-ENOENT when nothing runs). */
int cd__writer_stop(void);

/* Encodes one record (kind, payload) with its framing and CRC into sink. */
int cd__writer_record(cd__tsink *sink, uint8_t kind, const uint8_t *payload, size_t n);

#endif /* CDEBUG_TRACE_WRITER_H */

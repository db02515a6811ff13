/* cdebug/trace_reader.h - streaming reader of cdebug execution traces.
 *
 * Reads the binary format of docs/trace-format.md (version 2) from a file,
 * a file descriptor (also a pipe or socket) or a memory buffer, and returns
 * the events of every thread merged into one stream in timestamp order.
 * Memory stays bounded whatever the file size: the reader holds only the
 * events between two FRONTIER records (plus the string, stack and symbol
 * tables the file defines). See docs/trace-reader.md for a walkthrough.
 *
 *     cd_trace_reader *r;
 *     int rc = cd_trace_reader_open(&r, "trace.out", NULL);
 *     if (rc < 0) { fprintf(stderr, "%s\n", cd_tr_strerror(rc)); ... }
 *     cd_tr_event ev;
 *     while ((rc = cd_trace_reader_next(r, &ev)) == 1)
 *         printf("%s\n", cd_tr_event_name(ev.type));
 *     if (rc == -ENODATA) ...  truncated file: everything complete was read
 *     else if (rc < 0) ...     cd_trace_reader_error(r) says what and where
 *     cd_trace_reader_close(r);
 *
 * Errors are negative errno values:
 *   -ENODATA          file (or header) truncated: reported once, after every
 *                     event of every complete record was delivered
 *   -EBADMSG          not a cdebug trace (bad magic) or an invalid header
 *   -EPROTONOSUPPORT  a trace version this reader does not know
 *   -EPROTO           corrupted: CRC mismatch, malformed record or event
 *   -EFBIG            the tables the file defines exceed max_table_bytes
 *   -ENOMEM, -EINVAL, and open(2)/read(2) errors (-ENOENT, -EACCES, -EIO...)
 *
 * Threads: a reader is a plain object used by one thread at a time; distinct
 * readers are independent. Opening and reading are not async-signal-safe
 * (they allocate); the few functions that are say so.
 */
#ifndef CDEBUG_TRACE_READER_H
#define CDEBUG_TRACE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cdebug/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Event types: the numbers of docs/trace-format.md, plus CD_TR_LOST, which
 * the reader synthesizes from LOST records (it never appears in a file). */
typedef enum cd_tr_type {
    CD_TR_THREAD_START = 1,
    CD_TR_THREAD_STOP = 2,
    CD_TR_WORKER_ACQUIRE = 3,
    CD_TR_WORKER_RELEASE = 4,
    CD_TR_SPIN_BEGIN = 5,
    CD_TR_SPIN_END = 6,
    CD_TR_TASK_CREATE = 7,
    CD_TR_TASK_START = 8,
    CD_TR_TASK_BLOCK = 9,
    CD_TR_TASK_UNBLOCK = 10,
    CD_TR_TASK_END = 11,
    CD_TR_GC_BEGIN = 12,
    CD_TR_GC_STW_BEGIN = 13,
    CD_TR_GC_STW_END = 14,
    CD_TR_GC_MARK_BEGIN = 15,
    CD_TR_GC_MARK_END = 16,
    CD_TR_GC_RESTART = 17,
    CD_TR_GC_RECLAIM_BEGIN = 18,
    CD_TR_GC_RECLAIM_END = 19,
    CD_TR_GC_END = 20,
    CD_TR_HEAP = 21,
    CD_TR_USER_TASK_BEGIN = 22,
    CD_TR_USER_TASK_END = 23,
    CD_TR_REGION_BEGIN = 24,
    CD_TR_REGION_END = 25,
    CD_TR_LOG = 26,
    CD_TR_CPU_SAMPLE = 27,
    CD_TR_STATE_THREAD = 28,
    CD_TR_STATE_WORKER = 29,
    CD_TR_STATE_TASK = 30,
    CD_TR_MAX_FILE_TYPE = 30, /* highest type a version-2 file contains */
    /* Synthesized from a LOST record: args events, batches (dropped by
     * `thread` since its previous LOST record). Its ts is the last FRONTIER
     * before the record (the trace start if none): the loss happened at or
     * after that time. */
    CD_TR_LOST = 64,
} cd_tr_type;

/* The format version this reader reads (docs/trace-format.md). */
#define CD_TR_VERSION 2

#define CD_TR_MAX_ARGS 6

/* What an argument is, for generic consumers (dump, export). */
typedef enum cd_tr_arg_kind {
    CD_TR_ARG_NONE = 0,   /* no such argument */
    CD_TR_ARG_INT = 1,    /* a number (id, count, bytes, flag...) */
    CD_TR_ARG_STRING = 2, /* a string id; resolved in cd_tr_event.str[] */
    CD_TR_ARG_STACK = 3,  /* a stack id; see cd_trace_reader_stack() */
} cd_tr_arg_kind;

/* One event. ts is absolute, in ticks of the header's tick_hz (see
 * cd_trace_reader_ns()). args[] are in the order of docs/trace-format.md;
 * for a CD_TR_ARG_STRING argument i, str[i]/str_len[i] give its text (id 0:
 * ""; an id the file never defined: "?" and counted in stats.bad_refs);
 * str[] is NULL for other arguments. The text is NUL-terminated (it may
 * also contain NULs: use str_len) and stays valid until the reader is
 * closed. */
typedef struct cd_tr_event {
    uint32_t type;   /* cd_tr_type */
    uint32_t nargs;  /* number of valid args[] */
    uint64_t ts;     /* ticks */
    uint64_t thread; /* the batch's thread (cdebug thread id, schedtrace's M) */
    uint64_t args[CD_TR_MAX_ARGS];
    const char *str[CD_TR_MAX_ARGS];
    size_t str_len[CD_TR_MAX_ARGS];
} cd_tr_event;

/* One event as cd_trace_reader_next_batch delivers it: the fields of
 * cd_tr_event without the resolved strings. A string argument stays an id
 * in args[i]; cd_trace_reader_string() gives its text when it is wanted.
 * args[] past nargs are 0. */
typedef struct cd_tr_ev {
    uint32_t type;   /* cd_tr_type */
    uint32_t nargs;  /* number of valid args[] */
    uint64_t ts;     /* ticks */
    uint64_t thread; /* the batch's thread */
    uint64_t args[CD_TR_MAX_ARGS];
} cd_tr_ev;

/* The file header (docs/trace-format.md, "Header"). */
typedef struct cd_tr_header {
    uint16_t version;
    uint16_t header_size;
    uint32_t flags; /* CD_TR_FLAG_FLIGHT */
    uint64_t tick_hz;
    uint64_t start_ticks;
    uint64_t start_wall_ns;
} cd_tr_header;

#define CD_TR_FLAG_FLIGHT 1u /* the trace is a flight-recorder window */

/* Reader options. A zeroed struct (or NULL) means the defaults. */
typedef struct cd_tr_opts {
    /* Events held between frontiers, in bytes of encoded batches (default
     * 64 MiB, roughly 15-20 million events). Beyond it the oldest held
     * events are delivered before their frontier (stats.forced); the
     * stream may then go back in time (stats.out_of_order). */
    size_t max_held_bytes;
    /* String, stack and symbol tables, in bytes (default 256 MiB). A file
     * that defines more is refused with -EFBIG. */
    size_t max_table_bytes;
    unsigned flags; /* CD_TR_SKIP_CORRUPT */
} cd_tr_opts;

/* Skip a record whose CRC or payload is bad (counted in stats.corrupt)
 * instead of failing with -EPROTO. Framing errors (a bad record length)
 * stay fatal: nothing after them can be located. */
#define CD_TR_SKIP_CORRUPT 1u

typedef struct cd_tr_stats {
    uint64_t events;      /* events delivered (CD_TR_LOST included) */
    uint64_t records;     /* complete records read (END included) */
    uint64_t bytes;       /* bytes consumed: header + complete records */
    uint64_t frontiers;   /* FRONTIER records */
    uint64_t lost_events; /* sums of the LOST records */
    uint64_t lost_batches;
    uint64_t lost_records;             /* LOST records (= CD_TR_LOST events) */
    uint64_t skipped;                  /* records of unknown kind, skipped */
    uint64_t corrupt;                  /* bad records skipped (CD_TR_SKIP_CORRUPT) */
    uint64_t bad_refs;                 /* string/stack ids used but never defined */
    uint64_t forced;                   /* events delivered before their frontier (cap) */
    uint64_t out_of_order;             /* events delivered with ts < a previous one's */
    uint64_t strings, stacks, symbols; /* table entries defined */
    size_t table_bytes;                /* memory of the tables */
    size_t held_bytes;                 /* memory of the held events now */
    size_t peak_held_bytes;            /* and at most so far */
    bool truncated;                    /* the file ended without an END record */
    bool ended;                        /* an END record was read (a clean end) */
} cd_tr_stats;

typedef struct cd_trace_reader cd_trace_reader;

/* Opens the trace file at `path` and reads its header. On success stores a
 * new reader in *r and returns 0; on failure sets *r to NULL and returns a
 * negative errno: open(2)'s errors, -ENODATA for an empty file or a header
 * cut short, -EBADMSG, -EPROTONOSUPPORT, -ENOMEM, -EINVAL (NULL argument).
 * `opts` may be NULL. Not thread-safe with respect to *r; not
 * async-signal-safe. Cost: open(2), one read(2), a 256 KiB buffer. */
CD_EXTERN int cd_trace_reader_open(cd_trace_reader **r, const char *path, const cd_tr_opts *opts);

/* Like cd_trace_reader_open on an open descriptor positioned at the header.
 * The fd may be a pipe or socket (the reader only read(2)s it, sequentially)
 * and stays owned by the caller: close it after cd_trace_reader_close. Same
 * errors, thread-safety, signal-safety and cost (minus the open(2)). */
CD_EXTERN int cd_trace_reader_open_fd(cd_trace_reader **r, int fd, const cd_tr_opts *opts);

/* Like cd_trace_reader_open on `len` bytes in memory, which must stay valid
 * and unchanged until cd_trace_reader_close (they are not copied). Used by
 * the fuzz target and by servers that already hold a trace. Same errors
 * (minus I/O ones), thread-safety and signal-safety; cost: no I/O, no copy
 * of the input. */
CD_EXTERN int cd_trace_reader_open_mem(cd_trace_reader **r, const void *data, size_t len,
                                       const cd_tr_opts *opts);

/* Frees the reader and everything it returned (event strings, stacks,
 * symbols). NULL is a no-op. Does not close a caller's fd. Not
 * thread-safe with respect to r (no other call on r may run or follow);
 * not async-signal-safe. Cost: proportional to the held events and
 * tables. */
CD_EXTERN void cd_trace_reader_close(cd_trace_reader *r);

/* Stores the next event in time order in *ev and returns 1; returns 0 at the
 * clean end (END record), or a negative errno. -ENODATA (truncated) is
 * returned once, after every event of every complete record; later calls
 * return 0. Other errors come after the events held before the bad spot were
 * delivered, and are sticky (every later call returns the same error);
 * cd_trace_reader_error() describes them. Not thread-safe (one caller per
 * reader); not async-signal-safe. Cost: amortized O(log T) for T threads
 * with held events, plus reading and checking (CRC) the input once; may
 * allocate up to max_held_bytes (+ the tables). */
CD_EXTERN int cd_trace_reader_next(cd_trace_reader *r, cd_tr_event *ev);

/* The stream of cd_trace_reader_next, many events a call: stores up to
 * `max` next events in time order in evs[] and returns how many (at least
 * 1); 0 at the clean end; a negative errno as cd_trace_reader_next
 * (-ENODATA once, after every event; other errors sticky, after the
 * events before the bad spot), -EINVAL for a NULL argument or max 0.
 * Strings are not looked up: an id the file never defined is not counted
 * in stats.bad_refs (cd_trace_reader_string() returns NULL for it). Calls
 * may be mixed with cd_trace_reader_next on the same reader: one stream.
 * Same thread rules as cd_trace_reader_next; not async-signal-safe. Cost:
 * what cd_trace_reader_next costs minus its per-event work (the call, the
 * 168-byte event, the string lookups): the form for tools that read whole
 * traces (docs/trace-reader.md, "Cost"). max beyond INT_MAX counts as
 * INT_MAX. */
CD_EXTERN int cd_trace_reader_next_batch(cd_trace_reader *r, cd_tr_ev *evs, size_t max);

/* The header read by open. Never NULL; valid until close. Thread-safe
 * (read-only); async-signal-safe; O(1). */
CD_EXTERN const cd_tr_header *cd_trace_reader_header(const cd_trace_reader *r);

/* Copies the counters into *s. Valid at any time (counts so far). Same
 * thread rules as cd_trace_reader_next; async-signal-safe; O(1). */
CD_EXTERN void cd_trace_reader_stats(const cd_trace_reader *r, cd_tr_stats *s);

/* A one-line description of the last error returned by
 * cd_trace_reader_next (with the record number and file offset), or "" if
 * none; never NULL. Valid until the next call on the reader. Same thread
 * rules as cd_trace_reader_next; async-signal-safe; O(1). */
CD_EXTERN const char *cd_trace_reader_error(const cd_trace_reader *r);

/* Text of string id `id` defined so far (id 0 is ""), and its length in
 * *len when len is not NULL; NULL with errno ENOENT if the file has not
 * defined it. Valid until close. Same thread rules as cd_trace_reader_next;
 * not async-signal-safe; O(1) expected (hash). */
CD_EXTERN const char *cd_trace_reader_string(const cd_trace_reader *r, uint64_t id, size_t *len);

/* Frames of stack id `id` (innermost first) in *pcs and *n; returns 0, or
 * -ENOENT if the file has not defined it (stack 0 is the empty stack: 0
 * frames). *pcs is valid until close. Same thread rules; not
 * async-signal-safe; O(1) expected. */
CD_EXTERN int cd_trace_reader_stack(const cd_trace_reader *r, uint64_t id, const uint64_t **pcs,
                                    size_t *n);

/* Symbol of a pc seen in a stack: function, file (each "?" when the file
 * did not define its string) and line; any output pointer may be NULL.
 * Returns 0, or -ENOENT when the file has no SYMBOLS entry for pc. Strings
 * valid until close. Same thread rules; not async-signal-safe; O(1)
 * expected. */
CD_EXTERN int cd_trace_reader_symbol(const cd_trace_reader *r, uint64_t pc, const char **func,
                                     const char **file, uint64_t *line);

/* Nanoseconds from the trace start (header start_ticks) to tick `ts`;
 * negative for a ts before the start. Exact (128-bit arithmetic), saturated
 * to the int64 range. Thread-safe; async-signal-safe; O(1). */
CD_EXTERN int64_t cd_trace_reader_ns(const cd_trace_reader *r, uint64_t ts);

/* Name of an event type ("TASK_CREATE"), or NULL with errno EINVAL for a
 * number that is not a type. Thread-safe; async-signal-safe; O(1). */
CD_EXTERN const char *cd_tr_event_name(unsigned type);

/* Number of arguments of an event type (0-6), or -EINVAL if not a type.
 * Same contract as cd_tr_event_name. */
CD_EXTERN int cd_tr_event_nargs(unsigned type);

/* Name ("task", "name") and kind of argument i of an event type; NULL
 * (errno EINVAL) and CD_TR_ARG_NONE when there is no such argument. Same
 * contract. */
CD_EXTERN const char *cd_tr_event_arg_name(unsigned type, unsigned i);
CD_EXTERN cd_tr_arg_kind cd_tr_event_arg_kind(unsigned type, unsigned i);

/* Static English text for an error of this header (-ENODATA "truncated
 * trace", -EPROTO "corrupted trace"...); falls back to cd_strerror().
 * Thread-safe; async-signal-safe; O(1); never NULL. */
CD_EXTERN const char *cd_tr_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* CDEBUG_TRACE_READER_H */

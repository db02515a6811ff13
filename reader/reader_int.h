/* reader/reader_int.h - internals of the trace reader, shared by its files:
 *
 *   reader_io.c      buffered input (fd or memory), record framing, CRC
 *   reader_tables.c  arena, id maps, string/stack/symbol tables
 *   reader_events.c  event metadata and the event/batch decoder
 *   reader_merge.c   per-thread queues of held batches, k-way merge (heap)
 *   reader.c         the public API: header, record dispatch, next()
 *
 * Nothing read from the file is trusted: every count and length is checked
 * against the bytes actually present before anything is allocated for it.
 */
#ifndef CDEBUG_READER_READER_INT_H
#define CDEBUG_READER_READER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cdebug/trace_reader.h"

/* Format limits (docs/trace-format.md); the magic, the header's size, the
 * newest version and the record kinds are base/trace_events.h's. */
#define CD__TR_MAX_RECORD  (64u << 20) /* largest legal record payload */
#define CD__TR_MAX_UV      10          /* bytes of the longest varint */
#define CD__TR_VERSION_MIN 2           /* version 2's TASK_BLOCK has no stack */

#define CD__TR_DEFAULT_HELD   ((size_t)64 << 20)
#define CD__TR_DEFAULT_TABLES ((size_t)256 << 20)

/* ---- varints ------------------------------------------------------------ */

enum { CD__UV_OK = 0, CD__UV_SHORT = -1, CD__UV_BAD = -2 };

/* Decodes an unsigned LEB128 varint from [*pp, end) into *v and advances
 * *pp. CD__UV_SHORT: the input ends inside it; CD__UV_BAD: longer than 10
 * bytes or above 2^64 - 1. On error *pp is unchanged. */
static inline int cd__tr_uv(const uint8_t **pp, const uint8_t *end, uint64_t *v)
{
    const uint8_t *p = *pp;
    if (p < end && *p < 0x80) { /* fast path: most values fit in 7 bits */
        *v = *p;
        *pp = p + 1;
        return CD__UV_OK;
    }
    uint64_t x = 0;
    for (unsigned shift = 0; shift < 7 * CD__TR_MAX_UV; shift += 7) {
        if (p >= end)
            return CD__UV_SHORT;
        uint8_t b = *p++;
        if (shift == 63 && b > 1) /* 10th byte: one payload bit, no more */
            return CD__UV_BAD;
        x |= (uint64_t)(b & 0x7f) << shift;
        if (b < 0x80) {
            *v = x;
            *pp = p;
            return CD__UV_OK;
        }
    }
    return CD__UV_BAD;
}

/* ---- input: reader_io.c ------------------------------------------------- */

typedef struct cd__tr_io {
    int fd;              /* -1: memory input */
    bool own_fd;         /* opened by cd_trace_reader_open */
    bool eof;            /* no more bytes will come */
    uint8_t *buf;        /* fd input: owned buffer */
    const uint8_t *data; /* buf, or the caller's memory */
    size_t cap;          /* bytes allocated at buf */
    size_t pos, end;     /* unread bytes: data[pos, end) */
    uint64_t offset;     /* file offset of data[pos] */
} cd__tr_io;

/* A framed record; payload points into the io buffer and stays valid until
 * the next cd__tr_io_* call. */
typedef struct cd__tr_record {
    uint8_t kind;
    const uint8_t *payload;
    size_t len;
    uint64_t offset; /* file offset of the kind byte */
    uint64_t size;   /* bytes of the whole record (kind .. crc) */
} cd__tr_record;

/* Results of cd__tr_io_record besides negative errnos. */
enum { CD__IO_EOF = 0, CD__IO_RECORD = 1, CD__IO_BADCRC = 2 };

void cd__tr_io_init_mem(cd__tr_io *io, const void *data, size_t len);
int cd__tr_io_init_fd(cd__tr_io *io, int fd, bool own_fd);
void cd__tr_io_free(cd__tr_io *io);

/* Makes n bytes available at data + pos. Returns 1, 0 when the input ends
 * first (then end - pos bytes are available), or a negative errno. */
int cd__tr_io_need(cd__tr_io *io, size_t n);

/* Skips n bytes made available by cd__tr_io_need. */
void cd__tr_io_consume(cd__tr_io *io, size_t n);

/* Reads the next record. Returns CD__IO_RECORD; CD__IO_BADCRC (framed, but
 * its CRC does not match: *rec is valid and consumed); CD__IO_EOF at a clean
 * record boundary; -ENODATA when the input ends inside the record (nothing
 * consumed); -EPROTO for a malformed length (nothing consumed); another
 * negative errno on a read error. err receives a description. */
int cd__tr_io_record(cd__tr_io *io, cd__tr_record *rec, char *err, size_t errlen);

/* ---- tables: reader_tables.c -------------------------------------------- */

/* Open-addressing hash map from u64 keys to non-NULL pointers (linear
 * probing, backward-shift deletion, load <= 1/2). */
typedef struct cd__tr_map {
    uint64_t *keys;
    void **vals; /* NULL: empty slot */
    size_t mask; /* capacity - 1 (capacity 0: nothing allocated) */
    size_t n;
} cd__tr_map;

void *cd__tr_map_get(const cd__tr_map *m, uint64_t key);
/* Inserts or replaces; returns 0 or -ENOMEM. *grew_bytes (if not NULL)
 * receives the bytes newly allocated by a resize. */
int cd__tr_map_put(cd__tr_map *m, uint64_t key, void *val, size_t *grew_bytes);
void *cd__tr_map_del(cd__tr_map *m, uint64_t key);
size_t cd__tr_map_bytes(const cd__tr_map *m);
void cd__tr_map_free(cd__tr_map *m);

typedef struct cd__tr_chunk cd__tr_chunk;

/* Bump allocator for table entries: freed all at once by close, so pointers
 * handed to the caller stay valid for the reader's life. */
typedef struct cd__tr_arena {
    cd__tr_chunk *head;
    size_t used, cap; /* in the head chunk */
    size_t bytes;     /* allocated in total */
} cd__tr_arena;

typedef struct cd__tr_string {
    size_t len;
    char text[]; /* len bytes + NUL */
} cd__tr_string;

typedef struct cd__tr_stack {
    size_t n;
    uint64_t pcs[];
} cd__tr_stack;

typedef struct cd__tr_symbol {
    uint64_t func, file, line; /* string ids, line */
} cd__tr_symbol;

typedef struct cd__tr_tables {
    cd__tr_arena arena;
    cd__tr_map strings, stacks, symbols;
    size_t bytes, max_bytes;
    uint64_t nstrings, nstacks, nsymbols; /* definitions read */
} cd__tr_tables;

void cd__tr_tables_init(cd__tr_tables *t, size_t max_bytes);
void cd__tr_tables_free(cd__tr_tables *t);

/* Parse one STRINGS / STACKS / SYMBOLS payload and add its entries (a
 * redefinition replaces the entry; id 0 may not be defined). The payload is
 * checked completely before anything is added, so a bad record adds
 * nothing. Return 0, -EPROTO (malformed), -EFBIG (over max_bytes) or
 * -ENOMEM, with a description in err. */
int cd__tr_tables_strings(cd__tr_tables *t, const uint8_t *p, size_t len, char *err, size_t errlen);
int cd__tr_tables_stacks(cd__tr_tables *t, const uint8_t *p, size_t len, char *err, size_t errlen);
int cd__tr_tables_symbols(cd__tr_tables *t, const uint8_t *p, size_t len, char *err, size_t errlen);

const cd__tr_string *cd__tr_string_get(const cd__tr_tables *t, uint64_t id);
const cd__tr_stack *cd__tr_stack_get(const cd__tr_tables *t, uint64_t id);
const cd__tr_symbol *cd__tr_symbol_get(const cd__tr_tables *t, uint64_t pc);

/* ---- events: reader_events.c -------------------------------------------- */

typedef struct cd__tr_arginfo {
    const char *name;
    cd_tr_arg_kind kind;
} cd__tr_arginfo;

typedef struct cd__tr_evinfo {
    const char *name;
    uint8_t nargs;
    uint8_t nstr; /* arguments that are strings or stacks (need resolving) */
    cd__tr_arginfo args[CD_TR_MAX_ARGS];
} cd__tr_evinfo;

/* Metadata of an event type (CD_TR_LOST included), NULL if not a type. */
const cd__tr_evinfo *cd__tr_info(unsigned type);

/* A decoded event before string resolution: the public cd_tr_ev, so that
 * cd_trace_reader_next_batch hands out the merge's events as they are.
 * args[] past nargs are 0. */
typedef cd_tr_ev cd__tr_raw;

/* How to decode one event type of a file's version: built once per reader
 * by cd__tr_dec_init so that the per-event loops below are table lookups,
 * not the mask tests of base/trace_events.h. */
typedef struct cd__tr_dectype {
    uint8_t valid;                /* a type of the format */
    uint8_t n;                    /* arguments of the current version */
    uint8_t wire;                 /* arguments on the wire (version 2's TASK_BLOCK: 2) */
    int8_t same;                  /* chain of argument 0 when the same-id bit may be set, else -1 */
    int8_t chain[CD_TR_MAX_ARGS]; /* delta chain of each argument, -1: as is */
    uint8_t nstr;                 /* arguments that are strings or stacks */
    uint8_t kind[CD_TR_MAX_ARGS]; /* cd_tr_arg_kind of each argument */
} cd__tr_dectype;

typedef struct cd__tr_dec {
    cd__tr_dectype t[128]; /* by type byte without the same-id bit (CD_TR_LOST: not
                              valid, no strings) */
} cd__tr_dec;

/* Fills d for a file of `version`. O(types). */
void cd__tr_dec_init(cd__tr_dec *d, unsigned version);

/* Decodes up to `max` events of a batch that cd__tr_check_batch accepted,
 * starting at *pp (before `end`) with the previous timestamp *ts and chain
 * ids ids[0..2]; advances them and stores the events (thread set to
 * `thread`, args[] past nargs zeroed) in out. Returns the number decoded;
 * fewer than max only at the end of the batch, or if the bytes turn out
 * bad after all (a bug: then *pp is set to end, the rest dropped). */
size_t cd__tr_decode_events(const cd__tr_dec *d, const uint8_t **pp, const uint8_t *end,
                            uint64_t *ts, uint64_t ids[3], uint64_t thread, cd__tr_raw *out,
                            size_t max);

/* Checks a whole batch of events (the part of an EVENTS payload after
 * thread, base_ts, base_task, base_parent and base_user): known types, the
 * same-id bit only where allowed, well-formed varints, no timestamp beyond
 * 2^64 - 1. Counts its events in *n. Returns 0 or -EPROTO with the index
 * of the bad event in *n, its byte offset in the events in *bad_at and a
 * reason in *why. */
int cd__tr_check_batch(const cd__tr_dec *d, const uint8_t *p, size_t len, uint64_t base_ts,
                       uint64_t *n, size_t *bad_at, const char **why);

/* ---- merge: reader_merge.c ---------------------------------------------- */

typedef struct cd__tr_src cd__tr_src;

/* A heap entry: a source and its head's key, kept here so that the sift
 * compares without touching the sources. */
typedef struct cd__tr_heapent {
    uint64_t ts, thread;
    int kind;
    cd__tr_src *s;
} cd__tr_heapent;

typedef struct cd__tr_merge {
    cd__tr_map threads;   /* thread id -> source with held events */
    cd__tr_heapent *heap; /* sources with a head event, least first */
    size_t nheap, heap_cap;
    cd__tr_src *lost; /* synthetic CD_TR_LOST events (one FIFO) */
    size_t held;      /* bytes of held batches, sources and the heap */
    size_t peak;
    cd__tr_dec dec; /* the file's version's decoder (set with the header) */
} cd__tr_merge;

void cd__tr_merge_init(cd__tr_merge *m);
void cd__tr_merge_free(cd__tr_merge *m);

/* Queues a checked batch (events bytes are copied). Returns 0 or -ENOMEM. */
int cd__tr_merge_add_batch(cd__tr_merge *m, uint64_t thread, uint64_t base_ts,
                           const uint64_t base_ids[3], const uint8_t *ev, size_t len);
/* Queues a CD_TR_LOST event. Returns 0 or -ENOMEM. */
int cd__tr_merge_add_lost(cd__tr_merge *m, uint64_t ts, uint64_t thread, uint64_t events,
                          uint64_t batches);

/* The least held event, NULL when nothing is held. Valid until the next
 * cd__tr_merge_* call. O(1). */
const cd__tr_raw *cd__tr_merge_top(const cd__tr_merge *m);
/* Removes the least held event. Only after top returned non-NULL. */
void cd__tr_merge_drop(cd__tr_merge *m);
/* Moves the least held events with ts < below to out[], in order, up to
 * max of them; returns how many (0 when the least is not below, or nothing
 * is held). Equivalent to top, copy and drop in a loop, without a call per
 * event. */
size_t cd__tr_merge_take(cd__tr_merge *m, uint64_t below, cd__tr_raw *out, size_t max);

#endif /* CDEBUG_READER_READER_INT_H */

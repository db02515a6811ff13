/* tests/unit/trace_test_writer.h - a small, independent encoder of the trace
 * format (docs/trace-format.md) for tests, the fuzz corpus and benchmarks.
 * Test-only: it is not part of libcdebug, and it can also write what the
 * recorder never would (bad CRCs, hostile lengths, unknown kinds).
 *
 *     tw w; tw_init(&w);
 *     tw_header(&w, 1000000000, 0, 0, 0);
 *     tw_string(&w, 1, "main");
 *     tw_batch_begin(&w, 1, 100);
 *     tw_ev(&w, 8, 120, 1, 7);   type 8 (TASK_START) at ts 120, 1 arg: task 7
 *     tw_batch_end(&w);
 *     tw_end(&w);
 *     ... w.out.p, w.out.len ...; tw_free(&w);
 *
 * Every function aborts on out-of-memory: a test helper has no other use
 * for the error. Header-only: every function is static.
 */
#ifndef CDEBUG_TESTS_TRACE_TEST_WRITER_H
#define CDEBUG_TESTS_TRACE_TEST_WRITER_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

typedef struct tw_buf {
    uint8_t *p;
    size_t len, cap;
} tw_buf;

/* Where each record ends in the output and how many events it holds, so
 * tests know what a prefix of the file must yield. */
typedef struct tw_rec {
    size_t end;
    size_t nevents;
    uint8_t kind;
} tw_rec;

typedef struct tw {
    tw_buf out;   /* the file */
    tw_buf batch; /* events of the batch being built */
    uint64_t batch_thread, batch_base, batch_last;
    uint64_t batch_task_base, batch_ids[3]; /* task base; last task, parent, user */
    size_t batch_events;
    tw_rec *recs;
    size_t nrecs, recs_cap;
    size_t events; /* events written in EVENTS records */
} tw;

static inline void tw__reserve(tw_buf *b, size_t n)
{
    if (b->len + n <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n)
        cap *= 2;
    uint8_t *p = realloc(b->p, cap);
    if (p == NULL)
        abort();
    b->p = p;
    b->cap = cap;
}

static inline void tw_bytes(tw_buf *b, const void *p, size_t n)
{
    tw__reserve(b, n);
    if (n > 0)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

static inline void tw_u8(tw_buf *b, uint8_t v)
{
    tw_bytes(b, &v, 1);
}

static inline void tw_le(tw_buf *b, uint64_t v, int n)
{
    for (int i = 0; i < n; i++)
        tw_u8(b, (uint8_t)(v >> (8 * i)));
}

static inline void tw_uv(tw_buf *b, uint64_t v)
{
    while (v >= 0x80) {
        tw_u8(b, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    tw_u8(b, (uint8_t)v);
}

static inline void tw_str(tw_buf *b, const char *s)
{
    size_t n = strlen(s);
    tw_uv(b, n);
    tw_bytes(b, s, n);
}

static inline void tw_init(tw *w)
{
    memset(w, 0, sizeof(*w));
}

static inline void tw_free(tw *w)
{
    free(w->out.p);
    free(w->batch.p);
    free(w->recs);
    memset(w, 0, sizeof(*w));
}

/* A header with every field chosen by the caller (bad magic, versions...). */
static inline void tw_header_ex(tw *w, const char magic[8], uint16_t version, uint16_t header_size,
                                uint32_t flags, uint64_t tick_hz, uint64_t start_ticks,
                                uint64_t start_wall_ns)
{
    tw_bytes(&w->out, magic, 8);
    tw_le(&w->out, version, 2);
    tw_le(&w->out, header_size, 2);
    tw_le(&w->out, flags, 4);
    tw_le(&w->out, tick_hz, 8);
    tw_le(&w->out, start_ticks, 8);
    tw_le(&w->out, start_wall_ns, 8);
    for (size_t i = 40; i < header_size; i++)
        tw_u8(&w->out, 0xee); /* unknown trailing header bytes */
}

/* A version 2 header: TASK_BLOCK without its stack (version 3 added it),
 * which the reader still reads; tw_header_ex writes a version 3 one. */
static inline void tw_header(tw *w, uint64_t tick_hz, uint64_t start_ticks, uint64_t start_wall_ns,
                             uint32_t flags)
{
    tw_header_ex(w, "CDTRACE\0", 2, 40, flags, tick_hz, start_ticks, start_wall_ns);
}

static inline void tw__note(tw *w, uint8_t kind, size_t nevents)
{
    if (w->nrecs == w->recs_cap) {
        w->recs_cap = w->recs_cap ? w->recs_cap * 2 : 64;
        w->recs = realloc(w->recs, w->recs_cap * sizeof(*w->recs));
        if (w->recs == NULL)
            abort();
    }
    w->recs[w->nrecs].end = w->out.len;
    w->recs[w->nrecs].nevents = nevents;
    w->recs[w->nrecs].kind = kind;
    w->nrecs++;
}

/* A record as the format frames it; crc_xor != 0 corrupts its CRC. */
static inline void tw_record_ex(tw *w, uint8_t kind, const void *payload, size_t len,
                                uint32_t crc_xor, size_t nevents)
{
    tw_u8(&w->out, kind);
    tw_uv(&w->out, len);
    tw_bytes(&w->out, payload, len);
    uLong crc = crc32(0L, Z_NULL, 0);
    if (len > 0)
        crc = crc32(crc, payload, (uInt)len);
    tw_le(&w->out, (uint32_t)crc ^ crc_xor, 4);
    tw__note(w, kind, nevents);
}

static inline void tw_record(tw *w, uint8_t kind, const void *payload, size_t len)
{
    tw_record_ex(w, kind, payload, len, 0, 0);
}

static inline void tw_string(tw *w, uint64_t id, const char *text)
{
    tw_buf b = {0};
    tw_uv(&b, id);
    tw_str(&b, text);
    tw_record(w, 2, b.p, b.len);
    free(b.p);
}

static inline void tw_stack(tw *w, uint64_t id, size_t n, const uint64_t *pcs)
{
    tw_buf b = {0};
    tw_uv(&b, id);
    tw_uv(&b, n);
    for (size_t i = 0; i < n; i++)
        tw_uv(&b, pcs[i]);
    tw_record(w, 3, b.p, b.len);
    free(b.p);
}

static inline void tw_symbol(tw *w, uint64_t pc, uint64_t func_str, uint64_t file_str,
                             uint64_t line)
{
    tw_buf b = {0};
    tw_uv(&b, pc);
    tw_uv(&b, func_str);
    tw_uv(&b, file_str);
    tw_uv(&b, line);
    tw_record(w, 4, b.p, b.len);
    free(b.p);
}

static inline void tw_frontier(tw *w, uint64_t ts)
{
    tw_buf b = {0};
    tw_uv(&b, ts);
    tw_record(w, 5, b.p, b.len);
    free(b.p);
}

static inline void tw_lost(tw *w, uint64_t thread, uint64_t events, uint64_t batches)
{
    tw_buf b = {0};
    tw_uv(&b, thread);
    tw_uv(&b, events);
    tw_uv(&b, batches);
    tw_record(w, 6, b.p, b.len);
    free(b.p);
}

static inline void tw_end(tw *w)
{
    tw_record(w, 7, NULL, 0);
}

/* Same as tw_batch_begin with the batch's base for task-id deltas. */
static inline void tw_batch_begin_task(tw *w, uint64_t thread, uint64_t base_ts, uint64_t base_task)
{
    w->batch.len = 0;
    w->batch_thread = thread;
    w->batch_base = base_ts;
    w->batch_last = base_ts;
    w->batch_task_base = w->batch_ids[0] = base_task;
    w->batch_ids[1] = w->batch_ids[2] = 0;
    w->batch_events = 0;
}

static inline void tw_batch_begin(tw *w, uint64_t thread, uint64_t base_ts)
{
    tw_batch_begin_task(w, thread, base_ts, 0);
}

/* Which kind of id argument i of an event is: 0 a task id, 1 a parent
 * task id, 2 the user task of a region or log, -1 neither. Ids are written as zigzag deltas from
 * the batch's previous id of the same kind (docs/trace-format.md, version 2). Written out here from
 * the document, not taken from base/trace_events.h: this encoder is the reader's independent check. */
static inline int tw__id_kind(uint8_t type, int i)
{
    switch (type) {
    case 7: /* TASK_CREATE: task, parent, name, stack */
        return i == 0 ? 0 : i == 1 ? 1 : -1;
    case 30: /* STATE_TASK: task, state, parent, ... */
        return i == 0 ? 0 : i == 2 ? 1 : -1;
    case 8:
    case 9:
    case 10:
    case 11: /* TASK_START/BLOCK/UNBLOCK/END */
        return i == 0 ? 0 : -1;
    case 27: /* CPU_SAMPLE: stack, task */
        return i == 1 ? 0 : -1;
    case 24:
    case 25:
    case 26: /* REGION_BEGIN/END, LOG: user_task, ... */
        return i == 0 ? 2 : -1;
    default:
        return -1;
    }
}

/* One argument of an event being written. */
static inline void tw__arg(tw *w, uint8_t type, int i, uint64_t v)
{
    int k = tw__id_kind(type, i);
    if (k >= 0) {
        uint64_t d = v - w->batch_ids[k];
        w->batch_ids[k] = v;
        v = (d << 1) ^ (d >> 63 ? ~(uint64_t)0 : 0);
    }
    tw_uv(&w->batch, v);
}

/* One event at absolute time ts (>= the previous one's) with n arguments
 * given as uint64_t varargs. */
static inline void tw_eva(tw *w, uint8_t type, uint64_t ts, int n, const uint64_t *args)
{
    /* Argument 0 a task id equal to the batch's previous one: left out,
     * flagged by bit 7 of the type byte (docs/trace-format.md). */
    int i = 0, k0 = n > 0 ? tw__id_kind(type, 0) : -1;
    if ((k0 == 0 || k0 == 2) && args[0] == w->batch_ids[k0]) {
        tw_u8(&w->batch, (uint8_t)(type | 0x80));
        i = 1;
    } else {
        tw_u8(&w->batch, type);
    }
    tw_uv(&w->batch, ts - w->batch_last);
    w->batch_last = ts;
    for (; i < n; i++)
        tw__arg(w, type, i, args[i]);
    w->batch_events++;
}

/* One event at absolute time ts (>= the previous one's) with n arguments
 * given as uint64_t varargs. */
static inline void tw_ev(tw *w, uint8_t type, uint64_t ts, int n, ...)
{
    uint64_t args[16];
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n && i < 16; i++)
        args[i] = va_arg(ap, uint64_t);
    va_end(ap);
    tw_eva(w, type, ts, n, args);
}

/* Ends the batch as an EVENTS record; crc_xor != 0 corrupts its CRC. */
static inline void tw_batch_end_ex(tw *w, uint32_t crc_xor)
{
    tw_buf b = {0};
    tw_uv(&b, w->batch_thread);
    tw_uv(&b, w->batch_base);
    tw_uv(&b, w->batch_task_base);
    tw_uv(&b, 0); /* base_parent */
    tw_uv(&b, 0); /* base_user */
    tw_bytes(&b, w->batch.p, w->batch.len);
    tw_record_ex(w, 1, b.p, b.len, crc_xor, w->batch_events);
    w->events += w->batch_events;
    free(b.p);
}

static inline void tw_batch_end(tw *w)
{
    tw_batch_end_ex(w, 0);
}

/* A tiny deterministic PRNG (xorshift64*) over *state (not 0), so that a
 * generated trace or a failure reproduces. */
static inline uint64_t tw_rand(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 2685821657736338717ull;
}

/* Writes the output to a file; returns 0 or -1. */
static inline int tw_save(const tw *w, const char *path)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL)
        return -1;
    size_t n = fwrite(w->out.p, 1, w->out.len, f);
    int rc = fclose(f);
    return n == w->out.len && rc == 0 ? 0 : -1;
}

#endif /* CDEBUG_TESTS_TRACE_TEST_WRITER_H */

/* base/buf.h - the growable byte buffer of cdebug, with the number,
 * string and varint writers its users share: the /debug/vars and /metrics
 * renderers, the profile.proto encoder (prof/pprof.c), the trace writer's
 * records and the trace snapshot, schedtrace's reports, request bodies.
 *
 * /debug/vars must be several times faster than Go's expvar handler, and
 * most of a document is ~600 small integers (memstats), so the renderers
 * write straight into one malloc'd buffer instead of building jansson trees
 * or calling printf per number. A buffer that fails to grow stays failed:
 * every later write is a no-op and cd__buf_finish returns NULL, so callers
 * check once at the end (Redis' sds style without the error plumbing).
 *
 * The growable byte buffers that are not this one say why where they are
 * defined: the flight recorder's segments (their capacity is what its
 * memory bound counts), the HTTP trace stream's queue (a bounded FIFO
 * consumed from the front) and the trace reader's input window. The
 * per-thread trace buffers and the CPU profiler's rings do not grow (and
 * are written where nothing may allocate).
 *
 * None of these functions lock or touch global state: thread-safe on
 * distinct buffers, not async-signal-safe (realloc), except cd__uv_put.
 */
#ifndef CDEBUG_BASE_BUF_H
#define CDEBUG_BASE_BUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct cd__buf {
    char *p;
    size_t len, cap;
    bool oom; /* a growth (or a format) failed: the content is incomplete */
} cd__buf;

/* Starts an empty buffer with room for hint bytes (0: no allocation yet).
 * An allocation failure marks the buffer failed. O(1). */
void cd__buf_init(cd__buf *b, size_t hint);

/* Makes room for n more bytes; false (and the buffer failed) when realloc
 * fails or the size overflows. Amortised O(1): capacity doubles. */
bool cd__buf_grow(cd__buf *b, size_t n);

/* NUL-terminates and returns the malloc'd text (the caller frees it), or
 * frees everything and returns NULL when a growth failed. The buffer is
 * empty afterwards. O(1). */
char *cd__buf_finish(cd__buf *b);

/* Frees the buffer without returning its text; it is empty (and not
 * failed) afterwards. O(1). */
void cd__buf_free(cd__buf *b);

/* Marks the buffer failed, as a failed growth does: for content built in
 * another buffer that failed (a nested message, a part appended later).
 * O(1). */
static inline void cd__buf_fail(cd__buf *b)
{
    b->cap = b->len; /* no room: every later write goes to cd__buf_grow */
    b->oom = true;
}

/* Empties the buffer for reuse, keeping its memory, and forgets a failure
 * (the caller has dealt with it). O(1). */
static inline void cd__buf_reset(cd__buf *b)
{
    b->len = 0;
    b->oom = false;
}

/* Room for n more bytes at the end: returns where they go, or NULL when
 * the buffer failed (now or before). The caller writes at most n bytes
 * there and adds what it wrote to b->len: for encoders that write in
 * place (varints, framed records). Amortised O(1). */
static inline char *cd__buf_room(cd__buf *b, size_t n)
{
    if (b->oom || (b->cap - b->len < n && !cd__buf_grow(b, n)))
        return NULL;
    return b->p + b->len;
}

/* Appends n bytes (none: a no-op, even on a buffer not allocated yet,
 * where memcpy to NULL would be undefined). O(n). */
static inline void cd__buf_put(cd__buf *b, const char *s, size_t n)
{
    if (n == 0 || (b->cap - b->len < n && !cd__buf_grow(b, n)))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

/* Appends a NUL-terminated string literal or constant. O(n). */
static inline void cd__buf_puts(cd__buf *b, const char *s)
{
    cd__buf_put(b, s, strlen(s));
}

/* Appends one byte. O(1). */
static inline void cd__buf_putc(cd__buf *b, char c)
{
    if (b->cap == b->len && !cd__buf_grow(b, 1))
        return;
    b->p[b->len++] = c;
}

/* Appends v in decimal (Go's strconv.FormatUint / FormatInt). O(digits),
 * two digits per step from a table. */
void cd__buf_u64(cd__buf *b, uint64_t v);
void cd__buf_i64(cd__buf *b, int64_t v);

/* Appends printf(fmt, ...). A format error (vsnprintf < 0) fails the
 * buffer like a failed growth. O(output); for text that is not on a hot
 * path (reports, messages): the number writers above are faster. */
void cd__buf_printf(cd__buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes v at p as an unsigned LEB128 varint, the integer encoding of
 * protobuf (profile.proto) and of the trace format (docs/trace-format.md):
 * 7 bits a byte, lowest first, the high bit set on all bytes but the last.
 * At most CD__UV_MAX bytes; returns the new end. Pure, async-signal-safe:
 * the trace recorder's hot path encodes events with it. */
#define CD__UV_MAX 10
static inline uint8_t *cd__uv_put(uint8_t *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *p++ = (uint8_t)v;
    return p;
}

/* Appends v as a varint (cd__uv_put). O(1). */
static inline void cd__buf_uvarint(cd__buf *b, uint64_t v)
{
    uint8_t *p = (uint8_t *)cd__buf_room(b, CD__UV_MAX);
    if (p != NULL)
        b->len += (size_t)(cd__uv_put(p, v) - p);
}

/* Appends s[0..n) as a quoted JSON string escaped the way Go's
 * encoding/json (json.Marshal, which expvar's String uses) does it: \" \\
 * \n \r \t, other control bytes and the HTML-sensitive < > & as \u00XX,
 * U+2028/U+2029 as \u2028/\u2029, each byte that is not part of a valid
 * UTF-8 sequence (Go's utf8.DecodeRune rules: no overlongs, surrogates or
 * code points above U+10FFFF) as \ufffd. The result is always valid JSON
 * and valid UTF-8. s may contain NUL bytes. O(n), plain ASCII copied in
 * runs. */
void cd__buf_json_str(cd__buf *b, const char *s, size_t n);

/* True when cd__buf_json_str would copy s[0..n) unchanged between its
 * quotes (printable ASCII but " \\ < > &): a name known to be plain once
 * can be written without the byte-by-byte escape. Pure; O(n). */
bool cd__json_plain(const char *s, size_t n);

/* Appends s[0..n) between quotes as is, when cd__json_plain(s, n) said it
 * may; else as cd__buf_json_str. O(n). */
void cd__buf_json_key(cd__buf *b, const char *s, size_t n, bool plain);

/* Length of the valid UTF-8 sequence starting at s[0..n) (1 to 4), or 0
 * when s[0] does not start one (Go's utf8.DecodeRune validity). n > 0.
 * Pure, O(1). */
size_t cd__utf8_seq_len(const unsigned char *s, size_t n);

/* Appends s[0..n) with every invalid UTF-8 byte replaced by U+FFFD (three
 * bytes), every other control byte (0x00-0x1F except those escaped by esc,
 * and 0x7F) replaced by U+FFFD too, and the bytes listed in esc written as
 * a backslash escape: '\\' -> \\, '"' -> \", '\n' -> \n. Used for
 * Prometheus label values (esc = "\\\"\n") and HELP text (esc = "\\\n").
 * O(n). */
void cd__buf_prom_text(cd__buf *b, const char *s, size_t n, const char *esc);

#endif /* CDEBUG_BASE_BUF_H */

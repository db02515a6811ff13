/* base/buf.h - the growable output buffer of the renderers, with the
 * number and string writers they share.
 *
 * /debug/vars must be several times faster than Go's expvar handler, and
 * most of a document is ~600 small integers (memstats), so the renderers
 * write straight into one malloc'd buffer instead of building jansson trees
 * or calling printf per number. A buffer that fails to grow stays failed:
 * every later write is a no-op and cd__buf_finish returns NULL, so callers
 * check once at the end (Redis' sds style without the error plumbing).
 *
 * None of these functions lock or touch global state: thread-safe on
 * distinct buffers, not async-signal-safe (realloc).
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
    bool oom; /* a growth failed: the content is incomplete */
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

/* Frees the buffer without returning its text. */
void cd__buf_free(cd__buf *b);

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

/* Appends s[0..n) as a quoted JSON string escaped the way Go's
 * encoding/json (json.Marshal, which expvar's String uses) does it: \" \\
 * \n \r \t, other control bytes and the HTML-sensitive < > & as \u00XX,
 * U+2028/U+2029 as \u2028/\u2029, each byte that is not part of a valid
 * UTF-8 sequence (Go's utf8.DecodeRune rules: no overlongs, surrogates or
 * code points above U+10FFFF) as \ufffd. The result is always valid JSON
 * and valid UTF-8. s may contain NUL bytes. O(n), plain ASCII copied in
 * runs. */
void cd__buf_json_str(cd__buf *b, const char *s, size_t n);

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

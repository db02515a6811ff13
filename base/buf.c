/* base/buf.c - growable output buffer, decimal and string writers. See buf.h.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/buf.h"

void cd__buf_init(cd__buf *b, size_t hint)
{
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = false;
    if (hint > 0)
        (void)cd__buf_grow(b, hint);
}

bool cd__buf_grow(cd__buf *b, size_t n)
{
    if (b->oom)
        return false;
    /* +1 keeps room for the NUL that cd__buf_finish adds. */
    if (n > SIZE_MAX / 2 - b->len - 1)
        goto fail;
    size_t need = b->len + n + 1;
    if (need <= b->cap)
        return true;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (p == NULL)
        goto fail;
    b->p = p;
    b->cap = cap;
    return true;
fail:
    /* No room left as far as the writers know (cd__buf_fail): each later
     * write comes here and is dropped, so a failed buffer stays as it was
     * without a check of oom on the inline writers' fast path. */
    cd__buf_fail(b);
    return false;
}

char *cd__buf_finish(cd__buf *b)
{
    char *p = NULL;
    if (!b->oom && cd__buf_grow(b, 1)) {
        b->p[b->len] = '\0';
        p = b->p;
    } else {
        free(b->p);
    }
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = false;
    return p;
}

void cd__buf_free(cd__buf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
    b->oom = false;
}

void cd__buf_printf(cd__buf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    size_t room = b->cap - b->len;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(room > 0 ? b->p + b->len : NULL, room, fmt, ap);
    va_end(ap);
    if (n < 0) {
        cd__buf_fail(b);
        return;
    }
    if ((size_t)n >= room) {
        /* Did not fit: grow (room for the NUL included) and format again. */
        if (!cd__buf_grow(b, (size_t)n))
            return;
        va_start(ap, fmt);
        (void)vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    b->len += (size_t)n;
}

/* "00".."99": two digits per division keeps a 20-digit number to ten
 * divisions. */
static const char digits2[201] = "0001020304050607080910111213141516171819"
                                 "2021222324252627282930313233343536373839"
                                 "4041424344454647484950515253545556575859"
                                 "6061626364656667686970717273747576777879"
                                 "8081828384858687888990919293949596979899";

void cd__buf_u64(cd__buf *b, uint64_t v)
{
    if (v < 10) { /* most memstats numbers (PauseNs, BySize) are 0 */
        cd__buf_putc(b, (char)('0' + v));
        return;
    }
    /* Count the digits first and write them in place, from the last:
     * no copy of a variable length (a renderer writes hundreds of
     * numbers per document). */
    size_t n = 2;
    for (uint64_t p = 100; n < 20 && v >= p; p *= 10)
        n++;
    char *e = cd__buf_room(b, n);
    if (e == NULL)
        return;
    e += n;
    while (v >= 100) {
        unsigned d = (unsigned)(v % 100) * 2;
        v /= 100;
        *--e = digits2[d + 1];
        *--e = digits2[d];
    }
    if (v >= 10) {
        unsigned d = (unsigned)v * 2;
        *--e = digits2[d + 1];
        *--e = digits2[d];
    } else {
        *--e = (char)('0' + v);
    }
    b->len += n;
}

void cd__buf_i64(cd__buf *b, int64_t v)
{
    if (v < 0) {
        cd__buf_putc(b, '-');
        /* Negate in unsigned arithmetic: -INT64_MIN overflows int64_t. */
        cd__buf_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        cd__buf_u64(b, (uint64_t)v);
    }
}

size_t cd__utf8_seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    if (c < 0x80)
        return 1;
    /* Allowed range of the second byte for each lead byte: this is what
     * rules out overlong forms (E0 80..9F, F0 80..8F), surrogates
     * (ED A0..BF) and code points above U+10FFFF (F4 90.., F5..FF). */
    unsigned lo = 0x80, hi = 0xBF;
    size_t len;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F;
    } else {
        return 0; /* continuation byte, C0/C1 or F5..FF */
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xBF)
            return 0;
    return len;
}

/* 1 for the ASCII bytes Go's encoder copies unchanged with HTML escaping
 * on (its htmlSafeSet): printable ASCII and DEL except " \ < > &. */
static const unsigned char json_safe[128] = {
    [' '] = 1,  ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['\''] = 1, ['('] = 1, [')'] = 1,
    ['*'] = 1,  ['+'] = 1, [','] = 1, ['-'] = 1, ['.'] = 1, ['/'] = 1,  ['0'] = 1, ['1'] = 1,
    ['2'] = 1,  ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,  ['8'] = 1, ['9'] = 1,
    [':'] = 1,  [';'] = 1, ['='] = 1, ['?'] = 1, ['@'] = 1, ['A'] = 1,  ['B'] = 1, ['C'] = 1,
    ['D'] = 1,  ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1,  ['J'] = 1, ['K'] = 1,
    ['L'] = 1,  ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1,  ['R'] = 1, ['S'] = 1,
    ['T'] = 1,  ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1,  ['Z'] = 1, ['['] = 1,
    [']'] = 1,  ['^'] = 1, ['_'] = 1, ['`'] = 1, ['a'] = 1, ['b'] = 1,  ['c'] = 1, ['d'] = 1,
    ['e'] = 1,  ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1,  ['k'] = 1, ['l'] = 1,
    ['m'] = 1,  ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,  ['s'] = 1, ['t'] = 1,
    ['u'] = 1,  ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,  ['{'] = 1, ['|'] = 1,
    ['}'] = 1,  ['~'] = 1, [0x7F] = 1,
};

static const char hexdig[] = "0123456789abcdef";

bool cd__json_plain(const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    for (size_t i = 0; i < n; i++)
        if (s[i] >= 0x80 || !json_safe[s[i]])
            return false;
    return true;
}

void cd__buf_json_key(cd__buf *b, const char *s, size_t n, bool plain)
{
    if (!plain) {
        cd__buf_json_str(b, s, n);
        return;
    }
    if (n > SIZE_MAX - 2 || !cd__buf_grow(b, n + 2))
        return;
    char *o = b->p + b->len;
    o[0] = '"';
    memcpy(o + 1, s, n);
    o[n + 1] = '"';
    b->len += n + 2;
}

void cd__buf_json_str(cd__buf *b, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    /* Worst case per input byte is 6 output bytes (\u00XX); reserving
     * that up front keeps the loop free of growth checks. */
    if (n > (SIZE_MAX - 2) / 6 || !cd__buf_grow(b, 6 * n + 2))
        return;
    char *o = b->p + b->len;
    *o++ = '"';
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            if (json_safe[c]) {
                *o++ = (char)c;
                i++;
                continue;
            }
            *o++ = '\\';
            switch (c) {
            case '"':
            case '\\':
                *o++ = (char)c;
                break;
            case '\n':
                *o++ = 'n';
                break;
            case '\r':
                *o++ = 'r';
                break;
            case '\t':
                *o++ = 't';
                break;
            default: /* other controls and < > & */
                *o++ = 'u';
                *o++ = '0';
                *o++ = '0';
                *o++ = hexdig[c >> 4];
                *o++ = hexdig[c & 0xF];
                break;
            }
            i++;
            continue;
        }
        size_t len = cd__utf8_seq_len(s + i, n - i);
        if (len == 0) {
            memcpy(o, "\\ufffd", 6);
            o += 6;
            i++;
            continue;
        }
        /* U+2028 and U+2029 (E2 80 A8/A9) are valid JSON but end lines in
         * JavaScript; Go escapes them, and so do we. */
        if (len == 3 && c == 0xE2 && s[i + 1] == 0x80 && (s[i + 2] & 0xFE) == 0xA8) {
            memcpy(o, s[i + 2] == 0xA8 ? "\\u2028" : "\\u2029", 6);
            o += 6;
        } else {
            memcpy(o, s + i, len);
            o += len;
        }
        i += len;
    }
    *o++ = '"';
    b->len = (size_t)(o - b->p);
}

void cd__buf_prom_text(cd__buf *b, const char *str, size_t n, const char *esc)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0; /* s[run..i) is copied unchanged */
    while (i < n) {
        unsigned c = s[i];
        if (c >= 0x20 && c < 0x7F && c != '\\' && c != '"') {
            i++;
            continue;
        }
        size_t len = c < 0x80 ? 1 : cd__utf8_seq_len(s + i, n - i);
        if (c >= 0x80 && len > 0) {
            i += len;
            continue;
        }
        cd__buf_put(b, str + run, i - run);
        if (c != 0 && strchr(esc, (int)c) != NULL) {
            cd__buf_putc(b, '\\');
            cd__buf_putc(b, c == '\n' ? 'n' : (char)c);
        } else if (c == '"' || c == '\\') {
            cd__buf_putc(b, (char)c); /* not special in this context */
        } else {
            cd__buf_put(b, "\xEF\xBF\xBD", 3); /* U+FFFD */
        }
        i++;
        run = i;
    }
    cd__buf_put(b, str + run, i - run);
}

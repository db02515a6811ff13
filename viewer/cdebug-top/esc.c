/* esc.c - visible escapes for terminal and CSV text (see esc.h). */
#include "esc.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

/* Go's utf8.DecodeRune validity, shared with libcdebug's JSON writer: the
 * one copy of the rule (base/buf.c is compiled into cdebug-top's core, see
 * CMakeLists.txt). */
#include "base/buf.h"

/* Code points at or above U+0080 that a terminal acts on or that change how
 * the text around them reads: C1 controls, line/paragraph separators and
 * the bidirectional formatting characters (a U+202E override turns "exe.txt"
 * into something that reads as "txt.exe"). */
static bool hidden_rune(uint32_t r)
{
    return (r >= 0x80 && r <= 0x9f) || r == 0x061c || r == 0x200e || r == 0x200f ||
           (r >= 0x2028 && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069);
}

/* Decodes a sequence that cd__utf8_seq_len accepted (len 2..4). */
static uint32_t decode(const unsigned char *p, size_t len)
{
    uint32_t r = p[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++)
        r = r << 6 | (p[i] & 0x3f);
    return r;
}

/* The C0 controls that Go's strconv.Quote writes as a letter. */
static const char letters[0x20] = {['\a'] = 'a', ['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n',
                                   ['\r'] = 'r', ['\t'] = 't', ['\v'] = 'v'};

size_t top_esc_char(const char *s, size_t n, char out[TOP_ESC_MAX], size_t *outlen)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    unsigned char c = p[0];
    size_t k = cd__utf8_seq_len(p, n);

    if (k == 1 && c >= 0x20 && c != 0x7f) {
        out[0] = (char)c;
        out[1] = '\0';
        *outlen = 1;
        return 1;
    }
    if (c < 0x20 && letters[c] != 0) {
        out[0] = '\\';
        out[1] = letters[c];
        out[2] = '\0';
        *outlen = 2;
        return 1;
    }
    if (k <= 1) { /* other C0, DEL, or a byte outside valid UTF-8 */
        out[0] = '\\';
        out[1] = 'x';
        out[2] = hex[c >> 4];
        out[3] = hex[c & 15];
        out[4] = '\0';
        *outlen = 4;
        return 1;
    }
    uint32_t r = decode(p, k);
    if (hidden_rune(r)) {
        out[0] = '\\';
        out[1] = 'u';
        for (int i = 0; i < 4; i++)
            out[2 + i] = hex[(r >> (12 - 4 * i)) & 15];
        out[6] = '\0';
        *outlen = 6;
        return k;
    }
    memcpy(out, s, k);
    out[k] = '\0';
    *outlen = k;
    return k;
}

char *top_esc(const char *s, char *buf, size_t len)
{
    size_t n = strlen(s), used = 0;

    while (n > 0) {
        char e[TOP_ESC_MAX];
        size_t elen, k = top_esc_char(s, n, e, &elen);
        if (elen >= len - used)
            break;
        memcpy(buf + used, e, elen);
        used += elen;
        s += k;
        n -= k;
    }
    buf[used] = '\0';
    return buf;
}

int top_esc_fputs(const char *s, FILE *f)
{
    size_t n = strlen(s);

    while (n > 0) {
        /* Runs of printable ASCII go out in one write. */
        size_t run = 0;
        while (run < n && (unsigned char)s[run] >= 0x20 && (unsigned char)s[run] < 0x7f)
            run++;
        if (run > 0 && fwrite(s, 1, run, f) != run)
            return EOF;
        s += run;
        n -= run;
        if (n == 0)
            break;
        char e[TOP_ESC_MAX];
        size_t elen, k = top_esc_char(s, n, e, &elen);
        if (fwrite(e, 1, elen, f) != elen)
            return EOF;
        s += k;
        n -= k;
    }
    return 0;
}

void top_esc_line(FILE *f, const char *fmt, ...)
{
    char msg[TOP_ESC_LINE_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    top_esc_fputs(msg, f);
    fputc('\n', f);
}

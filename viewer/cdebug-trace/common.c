/* viewer/cdebug-trace/common.c - opening traces with the tool's messages,
 * and the text formats every subcommand prints. See cdt.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cdt.h"

void cdt_error(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout); /* keep stdout and stderr in order on a terminal */
    fprintf(stderr, "%s: ", cdt_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

int cdt_open(const char *path, const cd_tr_opts *opts, cd_trace_reader **r)
{
    cd_tr_opts o = opts != NULL ? *opts : (cd_tr_opts){0};
    if (o.max_held_bytes == 0)
        o.max_held_bytes = CDT_READER_MAX_HELD;
    if (o.max_table_bytes == 0)
        o.max_table_bytes = CDT_READER_MAX_TABLES;
    int rc = strcmp(path, "-") == 0 ? cd_trace_reader_open_fd(r, STDIN_FILENO, &o)
                                    : cd_trace_reader_open(r, path, &o);
    if (rc == 0)
        return 0;
    switch (rc) {
    case -ENODATA:
        cdt_error("%s: empty or truncated before the end of the trace header", path);
        break;
    case -EBADMSG:
        cdt_error("%s: not a cdebug trace (bad magic number or header)", path);
        break;
    case -EPROTONOSUPPORT:
        cdt_error("%s: unsupported cdebug trace version (this reader knows version %d)", path,
                  CD_TR_VERSION);
        break;
    default:
        cdt_error("%s: %s", path, cd_tr_strerror(rc));
        break;
    }
    return CDT_FAIL;
}

int cdt_finish(const char *path, cd_trace_reader *r, int rc)
{
    if (rc == 0)
        return CDT_OK;
    if (rc == -ENODATA) {
        cdt_error("warning: %s: %s; everything before it was read", path, cd_trace_reader_error(r));
        return CDT_OK;
    }
    const char *detail = cd_trace_reader_error(r);
    if (*detail != '\0')
        cdt_error("%s: %s: %s", path, cd_tr_strerror(rc), detail);
    else
        cdt_error("%s: %s", path, cd_tr_strerror(rc));
    return CDT_FAIL;
}

bool cdt_event_ns(const cd_trace_reader *r, const cd_tr_event *ev, int64_t *ns)
{
    int64_t v = cd_trace_reader_ns(r, ev->ts); /* saturates to the int64 range */
    if (v > CDT_MAX_TIME_NS || v < -CDT_MAX_TIME_NS)
        return false;
    *ns = v;
    return true;
}

void cdt_time_error(const char *path, const cd_trace_reader *r, const cd_tr_event *ev)
{
    const cd_tr_header *h = cd_trace_reader_header(r);
    bool after = ev->ts >= h->start_ticks;
    uint64_t d = after ? ev->ts - h->start_ticks : h->start_ticks - ev->ts;
    double years = (double)d / (double)h->tick_hz / (365.25 * 86400);
    const char *name = cd_tr_event_name(ev->type);
    cdt_error("%s: corrupted trace: %s on thread %" PRIu64 " at tick %" PRIu64
              " lies %.0f years %s the trace start (start_ticks %" PRIu64 ", %" PRIu64
              " ticks/s); the limit is %d years",
              path, name != NULL ? name : "event", ev->thread, ev->ts, years,
              after ? "after" : "before", h->start_ticks, h->tick_hz, CDT_MAX_TIME_YEARS);
}

char *cdt_fmt_ms(char *buf, int64_t ns)
{
    uint64_t mag = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    snprintf(buf, 32, "%s%" PRIu64 ".%06" PRIu64 "ms", ns < 0 ? "-" : "", mag / 1000000,
             mag % 1000000);
    return buf;
}

char *cdt_fmt_wall(char *buf, uint64_t wall_ns)
{
    if (wall_ns == 0) {
        snprintf(buf, 48, "unknown");
        return buf;
    }
    time_t secs = (time_t)(wall_ns / 1000000000u);
    struct tm tm;
    if (gmtime_r(&secs, &tm) == NULL) {
        snprintf(buf, 48, "%" PRIu64 "ns", wall_ns);
        return buf;
    }
    char date[32];
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, 48, "%s.%09" PRIu64 "Z", date, wall_ns % 1000000000u);
    return buf;
}

size_t cdt_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        if (c == 0xe0)
            lo = 0xa0; /* no overlong forms */
        if (c == 0xed)
            hi = 0x9f; /* no surrogates */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        if (c == 0xf0)
            lo = 0x90;
        if (c == 0xf4)
            hi = 0x8f; /* <= U+10FFFF */
    } else {
        return 0;
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    return len;
}

void cdt_put_quoted(FILE *f, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    putc('"', f);
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t k = cdt_utf8_len(p + i, n - i);
            if (k > 0) {
                fwrite(p + i, 1, k, f);
                i += k;
                continue;
            }
            fprintf(f, "\\x%02x", c);
        } else if (c == '"' || c == '\\') {
            putc('\\', f);
            putc(c, f);
        } else if (c == '\n') {
            fputs("\\n", f);
        } else if (c == '\r') {
            fputs("\\r", f);
        } else if (c == '\t') {
            fputs("\\t", f);
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(f, "\\x%02x", c);
        } else {
            putc(c, f);
        }
        i++;
    }
    putc('"', f);
}

void cdt_put_json_string(FILE *f, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    putc('"', f);
    for (size_t i = 0; p != NULL && i < n;) {
        unsigned char c = p[i];
        if (c >= 0x80) {
            size_t k = cdt_utf8_len(p + i, n - i);
            if (k > 0) {
                fwrite(p + i, 1, k, f);
                i += k;
                continue;
            }
            fputs("\\ufffd", f); /* invalid UTF-8: JSON must be valid Unicode */
        } else if (c == '"' || c == '\\') {
            putc('\\', f);
            putc(c, f);
        } else if (c == '\n') {
            fputs("\\n", f);
        } else if (c == '\r') {
            fputs("\\r", f);
        } else if (c == '\t') {
            fputs("\\t", f);
        } else if (c < 0x20 || c == 0x7f) {
            fprintf(f, "\\u%04x", c);
        } else if (c == '<') {
            fputs("\\u003c", f); /* never "</script>" when embedded in HTML */
        } else {
            putc(c, f);
        }
        i++;
    }
    putc('"', f);
}

char *cdt_fmt_dur(char *buf, int64_t ns)
{
    static const struct {
        int64_t scale;
        const char *unit;
    } units[] = {{1000000000, "s"}, {1000000, "ms"}, {1000, "us"}, {1, "ns"}};
    const char *sign = ns < 0 ? "-" : "";
    double v = ns < 0 ? -(double)ns : (double)ns;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
        if (v < (double)units[i].scale && units[i].scale > 1)
            continue;
        double x = v / (double)units[i].scale;
        int prec = x >= 100 || units[i].scale == 1 ? 0 : x >= 10 ? 1 : 2;
        snprintf(buf, 32, "%s%.*f%s", sign, prec, x, units[i].unit);
        return buf;
    }
    snprintf(buf, 32, "0ns");
    return buf;
}

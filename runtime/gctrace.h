/* runtime/gctrace.h - formatting of gctrace lines (CDEBUG=gctrace=1).
 *
 * The line is Go's (1.17 and earlier) byte for byte:
 *
 *   gc 3 @0.029s 0%: 0.003+0.23+0.030 ms clock, 0.029+0.050/0.016/0.25+0.24 ms cpu,
 *   18->18->15 MB, 19 MB goal, 8 P
 *
 * (one line; " (forced)" is appended after cd_gc()). The printer thread and
 * start/stop live in gctrace.c; cd__gctrace_start/stop are declared in gc.h.
 */
#ifndef CDEBUG_RUNTIME_GCTRACE_H
#define CDEBUG_RUNTIME_GCTRACE_H

#include <stddef.h>
#include <stdint.h>

#include "runtime/gcevents.h"

/* Longest line cd__gctrace_format can produce, NUL included (every number at
 * its 64-bit maximum). */
#define CD__GCTRACE_LINE_MAX 512

/* Go's itoaDiv: val / 10^dec with exactly dec decimals ("0.029" for 29, 3),
 * dec clamped to 0..20. Faithful to Go down to its quirk of a leading "0"
 * when dec is 0 and val < 10 ("05"), which Go never hits. Writes at most n - 1 characters and a NUL
 * when n > 0; returns the length of the full text. Pure; async-signal-safe. */
size_t cd__itoa_div(char *buf, size_t n, uint64_t val, int dec);

/* Go's fmtNSAsMS: ns as milliseconds, whole when >= 10 ms, else two
 * significant digits with at most three decimals (0 -> "0", 3000 -> "0.003",
 * 230000 -> "0.23", 9999999 -> "9.9", 10000000 -> "10"). Same buffer
 * contract as cd__itoa_div. Pure; async-signal-safe. */
size_t cd__fmt_ns_as_ms(char *buf, size_t n, uint64_t ns);

/* Formats r as one gctrace line WITHOUT the trailing newline. Same buffer
 * contract as snprintf: at most n - 1 characters plus NUL, returns the full
 * length (truncated when >= n). Pure; async-signal-safe; O(line length). */
size_t cd__gctrace_format(char *buf, size_t n, const cd__gc_record *r);

#endif /* CDEBUG_RUNTIME_GCTRACE_H */

/* duration.h - Go's time.Duration as text.
 *
 * cdebug-top reads its -i flag and prints duration: vars the way a Go user
 * expects: "500ms", "1m30s", "1.5µs". Parsing follows time.ParseDuration and
 * printing follows Duration.String, so values copied between Go tools and
 * cdebug-top mean the same thing. All functions are pure: thread-safe,
 * async-signal-safe, no allocation.
 */
#ifndef CDEBUG_TOP_DURATION_H
#define CDEBUG_TOP_DURATION_H

#include <stddef.h>
#include <stdint.h>

/* Longest output of top_duration_format ("-2562047h47m16.854775808s") + NUL. */
#define TOP_DURATION_BUFSZ 32

/* Parses Go duration syntax: an optional sign, then one or more decimal
 * numbers with a unit ("300ms", "-1.5h", "2h45m"); units are ns, us, µs
 * (U+00B5 or U+03BC), ms, s, m, h. A bare "0" is allowed, as in Go.
 * Returns 0 and sets *out (nanoseconds), -EINVAL on bad syntax or -ERANGE
 * when the value does not fit in int64. Cost: O(strlen(s)). */
int top_duration_parse(const char *s, int64_t *out);

/* Writes Duration.String of ns into buf (at least TOP_DURATION_BUFSZ bytes
 * recommended; shorter buffers truncate) and returns buf. Examples: "0s",
 * "999ns", "1.5µs", "12.345ms", "1m30s", "1h0m0.5s". */
char *top_duration_format(int64_t ns, char *buf, size_t len);

/* Rounds ns to the precision expvarmon displays: whole seconds from 1 s up,
 * milliseconds from 1 ms, microseconds from 1 µs, halves rounded away from
 * zero. Keeps dashboards readable ("12ms", not "12.345678ms"). */
int64_t top_duration_round(int64_t ns);

#endif

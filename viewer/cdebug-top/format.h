/* format.h - how a sampled value is shown (by kind) and recorded (raw).
 *
 * Display follows expvarmon so screens look the same: mem: as "512B",
 * "1.5KB", "12MB" (powers of 1024, one decimal below 10), duration: as a
 * rounded Go duration ("1.5ms" -> "2ms"), plain integers as integers, reals
 * with two decimals (three significant digits below 0.01: "0.000123"),
 * booleans as true/false, missing values as "n/a".
 * Pure, thread-safe, no allocation. Every function returns buf.
 */
#ifndef CDEBUG_TOP_FORMAT_H
#define CDEBUG_TOP_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "vars_path.h"

#define TOP_FMT_BUFSZ 128 /* enough for any formatted value */

/* Bytes the way expvarmon's byten package prints them: below 10 "%dB";
 * else the largest power of 1024 not above n, "%.1f" under 10 units and
 * "%.0f" from 10 ("10KB", "1.2MB", "3.0GB", "1024KB" just below 1 MB).
 * Negative values get a '-' and the same rules. */
char *top_fmt_bytes(int64_t n, char *buf, size_t len);

/* The value as the dashboard shows it for a var of this kind. */
char *top_fmt_value(const top_value *v, top_kind kind, char *buf, size_t len);

/* The value as recorded in CSV: integers exactly, reals in the shortest
 * form that reads back to the same double, true/false, the string itself,
 * "" for n/a. Kinds are ignored: bytes and nanoseconds stay numbers. */
char *top_fmt_raw(const top_value *v, char *buf, size_t len);

#endif

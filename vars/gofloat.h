/* vars/gofloat.h - floats printed exactly as Go prints them.
 *
 * Go's expvar.Float renders with strconv.FormatFloat(f, 'g', -1, 64), and
 * expvar's memstats goes through encoding/json, which has its own rule
 * ('f' between 1e-6 and 1e21, 'e' outside, with "e-07" shortened to
 * "e-7"). Both start from the shortest decimal that reads back to the same
 * double. C has no shortest mode; gofloat.c gets it from correctly
 * rounded printf output (glibc's %e is exact) checked with strtod.
 *
 * Pure functions: thread-safe; not async-signal-safe (snprintf, strtod);
 * 0.3-1.5 us per value, ~15 ns for integral values below 2^53 (a fast
 * path) and for 0.
 */
#ifndef CDEBUG_VARS_GOFLOAT_H
#define CDEBUG_VARS_GOFLOAT_H

#include <stddef.h>

/* Enough for any output of the functions below, with the NUL. */
#define CD__FLOAT_BUF 40

/* Go's strconv.FormatFloat(x, 'g', -1, 64): "0.1", "1e+21", "1e-07",
 * "1.23456789e+08", "-0", "NaN", "+Inf", "-Inf". Returns the length. */
size_t cd__fmt_go_g(char out[CD__FLOAT_BUF], double x);

/* Go's encoding/json float64 output: "0.1", "1e+21", "1e-7", "123456789",
 * "0.00001". Non-finite values (which Go refuses to encode) give "null".
 * Returns the length. */
size_t cd__fmt_go_json(char out[CD__FLOAT_BUF], double x);

#endif /* CDEBUG_VARS_GOFLOAT_H */

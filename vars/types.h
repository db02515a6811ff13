/* vars/types.h - what the renderers need from the var types beyond
 * registry.h: reading a string value and a histogram snapshot.
 */
#ifndef CDEBUG_VARS_TYPES_H
#define CDEBUG_VARS_TYPES_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "vars/registry.h"

/* Largest nbounds accepted by cd_hist_new. */
#define CD__HIST_MAX_BOUNDS 64

/* A histogram read at one moment: per-bucket counts (not cumulative,
 * counts[nbounds] is +Inf), their total (always the sum of the buckets, so
 * the +Inf bucket and the count agree even while observers run) and the
 * sum. Each bucket is exact; buckets and sum are not read atomically
 * together. */
typedef struct cd__hist_snap {
    size_t nbounds;
    const double *bounds;
    uint64_t counts[CD__HIST_MAX_BOUNDS + 1];
    uint64_t total;
    double sum;
} cd__hist_snap;

/* Fills *s from h. Thread-safe, lock-free, O(buckets). */
void cd__hist_read(const struct cd_hist *h, cd__hist_snap *s);

/* The q-quantile (0 < q < 1) of a snapshot, Prometheus'
 * histogram_quantile rule: the bucket holding rank q*total, and linear
 * interpolation between its lower bound (0 for the first bucket when its
 * bound is positive) and upper bound; a rank in the +Inf bucket gives the
 * largest finite bound; a first bucket with a bound <= 0 gives that bound.
 * 0 when the histogram is empty. Pure, O(buckets). */
double cd__hist_quantile(const cd__hist_snap *s, double q);

/* Appends the current value of a string var/entry JSON-escaped (Go's
 * json.Marshal rules); "" before the first set. Takes the RCU read lock
 * around the copy only. O(length). */
void cd__string_json(cd__buf *b, const struct cd_string *s);

/* Appends the raw bytes of a string value through fn(b, s, n) inside the
 * RCU read-side section (fn must not block or call synchronize_rcu). */
void cd__string_with(cd__buf *b, const struct cd_string *s,
                     void (*fn)(cd__buf *b, const char *s, size_t n));

#endif /* CDEBUG_VARS_TYPES_H */

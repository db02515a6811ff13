/* ring.c - bounded sample history and sparkline scaling (see ring.h). */
#include "ring.h"

#include <math.h>

void top_ring_push(top_ring *r, double x)
{
    r->v[r->head] = x;
    r->head = (r->head + 1) % TOP_RING_CAP;
    if (r->len < TOP_RING_CAP)
        r->len++;
}

size_t top_ring_last(const top_ring *r, double *out, size_t n)
{
    if (n > r->len)
        n = r->len;
    size_t start = (r->head + TOP_RING_CAP - n) % TOP_RING_CAP;
    for (size_t i = 0; i < n; i++)
        out[i] = r->v[(start + i) % TOP_RING_CAP];
    return n;
}

void top_spark_levels(const double *vals, size_t n, int levels, int *out)
{
    double lo = INFINITY, hi = -INFINITY;
    for (size_t i = 0; i < n; i++) {
        if (isfinite(vals[i])) {
            lo = fmin(lo, vals[i]);
            hi = fmax(hi, vals[i]);
        }
    }
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(vals[i]))
            out[i] = 0;
        else if (hi <= lo || levels <= 1)
            out[i] = 1;
        else
            out[i] = 1 + (int)lround((vals[i] - lo) / (hi - lo) * (levels - 1));
    }
}

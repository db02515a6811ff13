/* ring.h - bounded history of one var on one service, and sparkline levels.
 *
 * Every (service, var) pair keeps its last TOP_RING_CAP samples in a fixed
 * array, so memory is bounded however long cdebug-top runs: 64 services x
 * 64 vars x 512 doubles is at most 16 MiB, typically a few KiB. A failed
 * poll or a missing value is stored as NAN and drawn as a gap.
 * Pure and thread-compatible (no internal locking).
 */
#ifndef CDEBUG_TOP_RING_H
#define CDEBUG_TOP_RING_H

#include <stddef.h>

#define TOP_RING_CAP 512 /* wider than any terminal column of sparkline */

typedef struct top_ring {
    double v[TOP_RING_CAP];
    size_t head; /* index of the next write */
    size_t len;  /* samples stored, <= TOP_RING_CAP */
} top_ring;

/* Appends x, dropping the oldest sample when full. O(1). */
void top_ring_push(top_ring *r, double x);

/* Copies the newest min(n, len) samples into out, oldest first, and returns
 * how many were copied. O(n). */
size_t top_ring_last(const top_ring *r, double *out, size_t n);

/* Maps n samples to sparkline heights in 1..levels, scaled between the
 * smallest and largest finite sample so small changes in a large value (a
 * heap wobbling around 80 MB) stay visible; a flat series is all 1s, NAN
 * becomes 0 (a gap). levels >= 1. O(n). */
void top_spark_levels(const double *vals, size_t n, int levels, int *out);

#endif

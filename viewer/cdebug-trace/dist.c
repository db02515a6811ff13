/* viewer/cdebug-trace/dist.c - log-linear histograms (cdt_dist, stats.h).
 *
 * Values below CDT_HIST_SUB are counted exactly (bucket row 0). A larger
 * value v with highest bit b goes to row b - 5, column (v >> (b - 6)) & 63:
 * 64 columns per power of two, each 1/64 of its row wide, so a quantile read
 * back as its column's midpoint is within 1/128 of the truth. Rows are
 * allocated on first use: a distribution of durations spanning 1 µs to 1 s
 * uses about 20 rows of 512 bytes.
 */
#include <math.h>
#include <stdlib.h>

#include "model.h"
#include "stats.h"

static void locate(int64_t v, int *row, int *col)
{
    uint64_t u = (uint64_t)v;
    if (u < CDT_HIST_SUB) {
        *row = 0;
        *col = (int)u;
        return;
    }
    int b = 63 - __builtin_clzll(u);
    *row = b - 5;
    *col = (int)((u >> (b - 6)) & (CDT_HIST_SUB - 1));
}

/* The midpoint of a bucket: row 0 is exact. */
static int64_t value_of(int row, int col)
{
    if (row == 0)
        return col;
    int b = row + 5;
    uint64_t lo = (1ull << b) + ((uint64_t)col << (b - 6));
    return (int64_t)(lo + (1ull << (b - 6)) / 2);
}

void cdt_dist_add(cdt_dist *d, int64_t v, size_t *rows_left)
{
    if (v < 0)
        v = 0;
    if (d->count == 0 || v < d->min)
        d->min = v;
    if (d->count == 0 || v > d->max)
        d->max = v;
    d->count++;
    d->sum = d->sum > INT64_MAX - v ? INT64_MAX : d->sum + v;
    int row, col;
    locate(v, &row, &col);
    if (d->buckets[row] == NULL) {
        if (rows_left != NULL && *rows_left == 0) {
            d->unbinned++; /* the quantiles lose this value, the sums do not */
            return;
        }
        d->buckets[row] = calloc(CDT_HIST_SUB, sizeof(uint64_t));
        if (d->buckets[row] == NULL) {
            d->unbinned++;
            return;
        }
        if (rows_left != NULL)
            (*rows_left)--;
    }
    d->buckets[row][col]++;
}

int64_t cdt_dist_quantile(const cdt_dist *d, double q)
{
    if (d->count == 0)
        return 0;
    if (q <= 0)
        return d->min;
    if (q >= 1)
        return d->max;
    /* Nearest rank: the smallest value with at least q·count values <= it
     * (count of the binned values). */
    uint64_t binned = d->count - d->unbinned;
    if (binned == 0)
        return d->max;
    uint64_t rank = (uint64_t)ceil(q * (double)binned), seen = 0;
    if (rank == 0)
        rank = 1;
    for (int row = 0; row < 64; row++) {
        if (d->buckets[row] == NULL)
            continue;
        for (int col = 0; col < CDT_HIST_SUB; col++) {
            seen += d->buckets[row][col];
            if (seen >= rank) {
                int64_t v = value_of(row, col);
                return v < d->min ? d->min : v > d->max ? d->max : v;
            }
        }
    }
    return d->max;
}

int64_t cdt_dist_mean(const cdt_dist *d)
{
    return d->count ? d->sum / (int64_t)d->count : 0;
}

void cdt_dist_free(cdt_dist *d)
{
    for (int i = 0; i < 64; i++)
        free(d->buckets[i]);
}

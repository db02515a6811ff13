/* prof/lockprof.c - the block and mutex profiles, Go's
 * /debug/pprof/block and /debug/pprof/mutex, rendered from the records of
 * runtime/contention.h.
 *
 * profile.proto as Go's printCountCycleProfile: sample types
 * contentions/count and delay/nanoseconds, period type contentions/count,
 * period 1; the mutex profile's values are multiplied by the sampling
 * fraction (Go's scaleMutexProfile), the block profile's are as recorded
 * (the recording already removed the sampling's bias). debug=1 is Go's
 * text: "--- contention:" (block) or "--- mutex:", "cycles/second=", for
 * the mutex profile "sampling period=", then "<delay> <count> @ pcs" and
 * the frames, largest delay first. cdebug measures in nanoseconds, so its
 * cycles are nanoseconds and cycles/second is 1000000000.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cdebug/prof.h"
#include "base/clock.h"
#include "base/symbolize.h"
#include "prof/countprof.h"
#include "prof/lockprof.h"
#include "prof/profiles.h"
#include "runtime/contention.h"

static int by_delay(const void *a, const void *b)
{
    const cd__contention_row *x = a, *y = b;
    return x->delay_ns < y->delay_ns ? 1 : x->delay_ns > y->delay_ns ? -1 : 0;
}

static int build(cd__pprof *p, cd__contention_kind kind)
{
    cd__contention_row *rows = NULL;
    size_t n = 0;
    int rc = cd__contention_snapshot(kind, &rows, &n);
    if (rc < 0)
        return rc;
    int64_t scale = 1;
    if (kind == CD__CONTENTION_MUTEX) {
        scale = cd__contention_set_mutex_fraction(-1);
        if (scale <= 0)
            scale = 1;
    }
    if ((rc = cd__pprof_sample_type(p, "contentions", "count")) < 0 ||
        (rc = cd__pprof_sample_type(p, "delay", "nanoseconds")) < 0 ||
        (rc = cd__pprof_period(p, "contentions", "count", 1)) < 0)
        goto out;
    cd__pprof_time(p, (int64_t)cd__walltime(), 0);
    for (size_t i = 0; i < n; i++) {
        int64_t v[2] = {rows[i].count * scale, rows[i].delay_ns * scale};
        if ((rc = cd__pprof_sample_at(p, rows[i].stack, rows[i].depth, false, rows[i].epoch, v,
                                      NULL, 0)) < 0)
            goto out;
    }
out:
    free(rows);
    return rc;
}

static int text(FILE *f, cd__contention_kind kind)
{
    cd__contention_row *rows = NULL;
    size_t n = 0;
    cd__symctx *sym = NULL;
    int rc = cd__contention_snapshot(kind, &rows, &n);
    if (rc < 0)
        return rc;
    if ((rc = cd__sym_begin(&sym)) < 0)
        goto out;
    qsort(rows, n, sizeof *rows, by_delay);
    /* Each stack ends before its first pc in no code, as in the proto
     * form (base/symbolize.h, cd__sym_cut). */
    for (size_t i = 0; i < n; i++)
        rows[i].depth = cd__sym_cut(sym, rows[i].stack, rows[i].depth, rows[i].epoch, true);
    if (kind == CD__CONTENTION_MUTEX) {
        fprintf(f, "--- mutex:\ncycles/second=1000000000\nsampling period=%lld\n",
                (long long)cd__contention_set_mutex_fraction(-1));
    } else {
        fprintf(f, "--- contention:\ncycles/second=1000000000\n");
    }
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "%lld %lld @", (long long)rows[i].delay_ns, (long long)rows[i].count);
        for (size_t j = 0; j < rows[i].depth; j++)
            fprintf(f, " %#lx", (unsigned long)rows[i].stack[j]);
        fputc('\n', f);
        cd__countprof_print_stack(f, sym, rows[i].stack, rows[i].depth, rows[i].epoch);
    }
    rc = ferror(f) ? -EIO : 0;
out:
    cd__sym_end(sym);
    free(rows);
    return rc;
}

static int64_t count_kind(cd__contention_kind kind)
{
    cd__contention_row *rows = NULL;
    size_t n = 0;
    if (cd__contention_snapshot(kind, &rows, &n) < 0)
        return -1;
    free(rows);
    return (int64_t)n;
}

static int block_build(cd__pprof *p)
{
    return build(p, CD__CONTENTION_BLOCK);
}

static int block_text(FILE *f, int debug)
{
    (void)debug; /* no debug=2 form in Go either */
    return text(f, CD__CONTENTION_BLOCK);
}

static int64_t block_count(void)
{
    return count_kind(CD__CONTENTION_BLOCK);
}

static int mutex_build(cd__pprof *p)
{
    return build(p, CD__CONTENTION_MUTEX);
}

static int mutex_text(FILE *f, int debug)
{
    (void)debug;
    return text(f, CD__CONTENTION_MUTEX);
}

static int64_t mutex_count(void)
{
    return count_kind(CD__CONTENTION_MUTEX);
}

static const cd__profile block_profile = {
    .name = "block",
    .desc = "Stack traces that led to blocking on synchronization primitives",
    .delta = true,
    .count = block_count,
    .build = block_build,
    .text = block_text,
};

static const cd__profile mutex_profile = {
    .name = "mutex",
    .desc = "Stack traces of holders of contended mutexes",
    .delta = true,
    .count = mutex_count,
    .build = mutex_build,
    .text = mutex_text,
};

int cd__lockprof_register(void)
{
    int rc = cd__profile_register(&block_profile);
    return rc == 0 ? cd__profile_register(&mutex_profile) : rc;
}

int cd_blockprof_write(int fd, int debug)
{
    return cd__profile_write_fd(&block_profile, fd, debug);
}

int cd_mutexprof_write(int fd, int debug)
{
    return cd__profile_write_fd(&mutex_profile, fd, debug);
}

void cd_set_block_profile_rate(int64_t ns)
{
    cd__contention_set_block_rate(ns);
}

int cd_set_mutex_profile_fraction(int n)
{
    return (int)cd__contention_set_mutex_fraction(n);
}

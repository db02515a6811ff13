/* bench/bench_heapprof.c - cost of heap profiling on the allocation path:
 * ns per cd_alloc with the memprofilerate the environment gives
 * (bench/run_heapprof runs it with CDEBUG=memprofilerate=0 and with the
 * default, 512 KiB, alternating).
 *
 * A single thread allocates N objects of --size bytes in a loop, writes
 * one byte of each and drops it, as bench_alloc does; the time includes
 * the collections the garbage causes, and at the default rate the sampled
 * allocations (frame walk, bdwgc link, record) and the once-per-collection
 * sweep of records. A warm-up of N/10 allocations and a forced collection
 * come first. Output, one line on stdout:
 *
 *     heapprof size=64 iters=20000000 ns_per_op=21.3 cpu_ns_per_op=24.1 sampled=2441 rate=524288
 *
 * ns_per_op is wall time; cpu_ns_per_op the process's CPU time (every
 * thread, so the parallel markers count), steadier on a shared machine.
 * sampled: objects the profiler recorded during the timed loop (0 when off).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cdebug/cdebug.h>

#include "bench/bench_util.h"
#include "runtime/mprof.h"
#include "runtime/env.h"

static void *volatile sink;

/* Wall time in *wall, process CPU time (every thread: the parallel
 * markers too) in *cpu. */
__attribute__((noinline)) static void loop(size_t size, uint64_t n, uint64_t *wall, uint64_t *cpu)
{
    uint64_t t0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    for (uint64_t i = 0; i < n; i++) {
        char *p = cd_alloc(size);
        p[0] = (char)i;
        sink = p;
    }
    *wall = clock_ns(CLOCK_MONOTONIC) - t0;
    *cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_heapprof [--iters=N] [--size=BYTES]\n"
                    "  N: 1000..1000000000 (default 20000000); BYTES: 1..65536 (default 64)\n");
    return 2;
}

int main(int argc, char **argv)
{
    uint64_t n = 20000000, size = 64;
    if (parse_iters_size(argc, argv, &n, &size) != 0)
        return usage();
    int rc = cd_init();
    if (rc != 0) {
        fprintf(stderr, "bench_heapprof: cd_init: %s\n", cd_strerror(rc));
        return 1;
    }
    uint64_t ns, cpu;
    loop((size_t)size, n / 10, &ns, &cpu);
    sink = NULL;
    cd_gc();
    cd__mprof_stats s0, s1;
    cd__mprof_read_stats(&s0);
    loop((size_t)size, n, &ns, &cpu);
    cd__mprof_read_stats(&s1);
    printf("heapprof size=%" PRIu64 " iters=%" PRIu64
           " ns_per_op=%.2f cpu_ns_per_op=%.2f sampled=%" PRIu64 " rate=%d\n",
           size, n, (double)ns / (double)n, (double)cpu / (double)n, s1.sampled - s0.sampled,
           cd__cfg.memprofilerate);
    sink = NULL;
    cd_shutdown();
    return 0;
}

/* bench/bench_malloc.c - the cost of cdebug's malloc (runtime/malloc.c):
 * ns per malloc+free pair. It links nothing of cdebug's: bench/run_malloc
 * runs it plain, with libcdebug.so preloaded (sampling off, and at the
 * default rate) and with gperftools' tcmalloc preloaded (plain, and with
 * its heap profiler, HEAPPROFILE), so each side is the same program and
 * the same loop.
 *
 * A single thread runs N pairs: malloc of one of four sizes (--size, 2x,
 * 4x, 8x, in turn), a write of its first byte, free. A warm-up of N/10
 * pairs comes first. Output, one line on stdout:
 *
 *     malloc size=64 iters=20000000 ns_per_pair=17.20 cpu_ns_per_pair=17.31 thread_ns_per_pair=17.02
 *
 * ns_per_pair is wall time; cpu_ns_per_pair the process's CPU time (every
 * thread: a profiler's own threads count); thread_ns_per_pair the calling
 * thread's CPU time alone: what each pair costs the allocating thread, the
 * steadiest on a shared machine.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"

static void *volatile sink;

__attribute__((noinline)) static void loop(size_t size, uint64_t n, uint64_t *wall, uint64_t *cpu,
                                          uint64_t *thr)
{
    uint64_t t0 = clock_ns(CLOCK_MONOTONIC), c0 = clock_ns(CLOCK_PROCESS_CPUTIME_ID),
             h0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    for (uint64_t i = 0; i < n; i++) {
        char *p = malloc(size << (i & 3));
        if (p == NULL)
            abort();
        p[0] = (char)i;
        sink = p;
        free(p);
    }
    *wall = clock_ns(CLOCK_MONOTONIC) - t0;
    *cpu = clock_ns(CLOCK_PROCESS_CPUTIME_ID) - c0;
    *thr = clock_ns(CLOCK_THREAD_CPUTIME_ID) - h0;
}

static int usage(void)
{
    fprintf(stderr, "usage: bench_malloc [--iters=N] [--size=BYTES]\n"
                    "  N: 1000..1000000000 (default 20000000); BYTES: 1..65536 (default 64)\n");
    return 2;
}

int main(int argc, char **argv)
{
    uint64_t n = 20000000, size = 64;
    if (parse_iters_size(argc, argv, &n, &size) != 0)
        return usage();
    uint64_t ns, cpu, thr;
    loop((size_t)size, n / 10, &ns, &cpu, &thr);
    loop((size_t)size, n, &ns, &cpu, &thr);
    printf("malloc size=%" PRIu64 " iters=%" PRIu64
           " ns_per_pair=%.2f cpu_ns_per_pair=%.2f thread_ns_per_pair=%.2f\n",
           size, n, (double)ns / (double)n, (double)cpu / (double)n, (double)thr / (double)n);
    return 0;
}

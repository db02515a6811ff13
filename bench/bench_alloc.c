/* bench/bench_alloc.c - cost of one small allocation: cd_alloc vs bdwgc vs malloc.
 *
 * For each size (16, 64 and 256 bytes) and each allocator, a single thread
 * allocates N objects in a loop, writes one byte of each and drops it:
 *
 *   cd_alloc   cdebug's allocator: GC_malloc plus its own accounting
 *              (the per-thread Mallocs/TotalAlloc counters of MemStats).
 *   GC_MALLOC  bdwgc directly, the floor cd_alloc is built on; the
 *              difference between the two is cdebug's overhead.
 *   malloc     glibc malloc immediately followed by free(), the cost a C
 *              programmer pays without a collector (tcache fast path).
 *
 * The collected cases include the collections their garbage triggers (that
 * is the real cost of garbage), amortised over N; malloc's includes free().
 * cd_alloc and GC_MALLOC return zeroed memory, malloc does not.
 *
 * Each case runs once for N/10 iterations as a warm-up, then a forced
 * collection empties the heap so every case starts from the same state.
 * Output, one line per case on stdout:
 *
 *     alloc kind=cd_alloc size=16 iters=10000000 ns_per_op=12.3
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <gc.h> /* GC_THREADS comes from bench/CMakeLists.txt */

#include "bench/bench_util.h"
#include <cdebug/cdebug.h>

/* Every object is stored here so the compiler cannot elide the allocation. */
static void *volatile sink;

/* One loop per allocator rather than a function pointer, so each loop body is
 * the call a program would write, with nothing extra per iteration. */
static uint64_t loop_cd_alloc(size_t size, uint64_t n)
{
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        char *p = cd_alloc(size);
        p[0] = (char)i;
        sink = p;
    }
    return now_ns() - t0;
}

static uint64_t loop_gc_malloc(size_t size, uint64_t n)
{
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        char *p = GC_MALLOC(size);
        p[0] = (char)i;
        sink = p;
    }
    return now_ns() - t0;
}

static uint64_t loop_malloc(size_t size, uint64_t n)
{
    uint64_t t0 = now_ns();
    for (uint64_t i = 0; i < n; i++) {
        char *p = malloc(size);
        p[0] = (char)i;
        sink = p;
        free(p);
    }
    return now_ns() - t0;
}

static const struct {
    const char *name;
    uint64_t (*loop)(size_t, uint64_t);
} kinds[] = {
    {"cd_alloc", loop_cd_alloc},
    {"GC_MALLOC", loop_gc_malloc},
    {"malloc", loop_malloc},
};

static const size_t sizes[] = {16, 64, 256};

static int usage(const char *prog)
{
    fprintf(stderr, "usage: %s [--iters=N]   (1000 <= N <= 1000000000, default 10000000)\n", prog);
    return 2;
}

int main(int argc, char **argv)
{
    uint64_t n = 10000000;

    for (int i = 1; i < argc; i++) {
        char *end;
        if (strncmp(argv[i], "--iters=", 8) != 0 || argv[i][8] < '0' || argv[i][8] > '9')
            return usage(argv[0]);
        errno = 0;
        unsigned long long v = strtoull(argv[i] + 8, &end, 10);
        if (errno != 0 || *end != '\0' || v < 1000 || v > 1000000000)
            return usage(argv[0]);
        n = v;
    }

    int rc = cd_init(); /* GC_INIT and main-thread registration */
    if (rc != 0) {
        fprintf(stderr, "bench_alloc: cd_init: %s\n", cd_strerror(rc));
        return 1;
    }

    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
            kinds[k].loop(sizes[s], n / 10);
            sink = NULL;
            cd_gc();
            uint64_t ns = kinds[k].loop(sizes[s], n);
            printf("alloc kind=%s size=%zu iters=%" PRIu64 " ns_per_op=%.2f\n", kinds[k].name,
                   sizes[s], n, (double)ns / (double)n);
            fflush(stdout);
        }
    }
    sink = NULL;
    cd_shutdown();
    return 0;
}

/* bench/bench_util.h - small helpers shared by the benchmark programs
 * (header-only: each bench_*.c is its own executable). */
#ifndef CDEBUG_BENCH_UTIL_H
#define CDEBUG_BENCH_UTIL_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

/* Strict unsigned decimal: digits only, no sign or space, at most max.
 * Returns 0, -EINVAL or -ERANGE. */
static inline int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (*s == '\0')
        return -EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    if (v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

/* The clock id's time in ns (CLOCK_MONOTONIC: wall; CLOCK_PROCESS_CPUTIME_ID:
 * the process's CPU, every thread). */
static inline uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Wall time in ns, for intervals (CLOCK_MONOTONIC). */
static inline uint64_t now_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

/* The --iters=N (1000..1000000000) and --size=BYTES (1..65536) options of
 * the allocation benchmarks, over the defaults in *n and *size. 0, or -1
 * on anything else (the caller prints its usage). */
static inline int parse_iters_size(int argc, char **argv, uint64_t *n, uint64_t *size)
{
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--iters=", 8) == 0) {
            if (parse_u64(argv[i] + 8, 1000000000, n) != 0 || *n < 1000)
                return -1;
        } else if (strncmp(argv[i], "--size=", 7) == 0) {
            if (parse_u64(argv[i] + 7, 65536, size) != 0 || *size < 1)
                return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

#endif /* CDEBUG_BENCH_UTIL_H */

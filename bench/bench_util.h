/* bench/bench_util.h - small helpers shared by the benchmark programs
 * (header-only: each bench_*.c is its own executable). */
#ifndef CDEBUG_BENCH_UTIL_H
#define CDEBUG_BENCH_UTIL_H

#include <errno.h>
#include <stdint.h>

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

#endif /* CDEBUG_BENCH_UTIL_H */

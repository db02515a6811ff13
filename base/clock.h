/* base/clock.h - clocks used by every tracer.
 *
 * All functions are thread-safe and async-signal-safe (clock_gettime is on
 * POSIX's async-signal-safe list), allocate nothing and take no lock, so they
 * may run inside bdwgc's collection callback. CLOCK_MONOTONIC is served by the
 * vDSO (~20 ns); the CPU-time clocks are system calls (~200 ns).
 */
#ifndef CDEBUG_BASE_CLOCK_H
#define CDEBUG_BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t cd__clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Monotonic nanoseconds (arbitrary origin). */
static inline uint64_t cd__nanotime(void)
{
    return cd__clock_ns(CLOCK_MONOTONIC);
}

/* Wall-clock nanoseconds since 1970. */
static inline uint64_t cd__walltime(void)
{
    return cd__clock_ns(CLOCK_REALTIME);
}

/* CPU time consumed by the calling thread / the whole process. */
static inline uint64_t cd__thread_cputime(void)
{
    return cd__clock_ns(CLOCK_THREAD_CPUTIME_ID);
}
static inline uint64_t cd__process_cputime(void)
{
    return cd__clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

/* cd__nanotime() when the runtime started (set once by cd_init before any
 * tracer runs); "@T s" in gctrace and "Xms" in schedtrace count from here. */
extern uint64_t cd__start_nanotime;

#endif /* CDEBUG_BASE_CLOCK_H */

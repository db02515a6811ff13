/* bench/bench_cpuprof.c - CPU overhead of a CPU profiler at 100 Hz on a
 * CPU-bound program.
 *
 *   bench_cpuprof --prof=off|cdebug [--threads=T] [--foreign=F] [--iters=N] [--hz=HZ]
 *
 * T threads (default 2) each run N iterations
 * (default 2000000) of a workload with realistic stacks: a chain of 8
 * calls down to a small hash loop, so a profiler walks 10 or more frames
 * per sample. T - F of them register with cdebug (cd_thread_register); the
 * F others (default 0) are plain pthreads, which cdebug sees only through
 * its pthread_create. --prof=cdebug runs cdebug's profiler (cd_cpuprof_start at
 * HZ, default 100) during the work; --prof=off runs nothing itself, which
 * is also how gperftools is measured: bench/run_cpuprof runs the same
 * binary with LD_PRELOAD=libprofiler.so CPUPROFILE=FILE
 * CPUPROFILE_FREQUENCY=100, so gperftools profiles it from load to exit.
 *
 * Measured: the process's CPU time (getrusage, user + system) and the wall
 * time of the work phase only, i.e. with the profiler running, not its
 * start or the writing of the profile (cdebug's stop symbolizes, which
 * bench/run_cpuprof reports apart as stop_ms). Output, one line:
 *
 *   cpuprof prof=cdebug threads=2 iters=2000000 cpu_ns_per_op=512.3
 *       wall_ns_per_op=260.1 samples=204 stop_ms=150
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <cdebug/cdebug.h>
#include <cdebug/prof.h>

#include "bench/bench_util.h"
#include "prof/cpuprof.h"

static volatile uint64_t sink;
static uint64_t iters = 2000000;

static uint64_t rusage_cpu_ns(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000u +
           ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000u;
}

/* The leaf: ~100 ns of integer mixing. */
__attribute__((noinline)) static uint64_t leaf(uint64_t x)
{
    for (int i = 0; i < 64; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    return x;
}

/* 8 frames above the leaf; the addition after the call prevents tail
 * calls, so every frame stays on the stack. */
__attribute__((noinline)) static uint64_t chain(int depth, uint64_t x)
{
    uint64_t r = depth == 0 ? leaf(x) : chain(depth - 1, x + 1);
    return r + (uint64_t)depth;
}

static void *worker(void *arg)
{
    bool registers = arg != NULL;
    if (registers)
        cd_thread_register();
    uint64_t x = (uint64_t)(uintptr_t)&x;
    for (uint64_t i = 0; i < iters; i++)
        x = chain(8, x);
    sink += x;
    if (registers)
        cd_thread_unregister();
    return NULL;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_cpuprof --prof=off|cdebug [--threads=T] [--foreign=F] [--iters=N] "
            "[--hz=HZ]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *prof = NULL;
    uint64_t threads = 2, foreign = 0, hz = 100;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--prof=", 7) == 0)
            prof = argv[i] + 7;
        else if (strncmp(argv[i], "--threads=", 10) == 0) {
            if (parse_u64(argv[i] + 10, 64, &threads) != 0 || threads == 0)
                usage();
        } else if (strncmp(argv[i], "--foreign=", 10) == 0) {
            if (parse_u64(argv[i] + 10, 64, &foreign) != 0)
                usage();
        } else if (strncmp(argv[i], "--iters=", 8) == 0) {
            if (parse_u64(argv[i] + 8, UINT64_C(1) << 40, &iters) != 0 || iters == 0)
                usage();
        } else if (strncmp(argv[i], "--hz=", 5) == 0) {
            if (parse_u64(argv[i] + 5, 1000, &hz) != 0 || hz == 0)
                usage();
        } else
            usage();
    }
    if (prof == NULL || (strcmp(prof, "off") != 0 && strcmp(prof, "cdebug") != 0) ||
        foreign > threads)
        usage();
    bool cdebug = strcmp(prof, "cdebug") == 0;

    cd__cpuprof_stats s0, s1;
    cd__cpuprof_read_stats(&s0);
    int fd = -1;
    if (cdebug) {
        fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        int rc = fd < 0 ? -errno : cd_cpuprof_start(fd, (int)hz);
        if (rc != 0) {
            fprintf(stderr, "bench_cpuprof: cd_cpuprof_start: %s\n", cd_strerror(rc));
            return 1;
        }
    }

    pthread_t th[64];
    uint64_t c0 = rusage_cpu_ns(), w0 = clock_ns(CLOCK_MONOTONIC);
    for (uint64_t i = 0; i < threads; i++)
        if (pthread_create(&th[i], NULL, worker, i < foreign ? NULL : (void *)1) != 0) {
            fprintf(stderr, "bench_cpuprof: pthread_create failed\n");
            return 1;
        }
    for (uint64_t i = 0; i < threads; i++)
        pthread_join(th[i], NULL);
    uint64_t c1 = rusage_cpu_ns(), w1 = clock_ns(CLOCK_MONOTONIC);

    uint64_t stop_ms = 0;
    if (cdebug) {
        uint64_t t = clock_ns(CLOCK_MONOTONIC);
        int rc = cd_cpuprof_stop();
        stop_ms = (clock_ns(CLOCK_MONOTONIC) - t) / 1000000;
        close(fd);
        if (rc != 0) {
            fprintf(stderr, "bench_cpuprof: cd_cpuprof_stop: %s\n", cd_strerror(rc));
            return 1;
        }
    }
    cd__cpuprof_read_stats(&s1);
    double ops = (double)iters * (double)threads;
    printf("cpuprof prof=%s threads=%" PRIu64 " foreign=%" PRIu64 " iters=%" PRIu64
           " cpu_ns_per_op=%.2f wall_ns_per_op=%.2f samples=%" PRIu64 " dropped=%" PRIu64
           " stop_ms=%" PRIu64 "\n",
           prof, threads, foreign, iters, (double)(c1 - c0) / ops, (double)(w1 - w0) / ops,
           s1.samples - s0.samples, s1.dropped - s0.dropped, stop_ms);
    return 0;
}

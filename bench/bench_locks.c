/* bench/bench_locks.c - the cost of cdebug's pthread_mutex_lock
 * (runtime/pthread_locks.c) on an uncontended mutex: lock and unlock
 * pairs in one thread (a second one idle). It links nothing of cdebug's: bench/run_locks runs
 * it plain and with libcdebug.so preloaded, the mutex profile off and on.
 *
 *   bench_locks [--iters=N]
 *
 * Output, one line:
 *
 *   locks iters=N ns_per_pair=18.1 thread_ns_per_pair=18.0
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_util.h"

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static volatile uint64_t counter;

__attribute__((noinline)) static void loop(uint64_t n, uint64_t *wall, uint64_t *thr)
{
    uint64_t t0 = clock_ns(CLOCK_MONOTONIC), h0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    for (uint64_t i = 0; i < n; i++) {
        pthread_mutex_lock(&mu);
        counter++;
        pthread_mutex_unlock(&mu);
    }
    *wall = clock_ns(CLOCK_MONOTONIC) - t0;
    *thr = clock_ns(CLOCK_THREAD_CPUTIME_ID) - h0;
}

static void *sleeper(void *arg)
{
    (void)arg;
    for (;;)
        pause();
    return NULL;
}

int main(int argc, char **argv)
{
    uint64_t n = 50000000;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--iters=", 8) != 0 || parse_u64(argv[i] + 8, 1000000000, &n) != 0 ||
            n < 1000) {
            fprintf(stderr, "usage: bench_locks [--iters=N]   (1000 <= N <= 1000000000)\n");
            return 2;
        }
    }
    /* A second thread, idle: glibc's mutex skips its atomic instructions
     * while a process has one thread, and a program whose locks matter has
     * more. Every side pays the multi-threaded lock. */
    pthread_t idle;
    if (pthread_create(&idle, NULL, sleeper, NULL) != 0)
        return 1;
    uint64_t ns, thr;
    loop(n / 10, &ns, &thr);
    loop(n, &ns, &thr);
    printf("locks iters=%" PRIu64 " ns_per_pair=%.2f thread_ns_per_pair=%.2f\n", n,
           (double)ns / (double)n, (double)thr / (double)n);
    return 0;
}

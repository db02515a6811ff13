/* bench/bench_int_add.c - ns per cd_int_add with T threads adding to one
 * shared cd_int, the workload of bench/peers/intadd/main.go (expvar.Int.Add).
 *
 *     bench_int_add --threads=T --ops=N
 *     int_add threads=2 ops=20000000 ns_per_op=12.34
 *
 * ns_per_op is wall time over N (each thread does N adds, all at once), as
 * the Go peer reports it. The final value is checked: no update is lost.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench/bench_util.h"
#include <cdebug/vars.h>

#define MAX_THREADS 64

static cd_int *counter;
static long long ops;
static atomic_int go_flag;

static void *adder(void *arg)
{
    (void)arg;
    while (!atomic_load_explicit(&go_flag, memory_order_acquire))
        ;
    for (long long i = 0; i < ops; i++)
        cd_int_add(counter, 1);
    return NULL;
}

/* parse_flag("--threads=", arg, &out): strict positive integer. */
static int parse_flag(const char *prefix, const char *arg, long long *out)
{
    size_t n = strlen(prefix);
    if (strncmp(arg, prefix, n) != 0)
        return 0;
    char *end;
    errno = 0;
    long long v = strtoll(arg + n, &end, 10);
    if (errno || end == arg + n || *end || v <= 0) {
        fprintf(stderr, "bench_int_add: bad value in %s\n", arg);
        exit(2);
    }
    *out = v;
    return 1;
}

int main(int argc, char **argv)
{
    long long threads = 1;
    ops = 20000000;
    for (int i = 1; i < argc; i++) {
        if (!parse_flag("--threads=", argv[i], &threads) && !parse_flag("--ops=", argv[i], &ops)) {
            fprintf(stderr, "usage: bench_int_add [--threads=T] [--ops=N]\n");
            return 2;
        }
    }
    if (threads > MAX_THREADS) {
        fprintf(stderr, "bench_int_add: at most %d threads\n", MAX_THREADS);
        return 2;
    }
    counter = cd_int_new("bench_int_add");
    if (counter == NULL) {
        fprintf(stderr, "bench_int_add: cd_int_new: %s\n", strerror(errno));
        return 1;
    }
    pthread_t tids[MAX_THREADS];
    for (long long t = 0; t < threads; t++) {
        int rc = pthread_create(&tids[t], NULL, adder, NULL);
        if (rc) {
            fprintf(stderr, "bench_int_add: pthread_create: %s\n", strerror(rc));
            return 1;
        }
    }
    uint64_t t0 = now_ns();
    atomic_store_explicit(&go_flag, 1, memory_order_release);
    for (long long t = 0; t < threads; t++)
        pthread_join(tids[t], NULL);
    uint64_t el = now_ns() - t0;
    if (cd_int_value(counter) != threads * ops) {
        fprintf(stderr, "bench_int_add: lost updates: %" PRId64 " != %lld\n", cd_int_value(counter),
                threads * ops);
        return 1;
    }
    printf("int_add threads=%lld ops=%lld ns_per_op=%.2f\n", threads, ops,
           (double)el / (double)ops);
    return 0;
}

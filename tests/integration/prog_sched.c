/* tests/integration/prog_sched.c - a pool workload for test_schedtrace.sh.
 *
 *   prog_sched idle MS   do nothing for MS milliseconds
 *   prog_sched busy MS   keep every worker busy and the queues full for MS
 *                        milliseconds: a feeder task spawns CPU-bound tasks
 *                        faster than the workers finish them
 * Prints "tasks=N" (tasks run) on stdout, then shuts the pool down. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cdebug/cdebug.h>

static _Atomic long ran;
static _Atomic int stop;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void burn(void *arg)
{
    (void)arg;
    volatile double x = 0;
    for (int i = 0; i < 200000; i++)
        x += i * 0.5;
    atomic_fetch_add(&ran, 1);
}

/* Keeps about 500 tasks queued until told to stop. */
static void feeder(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        cd_schedstats s;
        cd_read_schedstats(&s);
        if (s.tasks_queued < 500) {
            for (int i = 0; i < 100; i++)
                cd_go_named("burn", burn, NULL);
        } else {
            cd_block_begin("sleep");
            struct timespec ts = {0, 2000000};
            nanosleep(&ts, NULL);
            cd_block_end();
        }
    }
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "idle") != 0 && strcmp(argv[1], "busy") != 0)) {
        fprintf(stderr, "usage: prog_sched idle|busy MS\n");
        return 2;
    }
    int ms = atoi(argv[2]);
    if (strcmp(argv[1], "busy") == 0)
        cd_go_named("feeder", feeder, NULL);
    uint64_t end = now_ms() + (uint64_t)ms;
    while (now_ms() < end) {
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    atomic_store(&stop, 1);
    cd_shutdown();
    printf("tasks=%ld\n", atomic_load(&ran));
    return 0;
}

/* bench/bench_spawn.c - cost of spawning and finishing N tiny tasks.
 *
 * The workload of bench/peers/spawn/main.go, in cdebug: a spawning loop calls
 * cd_wg_add(&wg, 1) and cd_go() N times, each task increments a shared
 * counter and calls cd_wg_done(); the loop then waits for the waitgroup. The
 * result is wall time over N, in nanoseconds per task, which includes the
 * queue push, the wake-ups of idle workers, the pops and steals, the task's
 * run and the final wait.
 *
 * In Go the loop runs in the main goroutine, which sits on a P, so the new
 * goroutines go to that P's local run queue. To keep the shape identical the
 * loop here runs inside a task by default (--spawner=task); --spawner=main
 * runs it on the main thread instead, which is not a worker and so feeds the
 * global queue (useful when working on that path, not comparable with Go).
 *
 * A warm-up run of N/10 tasks comes first, as in the Go peer, so neither side
 * measures first-use costs (free-list growth, thread creation).
 *
 * The number of workers is CDMAXPROCS; bench/run sets it to 1 and 2.
 *
 * --trace=FILE records an execution trace into FILE (cd_trace_start after
 * cd_init, cd_trace_stop after the timed run, both outside the timer), so
 * the warm-up and the timed run are traced: bench/run_trace compares the
 * figure with and without it, as the Go peer's -trace does with
 * runtime/trace. (CDEBUG=trace=FILE traces too, but from process start.)
 *
 * Output, one line on stdout (" spawner=main" and " trace=on" appended
 * with those options):
 *
 *     spawn workers=2 tasks=1000000 ns_per_task=123.4 spawner_cpu_ns=50.1 parks=3 steals=12
 *
 * spawner_cpu_ns is the spawning thread's CPU time in the loop per task:
 * when it is well below ns_per_task, the spawner waited (preempted, or for
 * the workers) rather than spawned. parks and steals are the timed run's
 * (cd_read_schedstats): a worker parks when it runs dry, and each park
 * costs a later spawn a futex wake, which is what makes a run slow.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench_util.h"
#include <cdebug/cdebug.h>
#include <cdebug/trace.h>

/* The spawner's fields, the waitgroup and the counter each have a cache
 * line: in the Go peer they are separate variables. Sharing one line made
 * the spawning loop's read of n miss on every iteration, after each
 * task's counter increment on another core. */
typedef struct bench {
    uint64_t n;                   /* tasks to spawn */
    uint64_t elapsed_ns;          /* spawn loop + wait, written by the spawner */
    uint64_t cpu_ns;              /* the spawner thread's CPU time in the loop */
    int err;                      /* first cd_go failure, 0 if none */
    _Alignas(64) cd_waitgroup wg; /* joins the n tasks */
    _Alignas(64) atomic_uint_fast64_t counter;
    char pad[64 - sizeof(atomic_uint_fast64_t)];
} bench;

/* The tiny task: one atomic add, then done. */
static void tiny_task(void *arg)
{
    bench *b = arg;
    atomic_fetch_add_explicit(&b->counter, 1, memory_order_relaxed);
    cd_wg_done(&b->wg);
}

/* The measured loop, identical to the Go peer's run(). */
static void spawn_all(bench *b)
{
    uint64_t n = b->n; /* a local, as in the Go peer */
    uint64_t t0 = now_ns(), c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    for (uint64_t i = 0; i < n; i++) {
        cd_wg_add(&b->wg, 1);
        int rc = cd_go(tiny_task, b);
        if (rc != 0) {
            cd_wg_done(&b->wg);
            b->err = rc;
            break;
        }
    }
    b->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
    cd_wg_wait(&b->wg);
    b->elapsed_ns = now_ns() - t0;
}

typedef struct spawner_arg {
    bench *b;
    cd_waitgroup done;
} spawner_arg;

static void spawner_task(void *arg)
{
    spawner_arg *s = arg;
    spawn_all(s->b);
    cd_wg_done(&s->done);
}

/* Runs one measurement of n tasks. Returns 0 or a negative errno. */
static int run(uint64_t n, bool from_task, uint64_t *elapsed_ns, uint64_t *cpu_ns)
{
    /* Static storage: the bench struct outlives every task that points at
     * it, and globals are GC roots, so nothing needs the heap. */
    static bench b;
    static spawner_arg s;

    memset(&b, 0, sizeof b);
    b.n = n;
    cd_wg_init(&b.wg);
    if (from_task) {
        s.b = &b;
        cd_wg_init(&s.done);
        cd_wg_add(&s.done, 1);
        int rc = cd_go(spawner_task, &s);
        if (rc != 0)
            return rc;
        cd_wg_wait(&s.done);
    } else {
        spawn_all(&b);
    }
    if (b.err != 0)
        return b.err;
    uint64_t got = atomic_load(&b.counter);
    if (got != n) {
        fprintf(stderr, "bench_spawn: counter is %" PRIu64 ", want %" PRIu64 "\n", got, n);
        return -EPROTO;
    }
    *elapsed_ns = b.elapsed_ns;
    *cpu_ns = b.cpu_ns;
    return 0;
}

static int usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [--tasks=N] [--spawner=task|main] [--trace=FILE]\n"
            "  --tasks=N    tasks to spawn (1..100000000, default 1000000)\n"
            "  --spawner=S  where the spawning loop runs (default task, like Go's main)\n"
            "  --trace=FILE trace the warm-up and the timed run into FILE (created)\n"
            "Workers: CDMAXPROCS.\n",
            prog);
    return 2;
}

int main(int argc, char **argv)
{
    uint64_t n = 1000000;
    bool from_task = true;
    const char *trace_path = NULL;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--tasks=", 8) == 0) {
            if (parse_u64(a + 8, 100000000, &n) != 0 || n == 0)
                return usage(argv[0]);
        } else if (strcmp(a, "--spawner=task") == 0) {
            from_task = true;
        } else if (strcmp(a, "--spawner=main") == 0) {
            from_task = false;
        } else if (strncmp(a, "--trace=", 8) == 0 && a[8] != '\0') {
            trace_path = a + 8;
        } else {
            return usage(argv[0]);
        }
    }

    int rc = cd_init();
    int trace_fd = -1;
    if (rc == 0 && trace_path != NULL) {
        trace_fd = open(trace_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (trace_fd < 0) {
            fprintf(stderr, "bench_spawn: %s: %s\n", trace_path, strerror(errno));
            return 1;
        }
        rc = cd_trace_start(trace_fd);
    }
    uint64_t elapsed = 0, cpu = 0;
    cd_schedstats s0, s1;
    if (rc == 0)
        rc = run(n / 10 + 1, from_task, &elapsed, &cpu); /* warm-up, discarded */
    cd_read_schedstats(&s0);
    if (rc == 0)
        rc = run(n, from_task, &elapsed, &cpu);
    cd_read_schedstats(&s1);
    if (rc == 0 && trace_fd >= 0) {
        /* Every event reaches the file before the line is printed. */
        rc = cd_trace_stop();
        close(trace_fd);
    }
    if (rc != 0) {
        fprintf(stderr, "bench_spawn: %s\n", cd_strerror(rc));
        return 1;
    }
    printf("spawn workers=%d tasks=%" PRIu64 " ns_per_task=%.1f spawner_cpu_ns=%.1f parks=%" PRIu64
           " steals=%" PRIu64 "%s%s\n",
           cd_maxprocs(), n, (double)elapsed / (double)n, (double)cpu / (double)n,
           s1.parks - s0.parks, s1.steals - s0.steals, from_task ? "" : " spawner=main",
           trace_fd >= 0 ? " trace=on" : "");
    fflush(stdout);
    cd_shutdown();
    return 0;
}

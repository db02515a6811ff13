/* examples/spawn.c - keep the scheduler busy so schedtrace has something to show.
 *
 * Each round, main spawns --tasks small CPU-bound tasks and waits for them
 * with a waitgroup. One task in eight is a "parent": it spawns --fanout
 * children, then waits for them on its own waitgroup before finishing. With
 * the defaults this is a few seconds of work for two workers.
 *
 *     CDEBUG=schedtrace=500 CDMAXPROCS=2 ./build/examples/spawn
 *
 *     SCHED 2ms: gomaxprocs=2 idleprocs=1 threads=2 spinningthreads=1 idlethreads=0
 *         runqueue=500 [0 0]
 *     SCHED 503ms: gomaxprocs=2 idleprocs=0 threads=37 spinningthreads=0 idlethreads=5
 *         runqueue=1215 [89 73]
 *     SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=39 spinningthreads=0 idlethreads=20
 *         runqueue=454 [85 4]
 *
 * (SCHED lines are wrapped here; the program prints each as one line on stderr)
 *
 * and with scheddetail=1 (the per-worker queues move to the P lines):
 *
 *     SCHED 509ms: gomaxprocs=2 idleprocs=0 threads=37 spinningthreads=0 idlethreads=14
 *         runqueue=1083
 *       P0: status=1 schedtick=6751 syscalltick=568 m=14 runqsize=48 gfreecnt=108
 *       P1: status=1 schedtick=6562 syscalltick=547 m=7 runqsize=16 gfreecnt=117
 *       M36: p=-1 curg=12857 spinning=false blocked=true
 *       M14: p=0 curg=14273 spinning=false blocked=false
 *       ...
 *       G12857: status=4(sync.WaitGroup.Wait) m=36
 *
 * What to look for:
 *
 *   - runqueue= is the global queue. main is not a worker, so the tasks it
 *     spawns land there: right after each round starts it holds most of the
 *     round, then drains as the workers take batches from it.
 *   - [a b] are the workers' local queues. A worker that takes from the
 *     global queue moves a batch into its local one, children spawned by a
 *     parent task go to the local queue of the parent's worker, and an idle
 *     worker steals half of another's queue: both figures stay non-zero.
 *   - idleprocs=0 while a round runs: both workers are busy. Between rounds,
 *     or with --tasks=1, they go idle.
 *   - threads= is larger than gomaxprocs: a parent waiting in cd_wg_wait
 *     blocks its OS thread, so its worker is handed to another thread (Go
 *     does the same around a blocking system call). Those threads park
 *     afterwards and are counted in idlethreads=.
 *   - With scheddetail=1, G lines show parents waiting with reason
 *     "sync.WaitGroup.Wait" while their children run.
 *
 * The summary line on stdout gives the number of tasks that ran (which must
 * equal the expected count) and the wall time.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cdebug/cdebug.h>

/* One task in PARENT_EVERY spawns children. */
#define PARENT_EVERY 8

typedef struct options {
    uint64_t tasks;  /* tasks main spawns per round */
    uint64_t rounds; /* rounds */
    uint64_t fanout; /* children per parent task */
    uint64_t work;   /* loop iterations of CPU work per task */
} options;

static options opt = {
    .tasks = 2000,
    .rounds = 40,
    .fanout = 4,
    .work = 20000,
};

static atomic_uint_fast64_t tasks_run;
/* Results of the busy loops are folded in here so the compiler cannot drop
 * the work. */
static atomic_uint_fast64_t sink;

/* ---- The work ----------------------------------------------------------- */

/* A short CPU-bound computation: xorshift64 steps. Roughly 2 ns per
 * iteration, no memory traffic, so the tasks measure the scheduler rather
 * than the cache. */
static void busy(uint64_t seed)
{
    uint64_t x = seed | 1;
    for (uint64_t i = 0; i < opt.work; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    atomic_fetch_xor_explicit(&sink, x, memory_order_relaxed);
}

/* Task arguments point into arrays owned by whoever waits for the tasks, so
 * nothing is allocated per task and the arrays outlive every task using them. */
typedef struct child_arg {
    uint64_t seed;
    cd_waitgroup *wg;
} child_arg;

static void child_task(void *arg)
{
    child_arg *c = arg;
    busy(c->seed);
    atomic_fetch_add_explicit(&tasks_run, 1, memory_order_relaxed);
    cd_wg_done(c->wg);
}

typedef struct root_arg {
    uint64_t index;
    cd_waitgroup *round;
} root_arg;

static void die_spawn(int rc)
{
    fprintf(stderr, "spawn: cd_go: %s\n", cd_strerror(rc));
    exit(1);
}

/* A task spawned by main. Parents fan out first so the children can run on
 * the other worker while the parent does its own share of the work. */
static void root_task(void *arg)
{
    root_arg *r = arg;
    bool parent = opt.fanout > 0 && r->index % PARENT_EVERY == 0;

    if (!parent) {
        busy(r->index);
    } else {
        /* The children's arguments live in this task's GC allocation, kept
         * reachable by this frame until cd_wg_wait returns. */
        cd_waitgroup wg;
        child_arg *kids = cd_alloc(opt.fanout * sizeof *kids);
        if (kids == NULL) {
            fprintf(stderr, "spawn: out of memory\n");
            exit(1);
        }
        cd_wg_init(&wg);
        cd_wg_add(&wg, (int)opt.fanout);
        for (uint64_t i = 0; i < opt.fanout; i++) {
            kids[i].seed = r->index * 31 + i;
            kids[i].wg = &wg;
            int rc = cd_go_named("child", child_task, &kids[i]);
            if (rc != 0)
                die_spawn(rc);
        }
        busy(r->index);
        /* Blocks this thread; the scheduler hands the worker to another
         * thread so the children (and everything else) keep running. */
        cd_wg_wait(&wg);
    }
    atomic_fetch_add_explicit(&tasks_run, 1, memory_order_relaxed);
    cd_wg_done(r->round);
}

/* ---- Command line --------------------------------------------------------- */

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s [--tasks=N] [--rounds=N] [--fanout=N] [--work=N]\n"
            "  --tasks=N   tasks main spawns per round (1..10000000, default %" PRIu64 ")\n"
            "  --rounds=N  rounds, each waited for with a waitgroup (1..1000000, default %" PRIu64
            ")\n"
            "  --fanout=N  children spawned by one task in %d (0..10000, default %" PRIu64 ")\n"
            "  --work=N    busy-loop iterations per task, ~2 ns each (0..1000000000, default "
            "%" PRIu64 ")\n"
            "Try: CDEBUG=schedtrace=500,scheddetail=1 CDMAXPROCS=2 %s\n",
            prog, opt.tasks, opt.rounds, PARENT_EVERY, opt.fanout, opt.work, prog);
}

/* Strict unsigned decimal: digits only (no sign, no spaces, no hex), no
 * overflow, within [min, max]. */
static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
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
    if (v < min || v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

/* Returns 0 to run, or the exit status (0 after --help, 2 on a usage error). */
static int parse_args(int argc, char **argv, int *exit_code)
{
    static const struct {
        const char *name;
        uint64_t *dst;
        uint64_t min, max;
    } flags[] = {
        {"--tasks=", &opt.tasks, 1, 10000000},
        {"--rounds=", &opt.rounds, 1, 1000000},
        {"--fanout=", &opt.fanout, 0, 10000},
        {"--work=", &opt.work, 0, 1000000000},
    };
    const char *prog = argv[0];

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout, prog);
            *exit_code = 0;
            return 1;
        }
        size_t k;
        for (k = 0; k < sizeof flags / sizeof flags[0]; k++) {
            size_t len = strlen(flags[k].name);
            if (strncmp(a, flags[k].name, len) == 0)
                break;
        }
        if (k == sizeof flags / sizeof flags[0]) {
            fprintf(stderr, "spawn: unknown argument \"%s\"\n", a);
            goto bad;
        }
        const char *val = a + strlen(flags[k].name);
        int rc = parse_u64(val, flags[k].min, flags[k].max, flags[k].dst);
        if (rc != 0) {
            fprintf(stderr,
                    "spawn: invalid value \"%s\" for %.*s: want an integer in [%" PRIu64
                    ", %" PRIu64 "]\n",
                    val, (int)strlen(flags[k].name) - 1, flags[k].name, flags[k].min, flags[k].max);
            goto bad;
        }
    }
    return 0;

bad:
    usage(stderr, prog);
    *exit_code = 2;
    return 1;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    int code;
    if (parse_args(argc, argv, &code) != 0)
        return code;

    int rc = cd_init(); /* already done by the library constructor; 0 again */
    if (rc != 0) {
        fprintf(stderr, "spawn: cd_init: %s\n", cd_strerror(rc));
        return 1;
    }

    uint64_t parents = opt.fanout > 0 ? (opt.tasks + PARENT_EVERY - 1) / PARENT_EVERY : 0;
    uint64_t expected = opt.rounds * (opt.tasks + parents * opt.fanout);

    /* One argument array reused by every round: a round's tasks have all
     * finished before the next round rewrites it. Pointer-holding, so GC
     * memory from cd_alloc (the round waitgroup pointer is in it). */
    root_arg *args = cd_alloc(opt.tasks * sizeof *args);
    if (args == NULL) {
        fprintf(stderr, "spawn: out of memory\n");
        return 1;
    }

    double t0 = now_s();
    for (uint64_t r = 0; r < opt.rounds; r++) {
        cd_waitgroup round;
        cd_wg_init(&round);
        cd_wg_add(&round, (int)opt.tasks);
        for (uint64_t i = 0; i < opt.tasks; i++) {
            args[i].index = i;
            args[i].round = &round;
            if ((rc = cd_go_named("root", root_task, &args[i])) != 0)
                die_spawn(rc);
        }
        cd_wg_wait(&round);
    }
    double elapsed = now_s() - t0;

    uint64_t ran = atomic_load(&tasks_run);
    printf("spawn: workers=%d rounds=%" PRIu64 " tasks=%" PRIu64 " fanout=%" PRIu64
           " expected=%" PRIu64 " ran=%" PRIu64 " elapsed=%.3fs us_per_task=%.2f\n",
           cd_maxprocs(), opt.rounds, opt.tasks, opt.fanout, expected, ran, elapsed,
           ran ? elapsed * 1e6 / (double)ran : 0.0);
    fflush(stdout);
    cd_shutdown();
    return ran == expected ? 0 : 1;
}

/* tests/integration/prog_lint.c - programs on the real runtime whose traces
 * should each trigger exactly one lint of `cdebug-trace stats`
 * (viewer/cdebug-trace/lints.c; heap-growth: see below), and a healthy one
 * that triggers none; for test_trace_lints.sh and test_trace_diff.sh.
 *
 *   CDEBUG=trace=FILE CDMAXPROCS=N prog_lint MODE
 *   prog_lint lost-events FILE        (traces itself, without CDEBUG=trace)
 *
 * MODE is the lint's id, with the number of workers it needs:
 *
 *   healthy          2  250 waves of 4 short tasks ("work": compute 500 us,
 *                       one in 50 reads first): both workers busy, short waits
 *                       (small waves: the last task of a wave waits for the
 *                       ones before it, and a loaded machine slows each).
 *                       It allocates nothing, so it never collects (every
 *                       bdwgc collection here stops the world for more than
 *                       100 us, see heap-growth)
 *   low-parallelism  4  one "serial" task computes 100 chunks of 2 ms, with
 *                       a read before each: one worker of four busy (the
 *                       Go tutorial's "only using one P at a time")
 *   gc-pause         1  a live heap of 100,000 pointer-rich objects, then
 *                       cd_gc(): a stop-the-world mark of milliseconds;
 *                       then the list is freed and collected
 *   heap-growth      1  a list of pointer-free 256 KiB blocks that only
 *                       grows, cd_gc() after every 4 blocks (the Go tutorial's
 *                       leak). Its collections are as short as bdwgc's get
 *                       (the blocks are never scanned), yet marking the
 *                       roots and stacks of an almost empty heap takes
 *                       0.1-0.5 ms here, above gc-pause's 100 us: that lint
 *                       may fire too
 *   sched-wait       1  1000 "queued" tasks (compute 200 us, one in 50 reads
 *                       first) spawned at once: the last waits about 200 ms
 *   long-task        1  one "crunch" task that computes for 60 ms without
 *                       ever blocking
 *   lost-events      1  the trace goes to a pipe nobody reads while the main
 *                       thread records 2,000,000 regions: the writer blocks,
 *                       the recorder runs out of buffers and drops batches;
 *                       then a relay thread copies the pipe to FILE
 *
 * Durations are wall-clock spins, so a slow machine (or ASan) changes how
 * much is computed, not how long a task runs; every margin to its lint's
 * threshold is wide (docs/cdebug-trace.md, "Lints"). Short tasks come by
 * the hundred so that the p99 of their run time or wait is not moved by
 * the few tasks the OS happened to deschedule for 10 ms (on a loaded
 * 2-core machine that happens several times a second). Names of tasks not
 * meant to be long-tasks include some that read input with a blocking call
 * (cd_block_begin), as real ones would: the OS's delays then never make
 * them look like tasks that hold their worker (one read in 50 tasks: each
 * hands the worker off, and many would cut the parallelism). Each mode
 * takes under a second.
 *
 * Prints "ok" and exits 0; 1 on a runtime error, 2 on bad usage (unknown
 * mode, wrong CDMAXPROCS, CDEBUG=trace missing or present).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cdebug/cdebug.h>
#include <cdebug/trace.h>

static cd_waitgroup wg;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Computes (never blocks) for `us` microseconds of wall-clock time. */
static void spin_us(uint64_t us)
{
    uint64_t end = now_ns() + us * 1000u;
    volatile uint64_t x = 0;
    while (now_ns() < end)
        for (int i = 0; i < 100; i++)
            x += (uint64_t)i;
}

static int zero_fd = -1; /* /dev/zero: the "input" tasks read */

/* Reads a little input, as a blocking call (cd_block_begin/end): a task
 * that does so is never a long-task, however much the OS delays it. */
static void read_input(void)
{
    char buf[512];
    cd_block_begin("IO wait");
    ssize_t n = read(zero_fd, buf, sizeof buf);
    cd_block_end();
    (void)n;
}

/* Waits until every task created so far has recorded its TASK_END: a task
 * ends after its cd_wg_done, so a trace stopped right after cd_wg_wait
 * could miss the last TASK_END (see prog_trace.c). Bounded: 10 s. */
static void settle(void)
{
    static cd_schedstats ss; /* 4 KiB: off the stack */
    for (int i = 0; i < 10000; i++) {
        cd_read_schedstats(&ss);
        if (ss.tasks_done == ss.tasks_created)
            return;
        usleep(1000);
    }
}

/* ---- healthy ---------------------------------------------------------- */

static void work(void *arg)
{
    if ((long)arg % 50 == 0)
        read_input(); /* one task in 50 */
    spin_us(500);
    cd_wg_done(&wg);
}

static int healthy(void)
{
    for (long wave = 0; wave < 250; wave++) {
        cd_trace_task_id req = cd_trace_task_begin(0, "wave");
        cd_trace_region_begin("spawn");
        cd_wg_add(&wg, 4);
        for (long i = 0; i < 4; i++)
            if (cd_go_named("work", work, (void *)(wave * 4 + i)) != 0)
                return 1;
        cd_trace_region_end();
        cd_trace_region_begin("wait");
        cd_wg_wait(&wg);
        cd_trace_region_end();
        cd_trace_task_end(req);
    }
    return 0;
}

/* ---- low-parallelism --------------------------------------------------- */

/* The Go tutorial's program: one task does all the work, serially, between
 * reads. Its reads are blocking calls, so it is no long-task; and with a
 * single task no timing of the OS can make two workers run at once (a
 * chain of tasks could: a spawning task descheduled before its TASK_END
 * overlaps its child). */
static void serial(void *arg)
{
    (void)arg;
    for (int chunk = 0; chunk < 100; chunk++) {
        read_input();
        spin_us(2000);
    }
    cd_wg_done(&wg);
}

static int low_parallelism(void)
{
    cd_wg_add(&wg, 1);
    if (cd_go_named("serial", serial, NULL) != 0)
        return 1;
    cd_wg_wait(&wg);
    return 0;
}

/* ---- gc-pause ---------------------------------------------------------- */

typedef struct node {
    struct node *next, *other;
    uintptr_t v[2];
} node;

static node *volatile root; /* a global: scanned by the collector */

static int gc_pause(void)
{
    node *head = NULL;
    for (long i = 0; i < 100000; i++) {
        node *n = cd_alloc(sizeof *n);
        if (n == NULL)
            return 1;
        n->next = head;
        n->other = head != NULL ? head->next : NULL;
        n->v[0] = (uintptr_t)i;
        head = n;
        root = head;
    }
    cd_gc(); /* marks 100,000 objects with the world stopped */
    /* Free the list and collect again: the heap after collection falls, so
     * the leak rule (growth at every collection) stays quiet. Freed
     * explicitly because a conservative collector could find a stale
     * pointer to the head on a stack and keep the whole list. */
    root = NULL;
    while (head != NULL) {
        node *next = head->next;
        cd_free(head);
        head = next;
    }
    cd_gc();
    return 0;
}

/* ---- heap-growth ------------------------------------------------------- */

/* A global (scanned by the collector) holding every block; volatile, or the
 * compiler drops stores nobody reads. */
static void *volatile chunks[32];

static int heap_growth(void)
{
    int n = 0;
    for (int round = 0; round < 6; round++) {
        for (int i = 0; i < 4; i++) {
            /* Pointer-free: the collector never scans it, so the marks
             * (and the pauses) stay short however big the heap gets. */
            char *p = cd_alloc_atomic(256 * 1024);
            if (p == NULL)
                return 1;
            memset(p, round, 256 * 1024);
            chunks[n++] = p;
        }
        cd_gc();
    }
    return 0;
}

/* ---- sched-wait --------------------------------------------------------- */

static void queued(void *arg)
{
    if ((long)arg % 50 == 0)
        read_input(); /* one task in 50 */
    spin_us(200);
    cd_wg_done(&wg);
}

static int sched_wait(void)
{
    cd_wg_add(&wg, 1000);
    for (long i = 0; i < 1000; i++)
        if (cd_go_named("queued", queued, (void *)i) != 0)
            return 1;
    cd_wg_wait(&wg);
    return 0;
}

/* ---- long-task ---------------------------------------------------------- */

static void crunch(void *arg)
{
    (void)arg;
    spin_us(60000);
    cd_wg_done(&wg);
}

static int long_task(void)
{
    cd_wg_add(&wg, 1);
    if (cd_go_named("crunch", crunch, NULL) != 0)
        return 1;
    cd_wg_wait(&wg);
    return 0;
}

/* ---- lost-events -------------------------------------------------------- */

static pthread_mutex_t relay_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t relay_cond = PTHREAD_COND_INITIALIZER;
static int relay_go;

typedef struct relay_args {
    int in, out;
    int err; /* errno of a failed read or write, 0 */
} relay_args;

/* A plain thread (unknown to cdebug: it records nothing): waits for the
 * go-ahead, then copies the pipe to the file until end of file. */
static void *relay(void *arg)
{
    relay_args *a = arg;
    pthread_mutex_lock(&relay_lock);
    while (!relay_go)
        pthread_cond_wait(&relay_cond, &relay_lock);
    pthread_mutex_unlock(&relay_lock);
    static char buf[1 << 16];
    for (;;) {
        ssize_t n = read(a->in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            a->err = n < 0 ? errno : 0;
            return NULL;
        }
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(a->out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                a->err = errno;
                return NULL;
            }
            off += w;
        }
    }
}

static int lost_events(const char *path)
{
    int rc = 1, p[2] = {-1, -1};
    relay_args a = {-1, -1, 0};
    pthread_t th;
    bool started = false;
    a.out = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (a.out < 0 || pipe(p) != 0) {
        fprintf(stderr, "prog_lint: %s: %s\n", path, strerror(errno));
        goto cleanup;
    }
    a.in = p[0];
    if (pthread_create(&th, NULL, relay, &a) != 0)
        goto cleanup;
    started = true;
    int err = cd_trace_start(p[1]);
    if (err != 0) {
        fprintf(stderr, "prog_lint: cd_trace_start: %s\n", cd_strerror(err));
        goto cleanup;
    }
    /* Nobody reads the pipe yet: once it is full the writer blocks in
     * write(2), stops handing out buffers, and this thread drops batches
     * after its current buffer and its spares (a few hundred KiB, about
     * 100,000 events; these are 4,000,000). */
    for (long i = 0; i < 2000000; i++) {
        cd_trace_region_begin("burst");
        cd_trace_region_end();
    }
    pthread_mutex_lock(&relay_lock);
    relay_go = 1;
    pthread_cond_signal(&relay_cond);
    pthread_mutex_unlock(&relay_lock);
    err = cd_trace_stop();
    if (err != 0) {
        fprintf(stderr, "prog_lint: cd_trace_stop: %s\n", cd_strerror(err));
        goto cleanup;
    }
    rc = 0;
cleanup:
    if (p[1] >= 0)
        close(p[1]); /* the relay reads to end of file */
    if (started) {
        pthread_mutex_lock(&relay_lock);
        relay_go = 1;
        pthread_cond_signal(&relay_cond);
        pthread_mutex_unlock(&relay_lock);
        pthread_join(th, NULL);
        if (a.err != 0) {
            fprintf(stderr, "prog_lint: copying the trace: %s\n", strerror(a.err));
            rc = 1;
        }
    }
    if (p[0] >= 0)
        close(p[0]);
    if (a.out >= 0 && close(a.out) != 0)
        rc = 1;
    return rc;
}

/* ---- main --------------------------------------------------------------- */

static const struct {
    const char *name;
    int procs;
    int (*run)(void);
} modes[] = {
    {"healthy", 2, healthy},       {"low-parallelism", 4, low_parallelism},
    {"gc-pause", 1, gc_pause},     {"heap-growth", 1, heap_growth},
    {"sched-wait", 1, sched_wait}, {"long-task", 1, long_task},
    {"lost-events", 1, NULL},
};

static void usage(void)
{
    fprintf(stderr, "usage: CDEBUG=trace=FILE CDMAXPROCS=N prog_lint MODE\n"
                    "       prog_lint lost-events FILE\n"
                    "modes (CDMAXPROCS):");
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++)
        fprintf(stderr, " %s (%d)", modes[i].name, modes[i].procs);
    fputc('\n', stderr);
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage();
        return 2;
    }
    size_t m = 0;
    while (m < sizeof modes / sizeof modes[0] && strcmp(argv[1], modes[m].name) != 0)
        m++;
    if (m == sizeof modes / sizeof modes[0] || argc != (modes[m].run == NULL ? 3 : 2)) {
        usage();
        return 2;
    }
    if (cd_maxprocs() != modes[m].procs) {
        fprintf(stderr, "prog_lint: %s needs CDMAXPROCS=%d (have %d)\n", modes[m].name,
                modes[m].procs, cd_maxprocs());
        return 2;
    }
    /* The lost-events mode starts its own trace; the others need one. */
    if (cd_trace_enabled() != (modes[m].run != NULL)) {
        fprintf(stderr, "prog_lint: %s: %s\n", modes[m].name,
                modes[m].run != NULL ? "run with CDEBUG=trace=FILE"
                                     : "run without CDEBUG=trace (it traces itself)");
        return 2;
    }
    zero_fd = open("/dev/zero", O_RDONLY);
    if (zero_fd < 0) {
        fprintf(stderr, "prog_lint: /dev/zero: %s\n", strerror(errno));
        return 1;
    }
    cd_wg_init(&wg);
    int rc = modes[m].run != NULL ? modes[m].run() : lost_events(argv[2]);
    settle();
    if (rc != 0) {
        fprintf(stderr, "prog_lint: %s failed\n", modes[m].name);
        return 1;
    }
    printf("ok\n");
    return 0;
}

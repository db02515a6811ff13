/* tests/integration/prog_taskprof.c - a program whose tasks are known, for
 * test_taskprof.sh and test_sigquit.sh. Run with CDMAXPROCS=2.
 *
 * The state it sets up, then holds:
 *   - 3 tasks "waiter" blocked in wait_here (cd_block_begin("test.wait")),
 *     spawned by the task start_waiters;
 *   - 2 tasks "spinner" running spin_here on the 2 workers, spawned by set_up;
 *   - 5 tasks "queued" that cannot start (both workers spin), spawned by
 *     queue_more.
 *
 *   prog_taskprof files DIR
 *       writes DIR/goroutine.pb.gz (debug 0), goroutine.1.txt, goroutine.2.txt,
 *       threadcreate.pb.gz and threadcreate.1.txt with cd_taskprof_write and
 *       cd_threadprof_write from main, prints "threads N" (threads cdebug
 *       knows), releases everything and exits 0.
 *   prog_taskprof serve
 *       prints "threads N", "port P" (cd_http_port(): the debug server of
 *       CDEBUG=http=...) and "ready", then blocks in read(2) on stdin
 *       (no cd_block_begin: a thread in a system call) until EOF, releases
 *       everything and exits 0.
 *   prog_taskprof churn N
 *       no fixed state: tasks are spawned, block, run and end all the time
 *       (cd_block_begin around short sleeps, garbage for the collector) while main
 *       writes N task and thread profiles of each debug level to
 *       /dev/null; prints "churn ok N" and exits 0. For the sanitizers:
 *       the snapshot races every state change.
 *   prog_taskprof busy
 *       the debug server of CDEBUG=http=... ("listening on PORT") in front
 *       of a program that walks stacks all the time, until SIGTERM (then
 *       prints "done", exits 0): the churn's tasks (spawn, allocate,
 *       block, end), a task sorting with qsort whose comparator allocates
 *       (sampled allocations walked up through libc frames that have no
 *       frame pointer), and a thread that creates short-lived registered
 *       threads (each registration walks its creation stack up through
 *       glibc's start_thread). For test_pprof_stackwalk.sh, whose requests
 *       walk every thread by signal meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cdebug/cdebug.h>
#include <cdebug/http.h>
#include <cdebug/prof.h>

#define WAITERS  3
#define SPINNERS 2
#define QUEUED   5

static _Atomic uint32_t released; /* futex word the waiters sleep on */
static _Atomic int stop;          /* ends the spinners */
static _Atomic int spinning;      /* spinners that started */
static cd_waitgroup all;          /* every task above */

static void die(const char *what, int rc)
{
    fprintf(stderr, "prog_taskprof: %s: %s\n", what, rc < 0 ? cd_strerror(rc) : strerror(errno));
    exit(1);
}

static void __attribute__((noinline)) wait_here(void)
{
    cd_block_begin("test.wait");
    while (atomic_load(&released) == 0)
        syscall(SYS_futex, (uint32_t *)&released, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
    cd_block_end();
}

static void waiter_task(void *arg)
{
    (void)arg;
    wait_here();
    cd_wg_done(&all);
}

static void __attribute__((noinline)) start_waiters(void *arg)
{
    (void)arg;
    for (int i = 0; i < WAITERS; i++) {
        int rc = cd_go_named("waiter", waiter_task, NULL);
        if (rc < 0)
            die("cd_go", rc);
    }
}

static void __attribute__((noinline)) spin_here(void)
{
    atomic_fetch_add(&spinning, 1);
    while (!atomic_load_explicit(&stop, memory_order_relaxed))
        __asm__ volatile("" ::: "memory");
}

static void spin_task(void *arg)
{
    (void)arg;
    spin_here();
    cd_wg_done(&all);
}

static void queued_task(void *arg)
{
    (void)arg;
    cd_wg_done(&all);
}

static void __attribute__((noinline)) queue_more(void)
{
    for (int i = 0; i < QUEUED; i++) {
        int rc = cd_go_named("queued", queued_task, NULL);
        if (rc < 0)
            die("cd_go", rc);
    }
}

static void pause_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

/* Waits (10 s at most) until the workers are in the state described. */
static void __attribute__((noinline)) set_up(void)
{
    cd_wg_init(&all);
    cd_wg_add(&all, WAITERS + SPINNERS + QUEUED);
    int rc = cd_go_named("starter", start_waiters, NULL);
    if (rc < 0)
        die("cd_go", rc);
    cd_schedstats st;
    for (int i = 0;; i++) {
        cd_read_schedstats(&st);
        if (st.tasks_blocked == WAITERS && st.tasks_done == 1)
            break;
        if (i == 1000)
            die("waiters did not block", -ETIMEDOUT);
        pause_ms(10);
    }
    /* One at a time: two spawned together may be taken by one worker (a
     * batch from the global queue), the second then waits in that worker's
     * local queue behind a task that never ends while the other worker
     * idles: cdebug never preempts a task. */
    for (int k = 1; k <= SPINNERS; k++) {
        if ((rc = cd_go_named("spinner", spin_task, NULL)) < 0)
            die("cd_go", rc);
        for (int i = 0; atomic_load(&spinning) < k; i++) {
            if (i == 1000)
                die("spinners did not start", -ETIMEDOUT);
            pause_ms(10);
        }
    }
    queue_more();
}

static void tear_down(void)
{
    atomic_store(&stop, 1);
    atomic_store(&released, 1);
    syscall(SYS_futex, (uint32_t *)&released, FUTEX_WAKE_PRIVATE, WAITERS, NULL, NULL, 0);
    cd_wg_wait(&all);
    cd_shutdown();
}

static void write_one(const char *dir, const char *file, int (*fn)(int, int), int debug)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        die(path, 0);
    int rc = fn(fd, debug);
    if (rc < 0)
        die(file, rc);
    close(fd);
}

static _Atomic int churn_stop;
static bool churn_garbage;
static long churn_pace_ms = 1; /* a spawner's pause between batches */
static cd_waitgroup churn_wg;

static void churn_leaf(void *arg)
{
    (void)arg;
    /* Garbage, so that collections (bdwgc stops the world with signals of
     * its own) run while stacks are asked by signal; none when the
     * collector is off (the ThreadSanitizer runs), or memory would grow
     * without bound. */
    if (churn_garbage) {
        volatile char *junk = cd_alloc(4096);
        junk[0] = 1;
    }
    if (atomic_load(&churn_stop) == 0 && (rand() & 3) == 0) {
        cd_block_begin("churn.sleep");
        pause_ms(1);
        cd_block_end();
    }
    cd_wg_done(&churn_wg);
}

static void churn_spawner(void *arg)
{
    (void)arg;
    while (atomic_load(&churn_stop) == 0) {
        for (int i = 0; i < 16; i++) {
            cd_wg_add(&churn_wg, 1);
            if (cd_go_named("leaf", churn_leaf, NULL) < 0)
                cd_wg_done(&churn_wg);
        }
        cd_block_begin("churn.pace");
        pause_ms(churn_pace_ms);
        cd_block_end();
    }
    cd_wg_done(&churn_wg);
}

static int churn(int rounds)
{
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        die("/dev/null", 0);
    churn_garbage = getenv("GC_DONT_GC") == NULL;
    cd_wg_init(&churn_wg);
    for (int i = 0; i < 3; i++) {
        cd_wg_add(&churn_wg, 1);
        int rc = cd_go_named("spawner", churn_spawner, NULL);
        if (rc < 0)
            die("cd_go", rc);
    }
    for (int r = 0; r < rounds; r++) {
        int rc = cd_taskprof_write(fd, r % 3);
        if (rc == 0)
            rc = cd_threadprof_write(fd, r % 2);
        if (rc < 0)
            die("profile", rc);
    }
    atomic_store(&churn_stop, 1);
    cd_wg_wait(&churn_wg);
    close(fd);
    cd_shutdown();
    printf("churn ok %d\n", rounds);
    return 0;
}

/* ---- busy ---------------------------------------------------------------- */

static int cmp_alloc(const void *a, const void *b)
{
    /* An allocation from a callback of libc's qsort: when sampled, its walk
     * goes up through qsort's frames, which keep no frame pointer. */
    void *p = cd_alloc(64);
    if (!churn_garbage)
        cd_free(p);
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static void sorter_task(void *arg)
{
    (void)arg;
    unsigned seed = 7;
    while (atomic_load(&churn_stop) == 0) {
        int v[64];
        for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
            v[i] = rand_r(&seed);
        qsort(v, sizeof v / sizeof v[0], sizeof v[0], cmp_alloc);
        cd_block_begin("busy.pace");
        pause_ms(churn_pace_ms);
        cd_block_end();
    }
    cd_wg_done(&churn_wg);
}

static void *short_thread(void *arg)
{
    (void)arg;
    if (cd_thread_register() == 0) {
        char *p = cd_alloc(1024);
        p[0] = 1;
        if (!churn_garbage)
            cd_free(p);
        cd_thread_unregister();
    }
    return NULL;
}

/* Not registered: creates threads like a program's own code. */
static void *thread_maker(void *arg)
{
    (void)arg;
    while (atomic_load(&churn_stop) == 0) {
        pthread_t th[4];
        int n = 0;
        for (int i = 0; i < 4; i++)
            if (pthread_create(&th[n], NULL, short_thread, NULL) == 0)
                n++;
        for (int i = 0; i < n; i++)
            pthread_join(th[i], NULL);
        pause_ms(20);
    }
    return NULL;
}

static int busy(void)
{
    /* Before any thread of ours exists, so every thread inherits the mask
     * and sigwait receives the signals. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    if (cd_http_port() <= 0)
        die("no debug server (CDEBUG=http=...)", cd_http_port());
    churn_garbage = getenv("GC_DONT_GC") == NULL;
    churn_pace_ms = 5; /* busy, not flat out: the requests need the CPU too */
    cd_wg_init(&churn_wg);
    for (int i = 0; i < 3; i++) {
        cd_wg_add(&churn_wg, 1);
        int rc =
            cd_go_named(i < 2 ? "spawner" : "sorter", i < 2 ? churn_spawner : sorter_task, NULL);
        if (rc < 0)
            die("cd_go", rc);
    }
    pthread_t maker;
    int rc = pthread_create(&maker, NULL, thread_maker, NULL);
    if (rc != 0)
        die("pthread_create", -rc);
    printf("listening on %d\n", cd_http_port());
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    atomic_store(&churn_stop, 1);
    pthread_join(maker, NULL);
    cd_wg_wait(&churn_wg);
    cd_shutdown();
    printf("done\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "churn") == 0)
        return churn(atoi(argv[2]));
    if (argc == 2 && strcmp(argv[1], "busy") == 0)
        return busy();
    if (argc < 2 || (strcmp(argv[1], "files") == 0 && argc != 3) ||
        (strcmp(argv[1], "files") != 0 && strcmp(argv[1], "serve") != 0)) {
        fprintf(stderr, "usage: %s files DIR | serve | churn N | busy\n", argv[0]);
        return 2;
    }
    set_up();
    cd_schedstats st;
    cd_read_schedstats(&st);
    printf("threads %u\n", st.threads);
    if (strcmp(argv[1], "files") == 0) {
        /* Bad arguments first: nothing written, an error returned. */
        if (cd_taskprof_write(-1, 0) != -EBADF || cd_threadprof_write(1, -1) != -EINVAL)
            die("bad arguments accepted", -EINVAL);
        write_one(argv[2], "goroutine.pb.gz", cd_taskprof_write, 0);
        write_one(argv[2], "goroutine.1.txt", cd_taskprof_write, 1);
        write_one(argv[2], "goroutine.2.txt", cd_taskprof_write, 2);
        write_one(argv[2], "threadcreate.pb.gz", cd_threadprof_write, 0);
        write_one(argv[2], "threadcreate.1.txt", cd_threadprof_write, 1);
    } else {
        printf("port %d\nready\n", cd_http_port());
        fflush(stdout);
        char buf[64];
        while (read(0, buf, sizeof buf) != 0) {
        }
    }
    tear_down();
    printf("done\n");
    return 0;
}

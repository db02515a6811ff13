/* tests/integration/prog_fork.c - children of fork() in a process whose
 * session writes files, for test_fork_files.sh:
 *
 *   prog_fork DIR MEMPROFILE CPUPROFILE
 *
 * run under CDEBUG=trace=FILE,memprofile=MEMPROFILE,cpuprofile=CPUPROFILE
 * (and gctrace=1). The parent runs exactly PARENT_TASKS tasks named
 * "parent" in all: a first round, ROUND_FORK more around each fork (so that
 * the pool is busy when it forks), a last round after the children. It
 * forks one child of each kind in turn and waits for it:
 *
 *   exit      exit(0) at once: the kit's exit path runs in the child
 *   shutdown  spawns CHILD_TASKS tasks, allocates at child_alloc, collects,
 *             cd_shutdown(), exit(0)
 *   _exit     _exit(0): nothing of the kit runs
 *   trace     no trace runs here (cd_trace_enabled false, cd_trace_stop
 *             -ENOENT, no flight recorder); starts its own trace into
 *             DIR/child.trace with cd_trace_start, runs CHILD_TASKS tasks
 *             "childtraced" with a region and a log, stops it (0), exit(0)
 *   workers   spawns CHILD_TASKS tasks, allocates and collects (gctrace
 *             lines), exit(0) while its workers are parked: the exit path
 *             must not wait for a service thread of the parent's
 *
 * Every child runs under alarm(CHILD_TIMEOUT_S): a hang ends it with
 * SIGALRM, and the parent reports "child KIND: status ..." instead of
 * hanging. After the children the parent prints what it finds of
 * MEMPROFILE and CPUPROFILE (they belong to its session: written at its
 * exit only), then allocates at parent_alloc, runs its last round and
 * prints "ok tasks=N". With a flight recorder running (CDEBUG=flight=N) it
 * writes its window to DIR/flight.trace first. Exit status 1 if a child
 * failed.
 *
 * Under ThreadSanitizer (gcc 12) a child of a multi-threaded process
 * cannot start threads ("starting new threads after multi-threaded fork is
 * not supported"): the children that spawn tasks are skipped there (and
 * reported "child KIND: skipped").
 *
 * Under AddressSanitizer the children turn LeakSanitizer off (see
 * __lsan_is_turned_off below); the parent's exit is checked. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cdebug/cdebug.h>
#include <cdebug/trace.h>

#if defined(__clang__)
#define KEEP __attribute__((noinline))
#else
#define KEEP __attribute__((noipa))
#endif

#ifdef __SANITIZE_THREAD__
#define CHILD_THREADS_OK 0
#else
#define CHILD_THREADS_OK 1
#endif

#define ROUND_FIRST     100
#define ROUND_FORK      20
#define ROUND_LAST      100
#define NKINDS          5
#define PARENT_TASKS    (ROUND_FIRST + NKINDS * ROUND_FORK + ROUND_LAST)
#define CHILD_TASKS     30
#define CHILD_TIMEOUT_S 30

static const char *dir;
static volatile int in_child;

#ifdef __SANITIZE_ADDRESS__
/* LeakSanitizer's hook (<sanitizer/lsan_interface.h>), exported from this
 * program (ENABLE_EXPORTS in tests/CMakeLists.txt) so that libasan finds
 * it. gcc 12's LeakSanitizer cannot check a child of a multi-threaded
 * fork: the parent's other threads are gone, so what they held only on
 * their stacks at the fork (the trace writer's scratch buffers,
 * libmicrohttpd's poll array) is reported as leaked; and the check locks
 * every region of the allocator, one of which such a thread may have held
 * at the fork (libasan registers no fork handler for its allocator): the
 * child then waits forever. The children skip the check. */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void)
{
    return in_child;
}
#endif
static cd_waitgroup wg;
static void *kept[64];

static KEEP void spin(void)
{
    volatile unsigned long x = 0;
    for (unsigned long k = 0; k < 200000; k++)
        x += k;
}

static KEEP void parent_work(void *arg)
{
    (void)arg;
    spin();
    cd_wg_done(&wg);
}

static KEEP void child_work(void *arg)
{
    (void)arg;
    spin();
    cd_wg_done(&wg);
}

/* The memprofile's sites: the parent's is in its file, the children's
 * never is. */
static KEEP void parent_alloc(void)
{
    for (int i = 0; i < 64; i++)
        kept[i] = cd_alloc(4096);
}

static KEEP void child_alloc(void)
{
    for (int i = 0; i < 64; i++)
        kept[i] = cd_alloc(8192);
}

static int run_tasks(const char *name, void (*fn)(void *), int n)
{
    for (int i = 0; i < n; i++) {
        cd_wg_add(&wg, 1);
        int rc = cd_go_named(name, fn, NULL);
        if (rc != 0) {
            fprintf(stderr, "prog_fork: cd_go_named: %s\n", cd_strerror(rc));
            return -1;
        }
    }
    return 0;
}

#define CHILD_CHECK(cond)                                                                          \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "prog_fork: child check failed at line %d: %s\n", __LINE__, #cond);    \
            _exit(3);                                                                              \
        }                                                                                          \
    } while (0)

static void child_spawn_and_collect(void)
{
    CHILD_CHECK(run_tasks("child", child_work, CHILD_TASKS) == 0);
    cd_wg_wait(&wg);
    child_alloc();
    for (int i = 0; i < 3; i++)
        cd_gc();
}

static void child_own_trace(void)
{
    /* The parent's trace is not this process's: nothing records here and
     * there is nothing to stop. */
    CHILD_CHECK(!cd_trace_enabled());
    CHILD_CHECK(cd_trace_stop() == -ENOENT);
    CHILD_CHECK(!cd_flight_enabled());
    char path[4096];
    snprintf(path, sizeof path, "%s/child.trace", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHILD_CHECK(fd >= 0);
    int rc = cd_trace_start(fd);
    if (rc != 0)
        fprintf(stderr, "prog_fork: child cd_trace_start: %s\n", cd_strerror(rc));
    CHILD_CHECK(rc == 0);
    CHILD_CHECK(cd_trace_enabled());
    CD_TRACE_REGION("childregion")
    {
        cd_trace_log("child", "tracing");
        CHILD_CHECK(run_tasks("childtraced", child_work, CHILD_TASKS) == 0);
        cd_wg_wait(&wg);
    }
    rc = cd_trace_stop();
    if (rc != 0)
        fprintf(stderr, "prog_fork: child cd_trace_stop: %s\n", cd_strerror(rc));
    CHILD_CHECK(rc == 0);
    CHILD_CHECK(!cd_trace_enabled());
    CHILD_CHECK(close(fd) == 0);
}

static const char *const kinds[NKINDS] = {"exit", "shutdown", "_exit", "trace", "workers"};

static void child_main(int kind)
{
    in_child = 1;
    alarm(CHILD_TIMEOUT_S);
    cd_wg_init(&wg); /* the copy counts the parent's tasks, not run here */
    switch (kind) {
    case 0:
        exit(0);
    case 1:
        child_spawn_and_collect();
        cd_shutdown();
        exit(0);
    case 2:
        _exit(0);
    case 3:
        child_own_trace();
        exit(0);
    default:
        child_spawn_and_collect();
        exit(0);
    }
}

/* The child's status, waiting CHILD_TIMEOUT_S + 30 s at most (the child's
 * alarm ends it first); -1 if it had to be killed. */
static int wait_child(pid_t pid)
{
    for (int i = 0; i < (CHILD_TIMEOUT_S + 30) * 100; i++) {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            return st;
        if (w < 0)
            return -1;
        struct timespec ts = {0, 10000000};
        nanosleep(&ts, NULL);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return -1;
}

static void describe(const char *what, const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0)
        printf("%s after children: absent\n", what);
    else
        printf("%s after children: %lld bytes\n", what, (long long)sb.st_size);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: prog_fork DIR MEMPROFILE CPUPROFILE\n");
        return 2;
    }
    dir = argv[1];
    cd_wg_init(&wg);
    if (run_tasks("parent", parent_work, ROUND_FIRST) != 0)
        return 1;
    cd_wg_wait(&wg);

    int failed = 0;
    for (int kind = 0; kind < NKINDS; kind++) {
        bool threads = kind == 1 || kind == 3 || kind == 4;
        if (run_tasks("parent", parent_work, ROUND_FORK) != 0)
            return 1;
        if (threads && !CHILD_THREADS_OK) {
            printf("child %s: skipped\n", kinds[kind]);
        } else {
            fflush(stdout);
            pid_t pid = fork();
            if (pid < 0) {
                perror("prog_fork: fork");
                return 1;
            }
            if (pid == 0)
                child_main(kind);
            int st = wait_child(pid);
            if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
                printf("child %s: status %#x%s\n", kinds[kind], st,
                       WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM ? " (hung: SIGALRM)" : "");
                failed = 1;
            } else {
                printf("child %s: ok\n", kinds[kind]);
            }
        }
        cd_wg_wait(&wg);
    }
    describe("memprofile", argv[2]);
    describe("cpuprofile", argv[3]);
    parent_alloc();
    if (run_tasks("parent", parent_work, ROUND_LAST) != 0)
        return 1;
    cd_wg_wait(&wg);
    if (cd_flight_enabled()) {
        char path[4096];
        snprintf(path, sizeof path, "%s/flight.trace", dir);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        int rc = fd < 0 ? -errno : cd_flight_write(fd);
        if (rc != 0 || close(fd) != 0) {
            fprintf(stderr, "prog_fork: cd_flight_write: %s\n", cd_strerror(rc));
            return 1;
        }
    }
    printf("ok tasks=%d\n", PARENT_TASKS);
    return failed;
}

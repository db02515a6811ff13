/* tests/integration/prog_cpuprof.c - programs with known CPU behaviour for
 * test_cpuprof.sh and test_cpuprof_stress.sh, which read their profiles
 * with the real `go tool pprof`.
 *
 *   prog_cpuprof split OUT [HZ]   the 70/30 program, profiled from start to
 *                                 end with cd_cpuprof_start/stop into OUT
 *   prog_cpuprof burn             the 70/30 program, unprofiled (for
 *                                 CDEBUG=cpuprofile=FILE)
 *   prog_cpuprof serve            the 70/30 program for ever, behind the
 *                                 debug server ("listening on PORT"); ends
 *                                 on SIGTERM
 *   prog_cpuprof deep OUT         CPU burnt 200 calls deep (stacks cut at 64)
 *   prog_cpuprof nofp OUT         CPU burnt with a garbage frame pointer
 *   prog_cpuprof gc OUT SECONDS   profiled at 1000 Hz while tasks allocate
 *                                 and cd_gc() runs in a loop
 *   prog_cpuprof exit OUT SECONDS profiled while threads register, burn,
 *                                 unregister and exit, and tasks block
 *   prog_cpuprof fork OUT         forks while profiling into OUT; the child
 *                                 stops and exits (must not hang or write)
 *   prog_cpuprof forkenv          the same under CDEBUG=cpuprofile=FILE
 *   prog_cpuprof api              the API's error cases (prints "ok")
 *   prog_cpuprof stress SECONDS   profiles started and stopped over and
 *                                 over while all of the above happens,
 *                                 behind the debug server ("listening on
 *                                 PORT") for more profiles over HTTP
 *
 * The 70/30 program. Two tasks, "alpha" and "beta", each loop over
 * rounds of hot_f() then hot_g(): hot_f does 7 units of work, hot_g 3
 * units of the same work (one unit is calibrated to about 10 ms of CPU).
 * Whatever the scheduling, every thread spends 70% of its CPU in hot_f
 * and 30% in hot_g, so any window of the profile shows 70/30; and since a
 * phase lasts several sampling periods the share's error stays far below
 * a binomial one. alpha's rounds run in alpha_loop, beta's in beta_loop,
 * so a task label can be checked against the call path.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cdebug/cdebug.h>
#include <cdebug/http.h>
#include <cdebug/prof.h>

/* No inlining, cloning or merging of identical functions (GCC's ICF
 * would fold alpha_loop and beta_loop into one): every function named in
 * the tests keeps its own code and symbol. */
#if defined(__clang__)
#define KEEP __attribute__((noinline))
#else
#define KEEP __attribute__((noipa))
#endif

/* Results land here so no work is optimised away (atomic: many threads). */
static _Atomic uint64_t sink;
static uint64_t unit_iters = 1000000;
static _Atomic int stop;

/* One unit of work: a xorshift chain the compiler cannot shorten. Forced
 * inline so that its samples land in the function that runs it. */
static inline __attribute__((always_inline)) void work(uint64_t n, uint64_t seed)
{
    uint64_t x = seed | 1;
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
    }
    atomic_fetch_add_explicit(&sink, x, memory_order_relaxed);
}

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Sets unit_iters to about 10 ms of this thread's CPU. */
static void calibrate(void)
{
    uint64_t n = 1000000;
    for (;;) {
        int64_t t0 = thread_cpu_ns();
        work(n, 7);
        int64_t dt = thread_cpu_ns() - t0;
        if (dt >= 20000000 || n >= (UINT64_C(1) << 40)) {
            unit_iters = (uint64_t)((double)n * 10e6 / (double)(dt > 0 ? dt : 1));
            if (unit_iters < 1000)
                unit_iters = 1000;
            return;
        }
        n *= 2;
    }
}

KEEP void hot_f(void)
{
    work(7 * unit_iters, 0x1234567);
}

KEEP void hot_g(void)
{
    work(3 * unit_iters, 0x7654321);
    __asm__ volatile(""); /* keep hot_g's code distinct from hot_f's */
}

KEEP void alpha_loop(long rounds)
{
    for (long r = 0; (rounds < 0 || r < rounds) && !atomic_load(&stop); r++) {
        hot_f();
        hot_g();
    }
    __asm__ volatile(""); /* no tail call: alpha_loop stays on the stack */
}

KEEP void beta_loop(long rounds)
{
    for (long r = 0; (rounds < 0 || r < rounds) && !atomic_load(&stop); r++) {
        hot_f();
        hot_g();
    }
    __asm__ volatile("");
}

static cd_waitgroup wg, bwg; /* bwg: blocking tasks in the stress run */

static void alpha_task(void *arg)
{
    alpha_loop((long)(intptr_t)arg);
    cd_wg_done(&wg);
}

static void beta_task(void *arg)
{
    beta_loop((long)(intptr_t)arg);
    cd_wg_done(&wg);
}

static int start_split(long rounds)
{
    cd_wg_add(&wg, 2);
    int rc = cd_go_named("alpha", alpha_task, (void *)(intptr_t)rounds);
    if (rc == 0)
        rc = cd_go_named("beta", beta_task, (void *)(intptr_t)rounds);
    if (rc != 0)
        fprintf(stderr, "prog_cpuprof: cd_go_named: %s\n", cd_strerror(rc));
    return rc;
}

static int open_out(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        fprintf(stderr, "prog_cpuprof: %s: %s\n", path, strerror(errno));
    return fd;
}

static int start_prof(int fd, int hz)
{
    int rc = cd_cpuprof_start(fd, hz);
    if (rc != 0)
        fprintf(stderr, "prog_cpuprof: cd_cpuprof_start: %s\n", cd_strerror(rc));
    return rc;
}

static int stop_prof(int fd)
{
    int rc = cd_cpuprof_stop();
    if (rc != 0)
        fprintf(stderr, "prog_cpuprof: cd_cpuprof_stop: %s\n", cd_strerror(rc));
    close(fd);
    return rc;
}

/* ---- split and serve ----------------------------------------------------- */

static int run_split(const char *out, int hz)
{
    calibrate();
    int fd = open_out(out);
    if (fd < 0 || start_prof(fd, hz) != 0)
        return 1;
    /* 50 rounds of ~100 ms per task: ~10 CPU-seconds, 1000 samples at
     * 100 Hz (the calibration may be off by a third on a busy machine). */
    if (start_split(50) != 0)
        return 1;
    cd_wg_wait(&wg);
    return stop_prof(fd) != 0;
}

/* The 70/30 program without a profile of its own: for CDEBUG=cpuprofile,
 * which starts one at init and writes it when main returns. */
static int run_burn(void)
{
    calibrate();
    if (start_split(50) != 0)
        return 1;
    cd_wg_wait(&wg);
    return 0;
}

static void on_term(int sig)
{
    (void)sig;
    atomic_store(&stop, 1);
}

static int run_serve(void)
{
    calibrate();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    int rc = cd_http_start("127.0.0.1:0");
    if (rc != 0) {
        fprintf(stderr, "prog_cpuprof: cd_http_start: %s\n", cd_strerror(rc));
        return 1;
    }
    if (start_split(-1) != 0)
        return 1;
    printf("listening on %d\n", cd_http_port());
    fflush(stdout);
    cd_wg_wait(&wg); /* until SIGTERM */
    cd_http_stop();
    printf("stopped\n");
    return 0;
}

/* ---- deep recursion ---------------------------------------------------- */

KEEP void deep_leaf(void)
{
    work(50 * unit_iters, 3);
}

KEEP int deep(int n)
{
    if (n == 0)
        deep_leaf();
    else
        deep(n - 1);
    atomic_fetch_add_explicit(&sink, (uint64_t)n,
                              memory_order_relaxed); /* work after the call: no tail call */
    return n;
}

static int run_deep(const char *out)
{
    calibrate();
    int fd = open_out(out);
    if (fd < 0 || start_prof(fd, 250) != 0)
        return 1;
    deep(200);
    return stop_prof(fd) != 0;
}

/* ---- code without frame pointers --------------------------------------- */

#if defined(__x86_64__)
/* Compiled without a frame pointer, and spinning with rbp holding
 * `garbage`: the profiler's walk starts from that value. The spin is in
 * assembly so the compiler cannot restore rbp behind our back; 128 bytes
 * are skipped first so the push does not clobber a red zone. */
KEEP __attribute__((optimize("omit-frame-pointer"))) uint64_t nofp_spin(uint64_t n,
                                                                        uint64_t garbage)
{
    uint64_t x = 88172645463325252ull;
    __asm__ volatile("sub $128, %%rsp\n\t"
                     "push %%rbp\n\t"
                     "mov %[g], %%rbp\n\t"
                     "1:\n\t"
                     "mov %[x], %%rax\n\t"
                     "shl $13, %%rax\n\t"
                     "xor %%rax, %[x]\n\t"
                     "mov %[x], %%rax\n\t"
                     "shr $7, %%rax\n\t"
                     "xor %%rax, %[x]\n\t"
                     "dec %[n]\n\t"
                     "jnz 1b\n\t"
                     "pop %%rbp\n\t"
                     "add $128, %%rsp\n\t"
                     : [x] "+r"(x), [n] "+r"(n)
                     : [g] "r"(garbage)
                     : "rax", "cc", "memory");
    return x;
}
#endif

KEEP void nofp_caller(void)
{
#if defined(__x86_64__)
    /* Garbage of every kind: a small number, a kernel address, an odd
     * address, a pointer into this stack to a fake frame that points to
     * itself, and one that points below the stack pointer. */
    uintptr_t fake[4];
    fake[0] = (uintptr_t)&fake[0]; /* a loop */
    fake[1] = (uintptr_t)&nofp_caller + 3;
    fake[2] = (uintptr_t)&fake[0] - 4096;
    fake[3] = 0;
    uint64_t garbage[] = {0x10,
                          0xffff800000000000ull,
                          (uintptr_t)&fake[0] + 3,
                          (uintptr_t)&fake[0],
                          (uintptr_t)&fake[2],
                          (uintptr_t)__builtin_frame_address(0) - 65536};
    for (int r = 0; r < 4; r++)
        for (size_t i = 0; i < sizeof garbage / sizeof garbage[0]; i++)
            atomic_fetch_add_explicit(&sink, nofp_spin(unit_iters * 5, garbage[i]),
                                      memory_order_relaxed);
    __asm__ volatile("" ::"r"(fake) : "memory");
#else
    work(120 * unit_iters, 5);
#endif
}

static int run_nofp(const char *out)
{
    calibrate();
    int fd = open_out(out);
    if (fd < 0 || start_prof(fd, 1000) != 0)
        return 1;
    nofp_caller();
    return stop_prof(fd) != 0;
}

/* ---- collections during the profile ------------------------------------ */

typedef struct node {
    struct node *next;
    char pad[48];
} node;

static void churn_task(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        node *head = NULL;
        for (int i = 0; i < 2000; i++) {
            node *n = cd_alloc(sizeof *n);
            if (n == NULL)
                break;
            n->next = head;
            head = n;
        }
        atomic_fetch_add_explicit(&sink, (uint64_t)(uintptr_t)head, memory_order_relaxed);
    }
    cd_wg_done(&wg);
}

KEEP void gc_loop(double seconds)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        cd_gc();
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((double)(t.tv_sec - t0.tv_sec) + (double)(t.tv_nsec - t0.tv_nsec) / 1e9 < seconds);
}

static int run_gc(const char *out, double seconds)
{
    int fd = open_out(out);
    if (fd < 0 || start_prof(fd, 1000) != 0)
        return 1;
    for (int i = 0; i < 3; i++) {
        cd_wg_add(&wg, 1);
        if (cd_go_named("churn", churn_task, NULL) != 0)
            return 1;
    }
    gc_loop(seconds);
    atomic_store(&stop, 1);
    cd_wg_wait(&wg);
    return stop_prof(fd) != 0;
}

/* ---- threads exiting mid-profile --------------------------------------- */

KEEP void exit_burn(void)
{
    work(2 * unit_iters, 11);
}

static void *short_thread(void *arg)
{
    (void)arg;
    if (cd_thread_register() != 0)
        return NULL;
    exit_burn();
    cd_thread_unregister();
    return NULL;
}

static void blocker_task(void *arg)
{
    cd_waitgroup *done = arg;
    /* A blocking call hands the worker away: the pool starts or wakes
     * another thread, so threads come and go while the profile runs. */
    cd_block_begin("sleep");
    struct timespec d = {0, 2 * 1000000};
    nanosleep(&d, NULL);
    cd_block_end();
    work(unit_iters / 4, 13);
    cd_wg_done(done);
}

static double since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Runs the thread churn for `seconds`: batches of 4 registered threads
 * and 8 blocking tasks. */
static int churn_threads(double seconds)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    while (since(&t0) < seconds) {
        pthread_t th[4];
        int n = 0;
        for (int i = 0; i < 4; i++)
            if (pthread_create(&th[n], NULL, short_thread, NULL) == 0)
                n++;
        for (int i = 0; i < 8; i++) {
            cd_wg_add(&wg, 1);
            if (cd_go_named("blocker", blocker_task, &wg) != 0)
                cd_wg_done(&wg);
        }
        for (int i = 0; i < n; i++)
            pthread_join(th[i], NULL);
        cd_wg_wait(&wg);
    }
    return 0;
}

static int run_exit(const char *out, double seconds)
{
    calibrate();
    int fd = open_out(out);
    if (fd < 0 || start_prof(fd, 1000) != 0)
        return 1;
    churn_threads(seconds);
    return stop_prof(fd) != 0;
}

/* ---- fork while profiling ---------------------------------------------- */

/* The child of a profiled process inherits no timer and no aggregator:
 * stopping there (explicitly, or at exit for CDEBUG=cpuprofile) must
 * neither hang nor write into the parent's file. With `api` true the
 * profile is the program's own (cd_cpuprof_start into OUT); else it is
 * CDEBUG=cpuprofile's and OUT is unused. */
static int run_fork(const char *out, bool api)
{
    calibrate();
    int fd = -1;
    if (api && ((fd = open_out(out)) < 0 || start_prof(fd, 0) != 0))
        return 1;
    exit_burn();
    pid_t pid = fork();
    if (pid < 0)
        return 1;
    if (pid == 0) {
        exit_burn();
        if (api && cd_cpuprof_stop() != 0)
            _exit(3);
        exit(0); /* atexit handlers run: CDEBUG=cpuprofile's stop too */
    }
    int st = 0;
    if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        fprintf(stderr, "prog_cpuprof: child status %#x\n", st);
        return 1;
    }
    exit_burn();
    return api ? stop_prof(fd) != 0 : 0;
}

/* ---- API error cases --------------------------------------------------- */

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "prog_cpuprof: check failed at line %d: %s\n", __LINE__, #cond);       \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

static int run_api(void)
{
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    CHECK(fd >= 0);
    CHECK(cd_cpuprof_stop() == -ENOENT);
    CHECK(cd_cpuprof_start(-1, 0) == -EBADF);
    CHECK(cd_cpuprof_start(1000000, 0) == -EBADF); /* not an open fd */
    CHECK(cd_cpuprof_start(fd, -1) == -EINVAL);
    CHECK(cd_cpuprof_start(fd, 1001) == -EINVAL);
    CHECK(cd_cpuprof_start(fd, 0) == 0);
    CHECK(cd_cpuprof_start(fd, 0) == -EBUSY);
    CHECK(cd_cpuprof_stop() == 0);
    CHECK(cd_cpuprof_stop() == -ENOENT);
    /* An fd not open for writing is refused at the start. */
    int rfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    CHECK(rfd >= 0);
    CHECK(cd_cpuprof_start(rfd, 0) == -EBADF);
    CHECK(cd_cpuprof_stop() == -ENOENT);
    /* A write error is the stop's result; the profiler is free after it. */
    int full = open("/dev/full", O_WRONLY | O_CLOEXEC);
    CHECK(full >= 0);
    CHECK(cd_cpuprof_start(full, 0) == 0);
    CHECK(cd_cpuprof_stop() == -ENOSPC);
    CHECK(cd_cpuprof_start(fd, 1000) == 0);
    CHECK(cd_cpuprof_stop() == 0);
    close(full);
    close(rfd);
    close(fd);
    printf("ok\n");
    return 0;
}

/* ---- stress ------------------------------------------------------------ */

static void *gc_thread(void *arg)
{
    (void)arg;
    if (cd_thread_register() != 0)
        return NULL;
    while (!atomic_load(&stop)) {
        cd_gc();
        struct timespec d = {0, 20 * 1000000};
        nanosleep(&d, NULL);
    }
    cd_thread_unregister();
    return NULL;
}

static void *prof_thread(void *arg)
{
    (void)arg;
    /* Not registered: starts and stops profiles like an outside caller. */
    unsigned seed = 12345;
    long profiles = 0;
    while (!atomic_load(&stop)) {
        int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
        if (fd < 0)
            break;
        int hz = (int)(rand_r(&seed) % 1000) + 1;
        int rc = cd_cpuprof_start(fd, hz);
        if (rc == 0) {
            struct timespec d = {0, (long)(rand_r(&seed) % 300) * 1000000L};
            nanosleep(&d, NULL);
            rc = cd_cpuprof_stop();
            if (rc != 0 && rc != -ENOENT) {
                fprintf(stderr, "prog_cpuprof: stop: %s\n", cd_strerror(rc));
                atomic_store(&stop, 2);
            }
            profiles++;
        } else if (rc != -EBUSY) {
            fprintf(stderr, "prog_cpuprof: start: %s\n", cd_strerror(rc));
            atomic_store(&stop, 2);
        }
        close(fd);
        /* A pause, so profiles asked for over HTTP get their turn. */
        struct timespec d = {0, (long)(rand_r(&seed) % 200) * 1000000L};
        nanosleep(&d, NULL);
    }
    printf("profiles %ld\n", profiles);
    return NULL;
}

/* A bounded share of allocation for the stress loop. */
static void churn_some(void *arg)
{
    (void)arg;
    for (int b = 0; b < 20; b++) {
        node *head = NULL;
        for (int i = 0; i < 500; i++) {
            node *n = cd_alloc(sizeof *n);
            if (n == NULL)
                break;
            n->next = head;
            head = n;
        }
        atomic_fetch_add_explicit(&sink, (uint64_t)(uintptr_t)head, memory_order_relaxed);
    }
    cd_wg_done(&wg);
}

static int run_stress(double seconds)
{
    calibrate();
    unit_iters /= 10; /* ~1 ms units: tasks end often */
    int rc = cd_http_start("127.0.0.1:0");
    if (rc != 0) {
        fprintf(stderr, "prog_cpuprof: cd_http_start: %s\n", cd_strerror(rc));
        return 1;
    }
    printf("listening on %d\n", cd_http_port());
    fflush(stdout);
    pthread_t gc, prof;
    if (pthread_create(&gc, NULL, gc_thread, NULL) != 0 ||
        pthread_create(&prof, NULL, prof_thread, NULL) != 0)
        return 1;
    /* Every round: 4 registered threads that burn and exit, and tasks
     * that burn (labelled), allocate and block, all finite, so the pool
     * keeps creating and finishing tasks and starting threads for the
     * blocked ones, while the other two threads collect garbage and
     * start and stop profiles. */
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long rounds = 0;
    while (since(&t0) < seconds && atomic_load(&stop) == 0) {
        pthread_t th[4];
        int n = 0;
        for (int i = 0; i < 4; i++)
            if (pthread_create(&th[n], NULL, short_thread, NULL) == 0)
                n++;
        cd_wg_add(&wg, 4);
        if (cd_go_named("alpha", alpha_task, (void *)(intptr_t)3) != 0 ||
            cd_go_named("beta", beta_task, (void *)(intptr_t)3) != 0 ||
            cd_go_named("churn", churn_some, NULL) != 0 || cd_go(churn_some, NULL) != 0)
            return 1;
        for (int i = 0; i < 8; i++) {
            cd_wg_add(&bwg, 1);
            if (cd_go_named("blocker", blocker_task, &bwg) != 0)
                cd_wg_done(&bwg);
        }
        for (int i = 0; i < n; i++)
            pthread_join(th[i], NULL);
        cd_wg_wait(&bwg);
        cd_wg_wait(&wg);
        rounds++;
    }
    int failed = atomic_load(&stop) == 2;
    atomic_store(&stop, 1);
    pthread_join(prof, NULL);
    pthread_join(gc, NULL);
    cd_http_stop(); /* with a profile possibly being served */
    if (failed)
        return 1;
    printf("rounds %ld\nok\n", rounds);
    return 0;
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    cd_wg_init(&wg);
    cd_wg_init(&bwg);
    if (strcmp(mode, "split") == 0 && (argc == 3 || argc == 4))
        return run_split(argv[2], argc == 4 ? atoi(argv[3]) : 0);
    if (strcmp(mode, "burn") == 0 && argc == 2)
        return run_burn();
    if (strcmp(mode, "serve") == 0 && argc == 2)
        return run_serve();
    if (strcmp(mode, "deep") == 0 && argc == 3)
        return run_deep(argv[2]);
    if (strcmp(mode, "nofp") == 0 && argc == 3)
        return run_nofp(argv[2]);
    if (strcmp(mode, "gc") == 0 && argc == 4)
        return run_gc(argv[2], atof(argv[3]));
    if (strcmp(mode, "exit") == 0 && argc == 4)
        return run_exit(argv[2], atof(argv[3]));
    if (strcmp(mode, "fork") == 0 && argc == 3)
        return run_fork(argv[2], true);
    if (strcmp(mode, "forkenv") == 0 && argc == 2)
        return run_fork(NULL, false);
    if (strcmp(mode, "api") == 0 && argc == 2)
        return run_api();
    if (strcmp(mode, "stress") == 0 && argc == 3)
        return run_stress(atof(argv[2]));
    fprintf(stderr,
            "usage: prog_cpuprof split OUT [HZ] | burn | serve | deep OUT | nofp OUT | "
            "gc OUT SECONDS | exit OUT SECONDS | fork OUT | forkenv | api | stress SECONDS\n");
    return 2;
}

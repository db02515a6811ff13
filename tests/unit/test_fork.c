/* tests/unit/test_fork.c - the task pool in a child of fork().
 *
 * Only the forking thread survives fork(): the child has none of the
 * parent's workers. The pool rebuilds itself in the child on first use and
 * drops (and counts) the tasks that were queued or running in the parent.
 * Every child here runs under alarm(), so a hang kills it with SIGALRM and
 * the test fails instead of hanging; the parent's wait is bounded too.
 *
 * In the TSan list, where the tests whose children start threads are
 * skipped (need_child_threads): ThreadSanitizer (gcc 12) refuses to start
 * a thread in the child of a multi-threaded fork ("starting new threads
 * after multi-threaded fork is not supported"), and with die_after_fork=0
 * it dies anyway, its registry still holding the parent's threads when a
 * new one reuses a dead one's pthread_t ("dup thread with used id"). The
 * fork while the pool is busy, the exec and the fatal wait run there. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cdebug/cdebug.h"

#define CHILD_TIMEOUT_S 30

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

#ifdef __SANITIZE_THREAD__
#define CHILD_THREADS_OK 0
#else
#define CHILD_THREADS_OK 1
#endif

/* Skips a test whose child starts threads under TSan (see the top). */
static void need_child_threads(void)
{
    if (!CHILD_THREADS_OK)
        skip();
}

/* In a child, cmocka's asserts would unwind into the copy of the test
 * runner: report and leave with status 3 instead. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "child %d: %s:%d: check failed: %s\n", (int)getpid(), __FILE__,        \
                    __LINE__, #cond);                                                              \
            _exit(3);                                                                              \
        }                                                                                          \
    } while (0)

#define TREE_CHECK(cond) CHECK(cond)
#include "task_tree.h"

/* The child's side of every fork here: SIGALRM deliverable (a pool thread
 * blocks it), then a deadline. */
static void child_deadline(void)
{
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGALRM);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    signal(SIGALRM, SIG_DFL);
    alarm(CHILD_TIMEOUT_S);
}

/* Waits for pid at most CHILD_TIMEOUT_S + 10 s (then kills it) and
 * returns its wait status. */
static int wait_child(pid_t pid)
{
    for (int i = 0; i < (CHILD_TIMEOUT_S + 10) * 100; i++) {
        int st;
        pid_t r = waitpid(pid, &st, WNOHANG);
        if (r == pid)
            return st;
        assert_int_equal(r, 0);
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    int st;
    (void)waitpid(pid, &st, 0);
    fail_msg("child %d did not end within %d s", (int)pid, CHILD_TIMEOUT_S + 10);
    return st;
}

static void assert_exited_ok(int st)
{
    if (WIFSIGNALED(st))
        fail_msg("child killed by signal %d%s", WTERMSIG(st),
                 WTERMSIG(st) == SIGALRM ? " (SIGALRM: it hung)" : "");
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
}

/* ---- work the children do: nested spawns, results checked -------------- */

/* A tree of depth 5 (1365 tasks, each waiting for its four children). */
static void run_tree(void)
{
    _Atomic long visits = 0;
    cd_waitgroup wg;
    cd_wg_init(&wg);
    struct node *root = cd_alloc(sizeof *root);
    CHECK(root != NULL);
    *root = (struct node){5, &visits, &wg};
    cd_wg_add(&wg, 1);
    CHECK(cd_go(tree_task, root) == 0);
    cd_wg_wait(&wg);
    CHECK(atomic_load(&visits) == tree_size(5));
}

struct sum {
    _Atomic uint64_t total;
    cd_waitgroup wg;
};

struct addend {
    struct sum *sum;
    uint64_t v;
};

static void add_task(void *arg)
{
    struct addend *a = arg;
    atomic_fetch_add(&a->sum->total, a->v);
    cd_wg_done(&a->sum->wg);
}

#define SPAWNERS   4
#define PER_THREAD 2000

static void *spawner(void *arg)
{
    struct sum *s = arg;
    CHECK(cd_thread_register() == 0); /* for cd_alloc */
    for (uint64_t i = 1; i <= PER_THREAD; i++) {
        struct addend *a = cd_alloc(sizeof *a);
        CHECK(a != NULL);
        *a = (struct addend){s, i};
        cd_wg_add(&s->wg, 1);
        CHECK(cd_go(add_task, a) == 0);
    }
    cd_thread_unregister();
    return NULL;
}

/* Several threads of the child spawn at once (the first use races the
 * rebuild), then the main one waits: every task ran exactly once. */
static void run_flat(void)
{
    struct sum *s = cd_alloc(sizeof *s);
    CHECK(s != NULL);
    cd_wg_init(&s->wg);
    pthread_t th[SPAWNERS];
    for (int i = 0; i < SPAWNERS; i++)
        CHECK(pthread_create(&th[i], NULL, spawner, s) == 0);
    for (int i = 0; i < SPAWNERS; i++)
        pthread_join(th[i], NULL);
    cd_wg_wait(&s->wg);
    CHECK(atomic_load(&s->total) == (uint64_t)SPAWNERS * PER_THREAD * (PER_THREAD + 1) / 2);
}

/* The pool's books close: every task created was done or dropped, but
 * `live` ones (the caller's own task). A task counts as done only after
 * its function returned, a moment after its cd_wg_done: wait for that. */
static void check_books(uint64_t live)
{
    cd_schedstats s;
    for (int i = 0; i < 5000; i++) {
        cd_read_schedstats(&s);
        if (s.tasks_created == s.tasks_done + s.tasks_dropped + live)
            break;
        sleep_ms(1);
    }
    CHECK(s.tasks_queued == 0);
    CHECK(s.tasks_created == s.tasks_done + s.tasks_dropped + live);
}

/* ---- a child of an idle parent ------------------------------------------ */

static void test_child_spawns_tasks(void **state)
{
    (void)state;
    need_child_threads();
    run_tree(); /* the parent's pool has threads, now all idle */
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        child_deadline();
        cd_schedstats s;
        cd_read_schedstats(&s);
        CHECK(s.threads == 1); /* the parent's pool threads are not here */
        CHECK(s.idleprocs == s.gomaxprocs);
        run_flat();
        run_tree();
        cd_gc(); /* the collector stops only the threads that exist here */
        check_books(0);
        /* And once more one generation down. */
        pid_t g = fork();
        CHECK(g >= 0);
        if (g == 0) {
            child_deadline();
            run_tree();
            run_flat();
            check_books(0);
            _exit(0);
        }
        int st;
        CHECK(waitpid(g, &st, 0) == g);
        if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
            fprintf(stderr, "grandchild: %s %d\n", WIFSIGNALED(st) ? "signal" : "status",
                    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
        _exit(0);
    }
    assert_exited_ok(wait_child(pid));
    run_tree(); /* the parent's pool is unaffected */
}

/* ---- a fork while the parent's workers are busy, queues non-empty ------- */

static _Atomic int gate_open;
static _Atomic long parent_ran;
static cd_waitgroup parent_wg;
static bool parent_busy;
static _Atomic int alloc_stop;

/* Holds its worker until the gate opens (no hand-off: the P stays busy). */
static void gate(void *arg)
{
    (void)arg;
    while (!atomic_load(&gate_open))
        sleep_ms(1);
    cd_wg_done(&parent_wg);
}

static void parent_task(void *arg)
{
    (void)arg;
    atomic_fetch_add(&parent_ran, 1);
    cd_wg_done(&parent_wg);
}

#define QUEUED 5000

/* Every worker held by a gate, QUEUED tasks behind them. First the
 * earlier tests' tasks finish counting as done (a moment after their
 * cd_wg_done), so that a child's tasks_dropped is this test's alone. */
static void make_parent_busy(void)
{
    cd_schedstats s;
    for (int i = 0; i < 5000; i++) {
        cd_read_schedstats(&s);
        if (s.tasks_created == s.tasks_done)
            break;
        sleep_ms(1);
    }
    assert_int_equal(s.tasks_created, s.tasks_done);
    atomic_store(&gate_open, 0);
    atomic_store(&parent_ran, 0);
    parent_busy = true;
    cd_wg_init(&parent_wg);
    int n = cd_maxprocs();
    for (int i = 0; i < 2 * n; i++) {
        cd_wg_add(&parent_wg, 1);
        assert_int_equal(cd_go_named("gate", gate, NULL), 0);
    }
    for (int i = 0; i < QUEUED; i++) {
        cd_wg_add(&parent_wg, 1);
        assert_int_equal(cd_go_named("parent", parent_task, NULL), 0);
    }
    for (int i = 0; i < 5000; i++) {
        cd_read_schedstats(&s);
        if (s.idleprocs == 0)
            break;
        sleep_ms(1);
    }
    assert_int_equal(s.idleprocs, 0);
}

static void finish_parent_work(void)
{
    atomic_store(&gate_open, 1);
    cd_wg_wait(&parent_wg);
    parent_busy = false;
    assert_int_equal(atomic_load(&parent_ran), QUEUED);
}

static void *nothing(void *arg)
{
    return arg;
}

#define HEAP_BLOCK  (64 * 1024)
#define HEAP_BLOCKS 4096 /* 256 MiB: the heap grows over the freed stacks */

/* The child's heap over the parent's thread stacks. glibc keeps the
 * stacks of the threads a fork left behind in its cache and unmaps most
 * of them when the child starts a thread of its own (the parent's pool
 * had about 140); the collector's heap, growing, is then mapped
 * again where they were. Under AddressSanitizer those stacks' frames
 * (the redzones of the parked threads' locals) stayed poisoned in its
 * shadow, and a write to memory cd_alloc returned was reported as a
 * stack overflow (1 run in 40 of test_child_spawns_tasks): every byte
 * cd_alloc and cd_alloc_atomic return must be writable. */
static void test_child_heap_over_parent_stacks(void **state)
{
    (void)state;
    need_child_threads();
    run_tree(); /* the parent's pool has threads, parked */
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        child_deadline();
        pthread_t th;
        CHECK(pthread_create(&th, NULL, nothing, NULL) == 0);
        CHECK(pthread_join(th, NULL) == 0);
        void **keep = cd_alloc(HEAP_BLOCKS * sizeof *keep);
        CHECK(keep != NULL);
        for (int i = 0; i < HEAP_BLOCKS; i++) {
            char *b = i % 2 ? cd_alloc(HEAP_BLOCK) : cd_alloc_atomic(HEAP_BLOCK);
            CHECK(b != NULL);
            memset(b, 0x5a, HEAP_BLOCK);
            keep[i] = b;
        }
        _exit(0);
    }
    assert_exited_ok(wait_child(pid));
}

/* Teardown: a test that failed half-way leaves no gate closed behind. */
static int release_parent(void **state)
{
    (void)state;
    if (parent_busy) {
        atomic_store(&gate_open, 1);
        atomic_store(&alloc_stop, 1);
        cd_wg_wait(&parent_wg);
        parent_busy = false;
    }
    return 0;
}

static void test_fork_while_busy(void **state)
{
    (void)state;
    need_child_threads();
    make_parent_busy();
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        child_deadline();
        long ran_at_fork = atomic_load(&parent_ran);
        cd_schedstats s;
        run_tree();
        cd_gc(); /* with the parent's arguments released by the child */
        run_flat();
        cd_read_schedstats(&s);
        /* The parent's queued and running tasks were dropped, not run. */
        CHECK(s.tasks_dropped >= (uint64_t)cd_maxprocs());
        CHECK(s.tasks_dropped <= (uint64_t)(2 * cd_maxprocs() + QUEUED));
        sleep_ms(50);
        CHECK(atomic_load(&parent_ran) == ran_at_fork);
        check_books(0);
        /* Shutdown's drain waits for the child's tasks only. */
        cd_shutdown();
        CHECK(cd_go(parent_task, NULL) == -ESHUTDOWN);
        /* exit, not _exit: the kit's exit path must not wait for the
         * parent's threads, and LeakSanitizer (ASan builds) must find the
         * records of the threads the fork left behind still reachable. */
        exit(0);
    }
    assert_exited_ok(wait_child(pid));
    finish_parent_work();
}

/* ---- children that only exec -------------------------------------------- */

/* Forks n children one after the other, each running body under its
 * deadline and leaving with _exit(0); each must end with status 0. */
static void fork_children(int n, void (*body)(void))
{
    for (int i = 0; i < n; i++) {
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            child_deadline();
            body();
            _exit(0);
        }
        assert_exited_ok(wait_child(pid));
    }
}

static void exec_true(void)
{
    char *argv[] = {"/bin/true", NULL};
    execv(argv[0], argv);
    _exit(127);
}

static void test_exec_while_busy(void **state)
{
    (void)state;
    make_parent_busy();
    fork_children(20, exec_true);
    finish_parent_work();
}

/* ---- a fork while the parent's tasks allocate -------------------------- */

/* Allocates GC memory until told to stop: the collector's lock is taken
 * and released all the time, and collections run, across the forks. */
static void allocator(void *arg)
{
    (void)arg;
    void *keep[64] = {0};
    for (unsigned i = 0; !atomic_load(&alloc_stop); i++) {
        keep[i % 64] = cd_alloc(16 + i % 512);
        CHECK(keep[i % 64] != NULL);
        if (i % 1000 == 999)
            sleep_ms(1); /* bounded garbage where nothing collects (TSan) */
    }
    cd_wg_done(&parent_wg);
}

/* A child of allocating tasks allocates and collects, then spawns. */
static void alloc_and_collect(void)
{
    for (int k = 0; k < 10000; k++)
        CHECK(cd_alloc(32) != NULL);
    cd_gc();
    if (CHILD_THREADS_OK)
        run_tree();
}

/* Under ASan with every allocation sampled (unit.test_fork.sampled), each
 * cd_alloc of the parent's tasks records its sample with malloc, so a fork
 * often finds another thread inside ASan's allocator. gcc 12's ASan takes no
 * lock around fork: the child inherits that size-class mutex held and
 * hangs in its first malloc (1 run in 40; gdb: the child waiting in
 * SizeClassAllocator64::GetFromAllocator under mprof.c's record). Not a
 * hang of cdebug's: glibc's malloc and cdebug's are fork-safe, and the
 * other builds run this test with sampling too. */
static bool asan_sampling(void)
{
#ifdef __SANITIZE_ADDRESS__
    const char *env = getenv("CDEBUG"), *at = env != NULL ? strstr(env, "memprofilerate=1") : NULL;
    return at != NULL && (at[16] == '\0' || at[16] == ','); /* =1, not =10 */
#else
    return false;
#endif
}

static void test_fork_while_allocating(void **state)
{
    (void)state;
    if (asan_sampling()) {
        print_message("skip: ASan's allocator is not fork-safe and every allocation "
                      "mallocs a sample here (see asan_sampling)\n");
        skip();
    }
    atomic_store(&alloc_stop, 0);
    cd_wg_init(&parent_wg);
    parent_busy = true;
    for (int i = 0; i < cd_maxprocs(); i++) {
        cd_wg_add(&parent_wg, 1);
        assert_int_equal(cd_go_named("allocator", allocator, NULL), 0);
    }
    fork_children(20, alloc_and_collect);
    atomic_store(&alloc_stop, 1);
    cd_wg_wait(&parent_wg);
    parent_busy = false;
}

/* ---- a task that forks ------------------------------------------------- */

struct forker {
    int pipe_w;
    int status;
    _Atomic int done;
};

static int exit_pipe = -1;

/* Proves that the child went through exit(). Then _exit: LeakSanitizer's
 * check (an earlier atexit handler) would report what only the parent's
 * other threads' stacks referenced (cmocka's state on main's stack). */
static void child_exiting(void)
{
    if (write(exit_pipe, "+exit", 5) != 5)
        _exit(4);
    _exit(0);
}

/* In the child this task is the only flow of control: it spawns, waits,
 * reports through the pipe and returns; its return ends the child through
 * exit(0), as a Go program ends when main returns. Its own queue holds
 * tasks of the parent at the fork. */
static void forking_task(void *arg)
{
    struct forker *f = arg;
    for (int i = 0; i < 200; i++) {
        cd_wg_add(&parent_wg, 1);
        CHECK(cd_go_named("parent", parent_task, NULL) == 0);
    }
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        child_deadline();
        long ran_at_fork = atomic_load(&parent_ran);
        run_tree();
        run_flat();
        check_books(1);
        CHECK(atomic_load(&parent_ran) == ran_at_fork);
        CHECK(write(f->pipe_w, "ok", 2) == 2);
        exit_pipe = f->pipe_w;
        CHECK(atexit(child_exiting) == 0);
        return;
    }
    CHECK(pid > 0);
    cd_block_begin("waitpid");
    CHECK(waitpid(pid, &f->status, 0) == pid);
    cd_block_end();
    atomic_store(&f->done, 1);
}

static void test_fork_from_task(void **state)
{
    (void)state;
    need_child_threads();
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    struct forker *f = cd_alloc(sizeof *f);
    f->pipe_w = fds[1];
    atomic_store(&parent_ran, 0);
    cd_wg_init(&parent_wg);
    assert_int_equal(cd_go_named("forker", forking_task, f), 0);
    for (int i = 0; i < (CHILD_TIMEOUT_S + 10) * 100 && !atomic_load(&f->done); i++)
        sleep_ms(10);
    assert_true(atomic_load(&f->done));
    close(fds[1]);
    char buf[16] = {0};
    size_t len = 0;
    ssize_t r;
    while (len < sizeof buf - 1 && (r = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)r;
    assert_string_equal(buf, "ok+exit");
    close(fds[0]);
    assert_exited_ok(f->status);
    cd_wg_wait(&parent_wg);
    assert_int_equal(atomic_load(&parent_ran), 200);
}

/* ---- a child waiting for the parent's tasks ----------------------------- */

/* The waitgroup counts a task that exists only in the parent: nothing in
 * the child can ever finish the wait. The child must end with Go's fatal
 * error (status 2), not sleep for ever. */
static void test_wait_for_parent_task_is_fatal(void **state)
{
    (void)state;
    make_parent_busy();
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        child_deadline();
        dup2(fds[1], 2);
        close(fds[0]);
        cd_wg_wait(&parent_wg);
        _exit(0);
    }
    close(fds[1]);
    int st = wait_child(pid);
    char buf[4096];
    size_t len = 0;
    ssize_t r;
    while (len < sizeof buf - 1 && (r = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)r;
    buf[len] = '\0';
    close(fds[0]);
    finish_parent_work();
    if (WIFSIGNALED(st))
        fail_msg("child killed by signal %d%s; stderr: %s", WTERMSIG(st),
                 WTERMSIG(st) == SIGALRM ? " (SIGALRM: it hung)" : "", buf);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 2);
    assert_non_null(strstr(buf, "fatal error: all goroutines are asleep - deadlock!"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_child_spawns_tasks, release_parent),
        cmocka_unit_test_teardown(test_child_heap_over_parent_stacks, release_parent),
        cmocka_unit_test_teardown(test_fork_while_busy, release_parent),
        cmocka_unit_test_teardown(test_exec_while_busy, release_parent),
        cmocka_unit_test_teardown(test_fork_while_allocating, release_parent),
        cmocka_unit_test_teardown(test_fork_from_task, release_parent),
        cmocka_unit_test_teardown(test_wait_for_parent_task_is_fatal, release_parent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

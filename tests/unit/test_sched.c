/* tests/unit/test_sched.c - the task pool: spawning, waitgroups, hand-off
 * on blocking calls, GC reachability of task arguments, no lost tasks,
 * schedstats and the schedtrace formatter. CTest runs it with the machine's
 * CPU count and again with CDMAXPROCS=1 and CDMAXPROCS=4. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cdebug/cdebug.h"
#include "runtime/schedtrace.h"

#define TREE_CHECK(cond) assert_true(cond)
#include "task_tree.h"

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ---- basics ------------------------------------------------------------ */

static void test_go_rejects_null(void **state)
{
    (void)state;
    assert_int_equal(cd_go(NULL, NULL), -EINVAL);
    assert_int_equal(cd_go_named("x", NULL, NULL), -EINVAL);
    assert_true(cd_maxprocs() >= 1);
}

struct counter {
    _Atomic long n;
    cd_waitgroup wg;
};

static void count_task(void *arg)
{
    struct counter *c = arg;
    atomic_fetch_add(&c->n, 1);
    cd_wg_done(&c->wg);
}

static void test_spawn_from_main(void **state)
{
    (void)state;
    struct counter c = {0};
    cd_wg_init(&c.wg);
    for (int i = 0; i < 10000; i++) {
        cd_wg_add(&c.wg, 1);
        assert_int_equal(cd_go(count_task, &c), 0);
    }
    cd_wg_wait(&c.wg);
    assert_int_equal(atomic_load(&c.n), 10000);
}

/* ---- a tree of tasks that wait for their children ---------------------- */

static void test_nested_wait_no_deadlock(void **state)
{
    (void)state;
    _Atomic long visits = 0;
    cd_waitgroup wg;
    cd_wg_init(&wg);
    struct node *root = cd_alloc(sizeof *root);
    *root = (struct node){5, &visits, &wg};
    cd_wg_add(&wg, 1);
    assert_int_equal(cd_go(tree_task, root), 0);
    cd_wg_wait(&wg);
    assert_int_equal(atomic_load(&visits), tree_size(5)); /* 1365 */
}

/* ---- blocking hand-off ------------------------------------------------- */

static _Atomic int release_blockers;

static void blocker(void *arg)
{
    cd_waitgroup *wg = arg;
    cd_block_begin("IO wait");
    while (!atomic_load(&release_blockers))
        sleep_ms(1);
    cd_block_end();
    cd_wg_done(wg);
}

static void test_block_hands_off_worker(void **state)
{
    (void)state;
    int n = cd_maxprocs();
    cd_waitgroup blockers, quick;
    cd_wg_init(&blockers);
    cd_wg_init(&quick);
    atomic_store(&release_blockers, 0);
    /* More blocked tasks than workers: without hand-off nothing else runs. */
    for (int i = 0; i < 2 * n; i++) {
        cd_wg_add(&blockers, 1);
        assert_int_equal(cd_go_named("blocker", blocker, &blockers), 0);
    }
    struct counter c = {0};
    cd_wg_init(&c.wg);
    for (int i = 0; i < 100; i++) {
        cd_wg_add(&c.wg, 1);
        assert_int_equal(cd_go(count_task, &c), 0);
    }
    uint64_t deadline = now_ms() + 10000;
    while (atomic_load(&c.n) < 100 && now_ms() < deadline)
        sleep_ms(1);
    assert_int_equal(atomic_load(&c.n), 100); /* ran while blockers block */

    cd_schedstats s;
    cd_read_schedstats(&s);
    assert_true(s.tasks_blocked >= 1);
    assert_true(s.handoffs >= 1);

    /* The detailed report shows blocked tasks with their reason. */
    size_t len;
    char *txt = cd__schedtrace_format(0, true, &len);
    assert_non_null(txt);
    assert_non_null(strstr(txt, "status=4(IO wait)"));
    free(txt);

    atomic_store(&release_blockers, 1);
    cd_wg_wait(&blockers);
    cd_wg_wait(&c.wg);
}

/* ---- task arguments stay reachable while queued ------------------------- */

static _Atomic int gate_open;
static _Atomic int gates_running;

static void gate(void *arg)
{
    (void)arg;
    atomic_fetch_add(&gates_running, 1);
    while (!atomic_load(&gate_open))
        sleep_ms(1);
}

#define PATTERN_WORDS 16
struct pattern {
    uint64_t w[PATTERN_WORDS];
    _Atomic long *bad;
    cd_waitgroup *wg;
};

static void check_pattern(void *arg)
{
    struct pattern *p = arg;
    for (int i = 0; i < PATTERN_WORDS; i++)
        if (p->w[i] != 0xC0DEC0DE00000000ull + (uint64_t)i)
            atomic_fetch_add(p->bad, 1);
    cd_wg_done(p->wg);
}

static void test_args_survive_collection(void **state)
{
    (void)state;
    int n = cd_maxprocs();
    atomic_store(&gate_open, 0);
    atomic_store(&gates_running, 0);
    for (int i = 0; i < n; i++)
        assert_int_equal(cd_go_named("gate", gate, NULL), 0);
    while (atomic_load(&gates_running) < n)
        sleep_ms(1);

    _Atomic long bad = 0;
    cd_waitgroup wg;
    cd_wg_init(&wg);
    for (int i = 0; i < 2000; i++) {
        struct pattern *p = cd_alloc(sizeof *p); /* only the task refers to it */
        for (int k = 0; k < PATTERN_WORDS; k++)
            p->w[k] = 0xC0DEC0DE00000000ull + (uint64_t)k;
        p->bad = &bad;
        p->wg = &wg;
        cd_wg_add(&wg, 1);
        assert_int_equal(cd_go(check_pattern, p), 0);
    }
    /* Collect and churn: unreachable args would be reused and overwritten. */
    for (int r = 0; r < 3; r++) {
        cd_gc();
        for (int i = 0; i < 20000; i++) {
            uint64_t *g = cd_alloc(sizeof(struct pattern));
            memset(g, 0xAB, sizeof(struct pattern));
        }
    }
    atomic_store(&gate_open, 1);
    cd_wg_wait(&wg);
    assert_int_equal(atomic_load(&bad), 0);
}

/* ---- one million tasks from several threads, none lost ----------------- */

#define SPAWNERS    4
#define PER_SPAWNER 250000

struct spawner {
    pthread_t th;
    struct counter *c;
    int failures;
};

static void *spawner_main(void *arg)
{
    struct spawner *sp = arg;
    if (cd_thread_register() != 0) {
        sp->failures = -1;
        return NULL;
    }
    for (int i = 0; i < PER_SPAWNER; i++) {
        cd_wg_add(&sp->c->wg, 1);
        if (cd_go(count_task, sp->c) != 0) {
            cd_wg_done(&sp->c->wg);
            sp->failures++;
        }
    }
    cd_thread_unregister();
    return NULL;
}

static void test_million_tasks_counted(void **state)
{
    (void)state;
    cd_schedstats before, after;
    cd_read_schedstats(&before);
    struct counter c = {0};
    cd_wg_init(&c.wg);
    struct spawner sp[SPAWNERS];
    for (int i = 0; i < SPAWNERS; i++) {
        sp[i] = (struct spawner){.c = &c};
        assert_int_equal(pthread_create(&sp[i].th, NULL, spawner_main, &sp[i]), 0);
    }
    for (int i = 0; i < SPAWNERS; i++) {
        pthread_join(sp[i].th, NULL);
        assert_int_equal(sp[i].failures, 0);
    }
    cd_wg_wait(&c.wg);
    assert_int_equal(atomic_load(&c.n), (long)SPAWNERS * PER_SPAWNER);
    cd_read_schedstats(&after);
    assert_true(after.tasks_created - before.tasks_created >= (uint64_t)SPAWNERS * PER_SPAWNER);
}

/* Tasks that spawn tasks (local queues, overflow into the global queue,
 * stealing) must also all run. */
static void fanout_leaf(void *arg)
{
    count_task(arg);
}

static void fanout_parent(void *arg)
{
    struct counter *c = arg;
    for (int i = 0; i < 1000; i++) {
        cd_wg_add(&c->wg, 1);
        assert_int_equal(cd_go(fanout_leaf, c), 0);
    }
    cd_wg_done(&c->wg);
}

static void test_fanout_overflow_and_steal(void **state)
{
    (void)state;
    struct counter c = {0};
    cd_wg_init(&c.wg);
    for (int i = 0; i < 200; i++) {
        cd_wg_add(&c.wg, 1);
        assert_int_equal(cd_go(fanout_parent, &c), 0);
    }
    cd_wg_wait(&c.wg);
    assert_int_equal(atomic_load(&c.n), 200 * 1000);
    cd_schedstats s;
    cd_read_schedstats(&s);
    if (s.gomaxprocs > 1)
        assert_true(s.steals > 0);
}

/* ---- schedstats and the SCHED line --------------------------------------- */

static void test_idle_pool_reports_all_idle(void **state)
{
    (void)state;
    cd_schedstats s;
    uint64_t deadline = now_ms() + 5000;
    do {
        cd_read_schedstats(&s);
        if (s.idleprocs == s.gomaxprocs)
            break;
        sleep_ms(5);
    } while (now_ms() < deadline);
    assert_int_equal(s.idleprocs, s.gomaxprocs);
    assert_int_equal(s.tasks_queued, 0);
    assert_int_equal(s.tasks_created, s.tasks_done);

    size_t len;
    char *line = cd__schedtrace_format(1234, false, &len);
    assert_non_null(line);
    assert_int_equal(strlen(line), len);
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^SCHED 1234ms: gomaxprocs=([0-9]+) idleprocs=([0-9]+) threads=[0-9]+ "
                             "spinningthreads=[0-9]+ idlethreads=[0-9]+ runqueue=[0-9]+ "
                             "\\[[0-9]+( [0-9]+)*\\]\n$",
                             REG_EXTENDED),
                     0);
    regmatch_t m[3];
    assert_int_equal(regexec(&re, line, 3, m, 0), 0);
    assert_int_equal(atoi(line + m[1].rm_so), cd_maxprocs());
    assert_int_equal(atoi(line + m[2].rm_so), cd_maxprocs());
    regfree(&re);
    /* One bracket entry per worker. */
    const char *br = strchr(line, '[');
    int entries = 1;
    for (const char *q = br; *q != ']'; q++)
        entries += *q == ' ';
    assert_int_equal(entries, cd_maxprocs());
    free(line);
}

static void test_detailed_format(void **state)
{
    (void)state;
    size_t len;
    char *txt = cd__schedtrace_format(7, true, &len);
    assert_non_null(txt);
    regex_t first, pline, mline, gline;
    assert_int_equal(regcomp(&first,
                             "^SCHED 7ms: gomaxprocs=[0-9]+ idleprocs=[0-9]+ threads=[0-9]+ "
                             "spinningthreads=[0-9]+ idlethreads=[0-9]+ runqueue=[0-9]+$",
                             REG_EXTENDED),
                     0);
    assert_int_equal(regcomp(&pline,
                             "^  P[0-9]+: status=[01] schedtick=[0-9]+ syscalltick=[0-9]+ "
                             "m=-?[0-9]+ runqsize=[0-9]+ gfreecnt=[0-9]+$",
                             REG_EXTENDED),
                     0);
    assert_int_equal(regcomp(&mline,
                             "^  M[0-9]+: p=-?[0-9]+ curg=-?[0-9]+ spinning=(true|false) "
                             "blocked=(true|false)$",
                             REG_EXTENDED),
                     0);
    assert_int_equal(
        regcomp(&gline, "^  G[0-9]+: status=[124]\\([^)]*\\) m=-?[0-9]+$", REG_EXTENDED), 0);
    int lines = 0, ps = 0, ms = 0;
    for (char *save = NULL, *l = strtok_r(txt, "\n", &save); l != NULL;
         l = strtok_r(NULL, "\n", &save), lines++) {
        if (lines == 0) {
            assert_int_equal(regexec(&first, l, 0, NULL, 0), 0);
        } else if (regexec(&pline, l, 0, NULL, 0) == 0) {
            ps++;
        } else if (regexec(&mline, l, 0, NULL, 0) == 0) {
            ms++;
        } else if (regexec(&gline, l, 0, NULL, 0) != 0) {
            fail_msg("unexpected scheddetail line: \"%s\"", l);
        }
    }
    assert_int_equal(ps, cd_maxprocs());
    assert_true(ms >= 1); /* at least the main thread */
    regfree(&first);
    regfree(&pline);
    regfree(&mline);
    regfree(&gline);
    free(txt);
}

/* ---- misuse ------------------------------------------------------------ */

static void test_negative_waitgroup_aborts(void **state)
{
    (void)state;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open("/dev/null", O_WRONLY);
        dup2(fd, 2);
        cd_waitgroup wg;
        cd_wg_init(&wg);
        cd_wg_add(&wg, -1);
        _exit(0);
    }
    int st;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    /* abort(), which the crash report turns into Go's exit status 2 (a Go
     * program's negative WaitGroup counter panics: status 2 as well). */
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_rejects_null),
        cmocka_unit_test(test_spawn_from_main),
        cmocka_unit_test(test_nested_wait_no_deadlock),
        cmocka_unit_test(test_block_hands_off_worker),
        cmocka_unit_test(test_args_survive_collection),
        cmocka_unit_test(test_million_tasks_counted),
        cmocka_unit_test(test_fanout_overflow_and_steal),
        cmocka_unit_test(test_idle_pool_reports_all_idle),
        cmocka_unit_test(test_detailed_format),
        cmocka_unit_test(test_negative_waitgroup_aborts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* tests/unit/test_threadstack.c - what /proc/self/task/TID/syscall tells
 * prof/threadstack.h of another thread, without disturbing it: a thread
 * in poll (not restarted after a signal: not safe to signal) with its
 * number, stack pointer and the pc inside libc's poll wrapper; a thread in
 * pthread_cond_wait (futex: restarted, safe); a spinning thread; and the
 * names of system calls. No signal is sent there. Then one stack asked
 * of a spinning thread (a signal): the answer carries the dlclose epoch of
 * when it was taken. */
#include <dlfcn.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/dlhist.h"
#include "prof/threadstack.h"

static int wake[2];
static _Atomic pid_t tid_poll, tid_cond;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool done;

static _Atomic pid_t tid_spin;
static atomic_bool stop_spin;

static void *spin(void *arg)
{
    (void)arg;
    atomic_store(&tid_spin, (pid_t)syscall(SYS_gettid));
    while (!atomic_load(&stop_spin))
        ;
    return NULL;
}

/* The call behind glibc's poll: ppoll where poll does not exist. */
#ifdef SYS_poll
#define POLL_NR SYS_poll
#else
#define POLL_NR SYS_ppoll
#endif

static void *in_poll(void *arg)
{
    (void)arg;
    atomic_store(&tid_poll, (pid_t)syscall(SYS_gettid));
    struct pollfd p = {.fd = wake[0], .events = POLLIN};
    while (poll(&p, 1, -1) < 0 && errno == EINTR)
        ;
    return NULL;
}

static void *in_cond(void *arg)
{
    (void)arg;
    atomic_store(&tid_cond, (pid_t)syscall(SYS_gettid));
    pthread_mutex_lock(&mu);
    while (!done)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return NULL;
}

/* Waits (5 s at most) until thread *tidp (0 until it started) is blocked
 * in system call nr. */
static bool wait_in(_Atomic pid_t *tidp, long nr, cd__ts_sys *sys, bool *safe)
{
    for (int i = 0; i < 500; i++) {
        pid_t tid = atomic_load(tidp);
        if (tid != 0) {
            *safe = cd__ts_signal_safe(tid, sys);
            if (sys->in_syscall && sys->nr == nr)
                return true;
        }
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    }
    return false;
}

static void test_blocked_threads(void **state)
{
    (void)state;
    pthread_t tp, tc;
    assert_int_equal(pipe(wake), 0);
    assert_int_equal(pthread_create(&tp, NULL, in_poll, NULL), 0);
    assert_int_equal(pthread_create(&tc, NULL, in_cond, NULL), 0);

    /* poll: a signal would make it fail with EINTR. The kernel's saved pc
     * is inside the libc function that made the call. */
    cd__ts_sys sys;
    bool safe = true;
    assert_true(wait_in(&tid_poll, POLL_NR, &sys, &safe));
    assert_false(safe);
    assert_true(sys.pc != 0 && sys.sp != 0);
    Dl_info di;
    assert_true(dladdr((void *)sys.pc, &di) != 0);
    assert_non_null(di.dli_sname);
    assert_non_null(strstr(di.dli_sname, "poll"));
    assert_true(sys.pc > (uintptr_t)di.dli_saddr);
    assert_int_equal(sys.sp % 8, 0); /* a stack pointer */

    /* futex (pthread_cond_wait): restarted, safe to signal. */
    assert_true(wait_in(&tid_cond, SYS_futex, &sys, &safe));
    assert_true(safe);

    /* A thread running user code: safe, in no system call ("running", or
     * "-1 SP PC" when preempted). */
    pthread_t ts;
    assert_int_equal(pthread_create(&ts, NULL, spin, NULL), 0);
    while (atomic_load(&tid_spin) == 0)
        sched_yield();
    safe = cd__ts_signal_safe(atomic_load(&tid_spin), &sys);
    atomic_store(&stop_spin, true);
    pthread_join(ts, NULL);
    assert_true(safe);
    assert_false(sys.in_syscall);

    /* A thread that does not exist: unknown, not safe. */
    assert_false(cd__ts_signal_safe(-1, &sys));
    assert_false(sys.in_syscall);

    assert_int_equal(write(wake[1], "x", 1), 1);
    pthread_mutex_lock(&mu);
    done = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(tp, NULL);
    pthread_join(tc, NULL);
}

static void test_names(void **state)
{
    (void)state;
    char buf[32];
    assert_string_equal(cd__ts_syscall_name(SYS_epoll_pwait, buf, sizeof buf), "epoll_pwait");
    assert_string_equal(cd__ts_syscall_name(SYS_clock_nanosleep, buf, sizeof buf),
                        "clock_nanosleep");
    assert_string_equal(cd__ts_syscall_name(SYS_futex, buf, sizeof buf), "futex");
    assert_string_equal(cd__ts_syscall_name(9999, buf, sizeof buf), "syscall 9999");
}

/* An answer carries base/dlhist.h's epoch as its thread read it when it
 * took the stack: an unload counted before the answer is in it. (The
 * goroutine profile symbolizes each stack by it, not by the epoch its
 * snapshot began with: a thread may unload a library and load another at
 * its addresses in between.) libanl is a small library this test does not
 * otherwise load; cdebug's dlclose counts its unload in the plain build. */
static void test_answer_epoch(void **state)
{
    (void)state;
    void *h = dlopen("libanl.so.1", RTLD_NOW | RTLD_LOCAL);
    if (h == NULL)
        skip();
    uint32_t before = cd__dl_epoch();
    assert_int_equal(dlclose(h), 0);
    uint32_t after = cd__dl_epoch();
    /* Under ASan and TSan here the unload is not counted (libanl is not
     * seen to leave): nothing to compare against. */
    if (after == before)
        skip();

    atomic_store(&stop_spin, false);
    atomic_store(&tid_spin, 0);
    pthread_t ts;
    assert_int_equal(pthread_create(&ts, NULL, spin, NULL), 0);
    while (atomic_load(&tid_spin) == 0)
        sched_yield();
    cd__ts_req r = {.tid = atomic_load(&tid_spin), .epoch = before};
    int got = cd__ts_collect(&r, 1);
    atomic_store(&stop_spin, true);
    pthread_join(ts, NULL);
    assert_int_equal(got, 1);
    assert_true(r.ok && r.n > 0);
    assert_int_equal(r.epoch, after);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_blocked_threads),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_answer_epoch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* tests/unit/test_sigmask.c - runtime/sigmask.c's pthread_sigmask and
 * sigprocmask: a kept signal stays deliverable when a thread blocks every
 * signal, and stays blocked where the thread has it blocked already (in
 * its own handler, where a mask restored with SIG_SETMASK must not let a
 * second one in: a profiler's SIGPROF handler whose unwinder saves and
 * restores the mask would be entered again on the same thread). */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/sigmask.h"

/* The thread's mask as the kernel has it (no wrapper in between). */
static int blocked_now(int sig)
{
    uint64_t cur = 0;
    if (syscall(SYS_rt_sigprocmask, SIG_BLOCK, NULL, &cur, sizeof cur) != 0)
        return -1;
    return (cur >> (sig - 1)) & 1;
}

static void unblock(int sig)
{
    uint64_t m = 1ull << (sig - 1);
    assert_int_equal(syscall(SYS_rt_sigprocmask, SIG_UNBLOCK, &m, NULL, sizeof m), 0);
}

static void test_block_all_keeps_kept(void **state)
{
    (void)state;
    cd__sigmask_keep(SIGUSR2);
    unblock(SIGUSR2);
    sigset_t all, old;
    sigfillset(&all);
    assert_int_equal(sigprocmask(SIG_SETMASK, &all, &old), 0);
    assert_int_equal(blocked_now(SIGUSR2), 0);
    assert_int_equal(blocked_now(SIGUSR1), 1);
    assert_int_equal(sigprocmask(SIG_SETMASK, &old, NULL), 0);
    assert_int_equal(pthread_sigmask(SIG_BLOCK, &all, &old), 0);
    assert_int_equal(blocked_now(SIGUSR2), 0);
    assert_int_equal(blocked_now(SIGUSR1), 1);
    assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
}

/* What a profiler's unwinder does inside the handler: block everything,
 * restore the saved mask (which has the signal blocked, the kernel did
 * that), then a second signal arrives: it must wait for the handler to
 * return, not enter it again. */
static volatile sig_atomic_t depth, max_depth, entries;

static void on_usr2(int sig)
{
    (void)sig;
    depth++;
    entries++;
    if (depth > max_depth)
        max_depth = depth;
    if (entries == 1) {
        sigset_t all, saved;
        sigfillset(&all);
        sigprocmask(SIG_SETMASK, &all, &saved);
        sigprocmask(SIG_SETMASK, &saved, NULL);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        raise(SIGUSR2);
    }
    depth--;
}

static void test_handler_restore_keeps_blocked(void **state)
{
    (void)state;
    cd__sigmask_keep(SIGUSR2);
    unblock(SIGUSR2);
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr2;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR2, &sa, &old), 0);
    depth = max_depth = entries = 0;
    raise(SIGUSR2);
    assert_int_equal(sigaction(SIGUSR2, &old, NULL), 0);
    assert_int_equal(entries, 2);   /* the second one was delivered... */
    assert_int_equal(max_depth, 1); /* ...after the first handler returned */
    assert_int_equal(blocked_now(SIGUSR2), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_block_all_keeps_kept),
        cmocka_unit_test(test_handler_restore_keeps_blocked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

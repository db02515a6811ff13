/* tests/unit/test_fdguard.c - runtime/fdguard.c: the descriptors cdebug
 * keeps open when the program closes them, and what happens when there
 * are more than it can keep. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/fdguard.h"

enum { MANY = 40 }; /* more than the guard's slots */

/* Runs fn with stderr sent to a file; returns what it wrote (static). */
static const char *stderr_of(void (*fn)(void *), void *arg)
{
    static char text[4096];
    char path[] = "/tmp/test_fdguard.XXXXXX";
    int f = mkstemp(path);
    assert_true(f >= 0);
    unlink(path);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_int_equal(dup2(f, STDERR_FILENO), STDERR_FILENO);
    fn(arg);
    fflush(stderr);
    assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
    assert_int_equal(close(saved), 0);
    ssize_t n = pread(f, text, sizeof text - 1, 0);
    assert_true(n >= 0);
    text[n] = '\0';
    assert_int_equal(close(f), 0);
    return text;
}

/* A guarded descriptor survives the program's close; unguarded, it
 * closes. */
static void test_kept(void **state)
{
    (void)state;
    int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(cd__fd_guard(fd, "the test"), 0);
    assert_int_equal(close(fd), 0);
    assert_true(fcntl(fd, F_GETFD) >= 0);
    cd__fd_unguard(fd);
    assert_int_equal(close(fd), 0);
    assert_true(fcntl(fd, F_GETFD) < 0 && errno == EBADF);
}

static int fds[MANY];
static int rcs[MANY];

static void guard_many(void *arg)
{
    (void)arg;
    for (int i = 0; i < MANY; i++)
        rcs[i] = cd__fd_guard(fds[i], "the test's many");
}

/* Past its slots the guard fails with -ENOSPC and says so once, naming a
 * descriptor it does not keep: silence would leave the program free to
 * close one of cdebug's descriptors, unseen. */
static void test_full_says_once(void **state)
{
    (void)state;
    for (int i = 0; i < MANY; i++) {
        fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        assert_true(fds[i] >= 0);
    }
    const char *err = stderr_of(guard_many, NULL);
    int kept = 0, refused = 0;
    for (int i = 0; i < MANY; i++) {
        if (rcs[i] == 0)
            kept++;
        else if (rcs[i] == -ENOSPC)
            refused++;
    }
    assert_true(kept >= 1 && refused >= 1 && kept + refused == MANY);
    const char *line = strstr(err, "cdebug: ");
    assert_non_null(line);
    assert_non_null(strstr(line, "not kept"));
    assert_null(strstr(line + 1, "cdebug: ")); /* once */
    cd__fd_unguard_all("the test's many");
    for (int i = 0; i < MANY; i++)
        assert_int_equal(close(fds[i]), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_kept),
        cmocka_unit_test(test_full_says_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

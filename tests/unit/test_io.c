/* tests/unit/test_io.c - base/io.h: whole writes, the writable check and
 * the small-file read every /proc reader uses. */
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

#include "base/io.h"

static void test_read_small(void **state)
{
    (void)state;
    char path[] = "/tmp/test_io.XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(cd__write_all(fd, "abcdef\n", 7), 0);
    close(fd);

    char buf[16];
    assert_int_equal(cd__read_small(path, buf, sizeof buf), 7);
    assert_string_equal(buf, "abcdef\n");
    /* Cut to cap - 1 bytes, always ended. */
    assert_int_equal(cd__read_small(path, buf, 4), 3);
    assert_string_equal(buf, "abc");
    assert_int_equal(cd__read_small(path, buf, 1), 0);
    assert_string_equal(buf, "");
    assert_int_equal(cd__read_small(path, buf, 0), -EINVAL);
    unlink(path);
    assert_int_equal(cd__read_small(path, buf, sizeof buf), -ENOENT);

    /* A /proc file, as its users read them. */
    char big[4096];
    assert_true(cd__read_small("/proc/self/status", big, sizeof big) > 0);
    assert_non_null(strstr(big, "SigBlk:"));
}

static void test_fd_writable(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    assert_int_equal(cd__fd_writable(p[1]), 0);
    assert_int_equal(cd__fd_writable(p[0]), -EBADF);
    close(p[0]);
    close(p[1]);
    assert_int_equal(cd__fd_writable(p[1]), -EBADF);
    assert_int_equal(cd__fd_writable(-1), -EBADF);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_read_small),
        cmocka_unit_test(test_fd_writable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

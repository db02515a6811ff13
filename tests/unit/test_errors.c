/* tests/unit/test_errors.c - the error rule of cdebug/runtime.h.
 *
 * cd_strerror and cd_err_name know every code a cdebug function returns:
 * the table below lists them (cdebug's own, and those its system calls pass
 * through: open, read, write, socket, bind, pthread_create, timer_create);
 * test_errors.sh checks that every -E code in the library's sources is in
 * it. A bad file descriptor is -EBADF in every function that takes one:
 * negative, closed, or not open for the direction the function uses.
 * Functions returning a pointer return NULL with errno set, and those
 * returning int give negative errno values, never -1.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cdebug/prof.h"
#include "cdebug/runtime.h"
#include "cdebug/trace.h"
#include "cdebug/trace_reader.h"
#include "cdebug/vars.h"
#include "tests/unit/trace_test_writer.h"

#define E(code)                                                                                    \
    {                                                                                              \
        code, #code                                                                                \
    }
static const struct {
    int code;
    const char *name;
} codes[] = {
    /* Returned by cdebug itself. */
    E(E2BIG),
    E(EACCES),
    E(EADDRINUSE),
    E(EADDRNOTAVAIL),
    E(EAGAIN),
    E(EBADF),
    E(EBADMSG),
    E(EBUSY),
    E(ECANCELED),
    E(EEXIST),
    E(EFBIG),
    E(EINVAL),
    E(EIO),
    E(EISDIR),
    E(ENODATA),
    E(ENOENT),
    E(ENOMEM),
    E(ENOSPC),
    E(ENOSYS),
    E(EPERM),
    E(EPIPE),
    E(EPROTO),
    E(EPROTONOSUPPORT),
    E(ERANGE),
    E(ESHUTDOWN),
    E(ETIMEDOUT),
    /* Passed through from the system calls behind cdebug's functions. */
    E(EAFNOSUPPORT),
    E(ECONNABORTED),
    E(ECONNREFUSED),
    E(ECONNRESET),
    E(EDEADLK),
    E(EDESTADDRREQ),
    E(EDQUOT),
    E(EFAULT),
    E(EHOSTUNREACH),
    E(EINTR),
    E(ELOOP),
    E(EMFILE),
    E(EMSGSIZE),
    E(ENAMETOOLONG),
    E(ENETDOWN),
    E(ENETUNREACH),
    E(ENFILE),
    E(ENOBUFS),
    E(ENODEV),
    E(ENOTCONN),
    E(ENOTDIR),
    E(ENOTSOCK),
    E(ENOTSUP),
    E(ENXIO),
    E(EOVERFLOW),
    E(EROFS),
    E(ESPIPE),
    E(ESRCH),
    E(ETXTBSY),
};

static void test_every_code_has_text_and_name(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *text = cd_strerror(-codes[i].code);
        const char *name = cd_err_name(-codes[i].code);
        if (strcmp(text, "unknown error") == 0 || strcmp(name, codes[i].name) != 0)
            fail_msg("-%s: cd_strerror \"%s\", cd_err_name \"%s\"", codes[i].name, text, name);
        assert_true(text[0] >= 'a' && text[0] <= 'z'); /* the house style: lower case */
    }
}

/* Texts are distinct: two codes with one text would hide which happened. */
static void test_texts_are_distinct(void **state)
{
    (void)state;
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (strcmp(cd_strerror(-codes[i].code), cd_strerror(-codes[j].code)) == 0)
                fail_msg("-%s and -%s share \"%s\"", codes[i].name, codes[j].name,
                         cd_strerror(-codes[i].code));
}

static void test_success_and_unknown(void **state)
{
    (void)state;
    assert_string_equal(cd_strerror(0), "success");
    assert_string_equal(cd_err_name(0), "OK");
    /* Not an error code: a positive errno, a number no errno has. */
    int unknown[] = {EBADF, 1, -100000, 100000, -2147483647 - 1};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        assert_string_equal(cd_strerror(unknown[i]), "unknown error");
        assert_string_equal(cd_err_name(unknown[i]), "UNKNOWN");
    }
    /* The reader's own texts fall back to cd_strerror's. */
    assert_string_equal(cd_tr_strerror(-EPROTO), "corrupted trace");
    assert_string_equal(cd_tr_strerror(-EPIPE), cd_strerror(-EPIPE));
}

/* Three bad descriptors: negative, closed, open the wrong way round. */
static int bad_fds[3];

static int setup_fds(void **state)
{
    (void)state;
    int p[2];
    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    close(p[1]);
    /* Closed, and numbered above any descriptor the calls may open. */
    int high = fcntl(p[0], F_DUPFD_CLOEXEC, 900);
    if (high < 0)
        return -1;
    close(high);
    bad_fds[0] = -1;
    bad_fds[1] = high;
    bad_fds[2] = p[0]; /* a pipe's read end: writers get EBADF */
    return 0;
}

static int teardown_fds(void **state)
{
    (void)state;
    close(bad_fds[2]);
    return 0;
}

static void test_writers_say_ebadf(void **state)
{
    (void)state;
    for (int i = 0; i < 3; i++) {
        int fd = bad_fds[i];
        assert_int_equal(cd_trace_start(fd), -EBADF);
        assert_false(cd_trace_enabled());
        assert_int_equal(cd_flight_write(fd), -EBADF);
        assert_int_equal(cd_cpuprof_start(fd, 0), -EBADF);
        assert_int_equal(cd_cpuprof_stop(), -ENOENT);
        assert_int_equal(cd_heapprof_write(fd, 0), -EBADF);
        assert_int_equal(cd_allocsprof_write(fd, 1), -EBADF);
        assert_int_equal(cd_taskprof_write(fd, 2), -EBADF);
        assert_int_equal(cd_threadprof_write(fd, 0), -EBADF);
    }
    /* A good descriptor with a bad argument is still -EINVAL. */
    int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
    assert_true(null >= 0);
    assert_int_equal(cd_heapprof_write(null, -1), -EINVAL);
    assert_int_equal(cd_taskprof_write(null, -1), -EINVAL);
    assert_int_equal(cd_cpuprof_start(null, -5), -EINVAL);
    assert_int_equal(cd_heapprof_write(null, 1), 0);
    close(null);
}

static void test_reader_says_ebadf(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    int fds[] = {-1, bad_fds[1], p[1] /* the write end: not readable */};
    for (int i = 0; i < 3; i++) {
        cd_trace_reader *r = (cd_trace_reader *)&r;
        assert_int_equal(cd_trace_reader_open_fd(&r, fds[i], NULL), -EBADF);
        assert_null(r);
    }
    close(p[0]);
    close(p[1]);
}

/* NULL with errno set; an int's failure is a negative errno, never -1. */
static void test_pointers_set_errno(void **state)
{
    (void)state;
    errno = 0;
    assert_null(cd_strdup(NULL));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(cd_alloc(SIZE_MAX - 4096));
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(cd_alloc_atomic(SIZE_MAX - 4096));
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(cd_realloc(NULL, SIZE_MAX - 4096));
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(cd_int_new(""));
    assert_int_equal(errno, EINVAL);

    errno = 0;
    assert_null(cd_tr_event_name(0));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(cd_tr_event_arg_name(CD_TR_TASK_START, CD_TR_MAX_ARGS));
    assert_int_equal(errno, EINVAL);
    assert_int_equal(cd_tr_event_nargs(0), -EINVAL);
    assert_int_equal(cd_tr_event_nargs(CD_TR_MAX_FILE_TYPE + 1), -EINVAL);

    /* A trace that defines string 1 only. */
    tw w;
    tw_init(&w);
    tw_header(&w, 1000000000, 0, 0, 0);
    tw_string(&w, 1, "main");
    tw_end(&w);
    cd_trace_reader *r;
    assert_int_equal(cd_trace_reader_open_mem(&r, w.out.p, w.out.len, NULL), 0);
    cd_tr_event ev;
    assert_int_equal(cd_trace_reader_next(r, &ev), 0);
    assert_string_equal(cd_trace_reader_string(r, 1, NULL), "main");
    errno = 0;
    assert_null(cd_trace_reader_string(r, 2, NULL));
    assert_int_equal(errno, ENOENT);
    cd_trace_reader_close(r);
    tw_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_code_has_text_and_name),
        cmocka_unit_test(test_texts_are_distinct),
        cmocka_unit_test(test_success_and_unknown),
        cmocka_unit_test(test_pointers_set_errno),
        cmocka_unit_test_setup_teardown(test_writers_say_ebadf, setup_fds, teardown_fds),
        cmocka_unit_test_setup_teardown(test_reader_says_ebadf, setup_fds, teardown_fds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

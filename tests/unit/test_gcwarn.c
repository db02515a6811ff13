/* tests/unit/test_gcwarn.c - runtime/gcwarn.h: bdwgc's warning formats as
 * one "cdebug: gc: " line each, and at most one line a second for each
 * message with the count of the ones left out. Times are given, not read. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/gcwarn.h"

/* bdwgc's own formats (the strings its WARN macro builds). */
static const char large[] =
    "GC Warning: Repeated allocation of very large block (appr. size %ld):\n"
    "\tMay lead to memory leak and poor performance\n";
static const char oom[] = "GC Warning: Out of Memory! Heap size: %ld MiB. Returning NULL!\n";
static const char named[] = "GC Warning: Bad initial heap size %s - ignoring it.\n";
static const char thread[] = "GC Warning: Duplicate suspend signal in thread %p\n";
static const char plain[] = "GC Warning: Header allocation failed: dropping block\n";

static int p[2];

static int setup(void **state)
{
    (void)state;
    return pipe2(p, O_NONBLOCK);
}

static int teardown(void **state)
{
    (void)state;
    close(p[0]);
    close(p[1]);
    return 0;
}

/* What the pipe holds, NUL-ended ("" when empty). */
static const char *drain(void)
{
    static char buf[4096];
    ssize_t n = read(p[0], buf, sizeof buf - 1);
    buf[n > 0 ? n : 0] = '\0';
    return buf;
}

#define SEC UINT64_C(1000000000)

static void test_format(void **state)
{
    (void)state;
    assert_true(cd__gcwarn_emit(p[1], large, 268439552, 100 * SEC));
    assert_string_equal(drain(), "cdebug: gc: Repeated allocation of very large block (appr. size "
                                 "268439552): May lead to memory leak and poor performance\n");
    assert_true(cd__gcwarn_emit(p[1], oom, 4096, 100 * SEC));
    assert_string_equal(drain(),
                        "cdebug: gc: Out of Memory! Heap size: 4096 MiB. Returning NULL!\n");
    assert_true(cd__gcwarn_emit(p[1], named, (uintptr_t) "12x", 100 * SEC));
    assert_string_equal(drain(), "cdebug: gc: Bad initial heap size 12x - ignoring it.\n");
    assert_true(cd__gcwarn_emit(p[1], thread, 0x7f00, 100 * SEC));
    assert_string_equal(drain(), "cdebug: gc: Duplicate suspend signal in thread 0x7f00\n");
    assert_true(cd__gcwarn_emit(p[1], plain, 0, 100 * SEC));
    assert_string_equal(drain(), "cdebug: gc: Header allocation failed: dropping block\n");
    /* Not bdwgc's: no prefix to strip, a second conversion and an unknown
     * one written as they are, a negative %ld. */
    static const char odd[] = "%ld then %ld and %q, 100%%";
    assert_true(cd__gcwarn_emit(p[1], odd, (uintptr_t)(intptr_t)-5, 100 * SEC));
    assert_string_equal(drain(), "cdebug: gc: -5 then %ld and %q, 100%\n");
    assert_false(cd__gcwarn_emit(p[1], NULL, 0, 100 * SEC));
}

static void test_rate_limit(void **state)
{
    (void)state;
    static const char msg[] = "GC Warning: Failed to expand heap by %ld bytes\n";
    uint64_t t = 1000 * SEC;
    assert_true(cd__gcwarn_emit(p[1], msg, 1, t));
    assert_string_equal(drain(), "cdebug: gc: Failed to expand heap by 1 bytes\n");
    /* Nine more within the second: counted, not written. */
    for (int i = 0; i < 9; i++)
        assert_false(cd__gcwarn_emit(p[1], msg, 2, t + (uint64_t)i * (SEC / 10)));
    assert_string_equal(drain(), "");
    /* Another message is limited on its own. */
    static const char other[] = "GC Warning: Failed to grow mark stack to %ld frames\n";
    assert_true(cd__gcwarn_emit(p[1], other, 7, t + SEC / 2));
    assert_string_equal(drain(), "cdebug: gc: Failed to grow mark stack to 7 frames\n");
    /* A second after the last line: written, with the count. */
    assert_true(cd__gcwarn_emit(p[1], msg, 3, t + SEC));
    assert_string_equal(drain(), "cdebug: gc: Failed to expand heap by 3 bytes (9 more suppressed "
                                 "since the last such line)\n");
    /* The count starts again. */
    assert_true(cd__gcwarn_emit(p[1], msg, 4, t + 3 * SEC));
    assert_string_equal(drain(), "cdebug: gc: Failed to expand heap by 4 bytes\n");
}

static void test_many_messages(void **state)
{
    (void)state;
    /* More distinct messages than slots: each is still written once,
     * the ones past the slots share one limit. */
    static char fmts[40][32];
    int written = 0;
    for (int i = 0; i < 40; i++) {
        snprintf(fmts[i], sizeof fmts[i], "GC Warning: message %d\n", i);
        written += cd__gcwarn_emit(p[1], fmts[i], 0, 5000 * SEC);
        drain();
    }
    assert_true(written >= 1 && written <= 16);
    /* Every one not written was counted in the shared slot. */
    char want[128];
    snprintf(want, sizeof want,
             "cdebug: gc: message 39 (%d more suppressed since the last such line)\n",
             40 - written);
    assert_true(cd__gcwarn_emit(p[1], fmts[39], 0, 5001 * SEC));
    assert_string_equal(drain(), want);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_rate_limit),
        cmocka_unit_test(test_many_messages),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

/* tests/unit/test_trace_annotations.c - the annotation API's semantics,
 * checked on real traces read back with the reader library:
 *   - a region begun with no trace running is not recorded and its end is
 *     ignored (Go's no-op regions); one begun in an earlier trace is not
 *     closed by the next trace's end;
 *   - ending a nested user task makes the outer one current again;
 *   - with no trace running cd_trace_log does not evaluate its arguments;
 *     the parenthesised function still works;
 *   - names passed as literals (interned by address alone) and through
 *     variables or reused buffers (address and text) read back right.
 */
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

#include <cdebug/cdebug.h>
#include <cdebug/trace.h>
#include <cdebug/trace_reader.h>

/* What a trace holds of the annotations: "B:name@task" / "E:name@task" /
 * "L:message@task" lines, in order, in one string. */
static char got[4096];

static void trace_begin(char *path, size_t n, int *fd)
{
    snprintf(path, n, "/tmp/cdebug-annot-XXXXXX");
    *fd = mkstemp(path);
    assert_true(*fd >= 0);
    assert_int_equal(cd_trace_start(*fd), 0);
}

static void trace_end_and_read(const char *path, int fd)
{
    assert_int_equal(cd_trace_stop(), 0);
    close(fd);
    cd_trace_reader *r;
    assert_int_equal(cd_trace_reader_open(&r, path, NULL), 0);
    got[0] = '\0';
    cd_tr_event ev;
    int rc;
    while ((rc = cd_trace_reader_next(r, &ev)) == 1) {
        char line[256];
        if (ev.type == CD_TR_REGION_BEGIN || ev.type == CD_TR_REGION_END)
            snprintf(line, sizeof line, "%c:%s@%llu ", ev.type == CD_TR_REGION_BEGIN ? 'B' : 'E',
                     ev.str[1] ? ev.str[1] : "", (unsigned long long)ev.args[0]);
        else if (ev.type == CD_TR_LOG)
            snprintf(line, sizeof line, "L:%s@%llu ", ev.str[2] ? ev.str[2] : "",
                     (unsigned long long)ev.args[0]);
        else
            continue;
        strncat(got, line, sizeof got - strlen(got) - 1);
    }
    assert_int_equal(rc, 0);
    cd_trace_reader_close(r);
    unlink(path);
}

static void test_regions_across_sessions(void **state)
{
    (void)state;
    char path[64];
    int fd;
    cd_trace_region_begin("before"); /* no trace: not recorded */
    trace_begin(path, sizeof path, &fd);
    cd_trace_region_end(); /* ends "before": ignored */
    cd_trace_region_begin("a");
    cd_trace_region_begin("b");
    cd_trace_region_end();
    cd_trace_region_end();
    cd_trace_region_begin("open"); /* left open when the trace stops */
    trace_end_and_read(path, fd);
    assert_string_equal(got, "B:a@0 B:b@0 E:b@0 E:a@0 B:open@0 ");

    cd_trace_region_end(); /* no trace: skipped */
    trace_begin(path, sizeof path, &fd);
    cd_trace_region_end(); /* "open" belongs to the last trace: ignored */
    cd_trace_region_begin("c");
    cd_trace_region_end();
    trace_end_and_read(path, fd);
    assert_string_equal(got, "B:c@0 E:c@0 ");
}

static void test_nested_user_tasks(void **state)
{
    (void)state;
    char path[64], want[128];
    int fd;
    trace_begin(path, sizeof path, &fd);
    cd_trace_task_id outer = cd_trace_task_begin(0, "outer");
    cd_trace_task_id inner = cd_trace_task_begin(outer, "inner");
    cd_trace_region_begin("in");
    cd_trace_region_end();
    cd_trace_task_end(inner);
    cd_trace_region_begin("out"); /* the outer task is current again */
    cd_trace_region_end();
    cd_trace_task_end(outer);
    cd_trace_region_begin("none");
    cd_trace_region_end();
    trace_end_and_read(path, fd);
    snprintf(want, sizeof want, "B:in@%llu E:in@%llu B:out@%llu E:out@%llu B:none@0 E:none@0 ",
             (unsigned long long)inner, (unsigned long long)inner, (unsigned long long)outer,
             (unsigned long long)outer);
    assert_string_equal(got, want);
}

static int evaluated;

static const char *message(void)
{
    evaluated++;
    return "hello";
}

static void test_log_arguments(void **state)
{
    (void)state;
    char path[64];
    int fd;
    evaluated = 0;
    cd_trace_log("cat", message()); /* no trace: arguments not evaluated */
    assert_int_equal(evaluated, 0);
    (cd_trace_log)("cat", message()); /* the function itself: a no-op */
    assert_int_equal(evaluated, 1);
    trace_begin(path, sizeof path, &fd);
    cd_trace_log("cat", message());
    (cd_trace_log)("cat", "direct");
    trace_end_and_read(path, fd);
    assert_int_equal(evaluated, 2);
    assert_string_equal(got, "L:hello@0 L:direct@0 ");
}

/* Region and log names through each intern path: a literal (the macros
 * see __builtin_constant_p and key by address), the same text through a
 * pointer, a stack buffer whose text changes between calls (keyed by
 * address and text: the second name must not come back as the first),
 * and NULL / empty names (string 0: no name). */
static void test_name_paths(void **state)
{
    (void)state;
    char path[64], buf[32];
    int fd;
    const char *var = "lit";
    trace_begin(path, sizeof path, &fd);
    for (int i = 0; i < 2; i++) { /* twice: the second round hits the caches */
        cd_trace_region_begin("lit");
        cd_trace_region_end();
        (cd_trace_region_begin)(var);
        cd_trace_region_end();
        snprintf(buf, sizeof buf, "buf-%d", i);
        cd_trace_region_begin(buf);
        cd_trace_region_end();
        snprintf(buf, sizeof buf, "other-%d", i);
        cd_trace_region_begin(buf);
        cd_trace_region_end();
    }
    cd_trace_region_begin(NULL);
    cd_trace_region_end();
    cd_trace_region_begin("");
    cd_trace_region_end();
    cd_trace_log("cat", "m1");
    cd_trace_log(NULL, "m2");
    for (int i = 0; i < 2; i++) { /* literal category, message by content */
        snprintf(buf, sizeof buf, "msg-%d", i);
        cd_trace_log("cat", buf);
        (cd_trace_log)(var, buf);
    }
    cd_trace_log(var, "m3"); /* the other way round */
    trace_end_and_read(path, fd);
    assert_string_equal(got, "B:lit@0 E:lit@0 B:lit@0 E:lit@0 B:buf-0@0 E:buf-0@0 "
                             "B:other-0@0 E:other-0@0 "
                             "B:lit@0 E:lit@0 B:lit@0 E:lit@0 B:buf-1@0 E:buf-1@0 "
                             "B:other-1@0 E:other-1@0 "
                             "B:@0 E:@0 B:@0 E:@0 L:m1@0 L:m2@0 L:msg-0@0 L:msg-0@0 "
                             "L:msg-1@0 L:msg-1@0 L:m3@0 ");
}

/* One call site, as in a loop: its literals are memoized by address
 * (region name per depth, log category and message). */
static void site(void)
{
    cd_trace_region_begin("site");
    cd_trace_log("site-cat", "site-msg");
    cd_trace_region_end();
}

/* String ids belong to one trace: a literal memoized in one trace must be
 * interned again in the next, where its old id names another string (a
 * user task's type is interned first there, without touching the memos).
 * And a different literal at the same depth is not taken for the
 * memoized one. */
static void test_literal_memos_across_sessions(void **state)
{
    (void)state;
    char path[64];
    int fd;
    trace_begin(path, sizeof path, &fd);
    site();
    site();
    trace_end_and_read(path, fd);
    assert_string_equal(got, "B:site@0 L:site-msg@0 E:site@0 B:site@0 L:site-msg@0 E:site@0 ");

    trace_begin(path, sizeof path, &fd);
    cd_trace_task_end(cd_trace_task_begin(0, "shift"));
    site();
    cd_trace_region_begin("last");
    cd_trace_region_end();
    trace_end_and_read(path, fd);
    assert_string_equal(got, "B:site@0 L:site-msg@0 E:site@0 B:last@0 E:last@0 ");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_name_paths),
        cmocka_unit_test(test_regions_across_sessions),
        cmocka_unit_test(test_nested_user_tasks),
        cmocka_unit_test(test_log_arguments),
        cmocka_unit_test(test_literal_memos_across_sessions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

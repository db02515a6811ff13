/* tests/unit/test_lineage.c - the children rule (runtime/lineage.h): who
 * is a child, what a child's settings become, and the marker a root
 * leaves in the environment. test_preload_children.sh runs the rule on
 * real processes. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/env.h"
#include "runtime/lineage.h"

static void test_marker_round_trip(void **state)
{
    (void)state;
    char m[64];
    size_t n = cd__lineage_marker(m, sizeof m, "http=127.0.0.1:6060", 1234);
    assert_true(n > 0);
    assert_int_equal(strlen(m), n);
    assert_memory_equal(m, "1234:", 5);
    /* Another process with the same value is a child; the root itself
     * (an exec of itself) is not; another value is a root of its own. */
    assert_true(cd__lineage_is_child(m, "http=127.0.0.1:6060", 1235));
    assert_false(cd__lineage_is_child(m, "http=127.0.0.1:6060", 1234));
    assert_false(cd__lineage_is_child(m, "http=127.0.0.1:6061", 1235));
    assert_false(cd__lineage_is_child(m, NULL, 1235));
    assert_false(cd__lineage_is_child(NULL, "http=127.0.0.1:6060", 1235));
    /* Too small a buffer: nothing. */
    assert_int_equal(cd__lineage_marker(m, 8, "x", 1234), 0);
}

static void test_marker_malformed(void **state)
{
    (void)state;
    char good[64];
    assert_true(cd__lineage_marker(good, sizeof good, "gctrace=1", 77) > 0);
    const char *hash = strchr(good, ':') + 1;
    char buf[128];
    const char *bad[] = {"", ":", "77", "77:", "x:0123456789abcdef", "-77:%s", "+77:%s",
                         "0:%s", "77:%s0", "77 :%s", "99999999999999999999999:%s"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(buf, sizeof buf, bad[i], hash);
        assert_false(cd__lineage_is_child(buf, "gctrace=1", 78));
    }
    /* Upper-case or short hex is not this marker's. */
    snprintf(buf, sizeof buf, "77:%.15s", hash);
    assert_false(cd__lineage_is_child(buf, "gctrace=1", 78));
    snprintf(buf, sizeof buf, "77:%s", hash);
    assert_true(cd__lineage_is_child(buf, "gctrace=1", 78));
}

static void test_child_config(void **state)
{
    (void)state;
    cd__config c;
    cd__config_defaults(&c);
    strcpy(c.http_addr, "127.0.0.1:6060");
    strcpy(c.cpuprofile_path, "/tmp/cpu.pb.gz");
    strcpy(c.trace_path, "t.trace");
    cd__lineage_child_config(&c, 4321);
    assert_string_equal(c.http_addr, "");
    assert_string_equal(c.cpuprofile_path, "/tmp/cpu.pb.gz.4321");
    assert_string_equal(c.trace_path, "t.trace.4321");
    assert_string_equal(c.memprofile_path, "");

    /* Port 0: every child takes a free port of its own. */
    cd__config_defaults(&c);
    strcpy(c.http_addr, "[::1]:0");
    cd__lineage_child_config(&c, 4321);
    assert_string_equal(c.http_addr, "[::1]:0");
    strcpy(c.http_addr, "localhost:60");
    cd__lineage_child_config(&c, 4321);
    assert_string_equal(c.http_addr, "");

    /* A name with no room for ".PID": nothing written, never the
     * parent's file. */
    cd__config_defaults(&c);
    memset(c.memprofile_path, 'a', sizeof c.memprofile_path - 3);
    c.memprofile_path[sizeof c.memprofile_path - 3] = '\0';
    cd__lineage_child_config(&c, 4321);
    assert_string_equal(c.memprofile_path, "");
}

static void test_port_zero(void **state)
{
    (void)state;
    assert_true(cd__env_http_port_zero("127.0.0.1:0"));
    assert_true(cd__env_http_port_zero("[::1]:0"));
    assert_false(cd__env_http_port_zero("127.0.0.1:00"));
    assert_false(cd__env_http_port_zero("127.0.0.1:6060"));
    assert_false(cd__env_http_port_zero("[::0]:80"));
}

/* cd__env_load in a process whose environment says it is a child: the
 * rule applied, no warning printed; the root's marker is kept. */
static void test_env_load_child(void **state)
{
    (void)state;
    const char *v = "http=127.0.0.1:6060,cpuprofile=c.pb.gz,nosuchsetting=1";
    char m[64];
    assert_true(cd__lineage_marker(m, sizeof m, v, getpid() + 1) > 0);
    setenv("CDEBUG", v, 1);
    setenv(CD__LINEAGE_ENV, m, 1);
    char errpath[] = "/tmp/test_lineage.XXXXXX";
    int fd = mkstemp(errpath);
    assert_true(fd >= 0);
    int saved = dup(2);
    dup2(fd, 2);
    cd__config c;
    cd__env_load(&c);
    dup2(saved, 2);
    close(saved);
    off_t size = lseek(fd, 0, SEEK_END);
    close(fd);
    unlink(errpath);
    assert_int_equal(size, 0);
    assert_int_equal(c.child, 1);
    assert_string_equal(c.http_addr, "");
    char want[64];
    snprintf(want, sizeof want, "c.pb.gz.%ld", (long)getpid());
    assert_string_equal(c.cpuprofile_path, want);
    assert_string_equal(getenv(CD__LINEAGE_ENV), m);

    /* The same process as a root: it marks the environment for its own
     * children and keeps its settings. */
    unsetenv(CD__LINEAGE_ENV);
    setenv("CDEBUG", "cpuprofile=c.pb.gz", 1);
    cd__env_load(&c);
    assert_int_equal(c.child, 0);
    assert_string_equal(c.cpuprofile_path, "c.pb.gz");
    const char *mine = getenv(CD__LINEAGE_ENV);
    assert_non_null(mine);
    assert_true(cd__lineage_is_child(mine, "cpuprofile=c.pb.gz", getpid() + 1));
    unsetenv("CDEBUG");
    unsetenv(CD__LINEAGE_ENV);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_marker_round_trip), cmocka_unit_test(test_marker_malformed),
        cmocka_unit_test(test_child_config),      cmocka_unit_test(test_port_zero),
        cmocka_unit_test(test_env_load_child),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

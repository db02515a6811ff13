/* tests/unit/test_top_flags.c - cdebug-top's command line.
 *
 * Go duration parsing (expected values printed by Go 1.19's
 * time.ParseDuration), the flag grammar of Go's flag package with its error
 * texts and exit conventions, and the expansion of expvarmon's -ports
 * syntax into URLs.
 */
#include <setjmp.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "viewer/cdebug-top/duration.h"
#include "viewer/cdebug-top/flags.h"
#include "viewer/cdebug-top/ports.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Go durations ------------------------------------------------------- */

static void test_duration_parse_like_go(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int64_t ns;
    } ok[] = {
        {"0", 0},
        {"-0", 0},
        {"0s", 0},
        {"1s", 1000000000},
        {"500ms", 500000000},
        {"2m", 120000000000},
        {"1h30m", 5400000000000},
        {"1.5h", 5400000000000},
        {"-1.5h", -5400000000000},
        {"+3s", 3000000000},
        {"1us", 1000},
        {"1\xc2\xb5s", 1000}, /* U+00B5 */
        {"1\xce\xbcs", 1000}, /* U+03BC */
        {"300ns", 300},
        {".5s", 500000000},
        {"1.s", 1000000000},
        {"1.0000000001s", 1000000000},
        {"1.1s", 1100000000},
        {"0.3333333333333333333h", 1200000000000},
        {"1h2m3s4ms5us6ns", 3723004005006},
        {"2562047h47m16.854775807s", INT64_MAX},
        {"-2562047h47m16.854775808s", INT64_MIN},
        {"9223372036854775807ns", INT64_MAX},
    };
    for (size_t i = 0; i < NELEM(ok); i++) {
        int64_t ns = 42;
        int rc = top_duration_parse(ok[i].in, &ns);
        if (rc != 0 || ns != ok[i].ns)
            fail_msg("\"%s\": rc %d, %lld ns, want %lld", ok[i].in, rc, (long long)ns,
                     (long long)ok[i].ns);
    }

    static const char *const bad[] = {"", "1", "s", "1x", ".s", "1.5", "--1s", "1e3s", "-", "1s2",
                                      "ms", " 1s", "1 s"};
    for (size_t i = 0; i < NELEM(bad); i++) {
        int64_t ns;
        if (top_duration_parse(bad[i], &ns) != -EINVAL)
            fail_msg("\"%s\" should be rejected", bad[i]);
    }
    int64_t ns;
    assert_int_equal(top_duration_parse("2562047h47m16.854775808s", &ns), -ERANGE);
    assert_int_equal(top_duration_parse("9223372036854775808ns", &ns), -ERANGE);
    assert_int_equal(top_duration_parse("99999999999999999999s", &ns), -ERANGE);
    assert_int_equal(top_duration_parse("3000000h", &ns), -ERANGE);
}

/* ---- the flag grammar --------------------------------------------------- */

/* Runs top_flags_parse on a NULL-terminated list, capturing what it writes. */
static int parse(top_opts *o, char **msg, ...)
{
    char *argv[32] = {"cdebug-top"};
    int argc = 1;
    va_list ap;
    va_start(ap, msg);
    for (char *a; (a = va_arg(ap, char *)) != NULL;)
        argv[argc++] = a;
    va_end(ap);

    static char *buf;
    size_t len;
    free(buf);
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    int rc = top_flags_parse(argc, argv, o, f);
    fclose(f);
    *msg = buf;
    return rc;
}

static void test_flags_defaults(void **state)
{
    (void)state;
    top_opts o;
    char *msg;
    assert_int_equal(parse(&o, &msg, NULL), 0);
    assert_string_equal(o.ports, "");
    assert_true(o.interval_ns == 5 * INT64_C(1000000000));
    /* expvarmon's default vars */
    assert_string_equal(o.vars, "mem:memstats.Alloc,mem:memstats.Sys,mem:memstats.HeapAlloc,"
                                "mem:memstats.HeapInuse,duration:memstats.PauseNs,"
                                "duration:memstats.PauseTotalNs");
    assert_string_equal(o.endpoint, "/debug/vars");
    assert_null(o.csv);
    assert_false(o.dummy);
    assert_string_equal(msg, "");
}

static void test_flags_go_syntax(void **state)
{
    (void)state;
    top_opts o;
    char *msg;

    /* one dash, =value */
    assert_int_equal(parse(&o, &msg, "-ports=6060,6061", "-i=500ms", "-dummy", NULL), 0);
    assert_string_equal(o.ports, "6060,6061");
    assert_true(o.interval_ns == 500000000);
    assert_true(o.dummy);

    /* two dashes, separate value; bool with explicit value */
    assert_int_equal(parse(&o, &msg, "--ports", "localhost:1", "--i", "2m", "--csv", "run.csv",
                           "--dummy=false", "-vars", "a,b", "-endpoint", "/x", NULL),
                     0);
    assert_string_equal(o.ports, "localhost:1");
    assert_true(o.interval_ns == 120 * INT64_C(1000000000));
    assert_string_equal(o.csv, "run.csv");
    assert_false(o.dummy);
    assert_string_equal(o.vars, "a,b");
    assert_string_equal(o.endpoint, "/x");

    /* last one wins; "--" ends the flags */
    assert_int_equal(parse(&o, &msg, "-i", "1s", "-i", "3s", "--", NULL), 0);
    assert_true(o.interval_ns == 3 * INT64_C(1000000000));

    /* a bool never takes the next argument: "false" is then a stray argument */
    assert_int_equal(parse(&o, &msg, "-dummy", "false", NULL), -EINVAL);
    assert_non_null(strstr(msg, "unexpected argument \"false\""));
}

static void test_flags_errors(void **state)
{
    (void)state;
    top_opts o;
    char *msg;

    assert_int_equal(parse(&o, &msg, "-bogus", NULL), -EINVAL);
    assert_true(strncmp(msg, "flag provided but not defined: -bogus\nUsage of cdebug-top:\n",
                        strlen("flag provided but not defined: -bogus\nUsage of cdebug-top:\n")) ==
                0);

    assert_int_equal(parse(&o, &msg, "-i", "abc", NULL), -EINVAL);
    assert_non_null(strstr(msg, "invalid value \"abc\" for flag -i: parse error\n"));

    assert_int_equal(parse(&o, &msg, "-i=0s", NULL), -EINVAL);
    assert_non_null(strstr(msg, "update interval is not valid"));
    assert_int_equal(parse(&o, &msg, "-i=-1s", NULL), -EINVAL);

    assert_int_equal(parse(&o, &msg, "-ports", NULL), -EINVAL);
    assert_non_null(strstr(msg, "flag needs an argument: -ports\n"));

    assert_int_equal(parse(&o, &msg, "-dummy=maybe", NULL), -EINVAL);
    assert_non_null(strstr(msg, "invalid boolean value \"maybe\" for -dummy"));

    assert_int_equal(parse(&o, &msg, "---ports=1", NULL), -EINVAL);
    assert_non_null(strstr(msg, "bad flag syntax: ---ports=1\n"));

    assert_int_equal(parse(&o, &msg, "6060", NULL), -EINVAL);
    assert_non_null(strstr(msg, "unexpected argument \"6060\""));

    /* what the command line holds is quoted escaped, never raw (esc.h) */
    assert_int_equal(parse(&o, &msg, "-i", "\x1b[2J\r\n", NULL), -EINVAL);
    assert_non_null(strstr(msg, "invalid value \"\\x1b[2J\\r\\n\" for flag -i: parse error\n"));
    assert_int_equal(parse(&o, &msg, "-dummy=\x07", NULL), -EINVAL);
    assert_non_null(strstr(msg, "invalid boolean value \"\\a\" for -dummy"));
    assert_int_equal(parse(&o, &msg, "-bo\ngus", NULL), -EINVAL);
    assert_non_null(strstr(msg, "flag provided but not defined: -bo\\ngus\n"));
    assert_int_equal(parse(&o, &msg, "---\x1b]52", NULL), -EINVAL);
    assert_non_null(strstr(msg, "bad flag syntax: ---\\x1b]52\n"));
    assert_int_equal(parse(&o, &msg, "60\xc2\x9b;60", NULL), -EINVAL);
    assert_non_null(strstr(msg, "unexpected argument \"60\\u009b;60\""));
    assert_null(strchr(msg, '\x1b'));

    /* every error is followed by the usage, which names every flag */
    static const char *const names[] = {"-csv", "-dummy", "-endpoint", "-i duration",
                                        "-ports string", "-self", "-vars string"};
    for (size_t i = 0; i < NELEM(names); i++)
        assert_non_null(strstr(msg, names[i]));
}

static void test_flags_help(void **state)
{
    (void)state;
    top_opts o;
    char *msg;
    assert_int_equal(parse(&o, &msg, "-h", NULL), TOP_FLAGS_HELP);
    assert_true(strncmp(msg, "Usage of cdebug-top:", 20) == 0);
    assert_int_equal(parse(&o, &msg, "--help", NULL), TOP_FLAGS_HELP);
    assert_int_equal(parse(&o, &msg, "-ports=1", "-help", NULL), TOP_FLAGS_HELP);
}

/* ---- -ports ------------------------------------------------------------- */

static void expect_ports(const char *spec, const char *endpoint, const char *const *want, size_t n)
{
    top_target *t = NULL;
    size_t cnt = 0;
    char err[256] = "";
    int rc = top_ports_parse(spec, endpoint, &t, &cnt, err, sizeof(err));
    if (rc != 0)
        fail_msg("\"%s\": rc %d: %s", spec, rc, err);
    if (cnt != n)
        fail_msg("\"%s\": %zu targets, want %zu", spec, cnt, n);
    for (size_t i = 0; i < n; i++) {
        char got[600];
        snprintf(got, sizeof(got), "%s %s", t[i].name, t[i].url);
        if (strcmp(got, want[i]) != 0)
            fail_msg("\"%s\"[%zu]: got \"%s\", want \"%s\"", spec, i, got, want[i]);
    }
    top_targets_free(t, cnt);
}

static void test_ports_forms(void **state)
{
    (void)state;
    const char *ep = "/debug/vars";

    expect_ports("6060", ep, (const char *[]){"localhost:6060 http://localhost:6060/debug/vars"}, 1);
    expect_ports(
        "1234,1235", ep,
        (const char *[]){"localhost:1234 http://localhost:1234/debug/vars",
                         "localhost:1235 http://localhost:1235/debug/vars"},
        2);
    expect_ports("1234-1236", ep,
                 (const char *[]){"localhost:1234 http://localhost:1234/debug/vars",
                                  "localhost:1235 http://localhost:1235/debug/vars",
                                  "localhost:1236 http://localhost:1236/debug/vars"},
                 3);
    expect_ports("127.0.0.1:6061", ep,
                 (const char *[]){"127.0.0.1:6061 http://127.0.0.1:6061/debug/vars"}, 1);
    /* the Go original's ":5000" */
    expect_ports(":5000", ep, (const char *[]){"localhost:5000 http://localhost:5000/debug/vars"},
                 1);
    expect_ports("remoteapp:80-81", ep,
                 (const char *[]){"remoteapp:80 http://remoteapp:80/debug/vars",
                                  "remoteapp:81 http://remoteapp:81/debug/vars"},
                 2);
    expect_ports("http://example.com:80-81", ep,
                 (const char *[]){"example.com:80 http://example.com:80/debug/vars",
                                  "example.com:81 http://example.com:81/debug/vars"},
                 2);
    /* a URL's own path replaces the endpoint; credentials stay out of the name */
    expect_ports("https://user:pw@host:8443/_vars?x=1", ep,
                 (const char *[]){"host:8443 https://user:pw@host:8443/_vars?x=1"}, 1);
    expect_ports("http://host", ep, (const char *[]){"host http://host/debug/vars"}, 1);
    expect_ports("[::1]:6060", ep, (const char *[]){"[::1]:6060 http://[::1]:6060/debug/vars"}, 1);
    /* -endpoint, with or without its leading slash; blanks and empty fields */
    expect_ports(" 6060 ,, 7070", "metrics/json",
                 (const char *[]){"localhost:6060 http://localhost:6060/metrics/json",
                                  "localhost:7070 http://localhost:7070/metrics/json"},
                 2);
}

static void test_ports_errors(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        int rc;
        const char *msg;
    } bad[] = {
        {"", -EINVAL, "no ports specified"},
        {" , ", -EINVAL, "no ports specified"},
        {"x", -EINVAL, "bad port or range \"x\""},
        {"0", -EINVAL, "bad port or range"},
        {"65536", -EINVAL, "bad port or range"},
        {"6062-6060", -EINVAL, "bad port or range"},
        {"6060-", -EINVAL, "bad port or range"},
        {"host:", -EINVAL, "bad port or range"},
        {"localhost", -EINVAL, "bad port or range"},
        {"ftp://host:21", -EINVAL, "unsupported scheme"},
        {"::1:6060", -EINVAL, "IPv6"},
        {"[::1", -EINVAL, "missing ']'"},
        {"1-65535", -E2BIG, "too many services"},
        {"1000-1040,2000-2040", -E2BIG, "too many services"},
    };
    for (size_t i = 0; i < NELEM(bad); i++) {
        top_target *t = NULL;
        size_t n = 0;
        char err[256] = "";
        int rc = top_ports_parse(bad[i].spec, "/debug/vars", &t, &n, err, sizeof(err));
        if (rc != bad[i].rc || strstr(err, bad[i].msg) == NULL)
            fail_msg("\"%s\": rc %d \"%s\", want %d \"%s\"", bad[i].spec, rc, err, bad[i].rc,
                     bad[i].msg);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_parse_like_go),
        cmocka_unit_test(test_flags_defaults),
        cmocka_unit_test(test_flags_go_syntax),
        cmocka_unit_test(test_flags_errors),
        cmocka_unit_test(test_flags_help),
        cmocka_unit_test(test_ports_forms),
        cmocka_unit_test(test_ports_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* tests/unit/test_env.c - CDEBUG, CDMAXPROCS, CDGC and CDTRACEBACK parsing.
 *
 * The parsers are pure, so most tests drive them with literal strings and
 * collect the warning lines through the callback. One end-to-end test runs
 * cd__env_load() on the real environment with stderr redirected to a file.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "runtime/env.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A warning line must stay short whatever the input: prefix, one quoted
 * string of at most 64 visible characters plus "...", a name, a reason. */
#define LINE_BOUND 200

/* ---- warning collector -------------------------------------------------- */

typedef struct warns {
    int n;             /* callbacks received */
    char line[8][512]; /* the first eight lines */
    size_t len[8];
} warns;

static void collect(const char *msg, void *ctx)
{
    warns *w = ctx;
    if (w->n < (int)NELEM(w->line)) {
        size_t n = strlen(msg);
        /* Copy more than the bound allows so an overlong line is caught. */
        if (n >= sizeof(w->line[0]))
            n = sizeof(w->line[0]) - 1;
        memcpy(w->line[w->n], msg, n);
        w->line[w->n][n] = '\0';
        w->len[w->n] = strlen(msg);
    }
    w->n++;
}

static void reset(warns *w)
{
    memset(w, 0, sizeof(*w));
}

/* A config with every field at its default. */
static cd__config defaults(void)
{
    cd__config c;
    cd__config_defaults(&c);
    return c;
}

static void assert_cfg_eq(const cd__config *a, const cd__config *b)
{
    assert_int_equal(a->gctrace, b->gctrace);
    assert_int_equal(a->schedtrace_ms, b->schedtrace_ms);
    assert_int_equal(a->scheddetail, b->scheddetail);
    assert_int_equal(a->maxprocs, b->maxprocs);
    assert_int_equal(a->gc_percent, b->gc_percent);
}

/* Parses s from defaults; checks that the return value equals the number of
 * callbacks and that every line is newline-free and bounded. */
static int parse(const char *s, cd__config *c, warns *w)
{
    *c = defaults();
    reset(w);
    int rc = cd__env_parse_cdebug(c, s, collect, w);
    assert_int_equal(rc, w->n);
    for (int i = 0; i < w->n && i < (int)NELEM(w->line); i++) {
        assert_true(w->len[i] < LINE_BOUND);
        assert_null(strchr(w->line[i], '\n'));
    }
    return rc;
}

/* ---- defaults ------------------------------------------------------------ */

static void test_defaults(void **state)
{
    (void)state;
    cd__config c;
    memset(&c, 0x5a, sizeof(c));
    cd__config_defaults(&c);

    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if (n > CD__MAXPROCS_MAX)
        n = CD__MAXPROCS_MAX;
    assert_int_equal(c.gctrace, 0);
    assert_int_equal(c.schedtrace_ms, 0);
    assert_int_equal(c.scheddetail, 0);
    assert_int_equal(c.maxprocs, n);
    assert_int_equal(c.gc_percent, 100);
    assert_int_equal(c.sigquit, 1); /* Go's SIGQUIT dump */
    assert_int_equal(c.traceback, CD__TB_SINGLE);
}

/* ---- CDEBUG: valid input ------------------------------------------------- */

static void test_cdebug_valid(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int gctrace, schedtrace, scheddetail;
    } cases[] = {
        {"gctrace=1", 1, 0, 0},
        {"gctrace=0", 0, 0, 0},
        {"gctrace=2", 2, 0, 0},
        {"gctrace=01", 1, 0, 0},
        {"gctrace=000", 0, 0, 0},
        {"schedtrace=1000", 0, 1000, 0},
        {"schedtrace=0", 0, 0, 0},
        {"schedtrace=1", 0, 1, 0},
        {"schedtrace=3600000", 0, 3600000, 0},
        {"schedtrace=0003600000", 0, 3600000, 0},
        {"scheddetail=1", 0, 0, 1},
        {"scheddetail=0", 0, 0, 0},
        {"gctrace=1,schedtrace=1000,scheddetail=1", 1, 1000, 1},
        {"scheddetail=1,schedtrace=500", 0, 500, 1},
        {"", 0, 0, 0},
        {",", 0, 0, 0},
        {",,,", 0, 0, 0},
        {",gctrace=1", 1, 0, 0},
        {"gctrace=1,", 1, 0, 0},
        {",,gctrace=1,,schedtrace=5,,", 1, 5, 0},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        cd__config c;
        warns w;
        if (parse(cases[i].in, &c, &w) != 0)
            fail_msg("\"%s\": unexpected warning: %s", cases[i].in, w.line[0]);
        assert_int_equal(c.gctrace, cases[i].gctrace);
        assert_int_equal(c.schedtrace_ms, cases[i].schedtrace);
        assert_int_equal(c.scheddetail, cases[i].scheddetail);
        /* CDEBUG never touches the other two. */
        cd__config d = defaults();
        assert_int_equal(c.maxprocs, d.maxprocs);
        assert_int_equal(c.gc_percent, d.gc_percent);
    }
}

static void test_cdebug_null(void **state)
{
    (void)state;
    cd__config c = defaults();
    c.gctrace = 1;
    c.schedtrace_ms = 7;
    cd__config before = c;
    warns w;
    reset(&w);
    assert_int_equal(cd__env_parse_cdebug(&c, NULL, collect, &w), 0);
    assert_int_equal(w.n, 0);
    assert_cfg_eq(&c, &before);
}

/* A NULL callback still counts (cd__env_load always passes one, but the
 * parser must not crash on a caller that only wants the count). */
static void test_cdebug_null_callback(void **state)
{
    (void)state;
    cd__config c = defaults();
    assert_int_equal(cd__env_parse_cdebug(&c, "x=1,gctrace=1,y", NULL, NULL), 2);
    assert_int_equal(c.gctrace, 1);
}

/* Settings accumulate across calls: parsing starts from c, not defaults. */
static void test_cdebug_keeps_prior(void **state)
{
    (void)state;
    cd__config c = defaults();
    warns w;
    reset(&w);
    assert_int_equal(cd__env_parse_cdebug(&c, "gctrace=1", collect, &w), 0);
    assert_int_equal(cd__env_parse_cdebug(&c, "schedtrace=10,gctrace=bad", collect, &w), 1);
    assert_int_equal(c.gctrace, 1);
    assert_int_equal(c.schedtrace_ms, 10);
}

/* ---- CDEBUG: last one wins ---------------------------------------------- */

static void test_cdebug_last_wins(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int gctrace, schedtrace, nwarn;
    } cases[] = {
        {"gctrace=1,gctrace=0", 0, 0, 0},
        {"gctrace=0,gctrace=1", 1, 0, 0},
        {"gctrace=1,gctrace=2,gctrace=1", 1, 0, 0},
        {"schedtrace=10,schedtrace=20", 0, 20, 0},
        {"schedtrace=10,gctrace=1,schedtrace=0", 1, 0, 0},
        /* A valid occurrence followed by an invalid one keeps the valid one. */
        {"gctrace=1,gctrace=x", 1, 0, 1},
        {"gctrace=1,gctrace=5", 1, 0, 1},
        {"gctrace=1,gctrace=", 1, 0, 1},
        {"gctrace=1,gctrace", 1, 0, 1},
        {"schedtrace=10,schedtrace=3600001", 0, 10, 1},
        {"schedtrace=10,schedtrace=-5,schedtrace=30", 0, 30, 1},
        /* Case-sensitive: GCTRACE is another (unknown) name. */
        {"gctrace=1,GCTRACE=0", 1, 0, 1},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        cd__config c;
        warns w;
        int n = parse(cases[i].in, &c, &w);
        if (n != cases[i].nwarn)
            fail_msg("\"%s\": %d warnings, want %d", cases[i].in, n, cases[i].nwarn);
        assert_int_equal(c.gctrace, cases[i].gctrace);
        assert_int_equal(c.schedtrace_ms, cases[i].schedtrace);
    }
}

/* ---- CDEBUG: exact warning texts ---------------------------------------- */

static void test_cdebug_warning_texts(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"gctrce=1", "cdebug: CDEBUG: unknown setting \"gctrce\" ignored"},
        {"GCTRACE=1", "cdebug: CDEBUG: unknown setting \"GCTRACE\" ignored"},
        {" gctrace=1", "cdebug: CDEBUG: unknown setting \" gctrace\" ignored"},
        {"gctrace =1", "cdebug: CDEBUG: unknown setting \"gctrace \" ignored"},
        {"madvdontneed=1", "cdebug: CDEBUG: unknown setting \"madvdontneed\" ignored"},
        {"http=6060", "cdebug: CDEBUG: bad value \"6060\" for http ignored (want host:port, "
                      "e.g. 127.0.0.1:6060)"},
        {"gctrace", "cdebug: CDEBUG: malformed item \"gctrace\" ignored (want name=value)"},
        {"=1", "cdebug: CDEBUG: malformed item \"=1\" ignored (want name=value)"},
        {"=", "cdebug: CDEBUG: malformed item \"=\" ignored (want name=value)"},
        {"gctrace=", "cdebug: CDEBUG: bad value \"\" for gctrace ignored (want 0, 1 or 2)"},
        {"gctrace=1=2", "cdebug: CDEBUG: bad value \"1=2\" for gctrace ignored (want 0, 1 or 2)"},
        {"gctrace=+1", "cdebug: CDEBUG: bad value \"+1\" for gctrace ignored (want 0, 1 or 2)"},
        {"gctrace=-1", "cdebug: CDEBUG: bad value \"-1\" for gctrace ignored (want 0, 1 or 2)"},
        {"gctrace=0x10", "cdebug: CDEBUG: bad value \"0x10\" for gctrace ignored (want 0, 1 or 2)"},
        {"gctrace=3", "cdebug: CDEBUG: bad value \"3\" for gctrace ignored (want 0, 1 or 2)"},
        {"gctrace= 1", "cdebug: CDEBUG: bad value \" 1\" for gctrace ignored (want 0, 1 or 2)"},
        {"schedtrace=99999999999999999999",
         "cdebug: CDEBUG: bad value \"99999999999999999999\" for schedtrace ignored "
         "(want milliseconds from 0 to 3600000)"},
        {"schedtrace=3600001", "cdebug: CDEBUG: bad value \"3600001\" for schedtrace ignored "
                               "(want milliseconds from 0 to 3600000)"},
        {"scheddetail=2", "cdebug: CDEBUG: bad value \"2\" for scheddetail ignored (want 0 or 1)"},
        {"scheddetail=true",
         "cdebug: CDEBUG: bad value \"true\" for scheddetail ignored (want 0 or 1)"},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        cd__config c;
        warns w;
        assert_int_equal(parse(cases[i].in, &c, &w), 1);
        assert_string_equal(w.line[0], cases[i].want);
        cd__config d = defaults();
        assert_cfg_eq(&c, &d);
    }
}

/* Several rejected items: one line each, in input order. */
static void test_cdebug_several_warnings(void **state)
{
    (void)state;
    cd__config c;
    warns w;
    assert_int_equal(parse("gctrace=1,foo=1,,bar,schedtrace=x,scheddetail=1", &c, &w), 3);
    assert_string_equal(w.line[0], "cdebug: CDEBUG: unknown setting \"foo\" ignored");
    assert_string_equal(w.line[1],
                        "cdebug: CDEBUG: malformed item \"bar\" ignored (want name=value)");
    assert_string_equal(w.line[2], "cdebug: CDEBUG: bad value \"x\" for schedtrace ignored "
                                   "(want milliseconds from 0 to 3600000)");
    assert_int_equal(c.gctrace, 1);
    assert_int_equal(c.schedtrace_ms, 0);
    assert_int_equal(c.scheddetail, 1);
}

/* ---- CDEBUG: malformed table -------------------------------------------- */

static void test_cdebug_malformed_table(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int nwarn;
    } cases[] = {
        {"gctrace", 1},
        {"=", 1},
        {"=1", 1},
        {"gctrace=", 1},
        {"gctrace=1=2", 1},
        {"gctrace=+1", 1},
        {"gctrace=-1", 1},
        {"gctrace=0x1", 1},
        {"gctrace=3", 1},
        {"gctrace= 1", 1},
        {"gctrace=1 ", 1},
        {"gctrace=\t1", 1},
        {"GCTRACE=1", 1},
        {"Gctrace=1", 1},
        {" gctrace=1", 1},
        {"gctrace =1", 1},
        {"gctrace\t=1", 1},
        {"gctrace:1", 1},
        {"gctrace==1", 1},
        {"schedtrace=", 1},
        {"schedtrace=-1000", 1},
        {"schedtrace=3600001", 1},
        {"schedtrace=99999999999999999999", 1},
        {"schedtrace=18446744073709551616", 1},
        {"schedtrace=1e3", 1},
        {"schedtrace=1.5", 1},
        {"schedtrace=1000ms", 1},
        {"scheddetail=2", 1},
        {"scheddetail=yes", 1},
        {"gctrace;scheddetail=1", 1},
        {"gctrace=1;scheddetail=1", 1},
        {"gctrace=\xef\xbc\x91", 1}, /* fullwidth digit one */
        {"gctrace=\x80", 1},
        {"a,b,c", 3},
        {"x=1,y=2", 2},
        {",gctrace,=,gctrace=on,", 3},
        {"http=localhost:65536", 1},
        {"http=local host:6060", 1},
        {"http=[::1]6060", 1},
        {"http=[]:6060", 1},
        {"http=127.0.0.1:", 1},
        {"http=127.0.0.1:+80", 1},
        {"httpunsafe=2", 1},
        {"cmdlineredact=yes", 1},
        {"cmdlineredact=3", 1},
        {"trace=,cpuprofile=", 2},
        {"trace=a\x01b", 1},
        {"memprofilerate=-1", 1},
        {"gctrace=1 ,scheddetail=1 ", 2},
    };
    assert_true(NELEM(cases) >= 25);
    cd__config d = defaults();
    for (size_t i = 0; i < NELEM(cases); i++) {
        cd__config c;
        warns w;
        int n = parse(cases[i].in, &c, &w);
        if (n != cases[i].nwarn)
            fail_msg("case %zu \"%s\": %d warnings, want %d", i, cases[i].in, n, cases[i].nwarn);
        assert_cfg_eq(&c, &d);
    }
}

/* ---- CDEBUG: escaping and truncation ------------------------------------ */

static void test_cdebug_escaping(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"gc\x1btrace=1", "cdebug: CDEBUG: unknown setting \"gc\\x1btrace\" ignored"},
        {"gctrace=\n", "cdebug: CDEBUG: bad value \"\\x0a\" for gctrace ignored (want 0, 1 or 2)"},
        {"gctrace=\r1",
         "cdebug: CDEBUG: bad value \"\\x0d1\" for gctrace ignored (want 0, 1 or 2)"},
        {"a\tb", "cdebug: CDEBUG: malformed item \"a\\x09b\" ignored (want name=value)"},
        {"\x7f=1", "cdebug: CDEBUG: unknown setting \"\\x7f\" ignored"},
        {"\xc3\xa9=1", "cdebug: CDEBUG: unknown setting \"\\xc3\\xa9\" ignored"},
        {"\xff", "cdebug: CDEBUG: malformed item \"\\xff\" ignored (want name=value)"},
        {"a\"b=1", "cdebug: CDEBUG: unknown setting \"a\\\"b\" ignored"},
        {"a\\b=1", "cdebug: CDEBUG: unknown setting \"a\\\\b\" ignored"},
        {"\x1b[2J\x1b[H=1", "cdebug: CDEBUG: unknown setting \"\\x1b[2J\\x1b[H\" ignored"},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        cd__config c;
        warns w;
        assert_int_equal(parse(cases[i].in, &c, &w), 1);
        assert_string_equal(w.line[0], cases[i].want);
    }
}

static void test_cdebug_truncation(void **state)
{
    (void)state;
    static char big[100001];
    char want[512];
    char a64[65];
    cd__config c;
    warns w;

    memset(a64, 'a', 64);
    a64[64] = '\0';

    /* Exactly 64 visible characters: shown whole, no ellipsis. */
    memset(big, 'a', 64);
    big[64] = '\0';
    assert_int_equal(parse(big, &c, &w), 1);
    snprintf(want, sizeof(want), "cdebug: CDEBUG: malformed item \"%s\" ignored (want name=value)",
             a64);
    assert_string_equal(w.line[0], want);

    /* 65: cut after 64 with "...". */
    memset(big, 'a', 65);
    big[65] = '\0';
    assert_int_equal(parse(big, &c, &w), 1);
    snprintf(want, sizeof(want),
             "cdebug: CDEBUG: malformed item \"%s...\" ignored (want name=value)", a64);
    assert_string_equal(w.line[0], want);

    /* 100000 bytes without '=': one short line. */
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(parse(big, &c, &w), 1);
    assert_string_equal(w.line[0], want);

    /* A long unknown name. */
    memset(big, 'n', 1000);
    memcpy(big + 1000, "=1", 3);
    assert_int_equal(parse(big, &c, &w), 1);
    memset(a64, 'n', 64);
    snprintf(want, sizeof(want), "cdebug: CDEBUG: unknown setting \"%s...\" ignored", a64);
    assert_string_equal(w.line[0], want);

    /* A long value for a known name. */
    memcpy(big, "gctrace=", 8);
    memset(big + 8, '9', 5000);
    big[5008] = '\0';
    assert_int_equal(parse(big, &c, &w), 1);
    memset(a64, '9', 64);
    snprintf(want, sizeof(want),
             "cdebug: CDEBUG: bad value \"%s...\" for gctrace ignored (want 0, 1 or 2)", a64);
    assert_string_equal(w.line[0], want);
    assert_int_equal(c.gctrace, 0);

    /* Control characters count with their escaped width: 16 of them fill the
     * 64 columns. */
    memset(big, '\x01', 100);
    big[100] = '\0';
    assert_int_equal(parse(big, &c, &w), 1);
    strcpy(want, "cdebug: CDEBUG: malformed item \"");
    for (int i = 0; i < 16; i++)
        strcat(want, "\\x01");
    strcat(want, "...\" ignored (want name=value)");
    assert_string_equal(w.line[0], want);

    /* An escape is never split: 63 letters then a control byte. */
    memset(big, 'b', 63);
    big[63] = '\x02';
    big[64] = '\0';
    assert_int_equal(parse(big, &c, &w), 1);
    memset(a64, 'b', 63);
    a64[63] = '\0';
    snprintf(want, sizeof(want),
             "cdebug: CDEBUG: malformed item \"%s...\" ignored (want name=value)", a64);
    assert_string_equal(w.line[0], want);

    /* Many long bad items: one bounded line each (parse() checks bounds). */
    size_t off = 0;
    for (int i = 0; i < 50; i++) {
        memset(big + off, (i % 2) ? '\x7f' : 'z', 1000);
        off += 1000;
        big[off++] = ',';
    }
    big[off] = '\0';
    assert_int_equal(parse(big, &c, &w), 50);
}

/* ---- cd__parse_uint ------------------------------------------------------ */

static void test_parse_uint(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        uint64_t max;
        int rc;
        uint64_t v;
    } cases[] = {
        {"0", UINT64_MAX, 0, 0},
        {"1", UINT64_MAX, 0, 1},
        {"007", UINT64_MAX, 0, 7},
        {"0000000000000000000000000000042", UINT64_MAX, 0, 42},
        {"18446744073709551615", UINT64_MAX, 0, UINT64_MAX},
        {"18446744073709551616", UINT64_MAX, -ERANGE, 0},
        {"99999999999999999999", UINT64_MAX, -ERANGE, 0},
        {"184467440737095516150", UINT64_MAX, -ERANGE, 0},
        {"9", 9, 0, 9},
        {"10", 9, -ERANGE, 0},
        {"0", 0, 0, 0},
        {"1", 0, -ERANGE, 0},
        {"2147483647", INT_MAX, 0, INT_MAX},
        {"2147483648", INT_MAX, -ERANGE, 0},
        {"", UINT64_MAX, -EINVAL, 0},
        {"+1", UINT64_MAX, -EINVAL, 0},
        {"-1", UINT64_MAX, -EINVAL, 0},
        {"-0", UINT64_MAX, -EINVAL, 0},
        {" 1", UINT64_MAX, -EINVAL, 0},
        {"1 ", UINT64_MAX, -EINVAL, 0},
        {"1\n", UINT64_MAX, -EINVAL, 0},
        {"0x10", UINT64_MAX, -EINVAL, 0},
        {"0X10", UINT64_MAX, -EINVAL, 0},
        {"1e3", UINT64_MAX, -EINVAL, 0},
        {"1.0", UINT64_MAX, -EINVAL, 0},
        {"1_000", UINT64_MAX, -EINVAL, 0},
        {"abc", UINT64_MAX, -EINVAL, 0},
        /* Syntax is judged before magnitude. */
        {"99999999999999999999x", UINT64_MAX, -EINVAL, 0},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        uint64_t v = 12345;
        int rc = cd__parse_uint(cases[i].in, cases[i].max, &v);
        if (rc != cases[i].rc)
            fail_msg("\"%s\": rc %d, want %d", cases[i].in, rc, cases[i].rc);
        /* On error the output is left alone. */
        assert_true(v == (rc == 0 ? cases[i].v : 12345));
    }
    uint64_t v = 7;
    assert_int_equal(cd__parse_uint(NULL, UINT64_MAX, &v), -EINVAL);
    assert_true(v == 7);
}

/* ---- CDMAXPROCS ---------------------------------------------------------- */

static void test_maxprocs(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int want; /* 0: unchanged */
        int nwarn;
    } cases[] = {
        {NULL, 0, 0},   {"", 0, 0},        {"1", 1, 0},   {"4", 4, 0},
        {"0004", 4, 0}, {"1024", 1024, 0}, {"0", 0, 1},   {"1025", 0, 1},
        {"-1", 0, 1},   {"+2", 0, 1},      {" 2", 0, 1},  {"2 ", 0, 1},
        {"0x10", 0, 1}, {"abc", 0, 1},     {"2.0", 0, 1}, {"99999999999999999999", 0, 1},
        {"4,8", 0, 1},  {"\n", 0, 1},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        cd__config c = defaults();
        c.maxprocs = 8;
        warns w;
        reset(&w);
        int n = cd__env_parse_maxprocs(&c, cases[i].in, collect, &w);
        assert_int_equal(n, w.n);
        if (n != cases[i].nwarn)
            fail_msg("\"%s\": %d warnings, want %d", cases[i].in ? cases[i].in : "(null)", n,
                     cases[i].nwarn);
        assert_int_equal(c.maxprocs, cases[i].want ? cases[i].want : 8);
        if (n > 0)
            assert_true(w.len[0] < LINE_BOUND);
    }
}

static void test_maxprocs_texts(void **state)
{
    (void)state;
    cd__config c = defaults();
    warns w;

    c.maxprocs = 8;
    reset(&w);
    assert_int_equal(cd__env_parse_maxprocs(&c, "0", collect, &w), 1);
    assert_string_equal(w.line[0], "cdebug: CDMAXPROCS: bad value \"0\" ignored "
                                   "(want an integer from 1 to 1024); using 8");

    c.maxprocs = 3;
    reset(&w);
    assert_int_equal(cd__env_parse_maxprocs(&c, "four\x1b", collect, &w), 1);
    assert_string_equal(w.line[0], "cdebug: CDMAXPROCS: bad value \"four\\x1b\" ignored "
                                   "(want an integer from 1 to 1024); using 3");
    assert_int_equal(c.maxprocs, 3);
}

/* ---- CDGC ---------------------------------------------------------------- */

static void test_gc(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int want;
        int nwarn;
    } cases[] = {
        {NULL, 100, 0},
        {"", 100, 0},
        {"off", -1, 0},
        {"0", 0, 0},
        {"1", 1, 0},
        {"50", 50, 0},
        {"100", 100, 0},
        {"0150", 150, 0},
        {"200", 200, 0},
        /* Accepted but clamped by the divisor: one note. */
        {"201", 201, 1},
        {"500", 500, 1},
        {"2147483647", INT_MAX, 1},
        /* Rejected. */
        {"2147483648", 100, 1},
        {"99999999999999999999", 100, 1},
        {"-1", 100, 1},
        {"-100", 100, 1},
        {"+50", 100, 1},
        {"OFF", 100, 1},
        {"Off", 100, 1},
        {"off ", 100, 1},
        {" off", 100, 1},
        {"of", 100, 1},
        {"offf", 100, 1},
        {"on", 100, 1},
        {"100%", 100, 1},
        {"1e2", 100, 1},
        {"0x64", 100, 1},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        cd__config c = defaults();
        warns w;
        reset(&w);
        int n = cd__env_parse_gc(&c, cases[i].in, collect, &w);
        assert_int_equal(n, w.n);
        if (n != cases[i].nwarn)
            fail_msg("\"%s\": %d warnings, want %d", cases[i].in ? cases[i].in : "(null)", n,
                     cases[i].nwarn);
        assert_int_equal(c.gc_percent, cases[i].want);
        if (n > 0)
            assert_true(w.len[0] < LINE_BOUND);
    }
}

static void test_gc_texts(void **state)
{
    (void)state;
    cd__config c = defaults();
    warns w;

    reset(&w);
    assert_int_equal(cd__env_parse_gc(&c, "-1", collect, &w), 1);
    assert_string_equal(w.line[0], "cdebug: CDGC: bad value \"-1\" ignored "
                                   "(want \"off\" or a non-negative integer percent); using 100");
    assert_int_equal(c.gc_percent, 100);

    reset(&w);
    assert_int_equal(cd__env_parse_gc(&c, "500", collect, &w), 1);
    assert_string_equal(w.line[0],
                        "cdebug: CDGC: 500 is above what bdwgc can express; behaves like 200");
    assert_int_equal(c.gc_percent, 500);

    /* The note shows the number, not the spelling. */
    reset(&w);
    assert_int_equal(cd__env_parse_gc(&c, "000201", collect, &w), 1);
    assert_string_equal(w.line[0],
                        "cdebug: CDGC: 201 is above what bdwgc can express; behaves like 200");

    /* "using" reports the value in force, "off" included. */
    c.gc_percent = -1;
    reset(&w);
    assert_int_equal(cd__env_parse_gc(&c, "\x07", collect, &w), 1);
    assert_string_equal(w.line[0], "cdebug: CDGC: bad value \"\\x07\" ignored "
                                   "(want \"off\" or a non-negative integer percent); using off");
    assert_int_equal(c.gc_percent, -1);
}

/* ---- CDTRACEBACK ----------------------------------------------------------- */

static void test_traceback(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int want, nwarn;
    } cases[] = {
        {NULL, CD__TB_SINGLE, 0},
        {"", CD__TB_SINGLE, 0},
        {"none", CD__TB_NONE, 0},
        {"single", CD__TB_SINGLE, 0},
        {"all", CD__TB_ALL, 0},
        {"system", CD__TB_SYSTEM, 0},
        {"crash", CD__TB_CRASH, 0},
        /* Go's historical numbers. */
        {"0", CD__TB_NONE, 0},
        {"1", CD__TB_ALL, 0},
        {"2", CD__TB_SYSTEM, 0},
        /* Rejected: the default stays. */
        {"3", CD__TB_SINGLE, 1},
        {"ALL", CD__TB_SINGLE, 1},
        {"all ", CD__TB_SINGLE, 1},
        {"wer", CD__TB_SINGLE, 1},
        {"-1", CD__TB_SINGLE, 1},
        {"crash,all", CD__TB_SINGLE, 1},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        cd__config c = defaults();
        warns w;
        reset(&w);
        int n = cd__env_parse_traceback(&c, cases[i].in, collect, &w);
        assert_int_equal(n, w.n);
        if (n != cases[i].nwarn || c.traceback != cases[i].want)
            fail_msg("\"%s\": %d warnings, level %d; want %d, %d",
                     cases[i].in ? cases[i].in : "(null)", n, c.traceback, cases[i].nwarn,
                     cases[i].want);
    }
    /* The text names the level in force, which an earlier value set. */
    cd__config c = defaults();
    warns w;
    reset(&w);
    c.traceback = CD__TB_CRASH;
    assert_int_equal(cd__env_parse_traceback(&c, "\x1b[2J", collect, &w), 1);
    assert_string_equal(w.line[0], "cdebug: CDTRACEBACK: bad value \"\\x1b[2J\" ignored "
                                   "(want none, single, all, system or crash); using crash");
    assert_int_equal(c.traceback, CD__TB_CRASH);
}

static void test_gc_divisor(void **state)
{
    (void)state;
    static const struct {
        int percent;
        unsigned long divisor;
    } cases[] = {
        {-1, 0},  {-100, 0}, {INT_MIN, 0}, {0, 1000}, {1, 200},  {2, 100},     {25, 8},
        {50, 4},  {67, 3},   {80, 3},      {100, 2},  {133, 2},  {134, 1},     {150, 1},
        {200, 1}, {201, 1},  {400, 1},     {401, 1},  {1000, 1}, {INT_MAX, 1},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        unsigned long d = cd__gc_divisor(cases[i].percent);
        if (d != cases[i].divisor)
            fail_msg("percent %d: divisor %lu, want %lu", cases[i].percent, d, cases[i].divisor);
    }
}

/* ---- cd__env_load end to end --------------------------------------------- */

/* Runs cd__env_load with stderr redirected to a temporary file and returns
 * what it wrote. */
static void load_capturing(cd__config *c, char *out, size_t cap)
{
    FILE *tmp = tmpfile();
    assert_non_null(tmp);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(tmp), STDERR_FILENO) >= 0);

    cd__env_load(c);

    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    rewind(tmp);
    size_t n = fread(out, 1, cap - 1, tmp);
    out[n] = '\0';
    fclose(tmp);
}

static void test_env_load(void **state)
{
    (void)state;
    char out[4096];
    cd__config c;

    assert_int_equal(setenv("CDEBUG", "gctrace=1,bogus=1,schedtrace=250,scheddetail=9", 1), 0);
    assert_int_equal(setenv("CDMAXPROCS", "3", 1), 0);
    assert_int_equal(setenv("CDGC", "off", 1), 0);
    memset(&c, 0x5a, sizeof(c));
    load_capturing(&c, out, sizeof(out));
    assert_string_equal(out, "cdebug: CDEBUG: unknown setting \"bogus\" ignored\n"
                             "cdebug: CDEBUG: bad value \"9\" for scheddetail ignored "
                             "(want 0 or 1)\n");
    assert_int_equal(c.gctrace, 1);
    assert_int_equal(c.schedtrace_ms, 250);
    assert_int_equal(c.scheddetail, 0);
    assert_int_equal(c.maxprocs, 3);
    assert_int_equal(c.gc_percent, -1);

    /* Bad CDMAXPROCS and CDGC: defaults kept, one line each, in order. */
    cd__config d = defaults();
    char want[512];
    assert_int_equal(setenv("CDEBUG", "", 1), 0);
    assert_int_equal(setenv("CDMAXPROCS", "0", 1), 0);
    assert_int_equal(setenv("CDGC", "-1", 1), 0);
    load_capturing(&c, out, sizeof(out));
    snprintf(want, sizeof(want),
             "cdebug: CDMAXPROCS: bad value \"0\" ignored (want an integer from 1 to 1024); "
             "using %d\n"
             "cdebug: CDGC: bad value \"-1\" ignored "
             "(want \"off\" or a non-negative integer percent); using 100\n",
             d.maxprocs);
    assert_string_equal(out, want);
    assert_cfg_eq(&c, &d);

    /* Empty CDMAXPROCS / CDGC are unset; a huge CDEBUG stays one short line. */
    static char big[65536];
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(setenv("CDEBUG", big, 1), 0);
    assert_int_equal(setenv("CDMAXPROCS", "", 1), 0);
    assert_int_equal(setenv("CDGC", "", 1), 0);
    load_capturing(&c, out, sizeof(out));
    char q64[65];
    memset(q64, 'q', 64);
    q64[64] = '\0';
    snprintf(want, sizeof(want),
             "cdebug: CDEBUG: malformed item \"%s...\" ignored (want name=value)\n", q64);
    assert_string_equal(out, want);
    assert_cfg_eq(&c, &d);

    /* Nothing set: defaults, silence, errno untouched. */
    unsetenv("CDEBUG");
    unsetenv("CDMAXPROCS");
    unsetenv("CDGC");
    errno = 1234;
    load_capturing(&c, out, sizeof(out));
    assert_int_equal(errno, 1234);
    assert_string_equal(out, "");
    assert_cfg_eq(&c, &d);

    /* CDTRACEBACK is read too; a bad one warns after the others. */
    assert_int_equal(setenv("CDTRACEBACK", "system", 1), 0);
    load_capturing(&c, out, sizeof(out));
    assert_string_equal(out, "");
    assert_int_equal(c.traceback, CD__TB_SYSTEM);
    assert_int_equal(setenv("CDTRACEBACK", "loud", 1), 0);
    load_capturing(&c, out, sizeof(out));
    assert_string_equal(out, "cdebug: CDTRACEBACK: bad value \"loud\" ignored "
                             "(want none, single, all, system or crash); using single\n");
    assert_int_equal(c.traceback, CD__TB_SINGLE);
    unsetenv("CDTRACEBACK");
}

static void test_http_settings(void **state)
{
    (void)state;
    static const struct {
        const char *in, *addr;
    } ok[] = {
        {"http=127.0.0.1:6060", "127.0.0.1:6060"},
        {"http=localhost:0", "localhost:0"},
        {"http=:6060", ":6060"},
        {"http=[::1]:6060", "[::1]:6060"},
        {"http=1.2.3.4:1,http=127.0.0.1:7", "127.0.0.1:7"},
        {"http=127.0.0.1:7,http=bad", "127.0.0.1:7"},
    };
    for (size_t i = 0; i < NELEM(ok); i++) {
        cd__config c;
        cd__config_defaults(&c);
        cd__env_parse_cdebug(&c, ok[i].in, NULL, NULL);
        assert_string_equal(c.http_addr, ok[i].addr);
    }
    cd__config c;
    cd__config_defaults(&c);
    assert_string_equal(c.http_addr, "");
    assert_int_equal(c.httpunsafe, 0);
    assert_int_equal(c.cmdlineredact, 2); /* secrets redacted by default */
    assert_int_equal(cd__env_parse_cdebug(&c, "cmdlineredact=0", NULL, NULL), 0);
    assert_int_equal(c.cmdlineredact, 0);
    assert_int_equal(cd__env_parse_cdebug(&c, "cmdlineredact=2,cmdlineredact=3", NULL, NULL), 1);
    assert_int_equal(c.cmdlineredact, 2);
    assert_int_equal(cd__env_parse_cdebug(&c, "httpunsafe=1,cmdlineredact=1", NULL, NULL), 0);
    assert_int_equal(c.httpunsafe, 1);
    assert_int_equal(c.cmdlineredact, 1);
    char big[300];
    memset(big, 'a', sizeof big);
    memcpy(big, "http=", 5);
    memcpy(big + sizeof big - 6, ":6060", 6);
    cd__config_defaults(&c);
    assert_int_equal(cd__env_parse_cdebug(&c, big, NULL, NULL), 1);
    assert_string_equal(c.http_addr, "");
}

/* trace=FILE and flight=SECONDS: a file name without control characters,
 * a window from 0 (off) to 3600 s, strict integers; bad values warn and keep
 * the previous setting. */
static void count_warning(const char *line, void *ctx)
{
    (void)line;
    ++*(int *)ctx;
}

static void test_trace_settings(void **state)
{
    (void)state;
    cd__config c;
    cd__config_defaults(&c);
    assert_string_equal(c.trace_path, "");
    assert_int_equal(c.flight_s, 0);
    int warns = 0;
    cd__env_parse_cdebug(&c, "trace=/tmp/run.out,flight=10", count_warning, &warns);
    assert_int_equal(warns, 0);
    assert_string_equal(c.trace_path, "/tmp/run.out");
    assert_int_equal(c.flight_s, 10);
    cd__env_parse_cdebug(&c, "flight=3600", count_warning, &warns);
    assert_int_equal(c.flight_s, 3600);
    cd__env_parse_cdebug(&c, "flight=0", count_warning, &warns);
    assert_int_equal(c.flight_s, 0);
    assert_int_equal(warns, 0);
    static const char *const bad[] = {"flight=",     "flight=-1",  "flight=3601",
                                      "flight=1.5",  "flight=10s", "flight= 1",
                                      "flight=0x10", "trace=",     "trace=a\tb"};
    for (size_t i = 0; i < NELEM(bad); i++) {
        cd__config_defaults(&c);
        cd__env_parse_cdebug(&c, "flight=7,trace=keep", NULL, NULL);
        warns = 0;
        cd__env_parse_cdebug(&c, bad[i], count_warning, &warns);
        assert_int_equal(warns, 1);
        assert_int_equal(c.flight_s, 7);
        assert_string_equal(c.trace_path, "keep");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_settings),
        cmocka_unit_test(test_trace_settings),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_cdebug_valid),
        cmocka_unit_test(test_cdebug_null),
        cmocka_unit_test(test_cdebug_null_callback),
        cmocka_unit_test(test_cdebug_keeps_prior),
        cmocka_unit_test(test_cdebug_last_wins),
        cmocka_unit_test(test_cdebug_warning_texts),
        cmocka_unit_test(test_cdebug_several_warnings),
        cmocka_unit_test(test_cdebug_malformed_table),
        cmocka_unit_test(test_cdebug_escaping),
        cmocka_unit_test(test_cdebug_truncation),
        cmocka_unit_test(test_parse_uint),
        cmocka_unit_test(test_maxprocs),
        cmocka_unit_test(test_maxprocs_texts),
        cmocka_unit_test(test_gc),
        cmocka_unit_test(test_gc_texts),
        cmocka_unit_test(test_gc_divisor),
        cmocka_unit_test(test_traceback),
        cmocka_unit_test(test_env_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

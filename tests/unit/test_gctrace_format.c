/* tests/unit/test_gctrace_format.c - the gctrace line formatter.
 *
 * cd__gctrace_format is a pure function of a cd__gc_record, so these tests
 * build records by hand: one that must print a Go gctrace line verbatim,
 * then every line below (real Go 1.x gctrace output, as the Go diagnostics
 * tutorial quotes it) parsed back into a record and printed again byte for
 * byte, then the number formatting edge
 * cases of Go's fmtNSAsMS and itoaDiv.
 */
#include <setjmp.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "runtime/gctrace.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static char *fmt(const cd__gc_record *r)
{
    static char buf[CD__GCTRACE_LINE_MAX];
    size_t n = cd__gctrace_format(buf, sizeof buf, r);
    assert_true(n < sizeof buf);
    assert_int_equal(n, strlen(buf));
    return buf;
}

static char *ms(uint64_t ns)
{
    static char buf[64];
    size_t n = cd__fmt_ns_as_ms(buf, sizeof buf, ns);
    assert_int_equal(n, strlen(buf));
    return buf;
}

/* ---- a record built by hand --------------------------------------------- */

static void test_go_line_by_hand(void **state)
{
    (void)state;
    cd__gc_record r = {
        .num = 3,
        .start_ns = 29400000, /* 29.4 ms: Go truncates to whole ms */
        .cpu_fraction = 0.004,
        .clock_ns = {3000, 230000, 30000},
        .cpu_ns = {29000, 50000, 16000, 250000, 240000},
        .heap0 = (18u << 20) + 12345, /* MB figures are >> 20, truncated */
        .heap1 = 18u << 20,
        .heap2 = (15u << 20) + (1u << 20) - 1,
        .goal = 19u << 20,
        .procs = 8,
    };
    assert_string_equal(fmt(&r), "gc 3 @0.029s 0%: 0.003+0.23+0.030 ms clock, "
                                 "0.029+0.050/0.016/0.25+0.24 ms cpu, "
                                 "18->18->15 MB, 19 MB goal, 8 P");
    r.forced = true;
    r.cpu_fraction = 0.0199; /* int(1.99) = 1 */
    assert_string_equal(fmt(&r), "gc 3 @0.029s 1%: 0.003+0.23+0.030 ms clock, "
                                 "0.029+0.050/0.016/0.25+0.24 ms cpu, "
                                 "18->18->15 MB, 19 MB goal, 8 P (forced)");
}

/* ---- every Go line, round-tripped -- ------------------------------------- */

/* Real gctrace lines of Go 1.x programs, as the Go tutorial quotes them. */
static const char *const go_lines[] = {
    "gc 1 @0.007s 0%: 0.010+0.13+0.030 ms clock, 0.080+0/0.058/0.15+0.24 ms cpu, 5->5->3 MB, "
    "6 MB goal, 8 P",
    "gc 1 @9.761s 0%: 0.017+1.2+0.008 ms clock, 0.068+1.2/0.79/1.5+0.032 ms cpu, 4->4->1 MB, "
    "5 MB goal, 4 P",
    "gc 10 @2.592s 0%: 0.003+11+0.045 ms clock, 0.031+0/5.9/5.2+0.36 ms cpu, 499->499->317 MB, "
    "964 MB goal, 8 P",
    "gc 2 @0.013s 0%: 0.003+0.21+0.034 ms clock, 0.031+0/0.030/0.22+0.27 ms cpu, 9->9->7 MB, "
    "10 MB goal, 8 P",
    "gc 2 @9.784s 0%: 0.013+2.4+0.011 ms clock, 0.054+0.36/2.1/0.31+0.047 ms cpu, 4->4->1 MB, "
    "5 MB goal, 4 P",
    "gc 3 @0.029s 0%: 0.003+0.23+0.030 ms clock, 0.029+0.050/0.016/0.25+0.24 ms cpu, "
    "18->18->15 MB, 19 MB goal, 8 P",
    "gc 318 @36.750s 0%: 0.022+0.27+0.040 ms clock, 0.13+0.60/0.43/0.031+0.24 ms cpu, "
    "4->4->0 MB, 5 MB goal, 8 P",
    "gc 319 @36.779s 0%: 0.019+0.24+0.035 ms clock, 0.15+0.43/0.26/0+0.28 ms cpu, 4->4->0 MB, "
    "5 MB goal, 8 P",
    "gc 320 @36.806s 0%: 0.023+0.34+0.035 ms clock, 0.18+0.63/0.49/0.014+0.28 ms cpu, "
    "4->4->0 MB, 5 MB goal, 8 P",
    "gc 321 @36.834s 0%: 0.026+0.20+0.044 ms clock, 0.18+0.50/0.34/0.001+0.31 ms cpu, "
    "4->4->0 MB, 5 MB goal, 8 P",
    "gc 322 @36.860s 0%: 0.022+0.29+0.055 ms clock, 0.13+0.54/0.47/0+0.33 ms cpu, 4->4->0 MB, "
    "5 MB goal, 8 P",
    "gc 373 @477.504s 0%: 0.005+1.3+0.005 ms clock, 0.022+0/0.80/1.3+0.021 ms cpu, 1->1->1 MB, "
    "4 MB goal, 4 P",
    "gc 4 @0.062s 0%: 0.003+0.40+0.040 ms clock, 0.030+0/0.28/0.11+0.32 ms cpu, 36->36->30 MB, "
    "37 MB goal, 8 P",
    "gc 5 @0.135s 0%: 0.003+0.63+0.045 ms clock, 0.027+0/0.026/0.64+0.36 ms cpu, 72->72->60 MB, "
    "73 MB goal, 8 P",
    "gc 6 @0.302s 0%: 0.003+0.98+0.043 ms clock, 0.031+0.078/0.016/0.88+0.34 ms cpu, "
    "65->66->42 MB, 120 MB goal, 8 P",
    "gc 7 @0.317s 0%: 0.003+1.2+0.080 ms clock, 0.026+0/1.1/0.13+0.64 ms cpu, 120->121->120 MB, "
    "121 MB goal, 8 P",
    "gc 732 @354.731s 1%: 8.0+28+2.5 ms clock, 32+2.4/18/0+10 ms cpu, 7->10->5 MB, 9 MB goal, "
    "4 P",
    "gc 733 @354.780s 1%: 0.21+37+0.025 ms clock, 0.87+1.9/6.2/9.4+0.10 ms cpu, 8->13->7 MB, "
    "11 MB goal, 4 P",
    "gc 8 @0.685s 0%: 0.004+1.6+0.041 ms clock, 0.032+0/1.5/0.72+0.33 ms cpu, 288->288->241 MB, "
    "289 MB goal, 8 P",
    "gc 9 @1.424s 0%: 0.004+4.0+0.081 ms clock, 0.033+0.027/3.8/0.53+0.65 ms cpu, "
    "577->577->482 MB, 578 MB goal, 8 P",
};

/* Parses a decimal millisecond figure ("0.27", "28") at *p into ns, plus a
 * sub-resolution remainder the formatter must drop (Go truncates). */
static uint64_t parse_ms(const char **p)
{
    uint64_t whole = strtoull(*p, (char **)p, 10), frac = 0, scale = 1000000;
    if (**p == '.') {
        (*p)++;
        while (**p >= '0' && **p <= '9') {
            scale /= 10;
            frac += (uint64_t)(**p - '0') * scale;
            (*p)++;
        }
    }
    uint64_t ns = whole * 1000000 + frac;
    /* Add noise below the printed precision, which Go truncates away:
     * "0" is anything under a microsecond, otherwise add half of the last
     * printed digit. */
    if (ns == 0)
        return 999;
    return ns + scale / 2;
}

static void expect(const char **p, const char *lit)
{
    size_t n = strlen(lit);
    assert_memory_equal(*p, lit, n);
    *p += n;
}

/* Reads a Go line back into a record; the formatter must reproduce it. */
static void parse_line(const char *line, cd__gc_record *r)
{
    const char *p = line;
    memset(r, 0, sizeof *r);
    expect(&p, "gc ");
    r->num = (uint32_t)strtoul(p, (char **)&p, 10);
    expect(&p, " @");
    uint64_t s = strtoull(p, (char **)&p, 10);
    expect(&p, ".");
    uint64_t msec = strtoull(p, (char **)&p, 10);
    r->start_ns = (s * 1000 + msec) * 1000000 + 999999;
    expect(&p, "s ");
    unsigned long pct = strtoul(p, (char **)&p, 10);
    r->cpu_fraction = ((double)pct + 0.5) / 100.0;
    expect(&p, "%: ");
    for (int i = 0; i < 3; i++) {
        if (i != 0)
            expect(&p, "+");
        r->clock_ns[i] = parse_ms(&p);
    }
    expect(&p, " ms clock, ");
    for (int i = 0; i < 5; i++) {
        if (i == 2 || i == 3)
            expect(&p, "/");
        else if (i != 0)
            expect(&p, "+");
        r->cpu_ns[i] = parse_ms(&p);
    }
    expect(&p, " ms cpu, ");
    r->heap0 = (strtoull(p, (char **)&p, 10) << 20) + 1;
    expect(&p, "->");
    r->heap1 = (strtoull(p, (char **)&p, 10) << 20) + (1u << 19);
    expect(&p, "->");
    r->heap2 = (strtoull(p, (char **)&p, 10) << 20) + (1u << 20) - 1;
    expect(&p, " MB, ");
    r->goal = strtoull(p, (char **)&p, 10) << 20;
    expect(&p, " MB goal, ");
    r->procs = (uint32_t)strtoul(p, (char **)&p, 10);
    expect(&p, " P");
    r->forced = strcmp(p, " (forced)") == 0;
    assert_true(*p == '\0' || r->forced);
}

static void test_go_lines_round_trip(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(go_lines); i++) {
        cd__gc_record r;
        parse_line(go_lines[i], &r);
        assert_string_equal(fmt(&r), go_lines[i]);
        /* and with the forced suffix */
        char want[CD__GCTRACE_LINE_MAX];
        snprintf(want, sizeof want, "%s (forced)", go_lines[i]);
        r.forced = true;
        assert_string_equal(fmt(&r), want);
    }
}

/* ---- numbers ------------------------------------------------------------ */

static void test_fmt_ns_as_ms(void **state)
{
    (void)state;
    assert_string_equal(ms(0), "0");
    assert_string_equal(ms(999), "0"); /* below a microsecond */
    assert_string_equal(ms(1000), "0.001");
    assert_string_equal(ms(3000), "0.003");
    assert_string_equal(ms(22000), "0.022");
    assert_string_equal(ms(40000), "0.040"); /* trailing zero kept */
    assert_string_equal(ms(99999), "0.099");
    assert_string_equal(ms(100000), "0.10");
    assert_string_equal(ms(270000), "0.27");
    assert_string_equal(ms(999999), "0.99");
    assert_string_equal(ms(1000000), "1.0");
    assert_string_equal(ms(1234567), "1.2");
    assert_string_equal(ms(8000000), "8.0");
    assert_string_equal(ms(9999000), "9.9");
    assert_string_equal(ms(9999999), "9.9"); /* 9.999 ms truncates */
    assert_string_equal(ms(10000000), "10");
    assert_string_equal(ms(10999999), "10");
    assert_string_equal(ms(12345000000ull), "12345");
    assert_string_equal(ms(UINT64_MAX), "18446744073709");
}

static void test_itoa_div(void **state)
{
    (void)state;
    char b[64];
    assert_int_equal(cd__itoa_div(b, sizeof b, 29, 3), 5);
    assert_string_equal(b, "0.029");
    cd__itoa_div(b, sizeof b, 36750, 3);
    assert_string_equal(b, "36.750");
    cd__itoa_div(b, sizeof b, 0, 3);
    assert_string_equal(b, "0.000");
    cd__itoa_div(b, sizeof b, 27, 2);
    assert_string_equal(b, "0.27");
    cd__itoa_div(b, sizeof b, 12, 0);
    assert_string_equal(b, "12");
    cd__itoa_div(b, sizeof b, UINT64_MAX, 3);
    assert_string_equal(b, "18446744073709551.615");
}

/* ---- whole-line edge cases ---------------------------------------------- */

static void test_zero_record(void **state)
{
    (void)state;
    cd__gc_record r;
    memset(&r, 0, sizeof r);
    assert_string_equal(fmt(&r), "gc 0 @0.000s 0%: 0+0+0 ms clock, 0+0/0/0+0 ms cpu, "
                                 "0->0->0 MB, 0 MB goal, 0 P");
}

static void test_boundaries(void **state)
{
    (void)state;
    cd__gc_record r = {
        .num = 1,
        .start_ns = 9999999,
        .cpu_fraction = 0.999999,
        .clock_ns = {9999999, 10000000, 12345000000ull},
        .cpu_ns = {0, 999, 1000, 9999999, 10000000},
        .heap0 = (1u << 20) - 1,
        .heap1 = 1u << 20,
        .heap2 = 0,
        .goal = 3u << 20,
        .procs = 1024,
    };
    assert_string_equal(fmt(&r), "gc 1 @0.009s 99%: 9.9+10+12345 ms clock, "
                                 "0+0/0.001/9.9+10 ms cpu, 0->1->0 MB, 3 MB goal, 1024 P");
}

static void test_huge_heap_and_times(void **state)
{
    (void)state;
    cd__gc_record r = {
        .num = UINT32_MAX,
        .start_ns = UINT64_MAX,
        .cpu_fraction = 1.0,
        .clock_ns = {UINT64_MAX, UINT64_MAX, UINT64_MAX},
        .cpu_ns = {UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX, UINT64_MAX},
        .heap0 = UINT64_MAX,
        .heap1 = 1ull << 40, /* 1 TiB */
        .heap2 = 5ull << 30, /* 5 GiB */
        .goal = UINT64_MAX,
        .procs = UINT32_MAX,
        .forced = true,
    };
    const char *want = "gc 4294967295 @18446744073.709s 100%: "
                       "18446744073709+18446744073709+18446744073709 ms clock, "
                       "18446744073709+18446744073709/18446744073709/18446744073709"
                       "+18446744073709 ms cpu, "
                       "17592186044415->1048576->5120 MB, 17592186044415 MB goal, "
                       "4294967295 P (forced)";
    assert_string_equal(fmt(&r), want);
    assert_true(strlen(want) < CD__GCTRACE_LINE_MAX);
}

static void test_bad_fraction(void **state)
{
    (void)state;
    cd__gc_record r;
    memset(&r, 0, sizeof r);
    r.cpu_fraction = -0.5;
    assert_non_null(strstr(fmt(&r), " 0%: "));
    r.cpu_fraction = NAN; /* NaN must not reach a conversion */
    assert_non_null(strstr(fmt(&r), " 0%: "));
    r.cpu_fraction = 1e300;
    assert_non_null(strstr(fmt(&r), " 0%: "));
    r.cpu_fraction = 2.5; /* more than 100% is printable (Go would) */
    assert_non_null(strstr(fmt(&r), " 250%: "));
}

static void test_truncation(void **state)
{
    (void)state;
    cd__gc_record r;
    parse_line(go_lines[0], &r);
    char small[16];
    memset(small, 'x', sizeof small);
    size_t n = cd__gctrace_format(small, sizeof small, &r);
    assert_int_equal(n, strlen(go_lines[0])); /* full length, like snprintf */
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_memory_equal(small, go_lines[0], sizeof small - 1);
    /* n == 0 writes nothing */
    assert_int_equal(cd__gctrace_format(NULL, 0, &r), strlen(go_lines[0]));
    char one[1] = {'x'};
    cd__gctrace_format(one, 1, &r);
    assert_int_equal(one[0], '\0');
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_line_by_hand),   cmocka_unit_test(test_go_lines_round_trip),
        cmocka_unit_test(test_fmt_ns_as_ms),        cmocka_unit_test(test_itoa_div),
        cmocka_unit_test(test_zero_record),         cmocka_unit_test(test_boundaries),
        cmocka_unit_test(test_huge_heap_and_times), cmocka_unit_test(test_bad_fraction),
        cmocka_unit_test(test_truncation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

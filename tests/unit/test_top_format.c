/* tests/unit/test_top_format.c - how cdebug-top shows and records values.
 *
 * Expected strings were printed by Go 1.19: Duration.String, expvarmon's
 * rounding, and expvarmon's byte sizes (the byten package's formula). Also
 * the plain/bool/string display, raw CSV text, the history ring and the
 * sparkline scaling.
 */
#include <setjmp.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "viewer/cdebug-top/duration.h"
#include "viewer/cdebug-top/format.h"
#include "viewer/cdebug-top/ring.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define MU       "\xc2\xb5" /* U+00B5, what Go prints for microseconds */

static void test_duration_string_like_go(void **state)
{
    (void)state;
    static const struct {
        int64_t ns;
        const char *str, *rounded;
    } cases[] = {
        {0, "0s", "0s"},
        {1, "1ns", "1ns"},
        {999, "999ns", "999ns"},
        {1000, "1" MU "s", "1" MU "s"},
        {1500, "1.5" MU "s", "2" MU "s"},
        {1001, "1.001" MU "s", "1" MU "s"},
        {999999, "999.999" MU "s", "1ms"},
        {1000000, "1ms", "1ms"},
        {1234567, "1.234567ms", "1ms"},
        {12345678, "12.345678ms", "12ms"},
        {999999999, "999.999999ms", "1s"},
        {1000000000, "1s", "1s"},
        {1500000000, "1.5s", "2s"},
        {59999999999, "59.999999999s", "1m0s"},
        {60000000000, "1m0s", "1m0s"},
        {61000000000, "1m1s", "1m1s"},
        {3600000000000, "1h0m0s", "1h0m0s"},
        {3600500000000, "1h0m0.5s", "1h0m1s"},
        {3661001000000, "1h1m1.001s", "1h1m1s"},
        {-90000000000, "-1m30s", "-1m30s"},
        /* Negative values round by magnitude (expvarmon leaves them as they are);
         * rounding away from zero would overflow at INT64_MIN, so it stops. */
        {-1500, "-1.5" MU "s", "-2" MU "s"},
        {INT64_MIN, "-2562047h47m16.854775808s", "-2562047h47m16s"},
        /* Rounding up would overflow: expvarmon prints garbage, we round down. */
        {INT64_MAX, "2562047h47m16.854775807s", "2562047h47m16s"},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        char buf[TOP_DURATION_BUFSZ], rbuf[TOP_DURATION_BUFSZ];
        top_duration_format(cases[i].ns, buf, sizeof(buf));
        top_duration_format(top_duration_round(cases[i].ns), rbuf, sizeof(rbuf));
        if (strcmp(buf, cases[i].str) != 0 || strcmp(rbuf, cases[i].rounded) != 0)
            fail_msg("%lld: \"%s\"/\"%s\", want \"%s\"/\"%s\"", (long long)cases[i].ns, buf, rbuf,
                     cases[i].str, cases[i].rounded);
    }
    /* Truncation never overruns. */
    char tiny[4];
    top_duration_format(3600500000000, tiny, sizeof(tiny));
    assert_string_equal(tiny, "1h0");
}

static void test_bytes_like_expvarmon(void **state)
{
    (void)state;
    static const struct {
        int64_t n;
        const char *str;
    } cases[] = {
        {0, "0B"},
        {9, "9B"},
        {10, "10B"},
        {512, "512B"},
        {1023, "1023B"},
        {1024, "1.0KB"},
        {1536, "1.5KB"},
        {10239, "10.0KB"},
        {10240, "10KB"},
        {1048575, "1024KB"},
        {1048576, "1.0MB"},
        {12345678, "12MB"},
        {1073741824, "1.0GB"},
        {5368709120, "5.0GB"},
        {1099511627775, "1024GB"},
        {1099511627776, "1.0TB"},
        {4611686018427387904, "4.0EB"},
        {INT64_MAX, "8.0EB"},
        {-1536, "-1.5KB"},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        char buf[TOP_FMT_BUFSZ];
        top_fmt_bytes(cases[i].n, buf, sizeof(buf));
        if (strcmp(buf, cases[i].str) != 0)
            fail_msg("%lld: \"%s\", want \"%s\"", (long long)cases[i].n, buf, cases[i].str);
    }
}

static top_value vint(int64_t i)
{
    return (top_value){.type = TOP_V_INT, .i = i};
}

static top_value vreal(double r)
{
    return (top_value){.type = TOP_V_REAL, .r = r};
}

static const char *show(top_value v, top_kind k)
{
    static char buf[TOP_FMT_BUFSZ];
    return top_fmt_value(&v, k, buf, sizeof(buf));
}

static const char *raw(top_value v)
{
    static char buf[TOP_FMT_BUFSZ];
    return top_fmt_raw(&v, buf, sizeof(buf));
}

static void test_value_display(void **state)
{
    (void)state;
    top_value na = {.type = TOP_V_NA}, t = {.type = TOP_V_BOOL, .i = 1},
              s = {.type = TOP_V_STR, .s = "go-peer 1.0"};

    assert_string_equal(show(vint(1234), TOP_KIND_PLAIN), "1234");
    assert_string_equal(show(vint(-7), TOP_KIND_PLAIN), "-7");
    assert_string_equal(show(vreal(0.5), TOP_KIND_PLAIN), "0.50"); /* expvarmon's %.02f */
    assert_string_equal(show(vreal(1234.5678), TOP_KIND_PLAIN), "1234.57");
    assert_string_equal(show(vreal(0), TOP_KIND_PLAIN), "0.00");
    assert_string_equal(show(vreal(0.000123456), TOP_KIND_PLAIN), "0.000123");
    assert_string_equal(show(vreal(-2.5e-9), TOP_KIND_PLAIN), "-2.5e-09");
    assert_string_equal(show(vint(1536), TOP_KIND_MEM), "1.5KB");
    assert_string_equal(show(vreal(1536.9), TOP_KIND_MEM), "1.5KB");
    assert_string_equal(show(vint(12345678), TOP_KIND_DURATION), "12ms");
    assert_string_equal(show(vreal(1500.0), TOP_KIND_DURATION), "2" MU "s");
    assert_string_equal(show(na, TOP_KIND_MEM), "n/a");
    assert_string_equal(show(t, TOP_KIND_PLAIN), "true");
    assert_string_equal(show(s, TOP_KIND_STR), "go-peer 1.0");
    assert_string_equal(show(s, TOP_KIND_PLAIN), "go-peer 1.0");
    assert_string_equal(show(vint(42), TOP_KIND_STR), "42");
}

static void test_value_raw(void **state)
{
    (void)state;
    assert_string_equal(raw(vint(INT64_MIN)), "-9223372036854775808");
    assert_string_equal(raw(vreal(0.1)), "0.1");
    assert_string_equal(raw(vreal(1.0 / 3)), "0.3333333333333333");
    assert_string_equal(raw(vreal(1e21)), "1e+21");
    assert_string_equal(raw((top_value){.type = TOP_V_BOOL, .i = 0}), "false");
    assert_string_equal(raw((top_value){.type = TOP_V_STR, .s = "a,b"}), "a,b");
    assert_string_equal(raw((top_value){.type = TOP_V_NA}), "");
}

static void test_ring_bounded(void **state)
{
    (void)state;
    static top_ring r; /* 4 KiB: static keeps the test's stack small */
    double out[TOP_RING_CAP];

    memset(&r, 0, sizeof(r));
    assert_int_equal(top_ring_last(&r, out, 10), 0);
    for (int i = 1; i <= 3; i++)
        top_ring_push(&r, i);
    assert_int_equal(top_ring_last(&r, out, 10), 3);
    assert_true(out[0] == 1 && out[2] == 3);
    assert_int_equal(top_ring_last(&r, out, 2), 2);
    assert_true(out[0] == 2 && out[1] == 3);

    /* Wraps: only the newest TOP_RING_CAP survive, oldest first. */
    for (int i = 4; i <= TOP_RING_CAP + 100; i++)
        top_ring_push(&r, i);
    assert_int_equal(r.len, TOP_RING_CAP);
    assert_int_equal(top_ring_last(&r, out, TOP_RING_CAP), TOP_RING_CAP);
    assert_true(out[0] == 101 && out[TOP_RING_CAP - 1] == TOP_RING_CAP + 100);
}

static void test_sparkline_levels(void **state)
{
    (void)state;
    int lv[8];

    double ramp[5] = {10, 20, 30, 40, 50};
    top_spark_levels(ramp, 5, 8, lv);
    assert_int_equal(lv[0], 1);
    assert_int_equal(lv[4], 8);
    for (int i = 1; i < 5; i++)
        assert_true(lv[i] > lv[i - 1]);

    /* A large value that wobbles stays visible: min-max scaling. */
    double heap[3] = {80e6, 80.5e6, 81e6};
    top_spark_levels(heap, 3, 8, lv);
    assert_int_equal(lv[0], 1);
    assert_int_equal(lv[2], 8);

    /* Flat series: lowest bar; NaN (failed poll, n/a): gap. */
    double flat[4] = {5, NAN, 5, 5};
    top_spark_levels(flat, 4, 16, lv);
    assert_int_equal(lv[0], 1);
    assert_int_equal(lv[1], 0);
    assert_int_equal(lv[3], 1);

    double none[2] = {NAN, NAN};
    top_spark_levels(none, 2, 8, lv);
    assert_int_equal(lv[0], 0);
    assert_int_equal(lv[1], 0);

    /* Multi-row sparklines: levels up to 8 per row. */
    top_spark_levels(ramp, 5, 24, lv);
    assert_int_equal(lv[4], 24);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_duration_string_like_go),
        cmocka_unit_test(test_bytes_like_expvarmon),
        cmocka_unit_test(test_value_display),
        cmocka_unit_test(test_value_raw),
        cmocka_unit_test(test_ring_bounded),
        cmocka_unit_test(test_sparkline_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

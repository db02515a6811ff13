/* tests/unit/test_vars_render.c - the renderers' building blocks and the
 * built-in vars.
 *
 * Go's float formatting (tables printed by Go 1.19's strconv and
 * encoding/json), Go's JSON string escaping (table printed by
 * json.Marshal), UTF-8 validation, the decimal writer, memstats' keys,
 * order and JSON types, the sched object, Prometheus name sanitising,
 * collision resolution and escaping. test_vars_schema.sh compares the same
 * things with a live Go program; these tables keep the unit tests
 * self-contained.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cdebug/vars_json.h"
#include "base/buf.h"
#include "vars/builtin.h"
#include "vars/gofloat.h"
#include "vars/prom.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- Go's float formatting ---------------------------------------------- */

/* strconv.FormatFloat(v, 'g', -1, 64) and json.Marshal(v), from Go 1.19. */
static const struct {
    double v;
    const char *g, *json;
} go_floats[] = {
    {0, "0", "0"},
    {-0.0, "-0", "-0"},
    {0.1, "0.1", "0.1"},
    {1e21, "1e+21", "1e+21"},
    {1e-7, "1e-07", "1e-7"},
    {123456789.0, "1.23456789e+08", "123456789"},
    {1, "1", "1"},
    {-1, "-1", "-1"},
    {100000, "100000", "100000"},
    {1e6, "1e+06", "1000000"},
    {999999, "999999", "999999"},
    {0.0001, "0.0001", "0.0001"},
    {0.00001, "1e-05", "0.00001"},
    {1.5e-7, "1.5e-07", "1.5e-7"},
    {1e20, "1e+20", "100000000000000000000"},
    {123456.7, "123456.7", "123456.7"},
    {1234567.8, "1.2345678e+06", "1234567.8"},
    {5e-324, "5e-324", "5e-324"},
    {1.7976931348623157e308, "1.7976931348623157e+308", "1.7976931348623157e+308"},
    {0.3, "0.3", "0.3"},
    {2.0 / 3, "0.6666666666666666", "0.6666666666666666"},
    {1e-6, "1e-06", "0.000001"},
    {9.999999e-7, "9.999999e-07", "9.999999e-7"},
    {1e100, "1e+100", "1e+100"},
    {12345678901234567890.0, "1.2345678901234567e+19", "12345678901234567000"},
    {3.14159, "3.14159", "3.14159"},
    {-2.5e-5, "-2.5e-05", "-0.000025"},
    {1e15, "1e+15", "1000000000000000"},
    {1e16, "1e+16", "10000000000000000"},
    {1e17, "1e+17", "100000000000000000"},
    {4.35e-5, "4.35e-05", "0.0000435"},
    {0.000123, "0.000123", "0.000123"},
    {2.2250738585072014e-308, "2.2250738585072014e-308", "2.2250738585072014e-308"},
    /* Powers of two whose closest 16-digit decimal misses (the interval
     * below a power of two is half as wide): Go prints the next one up. */
    {7.291122019556398e-304, "7.291122019556398e-304", "7.291122019556398e-304"},
    {5.0758836746312984e-116, "5.075883674631299e-116", "5.075883674631299e-116"},
};

static void test_go_floats(void **state)
{
    (void)state;
    char out[CD__FLOAT_BUF];
    for (size_t i = 0; i < NELEM(go_floats); i++) {
        cd__fmt_go_g(out, go_floats[i].v);
        if (strcmp(out, go_floats[i].g) != 0)
            fail_msg("'g' of %.17g: got %s, Go %s", go_floats[i].v, out, go_floats[i].g);
        cd__fmt_go_json(out, go_floats[i].v);
        if (strcmp(out, go_floats[i].json) != 0)
            fail_msg("json of %.17g: got %s, Go %s", go_floats[i].v, out, go_floats[i].json);
    }
    cd__fmt_go_g(out, NAN);
    assert_string_equal(out, "NaN");
    cd__fmt_go_g(out, INFINITY);
    assert_string_equal(out, "+Inf");
    cd__fmt_go_g(out, -INFINITY);
    assert_string_equal(out, "-Inf");
    cd__fmt_go_json(out, NAN);
    assert_string_equal(out, "null");

    /* Shortest digits round-trip for many values (strtod of the output). */
    for (int i = 1; i < 100000; i++) {
        double v = i * 0.001 + i * 1e-12;
        cd__fmt_go_g(out, v);
        assert_true(strtod(out, NULL) == v);
    }
}

/* ---- strings ------------------------------------------------------------ */

/* json.Marshal of each input, from Go 1.19. */
static const struct {
    const char *in;
    size_t n;
    const char *go;
} go_strings[] = {
#define S(lit) lit, sizeof(lit) - 1
    {S("plain"), "\"plain\""},
    {S("a\"b\\c"), "\"a\\\"b\\\\c\""},
    {S("\n\r\t\b\f\x01\x1f\x7f"), "\"\\n\\r\\t\\u0008\\u000c\\u0001\\u001f\x7f\""},
    {S("<a href='x'>&amp;</a>"), "\"\\u003ca href='x'\\u003e\\u0026amp;\\u003c/a\\u003e\""},
    {S("\xe2\x80\xa8\xe2\x80\xa9"), "\"\\u2028\\u2029\""},
    {S("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\""},
    {S("\xff"), "\"\\ufffd\""},
    {S("\xc3("), "\"\\ufffd(\""},
    {S("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\""},         /* surrogate */
    {S("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\""}, /* > U+10FFFF */
    {S("\xe0\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\""},         /* overlong */
    {S("\xc0\xaf"), "\"\\ufffd\\ufffd\""},
    {S("ok\xe2\x82"), "\"ok\\ufffd\\ufffd\""}, /* truncated */
    {S("\x00z"), "\"\\u0000z\""},
#undef S
};

static void test_json_strings(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(go_strings); i++) {
        cd__buf b;
        cd__buf_init(&b, 0);
        cd__buf_json_str(&b, go_strings[i].in, go_strings[i].n);
        char *got = cd__buf_finish(&b);
        assert_non_null(got);
        if (strcmp(got, go_strings[i].go) != 0)
            fail_msg("case %zu: got %s, Go %s", i, got, go_strings[i].go);
        /* Always valid JSON. */
        json_t *j = json_loads(got, JSON_DECODE_ANY | JSON_ALLOW_NUL, NULL);
        assert_non_null(j);
        json_decref(j);
        free(got);
    }
}

static void test_utf8(void **state)
{
    (void)state;
    const struct {
        const char *s;
        size_t len;
    } cases[] = {
        {"a", 1},          {"\xc2\x80", 2},         {"\xdf\xbf", 2},         {"\xe0\xa0\x80", 3},
        {"\xed\x9f\xbf", 3}, {"\xef\xbf\xbf", 3},     {"\xf0\x90\x80\x80", 4}, {"\xf4\x8f\xbf\xbf", 4},
        {"\xc1\xbf", 0},   {"\xe0\x9f\xbf", 0},     {"\xed\xa0\x80", 0},     {"\xf0\x8f\xbf\xbf", 0},
        {"\xf4\x90\x80\x80", 0}, {"\xf5\x80\x80\x80", 0}, {"\x80", 0},        {"\xc2", 0},
        {"\xe2\x82", 0},   {"\xc2\x41", 0},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        size_t n = strlen(cases[i].s);
        if (cd__utf8_seq_len((const unsigned char *)cases[i].s, n) != cases[i].len)
            fail_msg("case %zu: want %zu", i, cases[i].len);
    }
}

static void test_decimal(void **state)
{
    (void)state;
    const int64_t vals[] = {0, 1, 9, 10, 99, 100, 12345, -1, -100, INT64_MAX, INT64_MIN};
    for (size_t i = 0; i < NELEM(vals); i++) {
        cd__buf b;
        cd__buf_init(&b, 0);
        cd__buf_i64(&b, vals[i]);
        char *got = cd__buf_finish(&b);
        char want[32];
        snprintf(want, sizeof want, "%lld", (long long)vals[i]);
        assert_string_equal(got, want);
        free(got);
    }
    cd__buf b;
    cd__buf_init(&b, 0);
    cd__buf_u64(&b, UINT64_MAX);
    char *got = cd__buf_finish(&b);
    assert_string_equal(got, "18446744073709551615");
    free(got);
    /* Every length: 10^k - 1, 10^k and 10^k + 1, one after the other in
     * one buffer (the digits are counted, then written in place). */
    char want[1024] = "";
    size_t w = 0;
    cd__buf_init(&b, 0);
    for (uint64_t p = 10;; p *= 10) {
        const uint64_t vs[] = {p - 1, p, p + 1};
        for (size_t i = 0; i < NELEM(vs); i++) {
            cd__buf_u64(&b, vs[i]);
            cd__buf_putc(&b, ' ');
            w += (size_t)snprintf(want + w, sizeof want - w, "%llu ", (unsigned long long)vs[i]);
        }
        if (p == 10000000000000000000ull)
            break;
    }
    got = cd__buf_finish(&b);
    assert_string_equal(got, want);
    free(got);
}

/* ---- memstats and sched ------------------------------------------------- */

/* runtime.MemStats' fields in Go's order (json.Marshal keeps it). */
static const char *const memstats_keys[] = {
    "Alloc",        "TotalAlloc",  "Sys",          "Lookups",     "Mallocs",       "Frees",
    "HeapAlloc",    "HeapSys",     "HeapIdle",     "HeapInuse",   "HeapReleased",  "HeapObjects",
    "StackInuse",   "StackSys",    "MSpanInuse",   "MSpanSys",    "MCacheInuse",   "MCacheSys",
    "BuckHashSys",  "GCSys",       "OtherSys",     "NextGC",      "LastGC",        "PauseTotalNs",
    "PauseNs",      "PauseEnd",    "NumGC",        "NumForcedGC", "GCCPUFraction", "EnableGC",
    "DebugGC",      "BySize",
};

static cd_memstats ms; /* ~6 KB */

/* PauseNs and PauseEnd as written with one number at a time, whatever the
 * runs of zeros (copied in blocks by the renderer): none, one at the start,
 * runs longer than a block, a single 0 between numbers, zeros at the end. */
static void test_memstats_zero_runs(void **state)
{
    (void)state;
    static const struct {
        size_t from, to; /* a[from..to) = 0, the rest nonzero */
    } runs[] = {{0, 0}, {0, 1}, {0, 256}, {0, 64}, {0, 65}, {1, 2}, {3, 200}, {100, 101},
                {255, 256}, {130, 256}, {63, 129}};
    for (size_t r = 0; r < NELEM(runs); r++) {
        memset(&ms, 0, sizeof ms);
        char want[256 * 24 + 3], *w = want;
        *w++ = '[';
        for (size_t i = 0; i < 256; i++) {
            ms.PauseNs[i] = i >= runs[r].from && i < runs[r].to ? 0 : 1000 + i;
            w += sprintf(w, "%s%llu", i ? "," : "", (unsigned long long)ms.PauseNs[i]);
        }
        strcpy(w, "]");
        cd__buf b;
        cd__buf_init(&b, 0);
        cd__memstats_json(&b, &ms);
        char *s = cd__buf_finish(&b);
        assert_non_null(s);
        const char *p = strstr(s, "\"PauseNs\":");
        assert_non_null(p);
        p += strlen("\"PauseNs\":");
        if (strncmp(p, want, strlen(want)) != 0 || p[strlen(want)] != ',')
            fail_msg("zeros [%zu, %zu): PauseNs is %.*s", runs[r].from, runs[r].to,
                     (int)strlen(want) + 1, p);
        /* PauseEnd: all 0. */
        assert_non_null(strstr(s, ",\"PauseEnd\":[0,0,0,"));
        free(s);
    }
}

static void test_memstats_json(void **state)
{
    (void)state;
    memset(&ms, 0, sizeof ms);
    ms.Alloc = 1;
    ms.TotalAlloc = UINT64_MAX;
    ms.NumGC = 4294967295u;
    ms.GCCPUFraction = 1.5e-7;
    ms.EnableGC = true;
    for (int i = 0; i < 256; i++) {
        ms.PauseNs[i] = (uint64_t)i * 1000;
        ms.PauseEnd[i] = 1700000000000000000ull + (uint64_t)i;
    }
    for (int i = 0; i < 61; i++) {
        ms.BySize[i].Size = (uint32_t)i * 8;
        ms.BySize[i].Mallocs = (uint64_t)i;
        ms.BySize[i].Frees = (uint64_t)i / 2;
    }
    cd__buf b;
    cd__buf_init(&b, 0);
    cd__memstats_json(&b, &ms);
    char *s = cd__buf_finish(&b);
    assert_non_null(s);
    /* Compact like json.Marshal, booleans and Go's float spelling. */
    assert_true(strncmp(s, "{\"Alloc\":1,\"TotalAlloc\":18446744073709551615,\"Sys\":0,", 52) == 0);
    assert_non_null(strstr(s, ",\"NumGC\":4294967295,\"NumForcedGC\":0,\"GCCPUFraction\":1.5e-7,"
                              "\"EnableGC\":true,\"DebugGC\":false,\"BySize\":[{\"Size\":0,"
                              "\"Mallocs\":0,\"Frees\":0},{\"Size\":8,\"Mallocs\":1,\"Frees\":0},"));
    assert_non_null(strstr(s, "\"PauseNs\":[0,1000,2000,"));
    free(s);

    /* jansson stops at INT64_MAX: parse a copy without the extreme. */
    ms.TotalAlloc = 2;
    cd__buf_init(&b, 0);
    cd__memstats_json(&b, &ms);
    s = cd__buf_finish(&b);

    json_error_t err;
    json_t *j = json_loads(s, 0, &err);
    if (j == NULL)
        fail_msg("memstats JSON: %s", err.text);
    /* Key set and order. */
    size_t i = 0;
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        assert_true(i < NELEM(memstats_keys));
        assert_string_equal(k, memstats_keys[i]);
        i++;
        if (strcmp(k, "PauseNs") == 0 || strcmp(k, "PauseEnd") == 0) {
            assert_int_equal(json_array_size(v), 256);
            assert_true(json_is_integer(json_array_get(v, 255)));
        } else if (strcmp(k, "BySize") == 0) {
            assert_int_equal(json_array_size(v), 61);
            json_t *e = json_array_get(v, 60);
            const char *ek;
            json_t *ev;
            const char *want[] = {"Size", "Mallocs", "Frees"};
            size_t n = 0;
            json_object_foreach(e, ek, ev)
            {
                assert_string_equal(ek, want[n++]);
                assert_true(json_is_integer(ev));
            }
            assert_int_equal(n, 3);
        } else if (strcmp(k, "GCCPUFraction") == 0) {
            assert_true(json_is_real(v));
            assert_true(json_real_value(v) == 1.5e-7);
        } else if (strcmp(k, "EnableGC") == 0 || strcmp(k, "DebugGC") == 0) {
            assert_true(json_is_boolean(v));
        } else {
            assert_true(json_is_integer(v));
        }
    }
    assert_int_equal(i, NELEM(memstats_keys));
    assert_int_equal(json_integer_value(json_array_get(json_object_get(j, "PauseEnd"), 7)),
                     1700000000000000007ll);
    json_decref(j);
    free(s);

    /* The live var has the same keys, and the collector's figures once it
     * runs (it starts on first use: runtime/gc.h). */
    cd_free(cd_alloc(1));
    char *doc = cd_vars_json();
    j = json_loads(doc, 0, &err);
    assert_non_null(j);
    json_t *live = json_object_get(j, "memstats");
    assert_int_equal(json_object_size(live), NELEM(memstats_keys));
    assert_true(json_is_true(json_object_get(live, "EnableGC")));
    assert_true(json_integer_value(json_object_get(live, "HeapSys")) > 0);
    json_decref(j);
    free(doc);
}

static void test_sched_json(void **state)
{
    (void)state;
    static cd_schedstats s;
    memset(&s, 0, sizeof s);
    s.gomaxprocs = 3;
    s.tasks_created = 10;
    s.runq[0] = 1;
    s.runq[2] = 5;
    s.runq[3] = 99; /* beyond gomaxprocs: not shown */
    cd__buf b;
    cd__buf_init(&b, 0);
    cd__sched_json(&b, &s);
    char *got = cd__buf_finish(&b);
    assert_string_equal(got, "{\"workers\":3,\"idle_workers\":0,\"threads\":0,\"idle_threads\":0,"
                             "\"spinning_threads\":0,\"tasks_created\":10,\"tasks_running\":0,"
                             "\"tasks_queued\":0,\"tasks_blocked\":0,\"tasks_done\":0,"
                             "\"steals\":0,\"parks\":0,\"handoffs\":0,\"global_runqueue\":0,"
                             "\"runqueues\":[1,0,5]}");
    free(got);
}

/* ---- Prometheus --------------------------------------------------------- */

static void test_prom_sanitise(void **state)
{
    (void)state;
    const struct {
        const char *in, *out;
    } cases[] = {
        {"requests", "requests"},
        {"Goroutines", "goroutines"},
        {"requestsTotal", "requests_total"},
        {"HTTPServer", "http_server"},
        {"memstats.PauseTotalNs", "memstats_pause_total_ns"},
        {"a.b-c d:e", "a_b_c_d_e"},
        {"__x__", "x"},
        {"9lives", "9lives"},
        {"caf\xc3\xa9 bar", "caf_bar"},
        {"\"quoted\"\n", "quoted"},
        {"...", "var"},
        {"", "var"},
        {"v2Alpha", "v2_alpha"},
        {"ABC", "abc"},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        char out[128];
        size_t n = cd__prom_sanitise(cases[i].in, strlen(cases[i].in), out);
        out[n] = '\0';
        if (strcmp(out, cases[i].out) != 0)
            fail_msg("sanitise(%s): got %s, want %s", cases[i].in, out, cases[i].out);
    }
}

static void test_prom_text(void **state)
{
    (void)state;
    cd__buf b;
    cd__buf_init(&b, 0);
    const char *in = "a\\b\"c\nd\te\xff\xc3\xa9";
    cd__buf_prom_text(&b, in, strlen(in), "\\\"\n");
    char *got = cd__buf_finish(&b);
    assert_string_equal(got, "a\\\\b\\\"c\\nd\xef\xbf\xbd" "e\xef\xbf\xbd\xc3\xa9");
    free(got);
    cd__buf_init(&b, 0);
    in = "help \"x\"\n\\";
    cd__buf_prom_text(&b, in, strlen(in), "\\\n");
    got = cd__buf_finish(&b);
    assert_string_equal(got, "help \"x\"\\n\\\\");
    free(got);
}

/* Collisions: the first var in byte order keeps the name; histograms
 * claim their series names; the runtime metrics are never shadowed. */
static void test_prom_collisions(void **state)
{
    (void)state;
    cd_int_set(cd_int_new("p.coll"), 1);  /* '.' < 'C' < '_' */
    cd_int_set(cd_int_new("pColl"), 2);
    cd_int_set(cd_int_new("p_coll"), 3);
    const double bounds[] = {1};
    cd_hist_observe(cd_hist_new("p_h", bounds, 1), 0.5);
    cd_int_set(cd_int_new("p_h_count"), 4); /* would be a series of p_h */
    cd_int_set(cd_int_new("gc_count_total"), 5); /* a runtime metric's name */
    cd_int_set(cd_int_new("hits_total"), 6);
    char *p = cd_vars_prometheus();
    assert_non_null(p);
    assert_non_null(strstr(p, "\ncdebug_p_coll 1\n"));
    assert_non_null(strstr(p, "\ncdebug_p_coll_2 2\n"));
    assert_non_null(strstr(p, "\ncdebug_p_coll_3 3\n"));
    assert_non_null(strstr(p, "\ncdebug_p_h_bucket{le=\"1\"} 1\n"));
    assert_non_null(strstr(p, "\ncdebug_p_h_count 1\n"));
    assert_non_null(strstr(p, "\ncdebug_p_h_count_2 4\n"));
    assert_non_null(strstr(p, "\ncdebug_gc_count_total_2 5\n"));
    assert_non_null(strstr(p, "\n# TYPE cdebug_hits_total counter\ncdebug_hits_total 6\n"));
    assert_non_null(strstr(p, "\n# HELP cdebug_p_coll_2 cdebug int \"pColl\"\n"));
    /* Same registry, same output (modulo the values that move). */
    char *q = cd_vars_prometheus();
    assert_non_null(strstr(q, "\ncdebug_p_coll_2 2\n"));
    free(q);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_go_floats),     cmocka_unit_test(test_json_strings),
        cmocka_unit_test(test_utf8),          cmocka_unit_test(test_decimal),
        cmocka_unit_test(test_memstats_json), cmocka_unit_test(test_memstats_zero_runs),
        cmocka_unit_test(test_sched_json),
        cmocka_unit_test(test_prom_sanitise), cmocka_unit_test(test_prom_text),
        cmocka_unit_test(test_prom_collisions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

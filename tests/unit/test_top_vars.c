/* tests/unit/test_top_vars.c - -vars specs and reading values from JSON.
 *
 * Kinds and escapes as expvarmon defines them, dotted lookups into a real
 * Go expvar document shape, and the conversion of JSON values to samples
 * (PauseNs-style arrays averaged with trailing zeros trimmed).
 */
#include <setjmp.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "viewer/cdebug-top/vars_path.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void expect_var(const char *spec, top_kind kind, const char *label, size_t depth, ...)
{
    top_var v;
    char err[128] = "";
    int rc = top_var_parse(spec, strlen(spec), &v, err, sizeof(err));
    if (rc != 0)
        fail_msg("\"%s\": rc %d %s", spec, rc, err);
    assert_int_equal(v.kind, kind);
    assert_string_equal(v.label, label);
    assert_int_equal(v.depth, depth);
    va_list ap;
    va_start(ap, depth);
    for (size_t i = 0; i < depth; i++)
        assert_string_equal(v.keys[i], va_arg(ap, const char *));
    va_end(ap);
    top_var_free(&v);
}

static void test_var_specs(void **state)
{
    (void)state;
    expect_var("requests", TOP_KIND_PLAIN, "requests", 1, "requests");
    expect_var("memstats.Alloc", TOP_KIND_PLAIN, "memstats.Alloc", 2, "memstats", "Alloc");
    expect_var("mem:memstats.HeapAlloc", TOP_KIND_MEM, "memstats.HeapAlloc", 2, "memstats",
               "HeapAlloc");
    expect_var("duration:memstats.PauseTotalNs", TOP_KIND_DURATION, "memstats.PauseTotalNs", 2,
               "memstats", "PauseTotalNs");
    expect_var("str:version", TOP_KIND_STR, "version", 1, "version");
    /* escapes: \. dot, \, comma, \\ backslash, other backslashes kept */
    expect_var("nested.dotted\\.key", TOP_KIND_PLAIN, "nested.dotted\\.key", 2, "nested",
               "dotted.key");
    expect_var("a\\,b.c\\\\.d\\x", TOP_KIND_PLAIN, "a\\,b.c\\\\.d\\x", 3, "a,b", "c\\", "d\\x");
    expect_var("trailing\\", TOP_KIND_PLAIN, "trailing\\", 1, "trailing\\");
    /* empty segments are skipped as in expvarmon */
    expect_var(".a..b.", TOP_KIND_PLAIN, ".a..b.", 2, "a", "b");
    /* only known kinds are prefixes: a colon may be part of a key */
    expect_var("ns:a", TOP_KIND_PLAIN, "ns:a", 1, "ns:a");

    top_var v;
    char err[128];
    assert_int_equal(top_var_parse("mem:", 4, &v, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "empty name"));
    assert_int_equal(top_var_parse("...", 3, &v, err, sizeof(err)), -EINVAL);
    const char *deep = "a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q";
    assert_int_equal(top_var_parse(deep, strlen(deep), &v, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "deeper"));
}

static void test_var_list(void **state)
{
    (void)state;
    top_var *v;
    size_t n;
    char err[128];

    assert_int_equal(top_vars_parse_list(" requests, mem:memstats.Alloc,,a\\,b ", &v, &n, err,
                                         sizeof(err)),
                     0);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].spec, "requests");
    assert_string_equal(v[1].label, "memstats.Alloc");
    assert_string_equal(v[2].keys[0], "a,b");
    top_vars_free(v, n);

    assert_int_equal(top_vars_parse_list(",,", &v, &n, err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "no vars"));

    char many[TOP_MAX_VARS * 4 + 8] = "";
    for (int i = 0; i <= TOP_MAX_VARS; i++)
        strcat(many, "v,");
    assert_int_equal(top_vars_parse_list(many, &v, &n, err, sizeof(err)), -E2BIG);
}

/* A trimmed Go 1.19 expvar document plus user vars. */
static const char doc_text[] =
    "{\"cmdline\": [\"/tmp/app\", \"-port\", \"0\"],"
    " \"memstats\": {\"Alloc\": 208112, \"TotalAlloc\": 9007199254740993, \"NumGC\": 3,"
    "   \"PauseNs\": [100, 200, 300, 0, 0], \"GCCPUFraction\": 0.25, \"EnableGC\": true,"
    "   \"BySize\": [{\"Size\": 0, \"Mallocs\": 0}]},"
    " \"requests\": 17, \"ratio\": 0.5, \"version\": \"go-peer 1.0\","
    " \"nested\": {\"dotted.key\": 42, \"inner\": {\"depth\": 7}}, \"nothing\": null,"
    " \"zeros\": [0, 0], \"mixed\": [1, 2.5], \"long\": \"" /* 120 x "é" */
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
    "\"}";

static top_value sample(const json_t *doc, const char *spec)
{
    top_var v;
    top_value out;
    char err[128];
    assert_int_equal(top_var_parse(spec, strlen(spec), &v, err, sizeof(err)), 0);
    top_value_from_json(top_var_lookup(&v, doc), &out);
    top_var_free(&v);
    return out;
}

static void test_lookup_and_values(void **state)
{
    (void)state;
    json_error_t jerr;
    json_t *doc = json_loads(doc_text, 0, &jerr);
    if (doc == NULL)
        fail_msg("test document: %s", jerr.text);
    top_value v;

    v = sample(doc, "mem:memstats.Alloc");
    assert_int_equal(v.type, TOP_V_INT);
    assert_int_equal(v.i, 208112);
    /* integers stay exact beyond 2^53 */
    v = sample(doc, "memstats.TotalAlloc");
    assert_true(v.i == INT64_C(9007199254740993));
    v = sample(doc, "requests");
    assert_int_equal(v.i, 17);
    v = sample(doc, "ratio");
    assert_int_equal(v.type, TOP_V_REAL);
    assert_true(v.r == 0.5);
    assert_true(top_value_number(&v) == 0.5);
    v = sample(doc, "memstats.EnableGC");
    assert_int_equal(v.type, TOP_V_BOOL);
    assert_true(top_value_number(&v) == 1);
    v = sample(doc, "str:version");
    assert_int_equal(v.type, TOP_V_STR);
    assert_string_equal(v.s, "go-peer 1.0");
    assert_true(isnan(top_value_number(&v)));
    v = sample(doc, "nested.dotted\\.key");
    assert_int_equal(v.i, 42);
    v = sample(doc, "nested.inner.depth");
    assert_int_equal(v.i, 7);

    /* PauseNs: mean of [100,200,300], trailing zeros are unfilled slots */
    v = sample(doc, "duration:memstats.PauseNs");
    assert_int_equal(v.type, TOP_V_INT);
    assert_int_equal(v.i, 200);
    v = sample(doc, "zeros");
    assert_int_equal(v.type, TOP_V_INT);
    assert_int_equal(v.i, 0);
    v = sample(doc, "mixed");
    assert_int_equal(v.type, TOP_V_REAL);
    assert_true(v.r == 1.75);
    /* array index and array of objects element */
    v = sample(doc, "memstats.PauseNs.1");
    assert_int_equal(v.i, 200);
    v = sample(doc, "memstats.BySize.0.Size");
    assert_int_equal(v.type, TOP_V_INT);
    /* cmdline: strings joined */
    v = sample(doc, "str:cmdline");
    assert_int_equal(v.type, TOP_V_STR);
    assert_string_equal(v.s, "/tmp/app -port 0");

    /* n/a: missing keys, paths through scalars, null, objects, bad index */
    static const char *const na[] = {"missing", "requests.x", "nothing", "nested",
                                     "memstats.PauseNs.99", "memstats.PauseNs.x", "nested.inner.x"};
    for (size_t i = 0; i < NELEM(na); i++) {
        v = sample(doc, na[i]);
        if (v.type != TOP_V_NA)
            fail_msg("\"%s\" should be n/a, got type %d", na[i], v.type);
        assert_true(isnan(top_value_number(&v)));
    }

    /* long strings are cut on a character boundary */
    v = sample(doc, "long");
    assert_int_equal(v.type, TOP_V_STR);
    assert_true(strlen(v.s) < TOP_STR_MAX);
    assert_int_equal(strlen(v.s) % 2, 0);
    json_decref(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_var_specs),
        cmocka_unit_test(test_var_list),
        cmocka_unit_test(test_lookup_and_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

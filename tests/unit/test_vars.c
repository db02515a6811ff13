/* tests/unit/test_vars.c - the var types and the registry.
 *
 * Every var type's values and its rendering in the /debug/vars document,
 * concurrency (exact sums from 4 threads, a string replaced while another
 * thread renders, registrations racing for the same names), name rules
 * (NULL, empty, duplicate, awkward), nested and huge maps, Func reference
 * counting, histogram buckets and percentiles. Every document rendered is
 * parsed back with jansson. The registry is process-wide, so every test
 * uses names of its own.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cdebug/vars_json.h"
#include "vars/registry.h"
#include "vars/types.h"

/* ---- helpers ------------------------------------------------------------ */

/* Renders the document, checks it parses, returns the parsed tree. */
static json_t *render(void)
{
    char *doc = cd_vars_json();
    assert_non_null(doc);
    size_t n = strlen(doc);
    assert_true(n >= 4);
    assert_memory_equal(doc, "{\n", 2);
    assert_string_equal(doc + n - 3, "\n}\n");
    json_error_t err;
    json_t *j = json_loads(doc, 0, &err);
    if (j == NULL)
        fail_msg("document is not JSON: %s at line %d col %d", err.text, err.line, err.column);
    free(doc);
    return j;
}

/* The raw text of one top-level entry's value (`"name": VALUE` line). */
static char *raw_value(const char *name)
{
    char *doc = cd_vars_json();
    assert_non_null(doc);
    char key[256];
    snprintf(key, sizeof key, "\n\"%s\": ", name);
    char *p = strstr(doc, key);
    if (p == NULL)
        fail_msg("no entry %s", name);
    p += strlen(key);
    size_t len = strcspn(p, "\n");
    if (len > 0 && p[len - 1] == ',')
        len--;
    char *out = strndup(p, len);
    free(doc);
    return out;
}

static void assert_raw(const char *name, const char *want)
{
    char *got = raw_value(name);
    assert_string_equal(got, want);
    free(got);
}

/* ---- Int ---------------------------------------------------------------- */

static void test_int_values(void **state)
{
    (void)state;
    cd_int *v = cd_int_new("t_int");
    assert_non_null(v);
    assert_int_equal(cd_int_value(v), 0);
    assert_raw("t_int", "0");
    cd_int_add(v, 5);
    cd_int_add(v, -7);
    assert_int_equal(cd_int_value(v), -2);
    assert_raw("t_int", "-2");
    cd_int_set(v, INT64_MAX);
    assert_raw("t_int", "9223372036854775807");
    cd_int_set(v, INT64_MIN);
    assert_raw("t_int", "-9223372036854775808");
    json_t *j = render();
    assert_true(json_is_integer(json_object_get(j, "t_int")));
    assert_true(json_integer_value(json_object_get(j, "t_int")) == INT64_MIN);
    json_decref(j);
    /* NULL handles are accepted and ignored. */
    cd_int_add(NULL, 1);
    cd_int_set(NULL, 1);
    assert_int_equal(cd_int_value(NULL), 0);
}

#define ADDERS 4
#define ADDS 1000000

static void *int_adder(void *arg)
{
    for (int i = 0; i < ADDS; i++)
        cd_int_add(arg, 1);
    return NULL;
}

static void test_int_concurrent(void **state)
{
    (void)state;
    cd_int *v = cd_int_new("t_int_concurrent");
    pthread_t t[ADDERS];
    for (int i = 0; i < ADDERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, int_adder, v), 0);
    for (int i = 0; i < ADDERS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(cd_int_value(v), (int64_t)ADDERS * ADDS);
}

/* ---- Float -------------------------------------------------------------- */

static void test_float_values(void **state)
{
    (void)state;
    cd_float *v = cd_float_new("t_float");
    assert_non_null(v);
    assert_raw("t_float", "0");
    cd_float_set(v, 0.1);
    assert_raw("t_float", "0.1");
    cd_float_add(v, 0.2);
    assert_true(cd_float_value(v) == 0.1 + 0.2);
    assert_raw("t_float", "0.30000000000000004");
    cd_float_set(v, 123456789.0);
    assert_raw("t_float", "1.23456789e+08");
    cd_float_set(v, -1e-7);
    assert_raw("t_float", "-1e-07");
    /* Go prints NaN/+Inf (invalid JSON); cdebug keeps the document valid. */
    cd_float_set(v, NAN);
    assert_raw("t_float", "null");
    cd_float_set(v, -INFINITY);
    assert_raw("t_float", "null");
    json_decref(render());
    cd_float_add(NULL, 1);
    assert_true(cd_float_value(NULL) == 0.0);
}

static void *float_adder(void *arg)
{
    for (int i = 0; i < ADDS / 10; i++)
        cd_float_add(arg, 0.5); /* exact in binary: the sum must be exact */
    return NULL;
}

static void test_float_concurrent(void **state)
{
    (void)state;
    cd_float *v = cd_float_new("t_float_concurrent");
    pthread_t t[ADDERS];
    for (int i = 0; i < ADDERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, float_adder, v), 0);
    for (int i = 0; i < ADDERS; i++)
        pthread_join(t[i], NULL);
    assert_true(cd_float_value(v) == ADDERS * (ADDS / 10) * 0.5);
}

/* ---- String ------------------------------------------------------------- */

static void test_string_values(void **state)
{
    (void)state;
    cd_string *v = cd_string_new("t_string");
    assert_non_null(v);
    assert_raw("t_string", "\"\"");
    cd_string_set(v, "hello");
    assert_raw("t_string", "\"hello\"");
    cd_string_set(v, "q\"b\\s\nn<&>\x01\xff\xc3\xa9");
    assert_raw("t_string", "\"q\\\"b\\\\s\\nn\\u003c\\u0026\\u003e\\u0001\\ufffd\xc3\xa9\"");
    json_t *j = render();
    assert_string_equal(json_string_value(json_object_get(j, "t_string")),
                        "q\"b\\s\nn<&>\x01\xef\xbf\xbd\xc3\xa9");
    json_decref(j);
    cd_string_set(v, NULL);
    assert_raw("t_string", "\"\"");
    cd_string_set(NULL, "x");
}

#define STRING_SETS 100000

static atomic_int setter_done;

static void *string_setter(void *arg)
{
    char buf[64];
    for (int i = 0; i < STRING_SETS; i++) {
        snprintf(buf, sizeof buf, "value-%d-%s", i, i % 2 ? "odd" : "even, longer to vary size");
        cd_string_set(arg, buf);
    }
    atomic_store(&setter_done, 1);
    return NULL;
}

/* A string replaced 1e5 times while this thread renders: every render
 * sees one whole value (ASan/the RCU grace period guard the frees). */
static void test_string_set_while_rendering(void **state)
{
    (void)state;
    cd_string *v = cd_string_new("t_string_race");
    cd_string_set(v, "value-start");
    pthread_t t;
    atomic_store(&setter_done, 0);
    assert_int_equal(pthread_create(&t, NULL, string_setter, v), 0);
    int renders = 0;
    while (!atomic_load(&setter_done) || renders < 10) {
        char *raw = raw_value("t_string_race");
        int i = -1, end = 0;
        char kind[8] = "";
        if (strcmp(raw, "\"value-start\"") != 0) {
            /* "value-N-odd" or "value-N-even, longer to vary size", whole. */
            sscanf(raw, "\"value-%d-%7[a-z]%n", &i, kind, &end);
            assert_true(i >= 0 && i < STRING_SETS);
            assert_string_equal(kind, i % 2 ? "odd" : "even");
            assert_string_equal(raw + end, i % 2 ? "\"" : ", longer to vary size\"");
        }
        free(raw);
        renders++;
    }
    pthread_join(t, NULL);
    assert_raw("t_string_race", "\"value-99999-odd\"");
    print_message("      %d renders during %d sets\n", renders, STRING_SETS);
}

/* ---- Map ---------------------------------------------------------------- */

/* A var added after a render is in the next one, in its sorted place: the
 * renderers reuse the last sorted order only while no var was added. */
static void test_vars_added_after_render(void **state)
{
    (void)state;
    char *doc = cd_vars_json();
    assert_non_null(doc);
    assert_null(strstr(doc, "\"t_late_"));
    free(doc);
    assert_non_null(cd_int_new("t_late_b"));
    doc = cd_vars_json();
    assert_non_null(doc);
    assert_non_null(strstr(doc, "\"t_late_b\": 0"));
    free(doc);
    assert_non_null(cd_int_new("t_late_a"));
    doc = cd_vars_json();
    assert_non_null(doc);
    char *a = strstr(doc, "\"t_late_a\": 0"), *b = strstr(doc, "\"t_late_b\": 0");
    assert_non_null(a);
    assert_non_null(b);
    assert_true(a < b);
    free(doc);
}

static void test_map_sorted_and_nested(void **state)
{
    (void)state;
    cd_map *m = cd_map_new("t_map");
    assert_non_null(m);
    assert_raw("t_map", "{}");
    cd_map_add(m, "zeta", 1);
    cd_map_add(m, "alpha", 2);
    cd_map_add(m, "Beta", 3);
    cd_map_add(m, "alpha", 40);
    cd_map_add_float(m, "ratio", 0.5);
    cd_map_set_string(m, "mode", "fast");
    cd_map *child = cd_map_child(m, "child");
    assert_non_null(child);
    assert_ptr_equal(cd_map_child(m, "child"), child); /* same map again */
    cd_map_add(child, "b", 2);
    cd_map_add(child, "a", 1);
    cd_map_add(cd_map_child(child, "deeper"), "x", -1);
    cd_map_add(m, "", 9); /* Go allows an empty key */
    /* Go's Map.String: ", " and ": ", keys sorted bytewise. */
    assert_raw("t_map", "{\"\": 9, \"Beta\": 3, \"alpha\": 42, \"child\": {\"a\": 1, \"b\": 2, "
                        "\"deeper\": {\"x\": -1}}, \"mode\": \"fast\", \"ratio\": 0.5, \"zeta\": 1}");
    json_t *j = render();
    json_t *jm = json_object_get(j, "t_map");
    assert_int_equal(json_object_size(jm), 7);
    assert_int_equal(json_integer_value(json_object_get(json_object_get(jm, "child"), "a")), 1);
    json_decref(j);
}

/* Each map keeps its sorted key order between renders (vars/registry.c):
 * a key added after a render is in the next one, in its place, and a
 * render of an unchanged map is the same. */
static void test_map_keys_added_after_render(void **state)
{
    (void)state;
    cd_map *m = cd_map_new("t_map_late");
    assert_non_null(m);
    cd_map_add(m, "m", 1);
    assert_raw("t_map_late", "{\"m\": 1}");
    cd_map_add(m, "z", 2);
    assert_raw("t_map_late", "{\"m\": 1, \"z\": 2}");
    cd_map_add(m, "a", 3);
    cd_map_add(m, "m", 10); /* a value change alone keeps the order */
    assert_raw("t_map_late", "{\"a\": 3, \"m\": 11, \"z\": 2}");
    assert_raw("t_map_late", "{\"a\": 3, \"m\": 11, \"z\": 2}");
    cd_map *child = cd_map_child(m, "b");
    assert_raw("t_map_late", "{\"a\": 3, \"b\": {}, \"m\": 11, \"z\": 2}");
    cd_map_add(child, "y", 1);
    cd_map_add(child, "x", 1);
    assert_raw("t_map_late", "{\"a\": 3, \"b\": {\"x\": 1, \"y\": 1}, \"m\": 11, \"z\": 2}");
}

static void test_map_kind_mismatch(void **state)
{
    (void)state;
    cd_map *m = cd_map_new("t_map_kinds");
    cd_map_add(m, "n", 1);
    errno = 0;
    cd_map_add_float(m, "n", 1.0);
    assert_int_equal(errno, EEXIST);
    errno = 0;
    cd_map_set_string(m, "n", "s");
    assert_int_equal(errno, EEXIST);
    errno = 0;
    assert_null(cd_map_child(m, "n"));
    assert_int_equal(errno, EEXIST);
    cd_map_child(m, "c");
    errno = 0;
    cd_map_add(m, "c", 1);
    assert_int_equal(errno, EEXIST);
    errno = 0;
    cd_map_add(m, NULL, 1);
    assert_int_equal(errno, EINVAL);
    cd_map_add(NULL, "k", 1);
    assert_null(cd_map_child(NULL, "k"));
    assert_raw("t_map_kinds", "{\"c\": {}, \"n\": 1}");
}

#define HUGE_KEYS 100000

static void test_map_huge(void **state)
{
    (void)state;
    cd_map *m = cd_map_new("t_map_huge");
    char key[32];
    /* Inserted in reverse so sorting has work to do. */
    for (int i = HUGE_KEYS - 1; i >= 0; i--) {
        snprintf(key, sizeof key, "k%06d", i);
        cd_map_add(m, key, i);
    }
    json_t *j = render();
    json_t *jm = json_object_get(j, "t_map_huge");
    assert_int_equal(json_object_size(jm), HUGE_KEYS);
    assert_int_equal(json_integer_value(json_object_get(jm, "k054321")), 54321);
    json_decref(j);
    /* Sorted in the text. */
    char *raw = raw_value("t_map_huge");
    assert_true(strncmp(raw, "{\"k000000\": 0, \"k000001\": 1, ", 28) == 0);
    assert_non_null(strstr(raw, "\"k099998\": 99998, \"k099999\": 99999}"));
    free(raw);
}

/* Threads racing to create the same keys: each key exists once, and no
 * add is lost. */
static cd_map *race_map;
static void *map_adder(void *arg)
{
    (void)arg;
    char key[16];
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof key, "k%d", i % 500);
        cd_map_add(race_map, key, 1);
    }
    return NULL;
}

static void test_map_concurrent(void **state)
{
    (void)state;
    race_map = cd_map_new("t_map_race");
    pthread_t t[ADDERS];
    for (int i = 0; i < ADDERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, map_adder, NULL), 0);
    for (int i = 0; i < ADDERS; i++)
        pthread_join(t[i], NULL);
    json_t *j = render();
    json_t *jm = json_object_get(j, "t_map_race");
    assert_int_equal(json_object_size(jm), 500);
    const char *k;
    json_t *v;
    json_object_foreach(jm, k, v)
    {
        assert_int_equal(json_integer_value(v), ADDERS * 20000 / 500);
    }
    json_decref(j);
}

/* ---- Func --------------------------------------------------------------- */

static json_t *held; /* the test keeps one reference */
static int calls;

static json_t *func_held(void *arg)
{
    calls++;
    assert_ptr_equal(arg, &calls);
    return json_incref(held); /* NULL-safe */
}

static json_t *func_null(void *arg)
{
    (void)arg;
    return NULL;
}

static json_t *func_deep(void *arg)
{
    (void)arg;
    json_t *root = json_array(), *cur = root;
    for (int i = 0; i < 1000; i++) { /* deeper than the walker follows */
        json_t *next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    return root;
}

static void test_func(void **state)
{
    (void)state;
    held = json_pack("{s:i, s:f, s:s, s:[b, b, n], s:{}}", "n", -5, "r", 0.1, "s", "<x>", "a", 1,
                     0, "o");
    assert_int_equal(cd_func_new("t_func", func_held, &calls), 0);
    assert_int_equal(cd_func_new("t_func_null", func_null, NULL), 0);
    assert_int_equal(cd_func_new("t_func_deep", func_deep, NULL), 0);
    assert_int_equal(cd_func_new("t_func_bad", NULL, NULL), -EINVAL);
    assert_int_equal(cd_func_new("t_func", func_null, NULL), -EEXIST);
    assert_int_equal(cd_func_new(NULL, func_null, NULL), -EINVAL);
    assert_int_equal(cd_func_new("", func_null, NULL), -EINVAL);

    /* json.Marshal's compact form, keys in insertion order; one call per
     * render. */
    assert_raw("t_func", "{\"n\":-5,\"r\":0.1,\"s\":\"\\u003cx\\u003e\",\"a\":[true,false,null],"
                         "\"o\":{}}");
    assert_int_equal(calls, 1);
    assert_raw("t_func_null", "null");
    assert_int_equal(calls, 2);
    /* The renderer released its reference: only ours is left. */
    assert_int_equal(held->refcount, 1);
    json_t *j = render();
    assert_true(json_is_null(json_object_get(j, "t_func_null")));
    json_decref(j);
    assert_int_equal(held->refcount, 1);
    json_decref(held);
    held = NULL; /* the var lives on: later renders get NULL -> null */
}

/* ---- Histogram ---------------------------------------------------------- */

static void test_hist(void **state)
{
    (void)state;
    const double bounds[] = {10, 20, 30, 40};
    cd_hist *h = cd_hist_new("t_hist", bounds, 4);
    assert_non_null(h);
    assert_raw("t_hist", "{\"count\": 0, \"sum\": 0, \"p50\": 0, \"p90\": 0, \"p99\": 0, "
                         "\"buckets\": {\"10\": 0, \"20\": 0, \"30\": 0, \"40\": 0, \"+Inf\": 0}}");
    for (int v = 1; v <= 40; v++) /* ten per bucket, "le" bounds included */
        cd_hist_observe(h, v);
    cd_hist_observe(h, NAN); /* ignored */
    /* rank 20 -> end of (10,20]; 36 -> 30 + 10*6/10; 39.6 -> 30 + 10*9.6/10. */
    assert_raw("t_hist", "{\"count\": 40, \"sum\": 820, \"p50\": 20, \"p90\": 36, \"p99\": 39.6, "
                         "\"buckets\": {\"10\": 10, \"20\": 20, \"30\": 30, \"40\": 40, "
                         "\"+Inf\": 40}}");
    cd_hist_observe(h, 1000);
    cd__hist_snap s;
    cd__hist_read(h, &s);
    assert_int_equal(s.total, 41);
    assert_int_equal(s.counts[4], 1);
    assert_true(s.sum == 1820);
    /* A rank in the +Inf bucket gives the largest finite bound. */
    assert_true(cd__hist_quantile(&s, 0.999) == 40);
    /* Lower bound of the first bucket is 0 when its bound is positive. */
    assert_true(cd__hist_quantile(&s, 0.1) == 41 * 0.1);

    /* A first bound <= 0 is returned as is. */
    const double neg[] = {-1, 1};
    cd_hist *hn = cd_hist_new("t_hist_neg", neg, 2);
    cd_hist_observe(hn, -5);
    cd__hist_read(hn, &s);
    assert_true(cd__hist_quantile(&s, 0.5) == -1);
    json_decref(render());

    /* Bad bounds. */
    const double unsorted[] = {1, 1};
    const double inf[] = {1, INFINITY};
    double many[65];
    for (int i = 0; i < 65; i++)
        many[i] = i;
    errno = 0;
    assert_null(cd_hist_new("t_hist_bad1", unsorted, 2));
    assert_int_equal(errno, EINVAL);
    assert_null(cd_hist_new("t_hist_bad2", inf, 2));
    assert_null(cd_hist_new("t_hist_bad3", many, 65));
    assert_null(cd_hist_new("t_hist_bad4", many, 0));
    assert_null(cd_hist_new("t_hist_bad5", NULL, 3));
    assert_non_null(cd_hist_new("t_hist_64", many, 64));
    cd_hist_observe(NULL, 1);
}

/* ---- names -------------------------------------------------------------- */

static void test_names(void **state)
{
    (void)state;
    errno = 0;
    assert_null(cd_int_new(NULL));
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(cd_float_new(""));
    assert_int_equal(errno, EINVAL);
    assert_null(cd_string_new(NULL));
    assert_null(cd_map_new(""));

    /* A duplicate is refused whatever its kind; the first stays. */
    cd_int *first = cd_int_new("t_dup");
    cd_int_set(first, 11);
    errno = 0;
    assert_null(cd_int_new("t_dup"));
    assert_int_equal(errno, EEXIST);
    errno = 0;
    assert_null(cd_map_new("t_dup"));
    assert_int_equal(errno, EEXIST);
    const double b[] = {1};
    assert_null(cd_hist_new("t_dup", b, 1));
    assert_raw("t_dup", "11");

    /* The built-ins exist and cannot be taken over. */
    assert_null(cd_int_new("memstats"));
    assert_int_equal(errno, EEXIST);
    assert_null(cd_string_new("cmdline"));
    assert_null(cd_map_new("sched"));

    /* Awkward names are kept bytewise and escaped in the document. */
    cd_int_set(cd_int_new("t_q\"uote"), 1);
    cd_int_set(cd_int_new("t_nl\nname\ttab\x01"), 2);
    cd_int_set(cd_int_new("t_bad\xff\xfeutf8"), 3);
    cd_int_set(cd_int_new("t_\xc3\xa9t\xc3\xa9 \xe2\x80\xa8"), 4);
    json_t *j = render();
    assert_int_equal(json_integer_value(json_object_get(j, "t_q\"uote")), 1);
    assert_int_equal(json_integer_value(json_object_get(j, "t_nl\nname\ttab\x01")), 2);
    assert_int_equal(json_integer_value(json_object_get(j, "t_bad\xef\xbf\xbd\xef\xbf\xbdutf8")),
                     3);
    assert_int_equal(json_integer_value(json_object_get(j, "t_\xc3\xa9t\xc3\xa9 \xe2\x80\xa8")), 4);
    json_decref(j);
    char *doc = cd_vars_json();
    assert_non_null(strstr(doc, "\n\"t_nl\\nname\\ttab\\u0001\": 2,\n"));
    assert_non_null(strstr(doc, "\n\"t_\xc3\xa9t\xc3\xa9 \\u2028\": 4"));
    free(doc);

    /* Lookups by name (used by http/ and tools). */
    assert_non_null(cd__var_lookup("t_q\"uote"));
    assert_null(cd__var_lookup("t_no_such_var"));
}

/* Many threads register the same 200 names: each registration succeeds
 * exactly once. */
static atomic_int won, wrong_errno;
static void *registrar(void *arg)
{
    (void)arg;
    char name[32];
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "t_race_%d", i);
        /* No cmocka assertion off the main thread: count, check later. */
        if (cd_int_new(name) != NULL)
            atomic_fetch_add(&won, 1);
        else if (errno != EEXIST)
            atomic_fetch_add(&wrong_errno, 1);
    }
    return NULL;
}

static void test_register_race(void **state)
{
    (void)state;
    pthread_t t[ADDERS];
    for (int i = 0; i < ADDERS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, registrar, NULL), 0);
    for (int i = 0; i < ADDERS; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(atomic_load(&won), 200);
    assert_int_equal(atomic_load(&wrong_errno), 0);
}

/* ---- the document ------------------------------------------------------- */

static void test_document_sorted(void **state)
{
    (void)state;
    json_t *j = render();
    /* jansson keeps document order: the keys come sorted bytewise. */
    const char *prev = NULL, *k;
    json_t *v;
    json_object_foreach(j, k, v)
    {
        if (prev != NULL)
            assert_true(strcmp(prev, k) < 0);
        prev = k;
    }
    assert_true(json_is_array(json_object_get(j, "cmdline")));
    assert_true(json_is_object(json_object_get(j, "memstats")));
    assert_true(json_is_object(json_object_get(j, "sched")));
    json_decref(j);
}

static void test_cmdline_redact(void **state)
{
    (void)state;
    json_t *j = render();
    json_t *c = json_object_get(j, "cmdline");
    assert_true(json_array_size(c) >= 1);
    assert_non_null(strstr(json_string_value(json_array_get(c, 0)), "test_vars"));
    json_decref(j);

    /* argv[0] stays, argv[1..] are hidden (test_vars_schema.sh runs a
     * program with arguments, and CDEBUG=cmdlineredact=1). */
    assert_int_equal(cd_vars_redact_cmdline(CD_CMDLINE_HIDE), 0);
    j = render();
    c = json_object_get(j, "cmdline");
    assert_non_null(strstr(json_string_value(json_array_get(c, 0)), "test_vars"));
    for (size_t i = 1; i < json_array_size(c); i++)
        assert_string_equal(json_string_value(json_array_get(c, i)), "<redacted>");
    json_decref(j);
    assert_int_equal(cd_vars_redact_cmdline(CD_CMDLINE_SECRETS), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_int_values),
        cmocka_unit_test(test_int_concurrent),
        cmocka_unit_test(test_float_values),
        cmocka_unit_test(test_float_concurrent),
        cmocka_unit_test(test_string_values),
        cmocka_unit_test(test_string_set_while_rendering),
        cmocka_unit_test(test_vars_added_after_render),
        cmocka_unit_test(test_map_sorted_and_nested),
        cmocka_unit_test(test_map_keys_added_after_render),
        cmocka_unit_test(test_map_kind_mismatch),
        cmocka_unit_test(test_map_huge),
        cmocka_unit_test(test_map_concurrent),
        cmocka_unit_test(test_func),
        cmocka_unit_test(test_hist),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_register_race),
        cmocka_unit_test(test_document_sorted),
        cmocka_unit_test(test_cmdline_redact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* vars/json.c - cd_vars_json: Go's expvar document.
 *
 * Go's expvarHandler writes "{\n", then `"name": value` for every var in
 * sorted order joined by ",\n", then "\n}\n"; each value is the var's
 * String(): Int as an integer, Float with strconv 'g' -1, String and Func
 * through json.Marshal (compact), Map as {"a": 1, "b": 2} with ", " and
 * ": " and sorted keys. We reproduce that byte for byte, with three
 * deliberate differences that keep the document valid JSON where Go's is
 * not: names and keys are JSON-escaped where Go uses %q, and a non-finite
 * Float renders as null where Go prints NaN or +Inf.
 *
 * Func values are jansson trees; we walk them ourselves instead of
 * json_dumps so their numbers and strings come out as Go's json.Marshal
 * writes them (0.1 rather than 0.10000000000000001).
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "base/buf.h"
#include "vars/gofloat.h"
#include "vars/registry.h"
#include "vars/types.h"
#include "cdebug/vars.h"

/* A jansson tree deeper than this renders null there: Func trees are
 * built by user code, and the walk must not exhaust a server thread's
 * stack on a cycle or a runaway nesting. */
#define JANSSON_MAX_DEPTH 256

/* Size of the last document: the next buffer starts that big, so a
 * steady-state render does one malloc and no realloc. */
static _Atomic size_t last_size = 16384;

/* Go's Float.String(); null for NaN and infinities (see above). */
static void put_go_float(cd__buf *b, double d)
{
    if (!isfinite(d)) {
        cd__buf_put(b, "null", 4);
        return;
    }
    char f[CD__FLOAT_BUF];
    cd__buf_put(b, f, cd__fmt_go_g(f, d));
}

/* json.Marshal of a jansson value: compact, object keys in insertion
 * order (a struct's field order in Go), numbers in encoding/json form. */
static void put_jansson(cd__buf *b, json_t *j, int depth)
{
    if (j == NULL || depth > JANSSON_MAX_DEPTH) {
        cd__buf_put(b, "null", 4);
        return;
    }
    switch (json_typeof(j)) {
    case JSON_OBJECT: {
        const char *k;
        json_t *v;
        bool first = true;
        cd__buf_putc(b, '{');
        json_object_foreach(j, k, v)
        {
            if (!first)
                cd__buf_putc(b, ',');
            first = false;
            cd__buf_json_str(b, k, strlen(k));
            cd__buf_putc(b, ':');
            put_jansson(b, v, depth + 1);
        }
        cd__buf_putc(b, '}');
        break;
    }
    case JSON_ARRAY: {
        cd__buf_putc(b, '[');
        size_t n = json_array_size(j);
        for (size_t i = 0; i < n; i++) {
            if (i > 0)
                cd__buf_putc(b, ',');
            put_jansson(b, json_array_get(j, i), depth + 1);
        }
        cd__buf_putc(b, ']');
        break;
    }
    case JSON_STRING:
        cd__buf_json_str(b, json_string_value(j), json_string_length(j));
        break;
    case JSON_INTEGER:
        cd__buf_i64(b, (int64_t)json_integer_value(j));
        break;
    case JSON_REAL: {
        char f[CD__FLOAT_BUF];
        cd__buf_put(b, f, cd__fmt_go_json(f, json_real_value(j)));
        break;
    }
    case JSON_TRUE:
        cd__buf_put(b, "true", 4);
        break;
    case JSON_FALSE:
        cd__buf_put(b, "false", 5);
        break;
    default:
        cd__buf_put(b, "null", 4);
        break;
    }
}

static void put_map(cd__buf *b, const struct cd_map *m);

/* A map entry's value, as its Go var's String(). */
static void put_entry(cd__buf *b, const cd__entry *e)
{
    switch (e->kind) {
    case CD__K_INT:
        cd__buf_i64(b, atomic_load_explicit(&((cd__entry *)e)->u.i.v, memory_order_relaxed));
        break;
    case CD__K_FLOAT:
        put_go_float(b, cd__float_load(&e->u.f));
        break;
    case CD__K_STRING:
        cd__string_json(b, &e->u.s);
        break;
    case CD__K_MAP:
        put_map(b, &e->u.m);
        break;
    default:
        cd__buf_put(b, "null", 4);
        break;
    }
}

/* Go's Map.String(): {"a": 1, "b": 2}, keys sorted. Nesting follows
 * cd_map_child, which can only build trees, so the recursion is bounded
 * by what the program built. */
static void put_map(cd__buf *b, const struct cd_map *m)
{
    size_t n;
    cd__entry **es = cd__map_sorted(m, &n);
    if (es == NULL) {
        cd__buf_fail(b);
        return;
    }
    cd__buf_putc(b, '{');
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            cd__buf_put(b, ", ", 2);
        cd__buf_json_key(b, es[i]->key, es[i]->keylen, es[i]->plain);
        cd__buf_put(b, ": ", 2);
        put_entry(b, es[i]);
    }
    cd__buf_putc(b, '}');
    free(es);
}

/* {"count": N, "sum": S, "p50": x, "p90": y, "p99": z, "buckets": {"le":
 * cumulative count, ..., "+Inf": N}} in Map.String's layout. */
static void put_hist(cd__buf *b, const struct cd_hist *h)
{
    cd__hist_snap s;
    cd__hist_read(h, &s);
    cd__buf_puts(b, "{\"count\": ");
    cd__buf_u64(b, s.total);
    cd__buf_puts(b, ", \"sum\": ");
    put_go_float(b, s.sum);
    static const struct {
        const char *key;
        double q;
    } qs[] = {{", \"p50\": ", 0.5}, {", \"p90\": ", 0.9}, {", \"p99\": ", 0.99}};
    for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
        cd__buf_puts(b, qs[i].key);
        put_go_float(b, cd__hist_quantile(&s, qs[i].q));
    }
    cd__buf_puts(b, ", \"buckets\": {");
    uint64_t cum = 0;
    for (size_t i = 0; i <= s.nbounds; i++) {
        cum += s.counts[i];
        if (i > 0)
            cd__buf_put(b, ", ", 2);
        if (i < s.nbounds) {
            char f[CD__FLOAT_BUF];
            size_t n = cd__fmt_go_g(f, s.bounds[i]);
            cd__buf_json_str(b, f, n);
        } else {
            cd__buf_put(b, "\"+Inf\"", 6);
        }
        cd__buf_put(b, ": ", 2);
        cd__buf_u64(b, cum);
    }
    cd__buf_puts(b, "}}");
}

/* One var's value. Func callbacks run here, outside any RCU read-side
 * section. */
static void put_var(cd__buf *b, cd__var *v)
{
    switch (v->kind) {
    case CD__K_INT:
        cd__buf_i64(b, cd_int_value(&v->u.i));
        break;
    case CD__K_FLOAT:
        put_go_float(b, cd__float_load(&v->u.f));
        break;
    case CD__K_STRING:
        cd__string_json(b, &v->u.s);
        break;
    case CD__K_MAP:
        put_map(b, &v->u.m);
        break;
    case CD__K_FUNC: {
        json_t *j = v->u.func.fn(v->u.func.arg);
        put_jansson(b, j, 0);
        json_decref(j); /* NULL-safe */
        break;
    }
    case CD__K_HIST:
        put_hist(b, &v->u.h);
        break;
    case CD__K_BUILTIN:
        v->u.builtin(b);
        break;
    }
}

char *cd_vars_json(void)
{
    size_t n;
    cd__var **vars = cd__vars_sorted(&n);
    if (vars == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    cd__buf b;
    cd__buf_init(&b, atomic_load_explicit(&last_size, memory_order_relaxed) + 1024);
    cd__buf_put(&b, "{\n", 2);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            cd__buf_put(&b, ",\n", 2);
        cd__buf_json_key(&b, vars[i]->name, vars[i]->namelen, vars[i]->plain);
        cd__buf_put(&b, ": ", 2);
        put_var(&b, vars[i]);
    }
    cd__buf_put(&b, "\n}\n", 3);
    free(vars);
    atomic_store_explicit(&last_size, b.len, memory_order_relaxed);
    char *doc = cd__buf_finish(&b);
    if (doc == NULL)
        errno = ENOMEM;
    return doc;
}

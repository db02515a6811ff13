/* tests/integration/prog_vars.c - helper for test_vars_schema.sh and
 * test_vars_prom.sh: publishes one var of every kind (with awkward names)
 * and prints a rendering.
 *
 *   prog_vars doc [ARGS...]   cd_vars_json() on stdout
 *   prog_vars prom            cd_vars_prometheus() on stdout
 *   prog_vars floats          reads "<hex bits> <go 'g'> <go json>" lines on
 *                             stdin (goexpvar floats) and checks that a Float
 *                             var renders as Go's 'g' and a Func's real as
 *                             Go's json.Marshal; prints mismatches, exits 1
 *                             on any
 *
 * Uses only the public API (it links the shared library).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cdebug/cdebug.h>
#include <cdebug/vars_json.h>

static json_t *func_obj(void *arg)
{
    (void)arg;
    return json_pack("{s:i, s:f, s:s, s:[b, n]}", "n", 7, "ratio", 0.25, "name", "<ok>", "list", 1);
}

static json_t *func_null(void *arg)
{
    (void)arg;
    return NULL;
}

static json_t *func_num(void *arg)
{
    return json_integer(*(int *)arg);
}

static double real_value;
static json_t *func_real(void *arg)
{
    (void)arg;
    return json_real(real_value);
}

/* One var of every kind, names chosen to stress escaping and sanitising. */
static void publish_all(void)
{
    static int answer = 42;
    cd_int_add(cd_int_new("requests"), 1234);
    cd_int_set(cd_int_new("Goroutines"), 12);
    cd_int_set(cd_int_new("queue.depth-now"), -3);
    cd_int_add(cd_int_new("bytesSentTotal"), 99);
    cd_int_add(cd_int_new("bytes_sent_total"), 1); /* collides with the previous */
    cd_float_set(cd_float_new("load"), 0.75);
    cd_float_set(cd_float_new("weird \"name\"\n\t\x01 \xff\xfe end"), 1e21);
    cd_string_set(cd_string_new("version"), "1.2.3 \"beta\"\nline2 \\ \xc3\xa9 \xff");
    cd_string_new("empty.string");

    cd_map *m = cd_map_new("http");
    cd_map_add(m, "GET", 10);
    cd_map_add(m, "POST", 5);
    cd_map_add(m, "we\"ird\nkey\\", 1);
    cd_map_add(m, "bad\xffutf8", 2);
    cd_map_add_float(m, "avg_seconds", 0.125);
    cd_map_set_string(m, "mode", "fast \"mode\"");
    cd_map *codes = cd_map_child(m, "codes");
    cd_map_add(codes, "200", 7);
    cd_map_add(codes, "404", 1);
    cd_map_add(cd_map_child(codes, "deep"), "x", 1);
    cd_map_new("empty_map");

    cd_func_new("func_obj", func_obj, NULL);
    cd_func_new("func_null", func_null, NULL);
    cd_func_new("func_num", func_num, &answer);

    const double bounds[] = {0.001, 0.01, 0.1, 1};
    cd_hist *h = cd_hist_new("latency", bounds, 4);
    /* Cumulative: le 0.001 -> 10, 0.01 -> 30, 0.1 -> 60, 1 -> 100, +Inf -> 101. */
    const struct {
        double v;
        int n;
    } obs[] = {{0.0005, 10}, {0.005, 20}, {0.05, 30}, {0.5, 40}, {5, 1}};
    for (size_t i = 0; i < sizeof obs / sizeof obs[0]; i++)
        for (int k = 0; k < obs[i].n; k++)
            cd_hist_observe(h, obs[i].v);
}

/* The value after `"name": ` on its own line of a rendering. */
static int extract(const char *doc, const char *name, char *out, size_t size)
{
    char key[64];
    snprintf(key, sizeof key, "\n\"%s\": ", name);
    const char *p = strstr(doc, key);
    if (p == NULL)
        return -1;
    p += strlen(key);
    size_t n = strcspn(p, ",\n");
    if (n >= size)
        return -1;
    memcpy(out, p, n);
    out[n] = '\0';
    return 0;
}

static int floats(void)
{
    cd_float *f = cd_float_new("f");
    cd_func_new("j", func_real, NULL);
    char line[256], g[64], js[64], got_g[64], got_j[64];
    uint64_t bits;
    long n = 0, bad = 0;
    while (fgets(line, sizeof line, stdin) != NULL) {
        if (sscanf(line, "%" SCNx64 " %63s %63s", &bits, g, js) != 3)
            continue;
        double d;
        memcpy(&d, &bits, sizeof d);
        cd_float_set(f, d);
        real_value = d;
        char *doc = cd_vars_json();
        if (doc == NULL || extract(doc, "f", got_g, sizeof got_g) != 0 ||
            extract(doc, "j", got_j, sizeof got_j) != 0) {
            fprintf(stderr, "render failed for %016" PRIx64 "\n", bits);
            return 1;
        }
        free(doc);
        n++;
        if (strcmp(g, got_g) != 0 || strcmp(js, got_j) != 0) {
            if (bad++ < 20)
                fprintf(stderr, "%016" PRIx64 ": go g=%s json=%s, cdebug g=%s json=%s\n", bits, g,
                        js, got_g, got_j);
        }
    }
    printf("%ld values, %ld mismatches\n", n, bad);
    return bad == 0 && n > 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: prog_vars doc|prom|floats\n");
        return 2;
    }
    char *out = NULL;
    if (strcmp(argv[1], "floats") == 0)
        return floats();
    publish_all();
    if (strcmp(argv[1], "doc") == 0)
        out = cd_vars_json();
    else if (strcmp(argv[1], "prom") == 0)
        out = cd_vars_prometheus();
    if (out == NULL)
        return 1;
    fputs(out, stdout);
    free(out);
    return 0;
}

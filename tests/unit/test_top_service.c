/* tests/unit/test_top_service.c - per-service state, restarts, CSV rows.
 *
 * Feeds HTTP results to a service by hand: the error texts users see (404,
 * other statuses, bodies that are not expvar JSON), sampling with current,
 * max and history, the restart marker (counters going backwards, cmdline
 * changes; an outage alone is not a restart), and the CSV recorder's
 * quoting and timestamps.
 */
#include <setjmp.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "viewer/cdebug-top/csv.h"
#include "viewer/cdebug-top/service.h"

#define URL "http://127.0.0.1:6060/debug/vars"

static const struct timespec t0 = {1700000000, 123456789};

typedef struct fixture {
    top_var *vars;
    size_t nvars;
    top_service svc;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    char err[128];
    assert_int_equal(
        top_vars_parse_list("requests,mem:memstats.Alloc,missing", &f->vars, &f->nvars, err,
                            sizeof(err)),
        0);
    assert_int_equal(top_service_init(&f->svc, "127.0.0.1:6060", URL, f->nvars), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    top_service_free(&f->svc);
    top_vars_free(f->vars, f->nvars);
    free(f);
    return 0;
}

/* A Go-shaped document with the given counters. */
static int feed(fixture *f, const char *cmd, long requests, long alloc, long numgc,
                long totalalloc)
{
    char body[512];
    snprintf(body, sizeof(body),
             "{\"cmdline\":[\"%s\",\"-x\"],\"memstats\":{\"Alloc\":%ld,\"NumGC\":%ld,"
             "\"TotalAlloc\":%ld,\"PauseTotalNs\":0},\"requests\":%ld}",
             cmd, alloc, numgc, totalalloc, requests);
    return top_service_apply_body(&f->svc, &t0, 200, body, strlen(body), f->vars, f->nvars);
}

static void test_http_errors(void **state)
{
    fixture *f = *state;
    top_service *s = &f->svc;

    assert_int_equal(s->status, TOP_SVC_WAITING);
    assert_int_equal(top_service_apply_body(s, &t0, 404, "404 page not found\n", 19, f->vars,
                                            f->nvars),
                     -EINVAL);
    assert_int_equal(s->status, TOP_SVC_FAILED);
    assert_string_equal(s->err, "vars not found at " URL);

    top_service_apply_body(s, &t0, 500, "", 0, f->vars, f->nvars);
    assert_string_equal(s->err, "HTTP 500 from " URL);
    top_service_apply_body(s, &t0, 401, "", 0, f->vars, f->nvars);
    assert_non_null(strstr(s->err, "CDEBUG_HTTP_TOKEN"));

    const char *html = "<html>hello</html>";
    top_service_apply_body(s, &t0, 200, html, strlen(html), f->vars, f->nvars);
    assert_true(strncmp(s->err, "invalid JSON at " URL ": ", strlen("invalid JSON at " URL ": ")) ==
                0);
    assert_non_null(strstr(s->err, "line 1"));

    top_service_apply_body(s, &t0, 200, "[1,2]", 5, f->vars, f->nvars);
    assert_string_equal(s->err, "invalid JSON at " URL ": not an expvar object");
    top_service_apply_body(s, &t0, 200, "{\"a\":", 5, f->vars, f->nvars);
    assert_int_equal(s->status, TOP_SVC_FAILED);

    assert_int_equal(s->polls, 6);
    assert_int_equal(s->failures, 6);
    /* every failed poll is a gap in every history, and values are n/a */
    for (size_t v = 0; v < f->nvars; v++) {
        assert_int_equal(s->series[v].cur.type, TOP_V_NA);
        assert_int_equal(s->series[v].hist.len, 6);
        assert_true(isnan(s->series[v].hist.v[0]));
    }
}

static void test_samples_max_history(void **state)
{
    fixture *f = *state;
    top_service *s = &f->svc;

    assert_int_equal(feed(f, "/usr/bin/app", 10, 5000, 1, 100), 0);
    assert_int_equal(s->status, TOP_SVC_OK);
    assert_string_equal(s->err, "");
    assert_string_equal(s->cmd, "app");
    assert_string_equal(s->cmdline, "/usr/bin/app -x");
    char title[128];
    assert_string_equal(top_service_title(s, title, sizeof(title)), "app (127.0.0.1:6060)");

    assert_int_equal(feed(f, "/usr/bin/app", 20, 9000, 2, 200), 0);
    assert_int_equal(feed(f, "/usr/bin/app", 30, 7000, 3, 300), 0);
    top_series *req = &s->series[0], *alloc = &s->series[1], *missing = &s->series[2];
    assert_int_equal(req->cur.i, 30);
    assert_int_equal(req->max.i, 30);
    assert_int_equal(alloc->cur.i, 7000);
    assert_int_equal(alloc->max.i, 9000);
    assert_int_equal(missing->cur.type, TOP_V_NA);
    assert_int_equal(missing->max.type, TOP_V_NA);
    assert_int_equal(req->hist.len, 3);
    assert_true(req->hist.v[2] == 30);
    assert_true(isnan(missing->hist.v[0]));
    assert_int_equal(s->restarts, 0);
    assert_false(s->restart_new);
}

static void test_restart_detection(void **state)
{
    fixture *f = *state;
    top_service *s = &f->svc;

    feed(f, "/app", 10, 5000, 5, 1000);
    feed(f, "/app", 20, 5000, 6, 2000);
    assert_int_equal(s->restarts, 0);

    /* NumGC went backwards: a new process behind the same port */
    feed(f, "/app", 1, 5000, 1, 3000);
    assert_int_equal(s->restarts, 1);
    assert_true(s->restart_new);
    assert_string_equal(s->restart_why, "memstats.NumGC went backwards (6 -> 1)");

    /* the marker is per poll; the count is sticky */
    feed(f, "/app", 2, 5000, 2, 3100);
    assert_false(s->restart_new);
    assert_int_equal(s->restarts, 1);

    /* TotalAlloc alone */
    feed(f, "/app", 3, 5000, 2, 50);
    assert_int_equal(s->restarts, 2);
    assert_string_equal(s->restart_why, "memstats.TotalAlloc went backwards (3100 -> 50)");

    /* an outage with growing counters afterwards is not a restart */
    top_service_fail(s, &t0, "connection refused");
    assert_int_equal(s->status, TOP_SVC_FAILED);
    feed(f, "/app", 9, 5000, 3, 60);
    assert_int_equal(s->status, TOP_SVC_OK);
    assert_int_equal(s->restarts, 2);

    /* a restart while unreachable is seen once it answers again */
    top_service_fail(s, &t0, "connection refused");
    feed(f, "/app", 1, 5000, 0, 10);
    assert_int_equal(s->restarts, 3);
    assert_true(s->restart_new);

    /* another program on the port: cmdline changed */
    feed(f, "/other", 100, 5000, 10, 100000);
    assert_int_equal(s->restarts, 4);
    assert_string_equal(s->restart_why, "cmdline changed");
    assert_string_equal(s->cmd, "other");
}

static void test_restart_uptime_no_memstats(void **state)
{
    fixture *f = *state;
    top_service *s = &f->svc;
    const char *a = "{\"uptime\": 100}", *b = "{\"uptime\": 101}", *c = "{\"uptime\": 2}";

    top_service_apply_body(s, &t0, 200, a, strlen(a), f->vars, f->nvars);
    top_service_apply_body(s, &t0, 200, b, strlen(b), f->vars, f->nvars);
    assert_int_equal(s->restarts, 0);
    top_service_apply_body(s, &t0, 200, c, strlen(c), f->vars, f->nvars);
    assert_int_equal(s->restarts, 1);
    assert_string_equal(s->restart_why, "uptime went backwards (101 -> 2)");
    /* no cmdline: the name stays host:port */
    char title[128];
    assert_string_equal(top_service_title(s, title, sizeof(title)), "127.0.0.1:6060");
}

static void test_csv(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    top_csv c;

    assert_int_equal(top_csv_attach(&c, m), 0);
    top_csv_row(&c, &t0, "127.0.0.1:6060", "requests", "17");
    top_csv_row(&c, &t0, "h:1", "a,b", "say \"hi\"");
    top_csv_row(&c, &t0, "h:1", "x", " padded");
    top_csv_row(&c, &t0, "h:1", "line", "1\n2");
    top_csv_row(&c, &t0, "h:1", TOP_CSV_STATUS_VAR, "failed: connection refused");
    top_csv_row(&c, &t0, "h:1", "missing", "");
    /* what a hostile service sends: escaped, formulas defused, numbers kept */
    top_csv_row(&c, &t0, "h:1", "neg", "-3");
    top_csv_row(&c, &t0, "h:1", "=cmd", "=HYPERLINK(\"http://x/\")");
    top_csv_row(&c, &t0, "h:1", "osc", "\x1b]52;c;eA==\x07\r");
    assert_int_equal(top_csv_flush(&c), 0);
    assert_int_equal(c.rows, 9);
    assert_string_equal(buf, "timestamp,service,var,value\n"
                             "2023-11-14T22:13:20.123Z,127.0.0.1:6060,requests,17\n"
                             "2023-11-14T22:13:20.123Z,h:1,\"a,b\",\"say \"\"hi\"\"\"\n"
                             "2023-11-14T22:13:20.123Z,h:1,x,\" padded\"\n"
                             "2023-11-14T22:13:20.123Z,h:1,line,1\\n2\n"
                             "2023-11-14T22:13:20.123Z,h:1,(status),failed: connection refused\n"
                             "2023-11-14T22:13:20.123Z,h:1,missing,\n"
                             "2023-11-14T22:13:20.123Z,h:1,neg,-3\n"
                             "2023-11-14T22:13:20.123Z,h:1,'=cmd,\"'=HYPERLINK(\"\"http://x/\"\")\"\n"
                             "2023-11-14T22:13:20.123Z,h:1,osc,\\x1b]52;c;eA==\\a\\r\n");
    assert_int_equal(top_csv_close(&c), 0);
    free(buf);

    /* A full disk: the error is kept, later rows are dropped, nothing blocks. */
    FILE *full = fopen("/dev/full", "w");
    if (full != NULL) {
        setvbuf(full, NULL, _IONBF, 0);
        assert_int_equal(top_csv_attach(&c, full), -ENOSPC);
        top_csv_row(&c, &t0, "h:1", "a", "1");
        assert_int_equal(c.rows, 0);
        assert_int_equal(top_csv_close(&c), -ENOSPC);
    }

    assert_true(top_csv_open(&c, "/nonexistent-dir/run.csv") == -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_http_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_samples_max_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_detection, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_uptime_no_memstats, setup, teardown),
        cmocka_unit_test(test_csv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* tests/unit/test_http_router.c - the route table (http/router.c) and the
 * bearer-token rules (http/auth.c), through the real server.
 *
 * The built-in routes are covered by tests/integration/test_http.sh; this
 * file registers routes of its own the way later modules will (a prefix
 * subtree like /debug/pprof/, a POST route, query parameters) and talks to
 * the server with raw HTTP/1.1 on a loopback socket, so every byte of the
 * request is under the test's control.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cdebug/http.h"
#include "cdebug/runtime.h"
#include "http/auth.h"
#include "http/response.h"
#include "http/router.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* ---- a raw HTTP client ---------------------------------------------------- */

typedef struct reply {
    int status;
    char head[2048]; /* status line and headers */
    char body[2048];
} reply;

/* Sends req (which should say "Connection: close") to 127.0.0.1:port and
 * reads the whole answer. */
static void exchange(int port, const char *req, reply *r)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct timeval tv = {.tv_sec = 10};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof a), 0);
    size_t n = strlen(req);
    assert_int_equal(write(fd, req, n), (ssize_t)n);

    static char buf[8192];
    size_t len = 0;
    ssize_t k;
    while (len < sizeof buf - 1 && (k = read(fd, buf + len, sizeof buf - 1 - len)) > 0)
        len += (size_t)k;
    buf[len] = '\0';
    close(fd);

    memset(r, 0, sizeof *r);
    char *sep = strstr(buf, "\r\n\r\n");
    assert_non_null(sep);
    size_t hl = (size_t)(sep - buf);
    assert_true(hl < sizeof r->head);
    memcpy(r->head, buf, hl);
    snprintf(r->body, sizeof r->body, "%s", sep + 4);
    assert_int_equal(sscanf(buf, "HTTP/1.1 %d", &r->status), 1);
}

static void get(int port, const char *method, const char *path, const char *extra, reply *r)
{
    char req[1024];
    snprintf(req, sizeof req,
             "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n%s\r\n", method, path,
             extra != NULL ? extra : "");
    exchange(port, req, r);
}

/* ---- test routes -------------------------------------------------------- */

static enum MHD_Result say(const cd__http_req *req, void *ctx)
{
    return cd__http_reply_text(req->conn, MHD_HTTP_OK, ctx);
}

static enum MHD_Result echo_query(const cd__http_req *req, void *ctx)
{
    (void)ctx;
    const char *v = cd__http_query(req, "seconds");
    char *body;
    if (asprintf(&body, "seconds=%s url=%s head=%d\n", v != NULL ? v : "(none)", req->url,
                 req->head) < 0)
        return MHD_NO;
    return cd__http_reply_owned(req->conn, MHD_HTTP_OK, CD__HTTP_TEXT_PLAIN, body, strlen(body));
}

static int port;

static int setup_server(void **state)
{
    (void)state;
    static bool routes_done;
    if (!routes_done) {
        assert_int_equal(cd__http_route("/t/pre/", true, say, "pre\n"), 0);
        assert_int_equal(cd__http_route("/t/pre/deep/", true, say, "deep\n"), 0);
        assert_int_equal(cd__http_route("/t/pre/exact", false, say, "exact\n"), 0);
        assert_int_equal(cd__http_route_methods("/t/post", false, CD__HTTP_POST, say, "post\n"),
                         0);
        assert_int_equal(cd__http_route("/t/query", false, echo_query, NULL), 0);
        routes_done = true;
    }
    cd_http_opts o = {.addr = "127.0.0.1:0", .token = ""};
    assert_int_equal(cd_http_start_opts(&o), 0);
    port = cd_http_port();
    assert_true(port > 0);
    return 0;
}

static int teardown_server(void **state)
{
    (void)state;
    cd_http_stop();
    return 0;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_register_errors(void **state)
{
    (void)state;
    assert_int_equal(cd__http_route(NULL, false, say, NULL), -EINVAL);
    assert_int_equal(cd__http_route("no-slash", false, say, NULL), -EINVAL);
    assert_int_equal(cd__http_route("/t/x", false, NULL, NULL), -EINVAL);
    assert_int_equal(cd__http_route_methods("/t/x", false, 0, say, NULL), -EINVAL);
    assert_int_equal(cd__http_route_methods("/t/x", false, 1u << 20, say, NULL), -EINVAL);
    /* Built-in routes exist once init/ registered them; re-adding fails. */
    assert_int_equal(cd_init(), 0);
    assert_int_equal(cd__http_route("/debug/vars", false, say, NULL), -EEXIST);
    assert_int_equal(cd__http_route("/metrics", false, say, NULL), -EEXIST);
}

static void test_exists(void **state)
{
    (void)state;
    static const struct {
        const char *url;
        bool want;
    } cases[] = {
        {"/debug/vars", true},    {"/metrics", true},         {"/debug/vars/", false},
        {"/debug/var", false},    {"/debug/varsx", false},    {"/", false},
        {"", false},              {"/t/pre/", true},          {"/t/pre/a/b", true},
        {"/t/pre", false},        {"/t/pre/deep/x", true},    {"/t/post", true},
        {"/T/PRE/", false},       {"/metrics?x=1", false}, /* MHD strips queries first */
    };
    for (size_t i = 0; i < NELEM(cases); i++)
        if (cd_http_is_route(cases[i].url) != cases[i].want)
            fail_msg("cd_http_is_route(\"%s\") != %d", cases[i].url, cases[i].want);
    assert_false(cd_http_is_route(NULL));
}

static void test_prefix_dispatch(void **state)
{
    (void)state;
    reply r;
    get(port, "GET", "/t/pre/anything", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "pre\n");
    get(port, "GET", "/t/pre/deep/x", NULL, &r); /* longest prefix wins */
    assert_string_equal(r.body, "deep\n");
    get(port, "GET", "/t/pre/exact", NULL, &r); /* exact beats prefix */
    assert_string_equal(r.body, "exact\n");
    get(port, "GET", "/t/pre", NULL, &r);
    assert_int_equal(r.status, 404);
    assert_string_equal(r.body, "404 page not found\n");
}

static void test_methods(void **state)
{
    (void)state;
    reply r;
    get(port, "POST", "/t/post", "Content-Length: 3\r\n\r\nabc", &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "post\n");
    get(port, "GET", "/t/post", NULL, &r);
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.head, "\r\nAllow: POST"));
    get(port, "DELETE", "/t/pre/x", NULL, &r);
    assert_int_equal(r.status, 405);
    assert_non_null(strstr(r.head, "\r\nAllow: GET, HEAD"));
    assert_string_equal(r.body, "Method Not Allowed\n");
    get(port, "BREW", "/t/pre/x", NULL, &r);
    assert_int_equal(r.status, 405);
    get(port, "HEAD", "/t/query", NULL, &r);
    assert_int_equal(r.status, 200);
    assert_string_equal(r.body, "");
    assert_non_null(strstr(r.head, "\r\nContent-Length: "));
}

static void test_query(void **state)
{
    (void)state;
    reply r;
    get(port, "GET", "/t/query?seconds=5&x=y", NULL, &r);
    assert_string_equal(r.body, "seconds=5 url=/t/query head=0\n");
    get(port, "GET", "/t/query?seconds=%35%30", NULL, &r); /* percent-decoded */
    assert_string_equal(r.body, "seconds=50 url=/t/query head=0\n");
    get(port, "GET", "/t/query", NULL, &r);
    assert_string_equal(r.body, "seconds=(none) url=/t/query head=0\n");
}

static void test_token_valid(void **state)
{
    (void)state;
    assert_false(cd__http_token_valid(NULL));
    assert_false(cd__http_token_valid(""));
    assert_false(cd__http_token_valid("a b"));
    assert_false(cd__http_token_valid("a\tb"));
    assert_false(cd__http_token_valid("a\x7f"));
    assert_false(cd__http_token_valid("caf\xc3\xa9"));
    assert_true(cd__http_token_valid("abc-._~+/=XYZ09"));
    char big[CD__HTTP_TOKEN_MAX + 2];
    memset(big, 'k', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_false(cd__http_token_valid(big));
    big[CD__HTTP_TOKEN_MAX] = '\0';
    assert_true(cd__http_token_valid(big));
}

static void test_token(void **state)
{
    (void)state;
    cd_http_stop();
    cd_http_opts o = {.addr = "127.0.0.1:0", .token = "s3cr3t"};
    assert_int_equal(cd_http_start_opts(&o), 0);
    int p = cd_http_port();

    static const struct {
        const char *hdr;
        int status;
    } cases[] = {
        {NULL, 401},
        {"Authorization: Bearer s3cr3t\r\n", 200},
        {"Authorization: bearer s3cr3t\r\n", 200}, /* scheme is case-insensitive */
        {"Authorization: BEARER   s3cr3t\r\n", 200},
        {"Authorization: Bearer s3cr3t  \r\n", 200},
        {"Authorization: Bearer s3cr3\r\n", 401},
        {"Authorization: Bearer s3cr3tt\r\n", 401},
        {"Authorization: Bearer S3CR3T\r\n", 401},
        {"Authorization: Bearer\r\n", 401},
        {"Authorization: Bearers3cr3t\r\n", 401},
        {"Authorization: Basic s3cr3t\r\n", 401},
        {"Authorization: s3cr3t\r\n", 401},
        {"X-Token: s3cr3t\r\n", 401},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        reply r;
        get(p, "GET", "/t/pre/x", cases[i].hdr, &r);
        if (r.status != cases[i].status)
            fail_msg("header \"%s\": status %d, want %d", cases[i].hdr ? cases[i].hdr : "(none)",
                     r.status, cases[i].status);
        if (r.status == 401) {
            assert_non_null(strstr(r.head, "\r\nWWW-Authenticate: Bearer realm=\"cdebug\""));
            assert_string_equal(r.body, "Unauthorized\n");
        }
    }
    /* Without the token even a 404 or 405 is a 401: nothing is revealed. */
    reply r;
    get(p, "GET", "/nope", NULL, &r);
    assert_int_equal(r.status, 401);
    get(p, "POST", "/debug/vars", NULL, &r);
    assert_int_equal(r.status, 401);
    get(p, "GET", "/nope", "Authorization: Bearer s3cr3t\r\n", &r);
    assert_int_equal(r.status, 404);

    /* An unusable token refuses to start rather than guard nothing. */
    cd_http_stop();
    cd_http_opts bad = {.addr = "127.0.0.1:0", .token = "has space"};
    assert_int_equal(cd_http_start_opts(&bad), -EINVAL);
    assert_int_equal(cd_http_port(), -ENOENT);
    assert_int_equal(cd_http_start_opts(&(cd_http_opts){.addr = "127.0.0.1:0", .token = ""}), 0);
}

/* Last: fills the table. */
static void test_table_full(void **state)
{
    (void)state;
    static char paths[CD__HTTP_ROUTES_MAX][16];
    int rc = 0, added = 0;
    for (int i = 0; i < CD__HTTP_ROUTES_MAX && rc == 0; i++) {
        snprintf(paths[i], sizeof paths[i], "/t/fill/%d", i);
        rc = cd__http_route(paths[i], false, say, "fill\n");
        if (rc == 0)
            added++;
    }
    assert_int_equal(rc, -ENOMEM);
    assert_true(added > 0);
    reply r;
    get(port, "GET", "/t/fill/0", NULL, &r);
    assert_string_equal(r.body, "fill\n");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_register_errors),
        cmocka_unit_test(test_token_valid),
        cmocka_unit_test_setup_teardown(test_exists, setup_server, teardown_server),
        cmocka_unit_test_setup_teardown(test_prefix_dispatch, setup_server, teardown_server),
        cmocka_unit_test_setup_teardown(test_methods, setup_server, teardown_server),
        cmocka_unit_test_setup_teardown(test_query, setup_server, teardown_server),
        cmocka_unit_test_setup_teardown(test_token, setup_server, teardown_server),
        cmocka_unit_test_setup_teardown(test_table_full, setup_server, teardown_server),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* tests/unit/test_http_addr.c - "host:port" parsing, resolution and the
 * loopback test of the debug server (http/addr.c).
 *
 * The parser is pure, so most cases are a table of strings. Resolution is
 * tested with literals and "localhost" (always in /etc/hosts); a name under
 * the reserved .invalid TLD must fail to resolve (RFC 2606).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "http/addr.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static void test_parse_good(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        cd__http_host_kind kind;
        const char *host;
        unsigned port;
    } cases[] = {
        {"127.0.0.1:6060", CD__HTTP_HOST_IPV4, "127.0.0.1", 6060},
        {"127.0.0.1:0", CD__HTTP_HOST_IPV4, "127.0.0.1", 0},
        {"0.0.0.0:65535", CD__HTTP_HOST_IPV4, "0.0.0.0", 65535},
        {"10.1.2.3:08080", CD__HTTP_HOST_IPV4, "10.1.2.3", 8080}, /* leading zeros: port only */
        {"localhost:6060", CD__HTTP_HOST_NAME, "localhost", 6060},
        {"localhost.:1", CD__HTTP_HOST_NAME, "localhost.", 1},
        {"my-host.example.com:80", CD__HTTP_HOST_NAME, "my-host.example.com", 80},
        {"1host:80", CD__HTTP_HOST_NAME, "1host", 80},
        {"[::1]:6060", CD__HTTP_HOST_IPV6, "::1", 6060},
        {"[::]:0", CD__HTTP_HOST_IPV6, "::", 0},
        {"[fe80::1:2]:7", CD__HTTP_HOST_IPV6, "fe80::1:2", 7},
        {"[::ffff:127.0.0.1]:9", CD__HTTP_HOST_IPV6, "::ffff:127.0.0.1", 9},
        {":6060", CD__HTTP_HOST_ANY, "", 6060},
        {":0", CD__HTTP_HOST_ANY, "", 0},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        cd__http_hostport hp;
        int rc = cd__http_addr_parse(cases[i].in, &hp);
        if (rc != 0)
            fail_msg("parse(\"%s\") = %d, want 0", cases[i].in, rc);
        assert_int_equal(hp.kind, cases[i].kind);
        assert_string_equal(hp.host, cases[i].host);
        assert_int_equal(hp.port, cases[i].port);
    }
}

static void test_parse_bad(void **state)
{
    (void)state;
    static const char *const cases[] = {
        "",
        "6060",                /* no colon */
        "localhost",           /* no port */
        "127.0.0.1:",          /* empty port */
        "127.0.0.1:+80",       /* sign */
        "127.0.0.1:-1",        /* sign */
        "127.0.0.1: 80",       /* space */
        "127.0.0.1:80 ",       /* trailing space */
        "127.0.0.1:65536",     /* out of range */
        "127.0.0.1:99999999999999999999", /* overflow */
        "127.0.0.1:0x50",      /* hex */
        "127.0.0.1:http",      /* service names are not ports */
        "1.2.3:80",            /* numeric but not a dotted quad */
        "1.2.3.4.5:80",
        "256.0.0.1:80",
        "01.2.3.4:80",         /* inet_pton refuses leading zeros (octal ambiguity) */
        "::1:6060",            /* IPv6 without brackets */
        "[::1]6060",           /* no colon after ] */
        "[::1]",               /* no port */
        "[::1]:",              /* empty port */
        "[]:6060",             /* empty brackets */
        "[::1%lo]:6060",       /* zones are not accepted */
        "[localhost]:6060",    /* names do not go in brackets */
        "[127.0.0.1]:6060",
        "[::1:6060",           /* unclosed */
        "local host:6060",     /* space in name */
        "local_host:6060",     /* underscore */
        "-host:6060",          /* label starts with '-' */
        "host-:6060",          /* label ends with '-' */
        ".host:6060",          /* empty label */
        "a..b:6060",           /* empty label */
        "h\xc3\xa9te:6060",    /* non-ASCII */
        "host\n:6060",         /* control character */
        "http://127.0.0.1:6060", /* URLs are not addresses */
        "127.0.0.1:6060/",
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        cd__http_hostport hp;
        int rc = cd__http_addr_parse(cases[i], &hp);
        if (rc != -EINVAL)
            fail_msg("parse(\"%s\") = %d, want -EINVAL", cases[i], rc);
    }
    cd__http_hostport hp;
    assert_int_equal(cd__http_addr_parse(NULL, &hp), -EINVAL);
    assert_int_equal(cd__http_addr_parse("127.0.0.1:1", NULL), -EINVAL);
}

/* Names: 63-byte labels and 253-byte names are the limits. */
static void test_parse_limits(void **state)
{
    (void)state;
    char buf[400];
    cd__http_hostport hp;

    memset(buf, 'a', 63);
    strcpy(buf + 63, ":1");
    assert_int_equal(cd__http_addr_parse(buf, &hp), 0);
    memset(buf, 'a', 64);
    strcpy(buf + 64, ":1");
    assert_int_equal(cd__http_addr_parse(buf, &hp), -EINVAL);

    /* 4 labels of 63 + 3 dots = 255 bytes: too long; 253 is fine. */
    size_t n = 0;
    for (int l = 0; l < 4; l++) {
        if (l > 0)
            buf[n++] = '.';
        memset(buf + n, 'b', 63);
        n += 63;
    }
    strcpy(buf + n, ":1");
    assert_int_equal(cd__http_addr_parse(buf, &hp), -EINVAL);
    strcpy(buf + 253, ":1");
    assert_int_equal(cd__http_addr_parse(buf, &hp), 0);

    /* Whole text longer than CD__HTTP_ADDR_TEXT_MAX. */
    memset(buf, '1', sizeof buf - 1);
    buf[sizeof buf - 1] = '\0';
    buf[0] = ':';
    assert_int_equal(cd__http_addr_parse(buf, &hp), -EINVAL);
}

static void test_resolve_literals(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int family;
        bool loopback;
        const char *shown;
    } cases[] = {
        {"127.0.0.1:6060", AF_INET, true, "127.0.0.1:6060"},
        {"127.255.255.254:1", AF_INET, true, "127.255.255.254:1"},
        {"128.0.0.1:1", AF_INET, false, "128.0.0.1:1"},
        {"0.0.0.0:0", AF_INET, false, "0.0.0.0:0"},
        {":6060", AF_INET, false, "0.0.0.0:6060"},
        {"10.1.2.3:80", AF_INET, false, "10.1.2.3:80"},
        {"[::1]:6060", AF_INET6, true, "[::1]:6060"},
        {"[::]:6060", AF_INET6, false, "[::]:6060"},
        {"[::ffff:127.0.0.1]:1", AF_INET6, true, "[::ffff:127.0.0.1]:1"},
        {"[::ffff:10.0.0.1]:1", AF_INET6, false, "[::ffff:10.0.0.1]:1"},
        {"[::2]:1", AF_INET6, false, "[::2]:1"},
        {"localhost:0", AF_INET, true, "127.0.0.1:0"},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        cd__http_sockaddr a;
        char why[256] = "";
        int rc = cd__http_addr_resolve(cases[i].in, &a, why, sizeof why);
        if (rc != 0)
            fail_msg("resolve(\"%s\") = %d (%s), want 0", cases[i].in, rc, why);
        assert_int_equal(a.family, cases[i].family);
        if (a.loopback != cases[i].loopback)
            fail_msg("resolve(\"%s\"): loopback %d, want %d", cases[i].in, a.loopback,
                     cases[i].loopback);
        char shown[64];
        cd__http_addr_format((const struct sockaddr *)&a.ss, shown, sizeof shown);
        assert_string_equal(shown, cases[i].shown);
        assert_int_equal(a.len, a.family == AF_INET ? sizeof(struct sockaddr_in)
                                                    : sizeof(struct sockaddr_in6));
    }
}

static void test_resolve_errors(void **state)
{
    (void)state;
    cd__http_sockaddr a;
    char why[256] = "";
    assert_int_equal(cd__http_addr_resolve("nope", &a, why, sizeof why), -EINVAL);
    assert_non_null(strstr(why, "malformed address"));

    why[0] = '\0';
    int rc = cd__http_addr_resolve("no-such-host.invalid:80", &a, why, sizeof why);
    assert_int_equal(rc, -EADDRNOTAVAIL);
    assert_non_null(strstr(why, "cannot resolve \"no-such-host.invalid\""));

    /* why may be NULL. */
    assert_int_equal(cd__http_addr_resolve("x:", &a, NULL, 0), -EINVAL);
}

static void test_is_loopback(void **state)
{
    (void)state;
    struct sockaddr_in in = {.sin_family = AF_INET};
    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};

    inet_pton(AF_INET, "127.0.0.1", &in.sin_addr);
    assert_true(cd__http_addr_is_loopback((struct sockaddr *)&in));
    inet_pton(AF_INET, "126.255.255.255", &in.sin_addr);
    assert_false(cd__http_addr_is_loopback((struct sockaddr *)&in));
    inet_pton(AF_INET6, "::1", &in6.sin6_addr);
    assert_true(cd__http_addr_is_loopback((struct sockaddr *)&in6));
    inet_pton(AF_INET6, "::ffff:127.1.2.3", &in6.sin6_addr);
    assert_true(cd__http_addr_is_loopback((struct sockaddr *)&in6));
    inet_pton(AF_INET6, "::127.0.0.1", &in6.sin6_addr); /* deprecated v4-compatible: no */
    assert_false(cd__http_addr_is_loopback((struct sockaddr *)&in6));
    struct sockaddr other = {.sa_family = AF_UNIX};
    assert_false(cd__http_addr_is_loopback(&other));
    assert_false(cd__http_addr_is_loopback(NULL));
}

/* Host header values: what names a loopback host (DNS rebinding guard). */
static void test_host_is_loopback(void **state)
{
    (void)state;
    static const char *const yes[] = {
        "localhost",       "LOCALHOST",    "localhost:6060",    "localhost:",
        "127.0.0.1",       "127.0.0.1:80", "127.255.255.254",   "[::1]",
        "[::1]:6060",      "[::ffff:127.0.0.1]:1",
    };
    static const char *const no[] = {
        "",                    "x",                   "attacker.example",   "attacker.example:6060",
        "localhost.",          "foo.localhost",       "localhost.attacker", "127.0.0.1.attacker.example",
        "10.0.0.1",            "0.0.0.0",             "128.0.0.1",          "127.0.0.256",
        "127.1",               "0x7f.0.0.1",          "0177.0.0.1",         "+127.0.0.1",
        " 127.0.0.1",          "127.0.0.1 ",          "127.0.0.1:x",        "127.0.0.1:123456",
        "127.0.0.1:80:80",     "[::1",                "[::1]x",             "[::]:80",
        "[::2]",               "::1",                 "[127.0.0.1]",        "localhost:-1",
        "[::ffff:10.0.0.1]",   "local\x00host",
    };
    for (size_t i = 0; i < NELEM(yes); i++)
        if (!cd__http_host_is_loopback(yes[i]))
            fail_msg("Host \"%s\" should be loopback", yes[i]);
    for (size_t i = 0; i < NELEM(no); i++)
        if (cd__http_host_is_loopback(no[i]))
            fail_msg("Host \"%s\" should not be loopback", no[i]);
    assert_false(cd__http_host_is_loopback(NULL));
    char big[300];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_false(cd__http_host_is_loopback(big));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),      cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_parse_limits),    cmocka_unit_test(test_resolve_literals),
        cmocka_unit_test(test_resolve_errors),  cmocka_unit_test(test_is_loopback),
        cmocka_unit_test(test_host_is_loopback),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

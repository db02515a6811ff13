/* tests/unit/test_cmdline.c - the redaction of secret values in the
 * published command line (vars/cmdline.c).
 *
 * cd__cmdline_redact is pure: a table of argument vectors and what they
 * must become covers each form (--name=value with every keyword, mixed
 * case, --name value pairs, keywords inside longer names, NAME=value,
 * URL user info, "--"), then generated ones (very long arguments, every
 * byte value). The last test drives the mode switch of the public API;
 * test_cmdline.sh checks the two HTTP routes on a real program.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cdebug/vars.h"
#include "base/buf.h"
#include "vars/cmdline.h"
#include "vars/registry.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define MAXARGS  8

/* Joins argv (NULL-terminated) the way /proc/self/cmdline holds it. */
static char *join(const char *const *argv, size_t *len)
{
    size_t n = 0;
    for (size_t i = 0; argv[i] != NULL; i++)
        n += strlen(argv[i]) + 1;
    char *p = malloc(n + 1);
    assert_non_null(p);
    size_t off = 0;
    for (size_t i = 0; argv[i] != NULL; i++) {
        size_t k = strlen(argv[i]) + 1;
        memcpy(p + off, argv[i], k);
        off += k;
    }
    *len = n;
    return p;
}

/* Runs the redaction over in[0..len) and checks the result is want
 * (NULL-terminated), argument by argument, with a message naming the
 * case and the argument. */
static void expect(const char *what, const char *in, size_t len, const char *const *want)
{
    cd__buf b;
    cd__buf_init(&b, 0);
    cd__cmdline_redact(in, len, &b);
    assert_false(b.oom);
    size_t wlen;
    char *w = join(want, &wlen);
    if (b.len != wlen || (wlen > 0 && memcmp(b.p, w, wlen) != 0)) {
        size_t off = 0;
        for (size_t i = 0; off < b.len || want[i] != NULL; i++) {
            const char *got = off < b.len ? b.p + off : "(missing)";
            size_t glen = off < b.len ? strnlen(got, b.len - off) : 9;
            if (want[i] == NULL || glen != strlen(want[i]) || memcmp(got, want[i], glen) != 0)
                fail_msg("%s: argument %zu is \"%.*s\", want \"%s\"", what, i,
                         glen > 200 ? 200 : (int)glen, got, want[i] != NULL ? want[i] : "(none)");
            off += glen + 1;
        }
        fail_msg("%s: %zu bytes, want %zu", what, b.len, wlen);
    }
    free(w);
    cd__buf_free(&b);
}

static const struct {
    const char *what;
    const char *in[MAXARGS], *want[MAXARGS];
} rows[] = {
    /* --name=value, each keyword */
    {"password", {"p", "--password=hunter2"}, {"p", "--password=xxxxx"}},
    {"passwd", {"p", "--passwd=hunter2"}, {"p", "--passwd=xxxxx"}},
    {"secret", {"p", "--secret=s"}, {"p", "--secret=xxxxx"}},
    {"token", {"p", "--token=t"}, {"p", "--token=xxxxx"}},
    {"key", {"p", "--key=k"}, {"p", "--key=xxxxx"}},
    {"credential", {"p", "--credential=c"}, {"p", "--credential=xxxxx"}},
    {"credentials", {"p", "--credentials=c"}, {"p", "--credentials=xxxxx"}},
    {"one dash", {"p", "-password=x"}, {"p", "-password=xxxxx"}},
    {"three dashes", {"p", "---token=x"}, {"p", "---token=xxxxx"}},
    {"value with =", {"p", "--password=a=b", "x"}, {"p", "--password=xxxxx", "x"}},
    {"java -D", {"p", "-Ddb.password=pw"}, {"p", "-Ddb.password=xxxxx"}},
    /* case */
    {"mixed case",
     {"p", "--PassWord=x", "-API_TOKEN=y", "--Secret=z"},
     {"p", "--PassWord=xxxxx", "-API_TOKEN=xxxxx", "--Secret=xxxxx"}},
    {"upper credential", {"p", "--GIT-CREDENTIAL=c"}, {"p", "--GIT-CREDENTIAL=xxxxx"}},
    /* --name value */
    {"pair", {"p", "--token", "abc", "next"}, {"p", "--token", "xxxxx", "next"}},
    {"pair, one dash", {"p", "-password", "abc", "def"}, {"p", "-password", "xxxxx", "def"}},
    {"pair, value like a flag", {"p", "--token", "-x", "-v"}, {"p", "--token", "xxxxx", "-v"}},
    {"pair, value is a URL", {"p", "--secret", "https://u:p@h/"}, {"p", "--secret", "xxxxx"}},
    {"pair, empty value", {"p", "--token", "", "x"}, {"p", "--token", "", "x"}},
    {"two pairs", {"p", "--key", "a", "--token", "b"}, {"p", "--key", "xxxxx", "--token", "xxxxx"}},
    {"pair value not a flag",
     {"p", "--token", "--password=x", "y"},
     {"p", "--token", "xxxxx", "y"}},
    /* a boolean flag cannot be told from one that takes a value */
    {"boolean flag", {"p", "--no-key-check", "--verbose"}, {"p", "--no-key-check", "xxxxx"}},
    /* a keyword inside a longer name */
    {"api-key", {"p", "--api-key=abc"}, {"p", "--api-key=xxxxx"}},
    {"keyfile (names a file, but contains key)",
     {"p", "--keyfile=/etc/k.pem"},
     {"p", "--keyfile=xxxxx"}},
    {"keyfile pair", {"p", "--keyfile", "/etc/k.pem"}, {"p", "--keyfile", "xxxxx"}},
    {"monkey", {"p", "--monkey=banana"}, {"p", "--monkey=xxxxx"}},
    {"keyword in the value only", {"p", "--mode=token"}, {"p", "--mode=token"}},
    /* no value */
    {"flag last", {"p", "--token"}, {"p", "--token"}},
    {"empty value", {"p", "--token=", "x"}, {"p", "--token=", "x"}},
    /* end of options */
    {"-- then flag", {"p", "--", "--password=x"}, {"p", "--", "--password=xxxxx"}},
    {"-- then words", {"p", "-v", "--", "x", "y"}, {"p", "-v", "--", "x", "y"}},
    {"-- as a value", {"p", "--token", "--", "x"}, {"p", "--token", "xxxxx", "x"}},
    {"- alone", {"p", "-", "--key=-"}, {"p", "-", "--key=xxxxx"}},
    /* NAME=value */
    {"env PASSWORD", {"p", "PASSWORD=x"}, {"p", "PASSWORD=xxxxx"}},
    {"env AWS", {"p", "AWS_SECRET_ACCESS_KEY=abc/def"}, {"p", "AWS_SECRET_ACCESS_KEY=xxxxx"}},
    {"dotted name",
     {"p", "db.password=pw", "api-key=k"},
     {"p", "db.password=xxxxx", "api-key=xxxxx"}},
    {"env not secret",
     {"p", "PATH=/bin:/usr/bin", "LANG=C"},
     {"p", "PATH=/bin:/usr/bin", "LANG=C"}},
    {"env empty value", {"p", "TOKEN="}, {"p", "TOKEN="}},
    {"not a name", {"p", "my key=x", "=token", "a/key=b"}, {"p", "my key=x", "=token", "a/key=b"}},
    {"assignment in a flag value",
     {"p", "--set=db.password=pw", "--env", "API_KEY=abc"},
     {"p", "--set=db.password=xxxxx", "--env", "API_KEY=xxxxx"}},
    {"docker -e", {"p", "-e", "GITHUB_TOKEN=ghp_x"}, {"p", "-e", "GITHUB_TOKEN=xxxxx"}},
    /* URL user info: Go's url.URL.Redacted() */
    {"url user:pass", {"p", "https://user:pass@host/path"}, {"p", "https://user:xxxxx@host/path"}},
    {"url user only", {"p", "https://user@host/path"}, {"p", "https://user@host/path"}},
    {"url no user info", {"p", "https://host:8443/a?b=c#d"}, {"p", "https://host:8443/a?b=c#d"}},
    {"url empty user", {"p", "https://:pass@host"}, {"p", "https://:xxxxx@host"}},
    {"url empty password", {"p", "https://user:@host"}, {"p", "https://user:xxxxx@host"}},
    {"url @ in password",
     {"p", "postgres://u:p@ss@db:5432/x?sslmode=disable"},
     {"p", "postgres://u:xxxxx@db:5432/x?sslmode=disable"}},
    {"url : in password", {"p", "redis://u:a:b@h"}, {"p", "redis://u:xxxxx@h"}},
    {"url @ in path", {"p", "https://host/a@b:c"}, {"p", "https://host/a@b:c"}},
    {"url @ in query", {"p", "https://h?x=u:p@q"}, {"p", "https://h?x=u:p@q"}},
    {"url @ in fragment", {"p", "https://h#u:p@x"}, {"p", "https://h#u:p@x"}},
    {"url in --url=",
     {"p", "--url=https://alice:pw@db.example/x"},
     {"p", "--url=https://alice:xxxxx@db.example/x"}},
    {"url after --url",
     {"p", "--url", "https://alice:pw@h"},
     {"p", "--url", "https://alice:xxxxx@h"}},
    {"url in NAME=",
     {"p", "DATABASE_URL=postgres://u:pw@h/db"},
     {"p", "DATABASE_URL=postgres://u:xxxxx@h/db"}},
    {"two urls",
     {"p", "--mirrors=https://a:b@h1,https://c:d@h2/x"},
     {"p", "--mirrors=https://a:xxxxx@h1,https://c:xxxxx@h2/x"}},
    {"url without scheme", {"p", "://u:p@h"}, {"p", "://u:xxxxx@h"}},
    {"url cut short", {"p", "https://", "x://u:", "x://@"}, {"p", "https://", "x://u:", "x://@"}},
    /* not secrets */
    {"short option", {"p", "-p", "hunter2", "-k", "v"}, {"p", "-p", "hunter2", "-k", "v"}},
    {"plain",
     {"p", "--addr=127.0.0.1:0", "-v", "file.txt", "--name", "value"},
     {"p", "--addr=127.0.0.1:0", "-v", "file.txt", "--name", "value"}},
    {"empty strings", {"p", "", "", "--x="}, {"p", "", "", "--x="}},
    /* argv[0] is the program */
    {"argv0 kept", {"PASSWORD=x", "--token=y"}, {"PASSWORD=x", "--token=xxxxx"}},
    {"argv0 alone", {"/usr/bin/app"}, {"/usr/bin/app"}},
    {"argv0 empty", {"", "--key=1"}, {"", "--key=xxxxx"}},
    /* bytes that are not UTF-8 pass through */
    {"non-UTF-8 value",
     {"p", "--token=\xff\xfe", "\xff\xfe\x80", "--t\xc3\xb6ken=x"},
     {"p", "--token=xxxxx", "\xff\xfe\x80", "--t\xc3\xb6ken=x"}},
    {"non-UTF-8 name",
     {"p", "--\xffKEY\xfe=v", "https://\xff:\xfe@h"},
     {"p", "--\xffKEY\xfe=xxxxx", "https://\xff:xxxxx@h"}},
};

static void test_table(void **state)
{
    (void)state;
    for (size_t r = 0; r < NELEM(rows); r++) {
        size_t len;
        char *in = join(rows[r].in, &len);
        expect(rows[r].what, in, len, rows[r].want);
        free(in);
    }
}

/* Nothing read (len 0), and a last argument without its NUL: a program
 * that rewrote its argv area leaves it off. */
static void test_edges(void **state)
{
    (void)state;
    static const char *const none[] = {NULL};
    expect("no arguments", "", 0, none);
    static const char raw[] = "p\0--token\0abc";
    static const char *const want[] = {"p", "--token", "xxxxx", NULL};
    expect("no final NUL", raw, sizeof raw - 1, want);
    static const char raw2[] = "p\0--password=x";
    static const char *const want2[] = {"p", "--password=xxxxx", NULL};
    expect("no final NUL, name=value", raw2, sizeof raw2 - 1, want2);
}

/* Arguments of 1 MiB (the kernel allows up to 128 KiB each, but a
 * rewritten argv area is not bounded): a secret, a keyword at the end of
 * a long name, a long URL password, a long plain argument. */
static void test_long(void **state)
{
    (void)state;
    enum { N = 1 << 20 };
    char *tok = malloc(N + 16), *name = malloc(N + 16), *url = malloc(N + 32),
         *plain = malloc(N + 1);
    assert_true(tok && name && url && plain);
    strcpy(tok, "--token=");
    memset(tok + 8, 'a', N);
    tok[8 + N] = '\0';
    strcpy(name, "--");
    memset(name + 2, 'a', N);
    strcpy(name + 2 + N, "Key=v");
    strcpy(url, "https://u:");
    memset(url + 10, 'p', N);
    strcpy(url + 10 + N, "@h/");
    memset(plain, 'z', N);
    plain[N] = '\0';
    char *name_want = malloc(N + 16);
    assert_non_null(name_want);
    memcpy(name_want, name, N + 2 + 4);
    strcpy(name_want + N + 6, "xxxxx");
    const char *in[] = {"p", tok, name, url, plain, NULL};
    const char *want[] = {"p", "--token=xxxxx", name_want, "https://u:xxxxx@h/", plain, NULL};
    size_t len;
    char *j = join(in, &len);
    expect("long arguments", j, len, want);
    free(j);
    free(tok);
    free(name);
    free(url);
    free(plain);
    free(name_want);
}

/* Every byte value but NUL in a name and in a value: nothing crashes,
 * the count stays, and only the keyword decides. */
static void test_all_bytes(void **state)
{
    (void)state;
    char val[256], arg[300], argw[300];
    for (int c = 1; c < 256; c++)
        val[c - 1] = (char)c;
    val[255] = '\0';
    snprintf(arg, sizeof arg, "--secret=%s", val);
    const char *in[] = {"p", val, arg, NULL};
    snprintf(argw, sizeof argw, "--secret=xxxxx");
    /* val contains "://" nowhere and no '=' after a name of name bytes
     * (its first '=' follows bytes like \x01), so it stays as it is. */
    const char *want[] = {"p", val, argw, NULL};
    size_t len;
    char *j = join(in, &len);
    expect("all bytes", j, len, want);
    free(j);
}

/* The public switch: 0, 1 and 2 select the mode, anything else is refused
 * with -EINVAL and hides everything (the old contract: non-zero hides). */
static void test_modes(void **state)
{
    (void)state;
    assert_int_equal(cd__vars_init(), 0);
    size_t len;
    bool hide;
    assert_int_equal(cd_vars_redact_cmdline(CD_CMDLINE_SHOW), 0);
    (void)cd__cmdline_shown(&len, &hide);
    assert_false(hide);
    assert_true(len > 0);
    assert_int_equal(cd_vars_redact_cmdline(CD_CMDLINE_HIDE), 0);
    (void)cd__cmdline_shown(&len, &hide);
    assert_true(hide);
    assert_int_equal(cd_vars_redact_cmdline(CD_CMDLINE_SECRETS), 0);
    (void)cd__cmdline_shown(&len, &hide);
    assert_false(hide);
    assert_int_equal(cd_vars_redact_cmdline(3), -EINVAL);
    (void)cd__cmdline_shown(&len, &hide);
    assert_true(hide);
    assert_int_equal(cd_vars_redact_cmdline(CD_CMDLINE_SECRETS), 0);
    assert_int_equal(cd_vars_redact_cmdline(-1), -EINVAL);
    (void)cd__cmdline_shown(&len, &hide);
    assert_true(hide);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table),     cmocka_unit_test(test_edges), cmocka_unit_test(test_long),
        cmocka_unit_test(test_all_bytes), cmocka_unit_test(test_modes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* tests/unit/test_top_esc.c - cdebug-top's text escaping and CSV cells.
 *
 * Every text cdebug-top writes goes through esc.h: a hostile /debug/vars
 * must not reach the terminal or a spreadsheet as control characters or
 * formulas. Tables: each hostile form and its visible spelling (Go's
 * strconv.Quote escapes), plain text and numbers unchanged; truncation never
 * splits an escape; CSV cells quoted by RFC 4180, formulas led by ', plain
 * and negative numbers left as numbers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "viewer/cdebug-top/csv.h"
#include "viewer/cdebug-top/esc.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const struct {
    const char *in, *out;
} esc_cases[] = {
    /* unchanged: printable ASCII, valid UTF-8, a backslash */
    {"", ""},
    {"hello, world", "hello, world"},
    {"memstats.Alloc: 1.5KB", "memstats.Alloc: 1.5KB"},
    {"12\xc2\xb5s", "12\xc2\xb5s"}, /* µ */
    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
    {"nested.dotted\\.key", "nested.dotted\\.key"},
    {"C:\\dir\\app.exe", "C:\\dir\\app.exe"},
    {"-3", "-3"},
    {"-1.5e+03", "-1.5e+03"},
    {"=1+1", "=1+1"}, /* formulas are the CSV's business, not the terminal's */
    /* C0 controls with a letter, as Go's strconv.Quote writes them */
    {"\a\b\f\n\r\t\v", "\\a\\b\\f\\n\\r\\t\\v"},
    {"line1\r\nline2", "line1\\r\\nline2"},
    /* other C0, DEL */
    {"\x1b]52;c;cHduZWQ=\x07", "\\x1b]52;c;cHduZWQ=\\a"}, /* OSC 52 clipboard write */
    {"\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H"},                 /* clear screen, home */
    {"\x1b]0;title\x1b\\", "\\x1b]0;title\\x1b\\"},       /* OSC with ST */
    {"\x01\x1f", "\\x01\\x1f"},
    {"x\x7fy", "x\\x7fy"},
    /* C1 controls as UTF-8 */
    {"a\xc2\x85z", "a\\u0085z"},                            /* NEL */
    {"\xc2\x9b;31m", "\\u009b;31m"},                        /* CSI */
    {"\xc2\x9d\x30;t\xc2\x9c", "\\u009d0;t\\u009c"},        /* OSC ... ST */
    {"\xc2\x80\xc2\x9f\xc2\xa0", "\\u0080\\u009f\xc2\xa0"}, /* U+00A0 is not C1 */
    /* separators and bidirectional formatting */
    {"x\xe2\x80\xa8y\xe2\x80\xa9", "x\\u2028y\\u2029"},
    {"abc\xe2\x80\xaetxt", "abc\\u202etxt"},
    {"\xe2\x80\xaa\xe2\x81\xa6\xe2\x81\xa9\xe2\x80\x8f\xd8\x9c",
     "\\u202a\\u2066\\u2069\\u200f\\u061c"},
    {"\xe2\x80\x8d", "\xe2\x80\x8d"}, /* ZWJ (emoji sequences) stays */
    /* invalid UTF-8: each byte as \xNN */
    {"\xff", "\\xff"},
    {"a\x80z", "a\\x80z"}, /* lone continuation byte */
    {"\xc3", "\\xc3"},     /* cut sequence */
    {"\xe2\x82", "\\xe2\\x82"},
    {"\xc0\xaf", "\\xc0\\xaf"},                   /* overlong '/' */
    {"\xed\xa0\x80", "\\xed\\xa0\\x80"},          /* surrogate */
    {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"}, /* above U+10FFFF */
    {"\xc2\x1b", "\\xc2\\x1b"},                   /* a control ends a sequence */
};

static void test_escape_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < NELEM(esc_cases); i++) {
        char buf[256];
        assert_string_equal(top_esc(esc_cases[i].in, buf, sizeof(buf)), esc_cases[i].out);

        /* The stream writer gives the same text. */
        char *m = NULL;
        size_t mlen = 0;
        FILE *f = open_memstream(&m, &mlen);
        assert_non_null(f);
        assert_int_equal(top_esc_fputs(esc_cases[i].in, f), 0);
        fclose(f);
        assert_string_equal(m, esc_cases[i].out);
        free(m);

        /* Worst-case growth holds. */
        assert_true(strlen(esc_cases[i].out) <= TOP_ESC_GROWTH * strlen(esc_cases[i].in));
    }
}

/* No raw control byte survives, whatever the input: every byte value alone,
 * and every two-byte pair after a lead byte. */
static void test_escape_no_control_survives(void **state)
{
    (void)state;
    char in[3] = {0}, out[16];
    for (int a = 1; a < 256; a++) {
        for (int b = 0; b < 256; b++) {
            in[0] = (char)a;
            in[1] = (char)b;
            top_esc(in, out, sizeof(out));
            for (const unsigned char *p = (const unsigned char *)out; *p != '\0'; p++) {
                assert_false(*p < 0x20 || *p == 0x7f);
                if (p[0] == 0xc2)
                    assert_false(p[1] >= 0x80 && p[1] <= 0x9f);
            }
        }
    }
}

/* A short buffer cuts before an escape or a UTF-8 sequence, never inside. */
static void test_escape_truncation(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        size_t len;
        const char *out;
    } cases[] = {
        {"ab\x1bz", 3, "ab"},
        {"ab\x1bz", 5, "ab"}, /* "\x1b" needs 4 bytes + NUL */
        {"ab\x1bz", 7, "ab\\x1b"},
        {"ab\xe2\x82\xac", 4, "ab"}, /* the euro sign needs 3 */
        {"ab\xe2\x82\xac", 6, "ab\xe2\x82\xac"},
        {"a\xc2\x85", 7, "a"},
        {"a\xc2\x85", 8, "a\\u0085"},
        {"abc", 1, ""},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        char buf[16];
        memset(buf, 'Z', sizeof(buf));
        assert_string_equal(top_esc(cases[i].in, buf, cases[i].len), cases[i].out);
        assert_int_equal(buf[cases[i].len], 'Z'); /* nothing past len */
    }
}

static void test_escape_line(void **state)
{
    (void)state;
    char *m = NULL;
    size_t mlen = 0;
    FILE *f = open_memstream(&m, &mlen);
    top_esc_line(f, "cdebug-top: bad port or range \"%s\" in \"%s\"", "x\ny", "\x1b[2J");
    fclose(f);
    assert_string_equal(m, "cdebug-top: bad port or range \"x\\ny\" in \"\\x1b[2J\"\n");
    free(m);
}

/* Numbers: kept as numbers in CSV, however they are signed. */
static void test_csv_numbers(void **state)
{
    (void)state;
    static const char *const yes[] = {
        "0",
        "17",
        "-3",
        "+3",
        "-1.5",
        "-1.5e3",
        "-1.5e+03",
        "1E-7",
        "-0.000495",
        ".5",
        "-.5",
        "5.",
        "9223372036854775807",
        "-9223372036854775808",
    };
    static const char *const no[] = {
        "",    "-",       "+",    ".",     "-.",  "e3",  "-e3",  "1e",
        "1e+", "-1.5e3x", "- 3",  " -3",   "-3 ", "--3", "-inf", "inf",
        "nan", "-nan",    "0x10", "-0x10", "1,5", "=1",  "-1+2", "1.2.3",
    };
    for (size_t i = 0; i < NELEM(yes); i++) {
        if (!top_csv_is_number(yes[i]))
            fail_msg("\"%s\" should be a number", yes[i]);
        assert_false(top_csv_is_formula(yes[i]));
    }
    for (size_t i = 0; i < NELEM(no); i++)
        if (top_csv_is_number(no[i]))
            fail_msg("\"%s\" should not be a number", no[i]);
}

/* The cell top_csv_field writes for s, malloc'd. */
static char *cell(const char *s)
{
    char *m = NULL;
    size_t mlen = 0;
    FILE *f = open_memstream(&m, &mlen);
    assert_non_null(f);
    top_csv_field(f, s);
    fclose(f);
    return m;
}

static void test_csv_cells(void **state)
{
    (void)state;
    static const struct {
        const char *in, *out;
    } cases[] = {
        /* unchanged */
        {"", ""},
        {"requests", "requests"},
        {"127.0.0.1:6060", "127.0.0.1:6060"},
        {"failed: connection refused", "failed: connection refused"},
        {"(status)", "(status)"},
        {"nested.dotted\\.key", "nested.dotted\\.key"},
        {"caf\xc3\xa9", "caf\xc3\xa9"},
        /* numbers stay numbers, negative ones included */
        {"17", "17"},
        {"-3", "-3"},
        {"-1.5e+03", "-1.5e+03"},
        {"-1.5e3", "-1.5e3"},
        {"+4", "+4"},
        {"0.0023500000000000005", "0.0023500000000000005"},
        /* RFC 4180 quoting */
        {"a,b", "\"a,b\""},
        {"say \"hi\"", "\"say \"\"hi\"\"\""},
        {" padded", "\" padded\""},
        {"padded ", "\"padded \""},
        /* CR, LF and other controls escaped: no raw line break in a row */
        {"1\n2", "1\\n2"},
        {"1\r\n2", "1\\r\\n2"},
        {"\x1b]52;c;cHduZWQ=\x07", "\\x1b]52;c;cHduZWQ=\\a"},
        {"a\xc2\x85z\xff", "a\\u0085z\\xff"},
        {"\tx", "\\tx"},
        /* formulas: led by a single quote */
        {"=1+1", "'=1+1"},
        {"=HYPERLINK(\"http://evil.example/\",\"x\")",
         "\"'=HYPERLINK(\"\"http://evil.example/\"\",\"\"x\"\")\""},
        {"+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"},
        {"-2+3+cmd|' /C calc'!A0", "'-2+3+cmd|' /C calc'!A0"},
        {"@SUM(1+1)", "'@SUM(1+1)"},
        {"-", "'-"},
        {"-inf", "'-inf"},
        {"- 3", "'- 3"},
        {" =1+1", "\"' =1+1\""}, /* blanks before the = do not hide it */
        {"=\x1b[2J", "'=\\x1b[2J"},
        /* not formulas */
        {"a=1", "a=1"},
        {"'quoted", "'quoted"},
    };
    for (size_t i = 0; i < NELEM(cases); i++) {
        char *got = cell(cases[i].in);
        assert_string_equal(got, cases[i].out);
        free(got);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape_table),      cmocka_unit_test(test_escape_no_control_survives),
        cmocka_unit_test(test_escape_truncation), cmocka_unit_test(test_escape_line),
        cmocka_unit_test(test_csv_numbers),       cmocka_unit_test(test_csv_cells),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

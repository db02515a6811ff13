/* tests/unit/test_tabwriter.c - prof/tabwriter.c against Go's
 * text/tabwriter as runtime/pprof configures it (NewWriter(w, 1, 8, 1,
 * '\t', 0)). Each expected output is what Go 1.19 wrote for the input:
 *
 *   w := tabwriter.NewWriter(os.Stdout, 1, 8, 1, '\t', 0)
 *   w.Write(input); w.Flush()
 *
 * The heap and count-profile cases are the shapes the text profiles print;
 * the others are the rules those rest on: column blocks end at a line
 * without the column, widths count runes, a cell exactly one tab stop wide
 * gets a whole tab of padding, lines have any number of cells.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "prof/tabwriter.h"

typedef struct twcase {
    const char *name, *in, *go;
} twcase;

static const twcase cases[] = {
    {"heap profile",
     "heap profile: 2: 96 [5: 240] @ heap/1048576\n"
     "1: 64 [3: 192] @ 0x401a2b 0x401c3d\n"
     "#\t0x401a2a\talloc_small+0x1a\t/src/prog.c:12\n"
     "#\t0x401c3c\tmain+0x2c\t/src/a_much_longer_directory_name/prog.c:40\n"
     "\n"
     "1: 32 [2: 48] @ 0x401b00\n"
     "#\t0x401aff\tx+0x1\t/p.c:1\n"
     "\n"
     "# runtime.MemStats\n"
     "# Alloc = 96\n",
     "heap profile: 2: 96 [5: 240] @ heap/1048576\n"
     "1: 64 [3: 192] @ 0x401a2b 0x401c3d\n"
     "#\t0x401a2a\talloc_small+0x1a\t/src/prog.c:12\n"
     "#\t0x401c3c\tmain+0x2c\t\t/src/a_much_longer_directory_name/prog.c:40\n"
     "\n"
     "1: 32 [2: 48] @ 0x401b00\n"
     "#\t0x401aff\tx+0x1\t/p.c:1\n"
     "\n"
     "# runtime.MemStats\n"
     "# Alloc = 96\n"},
    {"count profile",
     "goroutine profile: total 3\n"
     "2 @ 0x4011a6 0x401234\n"
     "# labels: {\"task\":\"fetch\"}\n"
     "#\t0x4011a5\twait_here+0x35\t/src/prog.c:40\n"
     "#\t0x401233\tworker_loop_with_a_long_name+0x13\t/src/prog.c:52\n"
     "\n"
     "1 @ 0x7f00bb2d\n"
     "#\t0x7f00bb2c\n"
     "\n",
     "goroutine profile: total 3\n"
     "2 @ 0x4011a6 0x401234\n"
     "# labels: {\"task\":\"fetch\"}\n"
     "#\t0x4011a5\twait_here+0x35\t\t\t\t/src/prog.c:40\n"
     "#\t0x401233\tworker_loop_with_a_long_name+0x13\t/src/prog.c:52\n"
     "\n"
     "1 @ 0x7f00bb2d\n"
     "#\t0x7f00bb2c\n"
     "\n"},
    {"column blocks",
     "a\tb\tc\n"
     "aaaaaaaaa\tb\n"
     "x\n"
     "y\tzzzzzzzzzzzzzzzzz\tw\n"
     "\tq\n",
     "a\t\tb\tc\n"
     "aaaaaaaaa\tb\n"
     "x\n"
     "y\tzzzzzzzzzzzzzzzzz\tw\n"
     "\tq\n"},
    {"widths in runes",
     "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\tx\n" /* three CJK characters */
     "abc\tx\n"
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\tx\n", /* 8 x e-acute */
     "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\t\tx\n"
     "abc\t\tx\n"
     "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\tx\n"},
    {"more than eight cells",
     "1\t2\t3\t4\t5\t6\t7\t8\t9\t10\tend\n"
     "11111111\t2\t3\t4\t5\t6\t7\t8\t99999999999\t1\tend\n",
     "1\t\t2\t3\t4\t5\t6\t7\t8\t9\t\t10\tend\n"
     "11111111\t2\t3\t4\t5\t6\t7\t8\t99999999999\t1\tend\n"},
    {"empty cells and lines",
     "\t\t\n"
     "\n"
     "\tx\n",
     "\t\t\n"
     "\n"
     "\tx\n"},
    {"a cell one tab stop wide",
     "12345678\tx\n"
     "1234567\ty\n",
     "12345678\tx\n"
     "1234567\t\ty\n"},
    {"no input", "", ""},
};

static void test_like_go(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const twcase *c = &cases[i];
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);
        assert_non_null(f);
        assert_int_equal(cd__tabwriter(f, c->in, strlen(c->in)), 0);
        assert_int_equal(fclose(f), 0);
        if (len != strlen(c->go) || memcmp(out, c->go, len) != 0)
            fail_msg("%s: got\n%.*s\nwant (Go)\n%s", c->name, (int)len, out, c->go);
        free(out);
    }
}

/* Only whole lines are written: text after the last newline is not a line
 * yet (the profiles always end theirs). */
static void test_partial_line_dropped(void **state)
{
    (void)state;
    char *out = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&out, &len);
    assert_non_null(f);
    const char *in = "a\tb\nc\td";
    assert_int_equal(cd__tabwriter(f, in, strlen(in)), 0);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(len, 4);
    assert_memory_equal(out, "a\tb\n", 4);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_like_go),
        cmocka_unit_test(test_partial_line_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* tests/unit/test_buf.c - base/buf.h's writers that the byte buffers of
 * the library share: printf-style text (schedtrace's reports), varints
 * (profile.proto, trace records), in-place room, reuse and the "fails once,
 * check at the end" rule. The JSON and Prometheus writers have their own
 * tests (test_vars_render.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"

static void test_printf(void **state)
{
    (void)state;
    cd__buf b;
    cd__buf_init(&b, 0);
    cd__buf_printf(&b, "SCHED %llums: gomaxprocs=%d", 1004ULL, 2);
    cd__buf_printf(&b, "%s", "");
    cd__buf_printf(&b, " [%u %u]\n", 12u, 0u);
    /* Longer than the first allocation (256 bytes): the growth path
     * formats a second time into the grown buffer. */
    char big[1000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cd__buf_printf(&b, "<%s>", big);
    assert_false(b.oom);
    size_t len = b.len;
    char *s = cd__buf_finish(&b);
    assert_non_null(s);
    const char *head = "SCHED 1004ms: gomaxprocs=2 [12 0]\n";
    assert_int_equal(len, strlen(head) + 1 + 999 + 1);
    assert_int_equal(strlen(s), len);
    assert_memory_equal(s, head, strlen(head));
    assert_int_equal(s[strlen(head)], '<');
    assert_int_equal(s[len - 1], '>');
    assert_int_equal(strspn(s + strlen(head) + 1, "x"), 999);
    free(s);
}

/* A failed buffer ignores every later write and finishes as NULL. */
static void test_failed_stays_failed(void **state)
{
    (void)state;
    cd__buf b;
    cd__buf_init(&b, 16);
    cd__buf_puts(&b, "kept");
    /* A growth that cannot be (the size overflows) fails it, as a failed
     * realloc does. */
    assert_false(cd__buf_grow(&b, SIZE_MAX / 2));
    assert_true(b.oom);
    size_t len = b.len;
    cd__buf_printf(&b, "%d", 42);
    cd__buf_uvarint(&b, 300);
    cd__buf_put(&b, "more", 4);
    cd__buf_putc(&b, '!');
    cd__buf_u64(&b, 7);
    cd__buf_json_str(&b, "s", 1);
    assert_null(cd__buf_room(&b, 1));
    assert_int_equal(b.len, len);
    assert_memory_equal(b.p, "kept", 4);
    assert_null(cd__buf_finish(&b));
    /* finish left it empty and usable */
    assert_false(b.oom);
    cd__buf_puts(&b, "again");
    char *s = cd__buf_finish(&b);
    assert_string_equal(s, "again");
    free(s);
}

/* Unsigned LEB128, as protobuf and docs/trace-format.md encode integers. */
static void test_uvarint(void **state)
{
    (void)state;
    static const struct {
        uint64_t v;
        size_t n;
        uint8_t bytes[10];
    } cases[] = {
        {0, 1, {0x00}},
        {1, 1, {0x01}},
        {127, 1, {0x7f}},
        {128, 2, {0x80, 0x01}},
        {300, 2, {0xac, 0x02}},
        {16384, 3, {0x80, 0x80, 0x01}},
        {UINT32_MAX, 5, {0xff, 0xff, 0xff, 0xff, 0x0f}},
        {UINT64_MAX, 10, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
    };
    cd__buf b;
    cd__buf_init(&b, 0);
    size_t total = 0;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        cd__buf_uvarint(&b, cases[i].v);
        assert_int_equal(b.len - total, cases[i].n);
        assert_memory_equal(b.p + total, cases[i].bytes, cases[i].n);
        total = b.len;
    }
    cd__buf_free(&b);
}

/* room: write in place, then account; reset keeps the memory. */
static void test_room_and_reset(void **state)
{
    (void)state;
    cd__buf b;
    cd__buf_init(&b, 0);
    for (int i = 0; i < 100; i++) {
        char *p = cd__buf_room(&b, 64);
        assert_non_null(p);
        assert_true(b.cap - b.len >= 64);
        memset(p, 'a' + i % 26, 10);
        b.len += 10;
    }
    assert_int_equal(b.len, 1000);
    assert_int_equal(b.p[999], 'a' + 99 % 26);
    char *mem = b.p;
    size_t cap = b.cap;
    b.oom = true;
    cd__buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_false(b.oom);
    assert_ptr_equal(b.p, mem);
    assert_int_equal(b.cap, cap);
    cd__buf_free(&b);
    assert_null(b.p);
    assert_int_equal(b.cap, 0);
}

/* A name known plain is copied between quotes; anything cd__buf_json_str
 * would change is not plain, and written escaped. */
static void test_json_key(void **state)
{
    (void)state;
    assert_true(cd__json_plain("counter_00.x-y/z", 16));
    assert_true(cd__json_plain("", 0));
    static const char *const not_plain[] = {"a\"b", "a\\b", "<", ">", "&", "tab\t", "\xc3\xa9"};
    for (size_t i = 0; i < sizeof not_plain / sizeof not_plain[0]; i++)
        assert_false(cd__json_plain(not_plain[i], strlen(not_plain[i])));
    assert_false(cd__json_plain("a\0b", 3));

    cd__buf b;
    cd__buf_init(&b, 0);
    cd__buf_json_key(&b, "plain", 5, cd__json_plain("plain", 5));
    cd__buf_putc(&b, ' ');
    cd__buf_json_key(&b, "<a\"", 3, cd__json_plain("<a\"", 3));
    char *out = cd__buf_finish(&b);
    assert_string_equal(out, "\"plain\" \"\\u003ca\\\"\"");
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_printf),
        cmocka_unit_test(test_failed_stays_failed),
        cmocka_unit_test(test_uvarint),
        cmocka_unit_test(test_room_and_reset),
        cmocka_unit_test(test_json_key),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* tests/unit/test_sigsafe.c - base/sigsafe.h: the crash report's text
 * writer (numbers, quoting, pieces longer than its buffer), the file and
 * offset of addresses from /proc/self/maps, and the call of a previous
 * handler. */
#include <dlfcn.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/sigsafe.h"

/* What w wrote to a temporary file, after a flush. */
static char *written(cd__sigw *w, FILE *f)
{
    static char out[4096];
    cd__sigw_flush(w);
    rewind(f);
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = '\0';
    return out;
}

static void test_text(void **state)
{
    (void)state;
    FILE *f = tmpfile();
    assert_non_null(f);
    char mem[32]; /* the smallest buffer: longer text goes out in pieces */
    cd__sigw w;
    cd__sigw_init(&w, fileno(f), mem, sizeof mem);
    cd__sigw_hex(&w, 0);
    cd__sigw_puts(&w, " ");
    cd__sigw_hex(&w, 0xdeadbeefULL);
    cd__sigw_puts(&w, " ");
    cd__sigw_hex(&w, UINT64_MAX);
    cd__sigw_puts(&w, " ");
    cd__sigw_udec(&w, UINT64_MAX);
    cd__sigw_puts(&w, " ");
    cd__sigw_dec(&w, INT64_MIN);
    cd__sigw_puts(&w, " ");
    cd__sigw_dec(&w, -6);
    cd__sigw_puts(&w, " ");
    cd__sigw_quote(&w, "a\"b\\c\n\t\r\x01\xff", 64);
    cd__sigw_quote(&w, "cut here", 3);
    assert_string_equal(written(&w, f), "0x0 0xdeadbeef 0xffffffffffffffff 18446744073709551615 "
                                        "-9223372036854775808 -6 "
                                        "\"a\\\"b\\\\c\\n\\t\\r\\x01\\xff\"\"cut\"");
    fclose(f);
}

static void test_modules(void **state)
{
    (void)state;
    static char scratch[4096];
    char *heap = malloc(16);
    /* The frame, not a local: ASan may keep locals on a fake stack. */
    uintptr_t pcs[] = {(uintptr_t)test_modules, (uintptr_t)heap, 8,
                       (uintptr_t)__builtin_frame_address(0)};
    cd__sigmod m[4];
    assert_int_equal(cd__sig_modules(pcs, 4, m, scratch, sizeof scratch), 0);

    /* This function: the test's executable, code, at its file offset. */
    Dl_info di;
    assert_true(dladdr((void *)test_modules, &di) != 0);
    assert_true(m[0].found && m[0].exec);
    assert_non_null(strstr(m[0].path, "test_sigsafe"));
    assert_true(m[0].off == pcs[0] - (uintptr_t)di.dli_fbase);
    /* The heap and the stack: mapped, not code. Address 8: nothing. */
    assert_true(m[1].found && !m[1].exec);
    assert_true(!m[2].found && !m[2].exec);
    assert_true(m[3].found && !m[3].exec);
    assert_string_equal(m[3].path, "[stack]");

    /* A buffer shorter than a line: that line is skipped, nothing breaks. */
    char tiny[24];
    assert_int_equal(cd__sig_modules(pcs, 1, m, tiny, sizeof tiny), 0);
    assert_false(m[0].found);
    free(heap);
}

static int calls, last_sig;
static void plain(int sig)
{
    calls++;
    last_sig = sig;
}
static void with_info(int sig, siginfo_t *si, void *uc)
{
    (void)uc;
    calls += si != NULL ? 10 : 100;
    last_sig = sig;
}

static void test_forward(void **state)
{
    (void)state;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    assert_false(cd__sig_is_handler(&sa));
    assert_false(cd__sig_forward(&sa, SIGUSR1, NULL, NULL));
    sa.sa_handler = SIG_IGN;
    assert_false(cd__sig_is_handler(&sa));
    sa.sa_flags = SA_SIGINFO; /* SIG_IGN read through sa_sigaction */
    assert_false(cd__sig_is_handler(&sa));
    sa.sa_flags = 0;
    sa.sa_handler = plain;
    assert_true(cd__sig_forward(&sa, SIGUSR2, NULL, NULL));
    assert_int_equal(calls, 1);
    assert_int_equal(last_sig, SIGUSR2);
    siginfo_t si;
    memset(&si, 0, sizeof si);
    sa.sa_flags = SA_SIGINFO;
    sa.sa_sigaction = with_info;
    assert_true(cd__sig_forward(&sa, SIGSEGV, &si, NULL));
    assert_int_equal(calls, 11);
    assert_int_equal(last_sig, SIGSEGV);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_modules),
        cmocka_unit_test(test_forward),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/* tests/unit/test_fpwalk.c - the frame-pointer walker (base/fpwalk.c) on
 * frame chains built to look like what code without frame pointers leaves
 * behind, and on the signal alternate stack:
 *   - a plain walk gives the callers' return addresses in order;
 *   - a frame pointer that points into a redzone of a live frame (code
 *     that keeps a pointer to a stack object in the frame-pointer
 *     register) is read without a sanitizer report, from a handler's
 *     context (cd__fpwalk_ucontext) and from a caller's saved frame
 *     pointer (cd__fpwalk_here);
 *   - a walk that starts on the alternate stack is bounded by it: a frame
 *     pointer just above it (here an unmapped page between it and the
 *     thread's stack) ends the walk instead of faulting, and a chain that
 *     goes on into the thread's stack (the frames the handler interrupted)
 *     is followed there;
 *   - a walk that starts on the thread's stack never goes into the
 *     alternate stack (its frames are never callers of the thread's);
 *   - the tracer's creation-stack walk (cd__trace_stack), which loads the
 *     same way, through the same redzone.
 *   - the caller of a frameless leaf (cd__fpwalk_fix_leaf, x86-64): the
 *     return address at the stack pointer is inserted once, and only when
 *     it is code; a stack pointer in the page above the alternate stack,
 *     seen from a handler running there (an overflowed stack may lie right
 *     there), is never read.
 * The redzone cases abort the ASan build (make test-asan) when a load of
 * the walk is instrumented; the others fail or fault in every build.
 * Everything runs on the main thread, whose stack (pthread_getattr_np)
 * lies above every mapping this test makes.
 */
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <cmocka.h>

#include "cdebug/cdebug.h"
#include "cdebug/trace.h"
#include "base/fpwalk.h"
#include "runtime/trace_recorder.h"

#define KEEP __attribute__((noinline, noipa))

/* Walks from a frame whose saved frame pointer (the caller's, as the walk
 * sees it) is replaced by `fake` for the duration of the walk: what code
 * without frame pointers leaves when it calls back into code with them.
 * *ret gets this function's return address, which the walk must give
 * first (out[0]). */
static KEEP size_t walk_with_caller_fp(uintptr_t fake, uintptr_t *out, size_t max, uintptr_t *ret)
{
    volatile uintptr_t *rec = __builtin_frame_address(0);
    uintptr_t saved = rec[0];
    *ret = (uintptr_t)__builtin_return_address(0);
    rec[0] = fake;
    size_t n = cd__fpwalk_here(out, max, 0);
    rec[0] = saved; /* the epilogue restores the caller's frame pointer from it */
    return n;
}

/* A ucontext of the caller at this call, with the frame pointer replaced
 * and, unless sp is 0, the stack pointer. */
static KEEP void context_with(ucontext_t *uc, uintptr_t sp, uintptr_t fp)
{
    memset(uc, 0, sizeof *uc);
    assert_int_equal(getcontext(uc), 0);
#if defined(__x86_64__)
    if (sp != 0)
        uc->uc_mcontext.gregs[REG_RSP] = (greg_t)sp;
    uc->uc_mcontext.gregs[REG_RBP] = (greg_t)fp;
#elif defined(__aarch64__)
    if (sp != 0)
        uc->uc_mcontext.sp = sp;
    uc->uc_mcontext.regs[29] = fp;
#endif
}

/* ---- plain walk ---------------------------------------------------- */

static KEEP size_t inner(uintptr_t *out, uintptr_t *ret_inner)
{
    *ret_inner = (uintptr_t)__builtin_return_address(0);
    size_t n = cd__fpwalk_here(out, 8, 0);
    __asm__ volatile("" ::: "memory"); /* no tail call */
    return n;
}

static KEEP size_t outer(uintptr_t *out, uintptr_t *ret_inner, uintptr_t *ret_outer)
{
    *ret_outer = (uintptr_t)__builtin_return_address(0);
    size_t n = inner(out, ret_inner);
    __asm__ volatile("" ::: "memory");
    return n;
}

static void test_callers_in_order(void **state)
{
    (void)state;
    uintptr_t out[8], ri, ro;
    size_t n = outer(out, &ri, &ro);
    assert_true(n >= 2);
    assert_true(out[0] == ri);
    assert_true(out[1] == ro);
    /* skip drops frames from the top, max cuts at the bottom. */
    uintptr_t one[1];
    assert_int_equal(cd__fpwalk_here(one, 1, 0), 1);
    assert_int_equal(cd__fpwalk_here(one, 0, 0), 0);
}

/* ---- frame pointers into a redzone --------------------------------- */

/* arr has 5 words: &arr[5] is the first word past it, a redzone of this
 * frame in the ASan build. */
static KEEP void redzone_here(void)
{
    uintptr_t arr[5] = {1, 2, 3, 4, 5};
    uintptr_t out[8], ret;
    size_t n = walk_with_caller_fp((uintptr_t)&arr[5], out, 8, &ret);
    assert_true(n >= 1);
    assert_true(out[0] == ret);
    __asm__ volatile("" ::"r"(arr) : "memory");
}

static void test_redzone_from_here(void **state)
{
    (void)state;
    redzone_here();
}

static void test_redzone_from_context(void **state)
{
    (void)state;
    uintptr_t arr[5] = {1, 2, 3, 4, 5};
    ucontext_t uc;
    /* The stack pointer of context_with's frame: below arr. */
    context_with(&uc, 0, (uintptr_t)&arr[5]);
    uintptr_t out[8];
    size_t n = cd__fpwalk_ucontext(&uc, out, 8);
    assert_true(n >= 1);
    assert_true(out[0] == cd__fpwalk_pc(&uc));
    __asm__ volatile("" ::"r"(arr) : "memory");
}

/* The tracer's walk from a frame whose caller's frame pointer is fake. */
static KEEP uint32_t trace_with_caller_fp(uintptr_t fake)
{
    volatile uintptr_t *rec = __builtin_frame_address(0);
    uintptr_t saved = rec[0];
    rec[0] = fake;
    uint32_t id = cd__trace_stack((const void *)rec, NULL, 0);
    rec[0] = saved;
    return id;
}

static KEEP uint32_t redzone_trace(void)
{
    uintptr_t arr[5] = {1, 2, 3, 4, 5};
    uint32_t id = trace_with_caller_fp((uintptr_t)&arr[5]);
    __asm__ volatile("" ::"r"(arr) : "memory");
    return id;
}

static void test_redzone_from_trace(void **state)
{
    (void)state;
    char path[] = "/tmp/cdebug-fpwalk-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(cd_trace_start(fd), 0);
    uint32_t id = redzone_trace();
    assert_int_equal(cd_trace_stop(), 0);
    close(fd);
    unlink(path);
    assert_int_not_equal(id, 0); /* at least the frame below the fake one */
}

/* ---- the alternate stack ------------------------------------------- */

#define ALT_SIZE (64 * 1024)

static char *alt;            /* ALT_SIZE bytes of alternate stack, then a PROT_NONE page */
static uintptr_t test_frame; /* the frame of the code the handler interrupts */
static uintptr_t test_ret;   /* that frame's return address */
static volatile sig_atomic_t handled;
static size_t gap_n, into_n;
static uintptr_t gap_out[8], gap_ret, into_out[8], into_ret;

static void on_usr1(int sig)
{
    (void)sig;
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    if (here < (uintptr_t)alt || here >= (uintptr_t)alt + ALT_SIZE)
        return; /* not on the alternate stack: handled stays 0 */
    /* A garbage frame pointer to the unmapped page right above. */
    gap_n = walk_with_caller_fp((uintptr_t)alt + ALT_SIZE, gap_out, 8, &gap_ret);
    /* A frame pointer to the interrupted code's frame, on the thread's
     * stack, as a handler's first frame has. */
    into_n = walk_with_caller_fp(test_frame, into_out, 8, &into_ret);
    handled = 1;
}

static int setup_alt(void **state)
{
    (void)state;
    alt = mmap(NULL, ALT_SIZE + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (alt == MAP_FAILED)
        return -1;
    if (mprotect(alt + ALT_SIZE, 4096, PROT_NONE) != 0)
        return -1;
    stack_t ss = {.ss_sp = alt, .ss_size = ALT_SIZE, .ss_flags = 0};
    return sigaltstack(&ss, NULL);
}

static int teardown_alt(void **state)
{
    (void)state;
    stack_t ss = {.ss_flags = SS_DISABLE};
    sigaltstack(&ss, NULL);
    munmap(alt, ALT_SIZE + 4096);
    return 0;
}

/* Raises sig with handler h, run on the alternate stack (SA_ONSTACK);
 * handled is 0 before. */
static void raise_with(int sig, void (*h)(int))
{
    struct sigaction sa, old;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = h;
    sa.sa_flags = SA_ONSTACK;
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(sig, &sa, &old), 0);
    handled = 0;
    raise(sig);
    sigaction(sig, &old, NULL);
}

static KEEP void raise_on_alt(void)
{
    test_frame = (uintptr_t)__builtin_frame_address(0);
    test_ret = (uintptr_t)__builtin_return_address(0);
    /* The main thread's stack is known to be mapped down to the deepest
     * walk started on it: one from here. */
    uintptr_t out[1];
    (void)cd__fpwalk_here(out, 1, 0);
    raise_with(SIGUSR1, on_usr1);
    __asm__ volatile("" ::: "memory");
}

static void test_altstack_from_here(void **state)
{
    (void)state;
    /* The setting of the test: the alternate stack and its guard page
     * lie below the thread's stack, so the guard page is inside the range
     * [alternate stack, thread stack top) that a walk bounded by the
     * thread's stack alone would read. */
    assert_true((uintptr_t)alt + ALT_SIZE + 4096 < (uintptr_t)__builtin_frame_address(0));
    raise_on_alt();
    assert_int_equal(handled, 1);
    /* The unmapped page ends the walk: only the frame below it. */
    assert_int_equal(gap_n, 1);
    assert_true(gap_out[0] == gap_ret);
    /* The chain goes on into the thread's stack. */
    assert_true(into_n >= 2);
    assert_true(into_out[0] == into_ret);
    assert_true(into_out[1] == test_ret);
}

static void test_altstack_from_context(void **state)
{
    (void)state;
    uintptr_t out[8];
    /* Interrupted code on the alternate stack: a frame record there whose
     * caller is this function's frame on the thread's stack. */
    uintptr_t *rec = (uintptr_t *)(alt + ALT_SIZE / 2);
    rec[0] = (uintptr_t)__builtin_frame_address(0);
    rec[1] = 0x1234;
    (void)cd__fpwalk_here(out, 1, 0); /* this depth is known mapped */
    ucontext_t uc;
    context_with(&uc, (uintptr_t)rec - 64, (uintptr_t)rec);
    size_t n = cd__fpwalk_ucontext(&uc, out, 8);
    assert_true(n >= 3);
    assert_true(out[0] == cd__fpwalk_pc(&uc));
    assert_true(out[1] == 0x1234);
    assert_true(out[2] == (uintptr_t)__builtin_return_address(0));

    /* Its caller's frame pointer points to the unmapped page above. */
    rec[0] = (uintptr_t)alt + ALT_SIZE;
    n = cd__fpwalk_ucontext(&uc, out, 8);
    assert_int_equal(n, 2);
    assert_true(out[1] == 0x1234);

    /* Code on the thread's stack whose frame pointer points into the
     * alternate stack: not followed (no pc but the interrupted one). */
    context_with(&uc, 0, (uintptr_t)rec);
    n = cd__fpwalk_ucontext(&uc, out, 8);
    assert_int_equal(n, 1);
    __asm__ volatile("" ::: "memory");
}

/* A stack overflow seen from a crash handler: the interrupted stack
 * pointer lies just below the thread's stack (in its guard), its frame
 * pointer in the stack. The walk follows the frames; a stack pointer far
 * below is no stack of the thread's. */
static KEEP void test_overflow_context(void **state)
{
    (void)state;
    pthread_attr_t a;
    void *addr;
    size_t size;
    assert_int_equal(pthread_getattr_np(pthread_self(), &a), 0);
    assert_int_equal(pthread_attr_getstack(&a, &addr, &size), 0);
    pthread_attr_destroy(&a);
    uintptr_t lo = (uintptr_t)addr, out[8];
    ucontext_t uc;
    context_with(&uc, lo - 256, (uintptr_t)__builtin_frame_address(0));
    size_t n = cd__fpwalk_ucontext(&uc, out, 8);
    assert_true(n >= 2);
    assert_true(out[1] == (uintptr_t)__builtin_return_address(0));
    context_with(&uc, lo - (1u << 20), (uintptr_t)__builtin_frame_address(0)); /* 1 MiB */
    assert_int_equal(cd__fpwalk_ucontext(&uc, out, 8), 1);
    __asm__ volatile("" ::: "memory");
}

/* ---- frameless leaf ------------------------------------------------ */

#if defined(__x86_64__)
static bool all_code(uintptr_t lo, uintptr_t hi)
{
    (void)lo;
    (void)hi;
    return true;
}

static bool no_code(uintptr_t lo, uintptr_t hi)
{
    (void)lo;
    (void)hi;
    return false;
}

/* Interrupted with the stack pointer on this function's return address,
 * as a frameless leaf called from here is (or this function at its ret). */
static KEEP void test_leaf_caller(void **state)
{
    (void)state;
    uintptr_t *rec = __builtin_frame_address(0), out[8];
    uintptr_t ra = (uintptr_t)__builtin_return_address(0);
    ucontext_t uc;
    context_with(&uc, (uintptr_t)&rec[1], rec[0]);
    out[0] = cd__fpwalk_pc(&uc);
    assert_int_equal(cd__fpwalk_fix_leaf(&uc, out, 1, 8, all_code), 2);
    assert_true(out[1] == ra);
    /* Found already: not again. */
    assert_int_equal(cd__fpwalk_fix_leaf(&uc, out, 2, 8, all_code), 2);
    /* Not code: nothing. */
    assert_int_equal(cd__fpwalk_fix_leaf(&uc, out, 1, 8, no_code), 1);
    /* Full: the outermost frame drops. */
    out[1] = 0x1111;
    out[2] = 0x2222;
    assert_int_equal(cd__fpwalk_fix_leaf(&uc, out, 3, 3, all_code), 3);
    assert_true(out[1] == ra && out[2] == 0x1111);
    __asm__ volatile("" ::: "memory");
}

static size_t guard_n;

static void on_usr2(int sig)
{
    (void)sig;
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    if (here < (uintptr_t)alt || here >= (uintptr_t)alt + ALT_SIZE)
        return; /* not on the alternate stack: handled stays 0 */
    ucontext_t uc;
    context_with(&uc, (uintptr_t)alt + ALT_SIZE + 64, 0); /* the PROT_NONE page */
    uintptr_t out[8] = {cd__fpwalk_pc(&uc)};
    guard_n = cd__fpwalk_fix_leaf(&uc, out, 1, 8, all_code); /* faults if it reads */
    handled = 1;
}

static void test_leaf_guard_from_alt(void **state)
{
    (void)state;
    raise_with(SIGUSR2, on_usr2);
    assert_int_equal(handled, 1);
    assert_int_equal(guard_n, 1);
}
#endif

int main(void)
{
    /* The main thread registers, with its stack bounds. */
    if (cd_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_callers_in_order),
        cmocka_unit_test(test_redzone_from_here),
        cmocka_unit_test(test_redzone_from_context),
        cmocka_unit_test(test_redzone_from_trace),
        cmocka_unit_test_setup_teardown(test_altstack_from_here, setup_alt, teardown_alt),
        cmocka_unit_test_setup_teardown(test_altstack_from_context, setup_alt, teardown_alt),
        cmocka_unit_test(test_overflow_context),
#if defined(__x86_64__)
        cmocka_unit_test(test_leaf_caller),
        cmocka_unit_test_setup_teardown(test_leaf_guard_from_alt, setup_alt, teardown_alt),
#endif
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    cd_shutdown();
    return rc;
}

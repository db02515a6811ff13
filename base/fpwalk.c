/* base/fpwalk.c - see fpwalk.h. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <ucontext.h>
#include <unistd.h>

#include "base/fpwalk.h"

/* The calling thread's stack, [stack_lo, stack_hi), and the lowest address
 * of it known to be mapped (stack_lo but on the main thread, whose stack
 * grows on demand). initial-exec: a TLS read in a signal handler must not
 * call __tls_get_addr (which may allocate). mapped_lo is lowered by walks,
 * handlers included: atomic, relaxed (a plain load or store). */
static __thread uintptr_t stack_lo __attribute__((tls_model("initial-exec")));
static __thread uintptr_t stack_hi __attribute__((tls_model("initial-exec")));
static __thread _Atomic uintptr_t mapped_lo __attribute__((tls_model("initial-exec")));

int cd__fpwalk_thread_init(void)
{
    pthread_attr_t a;
    void *addr;
    size_t size;
    int rc = pthread_getattr_np(pthread_self(), &a);
    if (rc != 0)
        return -rc;
    rc = pthread_attr_getstack(&a, &addr, &size);
    pthread_attr_destroy(&a);
    if (rc != 0)
        return -rc;
    uintptr_t lo = (uintptr_t)addr, hi = lo + size;
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    /* Another thread's stack is mapped whole when it starts. The main
     * thread's range is the most it may grow to: mapped only from where it
     * runs now up. */
    bool main_thread = (pid_t)syscall(SYS_gettid) == getpid();
    atomic_store_explicit(&mapped_lo, main_thread && here >= lo && here < hi ? here : lo,
                          memory_order_relaxed);
    stack_lo = lo;
    stack_hi = hi;
    return 0;
}

/* A part of a stack the walk may read: [lo, hi). */
typedef struct span {
    uintptr_t lo, hi;
} span;

/* A frame record (two words) at fp lies in s, aligned. */
static bool frame_in(uintptr_t fp, span s)
{
    return s.hi - s.lo >= 2 * sizeof(uintptr_t) && fp >= s.lo &&
           fp <= s.hi - 2 * sizeof(uintptr_t) && (fp & (sizeof(uintptr_t) - 1)) == 0;
}

/* The stack that code running with stack pointer sp (mapped: code runs
 * there) is on, as the span a walk starting there may read, [sp, top),
 * and in *then the span a chain leaving it may go on in. False when sp is
 * on no stack known. sigaltstack(2) is asked only for a walk that does
 * not start on the thread's stack. */
static bool spans_at(uintptr_t sp, span *cur, span *then)
{
    *then = (span){0, 0};
    if (sp >= stack_lo && sp < stack_hi) {
        /* Lowered, never raised: a store that a handler's overtakes leaves
         * one of two addresses that were both mapped. */
        if (sp < atomic_load_explicit(&mapped_lo, memory_order_relaxed))
            atomic_store_explicit(&mapped_lo, sp, memory_order_relaxed);
        *cur = (span){sp, stack_hi};
        return true;
    }
    stack_t ss;
    bool alt = sigaltstack(NULL, &ss) == 0 && (ss.ss_flags & SS_DISABLE) == 0;
    uintptr_t alo = alt ? (uintptr_t)ss.ss_sp : 0, ahi = alt ? alo + ss.ss_size : 0;
    if (sp < alo || sp >= ahi) {
        /* A stack overflow: sp went past the stack's end, into its guard
         * (an alternate stack may lie right there: asked first); the
         * frames are above it, in the stack (a crash handler on the
         * alternate stack walks them). */
        if (sp < stack_lo && stack_lo - sp <= CD__FPWALK_OVERFLOW) {
            *cur = (span){stack_lo, stack_hi};
            return true;
        }
        return false;
    }
    *cur = (span){sp, ahi};
    /* A handler on the alternate stack was called from the thread's
     * stack: its first frame links there. */
    *then = (span){atomic_load_explicit(&mapped_lo, memory_order_relaxed), stack_hi};
    return true;
}

/* Follows the frame records from fp, appending return addresses to out
 * from out[n]: frames in cur, going up, then (once) in then. Every load is
 * of a frame record checked to lie in the span being walked. */
static size_t walk(uintptr_t fp, span cur, span then, uintptr_t *out, size_t n, size_t max)
{
    if (max > CD__FPWALK_MAX)
        max = CD__FPWALK_MAX;
    while (n < max) {
        if (!frame_in(fp, cur)) {
            if (!frame_in(fp, then))
                break;
            cur = then; /* from the alternate stack to the thread's */
            then = (span){0, 0};
        }
        uintptr_t next = cd__fpwalk_load(fp), ret = cd__fpwalk_load(fp + sizeof(uintptr_t));
        if (ret == 0)
            break;
        out[n++] = ret;
        /* Frames go up the stack; anything else in the same span is
         * garbage. Outside it, the check at the top decides. */
        if (next <= fp && next >= cur.lo)
            break;
        fp = next;
    }
    return n;
}

uintptr_t cd__fpwalk_pc(const void *ucv)
{
    const ucontext_t *uc = ucv;
#if defined(__x86_64__)
    return (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
#elif defined(__aarch64__)
    return (uintptr_t)uc->uc_mcontext.pc;
#else
    (void)uc;
    return 0;
#endif
}

size_t cd__fpwalk_ucontext(const void *ucv, uintptr_t *out, size_t max)
{
    const ucontext_t *uc = ucv;
    uintptr_t pc = cd__fpwalk_pc(ucv), fp, sp;
    if (stack_hi == 0 || max == 0)
        return 0;
#if defined(__x86_64__)
    fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
    sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    fp = (uintptr_t)uc->uc_mcontext.regs[29];
    sp = (uintptr_t)uc->uc_mcontext.sp;
#else
    (void)uc;
    return 0; /* other architectures: no stacks (documented in docs) */
#endif
    out[0] = pc;
    /* The interrupted code's frames are above its stack pointer. */
    span cur, then;
    if (!spans_at(sp, &cur, &then))
        return 1;
    return walk(fp, cur, then, out, 1, max);
}

size_t cd__fpwalk_here(uintptr_t *out, size_t max, unsigned skip)
{
    uintptr_t tmp[CD__FPWALK_MAX];
    if (stack_hi == 0)
        return 0;
    /* Our frame, not &tmp: under ASan's detect_stack_use_after_return
     * tmp lives on a fake stack, away from the thread's. */
    uintptr_t fp = (uintptr_t)__builtin_frame_address(0);
    span cur, then;
    if (!spans_at(fp, &cur, &then))
        return 0;
    size_t want = max + skip + 1 > CD__FPWALK_MAX ? CD__FPWALK_MAX : max + skip + 1;
    /* tmp[0] is our caller's return address: the frame of whoever called
     * the function calling us starts at tmp[1]. */
    size_t n = walk(fp, cur, then, tmp, 0, want);
    size_t k = 0;
    for (size_t i = skip + 1; i < n && k < max; i++)
        out[k++] = tmp[i];
    return k;
}

/* ---- frameless leaf functions ------------------------------------------ */

/* Copies n bytes at a of our own memory into buf; false, not a fault,
 * when a is not mapped (EFAULT): the table behind is_code may be older
 * than a dlclose (prof/cpuprof.c rereads it only at its next drain).
 * process_vm_readv on our own process, through syscall(2), so that no
 * sanitizer interceptor runs in a handler. Where the call is refused (a
 * seccomp filter), every read fails and the repair is off. Async-signal-
 * safe: one system call. */
static bool read_code(uintptr_t a, void *buf, size_t n)
{
    struct iovec local = {buf, n}, remote = {(void *)a, n};
    return syscall(SYS_process_vm_readv, (long)getpid(), &local, 1L, &remote, 1L, 0L) == (long)n;
}

/* True when the bytes before ra encode an x86-64 call: call rel32 (e8),
 * call *disp32(%rip) (ff 15), call *%reg (ff d0+r, maybe after a REX
 * prefix), call *(%reg) (ff 10+r), call *disp8(%reg) (ff 50+r xx), call
 * *disp32(%reg) (ff 90+r xxxxxxxx). */
static bool after_call(uintptr_t ra)
{
    uint8_t b[6];
    if (!read_code(ra - 6, b, sizeof b))
        return false;
    const uint8_t *c = b + 6; /* c[-k]: the byte k before ra */
    return c[-5] == 0xe8 || (c[-6] == 0xff && c[-5] == 0x15) ||
           (c[-2] == 0xff && ((c[-1] & 0xf8) == 0xd0 || (c[-1] & 0xf8) == 0x10)) ||
           (c[-3] == 0xff && (c[-2] & 0xf8) == 0x50) || (c[-6] == 0xff && (c[-5] & 0xf8) == 0x90);
}

#if defined(__x86_64__)
/* The word at the interrupted stack pointer sp may be read: sp lies in a
 * stack the thread has, its own or its alternate one (spans_at starts the
 * span at sp then; after an overflow, sp is in the guard and the span
 * starts above it), or, for a thread whose bounds are unknown, this
 * handler runs on the interrupted stack, below sp (the kernel wrote the
 * signal frame between). Not when the handler runs on the alternate
 * stack: that may lie right below an overflowed stack's guard. */
static bool sp_readable(uintptr_t sp)
{
    span cur, then;
    if (spans_at(sp, &cur, &then))
        return cur.lo == sp;
    uintptr_t here = (uintptr_t)__builtin_frame_address(0);
    stack_t ss;
    return here < sp && sp - here <= CD__FPWALK_OVERFLOW && sigaltstack(NULL, &ss) == 0 &&
           (ss.ss_flags & SS_ONSTACK) == 0;
}
#endif

size_t cd__fpwalk_fix_leaf(const void *ucv, uintptr_t *out, size_t n, size_t max,
                           cd__fpwalk_code_fn *is_code)
{
#if defined(__x86_64__)
    const ucontext_t *uc = ucv;
    uintptr_t sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
    if (n == 0 || max < 2 || (sp & 7) != 0)
        return n;
    if (!sp_readable(sp))
        return n;
    /* The word is the interrupted function's own stack slot, which ASan
     * may poison as a redzone of that function's frame: cd__fpwalk_load. */
    uintptr_t ra = cd__fpwalk_load(sp);
    if (ra < 6 || (n >= 2 && out[1] == ra) || !is_code(ra - 6, ra) || !after_call(ra))
        return n;
    if (max > CD__FPWALK_MAX)
        max = CD__FPWALK_MAX;
    size_t m = n < max ? n + 1 : n;
    for (size_t i = m - 1; i > 1; i--)
        out[i] = out[i - 1];
    out[1] = ra;
    return m;
#else
    (void)ucv;
    (void)out;
    (void)max;
    (void)is_code;
    return n;
#endif
}

/* prof/fpwalk.c - see fpwalk.h. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <ucontext.h>

#include "prof/fpwalk.h"

/* The calling thread's stack, [lo, hi). initial-exec: a TLS read in a
 * signal handler must not call __tls_get_addr (which may allocate). */
static __thread uintptr_t stack_lo __attribute__((tls_model("initial-exec")));
static __thread uintptr_t stack_hi __attribute__((tls_model("initial-exec")));

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
    stack_lo = (uintptr_t)addr;
    stack_hi = (uintptr_t)addr + size;
    return 0;
}

/* Follows the frame records from fp, appending return addresses to out
 * from out[n]. Every load is checked to lie in [lo, stack_hi). */
static size_t walk(uintptr_t fp, uintptr_t lo, uintptr_t *out, size_t n, size_t max)
{
    uintptr_t hi = stack_hi;
    if (max > CD__FPWALK_MAX)
        max = CD__FPWALK_MAX;
    while (n < max) {
        if (fp < lo || fp > hi - 2 * sizeof(uintptr_t) || (fp & (sizeof(uintptr_t) - 1)) != 0)
            break;
        const uintptr_t *frame = (const uintptr_t *)fp;
        uintptr_t next = frame[0], ret = frame[1];
        if (ret == 0)
            break;
        out[n++] = ret;
        if (next <= fp) /* frames go up the stack; anything else is garbage */
            break;
        fp = next;
    }
    return n;
}

size_t cd__fpwalk_ucontext(const void *ucv, uintptr_t *out, size_t max)
{
    const ucontext_t *uc = ucv;
    uintptr_t pc, fp, sp;
    if (stack_hi == 0 || max == 0)
        return 0;
#if defined(__x86_64__)
    pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
    fp = (uintptr_t)uc->uc_mcontext.gregs[REG_RBP];
    sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
#elif defined(__aarch64__)
    pc = (uintptr_t)uc->uc_mcontext.pc;
    fp = (uintptr_t)uc->uc_mcontext.regs[29];
    sp = (uintptr_t)uc->uc_mcontext.sp;
#else
    (void)uc;
    return 0; /* other architectures: no stacks (documented in docs) */
#endif
    out[0] = pc;
    /* The interrupted code's frames are above its stack pointer. */
    return walk(fp, sp > stack_lo ? sp : stack_lo, out, 1, max);
}

size_t cd__fpwalk_here(uintptr_t *out, size_t max, unsigned skip)
{
    uintptr_t tmp[CD__FPWALK_MAX];
    if (stack_hi == 0)
        return 0;
    size_t want = max + skip + 1 > CD__FPWALK_MAX ? CD__FPWALK_MAX : max + skip + 1;
    /* tmp[0] is our caller's return address: the frame of whoever called
     * the function calling us starts at tmp[1]. */
    size_t n = walk((uintptr_t)__builtin_frame_address(0), (uintptr_t)&tmp[0], tmp, 0, want);
    size_t k = 0;
    for (size_t i = skip + 1; i < n && k < max; i++)
        out[k++] = tmp[i];
    return k;
}

/* prof/sigquit.c - the SIGQUIT dump; see sigquit.h for the design. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>
#include <unistd.h>

#include "base/fpwalk.h"
#include "prof/sigquit.h"
#include "prof/taskprof.h"
#include "runtime/thread.h"
#include "base/io.h"

/* What the handler saw, published to the dumper by the release store of
 * ready (and the pipe). */
static struct {
    int code;     /* si_code: 0 (SI_USER) for kill(1) */
    long long m;  /* cdebug id of the thread it interrupted, -1: unregistered */
    uintptr_t pc; /* the interrupted pc */
    size_t n;     /* frames of the interrupted stack */
    uintptr_t pcs[CD__FPWALK_MAX];
    mcontext_t regs;
} hit;
static _Atomic int fired, ready;
static int pipe_rd = -1, pipe_wr = -1;

/* Async-signal-safe: atomics, a TLS read, the frame walk, memcpy of the
 * context, write(2). */
static void on_quit(int sig, siginfo_t *si, void *ucv)
{
    (void)sig;
    int saved = errno;
    if (atomic_exchange_explicit(&fired, 1, memory_order_relaxed) == 0) {
        const ucontext_t *uc = ucv;
        cd__thread *self = cd__self;
        hit.code = si != NULL ? si->si_code : 0;
        hit.m = self != NULL ? (long long)self->id : -1;
        hit.n = cd__fpwalk_ucontext(uc, hit.pcs, CD__FPWALK_MAX);
        hit.pc = hit.n > 0 ? hit.pcs[0] : 0;
        memcpy(&hit.regs, &uc->uc_mcontext, sizeof hit.regs);
        atomic_store_explicit(&ready, 1, memory_order_release);
        (void)!write(pipe_wr, "q", 1);
    }
    errno = saved;
}

/* Go's dumpregs, for the architectures cdebug walks. */
static void dump_regs(FILE *f)
{
#if defined(__x86_64__)
    static const struct {
        const char *name;
        int reg;
    } r[] = {{"rax", REG_RAX}, {"rbx", REG_RBX},   {"rcx", REG_RCX}, {"rdx", REG_RDX},
             {"rdi", REG_RDI}, {"rsi", REG_RSI},   {"rbp", REG_RBP}, {"rsp", REG_RSP},
             {"r8", REG_R8},   {"r9", REG_R9},     {"r10", REG_R10}, {"r11", REG_R11},
             {"r12", REG_R12}, {"r13", REG_R13},   {"r14", REG_R14}, {"r15", REG_R15},
             {"rip", REG_RIP}, {"rflags", REG_EFL}};
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        fprintf(f, "%-7s0x%llx\n", r[i].name, (unsigned long long)hit.regs.gregs[r[i].reg]);
    /* cs, gs and fs are packed in one word: cs | gs << 16 | fs << 32. */
    unsigned long long csgsfs = (unsigned long long)hit.regs.gregs[REG_CSGSFS];
    fprintf(f, "%-7s0x%llx\n", "cs", csgsfs & 0xffff);
    fprintf(f, "%-7s0x%llx\n", "fs", (csgsfs >> 32) & 0xffff);
    fprintf(f, "%-7s0x%llx\n", "gs", (csgsfs >> 16) & 0xffff);
#elif defined(__aarch64__)
    char name[8];
    for (int i = 0; i < 29; i++) {
        snprintf(name, sizeof name, "r%d", i);
        fprintf(f, "%-8s0x%llx\n", name, (unsigned long long)hit.regs.regs[i]);
    }
    fprintf(f, "%-8s0x%llx\n", "r29", (unsigned long long)hit.regs.regs[29]);
    fprintf(f, "%-8s0x%llx\n", "lr", (unsigned long long)hit.regs.regs[30]);
    fprintf(f, "%-8s0x%llx\n", "sp", (unsigned long long)hit.regs.sp);
    fprintf(f, "%-8s0x%llx\n", "pc", (unsigned long long)hit.regs.pc);
    fprintf(f, "%-8s0x%llx\n", "fault", (unsigned long long)hit.regs.fault_address);
#else
    (void)f;
#endif
}

static void *dumper(void *arg)
{
    (void)arg;
    char c;
    for (;;) {
        ssize_t r = read(pipe_rd, &c, 1);
        if (r == 1 && atomic_load_explicit(&ready, memory_order_acquire))
            break;
        if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN))
            return NULL; /* the pipe is gone: nothing will come */
    }
    char head[128];
    int hn = snprintf(head, sizeof head, "SIGQUIT: quit\nPC=0x%lx m=%lld sigcode=%d\n\n",
                      (unsigned long)hit.pc, hit.m, hit.code);
    /* The header first, on its own: it is out even if the dump fails. */
    (void)cd__write_all(2, head, (size_t)hn);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f != NULL) {
        cd__taskprof_dumpopt opt = {
            .signal_all = true,
            .skip = cd__self,
            .first_m = hit.m > 0 ? (uint64_t)hit.m : 0,
            .first_pcs = hit.pcs,
            .first_n = hit.n,
        };
        int rc = cd__taskprof_dump(f, &opt);
        if (rc < 0)
            fprintf(f, "cdebug: task dump failed: %s\n", strerror(-rc));
        fputs("\n", f);
        dump_regs(f);
        if (fclose(f) == 0)
            (void)cd__write_all(2, buf, len);
        free(buf);
    }
    _exit(2);
}

int cd__sigquit_start(void)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return -errno;
    pipe_rd = fds[0];
    pipe_wr = fds[1];
    /* The handler must never block on a full pipe (a storm of SIGQUITs
     * cannot fill it, fired stops them, but be certain). */
    (void)fcntl(pipe_wr, F_SETFL, O_NONBLOCK);
    int rc = cd__thread_spawn(NULL, CD__THREAD_SYSTEM, false, dumper, NULL);
    if (rc < 0) {
        close(pipe_rd);
        close(pipe_wr);
        pipe_rd = pipe_wr = -1;
        return rc;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_quit;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&sa.sa_mask);
    if (sigaction(SIGQUIT, &sa, NULL) != 0)
        return -errno; /* the dumper stays blocked on a pipe nobody writes */
    return 0;
}

/* prof/crash.c - crash reports and the SIGQUIT dump; see crash.h for what
 * is printed and the design (a handler that writes what it alone can,
 * async-signal-safely, then a reporting thread it waits for with
 * deadlines). */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/fpwalk.h"
#include "base/futex.h"
#include "base/io.h"
#include "base/sigsafe.h"
#include "base/symbolize.h"
#include "prof/crash.h"
#include "prof/taskprof.h"
#include "runtime/pthread_create.h"
#include "runtime/env.h"
#include "runtime/hooks.h"
#include "runtime/sched_view.h"
#include "runtime/thread.h"

#define NAME_MAX_LEN 64            /* bytes of a task name printed, as the task dump */
#define GRACE_NS     2000000000ull /* a reporter caught writing gets this long more */
#define SEE_RAW      "; the pc= lines above hold them"

/* The signals handled, with Go's names (runtime/sigtab_linux_generic.go). */
static const struct {
    int sig;
    const char *name;
} sigs[] = {
    {SIGSEGV, "SIGSEGV: segmentation violation"},
    {SIGBUS, "SIGBUS: bus error"},
    {SIGFPE, "SIGFPE: floating-point exception"},
    {SIGILL, "SIGILL: illegal instruction"},
    {SIGABRT, "SIGABRT: abort"},
    {SIGTRAP, "SIGTRAP: trace trap"},
    {SIGQUIT, "SIGQUIT: quit"},
};
#define NSIGS (sizeof sigs / sizeof sigs[0])

/* Written once by cd__crash_start, before any handler is installed. */
static int level;
static bool secure;
static struct sigaction prior[NSIGS]; /* what was there before us */
static _Atomic pid_t reporter_pid;    /* the process the reporter runs in, 0: none */
static size_t page_size;

static _Atomic pid_t reporter_tid;
static _Atomic pid_t owner; /* the thread writing the report, 0: none yet */

/* The reporter's futex: 1 once the owner has filled `hit`. */
static _Atomic uint32_t req;

/* Where the report is, the owner's futex. The reporter moves it forward
 * (HIT -> HIT_WRITING -> HIT_DONE -> ALL_WRITING -> ALL_DONE), the owner
 * to ABANDONED at a deadline, from a phase where the reporter is working
 * (HIT, HIT_DONE): the compare-and-swap decides which of the two writes,
 * so a late reporter never writes after the owner moved on. FAILED: the
 * reporter faulted. */
enum {
    PH_IDLE,
    PH_HIT,
    PH_HIT_WRITING,
    PH_HIT_DONE,
    PH_ALL_WRITING,
    PH_ALL_DONE,
    PH_ABANDONED,
    PH_FAILED
};
static _Atomic uint32_t phase;
static _Atomic int failed_sig; /* the signal that stopped the reporter */

/* What the handler saw, written by the owner before req is set (release),
 * read by the reporter after (acquire). */
static struct {
    int lvl;               /* the level in force for this report */
    const cd__thread *thr; /* the thread the signal hit, NULL if unregistered */
    bool task;             /* it ran a task */
    uintptr_t created_by;  /* the task's cd_go call, a kit thread's creator, 0 */
    size_t n;
    uintptr_t pcs[CD__FPWALK_MAX]; /* pcs[0]: the interrupted pc */
} hit;

/* The owner's buffers (one owner per process: static is enough, and the
 * alternate stack stays small). */
static char wmem[1024];
static char maps_scratch[4096];
static cd__sigmod mods[CD__FPWALK_MAX + 1];

/* The last fault a previous handler returned from, on this thread. */
static __thread struct {
    int sig;
    uintptr_t pc, addr;
    uint64_t when; /* cd__nanotime() */
    unsigned n;
} last __attribute__((tls_model("initial-exec")));

static void on_signal(int sig, siginfo_t *si, void *ucv);

static int sig_index(int sig)
{
    for (size_t i = 0; i < NSIGS; i++)
        if (sigs[i].sig == sig)
            return (int)i;
    return -1;
}

static pid_t self_tid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

/* Waits for the end of the process: every signal is blocked in the
 * handler (sa_mask), so pause() never returns. */
static void __attribute__((noreturn)) park(void)
{
    for (;;)
        pause();
}

/* ---- the reporter ------------------------------------------------------- */

static bool advance(uint32_t from, uint32_t to)
{
    bool ok = atomic_compare_exchange_strong(&phase, &from, to);
    cd__futex_wake(&phase, INT_MAX);
    return ok;
}

static void __attribute__((noreturn)) reporter_fail(void)
{
    atomic_store(&phase, PH_FAILED);
    cd__futex_wake(&phase, INT_MAX);
    park();
}

/* Builds text with fn into a malloc'd buffer: returns it (or NULL). */
static char *render(void (*fn)(FILE *f, cd__symctx *sym), cd__symctx *sym, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);
    if (f == NULL)
        return NULL;
    fn(f, sym);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static void render_hit(FILE *f, cd__symctx *sym)
{
    cd__taskprof_print_stack(f, sym, hit.pcs, hit.n, hit.task, hit.lvl >= CD__TB_SYSTEM,
                             hit.created_by);
}

static void render_all(FILE *f, cd__symctx *sym)
{
    cd__taskprof_dumpopt opt = {
        .signal_all = true, /* the process is about to end */
        .skip = hit.thr,
        .user_only = hit.lvl < CD__TB_SYSTEM,
        .runtime = hit.lvl >= CD__TB_SYSTEM,
        .sym = sym,
    };
    int rc = cd__taskprof_dump(f, &opt);
    if (rc < 0)
        fprintf(f, "cdebug: task dump failed: %s\n", strerror(-rc));
}

/* Writes buf, from phase `from` through `writing` to `done`, unless the
 * owner abandoned the report first. */
static void publish(const char *prefix, const char *buf, size_t len, uint32_t from,
                    uint32_t writing, uint32_t done)
{
    if (!advance(from, writing))
        park(); /* abandoned: the owner has moved on */
    if (prefix != NULL)
        (void)cd__write_all(2, prefix, strlen(prefix));
    (void)cd__write_all(2, buf, len);
    advance(writing, done);
}

/* The reporting thread: sleeps on req until a handler asks, symbolizes
 * and writes (see crash.h), then waits for the owner to end the process.
 * Not registered (bdwgc never stops it; it appears in no profile). */
static void *reporter_main(void *arg)
{
    (void)arg;
    (void)pthread_setname_np(pthread_self(), "cd-crash");
    atomic_store(&reporter_tid, self_tid());
    size_t sslen;
    (void)cd__sigstack_add(&sslen); /* its faults are reported as failures, even on overflow */
    /* Its own malloc arena now, rather than at the crash, next to the
     * crashed thread's. */
    void *volatile first = malloc(64); /* volatile: not optimized away */
    free(first);
    while (atomic_load_explicit(&req, memory_order_acquire) == 0)
        cd__futex_wait(&req, 0, NULL);

    cd__symctx *sym = NULL;
    size_t len = 0;
    char *buf = NULL;
    if (cd__sym_begin(&sym) < 0 || (buf = render(render_hit, sym, &len)) == NULL)
        reporter_fail();
    publish(NULL, buf, len, PH_HIT, PH_HIT_WRITING, PH_HIT_DONE);
    free(buf);
    if (hit.lvl >= CD__TB_ALL) {
        if ((buf = render(render_all, sym, &len)) == NULL)
            reporter_fail();
        publish(len > 0 ? "\n" : NULL, buf, len, PH_HIT_DONE, PH_ALL_WRITING, PH_ALL_DONE);
        free(buf);
    }
    cd__sym_end(sym);
    park();
}

static int start_reporter(void)
{
    if (atomic_load(&reporter_pid) == getpid())
        return 0;
    /* Every signal blocked but the synchronous ones: a fault in the
     * reporter must reach the handler (a blocked one kills at once). */
    sigset_t all, old;
    sigfillset(&all);
    for (size_t i = 0; i < NSIGS; i++)
        if (sigs[i].sig != SIGQUIT && sigs[i].sig != SIGABRT)
            sigdelset(&all, sigs[i].sig);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_t th;
    /* The kit's own creation: not registered as a program's thread would
     * be (runtime/pthread_create.h), its mask kept whole. */
    int rc = cd__pthread_create_kit(&th, NULL, reporter_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return -rc;
    pthread_detach(th);
    atomic_store(&reporter_pid, getpid());
    return 0;
}

/* The reporter starts with the process's second thread (crash.h, step
 * 3): this thread hook runs on every thread the registry attaches. A
 * start racing with another, or after a fork that left the lock held,
 * is left to the next attach. */
static pthread_mutex_t start_mu = PTHREAD_MUTEX_INITIALIZER;

static void on_attach(cd__thread *t)
{
    (void)t;
    if (atomic_load_explicit(&reporter_pid, memory_order_acquire) == getpid() ||
        pthread_mutex_trylock(&start_mu) != 0)
        return;
    (void)start_reporter();
    pthread_mutex_unlock(&start_mu);
}

/* Whether the process runs more than one thread now (/proc/self/task).
 * Unknown counts as more. */
static bool threaded(void)
{
    DIR *d = opendir("/proc/self/task");
    if (d == NULL)
        return true;
    int n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL && n < 2;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n != 1;
}

/* ---- the handler -------------------------------------------------------- */

/* Runs the handler installed before ours: true when the signal is still
 * fatal (report it), false when that handler dealt with it (return). See
 * crash.h, "Chaining". */
static bool forward_first(int i, int sig, siginfo_t *si, void *ucv)
{
    if (!cd__sig_forward(&prior[i], sig, si, ucv))
        return true;
    struct sigaction cur;
    if (sigaction(sig, NULL, &cur) != 0 || (cur.sa_flags & SA_SIGINFO) == 0 ||
        cur.sa_sigaction != on_signal)
        return false; /* it changed the disposition: its way */
    if (sig == SIGABRT)
        return true; /* abort() goes on to kill */
    if (si == NULL || si->si_code <= 0)
        return false; /* sent by a process, and handled */
    /* In a row: the same fault again soon after. A handler that fixed the
     * cause lets the program go on; the same fault much later (a page it
     * protects again) starts a new count. */
    uintptr_t pc = cd__fpwalk_pc(ucv), addr = (uintptr_t)si->si_addr;
    uint64_t now = cd__nanotime();
    if (last.sig == sig && last.pc == pc && last.addr == addr &&
        now - last.when < (uint64_t)CD__CRASH_REPEAT_MS * 1000000u) {
        last.when = now;
        return ++last.n >= CD__CRASH_REPEAT;
    }
    last.sig = sig;
    last.pc = pc;
    last.addr = addr;
    last.when = now;
    last.n = 1;
    return false; /* the instruction runs again: maybe fixed */
}

/* Waits until phase reaches done; past deadline, abandons the reporter if
 * it is still `working` (a writer gets GRACE_NS more). 0: done, -ETIMEDOUT,
 * -EIO: the reporter failed. */
static int await(uint32_t done, uint32_t working, uint32_t writing, uint64_t deadline)
{
    for (;;) {
        uint32_t p = atomic_load(&phase);
        if (p == PH_FAILED)
            return -EIO;
        if (p >= done && p < PH_ABANDONED)
            return 0;
        uint64_t now = cd__nanotime();
        if (now >= deadline) {
            if (p == working && atomic_compare_exchange_strong(&phase, &p, PH_ABANDONED))
                return -ETIMEDOUT;
            if (p == writing && now >= deadline + GRACE_NS)
                return -ETIMEDOUT;
            if (p != writing && p != working)
                continue; /* moved on meanwhile: look again */
        }
        uint64_t until = now < deadline ? deadline : deadline + GRACE_NS;
        uint64_t d = until > now ? until - now : 1000000;
        struct timespec ts = {(time_t)(d / 1000000000u), (long)(d % 1000000000u)};
        cd__futex_wait(&phase, p, &ts);
    }
}

/* The line for a part of the report that did not come: "...HEAD REASON
 * TAIL...". */
static void why_line(cd__sigw *w, const char *head, int rc, const char *tail)
{
    cd__sigw_puts(w, "...");
    cd__sigw_puts(w, head);
    if (rc == -ETIMEDOUT) {
        cd__sigw_puts(w, "timed out (the crashed thread may hold a lock it needs)");
    } else {
        int k = sig_index(atomic_load(&failed_sig));
        cd__sigw_puts(w, "the reporting thread failed");
        if (k >= 0) {
            cd__sigw_puts(w, " with ");
            cd__sigw_putn(w, sigs[k].name, strcspn(sigs[k].name, ":"));
        }
    }
    cd__sigw_puts(w, tail);
    cd__sigw_puts(w, "...\n");
}

/* The copy of the process that reports for a process with no reporting
 * thread (crash.h, step 3): symbolizes and writes what the reporter
 * would, then exits 0. A fault ends it at once (the handlers of the
 * parent are reset here), and the parent says so. */
static void __attribute__((noreturn)) copy_main(void)
{
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (size_t i = 0; i < NSIGS; i++)
        (void)sigaction(sigs[i].sig, &dfl, NULL);
    cd__symctx *sym = NULL;
    size_t len = 0;
    char *buf = NULL;
    if (cd__sym_begin(&sym) < 0 || (buf = render(render_hit, sym, &len)) == NULL)
        _exit(3);
    (void)cd__write_all(2, buf, len);
    if (hit.lvl >= CD__TB_ALL) {
        if ((buf = render(render_all, sym, &len)) == NULL)
            _exit(4);
        if (len > 0)
            (void)cd__write_all(2, "\n", 1);
        (void)cd__write_all(2, buf, len);
    }
    _exit(0);
}

/* The copy's start: copy_main on a stack of its own. The copy begins on
 * the crashed thread's alternate signal stack (64 KiB, runtime/thread.h),
 * and libdwfl's symbolizing sometimes needed more: the copy faulted on the
 * stack's guard page (2 runs in 30 of a preloaded single-threaded
 * program, none in 40 with 1 MiB). The copy is a process of its own, so
 * it may map a stack and switch to it; without one it tries where it is. */
static void __attribute__((noreturn)) copy_start(void)
{
    static ucontext_t uc;
    size_t size = (size_t)8 << 20;
    void *stk = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stk != MAP_FAILED && getcontext(&uc) == 0) {
        uc.uc_stack.ss_sp = stk;
        uc.uc_stack.ss_size = size;
        uc.uc_link = NULL;
        makecontext(&uc, copy_main, 0);
        (void)setcontext(&uc);
    }
    copy_main();
}

/* Step 2 without a reporting thread: a copy of the process (a raw fork:
 * no atfork handler runs, so nothing is locked for it) writes the
 * symbolized part while the owner waits, with the reporter's deadlines.
 * Async-signal-safe: clone, waitpid, nanosleep, kill. */
static void symbolize_in_copy(cd__sigw *w, uint64_t t0)
{
    cd__sigw_flush(w);
    pid_t c = (pid_t)syscall(SYS_clone, (unsigned long)SIGCHLD, 0ul, 0ul, 0ul, 0ul);
    if (c == 0)
        copy_start();
    if (c < 0) {
        cd__sigw_puts(w, "...frames not symbolized: no reporting process (fork failed)" SEE_RAW
                         "...\n");
        return;
    }
    uint64_t ms = hit.lvl >= CD__TB_ALL ? CD__CRASH_ALL_MS : CD__CRASH_SYM_MS;
    uint64_t deadline = t0 + ms * 1000000u;
    int st = 0;
    for (;;) {
        pid_t r = (pid_t)waitpid(c, &st, WNOHANG);
        if (r == c)
            break;
        if (r < 0 && errno != EINTR)
            return; /* reaped by the program's SIGCHLD settings: it ended */
        if (cd__nanotime() >= deadline) {
            (void)kill(c, SIGKILL);
            (void)waitpid(c, &st, 0);
            cd__sigw_puts(w, "...frames not symbolized: timed out (the crash may have left a lock "
                             "or the heap unusable)" SEE_RAW "...\n");
            return;
        }
        struct timespec ms1 = {0, 1000000};
        nanosleep(&ms1, NULL);
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return;
    cd__sigw_puts(w, "...frames not symbolized: the reporting process failed");
    int k = WIFSIGNALED(st) ? sig_index(WTERMSIG(st)) : -1;
    if (k >= 0) {
        cd__sigw_puts(w, " with ");
        cd__sigw_putn(w, sigs[k].name, strcspn(sigs[k].name, ":"));
    }
    cd__sigw_puts(w, SEE_RAW "...\n");
}

/* Step 2 of crash.h: wakes the reporter and waits for it. Writes a line
 * for each part that did not come. */
static void symbolize_wait(cd__sigw *w, pid_t tid, uint64_t t0)
{
    if (atomic_load(&reporter_pid) != getpid()) {
        /* No reporting thread here: a single-threaded process, or a
         * child of fork(). */
        symbolize_in_copy(w, t0);
        return;
    }
    if (tid == atomic_load(&reporter_tid)) {
        cd__sigw_puts(w, "...frames not symbolized: the reporting thread itself crashed" SEE_RAW
                         "...\n");
        return;
    }
    atomic_store(&phase, PH_HIT);
    atomic_store_explicit(&req, 1, memory_order_release);
    cd__futex_wake(&req, 1);
    int rc = await(PH_HIT_DONE, PH_HIT, PH_HIT_WRITING, t0 + (uint64_t)CD__CRASH_SYM_MS * 1000000u);
    if (rc < 0) {
        why_line(w, "frames not symbolized: ", rc, SEE_RAW);
        return;
    }
    if (hit.lvl < CD__TB_ALL)
        return;
    rc =
        await(PH_ALL_DONE, PH_HIT_DONE, PH_ALL_WRITING, t0 + (uint64_t)CD__CRASH_ALL_MS * 1000000u);
    if (rc < 0) {
        cd__sigw_puts(w, "\n");
        why_line(w, "the other tasks and threads: ", rc, "");
    }
}

/* A fault on the reporting thread while it reports: the owner is told,
 * and this thread waits for the end. */
static void __attribute__((noreturn)) reporter_faulted(int sig)
{
    atomic_store(&failed_sig, sig);
    reporter_fail();
}

/* Go's dumpregs, for the architectures cdebug walks. */
static void put_reg(cd__sigw *w, const char *name, int width, uint64_t v)
{
    size_t n = strlen(name);
    cd__sigw_puts(w, name);
    for (; n < (size_t)width; n++)
        cd__sigw_putn(w, " ", 1);
    cd__sigw_hex(w, v);
    cd__sigw_putn(w, "\n", 1);
}

static void dump_regs(cd__sigw *w, const ucontext_t *uc)
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
    const greg_t *g = uc->uc_mcontext.gregs;
    for (size_t i = 0; i < sizeof r / sizeof r[0]; i++)
        put_reg(w, r[i].name, 7, (uint64_t)g[r[i].reg]);
    /* cs, gs and fs are packed in one word: cs | gs << 16 | fs << 32. */
    uint64_t csgsfs = (uint64_t)g[REG_CSGSFS];
    put_reg(w, "cs", 7, csgsfs & 0xffff);
    put_reg(w, "fs", 7, (csgsfs >> 32) & 0xffff);
    put_reg(w, "gs", 7, (csgsfs >> 16) & 0xffff);
#elif defined(__aarch64__)
    static const char *const names[] = {"r0",  "r1",  "r2",  "r3",  "r4",  "r5",  "r6",  "r7",
                                        "r8",  "r9",  "r10", "r11", "r12", "r13", "r14", "r15",
                                        "r16", "r17", "r18", "r19", "r20", "r21", "r22", "r23",
                                        "r24", "r25", "r26", "r27", "r28", "r29", "lr"};
    for (int i = 0; i < 31; i++)
        put_reg(w, names[i], 8, uc->uc_mcontext.regs[i]);
    put_reg(w, "sp", 8, uc->uc_mcontext.sp);
    put_reg(w, "pc", 8, uc->uc_mcontext.pc);
    put_reg(w, "fault", 8, uc->uc_mcontext.fault_address);
#else
    (void)w;
    (void)uc;
#endif
}

/* Go's "instruction bytes:" line for SIGILL and SIGFPE: up to 16 bytes
 * from pc, not past its page (the page holding pc is mapped: it ran). */
static void instruction_bytes(cd__sigw *w, uintptr_t pc)
{
    size_t page = page_size;
    size_t n = 16;
    if (page > 0 && n > page - pc % page)
        n = page - pc % page;
    cd__sigw_puts(w, "instruction bytes:");
    for (size_t i = 0; i < n; i++) {
        cd__sigw_putn(w, " ", 1);
        cd__sigw_hex(w, *(const volatile unsigned char *)(pc + i));
    }
    cd__sigw_putn(w, "\n", 1);
}

static void raw_frame(cd__sigw *w, uintptr_t pc, const cd__sigmod *m)
{
    cd__sigw_puts(w, "pc=");
    cd__sigw_hex(w, pc);
    if (m->found && m->path[0] != '\0') {
        cd__sigw_putn(w, " ", 1);
        cd__sigw_puts(w, m->path);
        cd__sigw_putn(w, "+", 1);
        cd__sigw_hex(w, m->off);
    } else {
        cd__sigw_puts(w, " ?");
    }
    cd__sigw_putn(w, "\n", 1);
}

/* The raw frames: each pc with its file and offset (crash.h, step 1).
 * The walk ends at the first return address outside code: code without
 * frame pointers (libc's) leaves garbage in the frame-pointer register,
 * and what the walk reads through it is data, not callers (Go's
 * traceback stops at an unexpected return pc too). */
static void raw_frames(cd__sigw *w)
{
    uintptr_t pcs[CD__FPWALK_MAX + 1];
    size_t n = hit.n, cb = CD__FPWALK_MAX + 1;
    memcpy(pcs, hit.pcs, n * sizeof *pcs);
    if (hit.created_by != 0)
        pcs[cb = n++] = hit.created_by;
    int rc = cd__sig_modules(pcs, n, mods, maps_scratch, sizeof maps_scratch);
    for (size_t i = 1; rc == 0 && i < hit.n; i++)
        if (!mods[i].exec) {
            hit.n = i;
            break;
        }
    for (size_t i = 0; i < hit.n; i++)
        raw_frame(w, pcs[i], &mods[i]);
    if (hit.created_by != 0) {
        cd__sigw_puts(w, "created by ");
        raw_frame(w, hit.created_by, &mods[cb]);
    }
}

/* The block's header, as the task dump's (prof/taskprof.c). */
static void header(cd__sigw *w, const cd__thread *self, const cd__task_view *v, pid_t tid)
{
    if (hit.task) {
        cd__sigw_puts(w, "goroutine ");
        cd__sigw_udec(w, v->id);
        cd__sigw_puts(w, " [running");
        if (v->name != NULL && v->name[0] != '\0') {
            cd__sigw_puts(w, ", task ");
            cd__sigw_quote(w, v->name, NAME_MAX_LEN - 1);
        }
    } else if (self != NULL) {
        cd__sigw_puts(w, "thread M");
        cd__sigw_udec(w, self->id);
        cd__sigw_puts(w, " [");
        cd__sigw_puts(w, cd__thread_kind_name(self->kind));
        cd__sigw_puts(w, ", running");
    } else {
        cd__sigw_puts(w, "thread tid ");
        cd__sigw_dec(w, tid);
        cd__sigw_puts(w, " [unregistered, running");
    }
    cd__sigw_puts(w, "]:\n");
}

/* Ends the process: exit status 2, or at crash the signal with its default
 * action (a core), as Go's dieFromSignal. */
static void __attribute__((noreturn)) finish(int sig, int lvl, pid_t tid)
{
    if (lvl == CD__TB_CRASH) {
        struct sigaction dfl;
        memset(&dfl, 0, sizeof dfl);
        dfl.sa_handler = SIG_DFL;
        sigaction(sig, &dfl, NULL);
        sigset_t one;
        sigemptyset(&one);
        sigaddset(&one, sig);
        pthread_sigmask(SIG_UNBLOCK, &one, NULL);
        syscall(SYS_tgkill, getpid(), tid, sig);
        /* Delivered on the way out of tgkill; should it not be: */
        sched_yield();
    }
    _exit(2);
}

/* [lo, hi) is readable code, as /proc/self/maps says now: both ends in
 * readable executable mappings (6 bytes: the same or adjacent pages).
 * cd__fpwalk_fix_leaf's test (base/fpwalk.h). Async-signal-safe. */
static bool code_at(uintptr_t lo, uintptr_t hi)
{
    const uintptr_t ends[2] = {lo, hi - 1};
    cd__sigmod m[2];
    return cd__sig_modules(ends, 2, m, maps_scratch, sizeof maps_scratch) == 0 && m[0].exec &&
           m[0].read && m[1].exec && m[1].read;
}

/* The owner's report: crash.h's step 1, then step 2, then the end. */
static void __attribute__((noreturn)) report(int sig, siginfo_t *si, void *ucv, pid_t tid)
{
    const ucontext_t *uc = ucv;
    uint64_t t0 = cd__nanotime();
    int i = sig_index(sig);
    int lvl = level;
    if (sig == SIGQUIT && lvl == CD__TB_SINGLE)
        lvl = CD__TB_ALL; /* Go's SIGQUIT prints every goroutine */
    cd__sigw w;
    cd__sigw_init(&w, 2, wmem, sizeof wmem);
    cd__sigw_puts(&w, sigs[i].name);
    cd__sigw_putn(&w, "\n", 1);
    if (secure) { /* Go's isSecureMode: nothing more */
        cd__sigw_flush(&w);
        finish(sig, lvl, tid);
    }

    cd__thread *self = cd__self;
    hit.lvl = lvl;
    hit.thr = self;
    hit.n = cd__fpwalk_ucontext(uc, hit.pcs, CD__FPWALK_MAX);
    if (hit.n == 0) { /* a thread whose stack bounds are unknown: its pc */
        hit.pcs[0] = cd__fpwalk_pc(uc);
        hit.n = 1;
    }
    /* A fault in a frameless leaf: its caller from the word at the stack
     * pointer, as the CPU profiler's samples have it. */
    hit.n = cd__fpwalk_fix_leaf(uc, hit.pcs, hit.n, CD__FPWALK_MAX, code_at);
    cd__sigw_puts(&w, "PC=");
    cd__sigw_hex(&w, hit.pcs[0]);
    cd__sigw_puts(&w, " m=");
    cd__sigw_dec(&w, self != NULL ? (int64_t)self->id : -1);
    cd__sigw_puts(&w, " sigcode=");
    cd__sigw_dec(&w, si != NULL ? si->si_code : 0);
    if ((sig == SIGSEGV || sig == SIGBUS) && si != NULL) {
        cd__sigw_puts(&w, " addr=");
        cd__sigw_hex(&w, (uintptr_t)si->si_addr);
    }
    cd__sigw_putn(&w, "\n", 1);
    if (sig == SIGILL || sig == SIGFPE)
        instruction_bytes(&w, hit.pcs[0]);
    if (lvl == CD__TB_NONE) {
        cd__sigw_putn(&w, "\n", 1);
        cd__sigw_flush(&w);
        finish(sig, lvl, tid);
    }

    /* Lock-free reads of what the thread runs (runtime/sched_view.h): the
     * task is this thread's own, alive while it sits in this handler. */
    cd__task_view v;
    memset(&v, 0, sizeof v);
    hit.task = self != NULL && cd__sched_thread_task(self, &v);
    hit.created_by = 0;
    if (hit.task)
        hit.created_by = v.gopc;
    else if (self != NULL && self->ncreate > 0 &&
             (self->kind == CD__THREAD_WORKER || self->kind == CD__THREAD_SYSTEM))
        hit.created_by = self->create_pcs[0];
    raw_frames(&w);
    cd__sigw_putn(&w, "\n", 1);
    header(&w, self, &v, tid);
    cd__sigw_flush(&w); /* step 1 is out */

    symbolize_wait(&w, tid, t0);
    if (lvl >= CD__TB_SYSTEM || sig == SIGQUIT) {
        cd__sigw_putn(&w, "\n", 1);
        dump_regs(&w, uc);
    }
    cd__sigw_flush(&w);
    finish(sig, lvl, tid);
}

/* Async-signal-safe (crash.h): atomics, TLS, system calls, the frame
 * walk, the lock-free reads of runtime/sched_view.h and base/sigsafe.h;
 * the owner waits on a futex. */
static void on_signal(int sig, siginfo_t *si, void *ucv)
{
    int saved = errno;
    int i = sig_index(sig);
    if (i < 0)
        return;
    if (sig != SIGQUIT && atomic_load(&owner) == 0 && cd__sig_is_handler(&prior[i]) &&
        !forward_first(i, sig, si, ucv)) {
        errno = saved;
        return;
    }
    pid_t tid = self_tid(), none = 0;
    if (!atomic_compare_exchange_strong(&owner, &none, tid)) {
        if (tid == atomic_load(&reporter_tid) && atomic_load(&reporter_pid) == getpid())
            reporter_faulted(sig);
        park(); /* another thread reports: wait for the end, as Go's do */
    }
    report(sig, si, ucv, tid);
}

/* ---- installation ------------------------------------------------------- */

int cd__crash_start(int lvl, bool sigquit)
{
    level = lvl;
    secure = getauxval(AT_SECURE) != 0;
    page_size = (size_t)sysconf(_SC_PAGESIZE);
    /* none prints two lines: no reporter. Otherwise it starts now in a
     * process that has threads, else with the second thread (step 3):
     * one thread more would switch glibc to its multi-threaded paths in
     * a program that had none (+4% CPU per request for nginx). Under a
     * sanitizer, whose runtime a raw fork would copy mid-state, now. */
    int rc = 0;
    if (lvl > CD__TB_NONE) {
        bool now = threaded();
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
        now = true;
#endif
        rc = now ? start_reporter() : cd__hooks_thread(on_attach, NULL);
        if (rc == -EEXIST)
            rc = 0;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    /* On the alternate stack (a stack overflow), every signal blocked
     * while it runs (no nesting: a second one waits for the exit). */
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
    sigfillset(&sa.sa_mask);
    for (size_t i = 0; i < NSIGS; i++) {
        if (sigaction(sigs[i].sig, NULL, &prior[i]) != 0)
            continue;
        /* SIGQUIT: the program's own handler wins; SIG_IGN does not, as
         * in Go (it honours an inherited SIG_IGN only for SIGHUP and
         * SIGINT). */
        if (sigs[i].sig == SIGQUIT && (!sigquit || cd__sig_is_handler(&prior[i])))
            continue;
        if (sigaction(sigs[i].sig, &sa, NULL) != 0 && rc == 0)
            rc = -errno;
    }
    return rc;
}

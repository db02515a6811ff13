/* prof/threadstack.c - the current stack of another thread, by signal; see
 * threadstack.h for the protocol. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prof/threadstack.h"
#include "base/clock.h"
#include "base/dlhist.h"
#include "base/futex.h"
#include "base/io.h"
#include "base/sigsafe.h"
#include "runtime/sigmask.h"

#define TS_SIG SIGURG

enum { PH_FREE = 0, PH_PENDING = 1, PH_WRITING = 2, PH_DONE = 3 };

/* A slot's state word: (tid << 2) | phase; 0 is free. */
#define ST(tid, ph) (((uint64_t)(uint32_t)(tid) << 2) | (uint64_t)(ph))
#define PHASE(st)   ((int)((st)&3u))

typedef struct slot {
    _Atomic uint64_t state;
    _Atomic uint32_t n;
    _Atomic uint32_t epoch;
    _Atomic uintptr_t pcs[CD__FPWALK_MAX];
} slot;

static slot slots[CD__TS_SLOTS];
static _Atomic uint32_t done_seq; /* bumped by every answer: the requester's futex */
static pthread_mutex_t req_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc;

/* The handler: async-signal-safe (a system call for the tid, atomics, the
 * frame walk, a futex wake); never blocks. */
static void on_signal(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)si;
    int saved = errno;
    pid_t tid = (pid_t)syscall(SYS_gettid);
    uint64_t want = ST(tid, PH_PENDING);
    for (size_t i = 0; i < CD__TS_SLOTS; i++) {
        slot *s = &slots[i];
        if (atomic_load_explicit(&s->state, memory_order_relaxed) != want)
            continue;
        uint64_t exp = want;
        if (!atomic_compare_exchange_strong_explicit(&s->state, &exp, ST(tid, PH_WRITING),
                                                     memory_order_acquire, memory_order_relaxed))
            continue;
        uintptr_t pcs[CD__FPWALK_MAX];
        size_t n = cd__fpwalk_ucontext(uc, pcs, CD__FPWALK_MAX);
        for (size_t k = 0; k < n; k++)
            atomic_store_explicit(&s->pcs[k], pcs[k], memory_order_relaxed);
        atomic_store_explicit(&s->n, (uint32_t)n, memory_order_relaxed);
        /* The stack's own epoch: the requester reads its snapshot's
         * earlier, and a library may be unloaded and another loaded at
         * its addresses in between. */
        atomic_store_explicit(&s->epoch, cd__dl_epoch(), memory_order_relaxed);
        atomic_store_explicit(&s->state, ST(tid, PH_DONE), memory_order_release);
        atomic_fetch_add_explicit(&done_seq, 1, memory_order_release);
        cd__futex_wake(&done_seq, INT_MAX);
        break;
    }
    errno = saved;
}

static void install(void)
{
    struct sigaction old, sa;
    if (sigaction(TS_SIG, NULL, &old) != 0) {
        init_rc = -errno;
        return;
    }
    /* A handler of the program's own: leave it alone, ask no thread. */
    if (cd__sig_is_handler(&old)) {
        init_rc = -EBUSY;
        return;
    }
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_signal;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigfillset(&sa.sa_mask); /* one handler at a time per thread: no nesting */
    init_rc = sigaction(TS_SIG, &sa, NULL) == 0 ? 0 : -errno;
    /* A thread that blocks every signal still answers, from now on
     * (runtime/sigmask.h); the handler is async-signal-safe and
     * restarts what it interrupts. */
    if (init_rc == 0)
        cd__sigmask_keep(TS_SIG);
}

/* Whether thread tid blocks TS_SIG now (SigBlk in /proc/self/task/TID/
 * status): such a thread cannot answer, and asking it would cost the
 * whole batch its timeout (bdwgc's markers start with every signal
 * blocked). Unknown: false (ask). */
static bool blocks_sig(pid_t tid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/self/task/%d/status", (int)tid);
    if (cd__read_small(path, buf, sizeof buf) <= 0)
        return false;
    const char *b = strstr(buf, "\nSigBlk:");
    if (b == NULL)
        return false;
    unsigned long long mask = strtoull(b + 8, NULL, 16);
    return ((mask >> (TS_SIG - 1)) & 1) != 0;
}

/* Installs the signal handler (once; later calls return the first
 * result). -EBUSY when the program has its own SIGURG handler: it is left
 * alone and no thread is ever signalled. Thread-safe. */
static int ts_init(void)
{
    pthread_once(&init_once, install);
    return init_rc;
}

/* Phase of every slot in [0, k) settled (done, or freed on a failed
 * send)? */
static bool settled(size_t k)
{
    for (size_t i = 0; i < k; i++) {
        int ph = PHASE(atomic_load_explicit(&slots[i].state, memory_order_acquire));
        if (ph == PH_PENDING || ph == PH_WRITING)
            return false;
    }
    return true;
}

/* Ends slot i of the batch: takes its answer if done, abandons it if
 * still pending, waits out a handler caught writing. Frees the slot. */
static bool finish(size_t i, cd__ts_req *r)
{
    slot *s = &slots[i];
    for (;;) {
        uint64_t st = atomic_load_explicit(&s->state, memory_order_acquire);
        switch (PHASE(st)) {
        case PH_FREE:
            return false; /* the send failed */
        case PH_PENDING:
            if (atomic_compare_exchange_strong_explicit(&s->state, &st, 0, memory_order_relaxed,
                                                        memory_order_relaxed))
                return false; /* no answer in time: a late handler finds nothing */
            continue;
        case PH_WRITING:
            sched_yield(); /* a handler mid-walk; it does not block */
            continue;
        default: {
            size_t n = atomic_load_explicit(&s->n, memory_order_relaxed);
            for (size_t k = 0; k < n; k++)
                r->pcs[k] = atomic_load_explicit(&s->pcs[k], memory_order_relaxed);
            r->n = n;
            r->epoch = atomic_load_explicit(&s->epoch, memory_order_relaxed);
            atomic_store_explicit(&s->state, 0, memory_order_release);
            return true;
        }
        }
    }
}

int cd__ts_collect(cd__ts_req *reqs, size_t n)
{
    int rc = ts_init();
    if (rc < 0)
        return rc;
    int answered = 0;
    pid_t pid = getpid();
    pthread_mutex_lock(&req_lock);
    for (size_t base = 0; base < n; base += CD__TS_SLOTS) {
        size_t k = n - base < CD__TS_SLOTS ? n - base : CD__TS_SLOTS;
        cd__ts_req *batch = reqs + base;
        for (size_t i = 0; i < k; i++) {
            batch[i].ok = false;
            batch[i].n = 0;
            atomic_store_explicit(&slots[i].state, ST(batch[i].tid, PH_PENDING),
                                  memory_order_release);
        }
        for (size_t i = 0; i < k; i++) {
            if (blocks_sig(batch[i].tid) || syscall(SYS_tgkill, pid, batch[i].tid, TS_SIG) != 0) {
                /* Gone (ESRCH), or the signal blocked: nothing will
                 * answer. */
                uint64_t st = ST(batch[i].tid, PH_PENDING);
                atomic_compare_exchange_strong(&slots[i].state, &st, 0);
            }
        }
        uint64_t deadline = cd__nanotime() + (uint64_t)CD__TS_TIMEOUT_MS * 1000000u;
        for (;;) {
            uint32_t seq = atomic_load_explicit(&done_seq, memory_order_acquire);
            if (settled(k))
                break;
            uint64_t now = cd__nanotime();
            if (now >= deadline)
                break;
            uint64_t d = deadline - now;
            struct timespec ts = {(time_t)(d / 1000000000u), (long)(d % 1000000000u)};
            cd__futex_wait(&done_seq, seq, &ts);
        }
        for (size_t i = 0; i < k; i++)
            if ((batch[i].ok = finish(i, &batch[i])))
                answered++;
    }
    pthread_mutex_unlock(&req_lock);
    return answered;
}

/* The blocking system calls, by number: restart says whether a handler
 * installed with SA_RESTART leaves them undisturbed (signal(7): restarted
 * transparently). Anything else that blocks (nanosleep, poll, select,
 * epoll_wait, pause, sigsuspend, SysV IPC...) would fail with EINTR; those
 * are named here too, for the profiles that say why a thread was left
 * alone. The calls only some architectures have are guarded. */
static const struct {
    long nr;
    const char *name;
    bool restart;
} calls[] = {
    {SYS_futex, "futex", true},
    {SYS_read, "read", true},
    {SYS_write, "write", true},
    {SYS_readv, "readv", true},
    {SYS_writev, "writev", true},
    {SYS_pread64, "pread64", true},
    {SYS_pwrite64, "pwrite64", true},
    {SYS_wait4, "wait4", true},
    {SYS_waitid, "waitid", true},
    {SYS_accept, "accept", true},
    {SYS_accept4, "accept4", true},
    {SYS_recvfrom, "recvfrom", true},
    {SYS_recvmsg, "recvmsg", true},
    {SYS_sendto, "sendto", true},
    {SYS_sendmsg, "sendmsg", true},
    {SYS_flock, "flock", true},
    {SYS_fcntl, "fcntl", true},
    {SYS_openat, "openat", true},
#ifdef SYS_epoll_wait
    {SYS_epoll_wait, "epoll_wait", false},
#endif
    {SYS_epoll_pwait, "epoll_pwait", false},
#ifdef SYS_epoll_pwait2
    {SYS_epoll_pwait2, "epoll_pwait2", false},
#endif
#ifdef SYS_poll
    {SYS_poll, "poll", false},
#endif
    {SYS_ppoll, "ppoll", false},
#ifdef SYS_select
    {SYS_select, "select", false},
#endif
    {SYS_pselect6, "pselect6", false},
    {SYS_nanosleep, "nanosleep", false},
    {SYS_clock_nanosleep, "clock_nanosleep", false},
#ifdef SYS_pause
    {SYS_pause, "pause", false},
#endif
    {SYS_rt_sigsuspend, "rt_sigsuspend", false},
    {SYS_rt_sigtimedwait, "rt_sigtimedwait", false},
    {SYS_io_getevents, "io_getevents", false},
    {SYS_semtimedop, "semtimedop", false},
    {SYS_msgrcv, "msgrcv", false},
    {SYS_msgsnd, "msgsnd", false},
    {SYS_connect, "connect", false},
    {SYS_recvmmsg, "recvmmsg", false},
};

static bool restartable(long nr)
{
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        if (calls[i].nr == nr)
            return calls[i].restart;
    return false;
}

const char *cd__ts_syscall_name(long nr, char *buf, size_t len)
{
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        if (calls[i].nr == nr)
            return calls[i].name;
    snprintf(buf, len, "syscall %ld", nr);
    return buf;
}

bool cd__ts_signal_safe(pid_t tid, cd__ts_sys *sys)
{
    char path[64], buf[256];
    memset(sys, 0, sizeof *sys);
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    if (cd__read_small(path, buf, sizeof buf) <= 0)
        return false;
    if (strncmp(buf, "running", 7) == 0)
        return true;
    /* "NR ARG1 ... ARG6 SP PC" (proc(5)); "-1 SP PC" outside a call. */
    char *p = buf, *end;
    long nr = strtol(p, &end, 10);
    if (end == p)
        return false;
    if (nr < 0)
        return true; /* blocked in the kernel, not in a system call */
    unsigned long long f[8];
    size_t k = 0;
    for (p = end; k < 8; p = end) {
        f[k] = strtoull(p, &end, 16);
        if (end == p)
            break;
        k++;
    }
    sys->in_syscall = true;
    sys->nr = nr;
    if (k == 8) { /* six arguments, then sp and pc */
        sys->sp = (uintptr_t)f[6];
        sys->pc = (uintptr_t)f[7];
    }
    return restartable(nr);
}

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
#include "base/futex.h"
#include "base/sigsafe.h"

#define TS_SIG SIGURG

enum { PH_FREE = 0, PH_PENDING = 1, PH_WRITING = 2, PH_DONE = 3 };

/* A slot's state word: (tid << 2) | phase; 0 is free. */
#define ST(tid, ph) (((uint64_t)(uint32_t)(tid) << 2) | (uint64_t)(ph))
#define PHASE(st)   ((int)((st)&3u))

typedef struct slot {
    _Atomic uint64_t state;
    _Atomic uint32_t n;
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
            if (syscall(SYS_tgkill, pid, batch[i].tid, TS_SIG) != 0) {
                /* Gone (ESRCH): nothing will answer. */
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

/* System calls that a handler installed with SA_RESTART does not disturb
 * (signal(7): restarted transparently), by number. Anything else that
 * blocks (nanosleep, poll, select, epoll_wait, pause, sigsuspend, SysV
 * IPC...) would fail with EINTR. */
static bool restartable(long nr)
{
    static const long ok[] = {
        SYS_futex,    SYS_read,   SYS_write,   SYS_readv,  SYS_writev,  SYS_pread64,
        SYS_pwrite64, SYS_wait4,  SYS_waitid,  SYS_accept, SYS_accept4, SYS_recvfrom,
        SYS_recvmsg,  SYS_sendto, SYS_sendmsg, SYS_flock,  SYS_fcntl,   SYS_openat,
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++)
        if (ok[i] == nr)
            return true;
    return false;
}

bool cd__ts_signal_safe(pid_t tid, bool *in_syscall)
{
    char path[64], buf[256];
    *in_syscall = false;
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t r;
    do
        r = read(fd, buf, sizeof buf - 1);
    while (r < 0 && errno == EINTR);
    close(fd);
    if (r <= 0)
        return false;
    buf[r] = '\0';
    if (strncmp(buf, "running", 7) == 0)
        return true;
    char *end;
    long nr = strtol(buf, &end, 10);
    if (end == buf)
        return false;
    if (nr < 0)
        return true; /* blocked in the kernel, not in a system call */
    *in_syscall = true;
    return restartable(nr);
}

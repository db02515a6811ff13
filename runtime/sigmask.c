/* runtime/sigmask.c - see sigmask.h. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <ucontext.h>

#include "base/interpose.h"
#include "runtime/sigmask.h"


typedef int (*mask_fn)(int, const sigset_t *, sigset_t *);

/* Bit sig-1 set: sig is kept. */
static _Atomic uint64_t kept;

void cd__sigmask_keep(int sig)
{
    if (sig >= 1 && sig <= 64)
        atomic_fetch_or_explicit(&kept, 1ull << (sig - 1), memory_order_relaxed);
}

/* The set to pass on: *set, or a copy in *buf without the kept signals
 * the call would block while they are deliverable. A kept signal the
 * thread has blocked already stays as a SIG_SETMASK asks: that is the
 * case inside the signal's own handler (the kernel blocks it there), and
 * taking it out would unblock it there, letting a second one enter the
 * handler again on the same thread. gperftools' SIGPROF handler does
 * exactly that (its unwinder saves and restores the mask with
 * SIG_SETMASK) and then spins for ever on its own lock. f, the next
 * definition, reads the current mask (one more system call, only for a
 * SIG_SETMASK that holds a kept signal). */
static const sigset_t *filtered(mask_fn f, int how, const sigset_t *set, sigset_t *buf)
{
    uint64_t k = atomic_load_explicit(&kept, memory_order_relaxed);
    if (set == NULL || k == 0 || (how != SIG_BLOCK && how != SIG_SETMASK))
        return set;
    const sigset_t *out = set;
    sigset_t cur;
    bool have_cur = false;
    for (int sig = 1; k != 0; sig++, k >>= 1) {
        if ((k & 1) == 0 || sigismember(set, sig) != 1)
            continue;
        if (how == SIG_SETMASK) {
            if (!have_cur) {
                if (f(SIG_BLOCK, NULL, &cur) != 0)
                    sigemptyset(&cur);
                have_cur = true;
            }
            if (sigismember(&cur, sig) == 1)
                continue;
        }
        if (out == set) {
            *buf = *set;
            out = buf;
        }
        sigdelset(buf, sig);
    }
    return out;
}

/* Resolved on first use (dlsym calls neither function); NULL only in a
 * static executable without libc's definition, where there is nothing to
 * forward to. */
static mask_fn next(_Atomic(mask_fn) *slot, const char *name, const void *self)
{
    mask_fn f = atomic_load_explicit(slot, memory_order_acquire);
    if (f == NULL) {
        f = (mask_fn)cd__interpose_find(name, self);
        atomic_store_explicit(slot, f, memory_order_release);
    }
    return f;
}

static _Atomic(mask_fn) next_pthread, next_proc;

CD__INTERPOSED int pthread_sigmask(int how, const sigset_t *set, sigset_t *old)
{
    mask_fn f = next(&next_pthread, "pthread_sigmask", (const void *)pthread_sigmask);
    if (f == NULL)
        return ENOSYS;
    sigset_t buf;
    return f(how, filtered(f, how, set, &buf), old);
}

CD__INTERPOSED int sigprocmask(int how, const sigset_t *set, sigset_t *old)
{
    mask_fn f = next(&next_proc, "sigprocmask", (const void *)sigprocmask);
    if (f == NULL) {
        errno = ENOSYS;
        return -1;
    }
    sigset_t buf;
    return f(how, filtered(f, how, set, &buf), old);
}

/* ---- a thread stopped by the collector keeps what it blocked ------------ */

/* bdwgc's stop-the-world handler waits in sigsuspend with a mask that
 * leaves SIGINT, SIGQUIT, SIGABRT and SIGTERM unblocked, whatever the
 * thread blocked (GC_remove_allowed_signals: so that ^C can end a hung
 * collection). A program that blocks SIGTERM in every thread and takes it
 * with sigwait in one was then killed by a SIGTERM that arrived during a
 * collection: the kernel gave it to a stopped thread, where its action
 * was the default. So the handler is wrapped: the wrapper notes the mask
 * the thread had when the stop signal came (its ucontext's), and
 * sigsuspend, called by bdwgc inside it, blocks those four signals again
 * where that mask blocked them. A thread that had them unblocked still
 * takes them while stopped, as bdwgc wants. */

static const int stop_allowed[] = {SIGINT, SIGQUIT, SIGABRT, SIGTERM};

/* Per thread: inside the wrapped handler, and the mask noted there.
 * initial-exec: read in a signal handler, no allocation. */
static __thread bool in_stop __attribute__((tls_model("initial-exec")));
static __thread sigset_t stop_mask __attribute__((tls_model("initial-exec")));

static struct sigaction gc_stop_action; /* bdwgc's, written once before the wrapper runs */

typedef int (*suspend_fn)(const sigset_t *);
static _Atomic(suspend_fn) next_suspend;
static suspend_fn suspend_next(void);

static void stop_wrapper(int sig, siginfo_t *si, void *uc)
{
    bool outer = !in_stop; /* a nested stop signal keeps the first mask */
    if (outer && uc != NULL) {
        stop_mask = ((const ucontext_t *)uc)->uc_sigmask;
        in_stop = true;
    }
    if (gc_stop_action.sa_flags & SA_SIGINFO)
        gc_stop_action.sa_sigaction(sig, si, uc);
    else
        gc_stop_action.sa_handler(sig);
    if (outer)
        in_stop = false;
}

void cd__sigmask_wrap_stop(int sig)
{
    if (suspend_next() == NULL)
        return; /* nothing to forward to: bdwgc's handler stays as it is */
    struct sigaction cur;
    if (sigaction(sig, NULL, &cur) != 0)
        return;
    if ((cur.sa_flags & SA_SIGINFO) ? cur.sa_sigaction == stop_wrapper
                                    : (cur.sa_handler == SIG_DFL || cur.sa_handler == SIG_IGN))
        return; /* wrapped already, or nothing to wrap */
    gc_stop_action = cur;
    struct sigaction w = cur;
    w.sa_flags |= SA_SIGINFO;
    w.sa_sigaction = stop_wrapper;
    (void)sigaction(sig, &w, NULL);
}

/* The next sigsuspend (libc's), resolved by cd__sigmask_wrap_stop before
 * the wrapper can run, so never looked up inside the stop handler (the
 * lookup is not async-signal-safe); a program's own first call looks it up
 * as pthread_sigmask's does. */
static suspend_fn suspend_next(void)
{
    suspend_fn f = atomic_load_explicit(&next_suspend, memory_order_acquire);
    if (f == NULL) {
        f = (suspend_fn)cd__interpose_find("sigsuspend", (const void *)sigsuspend);
        atomic_store_explicit(&next_suspend, f, memory_order_release);
    }
    return f;
}

CD__INTERPOSED int sigsuspend(const sigset_t *set)
{
    suspend_fn f = suspend_next();
    if (f == NULL) {
        errno = ENOSYS;
        return -1;
    }
    if (!in_stop)
        return f(set);
    sigset_t m = *set;
    for (size_t i = 0; i < sizeof stop_allowed / sizeof stop_allowed[0]; i++)
        if (sigismember(&stop_mask, stop_allowed[i]) == 1)
            sigaddset(&m, stop_allowed[i]);
    return f(&m);
}

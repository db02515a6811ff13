/* runtime/sigmask.c - see sigmask.h. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

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

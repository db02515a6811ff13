/* runtime/hooks.c - see hooks.h. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>

#include "runtime/hooks.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static cd__thread_hook attach_hooks[CD__HOOKS_MAX], detach_hooks[CD__HOOKS_MAX];
static _Atomic size_t nthread; /* entries [0, nthread) are immutable */

static void (*fork_hooks[CD__HOOKS_MAX])(void);
static _Atomic size_t nfork;

int cd__hooks_thread(cd__thread_hook on_attach, cd__thread_hook on_detach)
{
    int rc = 0;
    pthread_mutex_lock(&lock);
    size_t n = atomic_load_explicit(&nthread, memory_order_relaxed);
    for (size_t i = 0; i < n; i++)
        if (attach_hooks[i] == on_attach && detach_hooks[i] == on_detach) {
            rc = -EEXIST;
            goto out;
        }
    if (n == CD__HOOKS_MAX) {
        rc = -ENOSPC;
        goto out;
    }
    attach_hooks[n] = on_attach;
    detach_hooks[n] = on_detach;
    atomic_store_explicit(&nthread, n + 1, memory_order_release);
out:
    pthread_mutex_unlock(&lock);
    return rc;
}

void cd__hooks_attach(cd__thread *t)
{
    size_t n = atomic_load_explicit(&nthread, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (attach_hooks[i] != NULL)
            attach_hooks[i](t);
}

void cd__hooks_detach(cd__thread *t)
{
    size_t n = atomic_load_explicit(&nthread, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (detach_hooks[i] != NULL)
            detach_hooks[i](t);
}

int cd__hooks_fork_child(void (*fn)(void))
{
    int rc = 0;
    pthread_mutex_lock(&lock);
    size_t n = atomic_load_explicit(&nfork, memory_order_relaxed);
    for (size_t i = 0; i < n; i++)
        if (fork_hooks[i] == fn) {
            rc = -EEXIST;
            goto out;
        }
    if (n == CD__HOOKS_MAX) {
        rc = -ENOSPC;
        goto out;
    }
    fork_hooks[n] = fn;
    atomic_store_explicit(&nfork, n + 1, memory_order_release);
out:
    pthread_mutex_unlock(&lock);
    return rc;
}

void cd__hooks_run_fork_child(void)
{
    /* A registration that was half-done in another thread at the fork
     * (lock held) has not published its entry: it is not run. The lock
     * itself is made anew for the child's own registrations. */
    lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    size_t n = atomic_load_explicit(&nfork, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        fork_hooks[i]();
}

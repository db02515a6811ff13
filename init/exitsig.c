/* init/exitsig.c - see exitsig.h. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <unistd.h>

#include "base/futex.h"
#include "init/exitsig.h"
#include "runtime/thread.h"

static const int sigs[] = {SIGTERM, SIGINT};

/* The signal that asked for the exit work, 0 before. */
static _Atomic uint32_t pending;
static pid_t owner; /* the process whose thread waits on pending */
static void (*exit_work)(void);

/* Ends the process with sig by its default action. Async-signal-safe. */
static void die_by(int sig)
{
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    sigemptyset(&dfl.sa_mask);
    (void)sigaction(sig, &dfl, NULL);
    /* Delivered to a thread that does not block it: the process ends. */
    (void)kill(getpid(), sig);
}

/* Async-signal-safe: getpid, an atomic exchange, a futex wake, and (in a
 * fork child or on a second signal) sigaction and kill; errno kept. */
static void on_signal(int sig)
{
    int saved = errno;
    if (getpid() != owner) {
        die_by(sig); /* a fork child: the thread is the parent's */
    } else if (atomic_exchange_explicit(&pending, (uint32_t)sig, memory_order_acq_rel) != 0) {
        die_by(sig); /* a second signal: no more waiting */
    } else {
        cd__futex_wake(&pending, 1);
    }
    errno = saved;
}

static void *exit_main(void *arg)
{
    (void)arg;
    uint32_t sig;
    while ((sig = atomic_load_explicit(&pending, memory_order_acquire)) == 0)
        cd__futex_wait(&pending, 0, NULL);
    exit_work();
    /* This thread blocks sig (a kit thread's mask): one of the program's
     * takes it. Wait for the end rather than return. */
    die_by((int)sig);
    for (;;)
        pause();
    return NULL;
}

int cd__exitsig_start(void (*work)(void))
{
    bool any = false;
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction cur;
        if (sigaction(sigs[i], NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) == 0 &&
            cur.sa_handler == SIG_DFL)
            any = true;
    }
    if (!any)
        return 0;
    exit_work = work;
    owner = getpid();
    int rc = cd__thread_spawn(NULL, "cd-exit", CD__THREAD_SYSTEM, false, exit_main, NULL);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++) {
        struct sigaction cur, sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
        sigemptyset(&sa.sa_mask);
        /* Checked again: only a default action is replaced. */
        if (sigaction(sigs[i], NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) == 0 &&
            cur.sa_handler == SIG_DFL)
            (void)sigaction(sigs[i], &sa, NULL);
    }
    return 0;
}

/* runtime/waitgroup.c - cd_waitgroup, Go's sync.WaitGroup.
 *
 * state_ packs the count (high 32 bits, signed) and the number of sleeping
 * waiters (low 32 bits) in one word, as Go does, for a reason that matters:
 * the last cd_wg_done must decide whether to wake anyone from the same
 * atomic operation that zeroes the count. Reading a separate waiters field
 * afterwards would touch memory a waiter may already have reclaimed (a
 * waitgroup on the waiter's stack is the common case; ThreadSanitizer
 * caught exactly that in an earlier version).
 *
 * Protocol. A waiter reads seq_, then registers itself with a CAS that
 * succeeds only while the count is non-zero, then sleeps until seq_ moves.
 * The Add that brings the count to zero with waiters registered resets the
 * state to 0, bumps seq_ and wakes the futex: registered waiters cannot
 * return before seq_ moves, so the waitgroup is alive until then. The final
 * futex wake may reach an address whose waiter already left: that is a
 * system call on an address, not a memory access, and futex sleepers always
 * re-check their condition.
 *
 * Inside a task, cd_wg_wait is a blocking call with hand-off: the task's
 * worker goes on running other tasks, including the ones being waited for,
 * so waiting never deadlocks the pool (docs/scheduler.md explains the
 * choice).
 *
 * A wait that nothing can ever end is fatal, as in Go ("all goroutines are
 * asleep"): when no other task exists and every other thread of the process
 * is an idle pool thread (cd__sched_deadlocked). The typical case is a child
 * of fork() waiting for tasks of its parent, which do not exist there. The
 * sleep is cut in periods of CD__WG_CHECK_S seconds to look again, since
 * the last task that could have called cd_wg_done may end during the wait
 * without doing so. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cdebug/sched.h"
#include "base/clock.h"
#include "base/futex.h"
#include "runtime/contention.h"
#include "runtime/sched_priv.h"

#define CD__WG_CHECK_S 1 /* seconds between deadlock checks of a sleeping wait */

#define COUNT(st)   ((int32_t)(uint32_t)((st) >> 32))
#define WAITERS(st) ((uint32_t)(st))

void cd_wg_init(cd_waitgroup *wg)
{
    __atomic_store_n(&wg->state_, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&wg->seq_, 0, __ATOMIC_SEQ_CST);
    wg->pad_ = 0;
}

static void die(const char *msg, size_t n)
{
    (void)!write(2, msg, n);
    abort(); /* Go panics: these are program bugs */
}

void cd_wg_add(cd_waitgroup *wg, int delta)
{
    uint64_t st = __atomic_add_fetch(&wg->state_, (uint64_t)(int64_t)delta << 32, __ATOMIC_SEQ_CST);
    int32_t v = COUNT(st);
    uint32_t w = WAITERS(st);
    if (v < 0) {
        static const char msg[] = "cdebug: sync: negative WaitGroup counter\n";
        die(msg, sizeof msg - 1);
    }
    if (w != 0 && delta > 0 && v == delta) {
        static const char msg[] = "cdebug: sync: WaitGroup misuse: Add called concurrently "
                                  "with Wait\n";
        die(msg, sizeof msg - 1);
    }
    if (v > 0 || w == 0)
        return;
    /* Count is zero and w waiters sleep: nobody else can change the state
     * now (new waiters need a non-zero count), so reset it and release. */
    __atomic_store_n(&wg->state_, 0, __ATOMIC_SEQ_CST);
    __atomic_add_fetch(&wg->seq_, 1, __ATOMIC_SEQ_CST);
    cd__futex_wake((_Atomic uint32_t *)&wg->seq_, INT_MAX);
}

void cd_wg_done(cd_waitgroup *wg)
{
    cd_wg_add(wg, -1);
}

/* Go's fatal error for a wait nothing can end: message, exit status 2. */
static void __attribute__((noreturn, cold)) deadlock(cd_waitgroup *wg)
{
    char msg[512];
    uint64_t dropped = cd__sched_dropped();
    int n = snprintf(msg, sizeof msg,
                     "fatal error: all goroutines are asleep - deadlock!\n\n"
                     "cdebug: sync.WaitGroup.Wait: count %d, and no task or other thread is "
                     "left that could call cd_wg_done\n",
                     (int)COUNT(__atomic_load_n(&wg->state_, __ATOMIC_SEQ_CST)));
    if (dropped > 0 && n > 0 && (size_t)n < sizeof msg)
        n += snprintf(msg + n, sizeof msg - (size_t)n,
                      "cdebug: this process is a child of fork(): the %llu task(s) its parent "
                      "had queued or running at the fork do not exist here\n",
                      (unsigned long long)dropped);
    if (n > 0)
        (void)!write(2, msg, (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1);
    _exit(2);
}

void cd_wg_wait(cd_waitgroup *wg)
{
    uint32_t seq = __atomic_load_n(&wg->seq_, __ATOMIC_SEQ_CST);
    uint64_t st = __atomic_load_n(&wg->state_, __ATOMIC_SEQ_CST);
    for (;;) {
        if (COUNT(st) == 0)
            return;
        if (__atomic_compare_exchange_n(&wg->state_, &st, st + 1, false, __ATOMIC_SEQ_CST,
                                        __ATOMIC_SEQ_CST))
            break;
        /* st was reloaded by the failed CAS; seq cannot have moved without
         * the count reaching zero, which the loop checks. */
    }
    /* The block profile's event (runtime/contention.h): timed only when
     * it is on. */
    uint64_t t0 = atomic_load_explicit(&cd__block_rate, memory_order_relaxed) != 0 ? cd__nanotime() : 0;
    cd__sched_block_begin("sync.WaitGroup.Wait");
    const struct timespec period = {CD__WG_CHECK_S, 0};
    while (__atomic_load_n(&wg->seq_, __ATOMIC_SEQ_CST) == seq) {
        if (cd__sched_deadlocked() && __atomic_load_n(&wg->seq_, __ATOMIC_SEQ_CST) == seq)
            deadlock(wg);
        cd__futex_wait((_Atomic uint32_t *)&wg->seq_, seq, &period);
    }
    cd__sched_block_end();
    if (t0 != 0)
        cd__contention_event(CD__CONTENTION_BLOCK, (int64_t)(cd__nanotime() - t0), 0);
    __asm__ volatile("" ::: "memory"); /* no tail call: the event's stack skips this frame */
}

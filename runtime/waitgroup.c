/* runtime/waitgroup.c - cd_waitgroup, Go's sync.WaitGroup.
 *
 * count_ is the outstanding count; seq_ is a futex word bumped each time the
 * count drops to zero; waiters_ lets cd_wg_add skip the wake-up system call
 * when nobody sleeps (the common case of a waitgroup that is waited on once).
 *
 * Inside a task, cd_wg_wait is a blocking call with hand-off: the task's
 * worker goes on running other tasks, including the ones being waited for,
 * so waiting never deadlocks the pool. The price is one thread per waiting
 * task (threads are pooled and reused). Chosen over "run other tasks while
 * waiting", which nests unrelated tasks on the waiter's stack and can leave
 * the waiter unable to return until an unrelated long task finishes.
 *
 * All operations use sequentially consistent atomics: a waiter announces
 * itself (waiters_++) and re-checks the count; a finisher zeroes the count,
 * bumps seq_ and then reads waiters_. Whichever comes second sees the other.
 */
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "cdebug/sched.h"
#include "runtime/futex.h"
#include "runtime/sched_priv.h"

void cd_wg_init(cd_waitgroup *wg)
{
    __atomic_store_n(&wg->count_, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&wg->seq_, 0, __ATOMIC_SEQ_CST);
    __atomic_store_n(&wg->waiters_, 0, __ATOMIC_SEQ_CST);
}

void cd_wg_add(cd_waitgroup *wg, int delta)
{
    int64_t v = __atomic_add_fetch(&wg->count_, (int64_t)delta, __ATOMIC_SEQ_CST);
    if (v < 0) {
        static const char msg[] = "cdebug: sync: negative WaitGroup counter\n";
        (void)!write(2, msg, sizeof msg - 1);
        abort(); /* Go panics: a negative count is a program bug */
    }
    if (v == 0 && delta != 0) {
        __atomic_add_fetch(&wg->seq_, 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&wg->waiters_, __ATOMIC_SEQ_CST) > 0)
            cd__futex_wake((_Atomic uint32_t *)&wg->seq_, INT_MAX);
    }
}

void cd_wg_done(cd_waitgroup *wg)
{
    cd_wg_add(wg, -1);
}

void cd_wg_wait(cd_waitgroup *wg)
{
    if (__atomic_load_n(&wg->count_, __ATOMIC_SEQ_CST) == 0)
        return;
    cd__sched_block_begin("sync.WaitGroup.Wait");
    for (;;) {
        uint32_t seq = __atomic_load_n(&wg->seq_, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&wg->count_, __ATOMIC_SEQ_CST) == 0)
            break;
        __atomic_add_fetch(&wg->waiters_, 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&wg->count_, __ATOMIC_SEQ_CST) != 0)
            cd__futex_wait((_Atomic uint32_t *)&wg->seq_, seq, NULL);
        __atomic_sub_fetch(&wg->waiters_, 1, __ATOMIC_SEQ_CST);
    }
    cd__sched_block_end();
}

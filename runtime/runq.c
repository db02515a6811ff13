/* runtime/runq.c - per-worker bounded run queues (Go's runq design).
 *
 * A ring of CD__RUNQ_SIZE task pointers with a head and a tail index that
 * only grow (uint32 wrap-around is harmless: all arithmetic is modular).
 * The owner P is the only writer of tail and of the slots it fills; any M
 * may consume from head by CAS, so taking a task needs no lock and stealing
 * half of a victim's queue is one CAS for the whole batch.
 *
 * Slot reads by consumers may race with the owner refilling a slot that a
 * successful CAS by someone else already released; such a read is thrown
 * away because the consumer's own CAS then fails. Slots are atomics so the
 * race is defined behaviour (and invisible to TSan), never a torn pointer.
 */
#include "runtime/sched_priv.h"

bool cd__runq_put(cd__p *p, cd__task *t)
{
    cd__runq *q = &p->runq;
    uint32_t h = atomic_load_explicit(&q->head, memory_order_acquire);
    uint32_t tl = atomic_load_explicit(&q->tail, memory_order_relaxed);
    if (tl - h >= CD__RUNQ_SIZE)
        return false;
    atomic_store_explicit(&q->slots[tl % CD__RUNQ_SIZE], t, memory_order_relaxed);
    /* Release: the task's fields and the slot are visible before the tail. */
    atomic_store_explicit(&q->tail, tl + 1, memory_order_release);
    return true;
}

cd__task *cd__runq_get(cd__p *p)
{
    cd__runq *q = &p->runq;
    for (;;) {
        uint32_t h = atomic_load_explicit(&q->head, memory_order_acquire);
        uint32_t tl = atomic_load_explicit(&q->tail, memory_order_acquire);
        if (tl == h)
            return NULL;
        cd__task *t = atomic_load_explicit(&q->slots[h % CD__RUNQ_SIZE], memory_order_relaxed);
        if (atomic_compare_exchange_weak_explicit(&q->head, &h, h + 1, memory_order_acq_rel,
                                                  memory_order_relaxed))
            return t;
    }
}

/* Copies about half of q's tasks into batch (at most max) and consumes
 * them with one CAS. Returns how many. Callable by any M. */
static uint32_t grab(cd__runq *q, cd__task **batch, uint32_t max)
{
    for (;;) {
        uint32_t h = atomic_load_explicit(&q->head, memory_order_acquire);
        uint32_t tl = atomic_load_explicit(&q->tail, memory_order_acquire);
        uint32_t n = tl - h;
        n = n - n / 2;
        if (n == 0)
            return 0;
        if (n > CD__RUNQ_SIZE / 2) /* read h and tl inconsistently: retry */
            continue;
        if (n > max)
            n = max;
        for (uint32_t i = 0; i < n; i++)
            batch[i] =
                atomic_load_explicit(&q->slots[(h + i) % CD__RUNQ_SIZE], memory_order_relaxed);
        if (atomic_compare_exchange_weak_explicit(&q->head, &h, h + n, memory_order_acq_rel,
                                                  memory_order_relaxed))
            return n;
    }
}

uint32_t cd__runq_grab_half(cd__p *p, cd__task **batch, uint32_t max)
{
    return grab(&p->runq, batch, max);
}

cd__task *cd__runq_steal(cd__p *p, cd__p *victim)
{
    cd__task *batch[CD__RUNQ_SIZE / 2];
    uint32_t n = grab(&victim->runq, batch, CD__RUNQ_SIZE / 2);
    if (n == 0)
        return NULL;
    /* Run the last one; queue the rest locally. p's queue was empty when we
     * decided to steal and only we fill it, so the puts cannot fail. */
    for (uint32_t i = 0; i + 1 < n; i++)
        (void)cd__runq_put(p, batch[i]);
    return batch[n - 1];
}

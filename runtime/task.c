/* runtime/task.c - task records: allocation, recycling, ids.
 *
 * Spawning must not take a lock, so each P keeps a private cache of free
 * records and a private block of task ids. Caches overflow into, and refill
 * from, one global list under a mutex, CD__TASK_BATCH records at a time, so
 * tasks spawned on one P and finished on another keep circulating.
 *
 * Records are bdwgc "uncollectable" objects: scanned (a task's arg keeps its
 * target alive while queued) and never reclaimed. Memory held is therefore
 * the peak number of tasks alive at once × sizeof(cd__task) (~80 bytes);
 * it is reused, never returned. Documented in docs/scheduler.md.
 *
 * Every block of records is also on a list (chunks) that only grows, so a
 * child of fork() can take every record back: the parent's queues and
 * caches are not trusted there (other threads were changing them at the
 * fork), but the records themselves are, since they are never freed.
 */
#include <stdlib.h>
#include <string.h>

#include <gc/gc.h>

#include "runtime/sched_priv.h"

#define CD__TASK_BATCH     32   /* records moved between caches at once */
#define CD__TASK_LOCAL_MAX 128  /* a P's cache above this spills a batch */
#define CD__TASK_ID_BLOCK  1024 /* ids a P reserves at once */

static pthread_mutex_t free_lock = PTHREAD_MUTEX_INITIALIZER;
static cd__task *free_global;
static uint64_t nfree_global;

/* Records per fresh block: blocks stay under 2 KiB, inside bdwgc's
 * small-object size classes (larger ones take its slow large-block path). */
#define CD__TASK_CHUNK ((int)((2000 - sizeof(void *)) / sizeof(cd__task)))

typedef struct chunk {
    struct chunk *next; /* written before the block is published */
    cd__task rec[CD__TASK_CHUNK];
} chunk;

static chunk *_Atomic chunks; /* every block, newest first; only grows */

/* Set in a child of fork(): take every record back on the next refill. */
static bool reclaim_pending;
static cd__task *reclaim_keep;

/* Allocates about n fresh records, linked through next_free, in blocks of
 * CD__TASK_CHUNK uncollectable records: one trip through bdwgc's allocation
 * lock per block instead of one per record. Interior records are ordinary
 * pointers into blocks bdwgc never frees, so they stay valid for ever. */
static cd__task *fresh(int n, uint32_t *got)
{
    cd__task *list = NULL;
    *got = 0;
    for (int done = 0; done < n; done += CD__TASK_CHUNK) {
        chunk *block = GC_MALLOC_UNCOLLECTABLE(sizeof *block);
        if (block == NULL)
            break;
        memset(block, 0, sizeof *block);
        for (int i = 0; i < CD__TASK_CHUNK; i++) {
            block->rec[i].next_free = list;
            list = &block->rec[i];
        }
        block->next = atomic_load_explicit(&chunks, memory_order_relaxed);
        while (!atomic_compare_exchange_weak_explicit(&chunks, &block->next, block,
                                                      memory_order_release, memory_order_relaxed))
            ;
        *got += (uint32_t)CD__TASK_CHUNK;
    }
    return list;
}

/* In a child of fork(), free_lock held: every record but reclaim_keep
 * goes on the global list, cleared. The parent's tasks they held (queued,
 * running, or cached free) do not exist here; clearing arg lets the
 * collector reclaim what only those tasks referenced. A record the parent
 * was filling at the fork may be torn in our copy: every field that
 * matters is overwritten. Touches every record once (copy-on-write pages),
 * hence done on first use, not in the atfork handler. */
static void reclaim_all(void)
{
    reclaim_pending = false;
    for (chunk *c = atomic_load_explicit(&chunks, memory_order_acquire); c != NULL; c = c->next) {
        for (int i = 0; i < CD__TASK_CHUNK; i++) {
            cd__task *t = &c->rec[i];
            if (t == reclaim_keep)
                continue;
            atomic_store_explicit(&t->state, CD__G_DONE, memory_order_relaxed);
            atomic_store_explicit(&t->m, -1, memory_order_relaxed);
            atomic_store_explicit(&t->reason, NULL, memory_order_relaxed);
            atomic_thread_fence(memory_order_release); /* as in cd__task_free */
            __atomic_store_n(&t->fn, NULL, __ATOMIC_RELAXED);
            t->arg = NULL;
            __atomic_store_n(&t->name, NULL, __ATOMIC_RELAXED);
            t->next_free = free_global;
            free_global = t;
            nfree_global++;
        }
    }
    reclaim_keep = NULL;
}

/* Takes free_lock; in a child of fork() first takes the records back, so
 * no record is ever pushed while it may still sit in the parent's lists. */
static void free_list_lock(void)
{
    pthread_mutex_lock(&free_lock);
    if (__builtin_expect(reclaim_pending, 0))
        reclaim_all();
}

void cd__task_fork_child(cd__task *keep)
{
    /* Another thread may have held it at the fork: that thread is gone. */
    free_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    free_global = NULL;
    nfree_global = 0;
    reclaim_keep = keep;
    reclaim_pending = true;
}

/* Takes up to n records from the global list (or fresh ones). */
static cd__task *take_global(int n, uint32_t *got)
{
    cd__task *list = NULL;
    uint32_t k = 0;
    free_list_lock();
    while (free_global != NULL && k < (uint32_t)n) {
        cd__task *t = free_global;
        free_global = t->next_free;
        t->next_free = list;
        list = t;
        k++;
    }
    nfree_global -= k;
    pthread_mutex_unlock(&free_lock);
    if (k == 0) {
        list = fresh(n, &k);
        if (k > (uint32_t)n) {
            /* A fresh block may hold more than asked: keep the surplus. */
            cd__task *last = list;
            for (int i = 1; i < n; i++)
                last = last->next_free;
            cd__task *surplus = last->next_free, *tail = surplus;
            while (tail->next_free != NULL)
                tail = tail->next_free;
            last->next_free = NULL;
            free_list_lock();
            tail->next_free = free_global;
            free_global = surplus;
            nfree_global += k - (uint32_t)n;
            pthread_mutex_unlock(&free_lock);
            k = (uint32_t)n;
        }
    }
    *got = k;
    return list;
}

cd__task *cd__task_alloc(cd__p *p)
{
    cd__task *t;
    if (p == NULL) {
        uint32_t got;
        t = take_global(1, &got);
    } else {
        if (p->free == NULL) {
            uint32_t got;
            p->free = take_global(CD__TASK_BATCH, &got);
            atomic_store_explicit(&p->nfree, got, memory_order_relaxed);
        }
        t = p->free;
        if (t != NULL) {
            p->free = t->next_free;
            atomic_store_explicit(&p->nfree,
                                  atomic_load_explicit(&p->nfree, memory_order_relaxed) - 1,
                                  memory_order_relaxed);
        }
    }
    if (t != NULL) {
        cds_wfcq_node_init(&t->qnode);
        t->next_free = NULL;
    }
    return t;
}

void cd__task_free(cd__p *p, cd__task *t)
{
    /* Drop references so a cached record keeps nothing alive. The fence
     * orders the caller's CD__G_DONE store before these (relaxed atomic:
     * the task profile may be reading them): a profile that reads a field
     * written from here on also sees the task done (prof/taskprof.c). */
    atomic_thread_fence(memory_order_release);
    __atomic_store_n(&t->fn, NULL, __ATOMIC_RELAXED);
    t->arg = NULL;
    __atomic_store_n(&t->name, NULL, __ATOMIC_RELAXED);
    if (p == NULL) {
        free_list_lock();
        t->next_free = free_global;
        free_global = t;
        nfree_global++;
        pthread_mutex_unlock(&free_lock);
        return;
    }
    t->next_free = p->free;
    p->free = t;
    uint32_t n = atomic_load_explicit(&p->nfree, memory_order_relaxed) + 1;
    if (n > CD__TASK_LOCAL_MAX) {
        /* Spill one batch to the global list. */
        cd__task *head = p->free, *last = head;
        for (int i = 1; i < CD__TASK_BATCH; i++)
            last = last->next_free;
        p->free = last->next_free;
        n -= CD__TASK_BATCH;
        free_list_lock();
        last->next_free = free_global;
        free_global = head;
        nfree_global += CD__TASK_BATCH;
        pthread_mutex_unlock(&free_lock);
    }
    atomic_store_explicit(&p->nfree, n, memory_order_relaxed);
}

uint64_t cd__task_next_id(cd__p *p)
{
    if (p == NULL)
        return atomic_fetch_add_explicit(&cd__sched_g.next_id, 1, memory_order_relaxed);
    if (p->id_next == p->id_end) {
        p->id_next = atomic_fetch_add_explicit(&cd__sched_g.next_id, CD__TASK_ID_BLOCK,
                                               memory_order_relaxed);
        p->id_end = p->id_next + CD__TASK_ID_BLOCK;
    }
    return p->id_next++;
}

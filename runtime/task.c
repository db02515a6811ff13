/* runtime/task.c - task records: allocation, recycling, ids.
 *
 * Spawning must not take a lock, so each P keeps a private cache of free
 * records and a private block of task ids. Caches overflow into, and refill
 * from, one global list under a mutex, CD__TASK_BATCH records at a time, so
 * tasks spawned on one P and finished on another keep circulating. The
 * global list is a stack of whole batches (each batch's first record links
 * to the next batch through its idle qnode): taking or giving a batch is
 * two pointer moves under the lock. Walking the records under the lock
 * instead cost a cache miss per record, with the other P waiting (the lock
 * then went to the kernel: bench_spawn spent a fifth of its time there).
 *
 * A thread that holds no P (main, a thread the program made) has a cache of
 * its own too (struct tcache): one batch of records and a small block of
 * ids, like Go's per-P goid cache of 16, so spawning from it takes no lock
 * and bounces no shared line but the global queue's. What is left in it
 * when the thread exits goes back to the global list.
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
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <gc/gc.h>

#include "runtime/sched_priv.h"

#define CD__TASK_BATCH     32   /* records moved between caches at once */
#define CD__TASK_LOCAL_MAX 128  /* a P's cache above this spills a batch */
#define CD__TASK_ID_BLOCK  1024 /* ids a P reserves at once */
#define CD__TASK_ID_THREAD 16   /* ids a thread without a P reserves (Go's goid cache) */

/* The global list (free_lock): whole batches, and loose records (what a
 * thread's cache gave back at exit, a fresh block's surplus, every record
 * after a fork), which are rebuilt into batches when no whole one is left. */
static pthread_mutex_t free_lock = PTHREAD_MUTEX_INITIALIZER;
static cd__task *free_batches; /* batch heads, linked through qnode.next */
static cd__task *free_loose;   /* records, linked through next_free */

/* Records per fresh block: blocks stay under 2 KiB, inside bdwgc's
 * small-object size classes (larger ones take its slow large-block path). */
#define CD__TASK_CHUNK ((int)((2000 - sizeof(void *)) / sizeof(cd__task)))

typedef struct chunk {
    struct chunk *next; /* written before the block is published */
    cd__task rec[CD__TASK_CHUNK];
} chunk;

static chunk *_Atomic chunks; /* every block, newest first; only grows */
static _Atomic uint64_t nrecords; /* records in chunks */

/* Set in a child of fork(): take every record back on the next refill. */
static bool reclaim_pending;
static cd__task *reclaim_keep;
/* Bumped in a child of fork(): a thread's cache from before is void. */
static _Atomic uint32_t generation;

/* The next batch linked from a batch's head; the head is free, so its queue
 * link is idle. */
static inline cd__task **batch_link(cd__task *head)
{
    return (cd__task **)&head->qnode.next;
}

/* Allocates about n fresh records, linked through next_free, in blocks of
 * CD__TASK_CHUNK uncollectable records: one trip through bdwgc's allocation
 * lock per block instead of one per record. Interior records are ordinary
 * pointers into blocks bdwgc never frees, so they stay valid for ever. */
static cd__task *fresh(int n, uint32_t *got)
{
    cd__task *list = NULL;
    *got = 0;
    /* bdwgc aborts a collection started by a thread it does not know ("Collecting
     * from unknown thread"): a thread of the program's that never used the
     * collector allocates with collections held off (the heap grows instead;
     * the next collection, from any known thread, runs as usual). */
    bool unknown = !GC_thread_is_registered();
    if (unknown)
        GC_disable();
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
        atomic_fetch_add_explicit(&nrecords, CD__TASK_CHUNK, memory_order_relaxed);
    }
    if (unknown)
        GC_enable();
    return list;
}

/* In a child of fork(), free_lock held: every record but reclaim_keep
 * goes on the loose list, cleared. The parent's tasks they held (queued,
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
            t->next_free = free_loose;
            free_loose = t;
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
    free_batches = NULL;
    free_loose = NULL;
    reclaim_keep = keep;
    reclaim_pending = true;
    atomic_store_explicit(&generation, atomic_load_explicit(&generation, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

/* Puts the list [head .. last] of n records back: a whole batch as one,
 * anything else loose. */
static void give_back(cd__task *head, cd__task *last, uint32_t n)
{
    free_list_lock();
    if (n == CD__TASK_BATCH) {
        *batch_link(head) = free_batches;
        free_batches = head;
    } else {
        last->next_free = free_loose;
        free_loose = head;
    }
    pthread_mutex_unlock(&free_lock);
}

/* Takes a batch of up to CD__TASK_BATCH records from the global list, or
 * fresh ones (then a whole block, which may be more). NULL when memory is
 * exhausted. */
static cd__task *take_batch(uint32_t *got)
{
    free_list_lock();
    cd__task *list = free_batches;
    uint32_t k = 0;
    if (list != NULL) {
        free_batches = *batch_link(list);
        k = CD__TASK_BATCH;
    } else {
        /* Rare: rebuild a batch from loose records, one at a time. */
        while (free_loose != NULL && k < CD__TASK_BATCH) {
            cd__task *t = free_loose;
            free_loose = t->next_free;
            t->next_free = list;
            list = t;
            k++;
        }
    }
    pthread_mutex_unlock(&free_lock);
    if (k == 0)
        list = fresh(CD__TASK_BATCH, &k);
    *got = k;
    return list;
}

/* ---- a thread's own cache, when it holds no P --------------------------- */

typedef struct tcache {
    cd__task *free;
    uint32_t n;
    uint32_t gen; /* generation it was filled in */
    bool keyed;   /* the exit destructor is registered */
    uint64_t id_next, id_end;
} tcache;

static __thread tcache tc;
static pthread_key_t tc_key;
static pthread_once_t tc_once = PTHREAD_ONCE_INIT;
static bool tc_key_ok;

/* Thread exit: the cached records go back loose. A thread of a fork's
 * parent never exits in the child, and a cache from before a fork is void
 * (its records were taken back). */
static void tc_exit(void *arg)
{
    tcache *c = arg;
    /* Another key's destructor may still spawn: its refill registers again
     * (glibc calls destructors again for values set meanwhile). */
    c->keyed = false;
    if (c->free == NULL || c->gen != atomic_load_explicit(&generation, memory_order_relaxed))
        return;
    cd__task *last = c->free;
    while (last->next_free != NULL)
        last = last->next_free;
    cd__task *head = c->free;
    uint32_t n = c->n;
    c->free = NULL;
    c->n = 0;
    give_back(head, last, n);
}

static void tc_key_create(void)
{
    tc_key_ok = pthread_key_create(&tc_key, tc_exit) == 0;
}

static cd__task *tc_alloc(void)
{
    uint32_t gen = atomic_load_explicit(&generation, memory_order_relaxed);
    if (__builtin_expect(tc.gen != gen, 0)) {
        tc.free = NULL; /* a fork took these back */
        tc.n = 0;
        tc.id_next = tc.id_end = 0;
        tc.gen = gen;
    }
    if (tc.free == NULL) {
        if (!tc.keyed) {
            /* Without the key a thread's last records are lost at its
             * exit (a batch at most): spawning still works. */
            pthread_once(&tc_once, tc_key_create);
            if (tc_key_ok)
                (void)pthread_setspecific(tc_key, &tc);
            tc.keyed = true;
        }
        tc.free = take_batch(&tc.n);
        if (tc.free == NULL)
            return NULL;
    }
    cd__task *t = tc.free;
    tc.free = t->next_free;
    tc.n--;
    return t;
}

/* ---- records ------------------------------------------------------------ */

cd__task *cd__task_alloc(cd__p *p)
{
    cd__task *t;
    if (p == NULL) {
        t = tc_alloc();
    } else {
        if (p->free == NULL) {
            uint32_t got;
            p->free = take_batch(&got);
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
    t->next_free = p->free;
    p->free = t;
    uint32_t n = atomic_load_explicit(&p->nfree, memory_order_relaxed) + 1;
    if (n > CD__TASK_LOCAL_MAX) {
        /* Spill one batch to the global list; the walk is over records
         * this P just freed, still in its cache. */
        cd__task *head = p->free, *last = head;
        for (int i = 1; i < CD__TASK_BATCH; i++)
            last = last->next_free;
        p->free = last->next_free;
        last->next_free = NULL;
        n -= CD__TASK_BATCH;
        give_back(head, last, CD__TASK_BATCH);
    }
    atomic_store_explicit(&p->nfree, n, memory_order_relaxed);
}

uint64_t cd__task_records(void)
{
    return atomic_load_explicit(&nrecords, memory_order_relaxed);
}

uint64_t cd__task_next_id(cd__p *p)
{
    uint64_t *next = p != NULL ? &p->id_next : &tc.id_next;
    uint64_t *end = p != NULL ? &p->id_end : &tc.id_end;
    if (*next == *end) {
        uint64_t block = p != NULL ? CD__TASK_ID_BLOCK : CD__TASK_ID_THREAD;
        *next = atomic_fetch_add_explicit(&cd__sched_g.next_id, block, memory_order_relaxed);
        *end = *next + block;
    }
    return (*next)++;
}

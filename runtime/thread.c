/* runtime/thread.c - the registry of threads cdebug knows. See thread.h. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include <gc/gc.h>

#include "base/fpwalk.h"
#include "base/clock.h"
#include "runtime/gc.h"
#include "runtime/hooks.h"
#include "runtime/mprof.h"
#include "runtime/pthread_create.h"
#include "runtime/thread.h"
#include "runtime/trace_recorder.h"

__thread cd__thread *cd__self;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static cd__thread *registry_head;
static _Atomic uint32_t registry_count;
/* Thread ids: 1 is the main thread's (the thread that ran cd_init, Go's
 * m0) even when threads start before it registers, as bdwgc's markers do
 * inside GC_INIT; the others count from 2. */
static _Atomic uint64_t next_thread_id = 2;
/* Counters of threads that have exited, folded in under registry_lock. */
static uint64_t dead_mallocs, dead_bytes, dead_frees;

/* cd__thread_attach with the creation stack: pcs[0..n) when the thread was
 * spawned by the kit (its spawner's stack), else (pcs NULL) the stack of
 * cd__thread_attach's caller, `skip` more frames up. noinline: the frames
 * skipped below assume attach -> cd__thread_attach(_skip) -> caller. */
static int __attribute__((noinline))
attach(cd__thread_kind kind, bool gc, const uintptr_t *pcs, size_t n, unsigned skip)
{
    if (cd__self != NULL)
        return -EEXIST;

    cd__thread *t = calloc(1, sizeof *t);
    if (t == NULL)
        return -ENOMEM;
    t->id = kind == CD__THREAD_MAIN ? 1
                                    : atomic_fetch_add_explicit(&next_thread_id, 1, memory_order_relaxed);
    t->tid = (pid_t)syscall(SYS_gettid);
    t->pthread = pthread_self();
    t->kind = kind;
    /* Stack bounds for the profilers' frame walks; without them the
     * thread's stacks are empty, which is all a failure here costs. Early:
     * the registration stack below is such a walk. */
    (void)cd__fpwalk_thread_init();
    /* Where the fatal-signal handlers run: without it, a stack overflow
     * cannot be reported (the kernel finds no stack for the handler and
     * kills the process). */
    t->sigstack = cd__sigstack_add(&t->sigstack_len);
    if (pcs != NULL) {
        t->ncreate = (uint32_t)(n < CD__THREAD_CREATE_DEPTH ? n : CD__THREAD_CREATE_DEPTH);
        memcpy(t->create_pcs, pcs, t->ncreate * sizeof pcs[0]);
    } else {
        t->ncreate = (uint32_t)cd__fpwalk_here(t->create_pcs, CD__THREAD_CREATE_DEPTH, 1 + skip);
    }

    /* Before the collector starts, the thread registers with it on its
     * first use instead (runtime/gc.c). */
    gc = gc && cd__gc_running();
    if (gc && GC_thread_is_registered()) {
        t->gc_ok = true;
    } else if (gc) {
        struct GC_stack_base sb;
        if (GC_get_stack_base(&sb) != GC_SUCCESS) {
            cd__sigstack_drop(t->sigstack, t->sigstack_len);
            free(t);
            return -EAGAIN;
        }
        int rc = GC_register_my_thread(&sb);
        t->gc_registered = t->gc_ok = (rc == GC_SUCCESS);
    }

    pthread_mutex_lock(&registry_lock);
    t->next = registry_head;
    registry_head = t;
    atomic_fetch_add_explicit(&registry_count, 1, memory_order_relaxed);
    pthread_mutex_unlock(&registry_lock);

    cd__self = t;
    /* Heap sampling starts with the registration (mprof.h), last: the
     * sampler's first entry then finds the stack bounds known and
     * cd__self set, and never looks them up itself (pthread_getattr_np,
     * whose own realloc, under its lock, could be that entry). */
    cd__mprof_thread_arm();
    /* After linking: a profile starting now either sees t in the registry
     * or is seen running by its hook (the CPU profiler's, prof/cpuprof.c). */
    cd__hooks_attach(t);
    if (CD__TRACING())
        cd__trace_ev1(CD__EV_THREAD_START, (uint64_t)kind);
    return 0;
}

int cd__thread_attach(cd__thread_kind kind, bool gc)
{
    int rc = attach(kind, gc, NULL, 0, 0);
    __asm__ volatile("" ::: "memory"); /* no tail call: attach skips this frame */
    return rc;
}

int cd__thread_attach_skip(cd__thread_kind kind, bool gc, unsigned skip)
{
    int rc = attach(kind, gc, NULL, 0, skip);
    __asm__ volatile("" ::: "memory"); /* no tail call: attach skips this frame */
    return rc;
}

/* ---- threads created outside the kit ------------------------------------ */

/* Set (to a non-NULL value) on every thread cd__thread_attach_created
 * registered: its destructor runs when the thread ends, however it ends. */
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;
static int exit_key_err;

static void exit_key_destructor(void *unused)
{
    (void)unused;
    cd__thread_detach(); /* a no-op once cd_thread_unregister detached it */
}

static void exit_key_init(void)
{
    exit_key_err = pthread_key_create(&exit_key, exit_key_destructor);
}

int cd__thread_attach_created(cd__thread_kind kind, const uintptr_t *pcs, size_t n)
{
    pthread_once(&exit_key_once, exit_key_init);
    if (exit_key_err != 0)
        return -exit_key_err; /* a record nothing would remove: none */
    int rc = attach(kind, false, pcs, n, 0);
    if (rc == 0 && pthread_setspecific(exit_key, (void *)1) != 0) {
        cd__thread_detach();
        rc = -ENOMEM;
    }
    return rc;
}

int cd__thread_gc_register(void)
{
    cd__thread *t = cd__self;
    if (t == NULL)
        return -ENOENT;
    if (t->gc_ok)
        return 0;
    if (GC_thread_is_registered()) {
        t->gc_ok = true;
        return 0;
    }
    struct GC_stack_base sb;
    if (GC_get_stack_base(&sb) != GC_SUCCESS)
        return -EAGAIN;
    t->gc_registered = t->gc_ok = GC_register_my_thread(&sb) == GC_SUCCESS;
    return t->gc_ok ? 0 : -EAGAIN;
}

void cd__thread_gc_unregister(void)
{
    cd__thread *t = cd__self;
    if (t == NULL || !t->gc_registered)
        return;
    GC_unregister_my_thread();
    t->gc_registered = t->gc_ok = false;
}

void cd__thread_detach(void)
{
    cd__thread *t = cd__self;
    if (t == NULL)
        return;
    if (CD__TRACING())
        cd__trace_ev0(CD__EV_THREAD_STOP);

    pthread_mutex_lock(&registry_lock);
    for (cd__thread **pp = &registry_head; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    dead_mallocs += atomic_load_explicit((_Atomic uint64_t *)&t->mallocs, memory_order_relaxed);
    dead_bytes += atomic_load_explicit((_Atomic uint64_t *)&t->alloc_bytes, memory_order_relaxed);
    dead_frees += atomic_load_explicit((_Atomic uint64_t *)&t->frees, memory_order_relaxed);
    atomic_fetch_sub_explicit(&registry_count, 1, memory_order_relaxed);
    pthread_mutex_unlock(&registry_lock);

    /* After unlinking, so no profile starting now can arm t again. */
    cd__hooks_detach(t);
    cd__self = NULL;
    if (t->gc_registered)
        GC_unregister_my_thread();
    cd__sigstack_drop(t->sigstack, t->sigstack_len);
    free(t);
}

const char *cd__thread_kind_name(cd__thread_kind kind)
{
    static const char *const names[] = {"main", "worker", "system", "registered", "pthread"};
    return (unsigned)kind < sizeof names / sizeof names[0] ? names[kind] : "?";
}

void *cd__sigstack_add(size_t *len)
{
    *len = 0;
    stack_t cur;
    if (sigaltstack(NULL, &cur) != 0 || (cur.ss_flags & SS_DISABLE) == 0)
        return NULL; /* it has one: the program's or a sanitizer's */
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t size = CD__SIGSTACK_SIZE;
    long min = sysconf(_SC_MINSIGSTKSZ); /* larger on CPUs with wide vector registers */
    if (min > 0 && (size_t)min * 4 > size)
        size = ((size_t)min * 4 + page - 1) / page * page;
    char *mem = mmap(NULL, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return NULL;
    /* A guard page below: a handler that overflows its stack faults
     * instead of writing over whatever is mapped there. */
    (void)mprotect(mem, page, PROT_NONE);
    stack_t ss = {.ss_sp = mem + page, .ss_size = size, .ss_flags = 0};
    if (sigaltstack(&ss, NULL) != 0) {
        munmap(mem, size + page);
        return NULL;
    }
    *len = size + page;
    return mem;
}

void cd__sigstack_drop(void *mem, size_t len)
{
    if (mem == NULL)
        return;
    stack_t cur;
    if (sigaltstack(NULL, &cur) == 0 && (cur.ss_flags & SS_DISABLE) == 0 &&
        (char *)cur.ss_sp > (char *)mem && (char *)cur.ss_sp < (char *)mem + len) {
        if ((cur.ss_flags & SS_ONSTACK) != 0)
            return; /* running on it (a handler detaching?): leave it be */
        stack_t off = {.ss_sp = NULL, .ss_size = 0, .ss_flags = SS_DISABLE};
        (void)sigaltstack(&off, NULL);
    }
    munmap(mem, len);
}

/* The records of the threads a fork left behind (cd__thread_fork_child):
 * kept reachable, never read. volatile: the stores must stay. */
static cd__thread *volatile fork_ghosts[2];

void cd__thread_fork_child(void)
{
    /* The other threads are gone, one of them maybe inside the lock. Their
     * records are kept, not freed: a profiler slot may still point at one
     * (prof/cpuprof.c forgets those in the child), and the list may be
     * half-changed in this copy, so it is not walked either. fork_ghosts keeps
     * the old list reachable (the part before us through the old head, the
     * rest through our old next), so LeakSanitizer does not report it in a
     * child that exits. Their allocation counters go with them. */
    registry_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    cd__thread *self = cd__self;
    fork_ghosts[0] = registry_head;
    if (self != NULL) {
        fork_ghosts[1] = self->next;
        self->next = NULL;
    }
    registry_head = self;
    atomic_store_explicit(&registry_count, self != NULL ? 1 : 0, memory_order_relaxed);
}

uint32_t cd__thread_count(void)
{
    return atomic_load_explicit(&registry_count, memory_order_relaxed);
}

void cd__thread_foreach(void (*fn)(cd__thread *t, void *ctx), void *ctx)
{
    pthread_mutex_lock(&registry_lock);
    for (cd__thread *t = registry_head; t != NULL; t = t->next)
        fn(t, ctx);
    pthread_mutex_unlock(&registry_lock);
}

void cd__thread_alloc_totals(uint64_t *mallocs, uint64_t *bytes, uint64_t *frees)
{
    pthread_mutex_lock(&registry_lock);
    uint64_t m = dead_mallocs, b = dead_bytes, f = dead_frees;
    for (cd__thread *t = registry_head; t != NULL; t = t->next) {
        m += atomic_load_explicit((_Atomic uint64_t *)&t->mallocs, memory_order_relaxed);
        b += atomic_load_explicit((_Atomic uint64_t *)&t->alloc_bytes, memory_order_relaxed);
        f += atomic_load_explicit((_Atomic uint64_t *)&t->frees, memory_order_relaxed);
    }
    pthread_mutex_unlock(&registry_lock);
    *mallocs = m;
    *bytes = b;
    *frees = f;
}

struct spawn_ctx {
    const char *name;
    cd__thread_kind kind;
    bool gc;
    void *(*fn)(void *);
    void *arg;
    size_t ncreate;
    uintptr_t create_pcs[CD__THREAD_CREATE_DEPTH]; /* the spawner's stack */
};

static void *spawn_trampoline(void *p)
{
    struct spawn_ctx ctx = *(struct spawn_ctx *)p;
    free(p);
    if (ctx.name != NULL)
        (void)pthread_setname_np(pthread_self(), ctx.name);
    if (attach(ctx.kind, ctx.gc, ctx.create_pcs, ctx.ncreate, 0) != 0)
        abort(); /* cannot run a kit thread the collector does not know */
    void *ret = ctx.fn(ctx.arg);
    cd__thread_detach();
    return ret;
}

void cd__thread_kit_signals(sigset_t *set)
{
    static const int sigs[] = {SIGINT,  SIGTERM, SIGHUP,   SIGQUIT, SIGUSR1, SIGUSR2,
                               SIGALRM, SIGCHLD, SIGWINCH, SIGPIPE, SIGTSTP, SIGCONT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(set, sigs[i]);
}

int cd__thread_spawn(pthread_t *out, const char *name, cd__thread_kind kind, bool gc,
                     void *(*fn)(void *), void *arg)
{
    struct spawn_ctx *ctx = malloc(sizeof *ctx);
    if (ctx == NULL)
        return -ENOMEM;
    *ctx = (struct spawn_ctx){name, kind, gc, fn, arg, 0, {0}};
    /* The threadcreate profile's stack: our caller's. A thread bdwgc's and
     * our registry do not know (libmicrohttpd's) has no stack bounds for
     * the walk: keep at least the return address into the caller. */
    ctx->ncreate = cd__fpwalk_here(ctx->create_pcs, CD__THREAD_CREATE_DEPTH, 0);
    if (ctx->ncreate == 0) {
        ctx->create_pcs[0] = (uintptr_t)__builtin_return_address(0);
        ctx->ncreate = 1;
    }

    /* Kit threads must not take the process-directed signals a C program
     * expects on its own threads; SIGPROF stays deliverable (the CPU
     * profile samples kit threads too). The mask is inherited by the new
     * thread, then restored here. */
    sigset_t block, old;
    sigemptyset(&block);
    cd__thread_kit_signals(&block);
    pthread_sigmask(SIG_BLOCK, &block, &old);

    pthread_t th;
    /* Not wrapped as the program's threads are (runtime/pthread_create.c):
     * the trampoline registers the thread with its own kind. */
    int rc = cd__pthread_create_kit(&th, NULL, spawn_trampoline, ctx);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        free(ctx);
        return -rc;
    }
    if (out != NULL)
        *out = th;
    else
        pthread_detach(th);
    return 0;
}

/* ---- blocking record (prof/taskprof.c) --------------------------------- */

/* Seqlock writer: odd while the fields change. The release fence orders
 * the odd count before the field stores, so a reader that sees a new field
 * also sees the count move (and discards its copy). */
static void block_write_begin(cd__thread *self)
{
    uint32_t s = atomic_load_explicit(&self->block_seq, memory_order_relaxed);
    atomic_store_explicit(&self->block_seq, s + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
}

static void block_write_end(cd__thread *self)
{
    uint32_t s = atomic_load_explicit(&self->block_seq, memory_order_relaxed);
    atomic_store_explicit(&self->block_seq, s + 1, memory_order_release);
}

void cd__thread_block_enter(cd__thread *self, const char *reason, unsigned skip)
{
    uintptr_t pcs[CD__FPWALK_MAX];
    /* pcs[0]: our return address (into the caller), after skip frames. */
    size_t n = cd__fpwalk_here(pcs, CD__FPWALK_MAX, skip);
    block_write_begin(self);
    for (size_t i = 0; i < n; i++)
        atomic_store_explicit(&self->block_pcs[i], pcs[i], memory_order_relaxed);
    atomic_store_explicit(&self->block_n, (uint32_t)n, memory_order_relaxed);
    atomic_store_explicit(&self->block_since, cd__nanotime(), memory_order_relaxed);
    atomic_store_explicit(&self->block_reason, reason, memory_order_relaxed);
    block_write_end(self);
}

void cd__thread_block_exit(cd__thread *self)
{
    block_write_begin(self);
    atomic_store_explicit(&self->block_reason, NULL, memory_order_relaxed);
    block_write_end(self);
}

const char *cd__thread_block_read(cd__thread *t, uintptr_t *pcs, size_t max, size_t *n,
                                  uint64_t *since)
{
    uint32_t s1 = atomic_load_explicit(&t->block_seq, memory_order_acquire);
    if (s1 & 1)
        return NULL; /* changing: entering or leaving a blocking call */
    const char *reason = atomic_load_explicit(&t->block_reason, memory_order_relaxed);
    if (reason == NULL)
        return NULL;
    size_t k = atomic_load_explicit(&t->block_n, memory_order_relaxed);
    if (k > max)
        k = max;
    for (size_t i = 0; i < k; i++)
        pcs[i] = atomic_load_explicit(&t->block_pcs[i], memory_order_relaxed);
    *since = atomic_load_explicit(&t->block_since, memory_order_relaxed);
    atomic_thread_fence(memory_order_acquire);
    if (atomic_load_explicit(&t->block_seq, memory_order_relaxed) != s1)
        return NULL;
    *n = k;
    return reason;
}

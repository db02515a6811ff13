/* runtime/thread.c - the registry of threads cdebug knows. See thread.h. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

#include <gc/gc.h>

#include "prof/fpwalk.h"
#include "runtime/thread.h"
#include "trace/recorder.h"

__thread cd__thread *cd__self;

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static cd__thread *registry_head;
static _Atomic uint32_t registry_count;
static _Atomic uint64_t next_thread_id = 1;
/* Counters of threads that have exited, folded in under registry_lock. */
static uint64_t dead_mallocs, dead_bytes, dead_frees;

int cd__thread_attach(cd__thread_kind kind, bool gc)
{
    if (cd__self != NULL)
        return -EEXIST;

    cd__thread *t = calloc(1, sizeof *t);
    if (t == NULL)
        return -ENOMEM;
    t->id = atomic_fetch_add_explicit(&next_thread_id, 1, memory_order_relaxed);
    t->tid = (pid_t)syscall(SYS_gettid);
    t->pthread = pthread_self();
    t->kind = kind;

    if (gc && !GC_thread_is_registered()) {
        struct GC_stack_base sb;
        if (GC_get_stack_base(&sb) != GC_SUCCESS) {
            free(t);
            return -EAGAIN;
        }
        int rc = GC_register_my_thread(&sb);
        t->gc_registered = (rc == GC_SUCCESS);
    }

    pthread_mutex_lock(&registry_lock);
    t->next = registry_head;
    registry_head = t;
    atomic_fetch_add_explicit(&registry_count, 1, memory_order_relaxed);
    pthread_mutex_unlock(&registry_lock);

    cd__self = t;
    /* Stack bounds for the profilers' frame walks; without them the
     * thread's stacks are empty, which is all a failure here costs. */
    (void)cd__fpwalk_thread_init();
    if (CD__TRACING())
        cd__trace_ev1(CD__EV_THREAD_START, (uint64_t)kind);
    return 0;
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

    cd__self = NULL;
    if (t->gc_registered)
        GC_unregister_my_thread();
    free(t);
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
    cd__thread_kind kind;
    bool gc;
    void *(*fn)(void *);
    void *arg;
};

static void *spawn_trampoline(void *p)
{
    struct spawn_ctx ctx = *(struct spawn_ctx *)p;
    free(p);
    if (cd__thread_attach(ctx.kind, ctx.gc) != 0)
        abort(); /* cannot run a kit thread the collector does not know */
    void *ret = ctx.fn(ctx.arg);
    cd__thread_detach();
    return ret;
}

int cd__thread_spawn(pthread_t *out, cd__thread_kind kind, bool gc, void *(*fn)(void *), void *arg)
{
    struct spawn_ctx *ctx = malloc(sizeof *ctx);
    if (ctx == NULL)
        return -ENOMEM;
    *ctx = (struct spawn_ctx){kind, gc, fn, arg};

    /* Kit threads must not take the process-directed signals a C program
     * expects on its own threads (SIGINT for Ctrl-C, SIGTERM...). bdwgc's
     * stop-the-world signals and SIGPROF stay deliverable. The mask is
     * inherited by the new thread, then restored here. */
    sigset_t block, old;
    sigemptyset(&block);
    int sigs[] = {SIGINT,  SIGTERM, SIGHUP,   SIGQUIT, SIGUSR1, SIGUSR2,
                  SIGALRM, SIGCHLD, SIGWINCH, SIGPIPE, SIGTSTP, SIGCONT};
    for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
        sigaddset(&block, sigs[i]);
    pthread_sigmask(SIG_BLOCK, &block, &old);

    pthread_t th;
    int rc = pthread_create(&th, NULL, spawn_trampoline, ctx);
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

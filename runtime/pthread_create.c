/* runtime/pthread_create.c - see pthread_create.h. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/fpwalk.h"
#include "base/interpose.h"
#include "runtime/pthread_create.h"
#include "runtime/thread.h"

/* Under TSan the program's threads are not wrapped: its interceptor calls
 * this definition (its next one) with its own start routine, which must be
 * the first code the new thread runs (instrumented code before it faults).
 * ASan's start routine is not so strict: there the wrapping is kept, and
 * tested. */
#if defined(__SANITIZE_THREAD__)
#define WRAP_THREADS 0
#else
#define WRAP_THREADS 1
#endif

typedef int (*create_fn)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);

static _Atomic(create_fn) next_create;

/* Resolved on first use: RTLD_NEXT from here is the definition after ours
 * in the lookup order: libc's, or a sanitizer's interceptor when libcdebug
 * is linked into the executable (a sanitizer loaded before a shared
 * libcdebug calls us from its own interceptor, as its next definition).
 * dlsym does not create threads, so it cannot come back here. */
static create_fn resolve(void)
{
    create_fn f = atomic_load_explicit(&next_create, memory_order_acquire);
    if (f == NULL) {
        f = (create_fn)cd__interpose_find("pthread_create", (const void *)pthread_create);
        if (f == NULL)
            return NULL;
        atomic_store_explicit(&next_create, f, memory_order_release);
    }
    return f;
}

/* Set while the kit creates one of its own threads (cd__pthread_create_kit):
 * the definition below then forwards the call as it is. Thread-local: a
 * sanitizer's interceptor calls on to us on the creating thread. */
static __thread bool kit_creating;

int cd__pthread_create_kit(pthread_t *th, const pthread_attr_t *attr, void *(*fn)(void *),
                           void *arg)
{
    kit_creating = true;
    int rc = pthread_create(th, attr, fn, arg);
    kit_creating = false;
    return rc;
}

/* What the new thread needs before it runs the program's routine. */
struct start {
    void *(*fn)(void *);
    void *arg;
    size_t ncreate;
    uintptr_t create_pcs[CD__THREAD_CREATE_DEPTH]; /* the creator's stack */
};

static void *cd__pthread_start(void *p)
{
    struct start st = *(struct start *)p;
    free(p);
    /* A failure (out of memory) leaves the thread unseen, never stopped. */
    (void)cd__thread_attach_created(CD__THREAD_PTHREAD, st.create_pcs, st.ncreate);
    /* The CPU profiler's signal stays deliverable, as Go keeps it on every
     * M: bdwgc's parallel markers, for one, are started with every signal
     * blocked and would never be sampled. The handler is async-signal-safe
     * and restarts what it interrupts (SA_RESTART). */
    sigset_t prof;
    sigemptyset(&prof);
    sigaddset(&prof, SIGPROF);
    pthread_sigmask(SIG_UNBLOCK, &prof, NULL);
    return st.fn(st.arg);
}

/* The program's pthread_create (exported: cmake/cdebug.map). Re-entrant:
 * nothing here is global but the resolved pointer; a creation from a
 * signal handler is not allowed by POSIX anyway. Cost over glibc's: one
 * malloc, one frame walk and, in the new thread, the registry's
 * attach (a calloc, one mutex, the registry's hooks). */
CD__INTERPOSED int pthread_create(pthread_t *th, const pthread_attr_t *attr,
                                                          void *(*fn)(void *), void *arg)
{
    create_fn next = resolve();
    if (next == NULL) {
        static const char msg[] = "cdebug: pthread_create: no next definition (static executable?)\n";
        fputs(msg, stderr);
        return ENOSYS;
    }
    if (kit_creating || !WRAP_THREADS)
        return next(th, attr, fn, arg); /* registers itself, or TSan */
    struct start *st = malloc(sizeof *st);
    if (st == NULL)
        return next(th, attr, fn, arg); /* unseen, but created */
    st->fn = fn;
    st->arg = arg;
    st->ncreate = cd__fpwalk_here(st->create_pcs, CD__THREAD_CREATE_DEPTH, 0);
    if (st->ncreate == 0) { /* a creator whose stack bounds are unknown */
        st->create_pcs[0] = (uintptr_t)__builtin_return_address(0);
        st->ncreate = 1;
    }
    int rc = next(th, attr, cd__pthread_start, st);
    if (rc != 0)
        free(st);
    return rc;
}

/* runtime/pthread_locks.c - the program's locks and waits as events of the
 * mutex and block profiles (runtime/contention.h).
 *
 * libcdebug defines these pthread functions (exported: cmake/cdebug.map)
 * and forwards each to the next definition in the process (glibc's, or a
 * sanitizer's interceptor when libcdebug is linked into the executable):
 *   pthread_mutex_lock, pthread_rwlock_rdlock, pthread_rwlock_wrlock:
 *     with either profile on, a look at glibc's lock word (a mutex) or a
 *     try (a rwlock) first; only when the lock is held elsewhere is the
 *     wait timed, and recorded as a mutex event and a
 *     block event (Go records a contended sync.Mutex in both);
 *   pthread_cond_wait, pthread_cond_timedwait, pthread_join, sem_wait:
 *     with the block profile on, the wait is timed and recorded.
 * With both profiles off (the default, as in Go) each costs two relaxed
 * loads and a predictable branch over the call it forwards.
 *
 * Re-entrancy: recording may allocate, and malloc may take a lock that
 * comes back here; contention.c's thread-local flag drops those nested
 * events. The next definitions are resolved on first use (dlsym does not
 * call these functions). Under TSan nothing is timed: its interceptors
 * call these as their next definition and model the locks themselves.
 *
 * Limits: only calls that bind to these definitions are seen (glibc's own
 * internal locks are not); an uncontended lock is never an event, as in
 * Go; a recursive mutex already held by the caller succeeds at the try.
 */
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/clock.h"
#include "base/interpose.h"
#include "runtime/contention.h"
#include "runtime/pthread_locks.h"

#if defined(__SANITIZE_THREAD__)
#define TIMED 0
#else
#define TIMED 1
#endif


typedef int (*mutex_fn)(pthread_mutex_t *);
typedef int (*rwlock_fn)(pthread_rwlock_t *);
typedef int (*cond_wait_fn)(pthread_cond_t *, pthread_mutex_t *);
typedef int (*cond_timedwait_fn)(pthread_cond_t *, pthread_mutex_t *, const struct timespec *);
typedef int (*join_fn)(pthread_t, void **);
typedef int (*sem_fn)(sem_t *);

static struct {
    _Atomic(mutex_fn) mutex_lock, mutex_trylock;
    _Atomic(rwlock_fn) rdlock, tryrdlock, wrlock, trywrlock;
    _Atomic(cond_wait_fn) cond_wait;
    _Atomic(cond_timedwait_fn) cond_timedwait;
    _Atomic(join_fn) join;
    _Atomic(sem_fn) sem_wait;
} next;

/* The next definition of name (base/interpose.h), or libc's; aborts the
 * process when there is none (no lock could be taken at all). */
static void *resolve(const char *name, const void *self)
{
    void *f = cd__interpose_find(name, self);
    if (f == NULL) {
        fprintf(stderr, "cdebug: %s: no next definition\n", name);
        abort();
    }
    return f;
}

#define NEXT(field, name)                                                                          \
    ({                                                                                             \
        __typeof__(atomic_load_explicit(&next.field, memory_order_acquire)) f_ =                  \
            atomic_load_explicit(&next.field, memory_order_acquire);                              \
        if (__builtin_expect(f_ == NULL, 0)) {                                                     \
            f_ = (__typeof__(f_))resolve(name, NULL);                                              \
            atomic_store_explicit(&next.field, f_, memory_order_release);                         \
        }                                                                                          \
        f_;                                                                                        \
    })

static inline bool profiling(void)
{
    return TIMED && (atomic_load_explicit(&cd__mutex_fraction, memory_order_relaxed) |
                     atomic_load_explicit(&cd__block_rate, memory_order_relaxed)) != 0;
}

static inline bool blocking(void)
{
    return TIMED && atomic_load_explicit(&cd__block_rate, memory_order_relaxed) != 0;
}

/* A contended lock's wait: a mutex event and a block event. skip 1: the
 * interposed function's frame; the stack's top is its caller. */
static __attribute__((noinline)) void contended(uint64_t t0)
{
    int64_t d = (int64_t)(cd__nanotime() - t0);
    cd__contention_event(CD__CONTENTION_MUTEX, d, 1);
    cd__contention_event(CD__CONTENTION_BLOCK, d, 1);
    __asm__ volatile("" ::: "memory"); /* no tail call: skip counts this frame */
}

/* skip 1 as above. */
static __attribute__((noinline)) void blocked(uint64_t t0)
{
    cd__contention_event(CD__CONTENTION_BLOCK, (int64_t)(cd__nanotime() - t0), 1);
    __asm__ volatile("" ::: "memory"); /* no tail call: skip counts this frame */
}

void cd__pthread_locks_init(void)
{
    (void)NEXT(mutex_lock, "pthread_mutex_lock");
    (void)NEXT(mutex_trylock, "pthread_mutex_trylock");
    (void)NEXT(rdlock, "pthread_rwlock_rdlock");
    (void)NEXT(tryrdlock, "pthread_rwlock_tryrdlock");
    (void)NEXT(wrlock, "pthread_rwlock_wrlock");
    (void)NEXT(trywrlock, "pthread_rwlock_trywrlock");
#if !defined(__SANITIZE_ADDRESS__)
    (void)NEXT(cond_wait, "pthread_cond_wait");
    (void)NEXT(cond_timedwait, "pthread_cond_timedwait");
#endif
    (void)NEXT(join, "pthread_join");
    (void)NEXT(sem_wait, "sem_wait");
}

CD__INTERPOSED CD__HOT int pthread_mutex_lock(pthread_mutex_t *m)
{
    mutex_fn lock = NEXT(mutex_lock, "pthread_mutex_lock");
    if (__builtin_expect(!profiling(), 1))
        return lock(m);
#if defined(__GLIBC__)
    /* glibc's lock word is 0 while the mutex is free: a peek (a plain
     * load, no synchronisation) sends a free mutex straight to the lock,
     * as cheap as with the profile off. A mutex taken between the peek
     * and the lock is a contention not recorded: a sample lost, as the
     * fraction loses others. */
    if (__atomic_load_n(&m->__data.__lock, __ATOMIC_RELAXED) == 0)
        return lock(m);
    uint64_t t0 = cd__nanotime();
    int rc = lock(m);
#else
    int rc = NEXT(mutex_trylock, "pthread_mutex_trylock")(m);
    if (rc != EBUSY)
        return rc; /* taken, or an error lock would give too */
    uint64_t t0 = cd__nanotime();
    rc = lock(m);
#endif
    contended(t0);
    return rc;
}

/* A rwlock acquisition: tried first when a profile is on, the wait timed
 * only when contended. Inlined into each interposer, whose frame the
 * event's stack skips. */
static inline __attribute__((always_inline)) int rwlock_acquire(pthread_rwlock_t *l, rwlock_fn lock,
                                                               rwlock_fn (*trylock)(void))
{
    if (__builtin_expect(!profiling(), 1))
        return lock(l);
    int rc = trylock()(l);
    if (rc != EBUSY)
        return rc; /* taken, or an error lock would give too */
    uint64_t t0 = cd__nanotime();
    rc = lock(l);
    contended(t0);
    return rc;
}

static rwlock_fn tryrdlock(void)
{
    return NEXT(tryrdlock, "pthread_rwlock_tryrdlock");
}

static rwlock_fn trywrlock(void)
{
    return NEXT(trywrlock, "pthread_rwlock_trywrlock");
}

CD__INTERPOSED CD__HOT int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
    return rwlock_acquire(l, NEXT(rdlock, "pthread_rwlock_rdlock"), tryrdlock);
}

CD__INTERPOSED CD__HOT int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
    return rwlock_acquire(l, NEXT(wrlock, "pthread_rwlock_wrlock"), trywrlock);
}

/* Not defined under ASan: with these definitions in an executable built
 * with ASan (a unit test linking the static library), children of fork()
 * that start threads now and then hit an ASan internal check (a bdwgc
 * object taken for a stale thread stack; seen in unit.test_fork.procs1,
 * about 1 run in 5, never without them). ASan builds do without the
 * condition waits in the block profile. */
#if !defined(__SANITIZE_ADDRESS__)
CD__INTERPOSED int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    cond_wait_fn wait = NEXT(cond_wait, "pthread_cond_wait");
    if (__builtin_expect(!blocking(), 1))
        return wait(c, m);
    uint64_t t0 = cd__nanotime();
    int rc = wait(c, m);
    blocked(t0);
    return rc;
}

CD__INTERPOSED int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t)
{
    cond_timedwait_fn wait = NEXT(cond_timedwait, "pthread_cond_timedwait");
    if (__builtin_expect(!blocking(), 1))
        return wait(c, m, t);
    uint64_t t0 = cd__nanotime();
    int rc = wait(c, m, t);
    blocked(t0);
    return rc;
}

#endif /* !__SANITIZE_ADDRESS__ */

CD__INTERPOSED int pthread_join(pthread_t th, void **ret)
{
    join_fn join = NEXT(join, "pthread_join");
    if (__builtin_expect(!blocking(), 1))
        return join(th, ret);
    uint64_t t0 = cd__nanotime();
    int rc = join(th, ret);
    blocked(t0);
    return rc;
}

CD__INTERPOSED int sem_wait(sem_t *s)
{
    sem_fn wait = NEXT(sem_wait, "sem_wait");
    if (__builtin_expect(!blocking(), 1))
        return wait(s);
    uint64_t t0 = cd__nanotime();
    int rc = wait(s);
    blocked(t0);
    return rc;
}

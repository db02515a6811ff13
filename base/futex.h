/* base/futex.h - the two futex calls the pool parks threads with.
 *
 * A futex costs nothing while uncontended and lets a waker address one
 * thread, which a condition variable shared by the pool could not. Both
 * calls are async-signal-safe system calls. A wait may return early (signal,
 * spurious wake-up, bdwgc's stop-the-world): callers always loop on their
 * condition. */
#ifndef CDEBUG_BASE_FUTEX_H
#define CDEBUG_BASE_FUTEX_H

#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* Sleeps while *word == expected (or until timeout, NULL = forever). */
static inline void cd__futex_wait(_Atomic uint32_t *word, uint32_t expected,
                                  const struct timespec *timeout)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAIT_PRIVATE, expected, timeout, NULL, 0);
}

/* Wakes up to n sleepers on word (INT_MAX: all). */
static inline void cd__futex_wake(_Atomic uint32_t *word, int n)
{
    syscall(SYS_futex, (uint32_t *)word, FUTEX_WAKE_PRIVATE, n, NULL, NULL, 0);
}

#endif /* CDEBUG_BASE_FUTEX_H */

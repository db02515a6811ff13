/* runtime/fdguard.c - see fdguard.h. */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/interpose.h"
#include "base/io.h"
#include "runtime/fdguard.h"

#define SLOTS  32

/* Slot i guards descriptor fd[i] - 1 (0: free) for what[i]. */
static _Atomic int fds[SLOTS];
static _Atomic(const char *) whats[SLOTS];
/* What close reads on every call, on one line of its own: a server that
 * closes a connection per request finds it with one miss at most. */
static struct {
    _Alignas(64) _Atomic int nguarded; /* nothing guarded: forward at once */
    void *_Atomic next_close;          /* the next definition, once found */
} fast;

/* In a child of fork() the descriptors are copies: the server's thread
 * and the writers are the parent's, and a child that closes everything
 * before exec must really close them. */
static void forget_in_child(void)
{
    for (int i = 0; i < SLOTS; i++)
        atomic_store_explicit(&fds[i], 0, memory_order_relaxed);
    atomic_store_explicit(&fast.nguarded, 0, memory_order_relaxed);
}

static void register_atfork(void)
{
    (void)pthread_atfork(NULL, NULL, forget_in_child);
}

/* Writes the line fmt makes to stderr, once per process (*said: the pid
 * that wrote it; a child of fork() is another process and says it
 * again). Not async-signal-safe (vsnprintf). */
__attribute__((format(printf, 2, 3))) static void say_once(_Atomic pid_t *said, const char *fmt, ...)
{
    pid_t self = getpid();
    if (atomic_exchange(said, self) == self)
        return;
    char line[200];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n > 0)
        (void)cd__write_all(STDERR_FILENO, line, (size_t)n < sizeof line ? (size_t)n : sizeof line - 1);
}

/* Says once that fd, for what, could not be guarded: the program may
 * close it under cdebug, which should not come as a surprise. */
static void full(int fd, const char *what)
{
    static _Atomic pid_t said;
    say_once(&said,
             "cdebug: more than %d descriptors to keep open: descriptor %d, which %s uses, "
             "is not kept if the program closes it\n",
             SLOTS, fd, what != NULL ? what : "cdebug");
}

int cd__fd_guard(int fd, const char *what)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    if (fd < 0)
        return -EBADF;
    (void)pthread_once(&once, register_atfork);
    for (int i = 0; i < SLOTS; i++) {
        int free_slot = 0;
        if (atomic_load_explicit(&fds[i], memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong(&fds[i], &free_slot, fd + 1)) {
            /* A close racing with this reads the label late: only its
             * message could lack the name. */
            atomic_store_explicit(&whats[i], what, memory_order_release);
            atomic_fetch_add_explicit(&fast.nguarded, 1, memory_order_relaxed);
            return 0;
        }
    }
    full(fd, what);
    return -ENOSPC;
}

void cd__fd_unguard(int fd)
{
    for (int i = 0; i < SLOTS; i++) {
        int want = fd + 1;
        if (atomic_compare_exchange_strong(&fds[i], &want, 0))
            atomic_fetch_sub_explicit(&fast.nguarded, 1, memory_order_relaxed);
    }
}

void cd__fd_unguard_all(const char *what)
{
    for (int i = 0; i < SLOTS; i++) {
        int fd = atomic_load_explicit(&fds[i], memory_order_acquire);
        if (fd != 0 && atomic_load_explicit(&whats[i], memory_order_relaxed) == what &&
            atomic_compare_exchange_strong(&fds[i], &fd, 0))
            atomic_fetch_sub_explicit(&fast.nguarded, 1, memory_order_relaxed);
    }
}

/* What guards fd, or NULL. */
static __attribute__((noinline)) const char *guarded(int fd)
{
    if (atomic_load_explicit(&fast.nguarded, memory_order_relaxed) == 0)
        return NULL;
    for (int i = 0; i < SLOTS; i++)
        if (atomic_load_explicit(&fds[i], memory_order_acquire) == fd + 1)
            return atomic_load_explicit(&whats[i], memory_order_relaxed);
    return NULL;
}

/* Says once that the program closed a guarded descriptor. */
static void kept(int fd, const char *what)
{
    static _Atomic pid_t said;
    say_once(&said, "cdebug: the program closed descriptor %d, which %s uses: kept open for it\n", fd,
             what != NULL ? what : "cdebug");
}

int cd__fd_snapshot(cd__fdset *s)
{
    memset(s, 0, sizeof *s);
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -errno;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        char *end;
        long fd = strtol(e->d_name, &end, 10);
        if (*end == '\0' && end != e->d_name && fd >= 0 && fd < CD__FDSET_MAX && fd != dirfd(d))
            s->bits[fd / 64] |= 1ull << (fd % 64);
    }
    closedir(d);
    return 0;
}

int cd__fd_guard_new(const cd__fdset *before, const char *what)
{
    cd__fdset now;
    int rc = cd__fd_snapshot(&now);
    if (rc != 0)
        return rc;
    for (int fd = 0; fd < CD__FDSET_MAX; fd++) {
        uint64_t bit = 1ull << (fd % 64);
        if ((now.bits[fd / 64] & bit) && !(before->bits[fd / 64] & bit) &&
            (rc = cd__fd_guard(fd, what)) != 0)
            return rc;
    }
    return 0;
}

/* ---- the interposed functions -------------------------------------------- */

typedef int (*close_fn)(int);
typedef int (*close_range_fn)(unsigned, unsigned, int);
typedef void (*closefrom_fn)(int);

static inline void *next(void *_Atomic *slot, const char *name, const void *self)
{
    void *f = atomic_load_explicit(slot, memory_order_acquire);
    if (f == NULL) {
        f = cd__interpose_find(name, self);
        atomic_store_explicit(slot, f, memory_order_release);
    }
    return f;
}

static void *_Atomic next_close_range;

CD__INTERPOSED CD__HOT int close(int fd)
{
    /* guarded() stays out of line: the usual call touches only `fast`. */
    if (__builtin_expect(atomic_load_explicit(&fast.nguarded, memory_order_relaxed) != 0, 0)) {
        const char *what = guarded(fd);
        if (what != NULL) {
            kept(fd, what);
            return 0;
        }
    }
    close_fn f = (close_fn)next(&fast.next_close, "close", (const void *)close);
    if (f == NULL) {
        errno = ENOSYS;
        return -1;
    }
    return f(fd);
}

/* close_range over [first, last] minus the guarded descriptors: one call
 * per gap. */
CD__INTERPOSED int close_range(unsigned first, unsigned last, int flags)
{
    close_range_fn f = (close_range_fn)next(&next_close_range, "close_range", (const void *)close_range);
    if (f == NULL) {
        errno = ENOSYS;
        return -1;
    }
    /* Setting close-on-exec, or unsharing the table first, leaves every
     * descriptor of this process open: nothing to keep. */
    if (atomic_load_explicit(&fast.nguarded, memory_order_relaxed) == 0 || first > last ||
        (flags & CLOSE_RANGE_CLOEXEC) != 0)
        return f(first, last, flags);
    unsigned lo = first;
    for (;;) {
        /* The lowest guarded descriptor in [lo, last]. */
        long g = -1;
        for (int i = 0; i < SLOTS; i++) {
            long fd = (long)atomic_load_explicit(&fds[i], memory_order_acquire) - 1;
            if (fd >= (long)lo && fd <= (long)last && (g < 0 || fd < g))
                g = fd;
        }
        if (g < 0)
            return f(lo, last, flags);
        kept((int)g, guarded((int)g));
        if ((unsigned)g > lo && f(lo, (unsigned)g - 1, flags) != 0)
            return -1;
        if ((unsigned)g == last)
            return 0;
        lo = (unsigned)g + 1;
    }
}

CD__INTERPOSED void closefrom(int lowfd)
{
    if (lowfd < 0)
        lowfd = 0;
    if (close_range((unsigned)lowfd, ~0u, 0) == 0)
        return;
    /* No close_range in this kernel: as glibc does, one at a time. */
    long max = sysconf(_SC_OPEN_MAX);
    for (long fd = lowfd; fd < (max > 0 ? max : 1024); fd++)
        (void)close((int)fd);
}

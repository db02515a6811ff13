/* runtime/fdguard.h - cdebug's descriptors, kept open when the program
 * closes descriptors it did not open.
 *
 * A server that daemonizes closes every descriptor but 0, 1 and 2 (a
 * loop of close(2), close_range(2) or closefrom(3)) after cdebug's
 * constructor opened its own: the debug server's socket and wake-up
 * channel, the trace= and cpuprofile= files. Closed under them, the trace
 * and the profile are lost ("bad file descriptor"), and libmicrohttpd
 * aborts the process when it cannot signal its own thread; worse, the
 * numbers are reused by the program's next files, which cdebug would then
 * write into.
 *
 * So libcdebug defines close, close_range and closefrom (exported:
 * cmake/cdebug.map): a guarded descriptor is left open and the call
 * reports success for it, as if it had been closed, and stderr says so
 * once per process, naming what uses it; every other descriptor is closed
 * by the next definition. cdebug unguards its own before it closes them.
 *
 * Limits: dup2/dup3 onto a guarded number, and a raw close system call,
 * still close it; a program that needs a particular descriptor number
 * free finds it taken, as with any library's descriptor.
 */
#ifndef CDEBUG_RUNTIME_FDGUARD_H
#define CDEBUG_RUNTIME_FDGUARD_H

#include <stdint.h>

/* The open descriptors below CD__FDSET_MAX, a bit each. */
#define CD__FDSET_MAX 4096
typedef struct cd__fdset {
    uint64_t bits[CD__FDSET_MAX / 64];
} cd__fdset;

/* Guards fd for what ("the debug server", "the trace file": a string that
 * lives for ever). Returns 0, or -ENOSPC when 32 are guarded already
 * (then fd is not, and the first such call of the process says so on
 * stderr). In a child of fork() nothing is guarded any more.
 * Thread-safe; not async-signal-safe (the first call registers that fork
 * handler); O(32). */
int cd__fd_guard(int fd, const char *what);

/* Unguards fd (a no-op when it is not guarded): call before closing it.
 * Thread-safe; async-signal-safe; O(32). */
void cd__fd_unguard(int fd);

/* Unguards every descriptor guarded for what (the same pointer). Same
 * rules. */
void cd__fd_unguard_all(const char *what);

/* Fills *s with the calling process's open descriptors (/proc/self/fd).
 * Returns 0 or a negative errno. Not async-signal-safe (opendir). */
int cd__fd_snapshot(cd__fdset *s);

/* Guards, for what, every descriptor open now that was not in *before:
 * those a library call just made (libmicrohttpd's socket, wake-up
 * channel, epoll). Returns 0 or a negative errno. Not async-signal-safe. */
int cd__fd_guard_new(const cd__fdset *before, const char *what);

#endif /* CDEBUG_RUNTIME_FDGUARD_H */

/* base/io.h - small I/O helpers shared by the modules that write files
 * and stderr (profiles, schedtrace, the SIGQUIT dump). */
#ifndef CDEBUG_BASE_IO_H
#define CDEBUG_BASE_IO_H

#include <stddef.h>
#include <sys/types.h>

/* Writes all n bytes of p to fd, retrying short writes and EINTR.
 * Returns 0 or the negative errno of the failed write(2). Thread-safe;
 * async-signal-safe (only write(2)); O(n). */
int cd__write_all(int fd, const void *p, size_t n);

/* 0 when fd is open for writing, else -EBADF (negative, closed, read-only,
 * O_PATH): what write(2) would say, asked before the work that precedes
 * the first write (a render, a trace session, a profiler's timers).
 * Thread-safe; async-signal-safe (one fcntl(2)); O(1). */
int cd__fd_writable(int fd);

/* Reads the file at path (a small one: /proc/self/task/TID/status, stat,
 * comm, syscall) into buf with one read(2), at most cap - 1 bytes, and
 * ends it with a NUL. Returns the bytes read (0: empty) or a negative
 * errno. Thread-safe; async-signal-safe (open, read, close); O(cap). */
ssize_t cd__read_small(const char *path, char *buf, size_t cap);

#endif /* CDEBUG_BASE_IO_H */

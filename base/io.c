/* base/io.c - see io.h. */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "base/io.h"

int cd__write_all(int fd, const void *p, size_t n)
{
    const char *s = p;
    while (n > 0) {
        ssize_t w = write(fd, s, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        s += w;
        n -= (size_t)w;
    }
    return 0;
}

ssize_t cd__read_small(const char *path, char *buf, size_t cap)
{
    if (cap == 0)
        return -EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n;
    do
        n = read(fd, buf, cap - 1);
    while (n < 0 && errno == EINTR);
    int e = errno;
    close(fd);
    if (n < 0)
        return -e;
    buf[n] = '\0';
    return n;
}

int cd__fd_writable(int fd)
{
    if (fd < 0)
        return -EBADF;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (fl & O_PATH) != 0 || (fl & O_ACCMODE) == O_RDONLY)
        return -EBADF;
    return 0;
}

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

int cd__fd_writable(int fd)
{
    if (fd < 0)
        return -EBADF;
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || (fl & O_PATH) != 0 || (fl & O_ACCMODE) == O_RDONLY)
        return -EBADF;
    return 0;
}

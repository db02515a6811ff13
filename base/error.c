/* base/error.c - cd_strerror and cd_err_name: negative errno values to
 * text and to their symbolic names.
 *
 * strerror() is not async-signal-safe and its buffer may be shared, so every
 * code a cdebug function returns is spelled out here as static strings: the
 * codes cdebug returns itself, and those the system calls behind its
 * functions pass through (open, read, write, socket, bind, pthread_create,
 * timer_create). tests/unit/test_errors.c holds the list a test checks,
 * and tests/integration/test_errors.sh that every code in the sources is on
 * it. One table (libuv's UV_ERRNO_MAP) feeds both functions, so a code
 * cannot have a text and no name. */
#include <errno.h>

#include "cdebug/runtime.h"

/* XX(name, text): every errno cdebug may return, alphabetical. Linux gives
 * EWOULDBLOCK, EOPNOTSUPP and EDEADLOCK the numbers of EAGAIN, ENOTSUP and
 * EDEADLK: those are the names reported. */
#define CD__ERRNO_MAP(XX)                                                                          \
    XX(E2BIG, "list too long (too many items)")                                                    \
    XX(EACCES, "permission denied")                                                                \
    XX(EADDRINUSE, "address already in use")                                                       \
    XX(EADDRNOTAVAIL, "address not available")                                                     \
    XX(EAFNOSUPPORT, "address family not supported")                                               \
    XX(EAGAIN, "resource temporarily unavailable")                                                 \
    XX(EBADF, "bad file descriptor")                                                               \
    XX(EBADMSG, "bad message (not the expected format)")                                           \
    XX(EBUSY, "resource busy (already in use)")                                                    \
    XX(ECANCELED, "operation canceled")                                                            \
    XX(ECONNABORTED, "connection aborted")                                                         \
    XX(ECONNREFUSED, "connection refused")                                                         \
    XX(ECONNRESET, "connection reset by peer")                                                     \
    XX(EDEADLK, "resource deadlock avoided")                                                       \
    XX(EDESTADDRREQ, "destination address required")                                               \
    XX(EDQUOT, "disk quota exceeded")                                                              \
    XX(EEXIST, "name already exists")                                                              \
    XX(EFAULT, "bad address")                                                                      \
    XX(EFBIG, "file too large")                                                                    \
    XX(EHOSTUNREACH, "host unreachable")                                                           \
    XX(EINTR, "interrupted system call")                                                           \
    XX(EINVAL, "invalid argument")                                                                 \
    XX(EIO, "input/output error")                                                                  \
    XX(EISDIR, "is a directory")                                                                   \
    XX(ELOOP, "too many levels of symbolic links")                                                 \
    XX(EMFILE, "too many open files")                                                              \
    XX(EMSGSIZE, "message too long")                                                               \
    XX(ENAMETOOLONG, "file name too long")                                                         \
    XX(ENETDOWN, "network is down")                                                                \
    XX(ENETUNREACH, "network unreachable")                                                         \
    XX(ENFILE, "too many open files in the system")                                                \
    XX(ENOBUFS, "no buffer space available")                                                       \
    XX(ENODATA, "no data (input truncated)")                                                       \
    XX(ENODEV, "no such device")                                                                   \
    XX(ENOENT, "no such entry")                                                                    \
    XX(ENOMEM, "out of memory")                                                                    \
    XX(ENOSPC, "no space left")                                                                    \
    XX(ENOSYS, "not supported by this build")                                                      \
    XX(ENOTCONN, "socket not connected")                                                           \
    XX(ENOTDIR, "not a directory")                                                                 \
    XX(ENOTSOCK, "not a socket")                                                                   \
    XX(ENOTSUP, "operation not supported")                                                         \
    XX(ENXIO, "no such device or address")                                                         \
    XX(EOVERFLOW, "value too large for its type")                                                  \
    XX(EPERM, "operation not permitted")                                                           \
    XX(EPIPE, "broken pipe (the reader went away)")                                                \
    XX(EPROTO, "protocol error (corrupted data)")                                                  \
    XX(EPROTONOSUPPORT, "protocol or version not supported")                                       \
    XX(ERANGE, "value out of range")                                                               \
    XX(EROFS, "read-only file system")                                                             \
    XX(ESHUTDOWN, "cdebug has been shut down")                                                     \
    XX(ESPIPE, "illegal seek")                                                                     \
    XX(ESRCH, "no such process or thread")                                                         \
    XX(ETIMEDOUT, "timed out")                                                                     \
    XX(ETXTBSY, "text file busy")

const char *cd_strerror(int err)
{
    switch (err) {
    case 0:
        return "success";
#define XX(name, text)                                                                             \
    case -name:                                                                                    \
        return text;
        CD__ERRNO_MAP(XX)
#undef XX
    default:
        return "unknown error";
    }
}

const char *cd_err_name(int err)
{
    switch (err) {
    case 0:
        return "OK";
#define XX(name, text)                                                                             \
    case -name:                                                                                    \
        return #name;
        CD__ERRNO_MAP(XX)
#undef XX
    default:
        return "UNKNOWN";
    }
}

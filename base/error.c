/* base/error.c - cd_strerror: negative errno values to text.
 *
 * strerror() is not async-signal-safe and its buffer may be shared, so the
 * errors cdebug returns are spelled out here as static strings. */
#include <errno.h>

#include "cdebug/runtime.h"

const char *cd_strerror(int err)
{
    switch (err) {
    case 0: return "success";
    case -EINVAL: return "invalid argument";
    case -ENOMEM: return "out of memory";
    case -EAGAIN: return "resource temporarily unavailable";
    case -EBUSY: return "resource busy (already in use)";
    case -EEXIST: return "name already exists";
    case -ENOENT: return "no such entry";
    case -ESHUTDOWN: return "cdebug has been shut down";
    case -EPERM: return "operation not permitted";
    case -EACCES: return "permission denied";
    case -EADDRINUSE: return "address already in use";
    case -EADDRNOTAVAIL: return "address not available";
    case -ERANGE: return "value out of range";
    case -EIO: return "input/output error";
    case -ENOSYS: return "not supported by this build";
    case -ETIMEDOUT: return "timed out";
    default: return "unknown error";
    }
}

/* runtime/dlclose.c - the program's dlclose, defined over the C library's
 * (exported: cmake/cdebug.map): the libraries an unload takes away are
 * recorded in base/dlhist.h, so the profiles still name the functions of a
 * library unloaded since their samples were taken.
 *
 * Before forwarding, the loaded objects are listed; after, the ones that
 * left (the library, and its dependencies nothing else holds) are
 * recorded. A dlclose that unloads nothing (the library is still referenced)
 * records nothing. Cost over the C library's: two walks of the loaded
 * objects (dl_iterate_phdr) and their copies, a few microseconds for a
 * few dozen objects, next to an unload's system calls.
 */
#include <dlfcn.h>
#include <stdatomic.h>
#include <stddef.h>

#include "base/dlhist.h"
#include "base/interpose.h"

typedef int (*close_fn)(void *);

static _Atomic(close_fn) next_close;

/* The definition after ours: libc's, or a sanitizer's interceptor when
 * libcdebug is linked into the executable (a sanitizer loaded first calls
 * ours from its interceptor, as its next definition). */
static close_fn resolve(void)
{
    close_fn f = atomic_load_explicit(&next_close, memory_order_acquire);
    if (f == NULL) {
        f = (close_fn)cd__interpose_find("dlclose", (const void *)dlclose);
        if (f != NULL)
            atomic_store_explicit(&next_close, f, memory_order_release);
    }
    return f;
}

/* The program's dlclose. Thread-safe as the C library's; not
 * async-signal-safe (neither is the C library's). */
CD__INTERPOSED int dlclose(void *handle)
{
    close_fn next = resolve();
    if (next == NULL)
        return -1; /* no C library's dlclose: the library stays */
    cd__dlset *before = NULL;
    (void)cd__dlset_read(&before); /* out of memory: the unload goes unrecorded */
    int rc = next(handle);
    if (before != NULL) {
        if (rc == 0)
            cd__dlset_gone(before);
        cd__dlset_free(before);
    }
    return rc;
}

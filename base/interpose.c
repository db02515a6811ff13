/* base/interpose.c - see interpose.h. */
#include <dlfcn.h>
#include <gnu/lib-names.h>
#include <stddef.h>

#include "base/interpose.h"

void *cd__interpose_next(const char *name, const void *self)
{
    void *p = dlsym(RTLD_NEXT, name);
    return p == self ? NULL : p;
}

void *cd__interpose_libc(const char *name, const void *self)
{
    /* RTLD_NOLOAD: libc is loaded in any process that runs this; the
     * handle only names it. It is never closed: libc is never unloaded, and
     * a dlclose here would come back to cdebug's own (runtime/dlclose.c),
     * which may be the very function being resolved. */
    void *libc = dlopen(LIBC_SO, RTLD_LAZY | RTLD_NOLOAD);
    if (libc == NULL)
        return NULL;
    void *p = dlsym(libc, name);
    return p == self ? NULL : p;
}

void *cd__interpose_find(const char *name, const void *self)
{
    void *p = cd__interpose_next(name, self);
    return p != NULL ? p : cd__interpose_libc(name, self);
}

bool cd__interpose_same_object(const void *a, const void *b)
{
    Dl_info ia, ib;
    if (dladdr(a, &ia) == 0 || dladdr(b, &ib) == 0)
        return false;
    return ia.dli_fbase == ib.dli_fbase;
}

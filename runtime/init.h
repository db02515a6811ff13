/* runtime/init.h - lazy initialisation guard for entry points.
 *
 * Public entry points that may run before the constructor (another
 * library's constructor calling cd_alloc, say) call cd__ensure_init():
 * one predictable branch once initialised. */
#ifndef CDEBUG_RUNTIME_INIT_H
#define CDEBUG_RUNTIME_INIT_H

#include <stdatomic.h>

#include "cdebug/runtime.h"

extern _Atomic int cd__initialized;

static inline void cd__ensure_init(void)
{
    if (__builtin_expect(!atomic_load_explicit(&cd__initialized, memory_order_acquire), 0))
        (void)cd_init();
}

#endif /* CDEBUG_RUNTIME_INIT_H */

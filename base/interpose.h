/* base/interpose.h - the definition a symbol would have had without
 * cdebug's: the next one in the process's lookup order, for the functions
 * cdebug defines over a library's own (runtime/malloc.c: the malloc
 * family) and forwards to.
 *
 * The lookup order is the executable, then LD_PRELOAD, then the shared
 * libraries in load order. A definition in libcdebug.so (or, with a static
 * link, in the executable that linked libcdebug.a) is found before libc's
 * or a later allocator's; dlsym(RTLD_NEXT) from the same object then finds
 * the one cdebug hides. That is the object this file is compiled into,
 * always the interposer's own: RTLD_NEXT is relative to the caller.
 *
 * Bootstrap. dlsym may allocate (its error state): an interposer of the
 * allocator calls this with its own allocations served some other way
 * (runtime/malloc.c: a static arena) until it returns.
 */
#ifndef CDEBUG_BASE_INTERPOSE_H
#define CDEBUG_BASE_INTERPOSE_H

#include <stdbool.h>

/* An interposer's definition: exported by libcdebug.so (default
 * visibility; the version script lists the names). */
#define CD__INTERPOSED __attribute__((visibility("default")))

/* An interposer called per operation (malloc, free, close, a lock):
 * placed with the others in the hot part of the text, so that a program
 * whose caches its own work keeps flushing (a server between two
 * requests) finds them on a few shared lines of one page, not on lines
 * and pages scattered over the library. For entry points whose calls are
 * rare (pthread_create, dlclose) the attribute buys nothing. */
#define CD__HOT __attribute__((hot))

/* The next definition of `name` after the calling object's (dlsym with
 * RTLD_NEXT), never `self` (the interposer's own definition, which a
 * lookup may return when the object holding this code is not the one that
 * defines it). NULL when there is none: cdebug's object comes after the
 * library in the lookup order. Thread-safe; not async-signal-safe (dlsym;
 * may allocate, see above). Cost: a symbol lookup, microseconds: call
 * once and keep the result. */
void *cd__interpose_next(const char *name, const void *self);

/* libc's own definition of `name` (dlsym on libc's handle), never `self`:
 * what to forward to when cd__interpose_next finds nothing. NULL when libc
 * has none. Thread-safe; not async-signal-safe; may allocate. Cost: as
 * cd__interpose_next. */
void *cd__interpose_libc(const char *name, const void *self);

/* cd__interpose_next, or cd__interpose_libc when it finds nothing: the
 * definition an interposer forwards to. NULL when neither has one.
 * Thread-safe; not async-signal-safe; may allocate. Cost: one or two symbol
 * lookups: call once and keep the result. */
void *cd__interpose_find(const char *name, const void *self);

/* Whether the code addresses a and b belong to the same loaded object
 * (dladdr): whether two functions come from one library, for instance a
 * `pvalloc` from the library that defines the `malloc` in use. Thread-safe;
 * not async-signal-safe. Cost: two dladdr lookups. */
bool cd__interpose_same_object(const void *a, const void *b);

#endif /* CDEBUG_BASE_INTERPOSE_H */

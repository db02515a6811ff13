/* runtime/malloc.h - the malloc family, interposed: the program's malloc,
 * calloc, realloc, free, posix_memalign, aligned_alloc, memalign, valloc,
 * pvalloc and malloc_usable_size are cdebug's, which forward each call to
 * the allocator that would have served it (the next definition in the
 * process: glibc's, or jemalloc's or tcmalloc's when the program brings
 * one) and sample the allocations for the heap profile (runtime/mprof.h,
 * allocator label "malloc"). docs/profiling.md is the user's view.
 *
 * Cost. malloc: the sampler's thread-local countdown decrement and one
 * predictable branch, then a tail call to the next allocator (with
 * sampling off the countdown never runs out). free: one relaxed load of
 * the sampler's address filter and one predictable branch, then a tail
 * call: a pointer whose filter slot is empty was never sampled, so no lock
 * and no lookup. A sampled allocation costs what a sampled cd_alloc does,
 * minus bdwgc's link; the free of a sampled block, a mutex and a lookup.
 *
 * Bootstrap. The next allocator is found on the first call to any member
 * (base/interpose.h: dlsym, RTLD_NEXT), which may happen before main,
 * before cdebug's constructor, even inside the dynamic loader. dlsym may
 * call calloc or malloc itself: a thread resolving is marked, and its
 * allocations meanwhile come from a static arena of 64 KiB whose blocks are
 * pinned in the sampler's filter, so that free, realloc and
 * malloc_usable_size recognise them on their slow path (free does nothing:
 * the arena is never reused). Several threads may resolve at once; they
 * find the same functions.
 *
 * Mixing allocators. A function the next allocator does not define (jemalloc
 * has no pvalloc) must not be taken from a library further down (glibc's
 * pvalloc would return a block jemalloc's free cannot take): every member
 * but the core five (malloc, calloc, realloc, free, posix_memalign) is used
 * only when it comes from the same object as malloc, else made from
 * posix_memalign (malloc_usable_size then says 0). When the core five are
 * not all from one object, libc's set is used.
 *
 * Bad pointers. free, realloc and malloc_usable_size never dereference the
 * pointer they are given: a pointer the allocator did not return finds no
 * record and is forwarded untouched, so the program's bug is reported by
 * its allocator as it would be without cdebug.
 *
 * Build. The public names are defined only when the library is built with
 * CDEBUG_MALLOC (CMake, on by default, off under sanitizers, which
 * intercept malloc themselves: docs/profiling.md). The cd__malloc_* entry
 * points exist in every build: the unit tests call them directly.
 */
#ifndef CDEBUG_RUNTIME_MALLOC_H
#define CDEBUG_RUNTIME_MALLOC_H

#include <stdbool.h>
#include <stddef.h>

/* The family, under internal names (the public ones are aliases of these).
 * Each behaves as its C or POSIX namesake does with the next allocator.
 * Thread-safe; async-signal-safe exactly as the next allocator is (not at
 * all for glibc); cost as above. */
void *cd__malloc_malloc(size_t n);
void *cd__malloc_calloc(size_t nmemb, size_t size);
void *cd__malloc_realloc(void *p, size_t n);
void cd__malloc_free(void *p);
int cd__malloc_posix_memalign(void **out, size_t align, size_t n);
void *cd__malloc_aligned_alloc(size_t align, size_t n);
void *cd__malloc_memalign(size_t align, size_t n);
void *cd__malloc_valloc(size_t n);
void *cd__malloc_pvalloc(size_t n);
size_t cd__malloc_usable_size(void *p);

/* Whether this build defines the public names (CDEBUG_MALLOC). Pure. */
bool cd__malloc_interposed(void);

/* Whether p lies in the bootstrap arena (never dereferences p). Pure;
 * async-signal-safe. */
bool cd__malloc_in_arena(const void *p);

/* A zeroed block of the bootstrap arena: n bytes aligned to align (a power
 * of two up to 4096; smaller ones give 16), or NULL with errno ENOMEM when
 * the arena is spent (EINVAL for a bad alignment). A bump allocator shared
 * by the threads resolving at once; a block is never reused, and is pinned
 * in the sampler's filter so the free paths look at it. Used while a
 * thread resolves the next allocator (and by the unit tests).
 * Thread-safe; async-signal-safe; O(1). */
void *cd__malloc_arena_alloc(size_t n, size_t align);

/* The next allocator's malloc (resolving it first if needed): which
 * allocator serves the program, for its statistics (runtime/mallocstats.h).
 * Thread-safe; not async-signal-safe. */
void *cd__malloc_next_malloc(void);

#endif /* CDEBUG_RUNTIME_MALLOC_H */

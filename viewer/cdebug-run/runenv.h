/* runenv.h - the environment cdebug-run gives PROGRAM: CDEBUG and
 * LD_PRELOAD merged with what the caller's environment already holds.
 *
 * Pure string functions (malloc only), so the rules are in one place:
 *
 *   CDEBUG      the caller's items whose names the command line does not
 *               set, in their order (empty items dropped), then the
 *               command line's: an option wins, every other setting stays
 *               (the library reads "last one wins" anyway; dropping the
 *               overridden item keeps the value readable);
 *   LD_PRELOAD  libcdebug first, so its malloc and pthread functions come
 *               before another preloaded allocator's (which they then call,
 *               docs/preload.md), then the caller's entries, a copy of the
 *               library itself dropped. One exception: sanitizer runtimes
 *               (libasan, libtsan... ) at the head of the caller's list stay
 *               first, because a sanitizer refuses to start unless its
 *               runtime is the first library loaded.
 */
#ifndef CDEBUG_RUN_RUNENV_H
#define CDEBUG_RUN_RUNENV_H

#include <stddef.h>

/* The new CDEBUG value: old's items (old may be NULL) but those named in
 * names[0..n) whose values[i] is not NULL, then "name=value" for each of
 * those. Returns a malloc'd string (the caller frees it), or NULL when out
 * of memory. Thread-safe; O(length of old + the values). */
char *run_cdebug_merge(const char *old, const char *const names[], const char *const values[],
                       size_t n);

/* The new LD_PRELOAD value: lib placed as the comment above says, the
 * entries of old (may be NULL; separated by spaces or colons, as the loader
 * reads it) kept, joined with ':'. Returns a malloc'd string, or NULL when
 * out of memory. Thread-safe; O(length of old). */
char *run_preload_merge(const char *old, const char *lib);

#endif

/* base/dlhist.h - the shared libraries unloaded so far, so that a pc
 * sampled while a library was loaded is symbolized against that library
 * after it is gone, even when another one now lies at its addresses.
 *
 * Profiles keep raw pcs and symbolize them when they are written
 * (base/symbolize.h), with the mappings of that moment. A library
 * dlclosed in between leaves its pcs either in no mapping ("?") or, when
 * the loader has put another library there since (it reuses the hole),
 * in that library's functions: a wrong name. So each unload is recorded
 * here (runtime/dlclose.c defines dlclose over the C library's and calls
 * cd__dlset_read before it and cd__dlset_gone after it), and numbered: the
 * epoch is the count of unloads. A profile stores with each stack the
 * epoch it was taken in; at write time a pc of epoch s lies in the library
 * recorded as unloaded first after s whose code covered it, or, when none
 * did, in what is mapped now.
 *
 * The count moves once the unload is done: a sample taken in the
 * microseconds between the unmapping and the count's move, in a library
 * another thread loaded there meanwhile, is taken for the old one's.
 * Not seen: libraries the C library unloads itself (its own dlclose of
 * NSS or iconv modules does not come through the program's dlclose), and
 * a library file replaced on disk after its unload (its symbols are read
 * from the file when the profile is written).
 *
 * Memory: 48 bytes per executable segment unloaded, plus each
 * distinct path once; never freed (a pc of any earlier epoch may still sit
 * in a profile).
 */
#ifndef CDEBUG_BASE_DLHIST_H
#define CDEBUG_BASE_DLHIST_H

#include <stddef.h>
#include <stdint.h>

/* An executable segment of an unloaded library, as /proc/self/maps showed
 * it (page-rounded process addresses, file offset). */
typedef struct cd__dlgone {
    const char *path; /* absolute when it could be resolved; lives for ever */
    uintptr_t bias;   /* the library's load bias (link_map's l_addr) */
    uintptr_t lo, hi, offset;
    uint32_t epoch; /* the first epoch after its unload: a pc of a lower epoch may be its */
} cd__dlgone;

/* Registers the fork handlers of the history's lock, once. Call it before
 * any other fork handler that holds a lock under which the history is read
 * (runtime/start.c calls it first thing; the other functions here call it
 * too, for a dlclose before the runtime starts). Thread-safe. */
void cd__dlhist_init(void);

/* The epoch a sample taken now carries. Async-signal-safe (a relaxed
 * atomic load); thread-safe; O(1). */
uint32_t cd__dl_epoch(void);

/* An epoch later than any: symbolizes with the mappings of now (live
 * stacks, which cannot run in an unloaded library). */
#define CD__DL_EPOCH_NOW UINT32_MAX

/* The loaded objects (dl_iterate_phdr: path, bias, executable segments). */
typedef struct cd__dlset cd__dlset;

/* Reads the loaded objects into a new set (*out; NULL and -ENOMEM when
 * memory is short). Thread-safe; not async-signal-safe (takes the loader's
 * lock, allocates). O(objects). */
int cd__dlset_read(cd__dlset **out);

/* Records every object of before that is no longer loaded (compared by
 * bias and path), all with one new epoch. Thread-safe; not
 * async-signal-safe; O(objects^2) for the comparison. */
void cd__dlset_gone(const cd__dlset *before);

void cd__dlset_free(cd__dlset *set);

/* A malloc'd copy of the history in epoch order (*out, *n; the caller
 * frees the array, not the paths). 0 or -ENOMEM. Thread-safe; O(history). */
int cd__dl_history(cd__dlgone **out, size_t *n);

#endif /* CDEBUG_BASE_DLHIST_H */

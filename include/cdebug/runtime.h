/* cdebug/runtime.h - initialisation, errors, the garbage-collected heap.
 *
 * cdebug's heap is bdwgc (the Boehm-Demers-Weiser collector). Memory from
 * cd_alloc() is reclaimed automatically once unreachable; cd_free() is an
 * optional hint. Threads that touch GC memory must be known to the collector:
 * the kit's own threads are, the main thread is, and any other thread calls
 * cd_thread_register() first (see sched.h).
 */
#ifndef CDEBUG_RUNTIME_H
#define CDEBUG_RUNTIME_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(CD_BUILDING_LIBRARY)
#define CD_EXTERN __attribute__((visibility("default")))
#else
#define CD_EXTERN
#endif

#define CD_VERSION_MAJOR 0
#define CD_VERSION_MINOR 1
#define CD_VERSION_PATCH 0

/* Errors are negative errno values (-EINVAL, -ENOMEM, -ESHUTDOWN, ...).
 * cd_strerror() returns a static English description of one.
 * Thread-safe; async-signal-safe; O(1). Never returns NULL. */
CD_EXTERN const char *cd_strerror(int err);

/* Initialises cdebug: reads CDEBUG, CDMAXPROCS and CDGC, initialises bdwgc
 * (GC_INIT, parallel markers), installs the collection-event hooks, starts the
 * worker pool and whatever tracers the environment asks for (gctrace printer,
 * schedtrace monitor). Runs automatically from a library constructor, so a
 * program needs no call; calling it again is a no-op returning 0.
 * Returns 0 or a negative errno (-ENOMEM, -EAGAIN when threads cannot start).
 * Thread-safe (concurrent callers wait for the first); not async-signal-safe.
 * Cost: starts CDMAXPROCS threads, once. */
CD_EXTERN int cd_init(void);

/* Stops what cd_init started: waits for queued tasks to finish, stops the
 * workers, flushes pending gctrace lines and stops the monitor. Idempotent.
 * After it, cd_go() returns -ESHUTDOWN; the GC heap stays usable.
 * Call from a thread that is not a cdebug worker. Not async-signal-safe.
 * Also run at exit (atexit) so output is never lost. */
CD_EXTERN void cd_shutdown(void);

/* Allocates n zeroed bytes of scanned GC memory: pointers stored in it keep
 * their targets alive. Returns NULL only when memory is exhausted (n == 0
 * returns a unique minimal object). Thread-safe for registered threads; not
 * async-signal-safe. Cost: bdwgc's thread-local free-list pop plus two
 * counter updates; may trigger a collection. */
CD_EXTERN void *cd_alloc(size_t n);

/* Like cd_alloc but the memory is not scanned for pointers (strings, numeric
 * arrays) and is NOT zeroed. Same thread/signal rules and cost. */
CD_EXTERN void *cd_alloc_atomic(size_t n);

/* Resizes a cd_alloc/cd_alloc_atomic block, keeping its kind; p may be NULL.
 * Same rules as cd_alloc. */
CD_EXTERN void *cd_realloc(void *p, size_t n);

/* Copies a NUL-terminated string into pointer-free GC memory. NULL for NULL. */
CD_EXTERN char *cd_strdup(const char *s);

/* Explicitly frees a GC block (optional; the collector would reclaim it).
 * p may be NULL. The caller promises no other reference is used again. */
CD_EXTERN void cd_free(void *p);

/* Runs a full collection now, in the calling thread. With gctrace=1 its line
 * ends in " (forced)" and it counts in NumForcedGC. Not async-signal-safe.
 * Cost: a stop-the-world mark of the whole heap. */
CD_EXTERN void cd_gc(void);

/* Go's runtime.MemStats, same names and meanings where bdwgc has an
 * equivalent; docs/memstats.md says how each field is derived and which are
 * estimates or always zero. */
typedef struct cd_memstats {
    /* General statistics. */
    uint64_t Alloc;      /* bytes of allocated heap objects (= HeapAlloc) */
    uint64_t TotalAlloc; /* cumulative bytes allocated (never decreases) */
    uint64_t Sys;        /* bytes obtained from the OS for the heap */
    uint64_t Lookups;    /* always 0 (no pointer lookups in C) */
    uint64_t Mallocs;    /* cumulative objects allocated by cd_alloc* */
    uint64_t Frees;      /* cumulative objects freed (estimate, see docs) */
    /* Heap. */
    uint64_t HeapAlloc;
    uint64_t HeapSys;
    uint64_t HeapIdle;
    uint64_t HeapInuse;
    uint64_t HeapReleased;
    uint64_t HeapObjects;
    /* Off-heap (Go runtime internals; 0 or bdwgc's nearest analogue). */
    uint64_t StackInuse;
    uint64_t StackSys;
    uint64_t MSpanInuse;
    uint64_t MSpanSys;
    uint64_t MCacheInuse;
    uint64_t MCacheSys;
    uint64_t BuckHashSys;
    uint64_t GCSys;
    uint64_t OtherSys;
    /* Garbage collector. */
    uint64_t NextGC;       /* heap size at which the next collection is expected */
    uint64_t LastGC;       /* end of the last collection, ns since 1970 */
    uint64_t PauseTotalNs; /* cumulative stop-the-world ns */
    uint64_t PauseNs[256]; /* recent pauses, most recent at [(NumGC+255)%256] */
    uint64_t PauseEnd[256];
    uint32_t NumGC;
    uint32_t NumForcedGC;
    double GCCPUFraction; /* share of available CPU used by the GC since start */
    bool EnableGC;
    bool DebugGC; /* always false */
    struct {
        uint32_t Size;
        uint64_t Mallocs;
        uint64_t Frees;
    } BySize[61]; /* Go's size classes; cdebug leaves counts at 0 (see docs) */
} cd_memstats;

/* Fills *m with a consistent snapshot. Takes bdwgc's allocation lock briefly
 * (it does not stop the world). Thread-safe; not async-signal-safe; O(threads). */
CD_EXTERN void cd_read_memstats(cd_memstats *m);

#ifdef __cplusplus
}
#endif
#endif /* CDEBUG_RUNTIME_H */

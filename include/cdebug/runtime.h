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

/* The error rule, followed by every cdebug function (libuv's):
 *   - a function returning int returns 0 on success (or a value >= 0 its
 *     comment describes: a port, a count), or a negative errno value
 *     (-EINVAL, -ENOMEM, -ESHUTDOWN, ...) on failure, never -1;
 *   - a function returning a pointer returns NULL on failure and sets
 *     errno to the positive value;
 *   - a file descriptor that is negative, closed, or not open for what the
 *     function does with it (a read-only fd given to a writer) is -EBADF;
 *     a bad value of any other argument is -EINVAL.
 * Each function's comment lists the codes it returns. */

/* A static English description of err ("bad file descriptor" for -EBADF,
 * "success" for 0), for every code a cdebug function returns; "unknown
 * error" for any other value. Thread-safe; async-signal-safe; O(1). Never
 * returns NULL. */
CD_EXTERN const char *cd_strerror(int err);

/* The symbolic name of err, as libuv's uv_err_name: "EBADF" for -EBADF,
 * "OK" for 0, and for a value no cdebug function returns the static string
 * "UNKNOWN" (libuv formats the number into memory it allocates; a static
 * string keeps this thread-safe, async-signal-safe and free of leaks: the
 * caller has the number). Thread-safe; async-signal-safe; O(1). Never
 * returns NULL. */
CD_EXTERN const char *cd_err_name(int err);

/* Initialises cdebug: reads CDEBUG, CDMAXPROCS and CDGC, initialises bdwgc
 * (GC_INIT, parallel markers), installs the collection-event hooks, starts the
 * worker pool and whatever tracers the environment asks for (gctrace printer,
 * schedtrace monitor). Runs automatically from a library constructor, so a
 * program needs no call; calling it again is a no-op returning 0.
 * Returns 0 or a negative errno (-ENOMEM, -EAGAIN when threads cannot start).
 * Thread-safe (concurrent callers wait for the first); not async-signal-safe.
 * Cost: starts CDMAXPROCS threads, once. */
CD_EXTERN int cd_init(void);

/* Stops what cd_init started: stops a CPU profile and a trace started by
 * the environment (writing them), stops the debug server, waits for queued
 * tasks to finish, stops the workers, the flight recorder, the schedtrace
 * monitor and the gctrace printer (flushing its lines). Idempotent.
 * After it, cd_go() returns -ESHUTDOWN; the GC heap stays usable. Also
 * run at exit (atexit) so output is never lost. Thread-safe (a second
 * caller returns at once, without waiting for the first); call it from a
 * thread that is not a cdebug worker; not async-signal-safe. Cost: blocks
 * until the queued tasks have run and the files are written. */
CD_EXTERN void cd_shutdown(void);

/* Allocates n zeroed bytes of scanned GC memory: pointers stored in it keep
 * their targets alive. Returns NULL with errno ENOMEM only when memory is
 * exhausted (n == 0 returns a unique minimal object). Thread-safe for
 * registered threads; not async-signal-safe. Cost: bdwgc's thread-local
 * free-list pop plus two counter updates; may trigger a collection. */
CD_EXTERN void *cd_alloc(size_t n);

/* Like cd_alloc but the memory is not scanned for pointers (strings, numeric
 * arrays) and is NOT zeroed. Same errors, thread/signal rules and cost. */
CD_EXTERN void *cd_alloc_atomic(size_t n);

/* Resizes a cd_alloc/cd_alloc_atomic block, keeping its kind; p may be
 * NULL (then it allocates). n == 0 frees p and returns NULL (not an error).
 * Returns NULL with errno ENOMEM when memory is exhausted, p then being
 * untouched. Same thread/signal rules as cd_alloc. Cost: O(1) when the
 * block still fits, else an allocation and a copy of min(old, n) bytes. */
CD_EXTERN void *cd_realloc(void *p, size_t n);

/* Copies a NUL-terminated string into pointer-free GC memory. Returns NULL
 * with errno EINVAL for NULL, ENOMEM when memory is exhausted. Same
 * thread/signal rules as cd_alloc. Cost: O(length). */
CD_EXTERN char *cd_strdup(const char *s);

/* Explicitly frees a GC block (optional; the collector would reclaim it).
 * p may be NULL. The caller promises no other reference is used again.
 * Thread-safe for registered threads; not async-signal-safe. Cost: O(1),
 * bdwgc's free under its allocation lock. */
CD_EXTERN void cd_free(void *p);

/* Runs a full collection now, in the calling thread. With gctrace=1 its line
 * ends in " (forced)" and it counts in NumForcedGC. Thread-safe (registered
 * threads); not async-signal-safe. Cost: a stop-the-world mark of the
 * whole heap. */
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
 * (it does not stop the world). Thread-safe, from any thread (registered
 * or not); not async-signal-safe. Cost: O(threads). */
CD_EXTERN void cd_read_memstats(cd_memstats *m);

#ifdef __cplusplus
}
#endif
#endif /* CDEBUG_RUNTIME_H */

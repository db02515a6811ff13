/* runtime/mallocstats.h - the malloc heap's figures, as the allocator that
 * serves the program's malloc reports them: glibc's mallinfo2, jemalloc's
 * mallctl statistics, tcmalloc's MallocExtension properties. The vars
 * (`malloc` in /debug/vars, cdebug_malloc_* in /metrics) show them under
 * Go's MemStats names; docs/vars.md says what each means per allocator.
 *
 * The allocator is the one runtime/malloc.c forwards to, or, in a build
 * that does not interpose malloc, whichever malloc the process resolves.
 * It is known by the statistics function found in the same loaded object
 * as that malloc (base/interpose.h), looked up once.
 */
#ifndef CDEBUG_RUNTIME_MALLOCSTATS_H
#define CDEBUG_RUNTIME_MALLOCSTATS_H

#include <stdbool.h>
#include <stdint.h>

/* Which figure an allocator gives: a bit per field below. */
enum {
    CD__MS_HEAP_ALLOC = 1 << 0,
    CD__MS_HEAP_SYS = 1 << 1,
    CD__MS_HEAP_IDLE = 1 << 2,
    CD__MS_HEAP_INUSE = 1 << 3,
    CD__MS_HEAP_RELEASED = 1 << 4,
};

typedef struct cd__mallocstats {
    const char *allocator;  /* "glibc", "jemalloc", "tcmalloc", "unknown" (static) */
    unsigned have;          /* CD__MS_* bits of the fields set */
    uint64_t heap_alloc;    /* bytes in blocks the program holds (Go's HeapAlloc) */
    uint64_t heap_sys;      /* bytes of heap the allocator got from the OS (HeapSys) */
    uint64_t heap_idle;     /* of those, bytes holding no block (HeapIdle) */
    uint64_t heap_inuse;    /* of those, bytes of pages holding blocks (HeapInuse) */
    uint64_t heap_released; /* idle bytes given back to the OS (HeapReleased) */
} cd__mallocstats;

/* Fills *s with the allocator's figures now. Thread-safe; not
 * async-signal-safe. Cost: the allocator's own (glibc's mallinfo2 takes
 * every arena's lock in turn and walks its free lists: microseconds to a
 * millisecond for a large fragmented heap), and a symbol lookup the first
 * time. */
void cd__mallocstats_read(cd__mallocstats *s);

#endif /* CDEBUG_RUNTIME_MALLOCSTATS_H */

/* prof/heapprof.h - the "heap" and "allocs" profiles, rendered from the
 * heap sampler's published counts (runtime/mprof.h: how allocations are
 * sampled, recorded and published), as Go's runtime/pprof renders its
 * runtime's MemProfile. Nothing here touches GC memory, so the profiles can
 * be rendered from threads bdwgc does not know.
 */
#ifndef CDEBUG_PROF_HEAPPROF_H
#define CDEBUG_PROF_HEAPPROF_H

/* Registers the "heap" and "allocs" profiles and remembers which process
 * owns CDEBUG=memprofile. Called once by init/ after the runtime's
 * initialisation. Returns 0 or a negative errno (a failed registration).
 * Not thread-safe against itself. */
int cd__heapprof_init(void);

/* CDEBUG=memprofile=FILE: after a collection, writes the allocs profile to
 * FILE (go test -memprofile's behaviour). No-op without the setting, and
 * in a child of fork() (the file is the parent's); runs once (later calls
 * return at once). Errors go to stderr. Called at exit and by cd_shutdown.
 * Not async-signal-safe. */
void cd__heapprof_write_env(void);

#endif /* CDEBUG_PROF_HEAPPROF_H */

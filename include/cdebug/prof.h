/* cdebug/prof.h - pprof-compatible profiles of a program on cdebug: CPU,
 * heap, allocations, tasks (Go's goroutine profile) and threads, written as
 * gzipped profile.proto (debug 0, what `go tool pprof` reads) or as Go's
 * text forms (debug 1, and 2 for tasks). The same profiles are served by the
 * debug server under /debug/pprof/ (docs/profiling.md).
 *
 * Every function returns 0 or a negative errno (cd_strerror). None is
 * async-signal-safe.
 */
#ifndef CDEBUG_PROF_H
#define CDEBUG_PROF_H

#include <cdebug/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Starts the CPU profiler: every thread cdebug knows is sampled `hz` times
 * per second of its CPU time (0: the default, 100); the profile is written
 * to fd by cd_cpuprof_stop. -EBUSY when a profile is already running
 * (Go: "cpu profiling already in use"), -EINVAL for a bad fd or hz.
 * Thread-safe. */
CD_EXTERN int cd_cpuprof_start(int fd, int hz);

/* Stops the CPU profiler and writes the profile to the fd given to start.
 * -ENOENT when no profile runs. Thread-safe. */
CD_EXTERN int cd_cpuprof_stop(void);

/* Writes the heap profile (in-use objects and bytes, sampled every
 * memprofilerate bytes on average) / the allocations profile (same data,
 * alloc_space by default) / the task profile / the thread-creation
 * profile to fd. debug: 0 profile.proto, 1 text (2: tasks one by one, Go's
 * traceback shape). Thread-safe. */
CD_EXTERN int cd_heapprof_write(int fd, int debug);
CD_EXTERN int cd_allocsprof_write(int fd, int debug);
CD_EXTERN int cd_taskprof_write(int fd, int debug);
CD_EXTERN int cd_threadprof_write(int fd, int debug);

#ifdef __cplusplus
}
#endif

#endif /* CDEBUG_PROF_H */

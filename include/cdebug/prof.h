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
 * per second of its CPU time (0: the default, 100; at most 1000); the
 * profile is written to fd by cd_cpuprof_stop. Returns 0, -EBADF (fd not
 * open for writing), -EINVAL (hz out of range), -EBUSY when a profile is
 * already running or being written (Go: "cpu profiling already in use"),
 * -ENOMEM, or timer_create(2)'s error. Thread-safe; not async-signal-safe.
 * Cost: one POSIX timer per thread and a SIGPROF handler while it runs
 * (docs/profiling.md says what a sample costs). */
CD_EXTERN int cd_cpuprof_start(int fd, int hz);

/* Stops the CPU profiler and writes the profile to the fd given to start.
 * Returns 0, -ENOENT when no profile runs, or the write's error (-ENOSPC,
 * -EPIPE...). Thread-safe; not async-signal-safe. Cost: blocks while the
 * samples are symbolized, encoded and written. */
CD_EXTERN int cd_cpuprof_stop(void);

/* Write the heap profile (in-use objects and bytes, sampled every
 * memprofilerate bytes on average) / the allocations profile (same data,
 * alloc_space by default) / the task profile (Go's goroutine profile) /
 * the thread-creation profile to fd. debug: 0 profile.proto, 1 text (2:
 * tasks one by one, Go's traceback shape). fd stays open. Return 0,
 * -EBADF (fd not open for writing), -EINVAL (debug < 0), -ENOMEM, or the
 * write's error. Thread-safe, from any thread (registered or not); not
 * async-signal-safe. Cost: the whole profile is built and rendered in
 * memory first: O(sampled stacks); the task profile is O(tasks) and asks
 * each running thread for its stack by a signal (nothing is stopped). */
CD_EXTERN int cd_heapprof_write(int fd, int debug);
CD_EXTERN int cd_allocsprof_write(int fd, int debug);
CD_EXTERN int cd_taskprof_write(int fd, int debug);
CD_EXTERN int cd_threadprof_write(int fd, int debug);

#ifdef __cplusplus
}
#endif

#endif /* CDEBUG_PROF_H */

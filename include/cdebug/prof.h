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

#include <stdint.h>

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

/* The block and mutex profiles (Go's), written to fd as the functions
 * above: debug 0 profile.proto (contentions/count, delay/nanoseconds), 1
 * Go's text ("--- contention:" / "--- mutex:"). Same returns, thread
 * safety and cost (O(recorded stacks)). */
CD_EXTERN int cd_blockprof_write(int fd, int debug);
CD_EXTERN int cd_mutexprof_write(int fd, int debug);

/* Go's runtime.SetBlockProfileRate: record a blocking event of d ns (a
 * condition wait, pthread_join, sem_wait, cd_wg_wait, a cd_block_begin /
 * cd_block_end section, a contended lock) when d >= ns, else with
 * probability d/ns; 1 records every event, 0 (the default) none; a
 * negative ns is 0. Also CDEBUG=blockprofilerate=NS. Thread-safe;
 * async-signal-safe. Cost: a store. */
CD_EXTERN void cd_set_block_profile_rate(int64_t ns);

/* Go's runtime.SetMutexProfileFraction: record on average 1 in n
 * contended lock acquisitions (pthread_mutex_lock, pthread_rwlock_*lock);
 * 0 (the default) none. n < 0 only reads. Returns the previous fraction.
 * Also CDEBUG=mutexprofilefraction=N. Thread-safe; async-signal-safe.
 * Cost: a store. */
CD_EXTERN int cd_set_mutex_profile_fraction(int n);

#ifdef __cplusplus
}
#endif

#endif /* CDEBUG_PROF_H */

/* prof/cpuprof.h - the CPU profiler: per-thread CPU-time timers, a
 * SIGPROF handler that walks frame pointers into a per-thread ring, and an
 * aggregator that turns the rings into a pprof CPU profile.
 *
 * How a sample is taken. Every thread cdebug knows (runtime/thread.h:
 * main, workers, spare and service threads, registered foreign threads)
 * gets a POSIX timer on its own CPU-time clock (timer_create on the
 * thread's CLOCK_THREAD_CPUTIME_ID clock, SIGEV_THREAD_ID to that very
 * thread), firing every 1/hz seconds of CPU the thread burns. Threads that
 * register while a profile runs get one at registration; a thread that
 * exits deletes its own timer first. The signal carries the index of the
 * thread's "slot" (its ring) and the slot's generation, so the handler
 * needs no thread-local storage and no lookup.
 *
 * The handler is async-signal-safe: it claims the slot with one atomic
 * exchange, walks the interrupted stack with base/fpwalk.h (at most
 * CD__FPWALK_MAX frames: deeper stacks are cut, code without frame
 * pointers gives a truncated stack), copies the name of the task running
 * on the thread (at most CD__CPUPROF_NAME_MAX bytes), reads the unload
 * epoch (base/dlhist.h, an atomic load) and appends one record to the
 * ring. No allocation, no lock, no library call but fpwalk's and the
 * leaf repair's getpid and process_vm_readv (bare system calls, see
 * cpuprof.c). When the ring is full the sample is dropped and counted; the
 * profile then carries the count as samples of the pseudo-function
 * cd__cpuprof_lost_samples (as Go's profiles carry lost samples), and a
 * comment.
 *
 * The aggregator is a kit thread that drains every ring each
 * CD__CPUPROF_DRAIN_MS into a hash table of distinct (stack, task) pairs;
 * rings are drained also when their thread exits and at stop. Stop encodes
 * the table with prof/pprof.h: sample types samples/count and
 * cpu/nanoseconds, period type cpu/nanoseconds, period 1e9/hz, and a pprof
 * label task=NAME on samples taken while a named task ran.
 *
 * Memory. A slot (ring of CD__CPUPROF_RING_WORDS words, 32 KiB) is taken
 * from a pool for each sampled thread and given back when the thread exits
 * or the profile stops; slots are never returned to the system, because a
 * signal already on its way to a thread may still refer to one (it then
 * sees a newer generation and drops itself). Held memory: 32 KiB times the
 * most threads sampled at once. At most CD__CPUPROF_MAX_THREADS threads
 * are sampled at once; more are left out and counted.
 *
 * Coexistence with the collector. bdwgc stops the world with SIGPWR and
 * resumes with SIGXCPU; its suspend handler blocks every other signal,
 * SIGPROF included, so a sample never interrupts a suspended thread (and a
 * suspended thread burns no CPU, so its timer does not run). Our handler
 * blocks nothing: a stop-the-world signal may interrupt it, which is safe
 * because it holds no lock; the only wait on a slot (retirement waiting
 * for a handler to leave it) spins with sleeps, never holding a lock the
 * collector needs.
 *
 * EINTR. As with Go's profiler, a system call interrupted by SIGPROF may
 * fail with EINTR when it is not restartable (the handler is installed
 * with SA_RESTART). Once installed, the handler stays: a late SIGPROF must
 * never meet the default action, which kills the process.
 */
#ifndef CDEBUG_PROF_CPUPROF_H
#define CDEBUG_PROF_CPUPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "runtime/thread.h"

#define CD__CPUPROF_DEFAULT_HZ  100   /* Go's runtime/pprof rate */
#define CD__CPUPROF_MAX_HZ      1000  /* higher rates get -EINVAL; = CD__CPUPROFILERATE_MAX */
#define CD__CPUPROF_RING_WORDS  4096  /* per thread (32 KiB): >= 57 deepest samples */
#define CD__CPUPROF_NAME_MAX    47    /* bytes of a task name kept in a sample */
#define CD__CPUPROF_MAX_THREADS 16384 /* threads sampled at once */
#define CD__CPUPROF_DRAIN_MS    100   /* aggregator period */

/* Receives a finished profile: err 0 and the gzipped profile.proto in
 * buf[0..len) (malloc'ed; the callee owns it), or a negative errno and no
 * buffer. Called once, by whoever stops the profile, with the profiler's
 * control lock held: it must not call back into the profiler. */
typedef void (*cd__cpuprof_done_fn)(void *ctx, int err, uint8_t *buf, size_t len);

/* Starts a profile at hz samples per CPU-second (0: the default) whose
 * result goes to done(ctx). Returns 0, -EBUSY (a profile runs or is being
 * written), -EINVAL (hz < 0 or > CD__CPUPROF_MAX_HZ), -ENOMEM, -EAGAIN (no
 * aggregator thread). Never waits for another start or stop.
 * Thread-safe; not async-signal-safe. Cost: one timer per known thread. */
int cd__cpuprof_start_cb(int hz, cd__cpuprof_done_fn done, void *ctx);

/* Stops the profile if it is the one started with ctx, and delivers it
 * (done is called before this returns). Returns 0 or -ENOENT (another
 * profile, or none: then ctx's done has already been called, or its start
 * failed). Thread-safe; not async-signal-safe. Cost: drains and encodes
 * the profile (symbolization: milliseconds to a second). */
int cd__cpuprof_stop_owner(void *ctx);

/* True while a profile runs. Lock-free. */
bool cd__cpuprof_running(void);

/* Registers the profiler's thread attach and detach functions as the
 * runtime's thread hooks (runtime/hooks.h), so that every thread
 * registered from then on is sampled; threads already registered are found
 * in the registry when a profile starts. Called once by init/ before any profile can start.
 * Returns 0 or a negative errno. Thread-safe; not async-signal-safe. */
int cd__cpuprof_init(void);

/* CDEBUG=cpuprofile=FILE: creates FILE and starts profiling into it at hz
 * (CDEBUG cpuprofilerate; cd_init); writes and closes it (cd_shutdown,
 * exit). Errors are printed on stderr. Not thread-safe against each other
 * (init/shutdown only). */
int cd__cpuprof_file_start(const char *path, int hz);
void cd__cpuprof_file_stop(void);

/* Counters since the process started, for tests and docs. */
typedef struct cd__cpuprof_stats {
    uint64_t samples;   /* records drained from rings */
    uint64_t dropped;   /* samples lost to full rings */
    uint64_t no_stack;  /* signals whose thread had no stack bounds */
    uint64_t untracked; /* threads left out: no slot, or timer_create failed */
    uint64_t stale;     /* signals for a retired slot (dropped, harmless) */
    uint64_t slots;     /* slots ever allocated (memory held / 32 KiB) */
    uint64_t profiles;  /* profiles completed */
} cd__cpuprof_stats;

/* Thread-safe; relaxed reads. */
void cd__cpuprof_read_stats(cd__cpuprof_stats *s);

#endif /* CDEBUG_PROF_CPUPROF_H */

/* prof/threadstack.h - the current stack of another thread, by signal.
 *
 * The task profile (prof/taskprof.c) and the SIGQUIT dump need the stacks
 * of running threads. A thread's stack can only be walked safely by the
 * thread itself, so the requester sends it a signal (SIGURG, as Go's
 * runtime does for preemption: ignored by default, so a signal that
 * arrives after its request was abandoned is harmless) whose handler walks
 * the interrupted frames (base/fpwalk.h) into a static slot and wakes the
 * requester. The requester waits with a timeout: a thread that exits, is
 * stopped by bdwgc's stop-the-world or blocks the signal simply gives no
 * stack.
 *
 * Slots. CD__TS_SLOTS static slots, each a word holding the target's tid
 * and a phase (free, pending, writing, done) changed only by CAS, plus the
 * frames. The handler claims the slot pending for its own tid (pending ->
 * writing), fills it, publishes it (-> done); the requester collects done
 * slots and abandons pending ones (pending -> free) at its deadline; a
 * slot caught in the writing phase is waited for (the handler never
 * blocks, so that wait is short). A late handler finds no slot pending for
 * its tid and returns at once. Requests are serialised by a mutex.
 *
 * Side effect. The handler is installed with SA_RESTART, so interrupted
 * system calls that the kernel restarts (read, write, futex waits,
 * pthread_mutex_lock, pthread_cond_wait, sem_wait, wait4...) are
 * invisible to the program; those Linux never restarts (nanosleep, poll,
 * select, epoll_wait) would return EINTR early. cd__ts_signal_safe tells
 * them apart from /proc/self/task/TID/syscall, so callers can leave such
 * threads alone (docs/profiling.md); the same file gives the pc of the
 * wrapper that made the call, the one frame of such a thread that is
 * known without disturbing it.
 */
#ifndef CDEBUG_PROF_THREADSTACK_H
#define CDEBUG_PROF_THREADSTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "base/fpwalk.h"

#define CD__TS_SLOTS      64  /* threads asked at once; more go in batches */
#define CD__TS_TIMEOUT_MS 200 /* longest wait for one batch */

/* One request: set tid, get pcs[0..n) (pcs[0] the interrupted pc, then
 * return addresses) and ok. */
typedef struct cd__ts_req {
    pid_t tid;
    bool ok; /* the thread answered */
    size_t n;
    uintptr_t pcs[CD__FPWALK_MAX];
    uint32_t epoch; /* base/dlhist.h's when the thread took its stack */
} cd__ts_req;

/* Asks every reqs[i].tid for its stack, CD__TS_SLOTS at a time, waiting
 * at most CD__TS_TIMEOUT_MS per batch. The calling thread must not be one
 * of them (it would wait for itself: use cd__fpwalk_here). Returns the
 * number of threads that answered, or a negative errno: -EBUSY when the
 * program has its own SIGURG handler (it is left alone and no thread is
 * ever signalled; the handler is installed at the first call).
 * Thread-safe (serialised); not async-signal-safe; holds no lock of the
 * runtime while waiting. */
int cd__ts_collect(cd__ts_req *reqs, size_t n);

/* What /proc/self/task/TID/syscall says of a thread blocked in a system
 * call: its number, and the user stack pointer and pc the kernel saved
 * (pc: the instruction after the syscall instruction, inside the libc
 * wrapper that made the call). */
typedef struct cd__ts_sys {
    bool in_syscall; /* blocked in a system call: nr, sp and pc are set */
    long nr;
    uintptr_t sp, pc;
} cd__ts_sys;

/* What thread tid is doing, from /proc/self/task/TID/syscall: fills *sys
 * and returns true when a signal would not disturb it (running, or in a
 * call the kernel restarts after a handler installed with SA_RESTART).
 * False also when unknown (sys->in_syscall false). Reads the thread's
 * saved registers without stopping or signalling it. Thread-safe; not
 * async-signal-safe (opens a file). */
bool cd__ts_signal_safe(pid_t tid, cd__ts_sys *sys);

/* The name of system call nr ("epoll_wait") for the calls that block
 * (those a signal would disturb and the common restarted ones), else
 * "syscall NR" written into buf (len bytes). Returns a literal or buf.
 * Thread-safe; no allocation; not async-signal-safe (snprintf). */
const char *cd__ts_syscall_name(long nr, char *buf, size_t len);

#endif /* CDEBUG_PROF_THREADSTACK_H */

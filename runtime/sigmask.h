/* runtime/sigmask.h - signals cdebug needs delivered, kept unblocked.
 *
 * Many programs block every signal in every thread (to take the ones they
 * want with sigwait or signalfd in one thread). A thread that blocks
 * SIGPROF is never sampled by the CPU profiler, and a thread registered
 * with the collector that blocks bdwgc's stop-the-world signals stops
 * every collection for ever. bdwgc's answer is a pthread_sigmask wrapper
 * (GC_pthread_sigmask) that takes its signals out of what the program
 * blocks; cdebug's is the same, for every caller: libcdebug defines
 * pthread_sigmask and sigprocmask (exported: cmake/cdebug.map), removes
 * the kept signals from a set to block (SIG_BLOCK, SIG_SETMASK) while
 * they are deliverable, and forwards to the next definition. A kept
 * signal the thread has blocked already (inside its own handler) stays
 * blocked as a SIG_SETMASK asks: unblocking it there would let a second
 * one into the handler (see sigmask.c). The mask returned as the old one
 * is the thread's real mask. Unblocking is never changed.
 *
 * Why it is safe: cdebug's handlers for the kept signals are
 * async-signal-safe and installed with SA_RESTART; SIGPROF is only sent
 * by timers a profile arms. Limits: a raw rt_sigprocmask system call, or
 * a mask set before cdebug was loaded, is not seen; a program that wants
 * SIGPROF blocked for a profiler of its own loses that.
 *
 * The other way round, for the collector's stopped threads: bdwgc waits
 * there with SIGINT, SIGQUIT, SIGABRT and SIGTERM unblocked, which would
 * hand a program's sigwait'ed SIGTERM to a stopped thread and kill the
 * process. libcdebug's sigsuspend blocks them again there where the
 * thread had them blocked (cd__sigmask_wrap_stop, sigmask.c).
 */
#ifndef CDEBUG_RUNTIME_SIGMASK_H
#define CDEBUG_RUNTIME_SIGMASK_H

/* Keeps sig (1..63) deliverable from now on: later calls that would block
 * it in a thread block the rest only. Thread-safe; async-signal-safe (an
 * atomic or); O(1). */
void cd__sigmask_keep(int sig);

/* Wraps the handler installed for sig, the collector's stop-the-world
 * signal, so that a thread stopped by a collection keeps SIGINT, SIGQUIT,
 * SIGABRT and SIGTERM blocked if it had them blocked (bdwgc unblocks them
 * while the thread waits; libcdebug's sigsuspend puts them back, see
 * sigmask.c). Called once the collector is initialised, before a second
 * thread registers with it. Not thread-safe against itself; not
 * async-signal-safe (sigaction). O(1). */
void cd__sigmask_wrap_stop(int sig);

#endif /* CDEBUG_RUNTIME_SIGMASK_H */

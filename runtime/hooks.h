/* runtime/hooks.h - where the layers above the runtime hook into it.
 *
 * Calls only go down: the runtime never names prof/, trace/ or http/. When
 * the runtime must reach one of them (a thread starts, the process forks),
 * that layer registers a function here at startup (init/ calls each
 * module's registration) and the runtime calls whatever is registered.
 *
 *   thread hooks      every registered thread, on its own thread: attach
 *                     after it joined the registry, detach after it left it
 *                     (the CPU profiler arms and disarms its timer)
 *   fork-child hooks  in a child of fork(), from the runtime's one atfork
 *                     child handler, after the pool was made anew (the
 *                     trace writer, the flight recorder and the trace API
 *                     forget the parent's session)
 *
 * Each list is append-only (at most CD__HOOKS_MAX entries), published with
 * a release store of its length: running a list takes no lock, so the
 * fork-child list may run in a child of a multi-threaded fork.
 */
#ifndef CDEBUG_RUNTIME_HOOKS_H
#define CDEBUG_RUNTIME_HOOKS_H

#include "runtime/thread.h"

#define CD__HOOKS_MAX 8

/* A thread hook: t is the calling thread's record. */
typedef void (*cd__thread_hook)(cd__thread *t);

/* Registers a pair of thread hooks (either may be NULL). Returns 0,
 * -EEXIST (the same pair again: nothing added) or -ENOSPC. Thread-safe;
 * not async-signal-safe; O(hooks). */
int cd__hooks_thread(cd__thread_hook on_attach, cd__thread_hook on_detach);

/* Runs the attach (detach) hooks, in registration order, for t. Called by
 * runtime/thread.c only. Thread-safe; O(hooks). */
void cd__hooks_attach(cd__thread *t);
void cd__hooks_detach(cd__thread *t);

/* Registers a fork-child hook. It runs in the child on the forking
 * thread, the only one there, before fork() returns: like every atfork
 * child handler of a multi-threaded process it may only store (no
 * allocation, no lock taken, no system call), and should forget, never
 * walk or free, what other threads of the parent were using. Returns 0,
 * -EEXIST or -ENOSPC. Thread-safe; O(hooks). */
int cd__hooks_fork_child(void (*fn)(void));

/* Runs the fork-child hooks in registration order. runtime/sched.c's
 * atfork child handler only. Plain loads and the hooks' own stores. */
void cd__hooks_run_fork_child(void);

#endif /* CDEBUG_RUNTIME_HOOKS_H */

/* init/exitsig.h - the files the environment asks for, written when the
 * program is ended by SIGTERM or SIGINT.
 *
 * cpuprofile=, memprofile= and trace= are written at exit (atexit). A
 * signal whose action is the default ends the process without it: a
 * server stopped with SIGTERM, or a program stopped with Ctrl-C, would
 * lose every file. So, when one of those files is asked for and the
 * program left SIGTERM or SIGINT at its default action, cdebug catches
 * it: the handler wakes a thread of cdebug's ("cd-exit"), which writes
 * the files and then ends the process with the same signal, its default
 * action restored (the exit status says "killed by SIGTERM", as before).
 *
 * The program stays in charge: a handler it installs later replaces
 * cdebug's (its own exit path then runs the atexit work); a signal it
 * blocks everywhere to sigwait for is never seen here; an ignored one
 * stays ignored. A second signal while the files are written ends the
 * process at once. In a child of fork(), where the thread does not
 * exist, the handler restores the default action and re-raises.
 */
#ifndef CDEBUG_INIT_EXITSIG_H
#define CDEBUG_INIT_EXITSIG_H

/* Installs the handlers (SIGTERM and SIGINT, each only if its action is
 * the default) and starts the thread that runs work() on the first one,
 * then ends the process with that signal. Returns 0 (also when neither
 * signal was at its default: nothing to do) or a negative errno (no
 * thread: nothing installed). Call once, from cd_init. Not thread-safe
 * against itself; not async-signal-safe. Cost: one thread, asleep. */
int cd__exitsig_start(void (*work)(void));

#endif /* CDEBUG_INIT_EXITSIG_H */

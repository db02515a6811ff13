/* runtime/pthread_locks.h - the program's locks and waits as events of the
 * mutex and block profiles: see pthread_locks.c for what is interposed and
 * why. */
#ifndef CDEBUG_RUNTIME_PTHREAD_LOCKS_H
#define CDEBUG_RUNTIME_PTHREAD_LOCKS_H

/* Resolves the next definitions of the interposed functions (each would
 * on first use anyway). Called once by the runtime's start; it also keeps
 * the interposers in a program linked with the static library. Not
 * async-signal-safe. */
void cd__pthread_locks_init(void);

#endif /* CDEBUG_RUNTIME_PTHREAD_LOCKS_H */

/* prof/sigquit.h - CDEBUG=sigquit=1: SIGQUIT (Ctrl-\) prints every task and
 * thread in Go's traceback shape on stderr and exits with status 2, as a
 * Go program does:
 *
 *   SIGQUIT: quit
 *   PC=0x7f3a1c2e4f0d m=1 sigcode=0
 *
 *   thread M1 [main, syscall]:
 *   ...
 *
 *   goroutine 7 [sync.WaitGroup.Wait]:
 *   ...
 *   created by main
 *   	/src/app.c:40 +0x5b
 *
 *   rax    0xfffffffffffffe00
 *   ...
 *
 * Design. Symbolizing and formatting allocate and take locks, which a
 * signal handler must not do. So the handler only records what only it can
 * see (the signal's code, the interrupted thread, its pc, registers and
 * frames, into static storage) and writes one byte to a pipe; a kit thread
 * started at init, blocked in read(2) on that pipe, wakes up, builds the
 * dump (prof/taskprof.h, asking every thread for its stack) and calls
 * _exit(2). A second SIGQUIT during the dump is ignored. Without
 * sigquit=1 nothing is installed and SIGQUIT keeps its default action
 * (core dump).
 */
#ifndef CDEBUG_PROF_SIGQUIT_H
#define CDEBUG_PROF_SIGQUIT_H

/* Creates the pipe and the dumping thread, then installs the handler.
 * Called once by cd_init when CDEBUG has sigquit=1. Returns 0 or a
 * negative errno (nothing installed then). Not thread-safe. */
int cd__sigquit_start(void);

#endif /* CDEBUG_PROF_SIGQUIT_H */

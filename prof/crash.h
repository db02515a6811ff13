/* prof/crash.h - crash reports and the SIGQUIT dump: Go's report on a
 * fatal signal, shaped by CDTRACEBACK as Go's by GOTRACEBACK.
 *
 * A fatal signal (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT, SIGTRAP) and,
 * unless the program handles it or CDEBUG has sigquit=0, SIGQUIT print on
 * stderr
 *
 *   SIGSEGV: segmentation violation
 *   PC=0x55d0c6a4b2d4 m=3 sigcode=1 addr=0x0
 *   pc=0x55d0c6a4b2d4 /srv/app+0x12d4            <- the raw frames: file+offset
 *   pc=0x55d0c6a4b3a0 /srv/app+0x13a0
 *   created by pc=0x55d0c6a4b400 /srv/app+0x1400
 *
 *   goroutine 7 [running, task "fetch"]:        <- the task, or "thread M1 [main, running]:"
 *   parse(...)
 *   	/src/app.c:40 +0x14
 *   created by main
 *   	/src/app.c:90 +0x5b
 *
 * then, by level, every other task and thread and the registers, and
 * exits with status 2 (CDTRACEBACK=crash: dies of the signal, with a core).
 *
 * Levels (CDTRACEBACK, GOTRACEBACK's): none (the first two lines only),
 * single (the default: the thread the signal hit), all (every task, main
 * and registered threads), system (also the pool's and the kit's threads,
 * the pool's frames below each task, the registers), crash (as system,
 * then the signal again with its default action). SIGQUIT prints at least
 * all, with the registers, as Go's SIGQUIT does.
 *
 * Design: never lose the report, never hang.
 *   1. The handler, on the thread the signal hit, on its alternate stack
 *      (every thread the registry knows has one: runtime/thread.h), with
 *      async-signal-safe calls only (base/sigsafe.h), writes the signal
 *      line, the PC line, the raw frames as file+offset (from
 *      /proc/self/maps: `addr2line -e FILE OFFSET` reads them offline) and
 *      the task's or thread's header with its name. That part is out
 *      whatever happens next.
 *   2. Symbolizing (libdwfl) allocates and locks, so the handler does not:
 *      a reporting thread, blocked on a futex, is woken (4: or a copy).
 *      It symbolizes the stack the handler recorded and writes it, then,
 *      by level, the dump of every task and thread (prof/taskprof.h). The
 *      handler waits for it with deadlines (CD__CRASH_SYM_MS for the
 *      stack, CD__CRASH_ALL_MS for everything): the thread that crashed
 *      may hold a lock the reporter needs (the allocator's arena, the
 *      thread registry's, the scheduler's). Past a deadline the handler
 *      abandons it (a compare-and-swap, so a late reporter writes
 *      nothing), says so in one line, and ends the process. A fault in
 *      the reporter itself is caught the same way.
 *   3. Who does step 2 in a multi-threaded process: a reporter thread,
 *      started early, not a copy of the process. A copy would inherit
 *      every lock another thread held at the crash (the malloc arena's,
 *      the registry's) with nobody left to release it. The reporter has
 *      its own arena, bdwgc does not stop it (not registered), and the
 *      other threads' short lock holds end while it waits. What stays
 *      out of reach: a lock the crashed thread itself holds and the
 *      reporter needs; the deadline bounds that, and step 1 has printed
 *      the frames.
 *   4. Who does it in a single-threaded process: a copy after all. One
 *      thread more switches glibc to its multi-threaded paths (+4% CPU
 *      per request for a preloaded nginx), so the reporter starts only
 *      with the process's second thread (a thread hook). Until then, and
 *      in a child of fork() (whose reporter is the parent's), a copy
 *      made with a raw clone (no atfork handler) does step 2 while the
 *      handler waits with the same deadlines. The objection of step 3
 *      does not apply: with one thread, the only locks held are the
 *      crashed thread's, and glibc takes none in a single-threaded
 *      process. A copy that faults on a heap the crash broke is said in
 *      a line. Under ASan and TSan the reporter starts at init.
 * Other threads that fault meanwhile wait in their handler for the exit,
 * as Go's do.
 *
 * Chaining. A handler installed before cdebug's (a sanitizer's, a
 * library's, the program's constructor's) runs first: it may resolve the
 * fault (a guard page it maps, a collector's write barrier) and return.
 * Then cdebug returns too, so the instruction runs again; the same fault
 * (signal, pc, address) CD__CRASH_REPEAT times in a row, each within
 * CD__CRASH_REPEAT_MS of the last, is fatal and reported.
 * A signal sent by a process (kill, raise) that such a handler returns
 * from is its business; SIGABRT is reported even then (abort() goes on to
 * kill). A previous handler that changes the disposition (resets it to
 * SIG_DFL) has its way: cdebug steps aside. A handler installed after
 * cdebug's replaces it; to keep the report it calls the one sigaction
 * returned. SIGQUIT is left alone when the program handles it already.
 * In a secure-execution process (set-user-ID...) only the signal line is
 * printed, as Go does.
 */
#ifndef CDEBUG_PROF_CRASH_H
#define CDEBUG_PROF_CRASH_H

#include <stdbool.h>

#define CD__CRASH_SYM_MS    5000  /* longest wait for the symbolized stack */
#define CD__CRASH_ALL_MS    10000 /* longest report, from the signal to the end */
#define CD__CRASH_REPEAT    3     /* the same fault in a row, after a previous handler, */
#define CD__CRASH_REPEAT_MS 100   /* each within this long of the last */

/* Installs the handlers of the fatal signals and, when sigquit, of
 * SIGQUIT (unless the program has one), and starts the reporting thread
 * (in a single-threaded process: arranges for it to start with the
 * second thread).
 * level: a CD__TB_* (runtime/env.h). Called once by cd_init. Returns 0 or
 * a negative errno (the handlers are installed even when the reporter
 * cannot start: reports then stop after their raw part). Not thread-safe. */
int cd__crash_start(int level, bool sigquit);

#endif /* CDEBUG_PROF_CRASH_H */

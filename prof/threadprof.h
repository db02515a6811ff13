/* prof/threadprof.h - the thread-creation profile (Go's threadcreate):
 * /debug/pprof/threadcreate and cd_threadprof_write.
 *
 * One sample per thread cdebug knows now, with the stack that created it:
 * for kit threads (pool workers, service threads) the stack of the code
 * that spawned them (cd__thread_spawn's caller), for main and registered
 * threads the stack that registered them (cd_init, cd_thread_register).
 * Go counts every M ever created (Ms rarely exit in Go); cdebug's pool
 * threads and registered threads come and go, so a thread that has exited
 * is not counted (docs/profiling.md).
 */
#ifndef CDEBUG_PROF_THREADPROF_H
#define CDEBUG_PROF_THREADPROF_H

#include "prof/profiles.h"

/* Registers the "threadcreate" profile (prof/profiles.h). Called once by
 * init/. Returns 0 or a negative errno. Thread-safe. */
int cd__threadprof_register(void);

#endif /* CDEBUG_PROF_THREADPROF_H */

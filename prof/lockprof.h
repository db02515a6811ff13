/* prof/lockprof.h - the block and mutex profiles (Go's /debug/pprof/block
 * and /debug/pprof/mutex), from runtime/contention.h's records. */
#ifndef CDEBUG_PROF_LOCKPROF_H
#define CDEBUG_PROF_LOCKPROF_H

/* Registers "block" and "mutex" with prof/profiles.h (from init/). Returns
 * 0 or a negative errno. */
int cd__lockprof_register(void);

#endif /* CDEBUG_PROF_LOCKPROF_H */

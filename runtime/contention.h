/* runtime/contention.h - the block and mutex profiles' records: Go's
 * blockevent and mutexevent (runtime/mprof.go), for C.
 *
 * Two kinds of events, each with its own rate, both off by default as in
 * Go:
 *   - block: time a thread spent blocked (a condition wait, pthread_join,
 *     sem_wait, cd_wg_wait, a cd_block_begin/cd_block_end section, a
 *     contended lock). blockprofilerate is Go's runtime.SetBlockProfileRate:
 *     an event of d ns is recorded when d >= rate, else with probability
 *     d/rate; 1 records every event, 0 none.
 *   - mutex: time a thread waited for a lock another thread held (a
 *     contended pthread_mutex_lock or pthread_rwlock_*lock), charged to
 *     the stack that took the lock once it got it. mutexprofilefraction is
 *     Go's runtime.SetMutexProfileFraction: on average 1 event in N is
 *     recorded, and the profile multiplies counts and delays by N (Go's
 *     scaleMutexProfile); 0 records none.
 * Where the events come from: runtime/pthread_locks.c (the program's
 * pthread calls), runtime/waitgroup.c and cd_block_end (cdebug's own).
 *
 * Records are buckets keyed by (kind, stack) with a count and the summed
 * delay, as Go's bucket list; they only grow (Go's never shrink either).
 *
 * Locking: one spin lock (not a pthread mutex: the lock functions
 * themselves record here), held for a table lookup only, never across a
 * call that could record again; a thread-local flag keeps the recording
 * path from recording itself (its malloc may take a contended lock). The
 * forking thread holds the lock around fork().
 */
#ifndef CDEBUG_RUNTIME_CONTENTION_H
#define CDEBUG_RUNTIME_CONTENTION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/fpwalk.h"

typedef enum cd__contention_kind {
    CD__CONTENTION_BLOCK,
    CD__CONTENTION_MUTEX,
} cd__contention_kind;

/* The rates, read on every event source's fast path (relaxed loads):
 * blockprofilerate in ns (0 off), mutexprofilefraction (0 off). */
extern _Atomic int64_t cd__block_rate;
extern _Atomic int64_t cd__mutex_fraction;

/* Sets blockprofilerate (ns, < 0 taken as 0) and returns nothing, as Go's
 * SetBlockProfileRate. Thread-safe; async-signal-safe. */
void cd__contention_set_block_rate(int64_t ns);

/* Sets mutexprofilefraction when n >= 0 and returns the previous value
 * (n < 0 only reads it), as Go's SetMutexProfileFraction. Thread-safe;
 * async-signal-safe. */
int64_t cd__contention_set_mutex_fraction(int64_t n);

/* Records that the calling code was blocked for delay_ns (kind BLOCK), or
 * waited delay_ns for a lock (kind MUTEX), when the rate samples it. The
 * stack starts `skip` frames above the caller (skip 0: the caller's
 * caller is the top frame, i.e. the function that blocked calls the
 * function that calls this one). Not async-signal-safe (may allocate).
 * Cost when not sampled: a load, a compare and, for a short BLOCK event, a
 * random draw. */
void cd__contention_event(cd__contention_kind kind, int64_t delay_ns, unsigned skip);

/* One bucket of a snapshot: the stack (innermost first), the events
 * recorded and their summed delay in ns, unscaled, and the unload epoch
 * (base/dlhist.h) the stack was taken in: symbolize with it. */
typedef struct cd__contention_row {
    int64_t count;
    int64_t delay_ns;
    size_t depth;
    uint32_t epoch;
    uintptr_t stack[CD__FPWALK_MAX];
} cd__contention_row;

/* A malloc'd copy of every bucket of one kind in *out (free() it), *n
 * rows. Returns 0 or -ENOMEM. Thread-safe; O(buckets). */
int cd__contention_snapshot(cd__contention_kind kind, cd__contention_row **out, size_t *n);

/* Registers the fork handlers; called once by the runtime's start.
 * Returns 0 or a negative errno. */
int cd__contention_init(void);

#endif /* CDEBUG_RUNTIME_CONTENTION_H */

/* trace/recorder.h - the execution-trace recorder's hot path, for the
 * runtime's trace points (scheduler, collector, annotations).
 *
 * Every trace point is written as
 *
 *     if (CD__TRACING())
 *         cd__trace_ev2(CD__EV_TASK_START, id, 0);
 *
 * so a disabled tracer costs one load and one predictable branch.
 *
 * Each thread appends events to its own buffer (no lock, no system call):
 * mark itself busy, read the clock, encode, publish the new end with a
 * release store, clear busy. Full buffers go to the writer thread through a
 * per-thread wait-free queue; the writer also copies the published part of
 * current buffers periodically and writes FRONTIER records (see writer.c and
 * docs/trace-format.md for why "busy" makes frontiers exact).
 */
#ifndef CDEBUG_TRACE_RECORDER_H
#define CDEBUG_TRACE_RECORDER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <urcu/wfcqueue.h>

#include "cdebug/trace.h"
#include "trace/events.h"

#define CD__TBUF_SIZE (64 * 1024)
/* Buffers a thread may fill between two writer sweeps without loss: at 1M
 * events/s per thread (~6 MB/s) the writer has ~40 ms to come back. */
#define CD__TRACE_SPARES 4

/* One batch under construction. Owned by one thread until handed off; the
 * writer reads only bytes before the published pos. */
typedef struct cd__tbuf {
    struct cds_wfcq_node qnode;
    _Atomic uint32_t pos; /* published end (release by the owner) */
    uint64_t base_ts;     /* ts of the first event (written before pos) */
    /* Writer-only: how much was already copied out, and the timestamp of
     * the last event copied (the base of the next partial copy). */
    uint32_t taken;
    uint64_t taken_ts;
    uint64_t taken_ids[3]; /* writer-only: the id delta bases at taken */
    bool handed_off;       /* writer-only: seen in the full queue */
    struct cd__tbuf *next_free;
    uint8_t data[CD__TBUF_SIZE];
} cd__tbuf;

/* Per-thread recorder state. Lives as long as the process (threads that
 * exit leave it marked dead; the writer reclaims dead states' buffers). */
typedef struct cd__tstate {
    uint64_t thread;                           /* cdebug thread id */
    _Atomic uint32_t busy;                     /* 1 while an event is being written */
    cd__tbuf *_Atomic cur;                     /* buffer being filled, or NULL */
    cd__tbuf *_Atomic spare[CD__TRACE_SPARES]; /* next buffers, refilled by the writer */
    uint64_t last_ts;                          /* owner only */
    uint64_t last_ids[3];                      /* owner only: task and parent id delta bases */
    struct cds_wfcq_head full_head;            /* full buffers, owner -> writer */
    struct cds_wfcq_tail full_tail;
    _Atomic uint64_t lost_events, lost_batches;           /* owner adds, writer reads */
    uint64_t lost_reported_events, lost_reported_batches; /* writer only */
    uintptr_t stack_lo, stack_hi;                         /* for the frame-pointer walk */
    _Atomic bool dead;
    struct cd__tstate *next; /* list of all states (states_lock) */
    /* Intern caches, owner only, keyed by pointer / stack hash. */
    struct {
        const void *key; /* the caller's pointer, or the table's copy (content) */
        uint64_t hash;
        uint32_t id;
        uint32_t session;
        bool content; /* keyed by content: key is the table's copy */
    } cache[64];
} cd__tstate;

/* cd_trace_active (include/cdebug/trace.h): nonzero while a trace
 * records. A plain int, exported for the inline annotation wrappers, so
 * every access here uses __atomic builtins. */
extern _Atomic uint32_t cd__trace_session; /* bumped at each cd_trace_start */

#define CD__TRACING()    __builtin_expect(__atomic_load_n(&cd_trace_active, __ATOMIC_RELAXED), 0)
#define CD__TRACE_SET(v) __atomic_store_n(&cd_trace_active, (v), __ATOMIC_SEQ_CST)

/* Writes one event with n arguments for the calling thread. Thread-safe;
 * lock-free; no system call except when a full buffer wakes the writer;
 * async-signal-safe and safe in bdwgc's collection callback (allocates
 * nothing: a thread without a buffer drops the event and counts it).
 * Cost: ~10-20 ns. */
void cd__trace_emit(uint8_t type, int n, const uint64_t *args);

static inline void cd__trace_ev0(uint8_t type)
{
    cd__trace_emit(type, 0, NULL);
}
static inline void cd__trace_ev1(uint8_t type, uint64_t a)
{
    cd__trace_emit(type, 1, &a);
}
static inline void cd__trace_ev2(uint8_t type, uint64_t a, uint64_t b)
{
    uint64_t v[2] = {a, b};
    cd__trace_emit(type, 2, v);
}
static inline void cd__trace_ev3(uint8_t type, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t v[3] = {a, b, c};
    cd__trace_emit(type, 3, v);
}
static inline void cd__trace_ev4(uint8_t type, uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
    uint64_t v[4] = {a, b, c, d};
    cd__trace_emit(type, 4, v);
}

/* The calling thread's state, created on first use (malloc: not from a
 * signal handler or the GC callback, where NULL is returned instead when
 * none exists yet). */
cd__tstate *cd__trace_self(bool may_alloc);

/* Interns a string / the calling thread's current stack for the running
 * trace session; returns its id (0 for NULL/empty or when out of memory).
 * Thread-safe; takes a mutex on a cache miss only; not async-signal-safe. */
uint32_t cd__trace_string(const char *s);
uint32_t cd__trace_stack(int skip);

/* Timestamp in trace ticks (see clock in recorder.c). Async-signal-safe. */
uint64_t cd__trace_now(void);
uint64_t cd__trace_tick_hz(void);

/* A fresh, empty buffer from malloc, counted against the recorder's memory
 * bound (NULL past it). Any thread; not async-signal-safe. Released with
 * cd__tbuf_free. */
cd__tbuf *cd__tbuf_new(void);
void cd__tbuf_free(cd__tbuf *b);

/* Internal to trace/: the list of states, the writer. */
void cd__trace_states_lock(void);
void cd__trace_states_unlock(void);
cd__tstate *cd__trace_states_head(void);
void cd__trace_wake_writer(void);

#endif /* CDEBUG_TRACE_RECORDER_H */

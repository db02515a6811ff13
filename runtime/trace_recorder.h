/* runtime/trace_recorder.h - the execution-trace recorder's hot path, for the
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
#ifndef CDEBUG_RUNTIME_TRACE_RECORDER_H
#define CDEBUG_RUNTIME_TRACE_RECORDER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <urcu/wfcqueue.h>
#include <x86intrin.h>

#include "cdebug/trace.h"
#include "base/clock.h"
#include "base/trace_events.h"
#include "runtime/trace_intern.h"

#define CD__TBUF_SIZE (64 * 1024)
/* Spare buffers a thread may fill before the writer comes back: it keeps
 * CD__TRACE_SPARES_MIN ready for every thread, doubles that (up to
 * CD__TRACE_SPARES) for a thread that used half of them between two of its
 * sweeps, and halves it again for one that used fewer in 100 ms. At full
 * speed (~11 ns/event, 3-4 bytes) a buffer lasts ~0.2 ms: 32 spares (2 MiB)
 * ride out a writer ~6 ms late (on a machine with fewer cores than busy
 * threads, the scheduler's slice is 3-4 ms). */
#define CD__TRACE_SPARES_MIN 4
#define CD__TRACE_SPARES     32
/* Spares any thread may take once its own are gone: a thread that starts
 * a burst has 4 spares (under 1 ms at full speed) until the writer's next
 * visit gives it more, and the writer polls every millisecond. 16 shared
 * buffers (1 MiB) ride out that first millisecond for a few threads at
 * once, without holding more spares for every thread. */
#define CD__TRACE_RESERVE 16

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

/* How an intern cache entry (cd__tstate.cache) is keyed. */
enum {
    CD__ICACHE_POINTER = 0, /* the caller's pointer and quick_key of the text */
    CD__ICACHE_CONTENT = 1, /* the text: key is the table's copy, hash the text's */
    CD__ICACHE_LITERAL = 2, /* a string literal's address alone (its text never changes) */
};

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
    _Atomic uint32_t refills;     /* owner adds one per spare taken, writer reads */
    uint32_t refills_seen;        /* writer only: refills at its last sweep */
    int spares_want;              /* writer only: spare slots kept filled (0: not set yet) */
    uint32_t spares_taken;        /* writer only: spares used since the last full sweep */
    uintptr_t stack_lo, stack_hi; /* for the frame-pointer walk */
    _Atomic bool dead;
    struct cd__tstate *next; /* list of all states (states_lock) */
    /* Intern caches, owner only, keyed by pointer / stack hash. */
    struct {
        const void *key; /* the caller's pointer, or the table's copy (content) */
        uint64_t hash;
        uint32_t id;
        uint32_t session;
        uint8_t mode; /* CD__ICACHE_*: how key and hash were made */
    } cache[64];
    /* The last stack interned (owner only): a spawner's loop creates
     * every task from one stack, which then needs no hash. */
    uintptr_t last_stack[CD__TRACE_MAX_FRAMES];
    int last_stack_n;
    uint32_t last_stack_id, last_stack_session;
} cd__tstate;

/* The shared spares (CD__TRACE_RESERVE): filled by the writer, taken by
 * any thread with an atomic exchange, as a thread's own spares are. */
extern cd__tbuf *_Atomic cd__trace_reserve[CD__TRACE_RESERVE];

/* cd_trace_active (include/cdebug/trace.h): true while a trace records.
 * A plain bool, exported for the inline annotation wrappers, so every
 * access here uses __atomic builtins. */
extern _Atomic uint32_t cd__trace_session; /* bumped at each cd_trace_start */

#define CD__TRACING()    __builtin_expect(__atomic_load_n(&cd_trace_active, __ATOMIC_RELAXED), 0)
#define CD__TRACE_SET(v) __atomic_store_n(&cd_trace_active, (v), __ATOMIC_SEQ_CST)

/* Writes one event with n arguments for the calling thread. Thread-safe;
 * lock-free; no system call except when a full buffer wakes a sleeping
 * writer (not while it polls, i.e. while buffers keep filling);
 * async-signal-safe and safe in bdwgc's collection callback (allocates
 * nothing: a thread without a buffer drops the event and counts it).
 * Cost: the clock read plus a few ns. Out of line; the trace points use
 * the inline cd__trace_evN below, which fall back to it only for a
 * thread's first event. */
void cd__trace_emit(uint8_t type, int n, const uint64_t *args);

/* The calling thread's recorder state, NULL before its first event.
 * initial-exec TLS: one %fs-relative load. Owner thread only. */
extern __thread cd__tstate *cd__trace_tls __attribute__((tls_model("initial-exec")));

/* Queues st's full (or absent) buffer b for the writer and returns the
 * spare that replaces it (st's own, else one of the reserve), or NULL with
 * the event counted lost. Owner thread, with busy set; async-signal-safe.
 * Out of line: once per 64 KiB. */
cd__tbuf *cd__trace_refill(cd__tstate *st, cd__tbuf *b);

static inline uint64_t cd__trace_now(void);

/* Encodes one event at p with timestamp ts and returns the end. Owner
 * thread with busy set, room for the event checked. n is a constant where
 * inlined: each argument's delta chain is known at compile time. */
static inline __attribute__((always_inline)) uint8_t *
cd__trace_enc(cd__tstate *st, uint8_t *p, uint8_t type, int n, const uint64_t *args, uint64_t ts)
{
    /* Argument 0 left out when it repeats its chain's last id (the
     * same-task bit). The remaining arguments are a loop with constant
     * bounds, unrolled where inlined. */
    int same = cd__same_kind(type);
    bool skip0 = n > 0 && same >= 0 && args[0] == st->last_ids[same];
    *p++ = (uint8_t)(skip0 ? type | CD__EV_SAME_TASK : type);
    /* Timestamps never go back within a batch: a tick read before the
     * last one (another core's TSC a hair behind, after a migration) is
     * written as a zero delta. Branch-free. */
    uint64_t last = st->last_ts;
    uint64_t now = ts > last ? ts : last;
    st->last_ts = now;
    uint64_t d = now - last;
    if (__builtin_expect(d < 0x80, 1))
        *p++ = (uint8_t)d; /* back-to-back events: one byte */
    else
        p = cd__uv_put(p, d);
    if (n > 0 && !skip0)
        p = cd__uv_put(p, cd__ids_enc(type, 0, args[0], st->last_ids));
#pragma GCC unroll 6 /* n is a constant where inlined: straight-line code */
    for (int i = 1; i < n; i++)
        p = cd__uv_put(p, cd__ids_enc(type, i, args[i], st->last_ids));
    return p;
}

/* The body of every event, for the state st of the calling thread: busy =
 * 1; re-check that tracing is on; read the clock; encode into the current
 * buffer; publish pos (release); busy = 0. No lock, no atomic
 * read-modify-write, no system call. The writer pairs "busy" with
 * membarrier(2) (writer.c): that is what lets it stop the trace and write
 * exact FRONTIER records without a fence here.
 *
 * type2 != 0 writes a second event (n2 arguments) with the same timestamp
 * in the same busy section: one clock read for two events that happen
 * together (a task's end and the next task's start, sched.c). Both are
 * published at once, so the FRONTIER rule holds for the pair. */
static inline __attribute__((always_inline)) void cd__trace_put2(cd__tstate *st, uint8_t type,
                                                                 int n, const uint64_t *args,
                                                                 uint8_t type2, int n2,
                                                                 const uint64_t *args2)
{
    atomic_store_explicit(&st->busy, 1, memory_order_relaxed);
    atomic_signal_fence(memory_order_seq_cst); /* busy before the re-check and the clock */
    if (__builtin_expect(!__atomic_load_n(&cd_trace_active, __ATOMIC_RELAXED), 0))
        goto out;

    uint64_t ts = cd__trace_now();
    cd__tbuf *b = atomic_load_explicit(&st->cur, memory_order_relaxed);
    uint32_t pos = b != NULL ? atomic_load_explicit(&b->pos, memory_order_relaxed) : 0;
    uint32_t room = type2 != 0 ? 2 * CD__TRACE_MAX_EVENT : CD__TRACE_MAX_EVENT;
    if (__builtin_expect(b == NULL || pos + room > CD__TBUF_SIZE, 0)) {
        if ((b = cd__trace_refill(st, b)) == NULL)
            goto out;
        pos = 0;
    }
    if (__builtin_expect(pos == 0, 0)) {
        b->base_ts = ts;
        st->last_ts = ts;
        st->last_ids[0] = st->last_ids[1] = st->last_ids[2] = 0; /* a buffer's ids start at 0 */
    }
    uint8_t *p = cd__trace_enc(st, b->data + pos, type, n, args, ts);
    if (type2 != 0)
        p = cd__trace_enc(st, p, type2, n2, args2, ts);
    atomic_store_explicit(&b->pos, (uint32_t)(p - b->data), memory_order_release);
out:
    atomic_store_explicit(&st->busy, 0, memory_order_release);
}

static inline __attribute__((always_inline)) void cd__trace_put(cd__tstate *st, uint8_t type, int n,
                                                                const uint64_t *args)
{
    cd__trace_put2(st, type, n, args, 0, 0, NULL);
}

/* One event of n (constant) arguments: cd__trace_put when the thread has
 * a state, else the out-of-line path that creates it. Same contract as
 * cd__trace_emit. */
static inline __attribute__((always_inline)) void cd__trace_evn(uint8_t type, int n,
                                                                const uint64_t *args)
{
    cd__tstate *st = cd__trace_tls;
    if (__builtin_expect(st != NULL, 1))
        cd__trace_put(st, type, n, args);
    else
        cd__trace_emit(type, n, args);
}

static inline __attribute__((always_inline)) void cd__trace_ev0(uint8_t type)
{
    cd__trace_evn(type, 0, NULL);
}
static inline __attribute__((always_inline)) void cd__trace_ev1(uint8_t type, uint64_t a)
{
    cd__trace_evn(type, 1, &a);
}
static inline __attribute__((always_inline)) void cd__trace_ev2(uint8_t type, uint64_t a,
                                                                uint64_t b)
{
    uint64_t v[2] = {a, b};
    cd__trace_evn(type, 2, v);
}
static inline __attribute__((always_inline)) void cd__trace_ev3(uint8_t type, uint64_t a,
                                                                uint64_t b, uint64_t c)
{
    uint64_t v[3] = {a, b, c};
    cd__trace_evn(type, 3, v);
}
static inline __attribute__((always_inline)) void cd__trace_ev4(uint8_t type, uint64_t a,
                                                                uint64_t b, uint64_t c, uint64_t d)
{
    uint64_t v[4] = {a, b, c, d};
    cd__trace_evn(type, 4, v);
}

/* Two one-argument events with one clock read (cd__trace_put2): the
 * events must happen within a tick of each other. Same contract as
 * cd__trace_emit. */
static inline __attribute__((always_inline)) void cd__trace_ev1_pair(uint8_t type, uint64_t a,
                                                                     uint8_t type2, uint64_t b)
{
    cd__tstate *st = cd__trace_tls;
    if (__builtin_expect(st != NULL, 1)) {
        cd__trace_put2(st, type, 1, &a, type2, 1, &b);
    } else {
        cd__trace_emit(type, 1, &a);
        cd__trace_emit(type2, 1, &b);
    }
}

/* The calling thread's state, created on first use (malloc: not from a
 * signal handler or the GC callback, where NULL is returned instead when
 * none exists yet). */
cd__tstate *cd__trace_self(bool may_alloc);

/* Interns a string for the running trace session; returns its id (0 for
 * NULL/empty or when out of memory). Thread-safe; takes a mutex on a cache
 * miss only; not async-signal-safe. */
uint32_t cd__trace_string(const char *s);

/* Interns the calling thread's stack from `frame` up: frame is a frame
 * pointer of one of the caller's own frames (__builtin_frame_address(0)
 * of a function still running), and frame[1], that function's return
 * address, is the stack's first pc. Returns its id as cd__trace_string
 * does (0 also for a frame outside the thread's stack).
 *
 * tail, when ntail > 0: frames the caller knows every stack through
 * tail[0] ends with (the scheduler's frames below a task: run_task's
 * return address, then the worker thread's). A walk that meets tail[0]
 * copies tail instead of walking on. The result is the same as the full
 * walk's where the frames below tail[0] are the same on every walk (true
 * of worker threads; under TSan the walk's last "frame" is stack data that
 * changes, and the copied tail keeps the value first seen). The walk is a
 * chain of dependent loads (~0.5 ns a frame), and a spawner's stack is
 * half scheduler frames.
 *
 * Same thread-safety as cd__trace_string. Cost: the walk, no hash when the
 * stack equals the thread's last one (a spawner's loop). */
uint32_t cd__trace_stack(const void *frame, const uintptr_t *tail, size_t ntail);

/* The trace clock (recorder.c): rdtsc when the TSC is invariant, else
 * CLOCK_MONOTONIC, in ticks of 64 cycles or 64 ns. cd__trace_use_tsc is
 * set once by cd__trace_tick_hz (before any trace starts). */
#define CD__TICK_SHIFT 6
extern bool cd__trace_use_tsc;
uint64_t cd__trace_tick_hz(void);

/* Timestamp in trace ticks. Thread-safe, async-signal-safe. */
static inline uint64_t cd__trace_now(void)
{
    return (cd__trace_use_tsc ? __rdtsc() : cd__nanotime()) >> CD__TICK_SHIFT;
}

/* A fresh, empty buffer from malloc, counted against the recorder's memory
 * bound (NULL past it). Any thread; not async-signal-safe. Released with
 * cd__tbuf_free. */
cd__tbuf *cd__tbuf_new(void);
void cd__tbuf_free(cd__tbuf *b);

/* In a child of fork(), from the runtime's atfork child handler: tracing off, and the
 * parent's per-thread states, buffers and reserve forgotten (kept
 * reachable, never read: the other threads are gone, one maybe mid-event
 * or inside the list's lock); the forking thread gets a new state at its
 * next event. Plain stores only. */
void cd__recorder_fork_child(void);

/* Internal to trace/: the list of states, the writer. */
void cd__trace_states_lock(void);
void cd__trace_states_unlock(void);
cd__tstate *cd__trace_states_head(void);

/* Wakes the writer if it sleeps: after a producer queued a buffer, took a
 * spare or lost events. A fence and a load while the writer is awake;
 * a futex wake when it sleeps. Any thread; async-signal-safe. */
void cd__trace_wake_writer(void);

/* The writer's sleep, paired with cd__trace_wake_writer: tells producers
 * it is going to sleep, then sleeps (futex, until the relative timeout
 * `until`) only if nothing_to_do() still says so; a wake in between is
 * never lost. Writer thread only. */
void cd__trace_writer_sleep(bool (*nothing_to_do)(void), const struct timespec *until);

/* Interns a string by content only (messages built in reused buffers). */
uint32_t cd__trace_string_content(const char *s);

/* Interns a string literal (a constant address whose text never changes:
 * the annotation macros pass __builtin_constant_p names here), keyed by
 * its address alone: a cache hit is a few loads, no strlen. */
uint32_t cd__trace_string_lit_slow(const char *s);

/* A literal's cache slot: a multiplicative hash of its address (literals
 * sit a few bytes apart, so low bits alone would collide). It may also
 * sit in the neighbour slot (slot ^ 1): two literals used in turn, as a
 * log's category and message, with the same slot do not evict each other
 * on every call. */
static inline unsigned cd__icache_lit_slot(const char *s)
{
    return (unsigned)(((uintptr_t)s * 0x9e3779b97f4a7c15ull) >> 58);
}

static inline bool cd__icache_lit_hit(const cd__tstate *st, unsigned slot, const char *s)
{
    return st->cache[slot].key == s && st->cache[slot].mode == CD__ICACHE_LITERAL &&
           st->cache[slot].session ==
               atomic_load_explicit(&cd__trace_session, memory_order_relaxed);
}

static inline uint32_t cd__trace_string_lit(const char *s)
{
    cd__tstate *st = cd__trace_tls;
    if (__builtin_expect(st != NULL, 1)) {
        unsigned slot = cd__icache_lit_slot(s);
        if (cd__icache_lit_hit(st, slot, s))
            return st->cache[slot].id;
        if (cd__icache_lit_hit(st, slot ^ 1, s))
            return st->cache[slot ^ 1].id;
    }
    return cd__trace_string_lit_slow(s);
}

#endif /* CDEBUG_RUNTIME_TRACE_RECORDER_H */

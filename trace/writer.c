/* trace/writer.c - the writer thread: turns per-thread buffers into records.
 *
 * Every full sweep (100 ms; drain-only sweeps come in between when threads
 * fill buffers, see writer_main):
 *   1. t0 = now; membarrier(PRIVATE_EXPEDITED): every thread's earlier
 *      stores (its "busy" flag, its published positions) are now visible.
 *   2. New strings and stacks go out (STRINGS, STACKS, SYMBOLS) before any
 *      event that may use them.
 *   3. Per thread, in order: its full buffers, then the published part of
 *      its current buffer. A thread caught mid-event is waited for (briefly).
 *   4. FRONTIER t0: an event with ts < t0 was either visible at step 1 or
 *      in progress (busy) and waited for; an event begun after step 1 reads
 *      the clock after t0. So every event older than t0 is now in the file.
 *      If a thread stayed busy too long, the frontier waits for next sweep.
 *   5. Spare buffers for threads that used theirs (as many as each thread
 *      needs, refill_spares), and for the reserve any thread may take
 *      from (slots_fill); LOST records.
 *
 * Buffers are recycled by this thread only. At most CD__TRACE_MAX_BUFS
 * exist (64 KiB each): the memory bound of the recorder. Past it, threads
 * get no spare and drop (and count) events until buffers come back.
 */
#include <dlfcn.h>
#include <errno.h>
#include <linux/membarrier.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cdebug/runtime.h"
#include "base/buf.h"
#include "base/crc.h"
#include "base/symbolize.h"
#include "base/clock.h"
#include "base/futex.h"
#include "runtime/thread.h"
#include "runtime/trace_intern.h"
#include "runtime/trace_recorder.h"
#include "trace/snapshot.h"
#include "trace/writer.h"

#define CD__TRACE_SWEEP_NS 100000000 /* a frontier every 100 ms */

/* Serialises cd__writer_start and cd__writer_stop_sink (the session's
 * state below: running, sink, the writer thread).
 *
 * Lock order of the trace recorder, outermost first (each mutex's
 * definition says its own place and points here):
 *   1. trace/api.c start_lock or trace/flight.c ctl (never both);
 *   2. this ctl (cd__writer_start, cd__writer_stop_sink);
 *   3. a sink's lock, taken in the sink's callbacks (trace/flight.c's ring
 *      lock, an HTTP trace stream's lock), or the locks the state snapshot
 *      takes (thread registry, scheduler): one at a time;
 *   4. runtime/trace_intern.c's lock or runtime/trace_recorder.c's
 *      states_lock: leaves, nothing is locked under them, never both.
 * The writer thread holds neither 1 nor 2 (cd__writer_stop_sink joins it
 * under 2, so it must never wait for them); it holds at most one lock of
 * 3, and takes 4 alone or under it (the snapshot interns task names under
 * the scheduler's lock). A thread that records events may hold its own
 * locks (the scheduler's, the thread registry's) and takes only 4. */
static pthread_mutex_t ctl = PTHREAD_MUTEX_INITIALIZER;
static bool running;
static cd__tsink *sink;
static int sink_err; /* first write error, writer thread only until joined */
static pthread_t writer_thread;
static _Atomic int stop_requested;
static cd__tbuf *free_bufs; /* writer only: recycled buffers */

/* ---- records ------------------------------------------------------------ */

/* Payloads are built in base/buf.h's buffers; a failed one fails the
 * session with -ENOMEM. */

/* A record's frame around payload[0..n): head (kind, length; returns its
 * size) and tail (the payload's CRC-32, little-endian). */
static size_t frame(uint8_t head[11], uint8_t tail[4], uint8_t kind, const uint8_t *payload,
                    size_t n)
{
    head[0] = kind;
    uint32_t crc = cd__crc32(payload, n);
    for (int i = 0; i < 4; i++)
        tail[i] = (uint8_t)(crc >> (8 * i));
    return (size_t)(cd__uv_put(head + 1, n) - head);
}

/* Encodes one record (kind, payload) with its framing and CRC into sink s
 * (three pieces: head, payload, CRC). */
static int write_record(cd__tsink *s, uint8_t kind, const uint8_t *payload, size_t n)
{
    uint8_t head[11], tail[4];
    size_t hn = frame(head, tail, kind, payload, n);
    struct iovec iov[3] = {{head, hn}, {(void *)payload, n}, {tail, 4}};
    return s->write(s, iov, 3);
}

size_t cd__writer_frame(uint8_t *out, uint8_t kind, const uint8_t *payload, size_t n)
{
    uint8_t tail[4];
    size_t hn = frame(out, tail, kind, payload, n);
    memcpy(out + hn, payload, n);
    memcpy(out + hn + n, tail, 4);
    return hn + n + 4;
}

/* Writes payload b as a record of that kind to the sink and empties b. */
static void record(uint8_t kind, cd__buf *b)
{
    if (sink_err == 0 && b->oom)
        sink_err = -ENOMEM;
    if (sink_err == 0)
        sink_err = write_record(sink, kind, (const uint8_t *)b->p, b->len);
    cd__buf_reset(b);
}

/* Frames payload b as a record into memory (the sweep's staging area) and
 * empties b. */
static void stage_record(cd__buf *stage, uint8_t kind, cd__buf *b)
{
    if (b->oom)
        cd__buf_fail(stage);
    uint8_t head[11], tail[4];
    size_t hn = frame(head, tail, kind, (const uint8_t *)b->p, b->len);
    cd__buf_put(stage, (const char *)head, hn);
    cd__buf_put(stage, b->p, b->len);
    cd__buf_put(stage, (const char *)tail, 4);
    cd__buf_reset(b);
}

/* Frames an EVENTS record whose payload is head[0..hn) then data[0..n)
 * straight into the staging area: the events are copied once, from the
 * thread's buffer to the stage (the writer's main cost per byte). */
static void stage_events(cd__buf *stage, const uint8_t *head, size_t hn, const uint8_t *data,
                         size_t n)
{
    uint8_t *start = (uint8_t *)cd__buf_room(stage, 1 + 10 + hn + n + 4), *p = start;
    if (p == NULL)
        return;
    *p++ = CD__REC_EVENTS;
    p = cd__uv_put(p, hn + n);
    memcpy(p, head, hn);
    memcpy(p + hn, data, n);
    uint32_t crc = cd__crc32(p, hn + n);
    p += hn + n;
    for (int i = 0; i < 4; i++)
        *p++ = (uint8_t)(crc >> (8 * i));
    stage->len += (size_t)(p - start);
}

/* ---- tables ------------------------------------------------------------ */

typedef struct tables_ctx {
    cd__buf strings, stacks, symbols;
} tables_ctx;

/* The pcs of stacks already written whose symbols are not: symbolized on
 * the next full sweep (write_tables), not on every drain, so that reading
 * DWARF never holds up the buffers of a busy trace. Writer thread. */
static uintptr_t *pend_pcs;
static size_t pend_n, pend_cap;
/* Appends pc to a pc list; false when out of memory. */
static bool pcs_push(uintptr_t **v, size_t *n, size_t *cap, uintptr_t pc)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        uintptr_t *nv = realloc(*v, c * sizeof *nv);
        if (nv == NULL)
            return false;
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = pc;
    return true;
}

static void on_string(uint32_t id, const char *s, size_t n, void *p)
{
    tables_ctx *c = p;
    cd__buf_uvarint(&c->strings, id);
    cd__buf_uvarint(&c->strings, n);
    cd__buf_put(&c->strings, s, n);
}

static void on_stack(uint32_t id, const uintptr_t *pcs, int n, void *p)
{
    tables_ctx *c = p;
    cd__buf_uvarint(&c->stacks, id);
    cd__buf_uvarint(&c->stacks, (uint64_t)n);
    for (int i = 0; i < n; i++) {
        cd__buf_uvarint(&c->stacks, pcs[i]);
        /* Out of memory: this pc stays unsymbolized ("?" for readers). */
        (void)pcs_push(&pend_pcs, &pend_n, &pend_cap, pcs[i]);
    }
}

/* The symbolizer of the trace session (base/symbolize.c, libdwfl): the
 * writer's, then cd__writer_stop_sink's after the join, never both. Made
 * at the first symbolization; ended when the trace stops. */
static cd__symctx *symctx;
static uint64_t symctx_made_ns; /* when it was last (re)made; 0: never */
#define CD__SYM_REMAKE_NS 1000000000u

static bool in_mappings(cd__symctx *ctx, uintptr_t pc)
{
    const cd__mapping *maps;
    size_t n = cd__sym_mappings(ctx, &maps);
    for (size_t i = 0; i < n; i++)
        if (pc >= maps[i].start && pc < maps[i].limit)
            return true;
    return false;
}

/* Function, file and line of the call at return address pc. libdwfl reads
 * the symbol tables (static functions too) and DWARF lines, the latter
 * only from a module's own file (cd__sym_lookup_local): the first line of
 * a separate debug file (libc6-dbg) costs ~100 ms of CPU to decompress,
 * taken from the traced program on a busy machine, so such frames show
 * their function and object path, line 0. The context is remade when pc
 * lies outside the mappings it knows (a library loaded since), at most
 * once a second: a garbage pc from a truncated frame walk, in no mapping,
 * would otherwise remake it (reading every mapped object again) for every
 * such pc. So a library loaded less than a second before its first stack
 * may show "?" with the object's path. A pc its file has no symbol for is
 * named FILE+0xADDR (base/symbolize.h); one in no known file is "?". */
static void symbolize(uintptr_t pc, cd__sym *out)
{
    *out = (cd__sym){.func = "?", .file = ""};
    if ((symctx == NULL || !in_mappings(symctx, pc - 1)) &&
        (symctx_made_ns == 0 || cd__nanotime() - symctx_made_ns >= CD__SYM_REMAKE_NS)) {
        symctx_made_ns = cd__nanotime();
        if (symctx != NULL)
            cd__sym_end(symctx);
        if (cd__sym_begin(&symctx) < 0)
            symctx = NULL;
    }
    if (symctx != NULL)
        cd__sym_lookup_local(symctx, pc - 1, out, true);
    if (out->file[0] == '\0') {
        Dl_info info;
        out->file =
            dladdr((void *)(pc - 1), &info) != 0 && info.dli_fname != NULL ? info.dli_fname : "?";
    }
}

/* Writes the strings and stacks interned since the last call and, when
 * symbols is set (full sweeps, the last one), the symbols of every pc
 * written so far without (symbolize above). Symbol names are interned
 * here, so strings are drained once more before writing: the STRINGS
 * record precedes the SYMBOLS that use them. A pc shared by several stacks
 * may get several (identical) SYMBOLS entries. */
static void write_tables(bool symbols)
{
    tables_ctx c = {0};
    cd__intern_drain(on_string, on_stack, &c);
    if (symbols && pend_n > 0) {
        for (size_t i = 0; i < pend_n; i++) {
            cd__sym y;
            symbolize(pend_pcs[i], &y);
            cd__buf_uvarint(&c.symbols, pend_pcs[i]);
            cd__buf_uvarint(&c.symbols, cd__trace_string(y.func));
            cd__buf_uvarint(&c.symbols, cd__trace_string(y.file));
            cd__buf_uvarint(&c.symbols, y.line > 0 ? (uint64_t)y.line : 0);
        }
        pend_n = 0;
        /* The symbol names just interned (and anything interned
         * meanwhile: a new stack's pcs wait for the next full sweep). */
        cd__intern_drain(on_string, on_stack, &c);
    }
    if (c.strings.len)
        record(CD__REC_STRINGS, &c.strings);
    if (c.stacks.len)
        record(CD__REC_STACKS, &c.stacks);
    if (c.symbols.len)
        record(CD__REC_SYMBOLS, &c.symbols);
    cd__buf_free(&c.strings);
    cd__buf_free(&c.stacks);
    cd__buf_free(&c.symbols);
}

/* ---- buffers ----------------------------------------------------------- */

static cd__tbuf *buf_get(void)
{
    cd__tbuf *b = free_bufs;
    if (b == NULL)
        return cd__tbuf_new();
    free_bufs = b->next_free;
    cds_wfcq_node_init(&b->qnode);
    atomic_store_explicit(&b->pos, 0, memory_order_relaxed);
    b->base_ts = 0;
    b->taken = 0;
    b->taken_ts = 0;
    memset(b->taken_ids, 0, sizeof b->taken_ids);
    b->handed_off = false;
    b->next_free = NULL;
    return b;
}

static void buf_put(cd__tbuf *b)
{
    b->next_free = free_bufs;
    free_bufs = b;
}

/* Reads one varint at *pp (the recorder wrote it: well formed). */
static uint64_t uv_read(const uint8_t **pp)
{
    const uint8_t *p = *pp;
    uint64_t v = 0;
    int shift = 0;
    do {
        v |= (uint64_t)(*p & 0x7f) << shift;
        shift += 7;
    } while (*p++ & 0x80);
    *pp = p;
    return v;
}

/* Stages events [b->taken, to) of b as one EVENTS record. The record's
 * header carries the timestamp and task-id bases at `taken`, found by
 * decoding the previous range (docs/trace-format.md, EVENTS payload).
 * last: the buffer is full and goes back to the pool after this, so
 * nothing will be copied after `to` and the range need not be decoded
 * (most of the bytes under load: the writer's main cost per byte). */
static void write_range(cd__tstate *st, cd__tbuf *b, uint32_t to, bool last, cd__buf *stage)
{
    uint32_t from = b->taken;
    if (to <= from)
        return;
    uint64_t base = from == 0 ? b->base_ts : b->taken_ts;
    uint64_t ids[CD__TRACE_CHAINS] = {0, 0, 0};
    if (from != 0)
        memcpy(ids, b->taken_ids, sizeof ids);
    uint8_t head[10 * (2 + CD__TRACE_CHAINS)], *h = head;
    h = cd__uv_put(h, st->thread);
    h = cd__uv_put(h, base);
    for (int k = 0; k < CD__TRACE_CHAINS; k++)
        h = cd__uv_put(h, ids[k]);
    /* Decode the deltas to know the last timestamp and ids (the next
     * copy's bases). */
    uint64_t ts = base;
    const uint8_t *p = b->data + from, *end = last ? p : b->data + to;
    while (p < end) {
        uint8_t type = *p++;
        int i = (type & CD__EV_SAME_TASK) ? 1 : 0; /* argument 0 left out */
        type &= (uint8_t)~CD__EV_SAME_TASK;
        ts += uv_read(&p);
        int nargs = type <= CD__EV_MAX ? cd__trace_nargs[type] : 0;
        for (; i < nargs; i++)
            (void)cd__ids_dec(type, i, uv_read(&p), ids);
    }
    stage_events(stage, head, (size_t)(h - head), b->data + from, to - from);
    b->taken = to;
    b->taken_ts = ts;
    memcpy(b->taken_ids, ids, sizeof ids);
}

/* Waits (about 1 ms at most) for st to finish the event it is writing.
 *
 * An event takes ~10 ns, so a thread running on another core is idle
 * again within a few spins. One that was preempted mid-event must run
 * again first: the writer sleeps 10 us at a time to let it. Not
 * sched_yield(): on Linux's EEVDF scheduler (6.6 and later) a yield hands
 * a busy producer sharing the writer's core its whole slice (3-4 ms),
 * after which it is often preempted mid-event again (a dense trace keeps
 * a thread busy more than half the time). Full sweeps then took up to
 * 100 ms, and two producers on two cores dropped 30-50% of their events
 * in a long run; with short sleeps, 1-3%. */
static bool wait_idle(cd__tstate *st)
{
    uint64_t deadline = 0;
    for (int i = 0;; i++) {
        if (!atomic_load_explicit(&st->busy, memory_order_acquire))
            return true;
        if (i < 64) {
            __builtin_ia32_pause();
            continue;
        }
        uint64_t now = cd__nanotime();
        if (deadline == 0)
            deadline = now + 1000000;
        else if (now >= deadline)
            return false;
        struct timespec ts = {0, 10000};
        nanosleep(&ts, NULL);
    }
}

static void membarrier_all(void)
{
    syscall(SYS_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
}

static uint64_t segment_ts; /* writer: ts of the current segment */

/* Flight recorder: begins a segment at ts with a state snapshot, so that a
 * window starting here is self-contained. The snapshot's names are interned
 * first, and the tables written, before the snapshot record. */
static void start_segment(uint64_t ts)
{
    cd__buf pb = {0};
    cd__trace_snapshot(ts, &pb);
    write_tables(true);
    atomic_store(&sink->want_segment, false);
    segment_ts = ts;
    if (sink->segment != NULL)
        sink->segment(sink, ts);
    /* Out of memory: the segment starts without its snapshot (the reader
     * accepts events of entities it has not seen). */
    if (!pb.oom && pb.len > 0)
        record(CD__REC_EVENTS, &pb);
    cd__buf_free(&pb);
}

/* Spare slots (a thread's own, or the reserve every thread may take
 * from): slots_fill puts a pool buffer in each empty one of slots[0, n),
 * up to the recorder's memory bound; slots_take_back returns their
 * buffers to the pool. A thread may take a spare meanwhile: whoever swaps
 * it out owns it. Writer thread, or under ctl when it is not running. */
static void slots_fill(cd__tbuf *_Atomic *slots, int n)
{
    for (int i = 0; i < n; i++) {
        if (atomic_load_explicit(&slots[i], memory_order_relaxed) != NULL)
            continue;
        cd__tbuf *s = buf_get();
        if (s == NULL)
            return; /* the recorder's memory bound: no more buffers for now */
        atomic_store_explicit(&slots[i], s, memory_order_release);
    }
}

static void slots_take_back(cd__tbuf *_Atomic *slots, int n)
{
    for (int i = 0; i < n; i++) {
        cd__tbuf *s = atomic_load_explicit(&slots[i], memory_order_relaxed);
        if (s != NULL && (s = atomic_exchange(&slots[i], NULL)) != NULL)
            buf_put(s);
    }
}

/* Keeps st's spare slots [0, want) filled and adapts want (recorder.h,
 * CD__TRACE_SPARES_MIN): doubled when the thread used half its spares
 * or more since the last sweep (taken) or ran dry (dry), halved on a full sweep
 * (full, every 100 ms) when it used fewer than want since the previous
 * one; spares above want go back to the pool. Writer thread. */
static void refill_spares(cd__tstate *st, uint32_t taken, bool dry, bool full)
{
    int want = st->spares_want != 0 ? st->spares_want : CD__TRACE_SPARES_MIN;
    st->spares_taken += taken;
    if ((2 * taken >= (uint32_t)want || dry) && want < CD__TRACE_SPARES)
        want *= 2;
    else if (full && st->spares_taken < (uint32_t)want && want > CD__TRACE_SPARES_MIN)
        want /= 2;
    if (full)
        st->spares_taken = 0;
    st->spares_want = want;
    slots_take_back(st->spare + want, CD__TRACE_SPARES - want);
    slots_fill(st->spare, want);
}

/* The sweeps' staging area (events framed as records, written with one
 * call), kept from sweep to sweep for the session: grown and freed every
 * millisecond, its fresh pages cost more page faults than the copy itself,
 * and a late writer is a thread that drops events. Made and pre-faulted at
 * cd__writer_start for a sweep of CD__STAGE_INITIAL bytes (it grows past
 * that as needed, up to one sweep's batches), freed at stop. Used by the
 * writer thread, or under ctl when it is not running. */
#define CD__STAGE_INITIAL (1u << 20)
static cd__buf sweep_stage;

/* One sweep; see the comment at the top. final: the trace is stopping.
 * Events are staged in memory and written after the tables: a string or
 * stack used by a staged event was interned before that event was
 * published, hence before write_tables() drains the table queue. */
static int sweep(bool final, bool drain)
{
    int moved = 0;
    uint64_t t0 = cd__trace_now();
    if (!drain)
        membarrier_all();

    cd__buf pb = {0};
    cd__buf_reset(&sweep_stage);
    bool complete = true;
    cd__trace_states_lock();
    for (cd__tstate *st = cd__trace_states_head(); st != NULL; st = st->next) {
        /* Read before the queue: a spare taken after this is seen next
         * sweep (work_waiting), whatever this one finds. */
        uint32_t refills = atomic_load_explicit(&st->refills, memory_order_relaxed);
        uint32_t taken = refills - st->refills_seen;
        st->refills_seen = refills;
        uint64_t lost = atomic_load_explicit(&st->lost_events, memory_order_relaxed);
        bool idle = drain || wait_idle(st);
        complete = complete && idle;
        cd__tbuf *cur = atomic_load_explicit(&st->cur, memory_order_acquire);
        bool cur_gone = false;
        struct cds_wfcq_node *node;
        while ((node = cds_wfcq_dequeue_blocking(&st->full_head, &st->full_tail)) != NULL) {
            cd__tbuf *b = caa_container_of(node, cd__tbuf, qnode);
            write_range(st, b, atomic_load_explicit(&b->pos, memory_order_acquire), true,
                        &sweep_stage);
            if (b == cur)
                cur_gone = true;
            buf_put(b);
            moved++;
        }
        if (!drain && idle && cur != NULL && !cur_gone)
            write_range(st, cur, atomic_load_explicit(&cur->pos, memory_order_acquire), false,
                        &sweep_stage);
        if (final) {
            /* Tracing is off and st is idle: take its buffers back. A
             * thread still busy after the wait (preempted mid-event for
             * over a millisecond) loses its current buffer to a fresh one
             * next session: 64 KiB leaked, rather than recycled under its
             * feet or carried, with stale events, into the next trace. */
            cd__tbuf *c = atomic_exchange(&st->cur, NULL);
            if (c != NULL && !cur_gone && idle)
                buf_put(c);
            slots_take_back(st->spare, CD__TRACE_SPARES);
        } else if (!atomic_load_explicit(&st->dead, memory_order_relaxed)) {
            refill_spares(st, taken, lost != st->lost_reported_events, !drain);
        }
        if (lost != st->lost_reported_events) {
            cd__buf_uvarint(&pb, st->thread);
            cd__buf_uvarint(&pb, lost - st->lost_reported_events);
            cd__buf_uvarint(&pb, 0);
            stage_record(&sweep_stage, CD__REC_LOST, &pb);
            st->lost_reported_events = lost;
        }
    }
    cd__trace_states_unlock();
    if (final)
        slots_take_back(cd__trace_reserve, CD__TRACE_RESERVE);
    else
        slots_fill(cd__trace_reserve, CD__TRACE_RESERVE);

    write_tables(!drain || final);
    if (sweep_stage.oom && sink_err == 0)
        sink_err = -ENOMEM;
    if (sink_err == 0 && sweep_stage.len > 0) {
        struct iovec iov = {sweep_stage.p, sweep_stage.len};
        sink_err = sink->write(sink, &iov, 1);
    }
    if (complete && !drain) {
        cd__buf_uvarint(&pb, t0);
        record(CD__REC_FRONTIER, &pb);
        if (sink->frontier != NULL && sink_err == 0)
            sink->frontier(sink, t0);
        if (!final && sink->segment != NULL && sink_err == 0 &&
            (t0 - segment_ts >= sink->segment_ticks || atomic_load(&sink->want_segment)))
            start_segment(t0);
    }
    cd__buf_free(&pb);
    return moved;
}

static _Atomic bool frontier_requested;

void cd__trace_request_frontier(void)
{
    atomic_store(&frontier_requested, true);
    cd__trace_wake_writer();
}

/* Whether a thread left the writer work since its last sweep: a full
 * buffer queued, a spare taken, an event lost. Writer thread. */
static bool work_waiting(void)
{
    bool any = false;
    cd__trace_states_lock();
    for (cd__tstate *st = cd__trace_states_head(); st != NULL && !any; st = st->next)
        any = !cds_wfcq_empty(&st->full_head, &st->full_tail) ||
              atomic_load_explicit(&st->refills, memory_order_relaxed) != st->refills_seen ||
              atomic_load_explicit(&st->lost_events, memory_order_relaxed) !=
                  st->lost_reported_events;
    cd__trace_states_unlock();
    return any;
}

/* cd__trace_writer_sleep's check, after it told producers the writer is
 * going to sleep: true when nothing asks for the writer. */
static bool nothing_to_do(void)
{
    return !work_waiting() && !atomic_load(&stop_requested) && !atomic_load(&frontier_requested);
}

/* A HEAP event (in use, goal) from the writer thread, beside the one at
 * the end of every collection: a viewer's heap graph then moves between
 * collections too. cd_read_memstats reads without stopping the world. */
static void heap_sample(void)
{
    static cd_memstats m; /* writer thread only: 4 KiB off its stack */
    cd_read_memstats(&m);
    if (CD__TRACING())
        cd__trace_ev2(CD__EV_HEAP, m.HeapAlloc, m.NextGC);
}

/* The writer: a full sweep (frontier included) every CD__TRACE_SWEEP_NS;
 * between them, drain-only sweeps: full buffers out, spares in, no
 * membarrier, no copy of current buffers, no frontier. Under a heavy event
 * rate that keeps the writer's cost per byte low, which is what keeps
 * producers from running out of spares.
 *
 * When a sweep wrote full buffers, the writer polls: it sleeps
 * CD__TRACE_POLL_NS and sweeps again, and threads that fill buffers
 * meanwhile do not wake it (no futex call per buffer: on a VM that system
 * call costs more than the events in the buffer). When a sweep finds none,
 * it sleeps until woken or the next full sweep. */
#define CD__TRACE_POLL_NS 1000000

/* struct sched_attr (linux/sched/types.h, first version): glibc 2.36 has
 * no sched_setattr wrapper. */
struct cd__sched_attr {
    uint32_t size, policy;
    uint64_t flags;
    int32_t nice;
    uint32_t priority;
    uint64_t runtime, deadline, period;
};

/* Asks for a 0.1 ms scheduler slice for the writer thread (Linux 6.12 and
 * later: sched_runtime of a SCHED_OTHER thread). A thread with a slice
 * shorter than the running one's preempts it when it wakes, so the writer,
 * woken every millisecond while buffers fill, runs then, not after a busy
 * producer's 3 ms slice. Only for a SCHED_OTHER thread, with its nice
 * value kept: no privilege needed, no more CPU share. Older kernels ignore
 * the field or refuse the call; either way the writer runs as before.
 * Writer thread. */
static void writer_short_slice(void)
{
    if (sched_getscheduler(0) != SCHED_OTHER)
        return; /* SCHED_BATCH, SCHED_IDLE or real-time: the user's choice stays */
    errno = 0;
    int nice = getpriority(PRIO_PROCESS, 0); /* 0: the calling thread, on Linux */
    if (nice == -1 && errno != 0)
        return;
    struct cd__sched_attr a = {
        .size = sizeof a, .policy = SCHED_OTHER, .nice = nice, .runtime = 100000};
    (void)syscall(SYS_sched_setattr, 0, &a, 0);
}

static void *writer_main(void *arg)
{
    (void)arg;
    writer_short_slice();
    uint64_t last_full = cd__nanotime();
    bool polling = false;
    while (!atomic_load(&stop_requested)) {
        uint64_t now = cd__nanotime();
        uint64_t left =
            last_full + CD__TRACE_SWEEP_NS > now ? last_full + CD__TRACE_SWEEP_NS - now : 0;
        if (left > 0 && polling) {
            struct timespec ts = {0, (long)(left < CD__TRACE_POLL_NS ? left : CD__TRACE_POLL_NS)};
            nanosleep(&ts, NULL);
        } else if (left > 0) {
            struct timespec ts = {0, (long)left};
            cd__trace_writer_sleep(nothing_to_do, &ts);
        }
        if (atomic_load(&stop_requested))
            break;
        now = cd__nanotime();
        bool drain =
            now < last_full + CD__TRACE_SWEEP_NS && !atomic_exchange(&frontier_requested, false);
        if (!drain) {
            last_full = now;
            heap_sample();
        }
        polling = sweep(false, drain) > 0;
        if (sink_err != 0) {
            /* The reader went away (closed pipe, full disk): stop tracing
             * so producers stop paying; cd_trace_stop reports the error. */
            CD__TRACE_SET(false);
            break;
        }
    }
    return NULL;
}

/* ---- start and stop ---------------------------------------------------- */

static int write_header(uint32_t flags, uint64_t start_ticks)
{
    uint8_t h[CD__TRACE_HEADER_SIZE] = {0};
    memcpy(h, CD__TRACE_MAGIC, 8);
    uint64_t hz = cd__trace_tick_hz(), wall = cd__walltime();
    uint64_t v[] = {CD__TRACE_VERSION | ((uint64_t)CD__TRACE_HEADER_SIZE << 16) |
                        ((uint64_t)flags << 32),
                    hz, start_ticks, wall};
    for (int i = 0; i < 4; i++)
        for (int k = 0; k < 8; k++)
            h[8 + 8 * i + k] = (uint8_t)(v[i] >> (8 * k));
    struct iovec iov = {h, sizeof h};
    return sink->write(sink, &iov, 1);
}

int cd__tsink_fd_write(cd__tsink *s, const struct iovec *iov, int n)
{
    struct iovec v[4];
    if (n > 4)
        return -EINVAL;
    memcpy(v, iov, (size_t)n * sizeof *v);
    struct iovec *cur = v;
    while (n > 0) {
        ssize_t w = writev(s->fd, cur, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        /* Skip what was written: whole iovecs, then part of one. */
        while (n > 0 && (size_t)w >= cur->iov_len) {
            w -= (ssize_t)cur->iov_len;
            cur++;
            n--;
        }
        if (n > 0) {
            cur->iov_base = (char *)cur->iov_base + w;
            cur->iov_len -= (size_t)w;
        }
    }
    return 0;
}

/* Frees what a trace session holds besides buffers: the intern tables,
 * the staging area, the symbolizer and the pcs waiting for it. Under ctl,
 * the writer thread not running. */
static void session_free(void)
{
    cd__intern_reset();
    cd__buf_free(&sweep_stage);
    if (symctx != NULL) {
        cd__sym_end(symctx);
        symctx = NULL;
    }
    symctx_made_ns = 0;
    free(pend_pcs);
    pend_pcs = NULL;
    pend_n = pend_cap = 0;
}

/* membarrier registration done (per process: a child registers again). */
static int membarrier_registered;

int cd__writer_start(cd__tsink *s, uint32_t flags)
{
    pthread_mutex_lock(&ctl);
    if (running) {
        pthread_mutex_unlock(&ctl);
        return -EBUSY;
    }
    if (!membarrier_registered) {
        if (syscall(SYS_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) != 0) {
            pthread_mutex_unlock(&ctl);
            return -ENOSYS; /* Linux < 4.14: no private expedited membarrier */
        }
        membarrier_registered = 1;
    }
    (void)cd__trace_tick_hz(); /* calibrate before the first timestamp */
    /* - 1: the buffer keeps a byte for a NUL it never gets here; asking
     * for one byte less keeps the stage at CD__STAGE_INITIAL, not twice. */
    if (!cd__buf_grow(&sweep_stage, CD__STAGE_INITIAL - 1)) {
        cd__buf_free(&sweep_stage);
        pthread_mutex_unlock(&ctl);
        return -ENOMEM;
    }
    memset(sweep_stage.p, 0, sweep_stage.cap); /* page faults now, not in the first sweeps */
    sink = s;
    sink_err = 0;
    atomic_store(&stop_requested, 0);
    cd__intern_reset();
    atomic_fetch_add(&cd__trace_session, 1);

    uint64_t start = cd__trace_now();
    int rc = write_header(flags, start);
    if (rc != 0)
        goto fail;

    /* Every known thread gets its spares before tracing switches on, so
     * the first events are not lost waiting for the writer's first sweep. */
    cd__trace_states_lock();
    for (cd__tstate *st = cd__trace_states_head(); st != NULL; st = st->next)
        if (!atomic_load(&st->dead))
            refill_spares(st, 0, false, false);
    cd__trace_states_unlock();
    slots_fill(cd__trace_reserve, CD__TRACE_RESERVE);

    CD__TRACE_SET(true);
    /* The snapshot carries the start timestamp: it precedes every event. */
    start_segment(start);
    if ((rc = sink_err) != 0)
        goto fail_on;
    rc = cd__thread_spawn(&writer_thread, "cd-trace", CD__THREAD_SYSTEM, false, writer_main, NULL);
    if (rc != 0)
        goto fail_on;
    running = true;
    pthread_mutex_unlock(&ctl);
    return 0;

fail_on:
    CD__TRACE_SET(false);
    membarrier_all();
    sweep(true, false);
fail:
    session_free();
    pthread_mutex_unlock(&ctl);
    return rc;
}

/* What a fork left of the parent's session (cd__writer_fork_child):
 * reachable for LeakSanitizer, never read. volatile: the stores stay. */
static void *volatile fork_ghosts[4];

void cd__writer_fork_child(void)
{
    ctl = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    running = false;
    sink = NULL;
    sink_err = 0;
    atomic_store_explicit(&stop_requested, 0, memory_order_relaxed);
    atomic_store_explicit(&frontier_requested, false, memory_order_relaxed);
    fork_ghosts[0] = free_bufs;
    fork_ghosts[1] = sweep_stage.p;
    fork_ghosts[2] = symctx;
    fork_ghosts[3] = pend_pcs;
    free_bufs = NULL;
    sweep_stage = (cd__buf){0};
    symctx = NULL;
    symctx_made_ns = 0;
    pend_pcs = NULL;
    pend_n = pend_cap = 0;
    segment_ts = 0;
    membarrier_registered = 0;
}

int cd__writer_stop_sink(cd__tsink *only)
{
    pthread_mutex_lock(&ctl);
    if (!running || (only != NULL && sink != only)) {
        pthread_mutex_unlock(&ctl);
        return -ENOENT;
    }
    CD__TRACE_SET(false);
    atomic_store(&stop_requested, 1);
    cd__trace_wake_writer();
    pthread_join(writer_thread, NULL);
    /* Off and visible to all (membarrier in sweep): drain and reclaim. */
    sweep(true, false);
    cd__buf pb = {0};
    record(CD__REC_END, &pb);
    cd__buf_free(&pb);
    int rc = sink_err;
    while (free_bufs != NULL) {
        cd__tbuf *b = free_bufs;
        free_bufs = b->next_free;
        cd__tbuf_free(b);
    }
    session_free();
    running = false;
    pthread_mutex_unlock(&ctl);
    return rc;
}

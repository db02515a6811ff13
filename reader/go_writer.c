/* reader/go_writer.c - a cdebug trace as Go 1.19's execution trace, for
 * Go 1.19's `go tool trace` (go_writer.h is the API and says why it lives
 * in reader/, docs/cdebug-trace-export.md "--format=go" the mapping).
 *
 * Go's format (runtime/trace.go and internal/trace/parser.go of Go 1.19):
 * a 16-byte header "go 1.19 trace\0\0\0", then events. An event is one
 * byte (type in the low 6 bits, number of values - 1 in the top 2; 3
 * means "more: a length in bytes follows") and varint values, the first a
 * timestamp delta. Batch [p, ticks] starts the events of one P; String
 * [id, len, bytes] and Stack [id, n, (pc, func, file, line)*] define ids
 * anywhere in the file; Frequency [ticks per second] once. Our ticks are
 * nanoseconds since the cdebug trace start (Frequency 1e9).
 *
 * Go's parser merges the batches of each P by time, orders the events of
 * a goroutine by sequence numbers (GoCreate, GoStart, GoUnblock,
 * GoSysExit; GCStart numbers collections from 0), then replays a state
 * machine and refuses the whole file at the first inconsistency (a
 * goroutine started twice, a P stopped while running a goroutine, a
 * region end that is not the innermost, ...). The events come here in
 * time order; this file keeps a mirror of that state machine (per
 * goroutine: state, sequence, P; per P: running, its goroutine) and makes
 * every event consistent with it before writing: a task that runs without
 * having been started is started first, a goroutine still on a P that is
 * released is descheduled (GoSched), an impossible event is dropped. So a
 * cdebug trace, even an incoherent one, gives a file Go's parser accepts;
 * what was repaired is counted (cd__go_get_stats).
 *
 * Ordering trap: events of different Ps with the same timestamp can be
 * merged in either order, so everything ordered globally (collections,
 * stop-the-world) is written on one P (-1, Go's own P for events without
 * a P), as are the events of threads that hold no worker.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "reader/go_writer.h"
#include "reader/reader_int.h"

/* Go 1.19's event types (runtime/trace.go). */
enum {
    GO_BATCH = 1,
    GO_FREQUENCY = 2,
    GO_STACK = 3,
    GO_PROC_START = 5,
    GO_PROC_STOP = 6,
    GO_GC_START = 7,
    GO_GC_DONE = 8,
    GO_STW_START = 9,
    GO_STW_DONE = 10,
    GO_CREATE = 13,
    GO_START = 14,
    GO_END = 15,
    GO_SCHED = 17,
    GO_SLEEP = 19,
    GO_BLOCK = 20,
    GO_UNBLOCK = 21,
    GO_BLOCK_SEND = 22,
    GO_BLOCK_RECV = 23,
    GO_BLOCK_SELECT = 24,
    GO_BLOCK_SYNC = 25,
    GO_BLOCK_COND = 26,
    GO_BLOCK_NET = 27,
    GO_SYSCALL = 28,
    GO_SYS_EXIT = 29,
    GO_SYS_BLOCK = 30,
    GO_WAITING = 31,
    GO_IN_SYSCALL = 32,
    GO_HEAP_ALLOC = 33,
    GO_HEAP_GOAL = 34,
    GO_STRING = 37,
    GO_BLOCK_GC = 42,
    GO_USER_TASK_CREATE = 45,
    GO_USER_TASK_END = 46,
    GO_USER_REGION = 47,
    GO_USER_LOG = 48,
    GO_CPU_SAMPLE = 49,
};

#define GO_HEADER          "go 1.19 trace\0\0\0"
#define GO_UNNAMED         "(unnamed task)"
#define GO_NOP             ((int64_t)-1)       /* the P of events without a worker */
#define GO_MAX_STR         1000000u            /* the parser refuses longer strings */
#define GO_MAX_FRAMES      1000u               /* and longer stacks */
#define GO_MAX_REGIONS     64u                 /* open regions mirrored per goroutine */
#define GO_MAX_TASKS       65536u              /* live goroutines */
#define GO_MAX_PROCS       4096u               /* Ps (workers) */
#define GO_MAX_UTASKS      (1u << 16)          /* open user tasks */
#define GO_MAX_SYNTH       (1u << 16)          /* synthetic stacks (name + creation stack) */
#define GO_SEEN_SHIFT      16u                 /* goroutine ids per chunk of seen bits */
#define GO_MAX_SEEN_CHUNKS 1024u               /* 8 MiB of bits: 64 M ids */
#define GO_MAX_GOID        ((uint64_t)1 << 62) /* larger task ids are renumbered */
#define GO_SCRATCH         (GO_MAX_FRAMES * 4 * 10 + 64)

enum { GS_RUNNABLE = 1, GS_RUNNING = 2, GS_WAITING = 3 };

typedef struct go_region {
    uint64_t task, name; /* user task, name string id: what the parser compares */
} go_region;

/* A goroutine: a cdebug task, created and not yet ended. */
typedef struct go_g {
    uint64_t id, seq; /* id: the cdebug task; seq: the last sequence number written */
    uint64_t goid;    /* the goroutine id written (see g_create) */
    int state;
    bool in_sys; /* waiting in a syscall (GoSysExit wakes it) */
    int64_t p;   /* its P while running */
    uint64_t create_stack;
    const char *name; /* the reader's copy, valid until it closes */
    size_t name_len;
    go_region *regions;
    unsigned nregions, cap_regions;
} go_g;

typedef struct go_p {
    bool running;
    uint64_t g;      /* goroutine running on it, 0 none */
    uint64_t thread; /* the thread that started it */
} go_p;

/* A thread holding a worker (a thread without one has no entry). */
typedef struct go_thread {
    int64_t p; /* the worker it holds */
} go_thread;

struct cd__go_writer {
    cd_trace_reader *r;
    cd__go_write_fn write;
    void *ud;
    int err;
    bool header, in_batch, gc_open, stw_open;
    int64_t cur_p;
    uint64_t now, last_ts, gc_seq, str_seq, stk_seq, nsynth, max_goid;
    cd__tr_map gs, ps, threads, utasks, strs, stacks, synth, seen;
    go_g g0; /* goroutine 0: the regions of code outside any task */
    cd__go_stats st;
    size_t n;
    unsigned char buf[1 << 16];
    unsigned char scratch[GO_SCRATCH];
};

/* ---- output ------------------------------------------------------------- */

static void flush(cd__go_writer *g)
{
    if (g->n > 0 && g->err == 0) {
        int rc = g->write(g->ud, g->buf, g->n);
        if (rc < 0)
            g->err = rc;
    }
    g->n = 0;
}

static void put(cd__go_writer *g, const void *p, size_t n)
{
    const unsigned char *s = p;
    while (n > 0) {
        if (g->n == sizeof(g->buf))
            flush(g);
        size_t k = sizeof(g->buf) - g->n;
        if (k > n)
            k = n;
        memcpy(g->buf + g->n, s, k);
        g->n += k;
        s += k;
        n -= k;
    }
}

/* v as an unsigned LEB128 varint at out; returns its length (<= 10). */
static size_t uv_enc(unsigned char *out, uint64_t v)
{
    size_t i = 0;
    for (; v >= 0x80; v >>= 7)
        out[i++] = (unsigned char)(0x80 | (v & 0x7f));
    out[i++] = (unsigned char)v;
    return i;
}

static void put_uv(cd__go_writer *g, uint64_t v)
{
    unsigned char b[10];
    put(g, b, uv_enc(b, v));
}

static void put_byte(cd__go_writer *g, unsigned char c)
{
    put(g, &c, 1);
}

/* One event of P p at the current time: type and its values after the
 * timestamp (at most 5). A new batch begins when the P changes. */
static void emit(cd__go_writer *g, int64_t p, unsigned type, const uint64_t *a, unsigned na)
{
    if (!g->in_batch || g->cur_p != p) {
        put_byte(g, GO_BATCH | 1u << 6);
        put_uv(g, (uint64_t)p);
        put_uv(g, g->now);
        g->in_batch = true;
        g->cur_p = p;
        g->last_ts = g->now;
    }
    unsigned char b[64];
    size_t len = uv_enc(b, g->now - g->last_ts);
    g->last_ts = g->now;
    for (unsigned i = 0; i < na; i++)
        len += uv_enc(b + len, a[i]);
    if (na + 1 <= 3) {
        put_byte(g, (unsigned char)(type | na << 6));
    } else {
        put_byte(g, (unsigned char)(type | 3u << 6));
        put_uv(g, len);
    }
    put(g, b, len);
}

#define EMIT(g, p, type, ...)                                                                      \
    do {                                                                                           \
        const uint64_t a_[] = {__VA_ARGS__};                                                       \
        emit((g), (p), (type), a_, sizeof(a_) / sizeof(a_[0]));                                    \
    } while (0)

static void emit0(cd__go_writer *g, int64_t p, unsigned type)
{
    emit(g, p, type, NULL, 0);
}

static void note_oom(cd__go_writer *g)
{
    if (g->err == 0)
        g->err = -ENOMEM;
}

/* ---- strings and stacks, written the first time they are used ---------- */

/* The Go id of string s (n bytes; 0 for the empty string). Strings are
 * keyed by the reader's pointer: the reader returns one stable copy per
 * string id. */
static uint64_t str_id(cd__go_writer *g, const char *s, size_t n)
{
    if (s == NULL || n == 0)
        return 0;
    void *v = cd__tr_map_get(&g->strs, (uint64_t)(uintptr_t)s);
    if (v != NULL)
        return (uint64_t)(uintptr_t)v;
    uint64_t id = g->str_seq + 1;
    if (cd__tr_map_put(&g->strs, (uint64_t)(uintptr_t)s, (void *)(uintptr_t)id, NULL) < 0) {
        note_oom(g);
        return 0;
    }
    g->str_seq = id;
    if (n > GO_MAX_STR)
        n = GO_MAX_STR;
    put_byte(g, GO_STRING);
    put_uv(g, id);
    put_uv(g, n);
    put(g, s, n);
    return id;
}

/* Writes a Stack event: the frames of cdebug stack cs, under a first frame
 * naming `top` (a task name, a blocking reason) when top_len > 0. The
 * synthetic frame's pc is the name's string id: distinct per name, far
 * below any code address. Returns the new id, or 0 for an empty stack. */
static uint64_t write_stack(cd__go_writer *g, const char *top, size_t top_len, uint64_t cs)
{
    const uint64_t *pcs = NULL;
    size_t n = 0;
    if (cs != 0 && cd_trace_reader_stack(g->r, cs, &pcs, &n) < 0)
        n = 0;
    size_t nf = n + (top_len > 0);
    if (nf == 0)
        return 0;
    if (nf > GO_MAX_FRAMES) {
        nf = GO_MAX_FRAMES;
        n = nf - (top_len > 0);
    }
    uint64_t id = g->stk_seq + 1;
    /* The frames' strings are written first, the event after them. */
    unsigned char *b = g->scratch;
    size_t len = uv_enc(b, id);
    len += uv_enc(b + len, nf);
    if (top_len > 0) {
        uint64_t sid = str_id(g, top, top_len);
        len += uv_enc(b + len, sid);
        len += uv_enc(b + len, sid);
        len += uv_enc(b + len, 0);
        len += uv_enc(b + len, 0);
    }
    for (size_t i = 0; i < n; i++) {
        const char *fn = "?", *file = "?";
        uint64_t line = 0;
        (void)cd_trace_reader_symbol(g->r, pcs[i], &fn, &file, &line);
        len += uv_enc(b + len, pcs[i]);
        len += uv_enc(b + len, str_id(g, fn, strlen(fn)));
        len += uv_enc(b + len, str_id(g, file, strlen(file)));
        len += uv_enc(b + len, line);
    }
    g->stk_seq = id;
    put_byte(g, GO_STACK | 3u << 6);
    put_uv(g, len);
    put(g, b, len);
    return id;
}

/* The Go id of cdebug stack cs (0: none). */
static uint64_t stk_id(cd__go_writer *g, uint64_t cs)
{
    if (cs == 0)
        return 0;
    void *v = cd__tr_map_get(&g->stacks, cs);
    if (v != NULL)
        return (uint64_t)(uintptr_t)v - 1;
    uint64_t id = write_stack(g, NULL, 0, cs);
    /* stored + 1: an empty stack (id 0) is remembered too */
    if (cd__tr_map_put(&g->stacks, cs, (void *)(uintptr_t)(id + 1), NULL) < 0)
        note_oom(g);
    return id;
}

/* The Go id of the stack "name, then the frames of cs": how a goroutine
 * gets its task's name (Go names a goroutine by the first frame of its
 * start stack) and a blocking event its reason. */
static uint64_t synth_id(cd__go_writer *g, const char *name, size_t len, uint64_t cs)
{
    if (name == NULL || len == 0)
        return stk_id(g, cs);
    cd__tr_map *inner = cd__tr_map_get(&g->synth, (uint64_t)(uintptr_t)name);
    if (inner == NULL) {
        if (g->nsynth >= GO_MAX_SYNTH || (inner = calloc(1, sizeof(*inner))) == NULL)
            return stk_id(g, cs);
        if (cd__tr_map_put(&g->synth, (uint64_t)(uintptr_t)name, inner, NULL) < 0) {
            free(inner);
            note_oom(g);
            return 0;
        }
    }
    void *v = cd__tr_map_get(inner, cs);
    if (v != NULL)
        return (uint64_t)(uintptr_t)v;
    if (g->nsynth >= GO_MAX_SYNTH)
        return stk_id(g, cs);
    uint64_t id = write_stack(g, name, len, cs);
    if (cd__tr_map_put(inner, cs, (void *)(uintptr_t)id, NULL) < 0)
        note_oom(g);
    g->nsynth++;
    return id;
}

/* ---- Ps, threads, goroutines ------------------------------------------- */

static go_p *p_get(cd__go_writer *g, int64_t pid)
{
    go_p *p = cd__tr_map_get(&g->ps, (uint64_t)pid);
    if (p != NULL)
        return p;
    /* P -1 is always given: every event can fall back to it */
    if ((pid != GO_NOP && g->ps.n >= GO_MAX_PROCS) || (p = calloc(1, sizeof(*p))) == NULL)
        return NULL;
    if (cd__tr_map_put(&g->ps, (uint64_t)pid, p, NULL) < 0) {
        free(p);
        note_oom(g);
        return NULL;
    }
    if (pid != GO_NOP)
        g->st.procs++;
    return p;
}

static go_thread *thread_get(cd__go_writer *g, uint64_t id, bool create)
{
    go_thread *t = cd__tr_map_get(&g->threads, id);
    if (t != NULL || !create)
        return t;
    if ((t = malloc(sizeof(*t))) == NULL || cd__tr_map_put(&g->threads, id, t, NULL) < 0) {
        free(t);
        note_oom(g);
        return NULL;
    }
    t->p = GO_NOP;
    return t;
}

/* The P a thread's events go on: its worker, else GO_NOP. */
static int64_t p_of(cd__go_writer *g, uint64_t thread)
{
    go_thread *t = thread_get(g, thread, false);
    return t != NULL ? t->p : GO_NOP;
}

/* cdebug worker w as a Go P id, or GO_NOP for one Go's int cannot hold. */
static int64_t worker_pid(uint64_t w)
{
    return w < ((uint64_t)1 << 31) ? (int64_t)w : GO_NOP;
}

static go_g *g_find(cd__go_writer *g, uint64_t task)
{
    return task == 0 ? NULL : cd__tr_map_get(&g->gs, task);
}

/* Marks goroutine id id used; returns 1 if it already was, 0 if not, -1
 * when it cannot tell (past GO_MAX_SEEN_CHUNKS, or out of memory). */
static int seen_set(cd__go_writer *g, uint64_t id)
{
    uint64_t *bits = cd__tr_map_get(&g->seen, id >> GO_SEEN_SHIFT);
    if (bits == NULL) {
        if (g->seen.n >= GO_MAX_SEEN_CHUNKS ||
            (bits = calloc((1u << GO_SEEN_SHIFT) / 64, sizeof(*bits))) == NULL)
            return -1;
        if (cd__tr_map_put(&g->seen, id >> GO_SEEN_SHIFT, bits, NULL) < 0) {
            free(bits);
            return -1;
        }
    }
    uint64_t i = id & ((1u << GO_SEEN_SHIFT) - 1), m = (uint64_t)1 << (i % 64);
    int was = (bits[i / 64] & m) != 0;
    bits[i / 64] |= m;
    return was;
}

/* The goroutine id of a new goroutine for task. Go's parser keeps every
 * goroutine id it met, ended or not, and refuses a second GoCreate of one;
 * so a task id already used (met again after its end: only in an
 * incoherent trace) gets a fresh id above every id so far. Every other
 * goroutine keeps its task's id. Ids used are kept as bits (1 bit per
 * id, in chunks of 65536 ids); past GO_MAX_SEEN_CHUNKS an id above every
 * one so far is taken as new. */
static uint64_t goid_for(cd__go_writer *g, uint64_t task)
{
    uint64_t id = task;
    int was = task < GO_MAX_GOID ? seen_set(g, task) : 1;
    if (was == 1 || (was < 0 && task <= g->max_goid)) {
        id = g->max_goid + 1;
        (void)seen_set(g, id);
    }
    if (id > g->max_goid)
        g->max_goid = id;
    return id;
}

/* A new goroutine for task, created on P p (GoCreate: its start stack is
 * its name over its creation stack). NULL for task 0, past the limit, or
 * on out of memory. */
static go_g *g_create(cd__go_writer *g, int64_t p, uint64_t task, const char *name, size_t name_len,
                      uint64_t stack)
{
    go_g *gg;
    if (task == 0 || g->gs.n >= GO_MAX_TASKS || (gg = calloc(1, sizeof(*gg))) == NULL) {
        g->st.repaired++;
        return NULL;
    }
    if (cd__tr_map_put(&g->gs, task, gg, NULL) < 0) {
        free(gg);
        note_oom(g);
        return NULL;
    }
    gg->id = task;
    gg->goid = goid_for(g, task);
    gg->state = GS_RUNNABLE;
    gg->create_stack = stack;
    gg->name = name;
    gg->name_len = name_len;
    /* go tool trace names a goroutine by the first frame of its start
     * stack and fails on an empty one: a task without a name gets one */
    if (name == NULL || name_len == 0) {
        name = GO_UNNAMED;
        name_len = sizeof(GO_UNNAMED) - 1;
    }
    uint64_t start = synth_id(g, name, name_len, stack);
    uint64_t creator = stk_id(g, stack);
    if (p_get(g, p) == NULL)
        p = GO_NOP;
    EMIT(g, p, GO_CREATE, gg->goid, start, creator);
    g->st.goroutines++;
    return gg;
}

/* The goroutine of task, introduced (GoCreate) if the trace did not show
 * its creation (it began before the trace). */
static go_g *g_need(cd__go_writer *g, int64_t p, uint64_t task)
{
    go_g *gg = g_find(g, task);
    return gg != NULL ? gg : g_create(g, p, task, NULL, 0, 0);
}

/* A running goroutine leaves its P (GoSched): runnable again. */
static void g_leave(cd__go_writer *g, go_g *gg)
{
    go_p *p = p_get(g, gg->p);
    EMIT(g, gg->p, GO_SCHED, 0);
    gg->state = GS_RUNNABLE;
    if (p != NULL && p->g == gg->id)
        p->g = 0;
    g->st.repaired++;
}

/* A waiting goroutine becomes runnable, woken on P pid. */
static void g_wake(cd__go_writer *g, go_g *gg, int64_t pid)
{
    gg->seq++;
    if (gg->in_sys)
        EMIT(g, pid, GO_SYS_EXIT, gg->goid, gg->seq, 0);
    else
        EMIT(g, pid, GO_UNBLOCK, gg->goid, gg->seq, 0);
    gg->state = GS_RUNNABLE;
    gg->in_sys = false;
}

static void p_start(cd__go_writer *g, int64_t pid, go_p *p, uint64_t thread)
{
    if (pid == GO_NOP || p->running)
        return;
    EMIT(g, pid, GO_PROC_START, thread);
    p->running = true;
    p->thread = thread;
}

/* Makes gg the goroutine running on P pid (thread's), writing what leads
 * there: wake-up, the P's start, the previous goroutine's leaving, GoStart. */
static void g_run(cd__go_writer *g, go_g *gg, int64_t pid, uint64_t thread)
{
    go_p *p = p_get(g, pid);
    if (p == NULL) {
        pid = GO_NOP;
        if ((p = p_get(g, pid)) == NULL)
            return;
    }
    if (gg->state == GS_RUNNING) {
        if (gg->p == pid)
            return;
        g_leave(g, gg);
    }
    if (gg->state == GS_WAITING)
        g_wake(g, gg, pid);
    if (p->g != 0) {
        go_g *other = g_find(g, p->g);
        if (other != NULL && other->state == GS_RUNNING && other->p == pid)
            g_leave(g, other);
        p->g = 0;
    }
    p_start(g, pid, p, thread);
    gg->seq++;
    EMIT(g, pid, GO_START, gg->goid, gg->seq);
    gg->state = GS_RUNNING;
    gg->p = pid;
    p->g = gg->id;
}

static void g_free(go_g *gg)
{
    free(gg->regions);
    free(gg);
}

/* Stops P pid (ProcStop), its goroutine leaving first. */
static void p_stop(cd__go_writer *g, int64_t pid)
{
    go_p *p = cd__tr_map_get(&g->ps, (uint64_t)pid);
    if (p == NULL || !p->running || pid == GO_NOP)
        return;
    if (p->g != 0) {
        go_g *gg = g_find(g, p->g);
        if (gg != NULL && gg->state == GS_RUNNING && gg->p == pid)
            g_leave(g, gg);
        p->g = 0;
    }
    emit0(g, pid, GO_PROC_STOP);
    p->running = false;
    /* a thread is kept only while it holds a worker: at most one per P */
    go_thread *t = thread_get(g, p->thread, false);
    if (t != NULL && t->p == pid)
        free(cd__tr_map_del(&g->threads, p->thread));
}

/* thread takes worker w (WORKER_ACQUIRE, a snapshot's STATE_THREAD): a
 * worker it held before, or a thread holding w, lets go first. */
static void acquire(cd__go_writer *g, uint64_t thread, uint64_t w)
{
    int64_t pid = worker_pid(w);
    go_p *p;
    if (pid == GO_NOP || (p = p_get(g, pid)) == NULL) {
        g->st.repaired++;
        return;
    }
    int64_t held = p_of(g, thread);
    if (held != GO_NOP && held != pid)
        p_stop(g, held);
    if (p->running && p->thread != thread)
        p_stop(g, pid);
    go_thread *t = thread_get(g, thread, true);
    if (t == NULL)
        return;
    p_start(g, pid, p, thread);
    t->p = pid;
}

/* ---- blocking reasons --------------------------------------------------- */

/* Whether s (n bytes) contains the ASCII word w, ignoring case. */
static bool has(const char *s, size_t n, const char *w)
{
    size_t k = strlen(w);
    for (size_t i = 0; i + k <= n; i++) {
        size_t j = 0;
        while (j < k && (s[i + j] | 0x20) == (w[j] | 0x20))
            j++;
        if (j == k)
            return true;
    }
    return false;
}

/* Go's blocking event for a cdebug blocking reason (cd_block_begin's
 * text, Go's waitReason strings where cdebug has them); GO_SYSCALL for
 * any other: a cdebug blocking call hands its worker off as Go's
 * entersyscallblock does. */
static unsigned block_type(const char *s, size_t n)
{
    if (has(s, n, "IO wait") || has(s, n, "netpoll") || has(s, n, "network") ||
        has(s, n, "socket") || has(s, n, "accept"))
        return GO_BLOCK_NET;
    if (has(s, n, "cond"))
        return GO_BLOCK_COND;
    if (has(s, n, "semacquire") || has(s, n, "mutex") || has(s, n, "waitgroup") ||
        has(s, n, "sync.") || (n == 2 && has(s, n, "wg")))
        return GO_BLOCK_SYNC;
    if (has(s, n, "sleep"))
        return GO_SLEEP;
    if (has(s, n, "chan receive"))
        return GO_BLOCK_RECV;
    if (has(s, n, "chan send"))
        return GO_BLOCK_SEND;
    if (has(s, n, "select"))
        return GO_BLOCK_SELECT;
    if (has(s, n, "GC assist"))
        return GO_BLOCK_GC;
    return GO_SYSCALL;
}

cd__go_wait cd__go_wait_class(const char *reason, size_t len)
{
    switch (block_type(reason, len)) {
    case GO_BLOCK_NET:
        return CD__GO_WAIT_NET;
    case GO_BLOCK_SYNC:
    case GO_BLOCK_COND:
    case GO_BLOCK_SEND:
    case GO_BLOCK_RECV:
    case GO_BLOCK_SELECT:
        return CD__GO_WAIT_SYNC;
    case GO_SYSCALL:
        return CD__GO_WAIT_SYSCALL;
    default:
        return CD__GO_WAIT_OTHER;
    }
}

/* ---- regions ------------------------------------------------------------ */

/* The goroutine whose regions P pid's events touch: the running one, else
 * goroutine 0 (as Go's parser attributes them). */
static go_g *region_owner(cd__go_writer *g, int64_t pid)
{
    go_p *p = cd__tr_map_get(&g->ps, (uint64_t)pid);
    go_g *gg = p != NULL ? g_find(g, p->g) : NULL;
    return gg != NULL ? gg : &g->g0;
}

/* The stack of a user annotation (region, log, user task) on P pid: its
 * name over the creation stack of the goroutine running there. Go's
 * runtime records the caller's stack; go tool trace's region views fail
 * on a region without one. */
static uint64_t note_stack(cd__go_writer *g, int64_t pid, const char *name, size_t len)
{
    if (name == NULL || len == 0) {
        name = GO_UNNAMED;
        len = sizeof(GO_UNNAMED) - 1;
    }
    return synth_id(g, name, len, region_owner(g, pid)->create_stack);
}

static void region(cd__go_writer *g, const cd_tr_event *ev, int64_t pid, bool begin)
{
    go_g *gg = region_owner(g, pid);
    uint64_t name = str_id(g, ev->str[1], ev->str_len[1]);
    uint64_t stk = note_stack(g, pid, ev->str[1], ev->str_len[1]);
    if (begin) {
        if (gg->nregions == gg->cap_regions) {
            unsigned cap = gg->cap_regions ? gg->cap_regions * 2 : 4;
            go_region *nr;
            if (cap > GO_MAX_REGIONS || (nr = realloc(gg->regions, cap * sizeof(*nr))) == NULL) {
                g->st.repaired++;
                return;
            }
            gg->regions = nr;
            gg->cap_regions = cap;
        }
        gg->regions[gg->nregions++] = (go_region){ev->args[0], name};
    } else if (gg->nregions > 0) {
        go_region *top = &gg->regions[gg->nregions - 1];
        /* Go's parser refuses an end that is not the innermost region's */
        if (top->task != ev->args[0] || top->name != name) {
            g->st.repaired++;
            return;
        }
        gg->nregions--;
    }
    EMIT(g, pid, GO_USER_REGION, ev->args[0], begin ? 0 : 1, name, stk);
}

/* ---- the events --------------------------------------------------------- */

cd__go_writer *cd__go_new(cd_trace_reader *r, cd__go_write_fn write, void *ud)
{
    cd__go_writer *g = calloc(1, sizeof(*g));
    if (g == NULL)
        return NULL;
    g->r = r;
    g->write = write;
    g->ud = ud;
    return g;
}

static void apply(cd__go_writer *g, const cd_tr_event *ev)
{
    int64_t pid = p_of(g, ev->thread);
    go_g *gg;
    switch (ev->type) {
    case CD_TR_WORKER_ACQUIRE:
        acquire(g, ev->thread, ev->args[0]);
        break;
    case CD_TR_WORKER_RELEASE: {
        int64_t w = worker_pid(ev->args[0]);
        go_p *p = cd__tr_map_get(&g->ps, (uint64_t)w);
        if (p != NULL && p->running && p->thread == ev->thread)
            p_stop(g, w);
        else
            g->st.repaired++;
        break;
    }
    case CD_TR_THREAD_STOP:
        if (pid != GO_NOP)
            p_stop(g, pid);
        free(cd__tr_map_del(&g->threads, ev->thread));
        break;
    case CD_TR_STATE_THREAD:
        if (ev->args[2] > 0)
            acquire(g, ev->args[0], ev->args[2] - 1);
        break;
    case CD_TR_TASK_CREATE:
        if (g_find(g, ev->args[0]) != NULL) {
            /* a task a snapshot listed as it was being created (the same
             * task, docs/trace-format.md), or a reused id */
            break;
        }
        (void)g_create(g, pid, ev->args[0], ev->str[2], ev->str_len[2], ev->args[3]);
        break;
    case CD_TR_STATE_TASK: {
        if (g_find(g, ev->args[0]) != NULL)
            break;
        gg = g_create(g, pid, ev->args[0], ev->str[3], ev->str_len[3], 0);
        if (gg == NULL)
            break;
        if (ev->args[1] == 4) {
            gg->in_sys = block_type(ev->str[4], ev->str_len[4]) == GO_SYSCALL;
            EMIT(g, pid, gg->in_sys ? GO_IN_SYSCALL : GO_WAITING, gg->goid);
            gg->state = GS_WAITING;
        } else if (ev->args[1] == 2 && ev->args[5] > 0) {
            int64_t tp = p_of(g, ev->args[5] - 1);
            if (tp != GO_NOP)
                g_run(g, gg, tp, ev->args[5] - 1);
        }
        break;
    }
    case CD_TR_TASK_START:
    case CD_TR_TASK_UNBLOCK:
        if ((gg = g_need(g, pid, ev->args[0])) != NULL)
            g_run(g, gg, pid, ev->thread);
        break;
    case CD_TR_TASK_BLOCK: {
        if ((gg = g_need(g, pid, ev->args[0])) == NULL)
            break;
        g_run(g, gg, pid, ev->thread);
        if (gg->state != GS_RUNNING)
            break; /* out of memory */
        unsigned type = block_type(ev->str[1], ev->str_len[1]);
        /* The reason over where the call was made from (a version 3
         * trace), as Go's stack has the blocking primitive over its
         * caller; a version 2 trace has no such stack: the task's
         * creation stack stands in. */
        uint64_t where = ev->args[2] != 0 ? ev->args[2] : gg->create_stack;
        uint64_t stk = synth_id(g, ev->str[1], ev->str_len[1], where);
        EMIT(g, gg->p, type, stk);
        if (type == GO_SYSCALL)
            emit0(g, gg->p, GO_SYS_BLOCK);
        go_p *p = p_get(g, gg->p);
        if (p != NULL)
            p->g = 0;
        gg->state = GS_WAITING;
        gg->in_sys = type == GO_SYSCALL;
        break;
    }
    case CD_TR_TASK_END:
        if ((gg = g_need(g, pid, ev->args[0])) == NULL)
            break;
        g_run(g, gg, pid, ev->thread);
        if (gg->state != GS_RUNNING)
            break; /* out of memory */
        emit0(g, gg->p, GO_END);
        go_p *p = p_get(g, gg->p);
        if (p != NULL)
            p->g = 0;
        cd__tr_map_del(&g->gs, gg->id);
        g_free(gg);
        break;
    case CD_TR_GC_BEGIN:
        if (g->gc_open) {
            emit0(g, GO_NOP, GO_GC_DONE);
            g->st.repaired++;
        }
        EMIT(g, GO_NOP, GO_GC_START, g->gc_seq++, 0);
        g->gc_open = true;
        break;
    case CD_TR_GC_STW_BEGIN:
        if (!g->stw_open)
            EMIT(g, GO_NOP, GO_STW_START, 0);
        g->stw_open = true;
        break;
    case CD_TR_GC_RECLAIM_BEGIN:
    case CD_TR_GC_END:
        if (g->stw_open)
            emit0(g, GO_NOP, GO_STW_DONE);
        g->stw_open = false;
        if (ev->type == CD_TR_GC_END && g->gc_open) {
            emit0(g, GO_NOP, GO_GC_DONE);
            g->gc_open = false;
        }
        break;
    case CD_TR_HEAP:
        EMIT(g, pid, GO_HEAP_ALLOC, ev->args[0]);
        EMIT(g, pid, GO_HEAP_GOAL, ev->args[1]);
        break;
    case CD_TR_USER_TASK_BEGIN: {
        uint64_t id = ev->args[0];
        if (id == 0 || cd__tr_map_get(&g->utasks, id) != NULL || g->utasks.n >= GO_MAX_UTASKS ||
            cd__tr_map_put(&g->utasks, id, (void *)1, NULL) < 0) {
            g->st.repaired++;
            break;
        }
        uint64_t type = str_id(g, ev->str[2], ev->str_len[2]);
        uint64_t stk = note_stack(g, pid, ev->str[2], ev->str_len[2]);
        EMIT(g, pid, GO_USER_TASK_CREATE, id, ev->args[1], type, stk);
        break;
    }
    case CD_TR_USER_TASK_END:
        cd__tr_map_del(&g->utasks, ev->args[0]);
        EMIT(g, pid, GO_USER_TASK_END, ev->args[0], 0);
        break;
    case CD_TR_REGION_BEGIN:
    case CD_TR_REGION_END:
        region(g, ev, pid, ev->type == CD_TR_REGION_BEGIN);
        break;
    case CD_TR_LOG: {
        uint64_t key = str_id(g, ev->str[1], ev->str_len[1]);
        uint64_t stk = note_stack(g, pid, ev->str[1], ev->str_len[1]);
        EMIT(g, pid, GO_USER_LOG, ev->args[0], key, stk);
        size_t n = ev->str[2] != NULL ? ev->str_len[2] : 0;
        if (n > GO_MAX_STR)
            n = GO_MAX_STR;
        put_uv(g, n);
        put(g, ev->str[2], n);
        break;
    }
    case CD_TR_CPU_SAMPLE: {
        uint64_t stk = stk_id(g, ev->args[0]);
        EMIT(g, pid, GO_CPU_SAMPLE, g->now, (uint64_t)pid, ev->args[1], stk);
        break;
    }
    case CD_TR_THREAD_START:
    case CD_TR_STATE_WORKER:
        break; /* Ms and Ps appear with ProcStart */
    default:
        g->st.unmapped++; /* spinning, GC phases, LOST */
        break;
    }
}

int cd__go_event(cd__go_writer *g, const cd_tr_event *ev, int64_t ns)
{
    if (g->err != 0)
        return g->err;
    if (!g->header) {
        put(g, GO_HEADER, 16);
        g->header = true;
    }
    if (ns > 0 && (uint64_t)ns > g->now)
        g->now = (uint64_t)ns;
    apply(g, ev);
    return g->err;
}

int cd__go_finish(cd__go_writer *g)
{
    if (g->err != 0)
        return g->err;
    if (!g->header) {
        put(g, GO_HEADER, 16);
        g->header = true;
    }
    /* A trace without events stays without: Go's parser says "trace is
     * empty", which is what it is. */
    put_byte(g, GO_FREQUENCY);
    put_uv(g, 1000000000u);
    flush(g);
    return g->err;
}

void cd__go_get_stats(const cd__go_writer *g, cd__go_stats *st)
{
    *st = g->st;
}

/* Frees the values of m with fn, then its table. */
static void free_map(cd__tr_map *m, void (*fn)(void *))
{
    for (size_t i = 0; m->vals != NULL && i <= m->mask; i++)
        if (m->vals[i] != NULL)
            fn(m->vals[i]);
    cd__tr_map_free(m);
}

static void g_free_v(void *v)
{
    g_free(v);
}

static void synth_free_v(void *v)
{
    cd__tr_map_free(v);
    free(v);
}

void cd__go_free(cd__go_writer *g)
{
    if (g == NULL)
        return;
    free_map(&g->gs, g_free_v);
    free_map(&g->ps, free);
    free_map(&g->threads, free);
    free_map(&g->synth, synth_free_v);
    free_map(&g->seen, free);
    cd__tr_map_free(&g->utasks);
    cd__tr_map_free(&g->strs);
    cd__tr_map_free(&g->stacks);
    free(g->g0.regions);
    free(g);
}

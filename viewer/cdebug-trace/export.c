/* viewer/cdebug-trace/export.c - `cdebug-trace export --format=chrome
 * [-o FILE] TRACE`: the trace as Chrome Trace Event JSON (the "JSON Object
 * Format"), for chrome://tracing, the Perfetto UI and speedscope. The
 * command line and the output file are shared with --format=go, whose
 * writer is reader/go_writer.c (Go 1.19's execution trace, for go tool trace).
 *
 *   {"traceEvents":[
 *   {"ph":"M","pid":1,"name":"process_name","args":{"name":"Workers"}},
 *   {"ph":"B","pid":1,"tid":1,"ts":1661.146,"name":"group0","cat":"task",...},
 *   ...
 *   ],"displayTimeUnit":"ns","otherData":{...}}
 *
 * Layout (docs/cdebug-trace-export.md has the whole table):
 *
 *   pid 1 "Workers"     one track per worker ("P<n>", tid = n + 1): a slice per
 *                       stretch a task runs on it.
 *   pid 2 "Threads"     one track per thread (tid = thread id, "M<id>"): a
 *                       slice per task from start to end, blocking calls,
 *                       regions and spinning nested in it; a zero-length
 *                       "create" slice at each TASK_CREATE carrying the flow
 *                       arrow to the task's first start; logs as instants.
 *   pid 3 "GC"          one track (tid 1): each collection, its pause and
 *                       phases nested; the "heap" counter (in_use, goal).
 *   pid 4 "User tasks"  one async slice per user task (cd_trace_task_begin/end).
 *   lost events         global instant events.
 *
 * Streaming: every slice comes from the model's span_begin/span_end
 * callbacks, which are in time order and properly nested per track, so a
 * slice is written as a "B" when it opens and an "E" when it closes and
 * nothing is held back. Metadata ("M") naming a process or a track is
 * written the first time the track appears (the format allows "M" events
 * anywhere). The memory is the model's (live objects, within its limits)
 * plus three sets here, each bounded by a limit of the model: tracks named
 * so far (workers; threads the model tracks: a thread it stops tracking is
 * forgotten here too, thread_gone) and tasks created but not yet started
 * (to pair the flow arrows; a task the model forgets leaves it,
 * task_done). What the limits left out is counted in otherData.limits.
 * See "Memory" in docs/cdebug-trace-export.md.
 *
 * Times: "ts" is in microseconds, written with the nanosecond digits
 * ("12.345"), from the trace start.
 *
 * Every function here works for one export on the calling thread: none is
 * thread-safe or async-signal-safe. Cost: O(1) expected per model callback
 * (hash sets) plus the bytes written; the output goes through a 64 KiB
 * buffer.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/hash.h"
#include "reader/go_writer.h"
#include "cdt.h"
#include "limits.h"
#include "model.h"

/* Process ids of the layout (pid 0 is avoided: viewers reserve it). */
enum {
    EXP_PID_WORKERS = 1,
    EXP_PID_THREADS = 2,
    EXP_PID_GC = 3,
    EXP_PID_USER = 4,
    EXP_NPIDS = 5,
};

static const char *const exp_proc_names[EXP_NPIDS] = {"", "Workers", "Threads", "GC", "User tasks"};

/* ---- a set of uint64 keys (open addressing, linear probing) ------------- */

/* The tracks named so far and the tasks awaiting their first start. Not
 * thread-safe; O(1) expected per operation; memory 9 bytes per slot, at
 * most twice the live keys (plus the minimum of 64 slots). */
typedef struct exp_set {
    uint64_t *keys;
    uint8_t *used;
    size_t cap, len; /* cap: a power of two, or 0 */
    bool has_last;   /* last is in the set: the key most spans ask about */
    uint64_t last;
} exp_set;

/* Home slot of k in a table of cap (a power of two) slots. */
static size_t exp_hash(uint64_t k, size_t cap)
{
    /* ids are dense, the probe sequences must not be */
    return (size_t)cd__mix64(k) & (cap - 1);
}

/* Slot of key k, or of the empty slot where it would go. cap > 0. */
static size_t exp_set_slot(const exp_set *s, uint64_t k)
{
    size_t i = exp_hash(k, s->cap);
    while (s->used[i] && s->keys[i] != k)
        i = (i + 1) & (s->cap - 1);
    return i;
}

/* Whether k is in the set. */
static bool exp_set_has(const exp_set *s, uint64_t k)
{
    return s->cap > 0 && s->used[exp_set_slot(s, k)];
}

/* Doubles the table (or makes the first one). Returns 0 or -ENOMEM (the set
 * is unchanged then). */
static int exp_set_grow(exp_set *s)
{
    size_t cap = s->cap ? s->cap * 2 : 64;
    uint64_t *keys = malloc(cap * sizeof(*keys));
    uint8_t *used = calloc(cap, 1);
    if (keys == NULL || used == NULL) {
        free(keys);
        free(used);
        return -ENOMEM;
    }
    exp_set old = *s;
    s->keys = keys;
    s->used = used;
    s->cap = cap;
    for (size_t i = 0; i < old.cap; i++)
        if (old.used[i]) {
            size_t j = exp_set_slot(s, old.keys[i]);
            s->used[j] = 1;
            s->keys[j] = old.keys[i];
        }
    free(old.keys);
    free(old.used);
    return 0;
}

/* Adds k. Returns 1 if it was new, 0 if already there, -ENOMEM. */
static int exp_set_add(exp_set *s, uint64_t k)
{
    if (s->has_last && s->last == k)
        return 0;
    if (exp_set_has(s, k)) {
        s->has_last = true;
        s->last = k;
        return 0;
    }
    if ((s->len + 1) * 2 > s->cap && exp_set_grow(s) != 0)
        return -ENOMEM;
    size_t i = exp_set_slot(s, k);
    s->used[i] = 1;
    s->keys[i] = k;
    s->len++;
    s->has_last = true;
    s->last = k;
    return 1;
}

/* Removes k; returns whether it was there. Backward-shift deletion: later
 * keys of the probe run move up, so no tombstones accumulate. */
static bool exp_set_del(exp_set *s, uint64_t k)
{
    if (s->has_last && s->last == k)
        s->has_last = false;
    if (s->cap == 0)
        return false;
    size_t i = exp_set_slot(s, k), mask = s->cap - 1;
    if (!s->used[i])
        return false;
    s->used[i] = 0;
    s->len--;
    for (size_t j = (i + 1) & mask; s->used[j]; j = (j + 1) & mask) {
        size_t home = exp_hash(s->keys[j], s->cap);
        /* the key at j may fill the hole at i unless its home lies in (i, j] */
        bool stays = i <= j ? (home > i && home <= j) : (home > i || home <= j);
        if (stays)
            continue;
        s->keys[i] = s->keys[j];
        s->used[i] = 1;
        s->used[j] = 0;
        i = j;
    }
    return true;
}

/* Frees the table; the set is empty and usable again. */
static void exp_set_free(exp_set *s)
{
    free(s->keys);
    free(s->used);
    memset(s, 0, sizeof(*s));
}

/* ---- the JSON writer ---------------------------------------------------- */

/* A write buffer in front of a FILE: the output is a few hundred MB for a
 * large trace, so numbers and strings are formatted by hand into it rather
 * than through printf. Not thread-safe. */
typedef struct exp_w {
    FILE *f;
    bool err;   /* a write failed (errno in err_no); later writes are dropped */
    int err_no; /* errno of the failed write */
    size_t n;
    char buf[1 << 16];
} exp_w;

/* Writes the buffer out; a failure is kept in w->err. */
static void w_flush(exp_w *w)
{
    if (w->n > 0 && !w->err && fwrite(w->buf, 1, w->n, w->f) != w->n) {
        w->err = true;
        w->err_no = errno ? errno : EIO;
    }
    w->n = 0;
}

/* Room for k more bytes (k <= sizeof(buf)). */
static inline char *w_room(exp_w *w, size_t k)
{
    if (w->n + k > sizeof(w->buf))
        w_flush(w);
    return w->buf + w->n;
}

/* n bytes as they are. The common case first, inline: with a constant n
 * (W_LIT) the copy is a few moves, not a call. */
static inline void w_raw(exp_w *w, const char *s, size_t n)
{
    if (w->n + n <= sizeof(w->buf)) {
        memcpy(w->buf + w->n, s, n);
        w->n += n;
        return;
    }
    while (n > 0) {
        size_t k = n < sizeof(w->buf) ? n : sizeof(w->buf);
        memcpy(w_room(w, k), s, k);
        w->n += k;
        s += k;
        n -= k;
    }
}

#define W_LIT(w, lit) w_raw((w), (lit), sizeof(lit) - 1)

/* One byte. */
static inline void w_char(exp_w *w, char c)
{
    *w_room(w, 1) = c;
    w->n++;
}

/* v in decimal: two digits per step from a table (a division by 100
 * instead of two by 10), copied out as a fixed 20 bytes (a few moves, not
 * a memcpy call) of which the digits count. */
static void w_u64(exp_w *w, uint64_t v)
{
    static const char pairs[201] = "00010203040506070809101112131415161718192021222324"
                                   "25262728293031323334353637383940414243444546474849"
                                   "50515253545556575859606162636465666768697071727374"
                                   "75767778798081828384858687888990919293949596979899";
    if (v < 100) { /* most: pids, tids, small ids */
        char *p = w_room(w, 2);
        if (v < 10) {
            *p = (char)('0' + v);
            w->n++;
        } else {
            memcpy(p, pairs + 2 * v, 2);
            w->n += 2;
        }
        return;
    }
    enum { D = 20 }; /* digits of UINT64_MAX */
    char tmp[2 * D];
    size_t i = D;
    while (v >= 100) {
        unsigned d = (unsigned)(v % 100);
        v /= 100;
        i -= 2;
        memcpy(tmp + i, pairs + 2 * d, 2);
    }
    if (v >= 10) {
        i -= 2;
        memcpy(tmp + i, pairs + 2 * v, 2);
    } else {
        tmp[--i] = (char)('0' + v);
    }
    char *p = w_room(w, D);
    memcpy(p, tmp + i, D); /* digits tmp[i, D), then bytes past them: not counted */
    w->n += D - i;
}

/* v in decimal, with its sign. */
static void w_i64(exp_w *w, int64_t v)
{
    if (v < 0) {
        w_char(w, '-');
        w_u64(w, (uint64_t)0 - (uint64_t)v);
    } else {
        w_u64(w, (uint64_t)v);
    }
}

/* ns as microseconds with three decimals: 1661146 -> 1661.146. */
static void w_us(exp_w *w, int64_t ns)
{
    uint64_t mag = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    if (ns < 0)
        w_char(w, '-');
    w_u64(w, mag / 1000);
    char *p = w_room(w, 4);
    unsigned frac = (unsigned)(mag % 1000);
    p[0] = '.';
    p[1] = (char)('0' + frac / 100);
    p[2] = (char)('0' + frac / 10 % 10);
    p[3] = (char)('0' + frac % 10);
    w->n += 4;
}

/* The bytes s[0..n) as the body of a JSON string (no quotes): '"', '\\',
 * control characters, DEL, U+2028 and U+2029 escaped, other valid UTF-8
 * copied, each byte of invalid UTF-8 replaced by U+FFFD, so a hostile
 * trace still gives valid JSON. O(n). */
/* Whether the 8 bytes at p are all printable ASCII other than '"' and
 * '\\' (copied as they are by w_esc). Bit tricks on a word: a byte below
 * 0x20, from 0x7f up, or equal to '"' or '\\' sets its top bit in `bad`
 * (exact: no false positive, no miss). */
static inline bool plain8(const unsigned char *p)
{
    const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
    uint64_t x;
    memcpy(&x, p, 8);
    uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\'), d = x ^ (ones * 0x7f);
    uint64_t bad = ((x - ones * 0x20) & ~x) | x | ((q - ones) & ~q) | ((b - ones) & ~b) |
                   ((d - ones) & ~d);
    return (bad & high) == 0;
}

static void w_esc(exp_w *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t run = 0; /* bytes from p[i - run] that need no escaping */
    for (size_t i = 0; i < n;) {
        if (i + 8 <= n && plain8(p + i)) { /* most text: 8 bytes per step */
            run += 8, i += 8;
            continue;
        }
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
            run++, i++;
            continue;
        }
        if (c >= 0x80) {
            size_t k = cdt_utf8_len(p + i, n - i);
            /* U+2028 and U+2029 are valid in JSON but end a line in older
             * JavaScript parsers: escaped too */
            bool sep = k == 3 && c == 0xe2 && p[i + 1] == 0x80 && (p[i + 2] & 0xfe) == 0xa8;
            if (k > 0 && !sep) {
                run += k, i += k;
                continue;
            }
            if (sep) {
                w_raw(w, (const char *)p + i - run, run);
                run = 0;
                w_raw(w, p[i + 2] == 0xa8 ? "\\u2028" : "\\u2029", 6);
                i += 3;
                continue;
            }
        }
        w_raw(w, (const char *)p + i - run, run);
        run = 0;
        i++;
        switch (c) {
        case '"':
            W_LIT(w, "\\\"");
            break;
        case '\\':
            W_LIT(w, "\\\\");
            break;
        case '\n':
            W_LIT(w, "\\n");
            break;
        case '\r':
            W_LIT(w, "\\r");
            break;
        case '\t':
            W_LIT(w, "\\t");
            break;
        default:
            if (c >= 0x80) {
                W_LIT(w, "\\ufffd");
            } else {
                char e[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
                w_raw(w, e, sizeof(e));
            }
            break;
        }
    }
    w_raw(w, (const char *)p + n - run, run);
}

/* s[0..n) as a JSON string, quotes included. O(n). */
static void w_str(exp_w *w, const char *s, size_t n)
{
    w_char(w, '"');
    w_esc(w, s, n);
    w_char(w, '"');
}

/* ---- the exporter ------------------------------------------------------- */

typedef struct exp {
    exp_w *w;
    bool started; /* the input opened: the JSON has begun */
    bool first;   /* no event written yet (no comma before it) */
    bool oom;     /* a set could not grow: the output is incomplete */
    bool proc_named[EXP_NPIDS];
    exp_set workers;  /* worker tracks named */
    exp_set threads;  /* thread tracks named (threads the model tracks) */
    exp_set pending;  /* tasks created in the trace, not yet started */
    uint64_t written; /* events written (metadata included) */
    int64_t end_ns;   /* from the model's end callback */
    uint64_t nworkers, nthreads;
    cdt_model_limits lim;
} exp;

/* Records a failed set insertion (rc -ENOMEM): the export goes on, some
 * track names or flow ends are missing, and the exit status is 1. */
static void note_oom(exp *x, int rc)
{
    if (rc < 0)
        x->oom = true;
}

/* Opens an event object: `{"ph":"B","pid":1,"tid":2,"ts":12.345`. The
 * caller adds its fields and the closing brace. */
static void ev_open(exp *x, char ph, int pid, uint64_t tid, int64_t ns)
{
    exp_w *w = x->w;
    if (x->first)
        x->first = false;
    else
        W_LIT(w, ",\n");
    W_LIT(w, "{\"ph\":\"");
    w_char(w, ph);
    W_LIT(w, "\",\"pid\":");
    w_u64(w, (uint64_t)pid);
    W_LIT(w, ",\"tid\":");
    w_u64(w, tid);
    W_LIT(w, ",\"ts\":");
    w_us(w, ns);
    x->written++;
}

/* A metadata event: name (process_name, thread_name, *_sort_index) with
 * one argument, a string (s != NULL) or a number. */
static void meta(exp *x, int pid, uint64_t tid, bool thread, const char *name, const char *key,
                 const char *s, size_t len, uint64_t num)
{
    exp_w *w = x->w;
    if (x->first)
        x->first = false;
    else
        W_LIT(w, ",\n");
    W_LIT(w, "{\"ph\":\"M\",\"pid\":");
    w_u64(w, (uint64_t)pid);
    if (thread) {
        W_LIT(w, ",\"tid\":");
        w_u64(w, tid);
    }
    W_LIT(w, ",\"name\":\"");
    w_raw(w, name, strlen(name));
    W_LIT(w, "\",\"args\":{\"");
    w_raw(w, key, strlen(key));
    W_LIT(w, "\":");
    if (s != NULL)
        w_str(w, s, len);
    else
        w_u64(w, num);
    W_LIT(w, "}}");
    x->written++;
}

/* A process's name and order, once. */
static void name_process(exp *x, int pid)
{
    if (x->proc_named[pid])
        return;
    x->proc_named[pid] = true;
    const char *n = exp_proc_names[pid];
    meta(x, pid, 0, false, "process_name", "name", n, strlen(n), 0);
    meta(x, pid, 0, false, "process_sort_index", "sort_index", NULL, 0, (uint64_t)pid);
}

/* A track's name and order, once. */
static void name_track(exp *x, int pid, uint64_t tid, const char *name, size_t len)
{
    name_process(x, pid);
    meta(x, pid, tid, true, "thread_name", "name", name, len, 0);
    meta(x, pid, tid, true, "thread_sort_index", "sort_index", NULL, 0, tid);
}

/* Names worker `worker`'s track ("P<n>") the first time it appears. */
static void name_worker(exp *x, uint64_t worker)
{
    int rc = exp_set_add(&x->workers, worker);
    note_oom(x, rc);
    if (rc <= 0)
        return;
    char b[40];
    int n = snprintf(b, sizeof(b), "P%" PRIu64, worker);
    name_track(x, EXP_PID_WORKERS, worker + 1, b, (size_t)n);
}

/* Names thread `thread`'s track ("M<n> (kind)") the first time it appears
 * (again after its THREAD_STOP forgot it). kind: THREAD_START's (0 main, 1
 * worker, 2 service, 3 registered), -1 unknown. */
static void name_thread(exp *x, uint64_t thread, int64_t kind)
{
    int rc = exp_set_add(&x->threads, thread);
    note_oom(x, rc);
    if (rc <= 0)
        return;
    static const char *const kinds[] = {"main", "worker", "service", "registered", "pthread"};
    char b[64];
    int n;
    if (kind >= 0 && kind < (int)(sizeof kinds / sizeof kinds[0]))
        n = snprintf(b, sizeof(b), "M%" PRIu64 " (%s)", thread, kinds[kind]);
    else
        n = snprintf(b, sizeof(b), "M%" PRIu64, thread);
    name_track(x, EXP_PID_THREADS, thread, b, (size_t)n);
}

/* The GC process and its track, once. */
static void name_gc(exp *x)
{
    if (!x->proc_named[EXP_PID_GC])
        name_track(x, EXP_PID_GC, 1, "GC", 2);
}

/* pid and tid of a span's track; with `name`, names the track if new.
 * (A closing span never names: the model may close a stopped thread's
 * spans after its THREAD_STOP forgot the track.) */
static void span_track(exp *x, const cdt_span *s, bool name, int *pid, uint64_t *tid)
{
    switch (s->track_kind) {
    case CDT_TRACK_WORKER:
        if (name)
            name_worker(x, s->track);
        *pid = EXP_PID_WORKERS;
        *tid = s->track + 1;
        break;
    case CDT_TRACK_THREAD:
        if (name)
            name_thread(x, s->track, -1);
        *pid = EXP_PID_THREADS;
        *tid = s->track;
        break;
    case CDT_TRACK_GC:
        if (name)
            name_gc(x);
        *pid = EXP_PID_GC;
        *tid = 1;
        break;
    default: /* CDT_TRACK_USER */
        if (name)
            name_process(x, EXP_PID_USER);
        *pid = EXP_PID_USER;
        *tid = 1;
        break;
    }
}

/* The "cat" of a span's slice. */
static const char *span_cat(cdt_span_kind k)
{
    switch (k) {
    case CDT_SPAN_TASK:
        return "task";
    case CDT_SPAN_BLOCKED:
        return "blocked";
    case CDT_SPAN_REGION:
        return "region";
    case CDT_SPAN_SPIN:
        return "spin";
    case CDT_SPAN_GC:
    case CDT_SPAN_PAUSE:
    case CDT_SPAN_GC_PHASE:
        return "gc";
    default:
        return "user_task";
    }
}

/* `,"name":"...","cat":"..."` */
static void w_name_cat(exp_w *w, const char *name, size_t len, const char *cat)
{
    W_LIT(w, ",\"name\":");
    w_str(w, name, len);
    W_LIT(w, ",\"cat\":\"");
    w_raw(w, cat, strlen(cat));
    w_char(w, '"');
}

/* A span opens: "B" (or "b" for a user task), with its args; at a task's
 * first start on its thread, the head of its flow arrow. */
static void on_span_begin(void *ud, const cdt_span *s)
{
    exp *x = ud;
    exp_w *w = x->w;
    int pid;
    uint64_t tid;
    span_track(x, s, true, &pid, &tid);
    const char *cat = span_cat(s->kind);
    if (s->track_kind == CDT_TRACK_USER) {
        /* nestable async slice: "b"/"e" paired by cat and id */
        ev_open(x, 'b', pid, tid, s->start_ns);
        w_name_cat(w, s->name, s->name_len, cat);
        W_LIT(w, ",\"id\":");
        w_u64(w, s->id);
        W_LIT(w, ",\"args\":{\"id\":");
        w_u64(w, s->id);
        W_LIT(w, ",\"parent\":");
        w_u64(w, s->parent);
        W_LIT(w, ",\"thread\":");
        w_u64(w, s->thread);
        W_LIT(w, "}}");
        return;
    }
    ev_open(x, 'B', pid, tid, s->start_ns);
    w_name_cat(w, s->name, s->name_len, cat);
    switch (s->kind) {
    case CDT_SPAN_TASK:
        W_LIT(w, ",\"args\":{\"task\":");
        w_u64(w, s->id);
        W_LIT(w, ",\"parent\":");
        w_u64(w, s->parent);
        if (s->track_kind == CDT_TRACK_WORKER) {
            W_LIT(w, ",\"thread\":");
            w_u64(w, s->thread);
        } else if (s->worker != CDT_NO_WORKER) {
            W_LIT(w, ",\"worker\":");
            w_u64(w, s->worker);
        }
        if (s->from_snapshot)
            W_LIT(w, ",\"from_snapshot\":true");
        W_LIT(w, "}}");
        break;
    case CDT_SPAN_BLOCKED:
        W_LIT(w, ",\"args\":{\"task\":");
        w_u64(w, s->id);
        W_LIT(w, ",\"task_name\":");
        w_str(w, s->task_name, s->task_name_len);
        W_LIT(w, "}}");
        break;
    case CDT_SPAN_REGION:
        W_LIT(w, ",\"args\":{\"user_task\":");
        w_u64(w, s->id);
        W_LIT(w, "}}");
        break;
    case CDT_SPAN_GC:
    case CDT_SPAN_PAUSE:
    case CDT_SPAN_GC_PHASE:
        W_LIT(w, ",\"args\":{\"gc\":");
        w_u64(w, s->id);
        W_LIT(w, ",\"thread\":");
        w_u64(w, s->thread);
        W_LIT(w, "}}");
        break;
    default:
        w_char(w, '}');
        break;
    }
    /* The head of the flow arrow from TASK_CREATE: at the task's first
     * start, bound to the slice that encloses it (the one just opened). */
    if (s->kind == CDT_SPAN_TASK && s->track_kind == CDT_TRACK_THREAD &&
        exp_set_del(&x->pending, s->id)) {
        ev_open(x, 'f', pid, tid, s->start_ns);
        W_LIT(w, ",\"name\":\"create\",\"cat\":\"flow\",\"bp\":\"e\",\"id\":");
        w_u64(w, s->id);
        w_char(w, '}');
    }
}

/* A span closes: "E" (or "e"), marked unfinished when the model closed it. */
static void on_span_end(void *ud, const cdt_span *s)
{
    exp *x = ud;
    exp_w *w = x->w;
    int pid;
    uint64_t tid;
    span_track(x, s, false, &pid, &tid);
    if (s->track_kind == CDT_TRACK_USER) {
        ev_open(x, 'e', pid, tid, s->end_ns);
        w_name_cat(w, s->name, s->name_len, span_cat(s->kind));
        W_LIT(w, ",\"id\":");
        w_u64(w, s->id);
    } else {
        ev_open(x, 'E', pid, tid, s->end_ns);
    }
    /* An "E" event's args are merged into its slice's. */
    if (s->unfinished)
        W_LIT(w, ",\"args\":{\"unfinished\":true}");
    w_char(w, '}');
}

/* Worker state changes: only to give every worker its row. */
static void on_worker_state(void *ud, uint64_t worker, cdt_worker_state old, cdt_worker_state new_,
                            int64_t ns)
{
    (void)old, (void)new_, (void)ns;
    name_worker(ud, worker); /* every worker gets its row, also one always idle */
}

/* TASK_CREATE: a zero-length "create" slice on the creating thread's
 * track ("B", then "E" at the same time) with the tail of the flow arrow
 * ("s") between the two, so it binds to that slice: a flow event binds to
 * the slice enclosing it, and the creator (the main thread, say) may be in
 * none. B/E rather than an "X" of duration 0: some viewers misplace ends
 * when "X" and "B"/"E" events mix on one track. */
static void on_task_create(void *ud, uint64_t task, uint64_t parent, const char *name,
                           size_t name_len, uint64_t thread, uint64_t stack, int64_t ns)
{
    exp *x = ud;
    exp_w *w = x->w;
    name_thread(x, thread, -1);
    ev_open(x, 'B', EXP_PID_THREADS, thread, ns);
    W_LIT(w, ",\"name\":\"create ");
    w_esc(w, name, name_len);
    W_LIT(w, "\",\"cat\":\"create\",\"args\":{\"task\":");
    w_u64(w, task);
    W_LIT(w, ",\"parent\":");
    w_u64(w, parent);
    W_LIT(w, ",\"name\":");
    w_str(w, name, name_len);
    W_LIT(w, ",\"stack\":");
    w_u64(w, stack);
    W_LIT(w, "}}");
    ev_open(x, 's', EXP_PID_THREADS, thread, ns);
    W_LIT(w, ",\"name\":\"create\",\"cat\":\"flow\",\"id\":");
    w_u64(w, task);
    w_char(w, '}');
    ev_open(x, 'E', EXP_PID_THREADS, thread, ns);
    w_char(w, '}');
    note_oom(x, exp_set_add(&x->pending, task));
}

/* A task ended (or the trace did): it no longer waits for its first start.
 * Keeps the pending set to live tasks even when a TASK_START was lost. */
static void on_task_done(void *ud, const cdt_task_info *t)
{
    exp *x = ud;
    exp_set_del(&x->pending, t->id);
}

/* HEAP: a sample of the "heap" counter. */
static void on_heap(void *ud, int64_t in_use, int64_t goal, int64_t ns)
{
    exp *x = ud;
    exp_w *w = x->w;
    name_gc(x);
    ev_open(x, 'C', EXP_PID_GC, 1, ns);
    W_LIT(w, ",\"name\":\"heap\",\"args\":{\"in_use\":");
    w_i64(w, in_use);
    W_LIT(w, ",\"goal\":");
    w_i64(w, goal);
    W_LIT(w, "}}");
}

/* LOG: an instant event on the logging thread's track. */
static void on_log(void *ud, uint64_t thread, uint64_t user_task, const char *category,
                   size_t category_len, const char *message, size_t message_len, int64_t ns)
{
    exp *x = ud;
    exp_w *w = x->w;
    name_thread(x, thread, -1);
    ev_open(x, 'i', EXP_PID_THREADS, thread, ns);
    /* name "category: message" (what a timeline shows), and both apart */
    W_LIT(w, ",\"s\":\"t\",\"name\":\"");
    if (category_len > 0) {
        w_esc(w, category, category_len);
        W_LIT(w, ": ");
    }
    w_esc(w, message, message_len);
    W_LIT(w, "\",\"cat\":\"log\",\"args\":{\"category\":");
    w_str(w, category, category_len);
    W_LIT(w, ",\"message\":");
    w_str(w, message, message_len);
    W_LIT(w, ",\"user_task\":");
    w_u64(w, user_task);
    W_LIT(w, "}}");
}

/* LOST: a global instant event with the counts. */
static void on_lost(void *ud, uint64_t thread, uint64_t events, uint64_t batches, int64_t ns)
{
    exp *x = ud;
    exp_w *w = x->w;
    name_thread(x, thread, -1);
    ev_open(x, 'i', EXP_PID_THREADS, thread, ns);
    W_LIT(w, ",\"s\":\"g\",\"name\":\"lost events\",\"cat\":\"lost\",\"args\":{\"thread\":");
    w_u64(w, thread);
    W_LIT(w, ",\"events\":");
    w_u64(w, events);
    W_LIT(w, ",\"batches\":");
    w_u64(w, batches);
    W_LIT(w, "}}");
}

/* Raw events: the kind of a thread, for its track's name. */
static void on_event(void *ud, const cd_tr_event *ev, int64_t ns)
{
    exp *x = ud;
    (void)ns;
    switch (ev->type) {
    case CD_TR_THREAD_START:
        name_thread(x, ev->thread, ev->nargs > 0 && ev->args[0] < 4 ? (int64_t)ev->args[0] : -1);
        break;
    case CD_TR_STATE_THREAD:
        if (ev->nargs > 1)
            name_thread(x, ev->args[0], ev->args[1] < 4 ? (int64_t)ev->args[1] : -1);
        break;
    case CD_TR_THREAD_STOP:
    case CD_TR_LOST:
        break;
    default:
        name_thread(x, ev->thread, -1);
        break;
    }
}

/* The model stopped tracking a thread (THREAD_STOP, or forgotten past its
 * limit): the track stays named in the output; forgetting it here keeps
 * the set to the threads the model tracks, and names the track again if
 * the thread comes back. */
static void on_thread_gone(void *ud, uint64_t thread)
{
    exp *x = ud;
    exp_set_del(&x->threads, thread);
}

/* The input is open: the JSON begins. */
static void on_start(void *ud, cd_trace_reader *r)
{
    exp *x = ud;
    (void)r;
    x->started = true;
    W_LIT(x->w, "{\"traceEvents\":[\n");
}

/* The end of the trace: figures for otherData. */
static void on_end(void *ud, const cdt_model_end *e)
{
    exp *x = ud;
    x->end_ns = e->end_ns;
    x->nworkers = e->workers;
    x->nthreads = e->threads;
    x->lim = e->lim;
}

/* ---- --format=go: reader/go_writer.c behind the model's raw events ------ */

/* The Go writer's output goes to the export's FILE directly (it buffers
 * itself); a failure is kept in w->err like the JSON writer's. */
static int go_write(void *ud, const void *buf, size_t n)
{
    exp_w *w = ud;
    if (w->err)
        return -w->err_no;
    if (fwrite(buf, 1, n, w->f) != n) {
        w->err = true;
        w->err_no = errno ? errno : EIO;
        return -w->err_no;
    }
    return 0;
}

typedef struct exp_go {
    exp_w *w;
    cd__go_writer *go; /* NULL until the input is open */
    bool oom;
} exp_go;

static void go_on_start(void *ud, cd_trace_reader *r)
{
    exp_go *x = ud;
    x->go = cd__go_new(r, go_write, x->w);
    x->oom = x->go == NULL;
}

static void go_on_event(void *ud, const cd_tr_event *ev, int64_t ns)
{
    exp_go *x = ud;
    if (x->go != NULL && cd__go_event(x->go, ev, ns) == -ENOMEM)
        x->oom = true;
}

/* Runs the trace at path through the Go writer into w. Returns a cdt exit
 * code; the file's statuses are the model's, as for the JSON. */
static int export_go(const char *path, exp_w *w)
{
    exp_go x = {.w = w};
    cdt_model_cb cb = {.ud = &x, .start = go_on_start, .event = go_on_event};
    int code = cdt_model_run(path, &cb, NULL, NULL);
    /* Once begun, the output is ended whatever happened (a Go trace of
     * what was read); an input that could not be opened writes nothing. */
    if (x.go != NULL && cd__go_finish(x.go) == -ENOMEM)
        x.oom = true;
    if (x.oom) {
        cdt_error("export: out of memory; the output is incomplete");
        code = CDT_FAIL;
    }
    cd__go_free(x.go);
    return code;
}

/* ---- the command -------------------------------------------------------- */

/* The usage text of `export`. */
static void export_usage(FILE *f)
{
    fprintf(f,
            "usage: %s export [--format=chrome|go] [-o FILE] TRACE\n"
            "  Writes the trace TRACE ('-': standard input) as Chrome Trace Event JSON\n"
            "  (chrome://tracing, https://ui.perfetto.dev, speedscope) to standard\n"
            "  output or FILE, streaming: memory stays bounded whatever the trace size.\n"
            "  --format=chrome    Chrome Trace Event JSON (the default)\n"
            "  --format=go        Go 1.19's execution trace, for `go tool trace`\n"
            "  --format=perfetto  Perfetto protobuf: not implemented\n"
            "  -o, --output=FILE  write FILE (replaced only when the export succeeds)\n"
            "See docs/cdebug-trace-export.md.\n",
            cdt_prog);
}

/* The closing part: `],"displayTimeUnit":"ns","otherData":{...}}`. */
static void put_trailer(exp *x, const char *path, const cd_tr_header *h, const cd_tr_stats *st,
                        bool ok)
{
    exp_w *w = x->w;
    char wall[48];
    W_LIT(w, "\n],\n\"displayTimeUnit\":\"ns\",\n\"otherData\":{\"generator\":\"cdebug-trace "
             "export\",\"trace\":");
    w_str(w, path, strlen(path));
    W_LIT(w, ",\"start\":");
    const char *s = cdt_fmt_wall(wall, h->start_wall_ns);
    w_str(w, s, strlen(s));
    W_LIT(w, ",\"duration_ns\":");
    w_i64(w, x->end_ns);
    W_LIT(w, ",\"events\":");
    w_u64(w, st->events);
    W_LIT(w, ",\"json_events\":");
    w_u64(w, x->written);
    W_LIT(w, ",\"lost_events\":");
    w_u64(w, st->lost_events);
    W_LIT(w, ",\"workers\":");
    w_u64(w, x->nworkers);
    W_LIT(w, ",\"threads\":");
    w_u64(w, x->nthreads);
    /* the "limits" object (limits.h), formatted through a memory stream */
    cdt_limits lim;
    cdt_limits_init(&lim, &x->lim, st);
    char *buf = NULL;
    size_t len = 0;
    FILE *mf = open_memstream(&buf, &len);
    if (mf != NULL) {
        cdt_limits_json(mf, &lim);
        if (fclose(mf) == 0 && buf != NULL) {
            W_LIT(w, ",\"limits\":");
            w_raw(w, buf, len);
        }
    }
    free(buf);
    W_LIT(w, ",\"truncated\":");
    if (st->truncated)
        W_LIT(w, "true");
    else
        W_LIT(w, "false");
    W_LIT(w, ",\"complete\":");
    if (ok && !x->oom)
        W_LIT(w, "true");
    else
        W_LIT(w, "false");
    W_LIT(w, "}}\n");
}

/* Opens the output: stdout for NULL or "-"; `out` itself when it exists
 * and is not a regular file (a device, a FIFO); else a temporary file next
 * to `out`, renamed over it at the end (so a failed export leaves an
 * existing FILE alone). *tmp receives the temporary's path (malloc'd) or
 * NULL. Returns the FILE or NULL after reporting the error. */
static FILE *open_output(const char *out, char **tmp)
{
    *tmp = NULL;
    if (out == NULL || strcmp(out, "-") == 0)
        return stdout;
    struct stat sb;
    if (stat(out, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        /* /dev/null, a FIFO, a terminal: written as is (a temporary file
         * renamed over a device would replace it) */
        FILE *f = fopen(out, "w");
        if (f == NULL)
            cdt_error("export: cannot open %s: %s", out, strerror(errno));
        return f;
    }
    size_t n = strlen(out);
    char *t = malloc(n + 16);
    if (t == NULL) {
        cdt_error("export: out of memory");
        return NULL;
    }
    memcpy(t, out, n);
    memcpy(t + n, ".tmp.XXXXXX", 12);
    int fd = mkstemp(t);
    if (fd < 0) {
        cdt_error("export: cannot create %s: %s", out, strerror(errno));
        free(t);
        return NULL;
    }
    /* mkstemp makes it 0600; a JSON export is an ordinary file. */
    mode_t um = umask(0);
    umask(um);
    (void)fchmod(fd, 0666 & ~um);
    FILE *f = fdopen(fd, "w");
    if (f == NULL) {
        cdt_error("export: cannot create %s: %s", out, strerror(errno));
        close(fd);
        unlink(t);
        free(t);
        return NULL;
    }
    *tmp = t;
    return f;
}

/* `cdebug-trace export`: see the top of this file and export_usage. Returns
 * CDT_OK (also for a truncated trace), CDT_FAIL (unreadable input, write
 * error, out of memory) or CDT_USAGE. */
int cdt_cmd_export(int argc, char **argv)
{
    const char *path = NULL, *out = NULL, *format = "chrome";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--format=", 9) == 0) {
            format = a + 9;
        } else if (strcmp(a, "--format") == 0 && i + 1 < argc) {
            format = argv[++i];
        } else if ((strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) && i + 1 < argc) {
            out = argv[++i];
        } else if (strncmp(a, "--output=", 9) == 0) {
            out = a + 9;
        } else if (strncmp(a, "-o", 2) == 0 && a[2] != '\0') {
            out = a + 2;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            export_usage(stdout);
            return CDT_OK;
        } else if (strcmp(a, "--") == 0 && i + 2 == argc && path == NULL) {
            path = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0 || strcmp(a, "--format") == 0)
                cdt_error("export: %s needs a value", a);
            else
                cdt_error("export: unknown flag %s", a);
            export_usage(stderr);
            return CDT_USAGE;
        } else if (path == NULL) {
            path = a;
        } else {
            cdt_error("export: one TRACE only");
            export_usage(stderr);
            return CDT_USAGE;
        }
    }
    if (strcmp(format, "perfetto") == 0) {
        cdt_error("export: --format=perfetto is not implemented; use --format=chrome (the "
                  "Perfetto UI opens it)");
        return CDT_USAGE;
    }
    bool go = strcmp(format, "go") == 0;
    if (!go && strcmp(format, "chrome") != 0) {
        cdt_error("export: unknown format \"%s\" (known: chrome, go)", format);
        export_usage(stderr);
        return CDT_USAGE;
    }
    if (path == NULL) {
        cdt_error("export: missing TRACE");
        export_usage(stderr);
        return CDT_USAGE;
    }

    int code = CDT_FAIL;
    char *tmp = NULL;
    exp_w *w = calloc(1, sizeof(*w));
    exp x = {.w = w, .first = true};
    if (w == NULL) {
        cdt_error("export: out of memory");
        return CDT_FAIL;
    }
    w->f = open_output(out, &tmp);
    if (w->f == NULL)
        goto cleanup;
    if (go) {
        code = export_go(path, w);
        goto flushed;
    }

    cdt_model_cb cb = {
        .ud = &x,
        .reader_untouched = true, /* on_start does not keep the reader */
        .start = on_start,
        .event = on_event,
        .span_begin = on_span_begin,
        .span_end = on_span_end,
        .worker_state = on_worker_state,
        .task_create = on_task_create,
        .task_done = on_task_done,
        .heap = on_heap,
        .log = on_log,
        .lost = on_lost,
        .thread_gone = on_thread_gone,
        .end = on_end,
    };
    cd_tr_stats st = {0};
    cd_tr_header hdr = {0};
    code = cdt_model_run(path, &cb, &st, &hdr);
    /* Once begun, the JSON is closed whatever happened, so what was read
     * stays usable (a corrupt record ends the export with exit 1 but valid
     * JSON). An input that could not be opened gives no output at all. */
    if (x.started)
        put_trailer(&x, path, &hdr, &st, code == CDT_OK);
    w_flush(w);
    if (x.oom) {
        cdt_error("export: out of memory; the output is incomplete");
        code = CDT_FAIL;
    }
flushed:
    if (fflush(w->f) != 0 && !w->err) {
        w->err = true;
        w->err_no = errno;
    }
    if (w->err) {
        cdt_error("export: writing %s: %s", out != NULL ? out : "the output", strerror(w->err_no));
        code = CDT_FAIL;
    }

cleanup:
    if (w->f != NULL && w->f != stdout && tmp == NULL && fclose(w->f) != 0 && code == CDT_OK) {
        cdt_error("export: writing %s: %s", out, strerror(errno));
        code = CDT_FAIL;
    }
    if (tmp != NULL) {
        if (fclose(w->f) != 0 && code == CDT_OK) {
            cdt_error("export: writing %s: %s", out, strerror(errno));
            code = CDT_FAIL;
        }
        if (code == CDT_OK && rename(tmp, out) != 0) {
            cdt_error("export: cannot create %s: %s", out, strerror(errno));
            code = CDT_FAIL;
        }
        if (code != CDT_OK)
            unlink(tmp);
        free(tmp);
    }
    exp_set_free(&x.workers);
    exp_set_free(&x.threads);
    exp_set_free(&x.pending);
    free(w);
    return code;
}

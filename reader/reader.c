/* reader/reader.c - the public reader API (include/cdebug/trace_reader.h):
 * header, the dispatch of records to the tables and the merge, and the
 * delivery policy of cd_trace_reader_next.
 *
 * Delivery: the least held event goes out when its timestamp is below the
 * last FRONTIER (every older event has been read), when nothing more will be
 * read (END, end of input, a fatal error: "draining"), or when the held
 * events exceed max_held_bytes (counted in stats.forced). Otherwise one more
 * record is read. So a file of N records costs N record reads and each event
 * one heap step, and at most max_held_bytes of events wait in memory.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/trace_events.h"
#include "reader/reader_int.h"

struct cd_trace_reader {
    cd__tr_io io;
    cd_tr_header hdr;
    cd_tr_opts opts;
    cd__tr_tables tab;
    cd__tr_merge mg;
    cd_tr_stats st;
    uint64_t frontier; /* events with ts < frontier may be delivered */
    uint64_t lost_ts;  /* timestamp given to CD_TR_LOST events */
    uint64_t max_ts;   /* greatest timestamp delivered */
    bool draining;     /* no record will be read any more */
    int pending;       /* what to return once drained: 0 or an error */
    bool done;         /* pending was returned; return `final` from now on */
    int final;
    char err[384];
};

#define WHAT_LEN 160 /* a description without the record's place */

static const char *kind_name(unsigned kind)
{
    static const char *const names[] = {"?",       "EVENTS",   "STRINGS", "STACKS",
                                        "SYMBOLS", "FRONTIER", "LOST",    "END"};
    return kind < sizeof(names) / sizeof(names[0]) ? names[kind] : "unknown";
}

static uint64_t get_le(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = n - 1; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

/* ---- open --------------------------------------------------------------- */

static int read_header(cd_trace_reader *r)
{
    cd__tr_io *io = &r->io;
    int rc = cd__tr_io_need(io, CD__TRACE_HEADER_SIZE);
    if (rc < 0)
        return rc;
    size_t avail = io->end - io->pos;
    const uint8_t *h = io->data + io->pos;
    if (avail == 0)
        return -ENODATA;
    size_t magic = sizeof(CD__TRACE_MAGIC) - 1; /* its 8 bytes, the last a NUL */
    if (memcmp(h, CD__TRACE_MAGIC, avail < magic ? avail : magic) != 0)
        return -EBADMSG;
    if (avail >= 10 &&
        (get_le(h + 8, 2) < CD__TR_VERSION_MIN || get_le(h + 8, 2) > CD__TRACE_VERSION))
        return -EPROTONOSUPPORT;
    if (avail < CD__TRACE_HEADER_SIZE)
        return -ENODATA;
    r->hdr.version = (uint16_t)get_le(h + 8, 2);
    cd__tr_dec_init(&r->mg.dec, r->hdr.version);
    r->hdr.header_size = (uint16_t)get_le(h + 10, 2);
    r->hdr.flags = (uint32_t)get_le(h + 12, 4);
    r->hdr.tick_hz = get_le(h + 16, 8);
    r->hdr.start_ticks = get_le(h + 24, 8);
    r->hdr.start_wall_ns = get_le(h + 32, 8);
    if (r->hdr.header_size < CD__TRACE_HEADER_SIZE || r->hdr.tick_hz == 0)
        return -EBADMSG;
    cd__tr_io_consume(io, CD__TRACE_HEADER_SIZE);
    size_t extra = r->hdr.header_size - CD__TRACE_HEADER_SIZE; /* newer header: skip */
    if (extra > 0) {
        rc = cd__tr_io_need(io, extra);
        if (rc <= 0)
            return rc < 0 ? rc : -ENODATA;
        cd__tr_io_consume(io, extra);
    }
    r->st.bytes = r->hdr.header_size;
    r->lost_ts = r->hdr.start_ticks;
    return 0;
}

/* Takes an initialised io; frees it on failure. */
static int open_io(cd_trace_reader **out, cd__tr_io *io, const cd_tr_opts *opts)
{
    cd_trace_reader *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        cd__tr_io_free(io);
        return -ENOMEM;
    }
    r->io = *io;
    if (opts != NULL)
        r->opts = *opts;
    if (r->opts.max_held_bytes == 0)
        r->opts.max_held_bytes = CD__TR_DEFAULT_HELD;
    if (r->opts.max_table_bytes == 0)
        r->opts.max_table_bytes = CD__TR_DEFAULT_TABLES;
    cd__tr_tables_init(&r->tab, r->opts.max_table_bytes);
    cd__tr_merge_init(&r->mg);
    int rc = read_header(r);
    if (rc < 0) {
        cd_trace_reader_close(r);
        return rc;
    }
    *out = r;
    return 0;
}

int cd_trace_reader_open_mem(cd_trace_reader **r, const void *data, size_t len,
                             const cd_tr_opts *opts)
{
    if (r == NULL)
        return -EINVAL;
    *r = NULL;
    if (data == NULL && len > 0)
        return -EINVAL;
    cd__tr_io io;
    cd__tr_io_init_mem(&io, data, len);
    return open_io(r, &io, opts);
}

static int open_fd(cd_trace_reader **r, int fd, bool own, const cd_tr_opts *opts)
{
    cd__tr_io io;
    int rc = cd__tr_io_init_fd(&io, fd, own);
    if (rc < 0) {
        if (own)
            close(fd);
        return rc;
    }
    return open_io(r, &io, opts);
}

int cd_trace_reader_open_fd(cd_trace_reader **r, int fd, const cd_tr_opts *opts)
{
    if (r == NULL)
        return -EINVAL;
    *r = NULL;
    if (fd < 0)
        return -EBADF;
    return open_fd(r, fd, false, opts);
}

int cd_trace_reader_open(cd_trace_reader **r, const char *path, const cd_tr_opts *opts)
{
    if (r == NULL)
        return -EINVAL;
    *r = NULL;
    if (path == NULL)
        return -EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    return open_fd(r, fd, true, opts);
}

void cd_trace_reader_close(cd_trace_reader *r)
{
    if (r == NULL)
        return;
    cd__tr_merge_free(&r->mg);
    cd__tr_tables_free(&r->tab);
    cd__tr_io_free(&r->io);
    free(r);
}

/* ---- records ------------------------------------------------------------ */

static void stop(cd_trace_reader *r, int rc)
{
    r->draining = true;
    r->pending = rc;
}

static void truncated(cd_trace_reader *r, const char *why)
{
    char what[WHAT_LEN];
    snprintf(what, sizeof(what), "%s", why);
    snprintf(r->err, sizeof(r->err), "truncated after %llu complete records: %s",
             (unsigned long long)r->st.records, what);
    r->st.truncated = true;
    stop(r, -ENODATA);
}

/* A record that is framed but bad: skipped when asked, else fatal. */
static void bad_record(cd_trace_reader *r, const cd__tr_record *rec, int rc, const char *what)
{
    char w[WHAT_LEN];
    snprintf(w, sizeof(w), "%s", what);
    snprintf(r->err, sizeof(r->err), "record %llu (%s) at offset %llu: %s",
             (unsigned long long)r->st.records, kind_name(rec->kind),
             (unsigned long long)rec->offset, w);
    if (rc == -EPROTO && (r->opts.flags & CD_TR_SKIP_CORRUPT)) {
        r->st.corrupt++;
        return;
    }
    stop(r, rc);
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static int on_events(cd_trace_reader *r, const uint8_t *p, size_t len, char *what, size_t wlen)
{
    const uint8_t *end = p + len;
    uint64_t thread, base_ts, ids[3], n;
    if (cd__tr_uv(&p, end, &thread) != CD__UV_OK || cd__tr_uv(&p, end, &base_ts) != CD__UV_OK ||
        cd__tr_uv(&p, end, &ids[0]) != CD__UV_OK || cd__tr_uv(&p, end, &ids[1]) != CD__UV_OK ||
        cd__tr_uv(&p, end, &ids[2]) != CD__UV_OK) {
        snprintf(what, wlen,
                 "bad batch header (thread, base_ts, base_task, base_parent, base_user)");
        return -EPROTO;
    }
    size_t bad_at;
    const char *why;
    if (cd__tr_check_batch(&r->mg.dec, p, (size_t)(end - p), base_ts, &n, &bad_at, &why) < 0) {
        snprintf(what, wlen, "event %llu (byte %zu of the events of thread %llu): %s",
                 (unsigned long long)n, bad_at, (unsigned long long)thread, why);
        return -EPROTO;
    }
    int rc = cd__tr_merge_add_batch(&r->mg, thread, base_ts, ids, p, (size_t)(end - p));
    if (rc < 0)
        snprintf(what, wlen, "out of memory holding a batch");
    return rc;
}

static int on_record(cd_trace_reader *r, const cd__tr_record *rec, char *what, size_t wlen)
{
    const uint8_t *p = rec->payload, *end = p + rec->len;
    uint64_t v[3];
    int rc;
    switch (rec->kind) {
    case CD__REC_EVENTS:
        return on_events(r, p, rec->len, what, wlen);
    case CD__REC_STRINGS:
        rc = cd__tr_tables_strings(&r->tab, p, rec->len, what, wlen);
        break;
    case CD__REC_STACKS:
        rc = cd__tr_tables_stacks(&r->tab, p, rec->len, what, wlen);
        break;
    case CD__REC_SYMBOLS:
        rc = cd__tr_tables_symbols(&r->tab, p, rec->len, what, wlen);
        break;
    case CD__REC_FRONTIER:
        /* Bytes after the documented fields are ignored (room to grow). */
        if (cd__tr_uv(&p, end, &v[0]) != CD__UV_OK) {
            snprintf(what, wlen, "bad timestamp");
            return -EPROTO;
        }
        if (v[0] > r->frontier) /* a frontier never moves back */
            r->frontier = v[0];
        r->lost_ts = r->frontier;
        r->st.frontiers++;
        return 0;
    case CD__REC_LOST:
        for (int i = 0; i < 3; i++) {
            if (cd__tr_uv(&p, end, &v[i]) != CD__UV_OK) {
                snprintf(what, wlen, "bad or short counts");
                return -EPROTO;
            }
        }
        r->st.lost_events = sat_add(r->st.lost_events, v[1]);
        r->st.lost_batches = sat_add(r->st.lost_batches, v[2]);
        r->st.lost_records++;
        rc = cd__tr_merge_add_lost(&r->mg, r->lost_ts, v[0], v[1], v[2]);
        if (rc < 0)
            snprintf(what, wlen, "out of memory");
        return rc;
    case CD__REC_END:
        r->st.ended = true;
        stop(r, 0);
        return 0;
    default:
        r->st.skipped++; /* a newer kind: skippable by definition */
        return 0;
    }
    if (rc == 0) {
        r->st.strings = r->tab.nstrings;
        r->st.stacks = r->tab.nstacks;
        r->st.symbols = r->tab.nsymbols;
    }
    return rc;
}

/* Reads and applies one record, or ends the input. */
static void read_record(cd_trace_reader *r)
{
    cd__tr_record rec;
    char what[WHAT_LEN];
    int rc = cd__tr_io_record(&r->io, &rec, what, sizeof(what));
    switch (rc) {
    case CD__IO_EOF:
        truncated(r, "no END record");
        return;
    case -ENODATA:
        truncated(r, what);
        return;
    case CD__IO_RECORD:
    case CD__IO_BADCRC:
        break;
    default: /* framing error or I/O: nothing after it can be located */
        snprintf(r->err, sizeof(r->err), "after %llu records: %s",
                 (unsigned long long)r->st.records, what);
        stop(r, rc);
        return;
    }
    r->st.records++;
    r->st.bytes += rec.size;
    if (rc == CD__IO_BADCRC) {
        bad_record(r, &rec, -EPROTO, "CRC mismatch");
        return;
    }
    rc = on_record(r, &rec, what, sizeof(what));
    if (rc < 0)
        bad_record(r, &rec, rc, what);
}

/* ---- delivery ----------------------------------------------------------- */

/* Counts the delivery of ev (the events, and any step back in time). */
static void count_delivered(cd_trace_reader *r, const cd__tr_raw *ev)
{
    if (r->st.events > 0 && ev->ts < r->max_ts)
        r->st.out_of_order++;
    if (ev->ts > r->max_ts)
        r->max_ts = ev->ts;
    r->st.events++;
}

/* Fills *ev from the least held event and removes it. */
static void deliver(cd_trace_reader *r, const cd__tr_raw *raw, cd_tr_event *ev)
{
    ev->type = raw->type;
    ev->nargs = raw->nargs;
    ev->ts = raw->ts;
    ev->thread = raw->thread;
    memcpy(ev->args, raw->args, sizeof ev->args); /* zero past nargs */
    memset(ev->str, 0, sizeof ev->str);
    memset(ev->str_len, 0, sizeof ev->str_len);
    const cd__tr_dectype *t = &r->mg.dec.t[raw->type & 127]; /* CD_TR_LOST: no strings */
    if (t->nstr > 0) {
        for (unsigned i = 0; i < raw->nargs; i++) {
            uint64_t id = raw->args[i];
            if (t->kind[i] == CD_TR_ARG_STRING) {
                const cd__tr_string *s = id == 0 ? NULL : cd__tr_string_get(&r->tab, id);
                if (id == 0) {
                    ev->str[i] = "";
                } else if (s != NULL) {
                    ev->str[i] = s->text;
                    ev->str_len[i] = s->len;
                } else {
                    ev->str[i] = "?";
                    ev->str_len[i] = 1;
                    r->st.bad_refs++;
                }
            } else if (t->kind[i] == CD_TR_ARG_STACK) {
                if (id != 0 && cd__tr_stack_get(&r->tab, id) == NULL)
                    r->st.bad_refs++;
            }
        }
    }
    count_delivered(r, raw);
    cd__tr_merge_drop(&r->mg);
}

/* The least held event once it may be delivered, reading records until it
 * may; NULL when nothing is held and nothing more will be read. */
static const cd__tr_raw *ready(cd_trace_reader *r)
{
    for (;;) {
        const cd__tr_raw *top = cd__tr_merge_top(&r->mg);
        if (top != NULL) {
            if (r->draining || top->ts < r->frontier)
                return top;
            if (r->mg.held > r->opts.max_held_bytes) {
                r->st.forced++;
                return top;
            }
        }
        if (r->draining)
            return NULL;
        read_record(r);
    }
}

/* The stream is over: what to return now, and from then on. */
static int finish(cd_trace_reader *r)
{
    r->done = true;
    /* Truncation is told once; then the stream just ends. */
    r->final = r->pending == -ENODATA ? 0 : r->pending;
    return r->pending;
}

int cd_trace_reader_next(cd_trace_reader *r, cd_tr_event *ev)
{
    if (r == NULL || ev == NULL)
        return -EINVAL;
    if (r->done)
        return r->final;
    const cd__tr_raw *top = ready(r);
    if (top == NULL)
        return finish(r);
    deliver(r, top, ev);
    return 1;
}

int cd_trace_reader_next_batch(cd_trace_reader *r, cd_tr_ev *evs, size_t max)
{
    if (r == NULL || evs == NULL || max == 0)
        return -EINVAL;
    if (r->done)
        return r->final;
    if (max > INT_MAX)
        max = INT_MAX;
    size_t k = 0;
    const cd__tr_raw *top;
    while (k < max && (top = ready(r)) != NULL) {
        /* Every event below the frontier at once (all of them when
         * draining); a forced one alone, past the frontier. */
        uint64_t below = r->draining ? UINT64_MAX : r->frontier;
        size_t got = cd__tr_merge_take(&r->mg, below, evs + k, max - k);
        if (got == 0) {
            evs[k] = *top;
            cd__tr_merge_drop(&r->mg);
            got = 1;
        }
        for (size_t i = k; i < k + got; i++)
            count_delivered(r, &evs[i]);
        k += got;
    }
    return k > 0 ? (int)k : finish(r);
}

/* ---- accessors ---------------------------------------------------------- */

const cd_tr_header *cd_trace_reader_header(const cd_trace_reader *r)
{
    return &r->hdr;
}

void cd_trace_reader_stats(const cd_trace_reader *r, cd_tr_stats *s)
{
    *s = r->st;
    s->table_bytes = r->tab.bytes;
    s->held_bytes = r->mg.held;
    s->peak_held_bytes = r->mg.peak;
}

const char *cd_trace_reader_error(const cd_trace_reader *r)
{
    return r->err;
}

const char *cd_trace_reader_string(const cd_trace_reader *r, uint64_t id, size_t *len)
{
    if (id == 0) {
        if (len != NULL)
            *len = 0;
        return "";
    }
    const cd__tr_string *s = cd__tr_string_get(&r->tab, id);
    if (s == NULL) {
        errno = ENOENT;
        return NULL;
    }
    if (len != NULL)
        *len = s->len;
    return s->text;
}

int cd_trace_reader_stack(const cd_trace_reader *r, uint64_t id, const uint64_t **pcs, size_t *n)
{
    static const uint64_t none[1] = {0};
    if (id == 0) {
        *pcs = none;
        *n = 0;
        return 0;
    }
    const cd__tr_stack *s = cd__tr_stack_get(&r->tab, id);
    if (s == NULL)
        return -ENOENT;
    *pcs = s->pcs;
    *n = s->n;
    return 0;
}

static const char *string_or_unknown(const cd_trace_reader *r, uint64_t id)
{
    const char *s = cd_trace_reader_string(r, id, NULL);
    return s != NULL ? s : "?";
}

int cd_trace_reader_symbol(const cd_trace_reader *r, uint64_t pc, const char **func,
                           const char **file, uint64_t *line)
{
    const cd__tr_symbol *s = cd__tr_symbol_get(&r->tab, pc);
    if (s == NULL)
        return -ENOENT;
    if (func != NULL)
        *func = string_or_unknown(r, s->func);
    if (file != NULL)
        *file = string_or_unknown(r, s->file);
    if (line != NULL)
        *line = s->line;
    return 0;
}

__extension__ typedef unsigned __int128 u128;

/* d ticks in ns, floor(d * 1e9 / hz), exact; UINT64_MAX past it. Without
 * libgcc's 128-bit division where 64 bits do (every real trace): viewers
 * convert every event's time. */
static uint64_t ticks_to_ns(uint64_t d, uint64_t hz)
{
    const uint64_t G = 1000000000u;
    if (hz == G)
        return d;
    if (d <= UINT64_MAX / G)
        return d * G / hz;
    if (hz <= UINT64_MAX / G) { /* d = q hz + rem: q G + floor(rem G / hz) */
        uint64_t q = d / hz, rem = d % hz;
        if (q > (UINT64_MAX - G) / G)
            return UINT64_MAX;
        return q * G + rem * G / hz;
    }
    u128 ns = (u128)d * G / hz;
    return ns > UINT64_MAX ? UINT64_MAX : (uint64_t)ns;
}

int64_t cd_trace_reader_ns(const cd_trace_reader *r, uint64_t ts)
{
    uint64_t start = r->hdr.start_ticks;
    bool neg = ts < start;
    uint64_t ns = ticks_to_ns(neg ? start - ts : ts - start, r->hdr.tick_hz);
    if (neg)
        return ns > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)ns;
    return ns > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)ns;
}

const char *cd_tr_strerror(int err)
{
    switch (err) {
    case -ENODATA:
        return "truncated trace (file or header cut short)";
    case -EBADMSG:
        return "not a cdebug trace (bad magic or header)";
    case -EPROTONOSUPPORT:
        return "unsupported cdebug trace version";
    case -EPROTO:
        return "corrupted trace";
    case -EFBIG:
        return "trace tables exceed the reader's memory limit";
    case -ENOENT:
        return "no such file or directory";
    default:
        return cd_strerror(err);
    }
}

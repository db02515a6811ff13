/* tests/fuzz/fuzz_trace_reader.c - libFuzzer target for the trace reader.
 *
 * Each input is read four ways: from memory, from a memfd through the
 * buffered read(2) path (the two must agree exactly: same events, same
 * result), from memory in arrays (cd_trace_reader_next_batch, 5 events a
 * call: the same events and result but for the strings, which it leaves as
 * ids), and from memory with CD_TR_SKIP_CORRUPT. Small caps make the
 * forced-emission and table-limit paths reachable with small inputs. Every
 * string, stack and symbol an event refers to is touched, so a pointer the
 * reader hands out that is not valid shows up under ASan.
 *
 * Built by tests/fuzz/run.sh (clang -fsanitize=fuzzer,address,undefined), or
 * with tests/fuzz/replay.c as a plain program that replays the corpus.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cdebug/trace_reader.h"

typedef struct outcome {
    int open_rc, rc, after;
    uint64_t events, hash;
    uint64_t plain; /* of the fields cd_tr_ev has: the batch form's hash */
    cd_tr_stats st;
} outcome;

static uint64_t mix(uint64_t h, uint64_t v)
{
    h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
    return h;
}

static uint64_t touch(const char *s, size_t n)
{
    uint64_t h = n;
    for (size_t i = 0; i <= n; i++) /* the NUL too */
        h = h * 31 + (unsigned char)s[i];
    return h;
}

static void consume(cd_trace_reader *r, outcome *o)
{
    const cd_tr_header *hd = cd_trace_reader_header(r);
    o->hash = mix(hd->tick_hz, hd->start_ticks);
    cd_tr_event ev;
    int rc;
    while ((rc = cd_trace_reader_next(r, &ev)) == 1) {
        o->events++;
        o->hash = mix(o->hash, ev.type);
        o->hash = mix(o->hash, ev.ts);
        o->hash = mix(o->hash, ev.thread);
        o->hash = mix(o->hash, (uint64_t)cd_trace_reader_ns(r, ev.ts));
        if (cd_tr_event_name(ev.type) == NULL || (int)ev.nargs != cd_tr_event_nargs(ev.type))
            abort();
        o->plain = mix(mix(mix(o->plain, ev.type), ev.ts), ev.thread);
        for (unsigned i = 0; i < CD_TR_MAX_ARGS; i++)
            o->plain = mix(o->plain, ev.args[i]);
        for (unsigned i = 0; i < ev.nargs; i++) {
            o->hash = mix(o->hash, ev.args[i]);
            if (ev.str[i] != NULL)
                o->hash = mix(o->hash, touch(ev.str[i], ev.str_len[i]));
            if (cd_tr_event_arg_kind(ev.type, i) == CD_TR_ARG_STACK) {
                const uint64_t *pcs;
                size_t n;
                if (cd_trace_reader_stack(r, ev.args[i], &pcs, &n) == 0) {
                    for (size_t k = 0; k < n && k < 64; k++) {
                        const char *func, *file;
                        uint64_t line;
                        o->hash = mix(o->hash, pcs[k]);
                        if (cd_trace_reader_symbol(r, pcs[k], &func, &file, &line) == 0)
                            o->hash = mix(o->hash, touch(func, strlen(func)) ^
                                                       touch(file, strlen(file)) ^ line);
                    }
                }
            }
        }
    }
    o->rc = rc;
    o->after = cd_trace_reader_next(r, &ev);
    if (strlen(cd_trace_reader_error(r)) >= 1024)
        abort();
    cd_trace_reader_stats(r, &o->st);
}

static void read_mem(const uint8_t *data, size_t size, const cd_tr_opts *opts, outcome *o)
{
    cd_trace_reader *r;
    memset(o, 0, sizeof(*o));
    o->open_rc = cd_trace_reader_open_mem(&r, data, size, opts);
    if (o->open_rc == 0) {
        consume(r, o);
        cd_trace_reader_close(r);
    }
}

static void read_fd(const uint8_t *data, size_t size, const cd_tr_opts *opts, outcome *o)
{
    memset(o, 0, sizeof(*o));
    int fd = memfd_create("fuzz", MFD_CLOEXEC);
    if (fd < 0)
        abort();
    size_t off = 0;
    while (off < size) {
        ssize_t n = write(fd, data + off, size - off);
        if (n <= 0)
            abort();
        off += (size_t)n;
    }
    if (lseek(fd, 0, SEEK_SET) != 0)
        abort();
    cd_trace_reader *r;
    o->open_rc = cd_trace_reader_open_fd(&r, fd, opts);
    if (o->open_rc == 0) {
        consume(r, o);
        cd_trace_reader_close(r);
    }
    close(fd);
}

/* From memory through cd_trace_reader_next_batch: fills events, plain,
 * rc, after and st. */
static void read_batches(const uint8_t *data, size_t size, const cd_tr_opts *opts, outcome *o)
{
    memset(o, 0, sizeof(*o));
    cd_trace_reader *r;
    o->open_rc = cd_trace_reader_open_mem(&r, data, size, opts);
    if (o->open_rc != 0)
        return;
    cd_tr_ev evs[5];
    int rc;
    while ((rc = cd_trace_reader_next_batch(r, evs, 5)) > 0) {
        if (rc > 5)
            abort();
        for (int k = 0; k < rc; k++) {
            const cd_tr_ev *ev = &evs[k];
            o->events++;
            o->plain = mix(mix(mix(o->plain, ev->type), ev->ts), ev->thread);
            for (unsigned i = 0; i < CD_TR_MAX_ARGS; i++)
                o->plain = mix(o->plain, ev->args[i]);
        }
    }
    o->rc = rc;
    o->after = cd_trace_reader_next_batch(r, evs, 5);
    cd_trace_reader_stats(r, &o->st);
    cd_trace_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cd_tr_opts opts = {.max_held_bytes = 4096, .max_table_bytes = 256 * 1024};
    outcome m, f;
    read_mem(data, size, &opts, &m);
    read_fd(data, size, &opts, &f);
    if (m.open_rc != f.open_rc || m.rc != f.rc || m.after != f.after || m.events != f.events ||
        m.hash != f.hash || m.st.records != f.st.records || m.st.bytes != f.st.bytes)
        abort(); /* memory and fd input must read the same */
    if (m.open_rc == 0) {
        if (m.rc > 0 || m.after > 0 || (m.rc == -ENODATA) != m.st.truncated)
            abort();
        if (m.st.events != m.events || m.st.bytes > size)
            abort();
    }
    outcome b;
    read_batches(data, size, &opts, &b);
    if (b.open_rc != m.open_rc || b.rc != m.rc || b.after != m.after || b.events != m.events ||
        b.plain != m.plain || b.st.forced != m.st.forced ||
        b.st.out_of_order != m.st.out_of_order || b.st.records != m.st.records)
        abort(); /* the batch form reads the same stream */
    opts.flags = CD_TR_SKIP_CORRUPT;
    read_mem(data, size, &opts, &m);
    return 0;
}

/* reader/reader_events.c - what each event type is (name, arguments and
 * their kinds) and the decoder of EVENTS batches.
 *
 * The table below is docs/trace-format.md's "Events" table in C; the unit
 * test checks its argument counts against base/trace_events.h, the recorder's
 * copy, so the writer and the reader cannot drift apart silently.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "base/trace_events.h"
#include "reader/reader_int.h"

#define I CD_TR_ARG_INT
#define S CD_TR_ARG_STRING
#define K CD_TR_ARG_STACK

typedef cd__tr_evinfo ev_info;

static const ev_info file_types[CD_TR_MAX_FILE_TYPE + 1] = {
    [CD_TR_THREAD_START] = {"THREAD_START", 1, 0, {{"kind", I}}},
    [CD_TR_THREAD_STOP] = {"THREAD_STOP", 0, 0, {{0}}},
    [CD_TR_WORKER_ACQUIRE] = {"WORKER_ACQUIRE", 1, 0, {{"worker", I}}},
    [CD_TR_WORKER_RELEASE] = {"WORKER_RELEASE", 1, 0, {{"worker", I}}},
    [CD_TR_SPIN_BEGIN] = {"SPIN_BEGIN", 0, 0, {{0}}},
    [CD_TR_SPIN_END] = {"SPIN_END", 0, 0, {{0}}},
    [CD_TR_TASK_CREATE] = {"TASK_CREATE",
                           4,
                           2,
                           {{"task", I}, {"parent", I}, {"name", S}, {"stack", K}}},
    [CD_TR_TASK_START] = {"TASK_START", 1, 0, {{"task", I}}},
    [CD_TR_TASK_BLOCK] = {"TASK_BLOCK", 3, 1, {{"task", I}, {"reason", S}, {"stack", K}}},
    [CD_TR_TASK_UNBLOCK] = {"TASK_UNBLOCK", 1, 0, {{"task", I}}},
    [CD_TR_TASK_END] = {"TASK_END", 1, 0, {{"task", I}}},
    [CD_TR_GC_BEGIN] = {"GC_BEGIN", 2, 0, {{"gc", I}, {"forced", I}}},
    [CD_TR_GC_STW_BEGIN] = {"GC_STW_BEGIN", 1, 0, {{"gc", I}}},
    [CD_TR_GC_STW_END] = {"GC_STW_END", 1, 0, {{"gc", I}}},
    [CD_TR_GC_MARK_BEGIN] = {"GC_MARK_BEGIN", 1, 0, {{"gc", I}}},
    [CD_TR_GC_MARK_END] = {"GC_MARK_END", 1, 0, {{"gc", I}}},
    [CD_TR_GC_RESTART] = {"GC_RESTART", 1, 0, {{"gc", I}}},
    [CD_TR_GC_RECLAIM_BEGIN] = {"GC_RECLAIM_BEGIN", 1, 0, {{"gc", I}}},
    [CD_TR_GC_RECLAIM_END] = {"GC_RECLAIM_END", 1, 0, {{"gc", I}}},
    [CD_TR_GC_END] = {"GC_END", 1, 0, {{"gc", I}}},
    [CD_TR_HEAP] = {"HEAP", 2, 0, {{"in_use", I}, {"goal", I}}},
    [CD_TR_USER_TASK_BEGIN] = {"USER_TASK_BEGIN", 3, 1, {{"id", I}, {"parent", I}, {"type", S}}},
    [CD_TR_USER_TASK_END] = {"USER_TASK_END", 1, 0, {{"id", I}}},
    [CD_TR_REGION_BEGIN] = {"REGION_BEGIN", 2, 1, {{"user_task", I}, {"name", S}}},
    [CD_TR_REGION_END] = {"REGION_END", 2, 1, {{"user_task", I}, {"name", S}}},
    [CD_TR_LOG] = {"LOG", 3, 2, {{"user_task", I}, {"category", S}, {"message", S}}},
    [CD_TR_CPU_SAMPLE] = {"CPU_SAMPLE", 2, 1, {{"stack", K}, {"task", I}}},
    [CD_TR_STATE_THREAD] = {"STATE_THREAD", 3, 0, {{"thread", I}, {"kind", I}, {"worker", I}}},
    [CD_TR_STATE_WORKER] = {"STATE_WORKER", 2, 0, {{"worker", I}, {"running", I}}},
    [CD_TR_STATE_TASK] =
        {"STATE_TASK",
         6,
         2,
         {{"task", I}, {"state", I}, {"parent", I}, {"name", S}, {"reason", S}, {"thread", I}}},
};

static const ev_info lost_info = {"LOST", 2, 0, {{"events", I}, {"batches", I}}};

#undef I
#undef S
#undef K

const cd__tr_evinfo *cd__tr_info(unsigned type)
{
    if (type >= 1 && type <= CD_TR_MAX_FILE_TYPE)
        return &file_types[type];
    if (type == CD_TR_LOST)
        return &lost_info;
    return NULL;
}

const char *cd_tr_event_name(unsigned type)
{
    const ev_info *e = cd__tr_info(type);
    if (e == NULL) {
        errno = EINVAL;
        return NULL;
    }
    return e->name;
}

int cd_tr_event_nargs(unsigned type)
{
    const ev_info *e = cd__tr_info(type);
    return e == NULL ? -EINVAL : e->nargs;
}

const char *cd_tr_event_arg_name(unsigned type, unsigned i)
{
    const ev_info *e = cd__tr_info(type);
    if (e == NULL || i >= e->nargs) {
        errno = EINVAL;
        return NULL;
    }
    return e->args[i].name;
}

cd_tr_arg_kind cd_tr_event_arg_kind(unsigned type, unsigned i)
{
    const ev_info *e = cd__tr_info(type);
    return e == NULL || i >= e->nargs ? CD_TR_ARG_NONE : e->args[i].kind;
}

/* Arguments an event of `version` carries on the wire, where the current
 * version has n. */
static unsigned wire_nargs(unsigned type, unsigned version, unsigned n)
{
    return version < 3 && type == CD_TR_TASK_BLOCK ? 2 : n;
}

_Static_assert(CD_TR_LOST < 128 && CD_TR_MAX_FILE_TYPE < 128, "cd__tr_dec's table is indexed by type");

void cd__tr_dec_init(cd__tr_dec *d, unsigned version)
{
    memset(d, 0, sizeof(*d));
    for (unsigned type = 1; type <= CD_TR_MAX_FILE_TYPE; type++) {
        cd__tr_dectype *t = &d->t[type];
        t->valid = 1;
        t->n = file_types[type].nargs;
        t->wire = (uint8_t)wire_nargs(type, version, t->n);
        t->same = (int8_t)cd__same_kind(type);
        t->nstr = file_types[type].nstr;
        for (int i = 0; i < CD_TR_MAX_ARGS; i++) {
            t->chain[i] = (int8_t)cd__id_kind(type, i);
            t->kind[i] = (uint8_t)file_types[type].args[i].kind;
        }
    }
}

/* A varint: one or two bytes inline (most are: small ids, timestamp
 * deltas below 16384 ticks), else the general decoder, which also checks. */
#define UV_OR(p, end, v, fail)                                                                     \
    do {                                                                                           \
        if ((p) + 1 < (end) && (p)[0] < 0x80) {                                                    \
            (v) = *(p)++;                                                                          \
        } else if ((p) + 1 < (end) && (p)[1] < 0x80) {                                             \
            (v) = (uint64_t)((p)[0] & 0x7f) | (uint64_t)(p)[1] << 7;                               \
            (p) += 2;                                                                              \
        } else if (cd__tr_uv(&(p), (end), &(v)) != CD__UV_OK) {                                    \
            goto fail;                                                                             \
        }                                                                                          \
    } while (0)

size_t cd__tr_decode_events(const cd__tr_dec *d, const uint8_t **pp, const uint8_t *end,
                            uint64_t *tsp, uint64_t ids[3], uint64_t thread, cd__tr_raw *out,
                            size_t max)
{
    const uint8_t *p = *pp;
    uint64_t ts = *tsp;
    size_t k = 0;
    while (k < max && p < end) {
        unsigned b = *p++;
        const cd__tr_dectype *t = &d->t[b & 0x7f];
        if (!t->valid || ((b & 0x80) && t->same < 0))
            goto bad;
        uint64_t dts, v;
        UV_OR(p, end, dts, bad);
        cd__tr_raw *ev = &out[k];
        ts += dts; /* checked: cannot overflow */
        *ev = (cd__tr_raw){.type = b & 0x7f, .nargs = t->n, .ts = ts, .thread = thread};
        unsigned i = 0;
        if (b & 0x80) {
            ev->args[0] = ids[t->same]; /* left out: its chain's previous id */
            i = 1;
        }
        for (; i < t->wire; i++) {
            UV_OR(p, end, v, bad);
            int c = t->chain[i];
            if (c >= 0) /* task, parent, user ids: zigzag deltas */
                v = ids[c] = cd__zz_dec(v, ids[c]);
            ev->args[i] = v;
        }
        k++;
    }
    *pp = p;
    *tsp = ts;
    return k;
bad: /* the batch was checked: cannot happen; drop the rest, never misread */
    *pp = end;
    *tsp = ts;
    return k;
}

int cd__tr_check_batch(const cd__tr_dec *d, const uint8_t *p, size_t len, uint64_t base_ts,
                       uint64_t *n, size_t *bad_at, const char **why)
{
    const uint8_t *start = p, *end = p + len, *at = p;
    uint64_t ts = base_ts, count = 0, v;
    const char *w = NULL; /* the reason, stored in *why only on a failure */
    while (p < end) {
        at = p;
        unsigned b = *p++;
        const cd__tr_dectype *t = &d->t[b & 0x7f];
        if (!t->valid) {
            w = "unknown event type";
            goto bad;
        }
        if ((b & 0x80) && t->same < 0) {
            w = "same-task flag on an event without a task argument";
            goto bad;
        }
        w = "bad or short timestamp delta";
        UV_OR(p, end, v, bad);
        if (v > UINT64_MAX - ts) {
            w = "timestamp overflows 64 bits";
            goto bad;
        }
        ts += v;
        w = "bad or short argument";
        for (unsigned i = (b & 0x80) ? 1 : 0; i < t->wire; i++)
            UV_OR(p, end, v, bad);
        count++;
    }
    *n = count;
    return 0;
bad:
    *why = w;
    *bad_at = (size_t)(at - start);
    *n = count;
    return -EPROTO;
}

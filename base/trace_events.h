/* base/trace_events.h - record kinds, event types and their argument counts, as
 * specified in docs/trace-format.md (version 3). Shared by the recorder and
 * the writer; keep the two tables and the document in step. */
#ifndef CDEBUG_BASE_TRACE_EVENTS_H
#define CDEBUG_BASE_TRACE_EVENTS_H

#include <stdint.h>

#include "base/buf.h" /* cd__uv_put, the varint of the format */

#define CD__TRACE_MAGIC       "CDTRACE\0"
#define CD__TRACE_VERSION     3 /* 3: TASK_BLOCK carries a stack */
#define CD__TRACE_HEADER_SIZE 40
#define CD__TRACE_FLAG_FLIGHT 1u
#define CD__TRACE_CHAINS      3 /* id delta chains: task, parent, user task */

enum cd__trace_record {
    CD__REC_EVENTS = 1,
    CD__REC_STRINGS = 2,
    CD__REC_STACKS = 3,
    CD__REC_SYMBOLS = 4,
    CD__REC_FRONTIER = 5,
    CD__REC_LOST = 6,
    CD__REC_END = 7,
};

enum cd__trace_event {
    CD__EV_THREAD_START = 1,
    CD__EV_THREAD_STOP = 2,
    CD__EV_WORKER_ACQUIRE = 3,
    CD__EV_WORKER_RELEASE = 4,
    CD__EV_SPIN_BEGIN = 5,
    CD__EV_SPIN_END = 6,
    CD__EV_TASK_CREATE = 7,
    CD__EV_TASK_START = 8,
    CD__EV_TASK_BLOCK = 9,
    CD__EV_TASK_UNBLOCK = 10,
    CD__EV_TASK_END = 11,
    CD__EV_GC_BEGIN = 12,
    CD__EV_GC_STW_BEGIN = 13,
    CD__EV_GC_STW_END = 14,
    CD__EV_GC_MARK_BEGIN = 15,
    CD__EV_GC_MARK_END = 16,
    CD__EV_GC_RESTART = 17,
    CD__EV_GC_RECLAIM_BEGIN = 18,
    CD__EV_GC_RECLAIM_END = 19,
    CD__EV_GC_END = 20,
    CD__EV_HEAP = 21,
    CD__EV_USER_TASK_BEGIN = 22,
    CD__EV_USER_TASK_END = 23,
    CD__EV_REGION_BEGIN = 24,
    CD__EV_REGION_END = 25,
    CD__EV_LOG = 26,
    CD__EV_CPU_SAMPLE = 27,
    CD__EV_STATE_THREAD = 28,
    CD__EV_STATE_WORKER = 29,
    CD__EV_STATE_TASK = 30,
    CD__EV_MAX = 30,
};

/* Arguments per event type (index = type; 0xff: not a type). */
static const uint8_t cd__trace_nargs[CD__EV_MAX + 1] = {
    0xff,                         /* 0 */
    1,    0, 1, 1, 0, 0,          /* thread start/stop, worker acquire/release, spin */
    4,    1, 3, 1, 1,             /* task create/start/block/unblock/end */
    2,    1, 1, 1, 1, 1, 1, 1, 1, /* gc begin .. gc end */
    2,                            /* heap */
    3,    1, 2, 2, 3,             /* user task begin/end, region begin/end, log */
    2,                            /* cpu sample */
    3,    2, 6,                   /* state thread/worker/task */
};

/* Arguments that are scheduler task ids (a bit per argument index), and
 * those that are parent task ids. Each is written as the zigzag varint of
 * the difference from the previous id of its kind in the same batch (the
 * batch header gives the first bases): consecutive and repeated ids take
 * one byte instead of three or four. Two kinds, because a spawner's
 * TASK_CREATEs alternate a new id with the same parent. */
static const uint8_t cd__trace_task_args[CD__EV_MAX + 1] = {
    [CD__EV_TASK_CREATE] = 1u << 0, /* task, parent, name, stack */
    [CD__EV_TASK_START] = 1u << 0,  [CD__EV_TASK_BLOCK] = 1u << 0, [CD__EV_TASK_UNBLOCK] = 1u << 0,
    [CD__EV_TASK_END] = 1u << 0,    [CD__EV_CPU_SAMPLE] = 1u << 1, /* stack, task */
    [CD__EV_STATE_TASK] = 1u << 0,                                 /* task, state, parent, ... */
};
static const uint8_t cd__trace_parent_args[CD__EV_MAX + 1] = {
    [CD__EV_TASK_CREATE] = 1u << 1,
    [CD__EV_STATE_TASK] = 1u << 2,
};
/* The third chain: the user task (cd_trace_task_begin id) an annotation is
 * attributed to, argument 0 of regions and logs. */
static const uint8_t cd__trace_user_args[CD__EV_MAX + 1] = {
    [CD__EV_REGION_BEGIN] = 1u << 0,
    [CD__EV_REGION_END] = 1u << 0,
    [CD__EV_LOG] = 1u << 0,
};

/* Encodes argument i of an event of type `type` against the bases ids[0]
 * (task) and ids[1] (parent), updating them. */
static inline uint64_t cd__ids_enc(unsigned type, int i, uint64_t v,
                                   uint64_t ids[CD__TRACE_CHAINS]);
/* The inverse, for decoders. */
static inline uint64_t cd__ids_dec(unsigned type, int i, uint64_t v,
                                   uint64_t ids[CD__TRACE_CHAINS]);

static inline uint64_t cd__zz_enc(uint64_t v, uint64_t prev)
{
    uint64_t d = v - prev; /* two's complement difference */
    return (d << 1) ^ (uint64_t) - (int64_t)(d >> 63);
}

static inline uint64_t cd__zz_dec(uint64_t z, uint64_t prev)
{
    return prev + ((z >> 1) ^ (uint64_t) - (int64_t)(z & 1));
}

/* Set in an event's type byte: its argument 0, a task id or a user task
 * id, equals the previous id of its chain in the batch and is left out (an
 * END right after its START, regions and logs of one user task: one byte
 * saved per such event). Only for types whose argument 0 is in a chain of
 * kind 0 (task) or 2 (user task). */
#define CD__EV_SAME_TASK 0x80u

/* Which delta chain argument i of type belongs to: 0 task, 1 parent, 2
 * user task, -1 none (written as is). The EVENTS header carries the three
 * bases. */
static inline int cd__id_kind(unsigned type, int i)
{
    if (type > CD__EV_MAX)
        return -1;
    if (cd__trace_task_args[type] >> i & 1)
        return 0;
    if (cd__trace_parent_args[type] >> i & 1)
        return 1;
    return (cd__trace_user_args[type] >> i & 1) ? 2 : -1;
}

/* Whether the same-task bit may be set on type (argument 0 in chain 0 or
 * 2), and the chain it then refers to (-1: it may not). */
static inline int cd__same_kind(unsigned type)
{
    int k = cd__id_kind(type, 0);
    return k == 0 || k == 2 ? k : -1;
}

static inline uint64_t cd__ids_enc(unsigned type, int i, uint64_t v, uint64_t ids[CD__TRACE_CHAINS])
{
    int k = cd__id_kind(type, i);
    if (k < 0)
        return v;
    uint64_t prev = ids[k];
    ids[k] = v;
    return cd__zz_enc(v, prev);
}

static inline uint64_t cd__ids_dec(unsigned type, int i, uint64_t v, uint64_t ids[CD__TRACE_CHAINS])
{
    int k = cd__id_kind(type, i);
    if (k < 0)
        return v;
    ids[k] = cd__zz_dec(v, ids[k]);
    return ids[k];
}

#define CD__TRACE_MAX_ARGS 6
/* type byte + timestamp delta + arguments, each varint at most 10 bytes */
#define CD__TRACE_MAX_EVENT (1 + 10 + 10 * CD__TRACE_MAX_ARGS)

#endif /* CDEBUG_BASE_TRACE_EVENTS_H */

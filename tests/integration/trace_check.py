#!/usr/bin/env python3
"""An independent reader of docs/trace-format.md, used as a conformance check.

    trace_check.py FILE  -> prints a JSON summary on stdout, exit 0
                         -> exit 1 with a message when the file breaks a rule

Checks: magic, version, header size; every record's framing and CRC; string
and stack ids defined before use (strings also before the SYMBOLS that use
them; the symbols of a used stack before the next FRONTIER); timestamps never
decrease within a thread;
no event older than the last FRONTIER; an END record. Counts events by type,
task names, region names, log categories and lost events, and the
TASK_STARTs that share the timestamp of the TASK_END just before them on
their thread (end_start_pairs: the scheduler's one clock read for both),
and the stack pcs that no SYMBOLS record names (unsymbolized_pcs).
"""
import collections
import json
import struct
import sys
import zlib

# Version 3 (what the recorder writes): TASK_BLOCK (9) carries a stack.
NARGS = [None, 1, 0, 1, 1, 0, 0, 4, 1, 3, 1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 2, 3, 1, 2, 2, 3, 2,
         3, 2, 6]
NAMES = ("_ THREAD_START THREAD_STOP WORKER_ACQUIRE WORKER_RELEASE SPIN_BEGIN SPIN_END "
         "TASK_CREATE TASK_START TASK_BLOCK TASK_UNBLOCK TASK_END GC_BEGIN GC_STW_BEGIN "
         "GC_STW_END GC_MARK_BEGIN GC_MARK_END GC_RESTART GC_RECLAIM_BEGIN GC_RECLAIM_END "
         "GC_END HEAP USER_TASK_BEGIN USER_TASK_END REGION_BEGIN REGION_END LOG CPU_SAMPLE "
         "STATE_THREAD STATE_WORKER STATE_TASK").split()
# Arguments that are string ids, and stack ids, per event type.
STRING_ARGS = {7: [2], 9: [1], 22: [2], 24: [1], 25: [1], 26: [1, 2], 30: [3, 4]}
STACK_ARGS = {7: [3], 9: [2], 27: [0]}
# Arguments that are task ids, written as zigzag deltas (format version 2 on).
TASK_ARGS = {7: [0], 8: [0], 9: [0], 10: [0], 11: [0], 27: [1], 30: [0]}
PARENT_ARGS = {7: [1], 30: [2]}
USER_ARGS = {24: [0], 25: [0], 26: [0]}
M64 = (1 << 64) - 1


def fail(msg):
    print("trace_check: " + msg, file=sys.stderr)
    sys.exit(1)


def uv(b, i):
    v = shift = 0
    for _ in range(10):
        if i >= len(b):
            fail("varint runs past its record")
        c = b[i]
        i += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, i
    fail("varint longer than 10 bytes")


def main(path):
    d = open(path, "rb").read()
    if len(d) < 40 or d[:8] != b"CDTRACE\0":
        fail("bad magic")
    version, hsize, flags, hz, start, wall = struct.unpack("<HHIQQQ", d[8:40])
    if version != 3 or hsize < 40:
        fail("version %d, header size %d" % (version, hsize))
    strings, stacks = {0: ""}, {0: []}
    symbols = set()
    unchecked_stacks = set()  # used by events since the last FRONTIER
    ev = collections.Counter()
    names = collections.Counter()
    regions = collections.Counter()
    logs = collections.Counter()
    messages = []
    last = {}
    gc_open = {}  # thread -> number of the collection it runs
    first_ts = None
    prev = {}  # thread -> (type, ts) of its previous event
    end_start = 0
    frontier = 0
    lost = 0
    end = False
    truncated = False
    i = hsize
    while i < len(d):
        if end:
            fail("record after END")
        kind = d[i]
        n, j = uv(d, i + 1)
        if j + n + 4 > len(d):
            truncated = True
            break
        p = d[j:j + n]
        if zlib.crc32(p) != struct.unpack("<I", d[j + n:j + n + 4])[0]:
            fail("CRC mismatch in record at offset %d" % i)
        i = j + n + 4
        q = 0
        if kind == 2:
            while q < len(p):
                sid, q = uv(p, q)
                ln, q = uv(p, q)
                strings[sid] = p[q:q + ln].decode("utf-8", "replace")
                q += ln
        elif kind == 3:
            while q < len(p):
                sid, q = uv(p, q)
                nf, q = uv(p, q)
                pcs = []
                for _ in range(nf):
                    pc, q = uv(p, q)
                    pcs.append(pc)
                stacks[sid] = pcs
        elif kind == 4:
            while q < len(p):
                pc, q = uv(p, q)
                fs, q = uv(p, q)
                fl, q = uv(p, q)
                _, q = uv(p, q)
                if fs not in strings or fl not in strings:
                    fail("SYMBOLS of pc %#x uses a string before it is defined" % pc)
                symbols.add(pc)
        elif kind == 1:
            th, q = uv(p, q)
            ts, q = uv(p, q)
            task, q = uv(p, q)
            parent, q = uv(p, q)
            user, q = uv(p, q)
            while q < len(p):
                t = p[q]
                q += 1
                same = t & 0x80  # argument 0 left out: the previous task id
                t &= 0x7F
                if t >= len(NARGS) or NARGS[t] is None:
                    fail("unknown event type %d" % t)
                dt, q = uv(p, q)
                ts += dt
                args = []
                if same and TASK_ARGS.get(t, [None])[0] != 0 and t not in USER_ARGS:
                    fail("same-task flag on %s" % NAMES[t])
                for k in range(NARGS[t]):
                    if same and k == 0:
                        args.append(user if t in USER_ARGS else task)
                        continue
                    a, q = uv(p, q)
                    if k in TASK_ARGS.get(t, ()):
                        a = (task + ((a >> 1) ^ (M64 if a & 1 else 0))) & M64
                        task = a
                    elif k in PARENT_ARGS.get(t, ()):
                        a = (parent + ((a >> 1) ^ (M64 if a & 1 else 0))) & M64
                        parent = a
                    elif k in USER_ARGS.get(t, ()):
                        a = (user + ((a >> 1) ^ (M64 if a & 1 else 0))) & M64
                        user = a
                    args.append(a)
                for k in STRING_ARGS.get(t, []):
                    if args[k] not in strings:
                        fail("%s uses string %d before it is defined" % (NAMES[t], args[k]))
                for k in STACK_ARGS.get(t, []):
                    if args[k] not in stacks:
                        fail("%s uses stack %d before it is defined" % (NAMES[t], args[k]))
                    unchecked_stacks.add(args[k])
                if th in last and ts < last[th]:
                    fail("time goes backwards on thread %d" % th)
                if t == 8 and prev.get(th) == (11, ts):
                    end_start += 1  # a task's end and the next start, one clock read
                prev[th] = (t, ts)
                last[th] = ts
                if ts < frontier and t < 28:
                    fail("%s at %d is older than the frontier %d" % (NAMES[t], ts, frontier))
                ev[NAMES[t]] += 1
                if first_ts is None or ts < first_ts:
                    first_ts = ts
                if ts < start:
                    fail("%s at %d is older than the trace start %d" % (NAMES[t], ts, start))
                if 12 <= t <= 20:
                    # every phase of one collection carries its number
                    if t == 12:
                        gc_open[th] = args[0]
                    elif th in gc_open and args[0] != gc_open[th]:
                        fail("%s of collection %d inside collection %d"
                             % (NAMES[t], args[0], gc_open[th]))
                    if t == 20:
                        gc_open.pop(th, None)
                if t == 7:
                    names[strings[args[2]]] += 1
                elif t == 24:
                    regions[strings[args[1]]] += 1
                elif t == 26:
                    logs[strings[args[1]]] += 1
                    if len(messages) < 10000:
                        messages.append(strings[args[2]])
        elif kind == 5:
            frontier, _ = uv(p, 0)
            for sid in unchecked_stacks:
                if not set(stacks[sid]) <= symbols:
                    fail("stack %d reaches a FRONTIER with pcs that have no SYMBOLS" % sid)
            unchecked_stacks.clear()
        elif kind == 6:
            _, q = uv(p, 0)
            c, q = uv(p, q)
            lost += c
        elif kind == 7:
            end = True
    # Every pc of every stack gets a symbol before the END (the writer may
    # write it after the events that use the stack, never after END).
    unsymbolized = len({pc for pcs in stacks.values() for pc in pcs} - symbols)
    print(json.dumps({"events": dict(ev), "unsymbolized_pcs": unsymbolized, "task_names": dict(names), "regions": dict(regions),
                      "logs": dict(logs), "lost": lost, "end_start_pairs": end_start, "end": end, "truncated": truncated,
                      "tick_hz": hz, "threads": len(last), "flags": flags,
                      "log_messages": messages,
                      "span_ns": 0 if first_ts is None else
                      (max(last.values()) - start) * 10**9 // hz,
                      "first_ns": 0 if first_ts is None else (first_ts - start) * 10**9 // hz},
                     sort_keys=True))


if __name__ == "__main__":
    if len(sys.argv) != 2:
        fail("usage: trace_check.py FILE")
    main(sys.argv[1])

#!/usr/bin/env python3
"""tests/integration/export_check.py - checks a `cdebug-trace export` output
(Chrome Trace Event JSON) against the trace it came from.

    export_check.py JSON --dump DUMP [--stats STATS_JSON] [--log TEXT]...
                   [--allow-loss] [--structure-only]

JSON is the export, DUMP the output of `cdebug-trace dump` on the same trace
(it reads the events with the reader only, independently of the model the
export is built on), STATS_JSON the output of `cdebug-trace stats --json`.
--log TEXT: a log message that must appear (as written by the program).
--allow-loss: for a real trace that lost events, the counts are not compared.
--structure-only: the counts are not compared (a trace of incoherent events).

Checks (each failure is one line on stderr, exit 1):
  - valid JSON in the Object Format: traceEvents, displayTimeUnit "ns";
  - every event has the fields of its phase; ts in microseconds;
  - per track (pid, tid): B/E balanced and properly nested, E never before
    its B, ts never decreasing; b/e per (cat, id) balanced and in order;
  - slice counts equal the dump's event counts: a worker slice per
    TASK_START and TASK_UNBLOCK, a thread slice per task started (and per
    task a snapshot lists as running or blocked on a thread, with a worker
    slice too when that thread holds a worker), a blocked
    slice per TASK_BLOCK, regions, spinning, GC collections and pauses,
    user tasks, heap counter samples, logs with their text, lost events;
  - flow arrows: one "s" per TASK_CREATE on the creating thread's track,
    inside a zero-length "create" slice, and one "f" (bp "e") per task
    created and started, each after its "s" and inside the task's slice;
  - metadata names every process and track used;
  - with --stats: the same counts as `stats --json` (tasks, GC, events).
Prints one summary line on success. Python 3 standard library only.
"""
import argparse
import collections
import json
import re
import sys

errors = []


def fail(msg):
    errors.append(msg)


def check(cond, msg):
    if not cond:
        fail(msg)
    return cond


# ---- the dump, parsed -----------------------------------------------------

DUMP_LINE = re.compile(r'^(-?\d+\.\d+)ms M(\d+) (\w+)(.*)$')
ARG = re.compile(r' (\w+)=("(?:[^"\\]|\\.)*"|\d+)')


def unquote_dump(q):
    """dump's quoted string (\\" \\\\ \\n \\r \\t \\xNN, UTF-8 as is) to bytes."""
    body = q[1:-1]
    out = bytearray()
    i = 0
    raw = body.encode('utf-8')
    while i < len(raw):
        c = raw[i]
        if c == 0x5c:  # backslash
            n = raw[i + 1]
            if n == ord('x'):
                out.append(int(raw[i + 2:i + 4], 16))
                i += 4
                continue
            out.append({ord('n'): 10, ord('r'): 13, ord('t'): 9}.get(n, n))
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


def decode_like_export(b):
    """Bytes to text as the export does: valid UTF-8 kept, each byte of an
    invalid sequence replaced by U+FFFD."""
    out = []
    i = 0
    while i < len(b):
        c = b[i]
        n = 1 if c < 0x80 else 2 if 0xc2 <= c <= 0xdf else 3 if 0xe0 <= c <= 0xef \
            else 4 if 0xf0 <= c <= 0xf4 else 0
        if n:
            try:
                out.append(b[i:i + n].decode('utf-8'))
                i += n
                continue
            except UnicodeDecodeError:
                pass
        out.append('\ufffd')
        i += 1
    return ''.join(out)


def parse_dump(path):
    d = {'count': collections.Counter(), 'create_thread': {}, 'started': set(),
         'snap_on_thread': 0, 'snap_on_worker': 0, 'snap_worker': {}, 'snap_queued': set(),
         'logs': collections.Counter(), 'lost_events': 0, 'threads': set(),
         'heap': 0, 'events': None}
    with open(path, encoding='utf-8', errors='surrogateescape') as f:
        for line in f:
            line = line.rstrip('\n')
            m = re.match(r'^# (\d+) events, (\d+) lost events', line)
            if m:
                d['events'] = int(m.group(1))
                continue
            m = DUMP_LINE.match(line)
            if not m:
                continue
            thread, name, rest = int(m.group(2)), m.group(3), m.group(4)
            args = {k: v for k, v in ARG.findall(rest)}
            d['count'][name] += 1
            if name != 'LOST':
                d['threads'].add(thread)
            if name == 'TASK_CREATE':
                d['create_thread'][int(args['task'])] = thread
            elif name == 'TASK_START':
                d['started'].add(int(args['task']))
            elif name == 'STATE_THREAD':
                d['snap_worker'][int(args['thread'])] = int(args['worker'])
            elif name == 'STATE_TASK' and (args['state'] not in ('2', '4') or args['thread'] == '0'):
                d['snap_queued'].add(int(args['task']))
            elif name == 'STATE_TASK':
                # running or blocked on a thread: the viewer opens its slice
                d['snap_on_thread'] += 1
                if d['snap_worker'].get(int(args['thread']) - 1, 0):
                    d['snap_on_worker'] += 1
            elif name == 'LOG':
                cat = decode_like_export(unquote_dump(args['category']))
                msg = decode_like_export(unquote_dump(args['message']))
                d['logs'][(cat, msg)] += 1
            elif name == 'LOST':
                d['lost_events'] += int(args['events'])
    return d


# ---- the export, checked --------------------------------------------------

PIDS = {1: 'Workers', 2: 'Threads', 3: 'GC', 4: 'User tasks'}
NEEDS = {'B': ('name', 'cat', 'ts', 'tid'), 'E': ('ts', 'tid'),
         'i': ('name', 'ts', 's', 'tid'), 'C': ('name', 'ts', 'args'),
         'b': ('name', 'cat', 'id', 'ts'), 'e': ('cat', 'id', 'ts'),
         's': ('id', 'ts', 'tid'), 'f': ('id', 'ts', 'tid', 'bp'), 'M': ('name', 'args')}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('json')
    ap.add_argument('--dump', required=True)
    ap.add_argument('--stats')
    ap.add_argument('--log', action='append', default=[])
    ap.add_argument('--allow-loss', action='store_true',
                    help='if the trace lost events, skip the counts a loss can change')
    ap.add_argument('--structure-only', action='store_true',
                    help='skip the counts (a trace of incoherent events)')
    a = ap.parse_args()

    try:
        with open(a.json, encoding='utf-8') as f:
            doc = json.load(f)
    except (ValueError, UnicodeDecodeError) as e:
        print(f'FAIL: {a.json}: not valid JSON: {e}', file=sys.stderr)
        return 1
    dump = parse_dump(a.dump)
    cnt = dump['count']

    check(isinstance(doc, dict) and isinstance(doc.get('traceEvents'), list),
          'not the JSON Object Format (no traceEvents array)')
    check(doc.get('displayTimeUnit') == 'ns', 'displayTimeUnit is not "ns"')
    evs = doc['traceEvents']

    open_ = collections.defaultdict(list)       # (pid, tid) -> stack of B events
    last_ts = {}                                # (pid, tid) -> last ts
    async_open = {}                             # (cat, id) -> b event
    slices = collections.Counter()              # (pid, cat) -> B count
    named = collections.Counter()               # (pid, cat, name) -> B count
    unfinished = collections.Counter()          # (pid, cat) -> E with unfinished
    flows_s, flows_f = {}, {}
    tracks_used, procs_named, tracks_named = set(), set(), set()
    logs = collections.Counter()
    counters = 0
    lost_instants, lost_sum = 0, 0
    user_b = 0
    create_ok = True

    for k, e in enumerate(evs):
        ph = e.get('ph')
        if not check(ph in NEEDS, f'event {k}: unknown phase {ph!r}'):
            continue
        missing = [f for f in NEEDS[ph] + ('pid',) if f not in e]
        if not check(not missing, f'event {k} ({ph}): missing {missing}'):
            continue
        pid = e['pid']
        if ph == 'M':
            if e['name'] == 'process_name':
                procs_named.add(pid)
                check(e['args'].get('name') == PIDS.get(pid),
                      f'process {pid} named {e["args"].get("name")!r}')
            elif e['name'] == 'thread_name':
                tracks_named.add((pid, e['tid']))
                check(isinstance(e['args'].get('name'), str) and e['args']['name'],
                      f'event {k}: empty thread name')
            continue
        ts = e['ts']
        if not check(isinstance(ts, (int, float)), f'event {k}: ts not a number'):
            continue
        track = (pid, e.get('tid', 0))
        tracks_used.add(track)
        if ph in ('b', 'e'):
            key = (e['cat'], e['id'])
            if ph == 'b':
                check(key not in async_open, f'event {k}: async {key} begun twice')
                async_open[key] = e
                user_b += 1
            else:
                b = async_open.pop(key, None)
                if check(b is not None, f'event {k}: async end {key} without begin'):
                    check(ts >= b['ts'], f'event {k}: async end {key} before its begin')
            continue
        prev = last_ts.get(track)
        check(prev is None or ts >= prev,
              f'event {k} ({ph}) on track {track}: ts {ts} before the previous {prev}')
        last_ts[track] = ts
        if ph == 'B':
            open_[track].append(e)
            slices[(pid, e['cat'])] += 1
            named[(pid, e['cat'], e['name'])] += 1
        elif ph == 'E':
            st = open_[track]
            if check(st, f'event {k}: E on track {track} with no open slice'):
                b = st.pop()
                check(ts >= b['ts'], f'event {k}: E at {ts} before its B at {b["ts"]}')
                if b['cat'] == 'create':
                    create_ok &= ts == b['ts'] and pid == 2
                if e.get('args', {}).get('unfinished'):
                    unfinished[(pid, b['cat'])] += 1
        elif ph == 'C':
            counters += 1
            check(e['name'] == 'heap' and pid == 3 and
                  set(e['args']) == {'in_use', 'goal'}, f'event {k}: counter {e}')
        elif ph == 'i':
            if e['s'] == 'g':
                lost_instants += 1
                lost_sum += e['args']['events']
            else:
                check(e['s'] == 't' and e.get('cat') == 'log', f'event {k}: instant {e}')
                logs[(e['args']['category'], e['args']['message'])] += 1
                want = (e['args']['category'] + ': ' if e['args']['category'] else '') + \
                    e['args']['message']
                check(e['name'] == want, f'event {k}: log name {e["name"]!r}, want {want!r}')
        elif ph == 's':
            check(e['id'] not in flows_s, f'event {k}: flow {e["id"]} started twice')
            flows_s[e['id']] = e
            want = dump['create_thread'].get(e['id'])
            check(pid == 2 and e['tid'] == want,
                  f'event {k}: flow {e["id"]} starts on {track}, the creator is M{want}')
            st = open_[track]
            check(st and st[-1]['cat'] == 'create' and st[-1]['args']['task'] == e['id'],
                  f'event {k}: flow start {e["id"]} not inside its create slice')
        elif ph == 'f':
            s = flows_s.get(e['id'])
            check(e['bp'] == 'e', f'event {k}: flow end without "bp":"e"')
            if check(s is not None, f'event {k}: flow end {e["id"]} before (or without) its start'):
                check(ts >= s['ts'], f'event {k}: flow {e["id"]} ends before it starts')
            check(e['id'] not in flows_f, f'event {k}: flow {e["id"]} ended twice')
            flows_f[e['id']] = e
            st = open_[track]
            check(st and st[-1]['cat'] == 'task' and st[-1]['args']['task'] == e['id'],
                  f'event {k}: flow end {e["id"]} not inside the task slice it starts')

    for track, st in open_.items():
        check(not st, f'track {track}: {len(st)} slices never closed')
    check(not async_open, f'{len(async_open)} async slices never closed')
    check(create_ok, 'a "create" slice is not zero-length on a thread track')

    # ---- counts against the dump
    # A real trace that lost events (the recorder dropped batches) may miss
    # a WORKER_ACQUIRE or a TASK_START: the model then makes fewer slices
    # than the dump's counts. The structure checks above still apply.
    lossy = a.structure_only or (a.allow_loss and dump['lost_events'] > 0)
    if lossy and not a.structure_only:
        print(f'export_check: {dump["lost_events"]} events lost: slice counts not compared',
              file=sys.stderr)

    def same(what, got, want):
        check(lossy or got == want, f'{what}: {got} in the export, {want} expected')

    same('worker task slices (TASK_START + TASK_UNBLOCK + snapshot)', slices[(1, 'task')],
         cnt['TASK_START'] + cnt['TASK_UNBLOCK'] + dump['snap_on_worker'])
    same('thread task slices (tasks started + snapshot)', slices[(2, 'task')],
         len(dump['started']) + dump['snap_on_thread'])
    same('blocked slices (TASK_BLOCK)', slices[(2, 'blocked')], cnt['TASK_BLOCK'])
    same('region slices (REGION_BEGIN)', slices[(2, 'region')], cnt['REGION_BEGIN'])
    same('spinning slices (SPIN_BEGIN)', slices[(2, 'spin')], cnt['SPIN_BEGIN'])
    gcs = sum(n for (p, c, nm), n in named.items() if p == 3 and nm.startswith('GC'))
    same('GC slices (GC_BEGIN)', gcs, cnt['GC_BEGIN'])
    same('stop-the-world slices (GC_STW_BEGIN)', named[(3, 'gc', 'stop the world')],
         cnt['GC_STW_BEGIN'])
    same('mark slices (GC_MARK_BEGIN)', named[(3, 'gc', 'mark')], cnt['GC_MARK_BEGIN'])
    same('user task slices (USER_TASK_BEGIN)', user_b, cnt['USER_TASK_BEGIN'])
    same('heap counter samples (HEAP)', counters, cnt['HEAP'])
    same('log instants (LOG)', sum(logs.values()), cnt['LOG'])
    check(lossy or logs == dump['logs'], 'log texts differ from the dump: ' +
          str(list((logs - dump['logs']).items())[:3]) + ' vs ' +
          str(list((dump['logs'] - logs).items())[:3]))
    for text in a.log:
        check(lossy or any(text == m for (_, m) in logs), f'log message {text!r} missing')
    same('lost-event instants (LOST records)', lost_instants, cnt['LOST'])
    same('lost events', lost_sum, dump['lost_events'])
    same('create slices (TASK_CREATE)', slices[(2, 'create')], cnt['TASK_CREATE'])
    same('flow starts (TASK_CREATE)', len(flows_s), cnt['TASK_CREATE'])
    started_created = dump['started'] & set(dump['create_thread'])
    same('flow ends (tasks created and started)', len(flows_f), len(started_created))
    check(lossy or set(flows_f) == started_created, 'flow ends are not the tasks created and started')

    # ---- metadata
    for pid in {p for p, _ in tracks_used}:
        check(pid in procs_named, f'process {pid} has no process_name')
    for track in tracks_used:
        if track[0] in (1, 2, 3):
            check(track in tracks_named, f'track {track} has no thread_name')
    for t in dump['threads']:
        check((2, t) in tracks_named, f'thread M{t} has no track name')

    # ---- counts against stats --json
    other = doc.get('otherData', {})
    same('otherData.events', other.get('events'), dump['events'])
    if a.stats:
        with open(a.stats, encoding='utf-8') as f:
            st = json.load(f)
        ended = sum(t['count'] for t in st['tasks'])
        unended = sum(t['unended'] for t in st['tasks'])
        # stats counts ended tasks (count) and live ones (unended, started or
        # not); the export has a thread slice per task started, closed
        # "unfinished" at the trace end when it had not returned.
        same('stats: tasks ended', slices[(2, 'task')] - unfinished[(2, 'task')], ended)
        never_started = len((set(dump['create_thread']) | dump['snap_queued']) - dump['started'])
        same('stats: tasks ended + unended', slices[(2, 'task')] + never_started,
             ended + unended)
        same('stats: trace.tasks_created', len(flows_s), st['trace']['tasks_created'])
        same('stats: gc.count', gcs, st['gc']['count'])
        same('stats: trace.events', other.get('events'), st['trace']['events'])
        same('stats: trace.lost_events', lost_sum, st['trace']['lost_events'])
        same('stats: trace.workers', other.get('workers'), st['trace']['workers'])
        same('stats: user task slices', user_b,
             sum(u['latency_ns']['count'] + u.get('unfinished', 0) for u in st['user_tasks']))

    if errors:
        for m in errors[:20]:
            print(f'FAIL: {m}', file=sys.stderr)
        if len(errors) > 20:
            print(f'FAIL: ... and {len(errors) - 20} more', file=sys.stderr)
        return 1
    print(f'export_check: ok: {len(evs)} events; slices: workers {slices[(1, "task")]}, '
          f'tasks {slices[(2, "task")]}, blocked {slices[(2, "blocked")]}, regions '
          f'{slices[(2, "region")]}, GC {gcs}; flows {len(flows_f)}/{len(flows_s)}; '
          f'heap {counters}; logs {sum(logs.values())}; user tasks {user_b}; lost {lost_sum}')
    return 0


if __name__ == '__main__':
    sys.exit(main())

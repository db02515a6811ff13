#!/usr/bin/env python3
"""Reads examples/freq's traces and documents independently, for test_freq.sh.

    freq_trace.py DUMP-FILE   summary of a `cdebug-trace dump` of a freq run,
                              one JSON object on stdout
    freq_trace.py DUMP-FILE CHECKS
                              the summary's fields checked against the lines
                              of the file CHECKS ('-': stdin), each
                              "message | python expression over s"; exit 1
                              at the first false one, with the summary
    freq_trace.py --count DIR TOPIC
                              the number of items of DIR/*.xml (regular
                              files) whose title or description has TOPIC
                              as a word, computed with xml.etree (an
                              independent parser); exit 1 if a document
                              does not parse
    freq_trace.py --malformed FILE...
                              exit 0 if xml.etree rejects every FILE, else
                              name those it accepts and exit 1

The trace summary (times in ms since the trace start):
  status          the dump's last word: complete, truncated, ...
  lost            lost events reported by the summary line
  user_tasks      {type: count} of USER_TASK_BEGIN
  user_task_ends  how many of the begun user tasks ended
  freq_ids        ids of the "freq" user tasks
  chunk_parents   {parent id: count} of the "chunk" user tasks
  regions         {name: count} of REGION_BEGIN; region_ends likewise
  region_threads  {name: {thread: count}}
  region_owner_ok every region's user_task is a "chunk" id
  region_ms       {name: total time inside}
  max_parallel    {name: most threads inside a region of that name at once}
  max_outstanding most freq.* tasks created and not yet through their chunk
  task_names      {name: count} of TASK_CREATE
  logs            [[category, message, user_task], ...]
At equal timestamps ends are counted before begins, so overlaps are never
overstated.
"""
import collections
import json
import re
import sys

LINE = re.compile(r'^(\d+\.\d+)ms M(\d+) ([A-Z_]+)(.*)$')
ARG = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S+)')
SUMMARY = re.compile(r'^# \d+ events, (\d+) lost events .*, (\w+)$')


def unquote(v):
    """A dump value: a number, or a quoted string with \\" \\\\ \\n \\r \\t \\xNN escapes."""
    if not v.startswith('"'):
        return int(v)
    out, s, i = [], v[1:-1], 0
    while i < len(s):
        c = s[i]
        if c == '\\' and i + 1 < len(s):
            e = s[i + 1]
            if e == 'x':
                out.append(chr(int(s[i + 2:i + 4], 16)))
                i += 4
                continue
            out.append({'n': '\n', 'r': '\r', 't': '\t'}.get(e, e))
            i += 2
            continue
        out.append(c)
        i += 1
    return ''.join(out)


def read_dump(path):
    events, status, lost = [], None, None
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            line = line.rstrip('\n')
            m = LINE.match(line)
            if m:
                args = {k: unquote(v) for k, v in ARG.findall(m.group(4))}
                events.append((float(m.group(1)), int(m.group(2)), m.group(3), args))
                continue
            s = SUMMARY.match(line)
            if s:
                lost, status = int(s.group(1)), s.group(2)
    return events, status, lost


def summarise(path):
    events, status, lost = read_dump(path)
    user_tasks = collections.Counter()
    begun, ended = set(), set()
    types = {}
    chunk_parents = collections.Counter()
    regions, region_ends = collections.Counter(), collections.Counter()
    region_threads = collections.defaultdict(collections.Counter)
    region_ms = collections.Counter()
    task_names = collections.Counter()
    logs = []
    open_region = {}  # thread -> (name, begin ms, user_task)
    owners = []
    for ts, th, ev, a in events:
        if ev == 'USER_TASK_BEGIN':
            user_tasks[a['type']] += 1
            begun.add(a['id'])
            types[a['id']] = a['type']
            if a['type'] == 'chunk':
                chunk_parents[a['parent']] += 1
        elif ev == 'USER_TASK_END':
            ended.add(a['id'])
        elif ev == 'REGION_BEGIN':
            regions[a['name']] += 1
            region_threads[a['name']][th] += 1
            open_region[th] = (a['name'], ts)
            owners.append(a['user_task'])
        elif ev == 'REGION_END':
            region_ends[a['name']] += 1
            name, t0 = open_region.pop(th, (a['name'], ts))
            region_ms[name] += ts - t0
        elif ev == 'TASK_CREATE':
            task_names[a['name']] += 1
        elif ev == 'LOG':
            logs.append([a['category'], a['message'], a['user_task']])

    # Sweeps in time order, ends before begins at equal times.
    def sweep(points):
        cur = best = 0
        for _, delta in sorted(points):
            cur += delta
            best = max(best, cur)
        return best

    max_parallel = {}
    for name in regions:
        pts = []
        for ts, th, ev, a in events:
            if ev in ('REGION_BEGIN', 'REGION_END') and a['name'] == name:
                pts.append((ts, 1 if ev == 'REGION_BEGIN' else -1))
        max_parallel[name] = sweep(pts)
    # Outstanding tasks: from TASK_CREATE of a freq.* task (main) to the end
    # of the chunk that task runs (before it gives back a bounded slot).
    pts = []
    for ts, th, ev, a in events:
        if ev == 'TASK_CREATE' and a['name'].startswith('freq.'):
            pts.append((ts, 1))
        elif ev == 'USER_TASK_END' and types.get(a['id']) == 'chunk':
            pts.append((ts, -1))
    chunk_ids = {i for i, t in types.items() if t == 'chunk'}
    freq_ids = sorted(i for i, t in types.items() if t == 'freq')
    return {
        'status': status,
        'lost': lost,
        'events': len(events),
        'user_tasks': dict(user_tasks),
        'user_task_ends': len(begun & ended),
        'freq_ids': freq_ids,
        'chunk_parents': {str(k): v for k, v in chunk_parents.items()},
        'regions': dict(regions),
        'region_ends': dict(region_ends),
        'region_threads': {n: {str(t): c for t, c in d.items()} for n, d in region_threads.items()},
        'region_owner_ok': all(o in chunk_ids for o in owners),
        'region_ms': {n: round(v, 3) for n, v in region_ms.items()},
        'max_parallel': max_parallel,
        'max_outstanding': sweep(pts),
        'task_names': dict(task_names),
        'logs': logs,
    }


def count(directory, topic):
    import glob
    import os
    import xml.etree.ElementTree as ET

    # Like examples/freq: a whole word (no ASCII letter or digit on either
    # side), ASCII case ignored; an element's own text only (its text and
    # its children's tails), as Go's encoding/xml gives a string field.
    pat = re.compile(r'(?<![A-Za-z0-9])' + re.escape(topic) + r'(?![A-Za-z0-9])', re.I | re.A)

    def own_text(el):
        if el is None:
            return ''
        return (el.text or '') + ''.join(c.tail or '' for c in el)

    n = 0
    for path in sorted(glob.glob(os.path.join(directory, '*.xml'))):
        if not os.path.isfile(path):  # as freq: regular files only
            continue
        try:
            root = ET.parse(path).getroot()
        except ET.ParseError as e:
            print('freq_trace: %s: %s' % (path, e), file=sys.stderr)
            sys.exit(1)
        for channel in root.findall('channel'):
            for item in channel.findall('item'):
                if pat.search(own_text(item.find('title'))) or \
                        pat.search(own_text(item.find('description'))):
                    n += 1
    return n


def malformed(paths):
    import xml.etree.ElementTree as ET
    accepted = []
    for path in paths:
        try:
            ET.parse(path)
            accepted.append(path)
        except ET.ParseError:
            pass
    for path in accepted:
        print('freq_trace: %s parses' % path, file=sys.stderr)
    return 1 if accepted else 0


def check(dump, checks):
    s = summarise(dump)
    lines = sys.stdin if checks == '-' else open(checks)
    for line in lines:
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        message, expr = line.split(' | ', 1)
        if not eval(expr, {'s': s}):
            print('FAIL: %s: %s: %s\n  summary: %s' % (dump, message, expr, json.dumps(s)),
                  file=sys.stderr)
            return 1
    print('region ms %s, most parsing at once %d, most tasks outstanding %d'
          % (json.dumps(s['region_ms'], sort_keys=True), s['max_parallel'].get('parse', 0),
             s['max_outstanding']))
    return 0


if __name__ == '__main__':
    a = sys.argv[1:]
    if len(a) == 3 and a[0] == '--count':
        print(count(a[1], a[2]))
    elif len(a) >= 2 and a[0] == '--malformed':
        sys.exit(malformed(a[1:]))
    elif len(a) == 1 and not a[0].startswith('--'):
        print(json.dumps(summarise(a[0]), sort_keys=True))
    elif len(a) == 2 and not a[0].startswith('--'):
        sys.exit(check(a[0], a[1]))
    else:
        print('usage: freq_trace.py DUMP-FILE [CHECKS] | --count DIR TOPIC | --malformed FILE...',
              file=sys.stderr)
        sys.exit(2)

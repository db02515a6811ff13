#!/usr/bin/env python3
"""Checks a heap profile in Go's debug=1 text form (runtime/pprof's
writeHeapInternal, Go 1.19) and prints its records.

    heapprof_text.py FILE

Checks the shape of every line, the totals of the header against the
records, the order of the records (in-use bytes, descending), the tab
alignment text/tabwriter gives each stack, and the runtime.MemStats block
with its fields in Go's order. test_heapprof.sh runs it on cdebug's output
and on a real Go program's, so the checks are the real format's.

Prints one line per record: "INUSE_OBJS INUSE_BYTES ALLOC_OBJS ALLOC_BYTES
TOPFUNC" (TOPFUNC: the first frame's function, "?" when unnamed), after a
first line "rate R frames_per_pc exact|fewer" (R: the number after heap/;
exact when every stack has one frame line per pc). Exit status 1 and a message on
stderr when a check fails.
"""
import re
import sys

HEADER = re.compile(r"^heap profile: (\d+): (\d+) \[(\d+): (\d+)\] @ heap/(\d+)$")
RECORD = re.compile(r"^(\d+): (\d+) \[(\d+): (\d+)\] @((?: 0x[0-9a-f]+)*)$")
# A frame: "#\tPC\tFUNC+0xOFF\tFILE:LINE"; "#\tPC" alone (Go: a pc it cannot
# name); cdebug's "#\tPC\tFILE+0xADDR" for a pc in a file without symbols.
FRAME = re.compile(r"^#\t0x[0-9a-f]+(?:\t+([^\t]+)\+0x[0-9a-f]+\t+([^\t]*):(\d+)|\t+[^\t]+\+0x[0-9a-f]+)?$")
U = r"\d+"
MEMSTATS = [
    ("Alloc", U), ("TotalAlloc", U), ("Sys", U), ("Lookups", U), ("Mallocs", U),
    ("Frees", U), ("HeapAlloc", U), ("HeapSys", U), ("HeapIdle", U), ("HeapInuse", U),
    ("HeapReleased", U), ("HeapObjects", U), ("Stack", U + " / " + U),
    ("MSpan", U + " / " + U), ("MCache", U + " / " + U), ("BuckHashSys", U),
    ("GCSys", U), ("OtherSys", U), ("NextGC", U), ("LastGC", U),
    ("PauseNs", r"\[(?:\d+ ){255}\d+\]"), ("PauseEnd", r"\[(?:\d+ ){255}\d+\]"),
    ("NumGC", U), ("NumForcedGC", U),
    # Go's %v of a float64: shortest form, exponent when < 1e-4.
    ("GCCPUFraction", r"(?:0|1|0\.[0-9]+|[1-9](?:\.[0-9]+)?e-[0-9]{2,3})"),
    ("DebugGC", r"(?:true|false)"), ("MaxRSS", U),
]


def die(msg, lineno=None):
    where = f" (line {lineno + 1})" if lineno is not None else ""
    sys.stderr.write(f"heapprof_text: {msg}{where}\n")
    sys.exit(1)


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    if not text.endswith("\n"):
        die("does not end with a newline")
    lines = text[:-1].split("\n")
    m = HEADER.match(lines[0])
    if not m:
        die(f"bad header {lines[0]!r}", 0)
    head = [int(x) for x in m.groups()]
    rows, nframes = [], []
    i = 1
    while i < len(lines) and lines[i] != "":
        r = RECORD.match(lines[i])
        if not r:
            die(f"bad record line {lines[i]!r}", i)
        pcs = r.group(5).split()
        i += 1
        frames, top = [], None
        while i < len(lines) and lines[i].startswith("#\t"):
            f = FRAME.match(lines[i])
            if not f:
                die(f"bad frame line {lines[i]!r}", i)
            if top is None:
                top = f.group(1) or "?"
            frames.append(lines[i])
            i += 1
        # Go hides runtime.goexit (and leading runtime frames); cdebug
        # prints one line per pc (test_heapprof.sh checks that).
        if pcs and not frames:
            die(f"{len(pcs)} pcs but no frame line", i)
        nframes.append((len(pcs), len(frames)))
        if i >= len(lines) or lines[i] != "":
            die("a stack does not end with a blank line", i)
        i += 1
        # text/tabwriter: the file column starts at the same tab stop on
        # every named frame line of a run of them. An unnamed frame ("#\tPC",
        # fewer cells) ends the column's block, as in Go's own output: a
        # malloc called from code without frame pointers can leave one in
        # the middle of a stack.
        runs, cur = [], []
        for l in frames:
            if l.count("\t") >= 3:
                cur.append(l)
            elif cur:
                runs.append(cur)
                cur = []
        if cur:
            runs.append(cur)
        for run in runs:
            stops = {len(l.expandtabs(8)) - len(l.rsplit("\t", 1)[1]) for l in run}
            if len(stops) > 1:
                die(f"stack columns not aligned: {sorted(stops)}", i)
        vals = [int(x) for x in r.groups()[:4]]
        rows.append(vals + [top or "?"])
    # One blank line ended the last stack; the MemStats block follows one more.
    if i >= len(lines) or lines[i] != "":
        die("no blank line before the MemStats block", i)
    i += 1
    if lines[i:i + 1] != ["# runtime.MemStats"]:
        die("no '# runtime.MemStats' line", i)
    i += 1
    for name, pat in MEMSTATS:
        if i >= len(lines) or not re.fullmatch(rf"# {name} = {pat}", lines[i]):
            die(f"want '# {name} = ...', got {lines[i] if i < len(lines) else 'EOF'!r}", i)
        i += 1
    if i != len(lines):
        die(f"unexpected line {lines[i]!r}", i)
    tot = [sum(r[k] for r in rows) for k in range(4)]
    if tot != head[:4]:
        die(f"header totals {head[:4]} but records sum to {tot}")
    inuse = [r[1] for r in rows]
    if inuse != sorted(inuse, reverse=True):
        die("records not sorted by in-use bytes, descending")
    for r in rows:
        if r[0] > r[2] or r[1] > r[3]:
            die(f"more in use than allocated: {r}")
    one_per_pc = all(p == f for p, f in nframes)
    print(f"rate {head[4]} frames_per_pc {'exact' if one_per_pc else 'fewer'}")
    for r in rows:
        print(*r)


if __name__ == "__main__":
    main()

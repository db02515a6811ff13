#!/usr/bin/env bash
# tests/integration/test_top_dummy.sh - cdebug-top -dummy watching a real Go
# program's /debug/vars, with an unreachable port beside it, recording CSV.
#
#   - every round prints a timestamp line and one line per service;
#   - the Go program's counter grows from round to round, mem: values read
#     like expvarmon's (1.5KB, 12MB), duration: like Go's time.Duration,
#     a \.-escaped key, a str: var and a missing var (n/a) come out right;
#   - the unreachable port reads "127.0.0.1:PORT: failed: connection
#     refused" every round while the Go program keeps being polled;
#   - SIGINT ends it with status 0 and --csv holds a header and one row per
#     sample (checked with python3's csv module).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
# shellcheck source=go_expvar_server/lib.sh
source "$(dirname "$0")/go_expvar_server/lib.sh"
export PYTHONPATH="$(dirname "$0")${PYTHONPATH:+:$PYTHONPATH}" # top_dummy.py

top_bin >/dev/null # fails now when cdebug-top is not built
go_peer_build
go_peer_start addr -timeout 30s -churn 64 -tick 20ms
dead=$(free_port)

vars='requests,mem:memstats.Alloc,duration:latency_ns,nested.dotted\.key,str:version,missing,ratio,duration:memstats.PauseTotalNs'
top_dummy "$tmp/out" "$tmp/err" -ports="$addr,127.0.0.1:$dead" -vars="$vars" --csv "$tmp/run.csv"
show_run() {
    echo "---- stdout ----" >&2
    cat "$tmp/out" >&2
    echo "---- stderr ----" >&2
    cat "$tmp/err" >&2
}
[[ ! -s $tmp/err ]] || { show_run; fail "unexpected stderr"; }

python3 - "$tmp/out" "$tmp/run.csv" "$addr" "127.0.0.1:$dead" <<'PY' || { show_run; exit 1; }
import csv, datetime, re, sys
from top_dummy import fail, fields, rounds

out, csvpath, good, dead = sys.argv[1:5]
rounds = rounds(out)
if len(rounds) < 4:
    fail("only %d rounds in 2 s at -i 250ms" % len(rounds))

want = {
    "memstats.Alloc": r"\d+(\.\d)?(B|KB|MB|GB)",
    "latency_ns": r"(2ms|3ms)",          # 1.5ms..2.5ms rounded as expvarmon does
    "nested.dotted\\.key": r"42",
    "version": r"go-peer 1\.0",
    "missing": r"n/a",
    "ratio": r"0|0\.\d0",            # Go renders the Float 0 as "0"
    "memstats.PauseTotalNs": r"(0s|\d+(\.\d+)?(ns|µs|ms|s))",
}
requests = []
for i, r in enumerate(rounds):
    if len(r) != 2:
        fail("round %d has %d service lines: %r" % (i, len(r), r))
    if r[1] != "%s: failed: connection refused" % dead:
        fail("unreachable service line: %r" % r[1])
    f = fields(r[0], good)
    for name, rx in want.items():
        if not re.fullmatch(rx, f.get(name, "")):
            fail("round %d: %s = %r, want /%s/" % (i, name, f.get(name), rx))
    requests.append(int(f["requests"]))
if any(b <= a for a, b in zip(requests, requests[1:])):
    fail("requests does not grow: %r" % requests)

# CSV: header, then timestamp,service,var,value rows.
rows = list(csv.reader(open(csvpath, newline="", encoding="utf-8")))
if rows[0] != ["timestamp", "service", "var", "value"]:
    fail("csv header %r" % rows[0])
data = rows[1:]
for row in data:
    if len(row) != 4:
        fail("csv row %r" % row)
    ts = datetime.datetime.strptime(row[0], "%Y-%m-%dT%H:%M:%S.%fZ")
    if abs((datetime.datetime.utcnow() - ts).total_seconds()) > 120:
        fail("csv timestamp %r is not now (UTC)" % row[0])
good_rows = [r for r in data if r[1] == good]
dead_rows = [r for r in data if r[1] == dead]
nvars = len(want) + 1
if len(good_rows) < len(rounds) * nvars:
    fail("%d csv rows for %s, want >= %d" % (len(good_rows), good, len(rounds) * nvars))
if any(r[2:] != ["(status)", "failed: connection refused"] for r in dead_rows) or \
        len(dead_rows) < len(rounds):
    fail("csv rows for the dead service: %r" % dead_rows[:3])
reqs = [int(r[3]) for r in good_rows if r[2] == "requests"]
if reqs[: len(requests)] != requests:
    fail("csv requests %r differ from the printed %r" % (reqs, requests))
for r in good_rows:
    if r[2] == "memstats.Alloc" and not re.fullmatch(r"\d+", r[3]):
        fail("csv keeps raw bytes: %r" % r)
    if r[2] == "latency_ns" and not re.fullmatch(r"\d+", r[3]):
        fail("csv keeps raw nanoseconds: %r" % r)
    if r[2] == "missing" and r[3] != "":
        fail("csv n/a is an empty value: %r" % r)
    if r[2] == "nested.dotted\\.key" and r[3] != "42":
        fail("csv escaped key: %r" % r)
print("ok: %d rounds, requests %s, %d csv rows" % (len(rounds), requests, len(data)))
PY

#!/usr/bin/env bash
# cdebug-trace export --format=chrome: the JSON of real runtime traces
# (prog_trace, examples/freq) and synthetic ones (prog_trace_gen: sample,
# hostile strings, a scheduler workload) is parsed and checked by
# export_check.py against `cdebug-trace dump` (the reader alone, independent
# of the model the export is built on) and `cdebug-trace stats --json`; then
# the exit status, messages and output for bad input and bad usage.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
gen="$build/tests/prog_trace_gen"
tool="$build/viewer/cdebug-trace"
check="$src/tests/integration/export_check.py"

valid_json() { # FILE: parses as JSON
  python3 -c 'import json, sys; json.load(open(sys.argv[1], encoding="utf-8"))' "$1" \
    || fail "$1 is not valid JSON"
}

# verify NAME TRACE [export_check args]: export, dump and stats of TRACE,
# then the checker; the JSON stays in $tmp/NAME.json.
verify() {
  local name=$1 trace=$2; shift 2
  run 0 "$tool" dump "$trace"
  mv "$tmp/out" "$tmp/$name.dump"
  run 0 "$tool" stats --json "$trace"
  mv "$tmp/out" "$tmp/$name.stats.json"
  run 0 "$tool" export --format=chrome "$trace"
  [[ ! -s $tmp/err ]] || fail "$name: stderr not empty: $(cat "$tmp/err")"
  mv "$tmp/out" "$tmp/$name.json"
  python3 "$check" "$tmp/$name.json" --dump "$tmp/$name.dump" --stats "$tmp/$name.stats.json" \
    "$@" || fail "$name: export_check"
}

# expect JSON < PYTHON: runs assertions over the export's event list `ev`;
# want(label, got, expected) fails the test with the label on a mismatch.
# B(**kv) lists the B events whose fields equal kv.
expect() {
  python3 -c '
import json, sys
ev = json.load(open(sys.argv[1], encoding="utf-8"))["traceEvents"]
bad = []
def want(label, got, expected):
    if got != expected:
        bad.append(f"{label}: got {got!r}, want {expected!r}")
def B(**kv):
    return [e for e in ev if e["ph"] == "B" and all(e.get(k) == v for k, v in kv.items())]
exec(sys.stdin.read())
for b in bad:
    print("FAIL: " + b, file=sys.stderr)
sys.exit(1 if bad else 0)' "$1" || fail "$1: assertions above"
}

# ---- a real trace of known structure: prog_trace (1000 tasks in 10 groups,
# 20 blocking calls, 3 forced GCs, 5 regions, 2 user tasks, 4 logs)
(cd "$tmp" && timeout 60 "$build/tests/prog_trace" "$tmp/prog.trace" >/dev/null) \
  || fail "prog_trace did not run"
verify prog "$tmp/prog.trace" --allow-loss --log spawning --log "collection 0 done" --log "collection 2 done"
j=$tmp/prog.json
expect "$j" <<'EOF'
want("task slices on the thread tracks", len(B(pid=2, cat="task")), 1000)
want("group3 task slices", len(B(pid=2, cat="task", name="group3")), 100)
want("IO wait blocked slices", len(B(cat="blocked", name="IO wait")), 20)
want("forced GC slices", len(B(name="GC (forced)")), 3)
want("regions, in order", [e["name"] for e in B(cat="region")], ["spawn", "wait", "gc", "gc", "gc"])
want("user tasks", sorted(e["name"] for e in ev if e["ph"] == "b"), ["collect", "request"])
want("flow arrows", sum(1 for e in ev if e["ph"] == "s"), 1000)
want("process names", sorted(e["args"]["name"] for e in ev if e["ph"] == "M" and e["name"] == "process_name"),
     ["GC", "Threads", "User tasks", "Workers"])
want("main thread track", [e["tid"] for e in ev if e["ph"] == "M" and e["args"].get("name") == "M1 (main)"], [1])
EOF

# the same trace from standard input, and with -o: the same events
run 0 "$tool" export - <"$tmp/prog.trace"
head -n -1 "$tmp/out" | cmp -s - <(head -n -1 "$j") || fail "export - differs from export FILE"
run 0 "$tool" export -o "$tmp/prog.o.json" "$tmp/prog.trace"
[[ ! -s $tmp/out ]] || fail "-o: something written to stdout"
cmp -s "$tmp/prog.o.json" "$j" || fail "-o FILE differs from stdout"
touch "$tmp/plain"
[[ $(stat -c %a "$tmp/prog.o.json") == $(stat -c %a "$tmp/plain") ]] ||
  fail "-o: mode $(stat -c %a "$tmp/prog.o.json"), a new file gets $(stat -c %a "$tmp/plain")"
run 0 "$tool" export --output="$tmp/prog.o2.json" "$tmp/prog.trace"
cmp -s "$tmp/prog.o2.json" "$j" || fail "--output= differs"
run 0 "$tool" export -o /dev/null "$tmp/prog.trace"
[[ -c /dev/null ]] || fail "-o /dev/null replaced the device"

# ---- examples/freq with CDEBUG=trace (regions load/parse/search per document)
if [[ -x $build/examples/freq ]]; then
  CDEBUG="trace=$tmp/freq.trace" CDMAXPROCS=2 timeout 120 "$build/examples/freq" --mode=bounded \
    >/dev/null || fail "freq did not run"
  verify freq "$tmp/freq.trace" --allow-loss
  if grep -q '^# [0-9]* events, 0 lost events' "$tmp/freq.dump"; then
    expect "$tmp/freq.json" <<'EOF'
for r in ("load", "parse", "search"):
    want(r + " regions", len(B(cat="region", name=r)), 4000)
EOF
  fi
fi

# ---- a flight-recorder window: begins with the state snapshot (STATE_*)
# prog_flight prints "ticks N1 N2": N1 the last tick in the first window
if out=$(cd "$tmp" && timeout 60 "$build/tests/prog_flight" "$tmp/flight" 1200 1); then
  verify flight "$tmp/flight.1" --allow-loss --log "tick $(awk '{ print $2 }' <<<"$out")"
  grep -q '"name":"thread_name","args":{"name":"M1 (main)"}' "$tmp/flight.json" ||
    fail "flight: the snapshot's main thread is not named"
else
  fail "prog_flight did not run"
fi

# ---- synthetic traces
"$gen" sample "$tmp/sample.trace"
verify sample "$tmp/sample.trace" --log $'caf\u00e9\n\x01'
expect "$tmp/sample.json" <<'EOF'
want("lost events instant", [(e["s"], e["args"]["events"]) for e in ev if e["ph"] == "i" and e["cat"] == "lost"],
     [("g", 12)])
want("heap counter", [e["args"] for e in ev if e["ph"] == "C"], [{"in_use": 1048576, "goal": 4194304}])
want("GC nesting", [e["name"] for e in B(pid=3)][:3], ["GC (forced)", "stop the world", "stopping"])
want("task args", [e["args"] for e in B(pid=1)][0], {"task": 2, "parent": 1, "thread": 2})
EOF
# timestamps: microseconds with the nanosecond digits
grep -q '^{"ph":"B","pid":2,"tid":1,"ts":1.000,"name":"create fetch' "$tmp/sample.json" || fail "sample: ts format"

"$gen" hostile "$tmp/hostile.trace"
verify hostile "$tmp/hostile.trace" --log '}]},{"ph":"B"' --log $'ctl \x01\x02\x1f del \x7f tab\t nl\n cr\r'
grep -q '\\ufffd' "$tmp/hostile.json" || fail "hostile: invalid UTF-8 not replaced by U+FFFD"
grep -q '\\u2028' "$tmp/hostile.json" || fail "hostile: U+2028 not escaped"
LC_ALL=C grep -q $'[\x01-\x1f]' <(tr -d '\n' <"$tmp/hostile.json") && fail "hostile: raw control byte in the JSON"

# a snapshot that lists queued tasks created just after it: each task once
"$gen" racy "$tmp/racy.trace"
verify racy "$tmp/racy.trace"
python3 -c '
import json, sys
t = json.load(open(sys.argv[1]))["tasks"]
got = [(x["name"], x["count"], x["unended"]) for x in t]
sys.exit(0 if got == [("job", 2, 2)] else "racy: stats tasks %r, want [(job, 2 ended, 2 unended)]" % got)
' "$tmp/racy.stats.json" || fail "racy: task counts"

"$gen" sched "$tmp/sched.trace" 50000 6 >"$tmp/sched.txt"
verify sched "$tmp/sched.trace"
want=$(sed -n 's/.* task_starts=\([0-9]*\) .* task_unblocks=\([0-9]*\) .*/\1 \2/p' "$tmp/sched.txt")
expect "$tmp/sched.json" <<EOF
tasks = len(B(pid=2, cat="task"))
want("task slices / unblocks", "%d %d" % (tasks, len(B(pid=1)) - tasks), "$want")
want("worker tracks", len({e["tid"] for e in ev if e["ph"] == "M" and e["pid"] == 1 and e["name"] == "thread_name"}), 6)
EOF

# incoherent events (prog_trace_gen big: random task ids started, blocked,
# ended, created twice, spinning out of turn): the model repairs what it
# can; the export must still be well-formed JSON with nested slices
"$gen" big "$tmp/chaos.trace" 100000
run 0 "$tool" export "$tmp/chaos.trace"
[[ ! -s $tmp/err ]] || fail "chaos: stderr not empty: $(head -c 300 "$tmp/err")"
mv "$tmp/out" "$tmp/chaos.json"
"$tool" dump "$tmp/chaos.trace" >"$tmp/chaos.dump"
python3 "$check" "$tmp/chaos.json" --dump "$tmp/chaos.dump" --structure-only >/dev/null ||
  fail "chaos: export_check --structure-only"

# ---- the checker can fail: a dropped E, a step back in time, a lost flow
python3 - "$tmp/sample.json" "$tmp" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
ev = doc["traceEvents"]
def save(name, events):
    d = dict(doc, traceEvents=events)
    json.dump(d, open(f"{sys.argv[2]}/bad_{name}.json", "w"))
i = next(k for k, e in enumerate(ev) if e["ph"] == "E")
save("no_e", ev[:i] + ev[i + 1:])
j = max(k for k, e in enumerate(ev) if e["ph"] == "B" and e["pid"] == 3)
save("back", ev[:j] + [dict(ev[j], ts=0.5)] + ev[j + 1:])
save("no_flow", [e for e in ev if e["ph"] != "f"])
save("log_text", [dict(e, args=dict(e["args"], message="x")) if e.get("cat") == "log" else e for e in ev])
EOF
for b in no_e back no_flow log_text; do
  if python3 "$check" "$tmp/bad_$b.json" --dump "$tmp/sample.dump" 2>"$tmp/err"; then
    fail "export_check accepted a broken export ($b)"
  fi
  grep -q '^FAIL: ' "$tmp/err" || fail "export_check: no FAIL line for $b"
done

# ---- bad input: as dump does; truncated = what is there + a warning
"$gen" truncated "$tmp/trunc.trace"
run 0 "$tool" export "$tmp/trunc.trace"
one_line_err "warning: .*truncated after [0-9]* complete records"
valid_json "$tmp/out"
cp "$tmp/out" "$tmp/trunc.json"
"$tool" dump "$tmp/trunc.trace" >"$tmp/trunc.dump" 2>/dev/null
python3 "$check" "$tmp/trunc.json" --dump "$tmp/trunc.dump" >/dev/null || fail "truncated: export_check"
grep -q '"truncated":true' "$tmp/trunc.json" || fail "truncated: otherData.truncated"

"$gen" corrupt "$tmp/corrupt.trace"
run 1 "$tool" export "$tmp/corrupt.trace"
one_line_err "corrupted trace: record [0-9]* (EVENTS) at offset [0-9]*: CRC mismatch"
valid_json "$tmp/out"  # the events before the bad record, still a valid document
grep -q '"complete":false' "$tmp/out" || fail "corrupt: otherData.complete"
expect "$tmp/out" <<<'want("a slice before the error", len(B()) > 0, True)'
# -o: a failed export leaves FILE as it was and no temporary behind
echo keep >"$tmp/keep.json"
run 1 "$tool" export -o "$tmp/keep.json" "$tmp/corrupt.trace"
[[ $(cat "$tmp/keep.json") == keep ]] || fail "-o: failed export replaced the file"
[[ -z $(find "$tmp" -name 'keep.json.tmp.*') ]] || fail "-o: temporary file left behind"

run 1 "$tool" export "$tmp/missing.trace"
one_line_err "missing.trace: no such file or directory"
[[ ! -s $tmp/out ]] || fail "missing: output written"
run 1 "$tool" export -o "$tmp/never.json" "$tmp/missing.trace"
[[ ! -e $tmp/never.json ]] || fail "missing: -o FILE created"
: >"$tmp/empty.trace"
run 1 "$tool" export "$tmp/empty.trace"
one_line_err "empty or truncated before the end of the trace header"
printf 'hello, this is not a trace at all\n' >"$tmp/text.trace"
run 1 "$tool" export "$tmp/text.trace"
one_line_err "not a cdebug trace"
[[ ! -s $tmp/out ]] || fail "not a trace: output written"
run 1 "$tool" export -o "$tmp/no/such/dir/x.json" "$tmp/prog.trace"
one_line_err "cannot create .*no/such/dir/x.json"

# ---- usage: exit 2, usage on stderr
run 2 "$tool" export
grep -q 'missing TRACE' "$tmp/err" || fail "export without TRACE"
grep -q '^usage: cdebug-trace export' "$tmp/err" || fail "usage text"
run 2 "$tool" export --bogus "$tmp/prog.trace"
grep -q 'unknown flag --bogus' "$tmp/err" || fail "unknown flag message"
run 2 "$tool" export --format=xml "$tmp/prog.trace"
grep -q 'unknown format "xml"' "$tmp/err" || fail "unknown format message"
grep -q '^usage: cdebug-trace export' "$tmp/err" || fail "unknown format: usage"
run 2 "$tool" export --format=perfetto "$tmp/prog.trace"
one_line_err "not implemented"
[[ ! -s $tmp/out ]] || fail "perfetto: output written"
run 2 "$tool" export "$tmp/prog.trace" "$tmp/prog.trace"
run 2 "$tool" export "$tmp/prog.trace" -o
grep -q -- '-o needs a value' "$tmp/err" || fail "-o without a value"
run 0 "$tool" export --help
grep -q '^usage: cdebug-trace export' "$tmp/out" || fail "export --help"
run 0 "$tool" help
grep -q '^  export ' "$tmp/out" || fail "help lists export"
echo "test_trace_export: ok"

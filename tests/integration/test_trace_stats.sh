#!/usr/bin/env bash
# cdebug-trace stats: exact figures on traces of known structure
# (prog_trace_synth), the Go tutorial's walkthrough on real traces of examples/freq
# (serial: one busy worker of 2; numcpu: both), and every bad input.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
synth="$build/tests/prog_trace_synth"
gen="$build/tests/prog_trace_gen"
tool="$build/viewer/cdebug-trace"
freq="$build/examples/freq"

# check FILE.json PYTHON-ASSERTIONS: runs the assertions with `s` = the JSON
check() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
def near(x, want, rel=0.01, what=""):
    assert abs(x - want) <= rel * abs(want) + 1e-9, f"{what}: {x}, want {want} (±{rel:.0%})"
def lints(): return sorted(l["id"] for l in s["lints"])
def task(name): return next(t for t in s["tasks"] if t["name"] == name)
exec(sys.argv[2])
EOF
}

for m in serial gc mixed; do "$synth" $m "$tmp/$m.trace"; done

# ---- serial: one worker of 4 busy the whole second
run 0 "$tool" stats --json "$tmp/serial.trace"; cp "$tmp/out" "$tmp/serial.json"
check "$tmp/serial.json" '
t = s["trace"]
assert t["duration_ns"] == 1000000000 and t["workers"] == 4 and t["tasks_created"] == 100, t
assert t["lost_events"] == 0 and not t["truncated"]
w = s["workers"]
near(w[0]["running_pct"], 100, 0.001, "P0 running")
for i in 1, 2, 3: assert w[i]["running_pct"] == 0 and w[i]["idle_pct"] == 100, w[i]
near(s["utilisation_pct"], 25, 0.001, "utilisation = 1/N")
near(s["parallelism"]["average"], 1.0, 0.001, "parallelism")
assert s["parallelism"]["histogram"][1]["pct"] == 100
st = task("step")
assert st["count"] == 100 and st["unended"] == 0 and not st["ever_blocked"]
assert st["exec_ns"]["total"] == 1000000000 and st["exec_ns"]["min"] == st["exec_ns"]["max"] == 10000000
near(st["exec_ns"]["p50"], 10e6, 0.01, "p50"); near(st["exec_ns"]["p99"], 10e6, 0.01, "p99")
assert st["wait_ns"]["max"] == 0
assert s["gc"]["count"] == 0
assert lints() == ["low-parallelism"], lints()
'
run 0 "$tool" stats "$tmp/serial.trace"
grep -q '^  P0 *100.0%' "$tmp/out" || fail "text: P0 row"
grep -q 'only 1.00 of 4 workers run tasks at a time' "$tmp/out" || fail "text: low-parallelism lint"
grep -q '^  step  *100 ' "$tmp/out" || fail "text: task row"

# ---- gc: one pause of exactly 2.5 ms at 500 ms, MMU known
run 0 "$tool" stats --json "$tmp/gc.trace"; cp "$tmp/out" "$tmp/gc.json"
check "$tmp/gc.json" '
g = s["gc"]
assert g["count"] == 1 and g["forced"] == 1, g
assert g["pause_ns"]["max"] == 2500000 and g["pause_total_ns"] == 2500000, g
assert g["duration_ns"]["max"] == 3000000
assert g["heap_first_before"] == 1000000 and g["heap_last_after"] == 2000000 and g["heap_peak"] == 2000000
near(g["pause_pct"], 0.25, 0.001, "pause %")
mmu = {m["window_ns"]: m["mmu"] for m in s["mmu"]}
assert mmu[1000000] == 0.0, mmu
near(mmu[10000000], 0.75, 1e-6, "MMU 10ms"); near(mmu[100000000], 0.975, 1e-6, "MMU 100ms")
near(mmu[1000000000], 0.9975, 1e-6, "MMU 1s")
near(s["workers"][0]["gc_pct"], 0.25, 0.001, "GC share of the worker")
assert lints() == ["gc-pause"], lints()
'
run 0 "$tool" stats "$tmp/gc.trace"
grep -q 'stopped the world for more than 100 us' "$tmp/out" || fail "text: gc-pause lint"
grep -q 'pause p99 2.50ms, max 2.50ms (collection 1)' "$tmp/out" || fail "text: gc-pause evidence"
grep -Eq '^  MMU +0\.0% +75\.0% +97\.5% +99\.8%' "$tmp/out" || fail "text: MMU row"

# ---- mixed: blocking, waits, user tasks, regions, an unfinished task
run 0 "$tool" stats --json "$tmp/mixed.trace"; cp "$tmp/out" "$tmp/mixed.json"
check "$tmp/mixed.json" '
f = task("fetch")
assert f["count"] == 10 and f["ever_blocked"], f
assert f["exec_ns"]["min"] == f["exec_ns"]["max"] == 2000000
assert f["wait_ns"]["min"] == f["wait_ns"]["max"] == 1000000
assert f["blocked_ns"]["total"] == 50000000
b = f["blocked"]
assert len(b) == 1 and b[0]["reason"] == "net: read" and b[0]["ns"]["count"] == 10 and b[0]["ns"]["max"] == 5000000, b
k = task("stuck")
assert k["count"] == 0 and k["unended"] == 1
u = s["user_tasks"]; r = s["regions"]
assert len(u) == 1 and u[0]["name"] == "request" and u[0]["count"] == 3 and u[0]["latency_ns"]["max"] == 20000000, u
assert len(r) == 1 and r[0]["name"] == "parse" and r[0]["count"] == 6 and r[0]["latency_ns"]["min"] == 4000000, r
near(s["workers"][1]["running_pct"], 10, 0.001, "P1: stuck runs the last 100 ms")
near(s["workers"][0]["running_pct"], 2, 0.001, "P0: 10 x 2 ms")
assert lints() == [], lints()
'

# ---- the Go tutorial's walkthrough: freq serial uses one of 2 workers, numcpu both
if [[ ! -x $freq ]]; then fail "examples/freq not built"; fi
CDMAXPROCS=2 CDEBUG=trace="$tmp/freq-serial.trace" "$freq" --mode=serial >/dev/null
CDMAXPROCS=2 CDEBUG=trace="$tmp/freq-numcpu.trace" "$freq" --mode=numcpu >/dev/null
run 0 "$tool" stats --json "$tmp/freq-serial.trace"; cp "$tmp/out" "$tmp/fs.json"
run 0 "$tool" stats --json "$tmp/freq-numcpu.trace"; cp "$tmp/out" "$tmp/fn.json"
check "$tmp/fs.json" '
assert s["trace"]["workers"] == 2
# one worker busy of 2: utilisation near 1/N (the rest is start-up and GC)
assert 35 <= s["utilisation_pct"] <= 52, s["utilisation_pct"]
assert "low-parallelism" in lints(), lints()
assert "parse" in [r["name"] for r in s["regions"]], s["regions"]
'
check "$tmp/fn.json" '
assert s["parallelism"]["average"] > 1.2, s["parallelism"]
assert "low-parallelism" not in lints(), lints()
'

# ---- a truncated trace: analysed, with a warning
"$gen" truncated "$tmp/trunc.trace"
run 0 "$tool" stats --json "$tmp/trunc.trace"
grep -q 'warning: .*truncated' "$tmp/err" || { cat "$tmp/err" >&2; fail "truncated: no warning"; }
check "$tmp/out" 'assert s["trace"]["truncated"] is True'

# ---- bad input: one error line, exit 1
run 1 "$tool" stats "$tmp/missing.trace"; one_line_err 'missing.trace'
: >"$tmp/empty.trace"
run 1 "$tool" stats "$tmp/empty.trace"; one_line_err 'empty or truncated'
printf 'not a trace at all, just some text\n' >"$tmp/text.trace"
run 1 "$tool" stats "$tmp/text.trace"; one_line_err 'not a cdebug trace'
"$gen" corrupt "$tmp/corrupt.trace"
run 1 "$tool" stats "$tmp/corrupt.trace"; one_line_err 'corrupt'
[[ ! -s $tmp/out ]] || fail "corrupt: a report was printed"

# ---- bad usage: usage text on stderr, exit 2
run 2 "$tool" stats --bogus "$tmp/serial.trace"; grep -q 'unknown flag "--bogus"' "$tmp/err" || fail "unknown flag"
grep -q '^usage: cdebug-trace stats' "$tmp/err" || fail "usage text"
run 2 "$tool" stats; grep -q 'no trace file' "$tmp/err" || fail "no file"
run 2 "$tool" stats a b; grep -q 'one trace file expected' "$tmp/err" || fail "two files"
run 2 "$tool" no-such-command; grep -q 'unknown command' "$tmp/err" || fail "unknown command"
run 0 "$tool" stats --help; grep -q '^usage: cdebug-trace stats' "$tmp/out" || fail "--help"

# ---- standard input
run 0 "$tool" stats --json - <"$tmp/serial.trace"
check "$tmp/out" 'assert s["trace"]["tasks_created"] == 100'
echo "ok"

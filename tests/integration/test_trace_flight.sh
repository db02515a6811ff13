#!/usr/bin/env bash
# The flight recorder: a program logs "tick N" every 20 ms with the recorder
# on; the window it writes must be a valid, self-contained trace (checked by
# trace_check.py, the independent reader, and by cdebug-trace dump) holding
# the last WINDOW seconds: the latest tick, none older than the window plus
# one segment (a tenth), a span of at least the window. Recording goes on
# after a write. Started by the API and by CDEBUG=flight=1; bad CDEBUG
# values warn and leave it off.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prog="$build/tests/prog_flight"
check="$src/tests/integration/trace_check.py"
dump="$build/viewer/cdebug-trace"

# check_window FILE LAST_TICK WINDOW_S LABEL
check_window() {
  python3 "$check" "$1" >"$tmp/sum.json" || fail "$4: trace_check rejected the window"
  python3 - "$tmp/sum.json" "$2" "$3" "$4" <<'PY' || exit 1
import json, sys
s = json.load(open(sys.argv[1]))
last, window, label = int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
def bad(msg):
    print("FAIL: %s: %s (summary: %s)" % (label, msg, {k: v for k, v in s.items() if k != "log_messages"}),
          file=sys.stderr)
    sys.exit(1)
if s["flags"] & 1 != 1: bad("no flight flag in the header")
if not s["end"] or s["truncated"]: bad("not a complete trace")
if s["lost"]: bad("lost events")
for k in ("STATE_THREAD", "STATE_WORKER", "TASK_CREATE", "LOG"):
    if s["events"].get(k, 0) == 0: bad("no %s event" % k)
ticks = [int(m.split()[1]) for m in s["log_messages"]]
if max(ticks) != last: bad("last tick %d, want %d" % (max(ticks), last))
if ticks != list(range(min(ticks), last + 1)): bad("ticks missing or out of order")
span = s["span_ns"] / 1e9
if span < window * 0.95: bad("window spans %.3f s, want at least %.2f s" % (span, window))
if span > window * 1.1 + 0.35: bad("window spans %.3f s, want at most %.2f s" % (span, window * 1.1 + 0.35))
if s["first_ns"] != 0: bad("the window does not start with its snapshot")
print("ok: %s: ticks %d..%d, %.3f s" % (label, min(ticks), last, span))
PY
  "$dump" dump "$1" >"$tmp/dump.txt" || fail "$4: cdebug-trace dump failed"
  grep -q 'flight-recorder window' "$tmp/dump.txt" || fail "$4: dump does not say flight-recorder window"
  tail -n 1 "$tmp/dump.txt" | grep -q ', complete$' || fail "$4: dump does not say complete"
}

echo "== cd_flight_start(1), 3 s of ticks"
out=$("$prog" "$tmp/api" 3000 1) || fail "prog_flight failed"
read -r _ t1 t2 <<<"$out"
check_window "$tmp/api.1" "$t1" 1 "first window"
check_window "$tmp/api.2" "$t2" 1 "second window (recording went on)"
((t2 > t1)) || fail "no tick between the two writes"

echo "== CDEBUG=flight=1"
out=$(CDEBUG=flight=1 "$prog" "$tmp/env" 2000 env) || fail "prog_flight (env) failed"
read -r _ t1 _ <<<"$out"
check_window "$tmp/env.1" "$t1" 1 "CDEBUG=flight=1"

echo "== one segment over the bound (CDEBUG_FLIGHT_MAX_BYTES=262144): drops come back as LOST"
out=$(CDEBUG_FLIGHT_MAX_BYTES=262144 "$prog" "$tmp/flood" 1000 flood) || fail "prog_flight flood failed"
python3 "$check" "$tmp/flood.1" >"$tmp/flood.json" || fail "flood: trace_check rejected the window"
"$dump" dump "$tmp/flood.1" >"$tmp/flood.txt" || fail "flood: cdebug-trace dump failed"
tail -n 1 "$tmp/flood.txt" | grep -q ', complete$' || fail "flood: dump does not say complete"
# The recorder's own LOST records (buffer pressure) carry 0 batches; the
# ring's carry the whole records it dropped.
batches=$(awk '$3 == "LOST" { sub("batches=", "", $5); n += $5 } END { print n + 0 }' "$tmp/flood.txt")
((batches > 0)) || { grep LOST "$tmp/flood.txt" >&2; fail "flood: no LOST record for the dropped batches"; }
size=$(stat -c %s "$tmp/flood.1")
((size <= 2 * 262144)) || fail "flood: the window is $size bytes, over twice the 256 KiB bound"
echo "ok: $out: $batches dropped batches reported as LOST, window $size bytes"
for v in abc 100 1e9 ''; do
  CDEBUG=flight=1 CDEBUG_FLIGHT_MAX_BYTES=$v "$build/examples/spawn" --tasks=10 >/dev/null 2>"$tmp/err" ||
    fail "spawn failed with CDEBUG_FLIGHT_MAX_BYTES=$v"
  grep -q "CDEBUG_FLIGHT_MAX_BYTES=$v ignored" "$tmp/err" || { cat "$tmp/err"; fail "no warning for CDEBUG_FLIGHT_MAX_BYTES=$v"; }
done
echo "ok: bad CDEBUG_FLIGHT_MAX_BYTES values warn and keep the 64 MiB bound"

echo "== bad values"
for v in abc -1 3601 1.5 ''; do
  CDEBUG="flight=$v" "$build/examples/spawn" --tasks=10 >/dev/null 2>"$tmp/err" || fail "spawn failed with flight=$v"
  grep -q "flight" "$tmp/err" || fail "flight=$v: no warning"
done
echo "ok: bad CDEBUG flight values warn"
echo PASS

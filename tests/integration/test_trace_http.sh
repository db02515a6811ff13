#!/usr/bin/env bash
# GET /debug/pprof/trace on a busy program (prog_trace_http), with curl:
#   - ?seconds=0.5: 200, Go's headers, a complete trace (trace_check.py and
#     cdebug-trace dump) spanning about half a second;
#   - seconds=abc, -1, 0, empty, NaN: Go's fallback to 1 s; 1e9 and inf:
#     400 (where Go would sleep for ever) with X-Go-Pprof: 1;
#   - a second trace while one runs: 500 "Could not enable tracing: tracing
#     is already enabled", X-Go-Pprof: 1, and the first trace is complete;
#   - a client that goes away mid-trace: the recording stops and a new trace
#     works within a second; a slow client gets a valid trace;
#   - HEAD: the headers and no body, no trace;
#   - ?flight=1: 400 without the flight recorder; with CDEBUG=flight=2 a
#     window with the flight flag;
#   - SIGTERM while a trace streams: clean exit.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http_lib.sh"
prog=$build/tests/prog_trace_http
check=$src/tests/integration/trace_check.py
dump=$build/viewer/cdebug-trace
[[ -x $prog ]] || fail "$prog is not built"

start srv 'listening on' "$prog"
srv=$pid
base=http://127.0.0.1:$port/debug/pprof/trace

# check_trace FILE MIN_S MAX_S LABEL: a complete trace of MIN..MAX seconds.
check_trace() {
    python3 "$check" "$1" >"$tmp/sum.json" || fail "$4: trace_check rejected the trace"
    python3 - "$tmp/sum.json" "$2" "$3" "$4" <<'PY' || exit 1
import json, sys
s = json.load(open(sys.argv[1]))
lo, hi, label = float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
span = s["span_ns"] / 1e9
def bad(m):
    print("FAIL: %s: %s (%s)" % (label, m, {k: v for k, v in s.items() if k != "log_messages"}), file=sys.stderr)
    sys.exit(1)
if not s["end"] or s["truncated"]: bad("incomplete trace")
if not (lo <= span <= hi): bad("spans %.3f s, want %.2f..%.2f" % (span, lo, hi))
for k in ("LOG", "TASK_CREATE", "TASK_START", "STATE_THREAD"):
    if not s["events"].get(k): bad("no %s event" % k)
PY
    "$dump" dump "$1" >/dev/null || fail "$4: cdebug-trace dump failed"
}

echo "== seconds=0.5"
code=$(fetch "$base?seconds=0.5")
[[ $code == 200 ]] || fail "status $code"
expect_header Content-Type application/octet-stream "trace"
expect_header Content-Disposition 'attachment; filename="trace"' "trace"
expect_header X-Content-Type-Options nosniff "trace"
cp "$tmp/b" "$tmp/half.trace"
check_trace "$tmp/half.trace" 0.4 1.2 "seconds=0.5"
ok "seconds=0.5: a complete trace of about half a second"

echo "== seconds Go falls back on"
for v in abc -1 0 '' NaN 1s; do
    code=$(fetch "$base?seconds=$v")
    [[ $code == 200 ]] || fail "seconds=$v: status $code"
    check_trace "$tmp/b" 0.85 1.8 "seconds=$v"
done
ok "seconds=abc, -1, 0, empty, NaN, 1s: 1 s, as Go"
for v in 1e9 inf 601; do
    code=$(fetch "$base?seconds=$v")
    [[ $code == 400 ]] || fail "seconds=$v: status $code, want 400"
    expect_header X-Go-Pprof 1 "seconds=$v"
    expect_body "profile duration exceeds the server's maximum of 600 seconds\n" "seconds=$v"
done
ok "seconds=1e9, inf, 601: 400 with X-Go-Pprof"

echo "== a second trace while one runs"
curl -sS --max-time 20 -o "$tmp/first.trace" "$base?seconds=2" &
first=$!
sleep 0.5
code=$(fetch "$base?seconds=1")
[[ $code == 500 ]] || fail "second trace: status $code, want 500"
expect_header X-Go-Pprof 1 "second trace"
expect_body "Could not enable tracing: tracing is already enabled\n" "second trace"
wait "$first" || fail "the first trace's curl failed"
check_trace "$tmp/first.trace" 1.8 3.0 "first trace"
ok "500 for the second; the first is complete"

echo "== a client that goes away"
rc=0
curl -sS --max-time 0.6 -o /dev/null "$base?seconds=30" 2>/dev/null || rc=$?
[[ $rc == 28 ]] || fail "curl should have timed out (rc $rc)"
new_trace_soon "$base"
check_trace "$tmp/b" 0.1 1.0 "trace after a disconnect"
ok "recording stopped with the client; a new trace within $took_ms ms"

echo "== a slow client"
curl -sS --max-time 30 --limit-rate 20k -o "$tmp/slow.trace" "$base?seconds=1" ||
    fail "slow client: curl failed"
python3 "$check" "$tmp/slow.trace" >"$tmp/sum.json" || fail "slow client: invalid trace"
ok "slow client (20 KB/s): a valid trace ($(wc -c <"$tmp/slow.trace") bytes)"

echo "== HEAD"
head_only "$port" /debug/pprof/trace
ok "HEAD: headers only"

echo "== flight=1 without the recorder"
code=$(fetch "$base?flight=1")
[[ $code == 400 ]] || fail "flight=1 without recorder: status $code"
expect_header X-Go-Pprof 1 "flight=1"
code=$(fetch "$base?flight=2")
[[ $code == 400 ]] || fail "flight=2: status $code"
expect_body 'bad flight value "2": want 0 or 1\n' "flight=2"
ok "flight=1 without a recorder, flight=2: 400"

echo "== SIGTERM while a trace streams"
curl -sS --max-time 20 -o "$tmp/cut.trace" "$base?seconds=10" &
cut=$!
sleep 0.5
stop srv "$srv"
grep -qx stopped "$tmp/srv.out" || fail "no clean stop"
wait "$cut" || true
python3 "$check" "$tmp/cut.trace" >"$tmp/sum.json" || fail "trace cut by the stop is invalid"
python3 -c 'import json,sys; s=json.load(open(sys.argv[1])); sys.exit(0 if s["end"] and not s["truncated"] else 1)' \
    "$tmp/sum.json" || fail "trace cut by the stop has no END"
ok "SIGTERM during a trace: clean exit, the trace ends with END"

echo "== CDEBUG=flight=2"
CDEBUG=flight=2 start fl 'listening on' "$prog"
fl=$pid
sleep 2.5
code=$(fetch "http://127.0.0.1:$port/debug/pprof/trace?flight=1")
[[ $code == 200 ]] || fail "flight=1: status $code"
expect_header Content-Disposition 'attachment; filename="trace"' "flight=1"
check_trace "$tmp/b" 1.9 2.6 "flight window"
python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1]))["flags"] & 1 else 1)' \
    "$tmp/sum.json" || fail "flight window without the flight flag"
code=$(fetch "http://127.0.0.1:$port/debug/pprof/trace?seconds=1")
[[ $code == 500 ]] || fail "seconds=1 while flying: status $code, want 500"
stop fl "$fl"
ok "flight=1: the last 2 s; a streaming trace meanwhile gets 500"
echo PASS

#!/usr/bin/env bash
# tests/integration/test_http_counter.sh - examples/counter, the expvar
# walkthrough's service: its requests show up in /debug/vars and /metrics
# of the debug server on another port; bad arguments exit 2 with a usage
# message; SIGINT and SIGTERM stop it cleanly.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http_lib.sh"

counter=$build/examples/counter
[[ -x $counter ]] || fail "$counter is not built"

# ---- arguments ---------------------------------------------------------------------
echo "== arguments"
"$counter" --help >"$tmp/help.out" 2>&1 || fail "--help exited with status $?"
grep -q '^usage: ' "$tmp/help.out" || fail "--help printed no usage"
for args in --bogus --addr= --addr --debug-addr= --addr=nohost --addr=127.0.0.1:99999 \
    --addr=127.0.0.1:80x --addr=127.0.0.1:-1 extra '--addr=:' '--debug-addr=0.0.0.0:0' \
    '--debug-addr=6060'; do
    rc=0
    # shellcheck disable=SC2086 # one word per case, split on purpose
    timeout 20 "$counter" --addr=127.0.0.1:0 $args >"$tmp/bad.out" 2>"$tmp/bad.err" || rc=$?
    [[ $rc == 2 ]] || {
        show "$tmp/bad.err"
        fail "counter $args: status $rc, want 2"
    }
    [[ -s $tmp/bad.err ]] || fail "counter $args: nothing said on stderr"
    check_sanitizer bad
done
ok "bad arguments exit 2 with a message"

# ---- CDEBUG=http=..., counted requests ------------------------------------------------
echo "== counter with CDEBUG=http=127.0.0.1:0"
CDEBUG=http=127.0.0.1:0 start counter 'debug server on port' "$counter" --addr=127.0.0.1:0
cpid=$pid
dport=$(sed -n 's/^counter: debug server on port \([0-9]*\):.*/\1/p' "$tmp/counter.out")
sport=$(sed -n 's|^counter: serving on http://127.0.0.1:\([0-9]*\)/$|\1|p' "$tmp/counter.out")
[[ -n $sport && -n $dport && $sport != "$dport" ]] || {
    show "$tmp/counter.out"
    fail "counter did not print both ports"
}
svc=http://127.0.0.1:$sport
for ((i = 1; i <= 10; i++)); do
    code=$(fetch "$svc/")
    [[ $code == 200 ]] || fail "GET / #$i: status $code"
done
grep -q '^hello from counter: request [0-9]*$' "$tmp/b" || fail "GET /: unexpected body"
for ((i = 0; i < 3; i++)); do
    code=$(fetch "$svc/missing")
    [[ $code == 404 ]] || fail "GET /missing: status $code, want 404"
done
for ((i = 0; i < 2; i++)); do
    code=$(fetch -X POST -d a=1 "$svc/")
    [[ $code == 405 ]] || fail "POST /: status $code, want 405"
done
code=$(fetch -I "$svc/")
[[ $code == 200 ]] || fail "HEAD /: status $code"
# The debug server's own requests are not counted: it is another server.
ok "16 requests to the service"

# Completion is counted when the response has been sent: poll briefly.
want='{"count": 16, "last_path": "/", "requests": 16, "status": {"200": 11, "404": 3, "405": 2}}'
for ((i = 0; i < 50; i++)); do
    code=$(fetch "http://127.0.0.1:$dport/debug/vars")
    [[ $code == 200 ]] || fail "debug server: status $code"
    got=$(python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(json.dumps({"requests": d.get("requests"), "status": d.get("status"),
                  "count": (d.get("latency_seconds") or {}).get("count"),
                  "last_path": d.get("last_path")}, sort_keys=True))' "$tmp/b")
    [[ $got == "$want" ]] && break
    sleep 0.1
done
[[ $got == "$want" ]] || fail "/debug/vars shows $got, want $want"
ok "/debug/vars: $got"

code=$(fetch "http://127.0.0.1:$dport/metrics")
[[ $code == 200 ]] || fail "/metrics: status $code"
grep -Eq '^[a-zA-Z_:]*requests[a-zA-Z_]* 16$' "$tmp/b" || {
    grep requests "$tmp/b" >&2 || true
    fail "/metrics has no requests sample of 16"
}
grep -Eq '^[a-zA-Z_:]*latency_seconds_count 16$' "$tmp/b" || fail "/metrics: no latency count of 16"
ok "/metrics counts them too"

kill -INT "$cpid"
for ((i = 0; i < 100; i++)); do
    kill -0 "$cpid" 2>/dev/null || break
    sleep 0.1
done
stop counter "$cpid" # collects the exit status; SIGTERM is a no-op by now
grep -qx 'counter: stopped by SIGINT after 16 requests' "$tmp/counter.out" || {
    show "$tmp/counter.out"
    fail "counter did not report a clean SIGINT stop"
}
ok "SIGINT: clean exit"

# ---- --debug-addr, and no debug server ---------------------------------------------------
echo "== counter --debug-addr"
start counter2 'debug server on port' "$counter" --addr=127.0.0.1:0 --debug-addr=127.0.0.1:0
dport=$(sed -n 's/^counter: debug server on port \([0-9]*\):.*/\1/p' "$tmp/counter2.out")
code=$(fetch "http://127.0.0.1:$dport/debug/vars")
[[ $code == 200 ]] || fail "--debug-addr: status $code"
stop counter2 "$pid"
grep -qx 'counter: stopped by SIGTERM after 0 requests' "$tmp/counter2.out" ||
    fail "counter did not report a clean SIGTERM stop"
start counter3 'no debug server' "$counter" --addr=127.0.0.1:0
stop counter3 "$pid"
ok "--debug-addr starts the debug server; without it none runs; SIGTERM: clean exit"
echo "PASS"

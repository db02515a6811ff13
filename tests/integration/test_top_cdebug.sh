#!/usr/bin/env bash
# tests/integration/test_top_cdebug.sh - cdebug-top watching a C program:
# examples/counter with the cdebug debug server (CDEBUG=http=...), the C
# side of the Go tutorial's expvar walkthrough.
#
#   - while requests hit the counter, cdebug-top -dummy shows "requests"
#     growing, memstats in mem:/duration: form, a map entry (status.200), a
#     string var and a histogram field, for several rounds;
#   - with CDEBUG_HTTP_TOKEN set on the server, a cdebug-top without the
#     token reads "HTTP 401 from <url> (set CDEBUG_HTTP_TOKEN?)" and one
#     with it reads the values.
# Skipped (with a message) when examples/counter is not built.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
# shellcheck source=go_expvar_server/lib.sh
source "$(dirname "$0")/go_expvar_server/lib.sh"

counter=$build/examples/counter
if [[ ! -x $counter ]]; then
    echo "SKIP: $counter is not built"
    exit 0
fi
top=$(top_bin)

# start_counter [ENV...]: starts the counter with its service and debug
# server on free ports; sets svc and dbg to their host:port.
start_counter() {
    local out=$tmp/counter.$RANDOM
    env CDEBUG=http=127.0.0.1:0 "$@" "$counter" --addr=127.0.0.1:0 >"$out" 2>&1 &
    pids+=($!)
    local i
    for ((i = 0; i < 100; i++)); do
        grep -q 'debug server on port' "$out" 2>/dev/null && break
        sleep 0.05
    done
    local d s
    d=$(grep -o 'debug server on port [0-9]*' "$out" | grep -o '[0-9]*$' || true)
    s=$(grep -o 'serving on http://127.0.0.1:[0-9]*' "$out" | grep -o '[0-9]*$' || true)
    [[ -n $d && -n $s ]] || { cat "$out" >&2; fail "counter did not start"; }
    svc=127.0.0.1:$s
    dbg=127.0.0.1:$d
}

# traffic: a bounded stream of requests to the counter's service.
traffic() {
    (for ((i = 0; i < 400; i++)); do
        curl -s -m 2 "http://$svc/" >/dev/null || true
        sleep 0.02
    done) &
    pids+=($!)
}

start_counter
traffic
vars='requests,mem:memstats.Alloc,mem:memstats.Sys,duration:memstats.PauseTotalNs,status.200,str:last_path,latency_seconds.count,missing'
top_dummy "$tmp/out" "$tmp/err" -ports="$dbg" -vars="$vars"

python3 - "$tmp/out" "$dbg" <<'PY' || { cat "$tmp/out" >&2; exit 1; }
import re, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
svc = sys.argv[2]
rx = re.compile(
    r"%s: requests: (\d+), memstats\.Alloc: \d+(\.\d)?(B|KB|MB|GB), "
    r"memstats\.Sys: \d+(\.\d)?(B|KB|MB|GB), memstats\.PauseTotalNs: (0s|[0-9.]+(ns|µs|ms|s)), "
    r"status\.200: (\d+|n/a), last_path: (/|), latency_seconds\.count: (\d+), missing: n/a"
    % re.escape(svc))
reqs = []
for l in lines:
    if re.fullmatch(r"\d\d:\d\d:\d\d \d\d/\d\d", l):
        continue
    m = rx.fullmatch(l)
    if not m:
        sys.exit("FAIL: unexpected line %r" % l)
    reqs.append(int(m.group(1)))
if len(reqs) < 4:
    sys.exit("FAIL: only %d rounds" % len(reqs))
if reqs[-1] <= reqs[0] or any(b < a for a, b in zip(reqs, reqs[1:])):
    sys.exit("FAIL: requests should grow: %r" % reqs)
print("ok: requests %r" % reqs)
PY

# Bearer token: refused without it, accepted with it.
kill_all
start_counter CDEBUG_HTTP_TOKEN=s3cret
for token in "" s3cret; do
    CDEBUG_HTTP_TOKEN=$token "$top" -dummy -i 250ms -ports="$dbg" -vars=requests \
        >"$tmp/out" 2>"$tmp/err" &
    pid=$!
    pids+=("$pid")
    sleep 1
    kill -INT "$pid"
    rc=0
    wait_pid "$pid" 10 || rc=$?
    ((rc == 0)) || { cat "$tmp/out" "$tmp/err" >&2; fail "cdebug-top exited $rc"; }
    if [[ -z $token ]]; then
        want="^$dbg: failed: HTTP 401 from http://$dbg/debug/vars \\(set CDEBUG_HTTP_TOKEN\\?\\)\$"
    else
        want="^$dbg: requests: [0-9]+\$"
    fi
    grep -Eq -- "$want" "$tmp/out" || { cat "$tmp/out" >&2; fail "token '$token': no line matches /$want/"; }
done
echo "ok"

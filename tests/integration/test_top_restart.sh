#!/usr/bin/env bash
# tests/integration/test_top_restart.sh - cdebug-top notices a restarted
# service, as expvarmon's restart marker does.
#
# A Go program that allocates (so memstats.NumGC and TotalAlloc grow) is
# watched, stopped, and started again on the same port with the same
# command line. cdebug-top -dummy must show the outage ("failed: connection
# refused"), then one "restarted: memstats.<counter> went backwards" line,
# then values again; --csv records the restart as a (status) row.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
# shellcheck source=go_expvar_server/lib.sh
source "$(dirname "$0")/go_expvar_server/lib.sh"

top=$(top_bin)
go_peer_build
port=$(free_port)
args=(-port "$port" -timeout 30s -churn 256)
go_peer_start addr "${args[@]}"

"$top" -dummy -i 200ms -ports="$addr" -vars='requests,memstats.NumGC' --csv "$tmp/run.csv" \
    >"$tmp/out" 2>"$tmp/err" &
pid=$!
pids+=("$pid")
show_run() {
    cat "$tmp/out" "$tmp/err" >&2
}

sleep $((2 * top_slow))
curl -s -m 5 "http://$addr/stop" >/dev/null || fail "cannot stop the first Go program"
sleep 1
old=$addr
go_peer_start addr "${args[@]}"
[[ $addr == "$old" ]] || fail "second Go program on $addr, not $old"
sleep $((1 * top_slow))
kill -INT "$pid"
rc=0
wait_pid "$pid" 10 || rc=$?
((rc == 0)) || { show_run; fail "cdebug-top exited $rc"; }

grep -q "^$addr: failed: connection refused\$" "$tmp/out" || { show_run; fail "no outage shown"; }
n=$(grep -Ec "^$addr: restarted: memstats\.(NumGC|TotalAlloc|PauseTotalNs) went backwards \([0-9]+ -> [0-9]+\)\$" "$tmp/out" || true)
((n == 1)) || { show_run; fail "$n restart lines, want 1"; }
# values are printed again after the restart line
tail -n 3 "$tmp/out" | grep -Eq "^$addr: requests: [0-9]+, memstats\.NumGC: [0-9]+\$" ||
    { show_run; fail "no samples after the restart"; }
grep -Eq "^[^,]+,$addr,\(status\),restarted: memstats\.[A-Za-z]+ went backwards" "$tmp/run.csv" ||
    { cat "$tmp/run.csv" >&2; fail "restart not recorded in the CSV file"; }
echo "ok"

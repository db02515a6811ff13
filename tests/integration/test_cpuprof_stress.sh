#!/usr/bin/env bash
# Stress of the CPU profiler: for CDEBUG_CPUPROF_STRESS_S seconds (default
# 20; `make soak` runs 60), prog_cpuprof stress starts and stops profiles
# at random rates (1..1000 Hz) and lengths from one thread, while
# registered threads burn CPU and exit, tasks burn, allocate and block (so
# the pool starts threads), and another thread forces collections; this
# script meanwhile asks for profiles over HTTP, half of them abandoned by
# their client mid-way. Pass: the program ends on time with "ok" (no
# crash, no deadlock), every completed HTTP profile is a profile `go tool
# pprof` reads, and no sanitizer report.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
secs="${CDEBUG_CPUPROF_STRESS_S:-20}"
prog="$build/tests/prog_cpuprof"
# fail shows the program's stderr ($tmp/err) with any failure: a sanitizer
# report there is the cause (a CI run once showed only "Aborted").
[[ $secs =~ ^[1-9][0-9]*$ ]] || fail "CDEBUG_CPUPROF_STRESS_S must be a positive integer"
go_env

timeout -k 5 $((secs + 120)) "$prog" stress "$secs" >"$tmp/out" 2>"$tmp/err" &
pid=$!
pids+=("$pid")
for ((i = 0; i < 200; i++)); do
    grep -q '^listening on ' "$tmp/out" && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.05
done
port=$(awk '/^listening on/ { print $NF }' "$tmp/out")
[[ -n $port ]] || { cat "$tmp/err" >&2; fail "prog_cpuprof stress did not start"; }
url="http://127.0.0.1:$port/debug/pprof/profile"

full=0 cut=0 busy=0 n=0
while kill -0 "$pid" 2>/dev/null; do
    n=$((n + 1))
    if ((n % 2)); then
        code=$(curl -s -o "$tmp/p.pb.gz" -w '%{http_code}' -m 20 "$url?seconds=1" || true)
        case $code in
        200)
            # The server may stop mid-body when the program ends.
            if kill -0 "$pid" 2>/dev/null; then
                timeout -k 5 120 go tool pprof -raw "$tmp/p.pb.gz" >/dev/null 2>"$tmp/pp.err" ||
                    { cat "$tmp/pp.err" >&2; fail "an HTTP profile pprof cannot read"; }
                full=$((full + 1))
            fi
            ;;
        500) busy=$((busy + 1)) ;;
        000) ;; # the program ended
        *) fail "profile request: status $code" ;;
        esac
    else
        curl -s -o /dev/null -m 0.3 "$url?seconds=5" || true # abandoned
        cut=$((cut + 1))
    fi
done
rc=0
wait "$pid" || rc=$?
((rc == 0)) || fail "prog_cpuprof stress exited $rc (timeout: 124)"
grep -qx ok "$tmp/out" || { cat "$tmp/out" >&2; fail "no ok"; }
if grep -Eq 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:|WARNING: ThreadSanitizer' "$tmp/err"; then
    tail -n 60 "$tmp/err" >&2
    fail "sanitizer report"
fi
echo "ok: ${secs}s: $(grep '^profiles' "$tmp/out") from cd_cpuprof_start, $(grep '^rounds' "$tmp/out") of thread churn; HTTP: $full read, $cut abandoned, $busy busy"

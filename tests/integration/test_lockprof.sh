#!/usr/bin/env bash
# The block and mutex profiles (prof/lockprof.c, runtime/contention.c,
# runtime/pthread_locks.c) on a plain C program (prog_locks.c: a contended
# mutex, a condition variable, a rwlock, pthread_join, a wait group), read
# by the real `go tool pprof`:
#   - off by default, as in Go: both profiles empty;
#   - mutexprofilefraction=1: the mutex profile charges the contended lock
#     to take_lock (its caller) and the rwlock to read_shared, with Go's
#     sample types contentions/count and delay/nanoseconds;
#   - blockprofilerate=1: the block profile has the mutex waits, the
#     condition wait (wait_cond), pthread_join (join_all), cd_wg_wait
#     (wait_group) and the rwlock;
#   - debug=1 is Go's text ("--- mutex:", cycles/second, sampling period;
#     "--- contention:");
#   - a fraction of 5 scales counts and delays by 5 (Go's
#     scaleMutexProfile); bad values are warned about and ignored;
#   - over HTTP: the index lists block and mutex, debug=1 and a
#     ?seconds=1 delta are served.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prog="$build/tests/prog_locks"
built "$prog"
go_env
if ((tsan)); then
    echo "skip: under TSan the lock functions forward untimed (runtime/pthread_locks.c)"
    exit 77
fi

# ---- off by default -----------------------------------------------------------
mkdir -p "$tmp/off"
run 0 "$prog" "$tmp/off"
for k in mutex block; do
    pp -raw "$tmp/off/$k.pb.gz" >"$tmp/off/$k.raw"
    ! grep -Eq '^ +[0-9]+ +[0-9]+: ' "$tmp/off/$k.raw" ||
        { cat "$tmp/off/$k.raw"; fail "$k profile not empty with its rate off"; }
done
grep -qx 'fraction 0' "$tmp/out" || fail "default fraction: $(cat "$tmp/out")"
ok "both profiles off by default"

# ---- every event --------------------------------------------------------------
mkdir -p "$tmp/on"
run 0 env CDEBUG=mutexprofilefraction=1,blockprofilerate=1 "$prog" "$tmp/on"
pp -raw "$tmp/on/mutex.pb.gz" >"$tmp/on/mutex.raw"
grep -qx 'contentions/count delay/nanoseconds' "$tmp/on/mutex.raw" ||
    { head -n 20 "$tmp/on/mutex.raw"; fail "mutex: sample types"; }
pp -top -sample_index=delay "$tmp/on/mutex.pb.gz" >"$tmp/on/mutex.top"
for f in take_lock read_shared; do
    awk -v f=$f '$NF == f && $1 != "0" { found = 1 } END { exit !found }' "$tmp/on/mutex.top" ||
        { cat "$tmp/on/mutex.top"; fail "mutex: no delay charged to $f"; }
done
! grep -qw wait_cond "$tmp/on/mutex.top" || { cat "$tmp/on/mutex.top"; fail "mutex: a condition wait"; }
ok "mutex profile: the contended lock and rwlock, at their callers"

pp -top -sample_index=delay "$tmp/on/block.pb.gz" >"$tmp/on/block.top"
# ASan builds leave the condition waits out (runtime/pthread_locks.c).
waits="take_lock join_all wait_group read_shared"
[[ $sanitize == *address* ]] || waits+=" wait_cond"
for f in $waits; do
    awk -v f=$f '$NF == f && $1 != "0" { found = 1 } END { exit !found }' "$tmp/on/block.top" ||
        { cat "$tmp/on/block.top"; fail "block: no delay charged to $f"; }
done
# wait_cond waits about 10 ms 10 times: 50 ms at least.
[[ $sanitize == *address* ]] || awk '$NF == "wait_cond" { v = $1; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
     ms = (u == "s" ? v * 1000 : v + 0); exit !(ms >= 50) }' "$tmp/on/block.top" ||
    { cat "$tmp/on/block.top"; fail "block: wait_cond under 50 ms"; }
ok "block profile: locks, condition wait, join, wait group, rwlock"

sed -n 1,3p "$tmp/on/mutex.txt" >"$tmp/on/mutex.head"
printf -- '--- mutex:\ncycles/second=1000000000\nsampling period=1\n' | cmp -s - "$tmp/on/mutex.head" ||
    { cat "$tmp/on/mutex.head"; fail "mutex debug=1 header"; }
sed -n 1,2p "$tmp/on/block.txt" >"$tmp/on/block.head"
printf -- '--- contention:\ncycles/second=1000000000\n' | cmp -s - "$tmp/on/block.head" ||
    { cat "$tmp/on/block.head"; fail "block debug=1 header"; }
grep -Eq '^[0-9]+ [0-9]+ @( 0x[0-9a-f]+)+$' "$tmp/on/mutex.txt" &&
    grep -Eq $'^#\t0x[0-9a-f]+\ttake_lock\\+0x[0-9a-f]+\t.*prog_locks.c:[0-9]+$' "$tmp/on/mutex.txt" ||
    { cat "$tmp/on/mutex.txt"; fail "mutex debug=1 records"; }
ok "debug=1: Go's text"

# ---- a fraction scales --------------------------------------------------------
mkdir -p "$tmp/five"
run 0 env CDEBUG=mutexprofilefraction=5 "$prog" "$tmp/five"
grep -qx 'fraction 5' "$tmp/out" || fail "fraction 5: $(cat "$tmp/out")"
pp -raw "$tmp/five/mutex.pb.gz" >"$tmp/five/mutex.raw"
awk '/^ +[0-9]+ +[0-9]+: / { n++; if ($1 % 5 != 0 || $2 % 5 != 0) bad = 1 } END { exit bad }' \
    "$tmp/five/mutex.raw" || { cat "$tmp/five/mutex.raw"; fail "fraction 5: values not scaled by 5"; }
ok "a sampled event counts for the fraction (Go's scaleMutexProfile)"

# ---- bad values ----------------------------------------------------------------
mkdir -p "$tmp/bad"
run 0 env CDEBUG=mutexprofilefraction=-1,blockprofilerate=abc "$prog" "$tmp/bad"
[[ $(grep -c 'cdebug: CDEBUG' "$tmp/err") == 2 ]] || { cat "$tmp/err"; fail "bad values: want two warnings"; }
grep -qx 'fraction 0' "$tmp/out" || fail "bad value changed the fraction: $(cat "$tmp/out")"
ok "bad values warned about, defaults kept"

# ---- over HTTP -----------------------------------------------------------------
CDEBUG=http=127.0.0.1:0,mutexprofilefraction=1,blockprofilerate=1 start serve '^port ' "$prog" serve
base="http://127.0.0.1:$port/debug/pprof"
curl -sf --max-time 10 "$base/" >"$tmp/index.html" || fail "GET /debug/pprof/"
for k in block mutex; do
    grep -q "href='$k?debug=1'" "$tmp/index.html" || { cat "$tmp/index.html"; fail "index: no $k"; }
done
curl -sf --max-time 10 "$base/mutex?debug=1" | head -n 1 | grep -qx -- '--- mutex:' || fail "GET mutex?debug=1"
curl -sf --max-time 30 -o "$tmp/delta.pb.gz" "$base/block?seconds=1" || fail "GET block?seconds=1"
pp -top -sample_index=delay "$tmp/delta.pb.gz" >"$tmp/delta.top"
grep -qw take_lock "$tmp/delta.top" || { cat "$tmp/delta.top"; fail "block delta: no take_lock"; }
stop serve "$pid"
ok "served: index rows, debug=1, a delta"

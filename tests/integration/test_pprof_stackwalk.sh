#!/usr/bin/env bash
# tests/integration/test_pprof_stackwalk.sh - the frame-pointer walks of
# base/fpwalk.c under load, through the debug server: 20 rounds of 24
# parallel requests (8 each of goroutine?debug=2, heap?debug=1 and
# threadcreate?debug=1) against prog_taskprof busy, whose tasks spawn,
# allocate (sampled: a walk at allocation time, some from a qsort
# comparator, up through libc frames without frame pointers) and block,
# while a thread creates short-lived registered threads (a walk at each
# creation). Every goroutine?debug=2 dump walks every running thread by
# signal, interrupting it anywhere: in libc or libdw code that uses the
# frame-pointer register for data, often a pointer into its own stack.
# Fails on any answer but 200, a server that dies, a program that does not
# exit 0 on SIGTERM, or a sanitizer report (the ASan build checks every
# word the walks load).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prog="$build/tests/prog_taskprof"
[[ -x $prog ]] || fail "$prog is not built"

rounds=20
# Sampled allocations every 64 KiB (default 512 KiB): more walks at
# allocation time, and heap?debug=1 lists more stacks.
CDEBUG=http=127.0.0.1:0,memprofilerate=65536 start busy 'listening on' "$prog" busy
base="http://127.0.0.1:$port/debug/pprof"

# died MESSAGE: fails with the head of the program's report first (where
# the walk was and what it read), which fail's tail of stderr leaves out.
died() {
    grep -E -A6 '^==[0-9]+==ERROR|runtime error:' "$tmp/busy.err" | head -n 12 >&2 || true
    fail "$@"
}

t0=$SECONDS
for ((r = 1; r <= rounds; r++)); do
    cpids=()
    for ((i = 0; i < 8; i++)); do
        for q in 'goroutine?debug=2' 'heap?debug=1' 'threadcreate?debug=1'; do
            f="$tmp/r$r.$i.${q%%\?*}"
            curl -sS --max-time 30 -o "$f.body" -w '%{http_code}' "$base/$q" >"$f.code" 2>"$f.curl" &
            cpids+=($!)
        done
    done
    for p in "${cpids[@]}"; do
        wait "$p" || true # the code says what happened (000: no answer)
    done
    for f in "$tmp"/r$r.*.code; do
        code=$(cat "$f")
        if [[ $code != 200 ]]; then
            cat "${f%.code}.curl" >&2
            died "round $r: ${f##*/}: status $code"
        fi
    done
    kill -0 "$pid" 2>/dev/null || died "round $r: the program died"
    grep -Eq 'Sanitizer|runtime error:' "$tmp/busy.err" && died "round $r: sanitizer report"
    # The answers are the profiles asked for, not error pages.
    grep -q '^goroutine [0-9]* \[' "$tmp/r$r.0.goroutine.body" || fail "round $r: goroutine?debug=2 body"
    grep -q '^heap profile: ' "$tmp/r$r.0.heap.body" || fail "round $r: heap?debug=1 body"
    grep -q '^threadcreate profile: total ' "$tmp/r$r.0.threadcreate.body" ||
        fail "round $r: threadcreate?debug=1 body"
    rm -f "$tmp"/r$r.*
done
ok "$rounds rounds of 24 parallel goroutine?debug=2, heap?debug=1, threadcreate?debug=1: all 200 ($((SECONDS - t0)) s)"

stop busy "$pid"
grep -qx done "$tmp/busy.out" || fail "busy did not finish"
ok "the program ran on and exited cleanly"

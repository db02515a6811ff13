#!/usr/bin/env bash
# Heap profiling under concurrency (prof/heapprof.c): four tasks allocate,
# cd_free, cd_realloc and cd_strdup objects of random sizes while the main
# thread collects and renders the heap and allocs profiles in both formats,
# at the default rate and at memprofilerate=1 (every allocation takes the
# sampling path: the record table, the filter and the link registrations
# all race). Passes when every render succeeds, the program exits 0 and no
# sanitizer reports anything; under TSan (make test-tsan, GC_DONT_GC=1) it
# is the heap profiler's race check.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prog="$build/tests/prog_heapprof"
secs=5
[[ -n $sanitize ]] && secs=3
for rate in 524288 1; do
    CDEBUG=memprofilerate=$rate timeout -k 5 300 "$prog" stress "$secs" \
        >"$tmp/st$rate.out" 2>"$tmp/st$rate.err" || {
        show "$tmp/st$rate.err"
        fail "stress at memprofilerate=$rate failed"
    }
    check_sanitizer "st$rate"
    grep -Eq '^stress ok renders=[1-9]' "$tmp/st$rate.out" || { show "$tmp/st$rate.out"; fail "no render"; }
    ok "stress at memprofilerate=$rate: $(cat "$tmp/st$rate.out")"
done

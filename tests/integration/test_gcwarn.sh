#!/usr/bin/env bash
# tests/integration/test_gcwarn.sh - bdwgc's own warnings go through cdebug:
# a program that makes bdwgc warn "Repeated allocation of very large
# block" many times a second gets lines that start "cdebug: gc: ", one line
# each (bdwgc's "\n\t" continuation joined), at most one per second for the
# message, the rest counted, and no raw "GC Warning:" line, with gctrace's
# lines around them as usual.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prog=$build/tests/prog_gcwarn
built "$prog"

blocks=24
[[ -n $sanitize ]] && blocks=16
# bdwgc's GC_LARGE_ALLOC_WARN_INTERVAL=1: warn at every such block, not every 5th.
start_ns=$(date +%s%N)
run_timeout=60 run 0 env GC_LARGE_ALLOC_WARN_INTERVAL=1 CDEBUG=gctrace=1 "$prog" "$blocks" 256
secs=$(( ($(date +%s%N) - start_ns + 999999999) / 1000000000 ))
grep -q "^allocated $blocks blocks" "$tmp/out" || fail "prog_gcwarn did not finish"

raw=$(grep -m 1 'GC Warning' "$tmp/err" || true)
[[ -z $raw ]] || fail "a raw bdwgc line on stderr: $raw"
grep -q $'^\t' "$tmp/err" && fail "a bdwgc continuation line (tab) on stderr: $(grep -m 1 $'^\t' "$tmp/err")"
want='^cdebug: gc: Repeated allocation of very large block \(appr\. size [0-9]+\): May lead to memory leak and poor performance( \([0-9]+ more suppressed since the last such line\))?$'
grep -E '^cdebug: gc: ' "$tmp/err" >"$tmp/warn" || true
n=$(wc -l <"$tmp/warn")
((n >= 1)) || { show "$tmp/err"; fail "no 'cdebug: gc: ' line: bdwgc did not warn, or its warning was lost"; }
bad=$(grep -Ev "$want" "$tmp/warn" | head -n 1 || true)
[[ -z $bad ]] || fail "a gc warning line not in the documented shape: $bad"
# At most one line a second for the message: n <= the run's whole seconds + 1.
((n <= secs + 1)) || { show "$tmp/warn"; fail "$n warning lines in $secs s: not rate-limited"; }
grep -Eq '^gc [0-9]+ @' "$tmp/err" || fail "no gctrace line next to the warnings"
ok "$n 'cdebug: gc:' lines in $secs s, no raw bdwgc warning"

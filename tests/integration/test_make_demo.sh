#!/usr/bin/env bash
# tests/integration/test_make_demo.sh - `make demo` ends cleanly: status 0,
# gctrace and schedtrace lines of the leaking program on the way, and a
# last line that says what was shown and where to read on.
#
# It runs the demo's own target, demo-run (`make demo` is `make build` and
# then demo-run; building here would reconfigure this build directory), on
# this build's examples/leak, bounded in time.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
built "$build/examples/leak"
need make make

st=0
timeout -k 5 60 make --no-print-directory -C "$src" demo-run BUILD="$build" \
    >"$tmp/demo.out" 2>"$tmp/demo.err" || st=$?
cat "$tmp/demo.out" "$tmp/demo.err" >"$tmp/all"
check_sanitizer "$tmp/demo.err"
((st == 0)) || { show "$tmp/all"; fail "make demo-run: exit $st, want 0"; }
bad=$(grep -m 1 'Error\|(ignored)' "$tmp/all" || true)
[[ -z $bad ]] || fail "make demo-run printed an error line: $bad"
grep -Eq '^gc [0-9]+ @' "$tmp/demo.err" || { show "$tmp/demo.err"; fail "no gctrace line"; }
grep -Eq '^SCHED [0-9]+ms: ' "$tmp/demo.err" || { show "$tmp/demo.err"; fail "no schedtrace line"; }
grep -Eq '^leak: stopped after 5 s, map has [1-9][0-9]* entries$' "$tmp/demo.out" ||
    { show "$tmp/demo.out"; fail "leak did not say it stopped after 5 s with its map's size"; }
last=$(tail -n 1 "$tmp/demo.out")
[[ $last == "== shown: gctrace and schedtrace lines of a leaking program"* ]] ||
    fail "last line is \"$last\", want the demo's summary"
# Every file the summary points to exists.
for f in $(grep -o '[A-Za-z/_-]*\.md' <<<"$last"); do
    [[ -f $src/$f ]] || fail "the summary points to $f, which does not exist"
done
ok "make demo-run: exit 0, gc and SCHED lines, last line: $last"

for bad in --duration=0 --duration=5s --duration=+5 --duration= --bogus; do
    run 2 "$build/examples/leak" "$bad"
    grep -q '^usage: ' "$tmp/err" || fail "leak $bad: no usage line"
done
ok "leak refuses a bad --duration"

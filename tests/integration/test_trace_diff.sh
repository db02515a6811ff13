#!/usr/bin/env bash
# cdebug-trace diff: exact changes between two traces with a known change
# (tests/integration/prog_diff_gen.c), --fail-if conditions and exit
# statuses, malformed expressions, bad inputs, JSON that agrees with
# `stats --json`, and a pair of real traces (tests/integration/prog_lint.c).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
gen="$build/tests/prog_diff_gen"
prog="$build/tests/prog_lint"
tool="$build/viewer/cdebug-trace"

# row SUBJECT METRIC BEFORE AFTER CHANGE: the text report has that row
# under that subject's heading.
row() {
  awk -v subj="$1" -v m="$2" -v b="$3" -v a="$4" -v c="$5" '
    /^[^ ]/ { in_subj = ($0 == subj) }
    in_subj && $1 == m { found = 1; ok = ($2 == b && $3 == a && $4 == c); exit }
    END { exit !(found && ok) }' "$tmp/out" \
    || fail "row $1 $2: want '$3 $4 $5', have '$(awk -v s="$1" -v m="$2" \
      '/^[^ ]/ { i = ($0 == s) } i && $1 == m' "$tmp/out")'"
}
B="$tmp/before.trace"
A="$tmp/after.trace"
"$gen" before "$B"
"$gen" after "$A"

# ---- the text report: exact figures
run 0 "$tool" diff "$B" "$A"
[[ ! -s $tmp/err ]] || fail "stderr not empty: $(cat "$tmp/err")"
grep -q "^before: $B: 100.000000ms, [0-9]* events, 0 lost, 2 workers$" "$tmp/out" || fail "before line"
grep -q "^after:  $A: 100.000000ms, [0-9]* events, 5 lost, 2 workers$" "$tmp/out" || fail "after line"
grep -Eq '^ +before +after +change$' "$tmp/out" || fail "column header"
row trace duration 100.000000ms 100.000000ms +0.0%
row trace lost 0 5 +5
row task:search count 10 10 +0.0%
row task:search mean 1.000000ms 2.000000ms +100.0%
row task:search p50 1.000000ms 2.000000ms +100.0%
row task:search p99 1.000000ms 2.000000ms +100.0%
row task:search max 1.000000ms 2.000000ms +100.0%
row task:search total 10.000000ms 20.000000ms +100.0%
row task:search wait_p99 0.100000ms 0.300000ms +200.0%
row task:search blocked 0.000000ms 0.000000ms +0.0%
row task:index mean 3.000000ms 3.000000ms +0.0%
row task:index blocked 2.000000ms 1.000000ms -50.0%
row task:index wait_p99 0.050000ms 0.050000ms +0.0%
row task:old count 2 - gone
row task:old p99 1.000000ms - gone
row task:fresh count - 3 new
row task:fresh mean - 0.500000ms new
row region:query count 10 10 +0.0%
row region:query p99 1.000000ms 1.500000ms +50.0%
row usertask:request p99 4.000000ms 4.000000ms +0.0%
row gc count 2 4 +100.0%
row gc pause_p50 0.200000ms 0.300000ms +50.0%
row gc pause_p99 0.200000ms 0.300000ms +50.0%
row gc pause_max 0.200000ms 0.300000ms +50.0%
row gc pause_total 0.400000ms 1.200000ms +200.0%
row gc pause_pct 0.40% 1.20% +200.0%
row gc heap_after 1048576B 4194304B +300.0%
row gc mmu_1ms 80.00% 70.00% -12.5%
row gc mmu_1s - - -
# Subjects in order: trace, tasks by total time (search 20 ms, index 12 ms,
# old 2 ms, fresh 1.5 ms, "fetch (v2)" 1 ms), regions, user tasks, gc.
grep '^[a-z]' "$tmp/out" | grep -v '^before:\|^after:' | tr '\n' ' ' >"$tmp/heads"
[[ $(cat "$tmp/heads") == "trace task:search task:index task:old task:fresh task:fetch (v2) region:query usertask:request gc " ]] \
  || fail "subject order: $(cat "$tmp/heads")"
# Aligned: the column header and every metric row (values right-aligned)
# have the same length.
[[ $(grep -E '^  ' "$tmp/out" | awk '{ print length($0) }' | sort -u | wc -l) == 1 ]] \
  || fail "columns not aligned"

# ---- JSON: the same figures, and each side agrees with stats --json
run 0 "$tool" diff --json "$B" "$A"
cp "$tmp/out" "$tmp/diff.json"
jq -e . "$tmp/diff.json" >/dev/null || fail "diff --json is not JSON"
j() { jq -r "$1" "$tmp/diff.json"; }
[[ $(j '.tasks[] | select(.name == "search") | .metrics.p99 | "\(.before) \(.after) \(.delta) \(.change_pct)"') \
  == "1000000 2000000 1000000 100" ]] || fail "json search p99"
[[ $(j '.tasks[] | select(.name == "old") | "\(.status) \(.metrics.count.after) \(.metrics.p99.after)"') \
  == "gone 0 null" ]] || fail "json old"
[[ $(j '.tasks[] | select(.name == "fresh") | .status') == new ]] || fail "json fresh"
[[ $(j '.gc.pause_p99 | "\(.before) \(.after) \(.change_pct)"') == "200000 300000 50" ]] \
  || fail "json gc pause_p99"
[[ $(j '.trace.lost | "\(.before) \(.after) \(.delta) \(.change_pct)"') == "0 5 5 null" ]] \
  || fail "json lost"
[[ $(j '.before.file') == "$B" && $(j '.after.lost_events') == 5 ]] || fail "json headers"
[[ $(j '.conditions | length') == 0 ]] || fail "json conditions"
for side in before after; do
  f=$B; [[ $side == after ]] && f=$A
  "$tool" stats --json "$f" >"$tmp/stats.json"
  s() { jq -r "$1" "$tmp/stats.json"; }
  # diff's value ;; the same figure in stats --json
  for pair in \
    ".trace.duration.$side ;; .trace.duration_ns" \
    ".trace.events.$side ;; .trace.events" \
    ".trace.parallelism.$side ;; .parallelism.average" \
    ".gc.count.$side ;; .gc.count" \
    ".gc.pause_max.$side ;; .gc.pause_ns.max" \
    ".gc.heap_peak.$side ;; .gc.heap_peak" \
    ".gc.pause_pct.$side ;; .gc.pause_pct" \
    ".tasks[] | select(.name == \"index\") | .metrics.mean.$side ;; .tasks[] | select(.name == \"index\") | .exec_ns.mean" \
    ".regions[] | select(.name == \"query\") | .metrics.p99.$side ;; .regions[] | select(.name == \"query\") | .latency_ns.p99" \
    ".user_tasks[] | select(.name == \"request\") | .metrics.count.$side ;; .user_tasks[] | select(.name == \"request\") | .latency_ns.count"; do
    dv=$(j "${pair%% ;; *}")
    sv=$(s "${pair#* ;; }")
    [[ -n $dv && -n $sv && $dv != null ]] || fail "$side: ${pair%% ;; *}: '$dv' vs '$sv'"
    awk -v a="$dv" -v b="$sv" 'BEGIN { d = a - b; if (d < 0) d = -d; if (b < 0) b = -b
      exit !(d <= 0.0001 * b + 0.0001) }' || fail "$side: diff ${pair%% ;; *} = $dv, stats ${pair#* ;; } = $sv"
  done
  for w in 0 1 2; do
    name=$(s ".mmu[$w].window_ns / 1000000 | tostring | \"mmu_\" + . + \"ms\"")
    dv=$(j ".gc.$name.$side")
    sv=$(s ".mmu[$w].mmu")
    awk -v a="$dv" -v b="$sv" 'BEGIN { d = a - b * 100; exit !(d < 0.0001 && d > -0.0001) }' \
      || fail "$side: $name $dv vs stats $sv"
  done
done

# ---- --fail-if: met (exit 3, the condition and its numbers on stderr) or not (0)
met() { # EXPR STDERR-PATTERN: the line names the condition, then its numbers
  run 3 "$tool" diff --fail-if "$1" "$B" "$A"
  one_line_err "$2"
  grep -qF "cdebug-trace: diff: condition met: $1: " "$tmp/err" || fail "'$1': $(cat "$tmp/err")"
  grep -q '^task:search$' "$tmp/out" || fail "the report is printed when a condition is met"
}
not_met() { # EXPR
  run 0 "$tool" diff --fail-if "$1" "$B" "$A"
  [[ ! -s $tmp/err ]] || fail "'$1' not met: stderr $(cat "$tmp/err")"
}
met 'p99(task:search) > +10%' 'p99(task:search) > +10%: 1.000000ms -> 2.000000ms (+100.0%)$'
not_met 'p99(task:search) > +100%'
met 'p99(task:search) >= +100%' 'p99(task:search) >= +100%: 1.000000ms -> 2.000000ms (+100.0%)$'
met 'p99(task:search)>+99.5%' '+100.0%'
not_met 'p99(task:search) < -10%'
not_met 'mean(task:index) > +1%'
met 'blocked(task:index) < -40%' '2.000000ms -> 1.000000ms (-50.0%)$'
not_met 'blocked(task:index) < -50%'
met 'wait_p99(task:search) > +150us' '0.100000ms -> 0.300000ms (+0.200000ms)$'
not_met 'wait_p99(task:search) > +0.2ms'
met 'pause_p99(gc) > 250us' 'pause_p99(gc) > 250us: 0.200000ms -> 0.300000ms (after)$'
not_met 'pause_p99(gc) > 300us'
met 'pause_p99(gc) >= 0.3ms' '0.300000ms (after)'
not_met 'pause_p99(gc) > 1s'
met 'count(gc) >= 4' 'count(gc) >= 4: 2 -> 4 (after)$'
met 'count(gc) > +1' '2 -> 4 (+2)$'
met 'heap_after(gc) > 3MB' '1048576B -> 4194304B (after)$'
not_met 'heap_after(gc) > 4MiB'
met 'pause_pct(gc) > 1%' '0.40% -> 1.20% (after)$'
met 'pause_pct(gc) > 1' '0.40% -> 1.20%'
not_met 'pause_pct(gc) > +200%'
met 'lost(trace) > 0' 'lost(trace) > 0: 0 -> 5 (after)$'
met 'lost(trace) > +0%' '0 -> 5 (from 0)$'
met 'count(task:fresh) > 0' '0 -> 3 (after)$'
met 'count(task:old) < 1' '2 -> 0 (after)$'
met 'p99(region:query) > +40%' '(+50.0%)$'
not_met 'p99(usertask:request) > +0%'
# Names may hold spaces and parentheses: the subject ends at the last ')'.
not_met 'p99(task:fetch (v2)) > +0%'
met 'count(task:fetch (v2)) >= 1' 'count(task:fetch (v2)) >= 1: 1 -> 1 (after)$'
# A name the other trace lacks: not evaluated, noted, not met.
run 0 "$tool" diff --fail-if 'p99(task:old) > 1ms' "$B" "$A"
one_line_err "note: --fail-if 'p99(task:old) > 1ms': p99 has no value in AFTER; not evaluated"
# Several conditions: each met one reported, exit 3.
run 3 "$tool" diff --fail-if 'p99(task:search) > +10%' --fail-if='count(gc) > 100' \
  --fail-if 'pause_max(gc) > +10%' "$B" "$A"
[[ $(wc -l <"$tmp/err") == 2 ]] || fail "two conditions met: $(cat "$tmp/err")"
grep -q 'p99(task:search)' "$tmp/err" && grep -q 'pause_max(gc)' "$tmp/err" || fail "which ones"
# In JSON too.
run 3 "$tool" diff --json --fail-if 'p99(task:search) > +10%' --fail-if 'count(gc) > 100' "$B" "$A"
[[ $(jq -c '[.conditions[] | [.expr, .met, .before, .after]]' "$tmp/out") \
  == '[["p99(task:search) > +10%",true,1000000,2000000],["count(gc) > 100",false,2,4]]' ]] \
  || fail "json conditions: $(jq -c .conditions "$tmp/out")"

# ---- malformed expressions and unknown subjects: one error line, exit 2
bad() { # EXPR PATTERN
  run 2 "$tool" diff --fail-if "$1" "$B" "$A"
  one_line_err "$2"
  [[ ! -s $tmp/out ]] || fail "'$1': no report expected"
}
bad 'p99(task:search) >> +10%' 'expected a threshold'
bad 'p99 task:search > +10%' 'expected METRIC(SUBJECT) OP THRESHOLD'
bad 'p999(task:search) > +10%' 'unknown metric "p999"'
bad 'wait_p99(gc) > 1ms' 'wait_p99 does not apply to gc'
bad 'pause_p99(task:search) > 1ms' 'pause_p99 does not apply to task'
bad 'p99(task:search) > 10' 'p99 is a duration: give a unit'
bad 'p99(task:search) > 10%' 'a relative change has a sign'
bad 'p99(task:search) > 5kg' 'unknown unit'
bad 'p99(task:search) > 5MB' 'p99 is a duration: its unit is'
bad 'heap_after(gc) > 5ms' 'heap_after is a size'
bad 'count(task:search) > 5ms' 'count has no unit'
bad 'p99(task:search) > +1e3%' 'not a plain decimal number'
bad 'p99(task:search) > 0x10ms' 'not a plain decimal number'
bad 'p99(task:search) > ' 'expected a threshold'
bad 'p99(task:search) = 1ms' 'expected an operator'
bad 'p99(task:search) > 1ms and more' 'unexpected text after the threshold'
bad 'p99(task:) > +10%' 'need a name'
bad 'p99(gc:x) > 1ms' 'trace and gc take no name'
bad 'p99(thing:x) > 1ms' 'the subject is trace, gc'
bad 'p99(task:serch) > +10%' 'no task named "serch" in either trace'
bad 'p99(region:nope) > +10%' 'no region named "nope" in either trace'
has_err() { grep -q -- "$1" "$tmp/err" || { cat "$tmp/err" >&2; fail "stderr lacks '$1'"; }; }
run 2 "$tool" diff --fail-if
has_err '--fail-if needs an expression'

# ---- usage and bad input
# Usage errors: the error, then the usage text, on stderr.
run 2 "$tool" diff "$B"
has_err 'needs two traces'
grep -q '^usage: cdebug-trace diff' "$tmp/err" || fail "usage on stderr"
run 2 "$tool" diff "$B" "$A" "$A"
has_err 'two traces only'
run 2 "$tool" diff --bogus "$B" "$A"
has_err 'unknown flag --bogus'
run 2 "$tool" diff - -
one_line_err 'only one of the traces can be standard input'
run 0 "$tool" diff --help
grep -q '^usage: cdebug-trace diff' "$tmp/out" || fail "--help on stdout"
grep -q 'p99(task:search) > +10%' "$tmp/out" || fail "--help shows the grammar"
run 0 "$tool" help
grep -q '^  diff ' "$tmp/out" || fail "cdebug-trace help lists diff"
run 1 "$tool" diff "$tmp/missing.trace" "$A"
one_line_err "missing.trace: no such file or directory"
run 1 "$tool" diff "$B" "$tmp/missing.trace"
one_line_err "missing.trace: no such file or directory"
printf 'not a trace\n' >"$tmp/text.trace"
run 1 "$tool" diff "$B" "$tmp/text.trace"
one_line_err "not a cdebug trace"
: >"$tmp/empty.trace"
run 1 "$tool" diff "$tmp/empty.trace" "$A"
one_line_err "empty or truncated"
# Standard input for one of them.
"$tool" diff - "$A" <"$B" >"$tmp/stdin.out" || fail "diff - AFTER"
grep -q '^  p99  *1.000000ms  *2.000000ms  *+100.0%$' "$tmp/stdin.out" || fail "stdin figures"
# A truncated AFTER: analysed with a warning, still exit 0.
head -c $(($(stat -c %s "$A") - 30)) "$A" >"$tmp/trunc.trace"
run 0 "$tool" diff "$B" "$tmp/trunc.trace"
grep -q 'warning: .*truncated' "$tmp/err" || fail "truncated: warning"
grep -q '^after:  .*, truncated$' "$tmp/out" || fail "truncated: after line"
# The same trace twice: no change anywhere.
run 0 "$tool" diff --fail-if 'p99(task:search) > +0%' --fail-if 'count(gc) < -0%' "$A" "$A"
if grep -E '^  [a-z]' "$tmp/out" | grep -vE ' (\+0\.0%|-)$'; then fail "a change between a trace and itself"; fi

# ---- a pair of real traces: the healthy program vs its serial version
CDEBUG="trace=$tmp/healthy.trace" CDMAXPROCS=2 timeout 120 "$prog" healthy >/dev/null
CDEBUG="trace=$tmp/serial.trace" CDMAXPROCS=4 timeout 120 "$prog" low-parallelism >/dev/null
run 0 "$tool" diff "$tmp/healthy.trace" "$tmp/serial.trace"
[[ ! -s $tmp/err ]] || fail "real pair: stderr $(cat "$tmp/err")"
awk '/^task:work$/ { w = 1 } w && $1 == "count" { exit !($2 == 1000 && $3 == "-" && $4 == "gone") }' \
  "$tmp/out" || fail "real pair: task:work gone"
awk '/^task:serial$/ { s = 1 } s && $1 == "count" { exit !($2 == "-" && $3 == 1 && $4 == "new") }' \
  "$tmp/out" || fail "real pair: task:serial new"
grep -q '^region:spawn$' "$tmp/out" && grep -q '^usertask:wave$' "$tmp/out" || fail "real pair: regions"
# Conditions on real traces (not on timings: the machine is shared).
run 3 "$tool" diff --fail-if 'count(task:work) < -99%' --fail-if 'p99(task:serial) > 100ms' \
  "$tmp/healthy.trace" "$tmp/serial.trace"
[[ $(wc -l <"$tmp/err") == 2 ]] || fail "real pair: two conditions met: $(cat "$tmp/err")"
grep -q 'condition met: count(task:work) < -99%: 1000 -> 0 (-100.0%)$' "$tmp/err" \
  || fail "real pair: $(cat "$tmp/err")"
run 0 "$tool" diff --json "$tmp/healthy.trace" "$tmp/serial.trace"
jq -e '.tasks | length == 2' "$tmp/out" >/dev/null || fail "real pair json: two task names"

echo "test_trace_diff: ok"

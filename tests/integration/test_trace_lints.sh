#!/usr/bin/env bash
# cdebug-trace stats: each lint fires on a program of the real runtime built
# to trigger it (tests/integration/prog_lint.c), names the numbers behind
# it, and stays quiet on a healthy program.
#
# For each mode: run the program with CDEBUG=trace=FILE, then `stats` and
# `stats --json`; the set of lint ids (JSON lints[].id) must be exactly the
# expected one, every lint of the JSON report must appear in the text
# report, and the numbers it prints must agree with the JSON tables.
#
# The programs' margins to the thresholds are wide (wall-clock spins), but
# the machine is shared and a thread can be descheduled for milliseconds:
# a mode whose lint set is not the expected one is run again, up to 3 times
# in all, before the test fails.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prog="$build/tests/prog_lint"
tool="$build/viewer/cdebug-trace"

# jget FILE FILTER: a value of a JSON report (jq filter, raw output).
jget() { jq -r "$2" "$1"; }
# The lint ids of a stats --json output, sorted, space-separated.
lint_ids() { jq -r '[.lints[].id] | sort | join(" ")' "$1"; }
# awk_true EXPR: succeeds when the awk expression (on numbers) is true.
awk_true() { awk "BEGIN { exit !($1) }"; }

# trace MODE PROCS: runs the program; the trace in $tmp/MODE.trace.
trace() {
  local mode=$1 procs=$2 f="$tmp/$1.trace"
  rm -f "$f"
  if [[ $mode == lost-events ]]; then
    CDMAXPROCS=$procs timeout 120 "$prog" "$mode" "$f" >"$tmp/prog.out" 2>"$tmp/prog.err" \
      || { cat "$tmp/prog.err" >&2; fail "prog_lint $mode"; }
  else
    CDEBUG="trace=$f" CDMAXPROCS=$procs timeout 120 "$prog" "$mode" >"$tmp/prog.out" \
      2>"$tmp/prog.err" || { cat "$tmp/prog.err" >&2; fail "prog_lint $mode"; }
  fi
  [[ $(cat "$tmp/prog.out") == ok ]] || fail "prog_lint $mode did not print ok"
}

# check MODE PROCS EXPECTED [ALLOWED]: the lints of the mode's trace are
# exactly EXPECTED (space-separated sorted ids, may be empty), apart from
# ALLOWED ones. Leaves $tmp/MODE.txt and $tmp/MODE.json.
check() {
  local mode=$1 procs=$2 want=$3 allowed=${4:-} got="" rest attempt id
  for attempt in 1 2 3; do
    trace "$mode" "$procs"
    "$tool" stats "$tmp/$mode.trace" >"$tmp/$mode.txt" 2>"$tmp/stats.err" \
      || { cat "$tmp/stats.err" >&2; fail "stats $mode"; }
    "$tool" stats --json "$tmp/$mode.trace" >"$tmp/$mode.json" 2>"$tmp/stats.err" \
      || { cat "$tmp/stats.err" >&2; fail "stats --json $mode"; }
    [[ ! -s $tmp/stats.err ]] || fail "stats $mode: stderr: $(cat "$tmp/stats.err")"
    got=$(lint_ids "$tmp/$mode.json")
    rest=" $got "
    for id in $allowed; do rest=${rest// $id / }; done
    rest=$(echo $rest)
    [[ $rest == "$want" ]] && break
    echo "note: $mode attempt $attempt: lints [$got], want [$want]" >&2
    sed -n '/^Lints/,$p' "$tmp/$mode.txt" >&2
    [[ $attempt != 3 ]] || fail "$mode: lints [$got], want [$want]${allowed:+ (and maybe $allowed)}"
  done
  # Every lint of the JSON report is printed, summary, evidence and what to
  # look at next, in the text report.
  jq -r '.lints[] | .summary, .evidence, .next' "$tmp/$mode.json" >"$tmp/lint_lines"
  [[ $(wc -l <"$tmp/lint_lines") == $((3 * $(jq '.lints | length' "$tmp/$mode.json"))) ]] \
    || fail "$mode: a lint field is missing or spans lines"
  while IFS= read -r l; do
    [[ -n $l ]] || fail "$mode: an empty lint field"
    grep -qF -- "$l" "$tmp/$mode.txt" || fail "$mode: '$l' (JSON) not in the text report"
  done <"$tmp/lint_lines"
  if [[ -z $got ]]; then
    grep -A1 '^Lints' "$tmp/$mode.txt" | grep -q 'no findings' || fail "$mode: 'no findings'"
  fi
}

# lint_text MODE ID: the text report's summary line of lint ID and the
# evidence line after it.
lint_text() { grep -A1 "^  \[$2\] " "$tmp/$1.txt"; }

# ---- healthy: parallel, short tasks, no collection, nothing lost: no lint
check healthy 2 ""
avg=$(jget "$tmp/healthy.json" .parallelism.average)
awk_true "$avg > 1.1" || fail "healthy: parallelism $avg"
[[ $(jget "$tmp/healthy.json" '.tasks[] | select(.name == "work") | .count') == 1000 ]] \
  || fail "healthy: 1000 tasks \"work\""
[[ $(jget "$tmp/healthy.json" '"\(.gc.count) \(.trace.lost_events)"') == "0 0" ]] \
  || fail "healthy: collections and lost events: $(jget "$tmp/healthy.json" '[.gc.count, .trace.lost_events]')"

# ---- low-parallelism: a chain of tasks on 4 workers
check low-parallelism 4 "low-parallelism"
line=$(lint_text low-parallelism low-parallelism)
[[ $line =~ only\ ([0-9.]+)\ of\ 4\ workers ]] || fail "low-parallelism text: $line"
awk_true "0.5 < ${BASH_REMATCH[1]} && ${BASH_REMATCH[1]} <= 2.2" \
  || fail "low-parallelism: ${BASH_REMATCH[1]} workers busy"
[[ $line =~ tasks\ ran\ during\ [0-9.]+%\ of\ the\ trace ]] || fail "low-parallelism evidence"

# ---- gc-pause: a live heap of 100,000 objects marked with the world stopped
check gc-pause 1 "gc-pause"
line=$(lint_text gc-pause gc-pause)
n=$(jget "$tmp/gc-pause.json" .gc.count)
[[ $line =~ of\ $n\ collections\ stopped\ the\ world\ for\ more\ than\ 100\ us ]] \
  || fail "gc-pause text (count $n): $line"
max_us=$(jget "$tmp/gc-pause.json" '.gc.pause_ns.max / 1000 | floor')
((max_us > 100)) || fail "gc-pause: max pause ${max_us}us"
[[ $line =~ max\ ([0-9.]+)(us|ms|s)\ \(collection ]] || fail "gc-pause evidence: $line"
case ${BASH_REMATCH[2]} in us) mult=1 ;; ms) mult=1000 ;; *) mult=1000000 ;; esac
v="${BASH_REMATCH[1]} * $mult" # printed with 3 significant digits
awk_true "$v - $max_us <= 0.01 * $max_us + 1 && $max_us - $v <= 0.01 * $max_us + 1" \
  || fail "gc-pause: printed max ${BASH_REMATCH[0]} vs ${max_us}us"

# ---- heap-growth: the heap after collection grows at every one. Every
# bdwgc collection stops the world for 0.1-0.5 ms here, even on an almost
# empty heap (prog_lint.c), so gc-pause may fire as well.
check heap-growth 1 "heap-growth" "gc-pause"
line=$(lint_text heap-growth heap-growth)
n=$(jget "$tmp/heap-growth.json" .gc.count)
((n >= 6)) || fail "heap-growth: $n collections"
[[ $line =~ grew\ at\ every\ one\ of\ $n\ collections ]] || fail "heap-growth text ($n): $line"
last=$(jget "$tmp/heap-growth.json" .gc.heap_last_after)
((last >= 6 * 1024 * 1024)) || fail "heap-growth: heap after the last collection $last"
[[ $line =~ ([0-9.]+)\ MB\ after\ the\ last ]] || fail "heap-growth evidence: $line"
awk_true "${BASH_REMATCH[1]} - $last / 1e6 < 0.01 && $last / 1e6 - ${BASH_REMATCH[1]} < 0.01" \
  || fail "heap-growth: printed ${BASH_REMATCH[1]} MB vs $last bytes"

# ---- sched-wait: tasks queued behind each other on one worker
check sched-wait 1 "sched-wait"
line=$(lint_text sched-wait sched-wait)
[[ $line =~ tasks\ \"queued\"\ wait\ long.*p99\ ([0-9.]+)ms ]] || fail "sched-wait text: $line"
p99=$(jget "$tmp/sched-wait.json" '.tasks[] | select(.name == "queued") | .wait_ns.p99')
((p99 > 100000000)) || fail "sched-wait: p99 wait ${p99}ns"
awk_true "${BASH_REMATCH[1]} * 1e6 - $p99 <= 0.01 * $p99 && $p99 - ${BASH_REMATCH[1]} * 1e6 <= 0.01 * $p99" \
  || fail "sched-wait: printed p99 ${BASH_REMATCH[1]}ms vs ${p99}ns"

# ---- long-task: one task computing for 60 ms
check long-task 1 "long-task"
line=$(lint_text long-task long-task)
[[ $line =~ tasks\ \"crunch\"\ run\ for\ ([0-9.]+)ms\ \(p99\)\ without\ ever\ blocking ]] \
  || fail "long-task text: $line"
awk_true "${BASH_REMATCH[1]} >= 55" || fail "long-task: ${BASH_REMATCH[1]}ms"
[[ $(jget "$tmp/long-task.json" '.tasks[] | select(.name == "crunch") | .ever_blocked') == false ]] \
  || fail "long-task: crunch blocked"

# ---- lost-events: the writer blocked on a full pipe, the recorder drops
check lost-events 1 "lost-events"
line=$(lint_text lost-events lost-events)
lost=$(jget "$tmp/lost-events.json" .trace.lost_events)
((lost > 100000)) || fail "lost-events: $lost lost"
[[ $line =~ ^\ \ \[lost-events\]\ $lost\ events\ were\ lost ]] || fail "lost-events text ($lost): $line"
# Events lost plus events read: at least the 4,000,000 region events.
read_ev=$(jget "$tmp/lost-events.json" .trace.events)
((lost + read_ev >= 4000000)) || fail "lost-events: $lost lost + $read_ev read < 4000000"

echo "test_trace_lints: ok"

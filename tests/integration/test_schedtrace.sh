#!/usr/bin/env bash
# CDEBUG=schedtrace=N[,scheddetail=1]: grammar of every line, one bracket
# entry per worker, idleprocs <= gomaxprocs, an idle pool reports every worker
# idle, a busy pool reports queued tasks; the detailed form has one P line per
# worker per report; no SCHED line without schedtrace.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prog=$build/tests/prog_sched

line_re='^SCHED [0-9]+ms: gomaxprocs=([0-9]+) idleprocs=([0-9]+) threads=[0-9]+ spinningthreads=[0-9]+ idlethreads=[0-9]+ runqueue=([0-9]+) \[([0-9 ]+)\]$'

check_lines() { # file procs -> prints "maxqueued allidle lines"
  local f=$1 procs=$2 n=0 maxq=0 allidle=1
  while IFS= read -r l; do
    [[ $l =~ $line_re ]] || fail "bad SCHED line: '$l'"
    local g=${BASH_REMATCH[1]} idle=${BASH_REMATCH[2]} rq=${BASH_REMATCH[3]} br=${BASH_REMATCH[4]}
    ((g == procs)) || fail "gomaxprocs=$g, want $procs: '$l'"
    ((idle <= g)) || fail "idleprocs > gomaxprocs: '$l'"
    read -ra q <<<"$br"
    ((${#q[@]} == procs)) || fail "bracket has ${#q[@]} entries, want $procs: '$l'"
    local sum=$rq
    for x in "${q[@]}"; do sum=$((sum + x)); done
    ((sum > maxq)) && maxq=$sum
    ((idle == g)) || allidle=0
    n=$((n + 1))
  done < <(grep '^SCHED' "$f" || true)
  echo "$maxq $allidle $n"
}

# Idle pool: every report shows every worker idle.
CDEBUG=schedtrace=100 CDMAXPROCS=2 "$prog" idle 700 >"$tmp/out" 2>"$tmp/err"
read -r maxq allidle n < <(check_lines "$tmp/err" 2)
((n >= 5)) || fail "idle: only $n SCHED lines in 700 ms at 100 ms"
((allidle == 1)) || fail "idle: a report shows a busy worker"
((maxq == 0)) || fail "idle: queued tasks reported ($maxq)"
grep -qv '^SCHED' "$tmp/err" && fail "idle: unexpected stderr: $(grep -v '^SCHED' "$tmp/err" | head -3)"

# Busy pool: queues are non-empty in some report.
CDEBUG=schedtrace=100 CDMAXPROCS=2 "$prog" busy 1000 >"$tmp/out" 2>"$tmp/err"
read -r maxq allidle n < <(check_lines "$tmp/err" 2)
((n >= 5)) || fail "busy: only $n SCHED lines"
((maxq > 0)) || fail "busy: no report shows queued tasks"
grep -q '^tasks=[1-9]' "$tmp/out" || fail "busy: no tasks ran"

# Three workers: the bracket follows CDMAXPROCS.
CDEBUG=schedtrace=100 CDMAXPROCS=3 "$prog" busy 400 >"$tmp/out" 2>"$tmp/err"
check_lines "$tmp/err" 3 >/dev/null

# scheddetail=1: Go's detailed shape.
CDEBUG=schedtrace=200,scheddetail=1 CDMAXPROCS=2 "$prog" busy 700 >"$tmp/out" 2>"$tmp/err"
reports=$(grep -c '^SCHED' "$tmp/err")
((reports >= 3)) || fail "detail: $reports reports"
plines=$(grep -cE '^  P[0-9]+: status=[01] schedtick=[0-9]+ syscalltick=[0-9]+ m=-?[0-9]+ runqsize=[0-9]+ gfreecnt=[0-9]+$' "$tmp/err")
((plines == 2 * reports)) || fail "detail: $plines P lines for $reports reports"
grep -qE '^SCHED [0-9]+ms: gomaxprocs=2 idleprocs=[0-9]+ threads=[0-9]+ spinningthreads=[0-9]+ idlethreads=[0-9]+ runqueue=[0-9]+$' "$tmp/err" ||
  fail "detail: first line shape"
grep -qE '^  M[0-9]+: p=-?[0-9]+ curg=-?[0-9]+ spinning=(true|false) blocked=(true|false)$' "$tmp/err" ||
  fail "detail: no M line"
grep -qE '^  G[0-9]+: status=2\(\) m=[0-9]+$' "$tmp/err" || fail "detail: no running G line"
grep -qE '^  G[0-9]+: status=1\(\) m=-1$' "$tmp/err" || fail "detail: no runnable G line"
bad=$(grep -vE '^(SCHED |  [PMG][0-9]+: |  \([0-9]+ more tasks not shown\)$)' "$tmp/err" || true)
[[ -z $bad ]] || fail "detail: unexpected lines: $(head -3 <<<"$bad")"

# Off: no SCHED output at all; a bad value warns and stays off.
"$prog" idle 200 >"$tmp/out" 2>"$tmp/err"
grep -q SCHED "$tmp/err" && fail "SCHED output without schedtrace"
CDEBUG=schedtrace=fast "$prog" idle 200 >"$tmp/out" 2>"$tmp/err"
grep -q SCHED "$tmp/err" && fail "SCHED output with a bad schedtrace value"
grep -q 'cdebug: CDEBUG: bad value "fast" for schedtrace ignored' "$tmp/err" || fail "no warning for schedtrace=fast"
echo "schedtrace: all checks passed"

#!/usr/bin/env bash
# CDEBUG=gctrace=1: every stderr line has Go's gctrace grammar, one line per
# collection (count == NumGC after cd_shutdown), numbered 1, 2, 3... in order,
# " (forced)" exactly on the cd_gc() collections (count == NumForcedGC), also
# when tasks collect on several threads; CDGC=off leaves only the forced ones;
# without gctrace there is no gc line at all.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prog=$build/tests/prog_gc
built "$prog"

# fmtNSAsMS output: "0", 0.001-0.099, 0.10-0.99, 1.0-9.9, or whole ms >= 10.
T='(0|0\.[0-9]{2,3}|[1-9]\.[0-9]|[1-9][0-9]+)'
line_re="^gc ([1-9][0-9]*) @[0-9]+\.[0-9]{3}s [0-9]+%: $T\+$T\+$T ms clock, $T\+$T/$T/$T\+$T ms cpu, [0-9]+->[0-9]+->[0-9]+ MB, [0-9]+ MB goal, [0-9]+ P( \(forced\))?$"

# check NAME ENV... -- ARGS: runs prog, checks stderr against stdout's counts.
check() {
  local name=$1; shift
  local envs=()
  while [[ $1 != -- ]]; do envs+=("$1"); shift; done
  shift
  env "${envs[@]}" "$prog" "$@" >"$tmp/out" 2>"$tmp/err" || fail "$name: prog_gc exited $?"
  read -r numgc numforced calls <"$tmp/out" || fail "$name: no counts on stdout"
  local n=0 forced=0 l
  while IFS= read -r l; do
    [[ $l =~ $line_re ]] || fail "$name: line does not match the gctrace grammar: '$l'"
    n=$((n + 1))
    ((BASH_REMATCH[1] == n)) || fail "$name: line $n is numbered ${BASH_REMATCH[1]}: '$l'"
    [[ $l == *" (forced)" ]] && forced=$((forced + 1))
  done <"$tmp/err"
  ((n == numgc)) || fail "$name: $n gc lines but NumGC=$numgc"
  ((forced == numforced)) || fail "$name: $forced forced lines but NumForcedGC=$numforced"
  ((numforced == calls)) || fail "$name: NumForcedGC=$numforced after $calls cd_gc() calls"
  echo "$numgc $numforced"
}

# One thread, garbage plus a forced collection every 250 rounds (about
# 20 MB apart, so bdwgc collects by itself in between even under ASan, whose
# large root set makes bdwgc collect only every ~7 MB).
read -r g f < <(check single CDEBUG=gctrace=1 -- 2000 250)
((g > f)) || fail "single: no automatic collection ($g collections, $f forced)"
((f == 8)) || fail "single: $f forced collections, want 8"

# Collections triggered from tasks on worker threads too.
check tasks CDEBUG=gctrace=1 CDMAXPROCS=2 -- 300 40 3 >/dev/null

# CDGC=off: bdwgc never collects on its own, cd_gc() still does (as Go's
# runtime.GC() with GOGC=off).
read -r g f < <(check off CDEBUG=gctrace=1 CDGC=off -- 200 25)
((g == f && f == 8)) || fail "off: $g collections, $f forced; want 8 and 8"

# A stalled stderr never blocks the collector: with nobody reading until all
# 1500 collections are done (prog_gc says so through $PROG_GC_DONE), the pipe
# (64 KiB) and the ring (256 lines) fill, later lines are dropped and
# counted, and the count is printed once stderr drains. Lines still in order,
# printed + dropped == NumGC.
mkfifo "$tmp/fifo"
(
  exec <"$tmp/fifo"
  for ((i = 0; i < 1200; i++)); do [[ -e $tmp/done ]] && break; sleep 0.1; done
  cat >"$tmp/err"
) &
reader=$!
CDEBUG=gctrace=1 PROG_GC_DONE=$tmp/done "$prog" 1500 1 >"$tmp/out" 2>"$tmp/fifo" ||
  fail "stall: prog_gc failed"
wait "$reader"
read -r numgc _ _ <"$tmp/out"
n=0 dropped=0 last=0
while IFS= read -r l; do
  if [[ $l =~ ^gc:\ ([0-9]+)\ trace\ lines\ dropped$ ]]; then
    dropped=$((dropped + BASH_REMATCH[1]))
    continue
  fi
  [[ $l =~ $line_re ]] || fail "stall: bad line '$l'"
  ((BASH_REMATCH[1] > last)) || fail "stall: line out of order: '$l'"
  last=${BASH_REMATCH[1]}
  n=$((n + 1))
done <"$tmp/err"
((dropped > 0)) || fail "stall: nothing dropped ($n lines, NumGC=$numgc): the test did not stall stderr"
((n + dropped == numgc)) || fail "stall: $n lines + $dropped dropped != NumGC=$numgc"

# gctrace unset, or 0: no gc line, and nothing else on stderr either.
for setting in "" "gctrace=0"; do
  CDEBUG="$setting" "$prog" 200 50 >"$tmp/out" 2>"$tmp/err" || fail "quiet: prog_gc failed"
  read -r g _ _ <"$tmp/out"
  ((g > 0)) || fail "quiet: no collection happened"
  [[ ! -s $tmp/err ]] || fail "quiet (CDEBUG='$setting'): stderr not empty: $(head -3 "$tmp/err")"
done

echo "gctrace: ok"

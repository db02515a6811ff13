#!/usr/bin/env bash
# cdebug-trace pprof --type=block|sync|net|syscall|sched: the profiles
# `go tool trace -pprof=` makes, made of a cdebug trace and read by the real
# `go tool pprof`. prog_trace makes 20 blocking calls "IO wait" (Go's
# network wait reason) of about 1 ms each from work(), and 1000 tasks
# created from main(); then a version 2 trace (no blocking stacks), and
# bad input and usage.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
tool="$build/viewer/cdebug-trace"
go_env

"$build/tests/prog_trace" "$tmp/a.trace" >"$tmp/prog.out" 2>"$tmp/prog.err" ||
  fail "prog_trace failed: $(cat "$tmp/prog.err")"

# profile TYPE: cdebug-trace pprof of a.trace into $tmp/TYPE.pb.gz.
profile() {
  run 0 "$tool" pprof --type="$1" "$tmp/a.trace"
  [[ ! -s $tmp/err ]] || fail "$1: stderr not empty: $(cat "$tmp/err")"
  mv "$tmp/out" "$tmp/$1.pb.gz"
}

# total FILE INDEX: the profile's total of sample index INDEX, from -top.
total() {
  pp -top -sample_index="$2" "$1" >"$tmp/top"
  sed -n 's/.* of \([0-9.a-z]*\) total.*/\1/p' "$tmp/top" | head -1
}

for t in block net; do
  profile $t
  n=$(total "$tmp/$t.pb.gz" contentions)
  [[ $n == 20 ]] || fail "$t: $n contentions, want the 20 blocking calls"
  d=$(total "$tmp/$t.pb.gz" delay)
  [[ $d =~ ms$ ]] && awk -v d="${d%ms}" 'BEGIN { exit !(d >= 20) }' ||
    fail "$t: delay $d, want at least 20ms (20 sleeps of 1 ms)"
  # The stack starts in the caller of cd_block_begin, with its line.
  line=$(grep -n 'cd_block_begin("IO wait")' "$src/tests/integration/prog_trace.c" | cut -d: -f1)
  pp -traces "$tmp/$t.pb.gz" >"$tmp/traces"
  grep -q '^ *[0-9.]*ms *work$' "$tmp/traces" || fail "$t: no stack with work at its top: $(cat "$tmp/traces")"
  grep -q 'run_task' "$tmp/traces" || fail "$t: the scheduler's frames are not symbolized"
  pp -lines -top "$tmp/$t.pb.gz" >"$tmp/lines"
  grep -q "prog_trace.c:$line" "$tmp/lines" || fail "$t: no prog_trace.c:$line in -lines: $(cat "$tmp/lines")"
done

# No synchronization or system-call waits in this program: empty profiles,
# still readable.
for t in sync syscall; do
  profile $t
  n=$(total "$tmp/$t.pb.gz" contentions)
  [[ $n == 0 ]] || fail "$t: $n contentions, want 0"
done

# Scheduler latency: the 1000 tasks, from their creation in main.
profile sched
n=$(total "$tmp/sched.pb.gz" contentions)
[[ $n == 1000 ]] || fail "sched: $n samples, want the 1000 tasks"
pp -top "$tmp/sched.pb.gz" >"$tmp/top"
grep -q ' main$' "$tmp/top" || fail "sched: main not in the profile: $(cat "$tmp/top")"

# Every kind of blocking call (prog_trace_go: IO wait, sleep, waitpid,
# mutex, cond, waitgroup): each profile holds as many waits as go tool
# trace's -pprof= of the same name finds in the Go export, one
# classification of reasons for both.
(cd "$tmp" && timeout 60 "$build/tests/prog_trace_go" "$tmp/g.trace" >/dev/null) ||
  fail "prog_trace_go did not run"
run 0 "$tool" export --format=go -o "$tmp/g.go" "$tmp/g.trace"
for t in net sync syscall; do
  run 0 "$tool" pprof --type=$t "$tmp/g.trace"
  mv "$tmp/out" "$tmp/g.$t.pb.gz"
  timeout -k 5 60 go tool trace -pprof=$t "$tmp/g.go" >"$tmp/g.$t.go.pb" 2>"$tmp/g.err" ||
    fail "go tool trace -pprof=$t: $(cat "$tmp/g.err")"
  ours=$(total "$tmp/g.$t.pb.gz" contentions)
  gos=$(total "$tmp/g.$t.go.pb" contentions)
  [[ $ours == "$gos" && $ours != 0 ]] ||
    fail "$t: cdebug-trace pprof counts $ours waits, go tool trace -pprof=$t $gos"
done

# A version 2 trace (its blocking calls have no stack): the waits are
# still counted, under an empty stack.
"$build/tests/prog_trace_gen" sample "$tmp/v2.trace"
run 0 "$tool" pprof --type=block "$tmp/v2.trace"
mv "$tmp/out" "$tmp/v2.pb.gz"
n=$(total "$tmp/v2.pb.gz" contentions)
((n >= 1)) || fail "version 2 trace: $n contentions, want its blocking calls"

# Bad input: exit 1, one line, nothing on stdout.
"$build/tests/prog_trace_gen" corrupt "$tmp/corrupt.trace"
run 1 "$tool" pprof --type=block "$tmp/corrupt.trace"
grep -q 'corrupt' "$tmp/err" || fail "corrupt: stderr: $(cat "$tmp/err")"
run 1 "$tool" pprof --type=block "$tmp/missing.trace"
[[ ! -s $tmp/out ]] || fail "missing trace: something on stdout"
# A truncated trace: its profile up to the cut, with a warning.
"$build/tests/prog_trace_gen" truncated "$tmp/trunc.trace"
run 0 "$tool" pprof --type=block "$tmp/trunc.trace"
grep -q 'truncated' "$tmp/err" || fail "truncated: no warning: $(cat "$tmp/err")"
mv "$tmp/out" "$tmp/trunc.pb.gz"
pp -top "$tmp/trunc.pb.gz" >/dev/null

# Bad usage: exit 2 with the usage text.
run 2 "$tool" pprof "$tmp/a.trace"
grep -q 'usage: cdebug-trace pprof' "$tmp/err" || fail "no --type: no usage"
run 2 "$tool" pprof --type=heap "$tmp/a.trace"
grep -q 'unknown type "heap"' "$tmp/err" || fail "unknown type: $(cat "$tmp/err")"
run 2 "$tool" pprof --type=block --bogus "$tmp/a.trace"
run 2 "$tool" pprof --type=block "$tmp/a.trace" "$tmp/a.trace"
echo "ok"

#!/usr/bin/env bash
# cdebug-trace dump: the output format on a known trace (written by the test
# encoder, tests/integration/prog_trace_gen.c), and the exit status and
# message for every kind of bad input and bad usage.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
gen="$build/tests/prog_trace_gen"
tool="$build/viewer/cdebug-trace"

"$gen" sample "$tmp/sample.trace"
"$gen" truncated "$tmp/trunc.trace"
"$gen" corrupt "$tmp/corrupt.trace"

# ---- the format, exactly
run 0 "$tool" dump "$tmp/sample.trace"
[[ ! -s $tmp/err ]] || fail "stderr not empty on a good trace: $(cat "$tmp/err")"
cat >"$tmp/want" <<'EOF'
# cdebug trace v2: 1000000000 ticks/s, started 2023-11-14T22:13:20.123456789Z
0.000000ms M1 THREAD_START kind=0
0.000200ms M2 THREAD_START kind=1
0.000300ms M2 WORKER_ACQUIRE worker=1
0.000500ms M1 WORKER_ACQUIRE worker=0
0.001000ms M1 TASK_CREATE task=2 parent=1 name="fetch \"rss\"" stack=1
0.001500ms M2 TASK_START task=2
0.001600ms M1 USER_TASK_BEGIN id=1 parent=0 type="parse"
0.001600ms M3 LOST events=12 batches=1
0.001700ms M1 REGION_BEGIN user_task=1 name="parse"
0.001800ms M1 LOG user_task=1 category="parse" message="café\n\x01"
0.002000ms M2 TASK_BLOCK task=2 reason="net: read" stack=0
0.002500ms M2 TASK_UNBLOCK task=2
0.002550ms M2 CPU_SAMPLE stack=1 task=2
0.002600ms M2 TASK_END task=2
0.003000ms M1 REGION_END user_task=1 name="parse"
0.003100ms M1 USER_TASK_END id=1
0.004000ms M3 GC_BEGIN gc=1 forced=1
0.004100ms M3 GC_STW_BEGIN gc=1
0.004200ms M3 GC_STW_END gc=1
0.004300ms M3 GC_MARK_BEGIN gc=1
0.004400ms M3 GC_MARK_END gc=1
0.004500ms M3 GC_RESTART gc=1
0.004600ms M3 GC_RECLAIM_BEGIN gc=1
0.004700ms M3 GC_RECLAIM_END gc=1
0.004800ms M3 GC_END gc=1
0.005000ms M3 HEAP in_use=1048576 goal=4194304
# 26 events, 12 lost events in 1 batches, 17 records, 345 bytes, complete
EOF
diff -u "$tmp/want" "$tmp/out" || fail "dump output differs from the expected text"

run 0 "$tool" dump --stacks "$tmp/sample.trace"
grep -A2 'TASK_CREATE' "$tmp/out" >"$tmp/frames"
printf '%s\n' '0.001000ms M1 TASK_CREATE task=2 parent=1 name="fetch \"rss\"" stack=1' \
  '    #0 0x401000 main feed.c:42' '    #1 0x402000 ?' | diff -u - "$tmp/frames" \
  || fail "--stacks frames"
[[ $(grep -c '^    #0 ' "$tmp/out") == 2 ]] || fail "--stacks: two stacks expected"

# standard input
"$tool" dump - <"$tmp/sample.trace" >"$tmp/stdin.out" || fail "dump - (stdin)"
diff -q "$tmp/want" "$tmp/stdin.out" >/dev/null || fail "dump - differs from dump FILE"

# ---- truncated: what is there, a warning, success
run 0 "$tool" dump "$tmp/trunc.trace"
one_line_err "warning: .*truncated after [0-9]* complete records"
tail -1 "$tmp/out" | grep -q ', truncated$' || fail "truncated: summary line"
n=$(grep -c '^[0-9]' "$tmp/out")
((n > 10 && n < 26)) || fail "truncated: $n events dumped"
head -c 40 "$tmp/sample.trace" >"$tmp/header_only.trace"
run 0 "$tool" dump "$tmp/header_only.trace"
one_line_err "truncated after 0 complete records: no END record"
grep -q '^# 0 events' "$tmp/out" || fail "header only: 0 events"

# ---- unreadable inputs: one line on stderr, exit 1
run 1 "$tool" dump "$tmp/corrupt.trace"
one_line_err "corrupted trace: record [0-9]* (EVENTS) at offset [0-9]*: CRC mismatch"
grep -q '^0.000000ms M1 THREAD_START' "$tmp/out" || fail "corrupt: events before it not dumped"
run 0 "$tool" dump --skip-corrupt "$tmp/corrupt.trace"
grep -q '1 corrupt records skipped, complete$' "$tmp/out" || fail "--skip-corrupt summary"

run 1 "$tool" dump "$tmp/missing.trace"
one_line_err "missing.trace: no such file or directory"
: >"$tmp/empty.trace"
run 1 "$tool" dump "$tmp/empty.trace"
one_line_err "empty or truncated before the end of the trace header"
printf 'hello, this is not a trace at all\n' >"$tmp/text.trace"
run 1 "$tool" dump "$tmp/text.trace"
one_line_err "not a cdebug trace"
cp "$tmp/sample.trace" "$tmp/v4.trace"
printf '\004' | dd of="$tmp/v4.trace" bs=1 seek=8 conv=notrunc status=none
run 1 "$tool" dump "$tmp/v4.trace"
one_line_err "unsupported cdebug trace version"
run 1 "$tool" dump "$tmp"
one_line_err "is a directory"

# ---- usage: exit 2, usage on stderr
run 2 "$tool"
grep -q '^usage: cdebug-trace COMMAND' "$tmp/err" || fail "no-argument usage"
run 2 "$tool" frobnicate "$tmp/sample.trace"
grep -q 'unknown command "frobnicate"' "$tmp/err" || fail "unknown command message"
grep -q '^  dump ' "$tmp/err" || fail "usage lists dump"
run 2 "$tool" dump
grep -q 'missing FILE' "$tmp/err" || fail "dump without FILE"
run 2 "$tool" dump --bogus "$tmp/sample.trace"
grep -q 'unknown flag --bogus' "$tmp/err" || fail "unknown flag message"
run 2 "$tool" dump "$tmp/sample.trace" "$tmp/sample.trace"
run 0 "$tool" help
grep -q '^usage: cdebug-trace COMMAND' "$tmp/out" || fail "help on stdout"
run 0 "$tool" dump --help
grep -q '^usage: cdebug-trace dump' "$tmp/out" || fail "dump --help"

# ---- a big trace through a pipe that closes early (head): no hang
"$gen" big "$tmp/big.trace" 200000
first=$( ("$tool" dump "$tmp/big.trace" || true) | head -2 | tail -1)
[[ $first == *"ms M"* ]] || fail "big: first event line: $first"
run 0 "$tool" dump "$tmp/big.trace"
grep -q '^# 200000 events, 0 lost events in 0 batches, .*complete$' "$tmp/out" \
  || fail "big: summary $(tail -1 "$tmp/out")"
echo "test_trace_dump: ok"

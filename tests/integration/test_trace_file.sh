#!/usr/bin/env bash
# The recorder end to end: a program of known structure traced with
# cd_trace_start and with CDEBUG=trace=FILE; the file is checked by an
# independent reader of docs/trace-format.md (trace_check.py) and its counts
# must be exact. Also: a SIGKILLed traced process leaves a readable, truncated
# file; a trace file that cannot be created is reported, the program runs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prog="$build/tests/prog_trace"
check="$src/tests/integration/trace_check.py"

expect() { # json-file python-expression message
  python3 - "$1" "$2" "$3" <<'PY' || exit 1
import json, sys
s = json.load(open(sys.argv[1]))
e = s["events"]
ok = eval(sys.argv[2], {"s": s, "e": e})
if not ok:
    print("FAIL: %s: %s (summary: %s)" % (sys.argv[3], sys.argv[2], json.dumps(s)), file=sys.stderr)
    sys.exit(1)
PY
}

check_known() { # trace-file label
  python3 "$check" "$1" >"$tmp/sum.json" || fail "$2: trace_check rejected the file"
  local j=$tmp/sum.json
  expect "$j" 's["end"] and not s["truncated"] and s["lost"] == 0' "$2: clean end, nothing lost"
  expect "$j" 's["unsymbolized_pcs"] == 0' "$2: a symbol for every stack pc"
  expect "$j" 'e.get("TASK_CREATE") == 1000 and e.get("TASK_START") == 1000 and e.get("TASK_END") == 1000' "$2: 1000 tasks"
  expect "$j" 'all(s["task_names"].get("group%d" % g) == 100 for g in range(10))' "$2: 10 groups of 100"
  # A worker taking its next task from its own queue records that start
  # with the previous task's end, one clock read (sched.c execute).
  expect "$j" 's["end_start_pairs"] > 0' "$2: task end + next start pairs"
  expect "$j" 'e.get("TASK_BLOCK") == 20' "$2: 20 blocking calls (main's wait is not a task)"
  expect "$j" 'e.get("TASK_UNBLOCK") == e.get("TASK_BLOCK")' "$2: every block ends"
  # Under TSan the suite runs with GC_DONT_GC=1 (see GNUmakefile): no
  # collection happens, so there are no collection events to count.
  if [[ -z ${GC_DONT_GC:-} ]]; then
    expect "$j" 'e.get("GC_BEGIN", 0) >= 3 and e.get("GC_END") == e.get("GC_BEGIN") and e.get("HEAP", 0) >= e.get("GC_END")' "$2: collections (HEAP after each, and every 100 ms)"
    expect "$j" 'all(e.get(k) == e.get("GC_BEGIN") for k in ("GC_STW_BEGIN", "GC_STW_END", "GC_MARK_BEGIN", "GC_MARK_END", "GC_RESTART", "GC_RECLAIM_BEGIN", "GC_RECLAIM_END"))' "$2: every phase of every collection"
  fi
  expect "$j" 'e.get("THREAD_STOP", 0) >= 1 and e.get("THREAD_START", 0) >= 1' "$2: a thread came and went"
  expect "$j" 's["regions"] == {"spawn": 1, "wait": 1, "gc": 3}' "$2: 5 regions"
  expect "$j" 'e.get("REGION_END") == 5' "$2: 5 region ends"
  expect "$j" 'e.get("USER_TASK_BEGIN") == 2 and e.get("USER_TASK_END") == 2' "$2: 2 user tasks"
  expect "$j" 's["logs"] == {"phase": 1, "gc": 3} and e.get("LOG") == 4' "$2: 4 logs"
  expect "$j" 'e.get("STATE_THREAD", 0) >= 1 and e.get("STATE_WORKER", 0) >= 1' "$2: snapshot"
}

# 1. cd_trace_start(fd) mid-run.
"$prog" "$tmp/a.trace" >"$tmp/out" 2>"$tmp/err" || fail "prog_trace failed: $(cat "$tmp/err")"
grep -qx ok "$tmp/out" || fail "prog_trace did not finish"
check_known "$tmp/a.trace" "cd_trace_start"
# Creation stacks carry function, file and line (libdwfl), also for a
# function the executable does not export (main here: no -rdynamic).
line=$(grep -n 'cd_go_named(groups' "$src/tests/integration/prog_trace.c" | cut -d: -f1)
"$build/viewer/cdebug-trace" dump --stacks "$tmp/a.trace" >"$tmp/stacks" || fail "dump --stacks failed"
want="main $src/tests/integration/prog_trace.c:$line"
grep -A1 -m1 ' TASK_CREATE ' "$tmp/stacks" | grep -qF " $want" ||
  fail "creation stack: want frame '$want', got: $(grep -A2 -m1 ' TASK_CREATE ' "$tmp/stacks")"
# A blocking call carries the stack it was made from, starting in the
# caller of cd_block_begin: what Go's block, syscall and network profiles
# of a trace are made of.
line=$(grep -n 'cd_block_begin("IO wait")' "$src/tests/integration/prog_trace.c" | cut -d: -f1)
want="work $src/tests/integration/prog_trace.c:$line"
grep -A1 -m1 ' TASK_BLOCK ' "$tmp/stacks" | grep -qF " $want" ||
  fail "blocking stack: want frame '$want', got: $(grep -A2 -m1 ' TASK_BLOCK ' "$tmp/stacks")"
# A libc frame (below main) shows the library's path and line 0: the writer
# reads no separate debug file (libc6-dbg's would cost ~100 ms of CPU).
grep -Eq '/libc\.so\.6:0$' "$tmp/stacks" ||
  fail "no libc frame as 'libc.so.6:0': $(grep -A4 -m1 ' TASK_CREATE ' "$tmp/stacks")"

# 2. CDEBUG=trace=FILE for the whole run (written at exit).
CDEBUG=trace="$tmp/b.trace" "$prog" - >"$tmp/out" 2>"$tmp/err" || fail "CDEBUG=trace run failed"
check_known "$tmp/b.trace" "CDEBUG=trace"

# 3. Tracing off: no file, and the warning for a bad value.
CDEBUG=trace= "$prog" - >"$tmp/out" 2>"$tmp/err"
grep -q 'bad value "" for trace' "$tmp/err" || fail "no warning for an empty trace file name"

# 4. A file that cannot be created: one clear line, the program still runs.
CDEBUG=trace=/nonexistent/dir/t.out "$prog" - >"$tmp/out" 2>"$tmp/err" || fail "untraceable run failed"
grep -q '^cdebug: trace: cannot create /nonexistent/dir/t.out' "$tmp/err" || fail "no error line: $(cat "$tmp/err")"
grep -qx ok "$tmp/out" || fail "program did not run without its trace"

# 5. SIGKILL while tracing the whole run: the file reads up to its last
#    complete record and is reported as truncated (no END).
CDEBUG=trace="$tmp/k.trace" CDMAXPROCS=2 "$build/examples/spawn" --tasks=200000 >/dev/null 2>&1 &
pid=$!
# Killed once a worker's events are in the file (a TASK_START), not after a
# fixed time: a sanitizer build on a loaded machine may take a second to
# get there. The file read while written may end mid-record: trace_check
# reads up to the last complete one.
started='import json, sys; sys.exit(json.load(sys.stdin)["events"].get("TASK_START", 0) == 0)'
for ((i = 0; i < 150; i++)); do
  sleep 0.2
  python3 "$check" "$tmp/k.trace" 2>/dev/null | python3 -c "$started" 2>/dev/null && break
done
kill -KILL "$pid" || fail "spawn ended before it was killed"
wait "$pid" 2>/dev/null || true
python3 "$check" "$tmp/k.trace" >"$tmp/k.json" || fail "killed trace unreadable"
expect "$tmp/k.json" 'not s["end"] and e.get("TASK_START", 0) > 0' "killed: partial, readable, no END"
# Cut it at an arbitrary byte: still readable, reported truncated.
size=$(stat -c %s "$tmp/k.trace")
head -c $((size / 2 + 7)) "$tmp/k.trace" >"$tmp/cut.trace"
python3 "$check" "$tmp/cut.trace" >"$tmp/cut.json" || fail "cut trace unreadable"
expect "$tmp/cut.json" 's["truncated"] and not s["end"]' "cut: truncated"
echo "trace file: all checks passed"

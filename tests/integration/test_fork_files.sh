#!/usr/bin/env bash
# Children of fork() and the files of their parent's session (prog_fork.c):
# a process traced with CDEBUG=trace=FILE, memprofile=FILE2,
# cpuprofile=FILE3, gctrace=1, schedtrace and the debug server forks
# children that exit(), cd_shutdown() then exit(), _exit(), start and stop
# a trace of their own, and exit() with live workers. No child may write
# into or truncate the parent's files, hang or crash:
#   - the parent's trace is valid and complete, with exactly its own tasks
#     (trace_check.py and `cdebug-trace stats`);
#   - the child's own trace is valid and holds the child's tasks only;
#   - memprofile and cpuprofile do not exist / are empty after the children
#     exit, and hold the parent's profile after it exits (`go tool pprof`);
#   - no gctrace line is printed twice (a child prints none);
#   - every child ends with status 0 under its alarm (a hang is SIGALRM).
# A second run does the same under the flight recorder (CDEBUG=flight=N):
# the children find no trace session, the parent's window is valid.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prog="$build/tests/prog_fork"
check="$src/tests/integration/trace_check.py"
viewer="$build/viewer/cdebug-trace"
go_env

# Under ASan, LeakSanitizer checks the parent only: prog_fork turns it
# off in the children (why: prog_fork.c, __lsan_is_turned_off).

tasks=300 # prog_fork's PARENT_TASKS
child_tasks=30

run_fork() { # NAME CDEBUG: prog_fork with DIR $tmp/NAME, output in $tmp/NAME.{out,err}
    local d=$tmp/$1 rc=0
    mkdir -p "$d"
    CDEBUG=$2 timeout -k 5 150 "$prog" "$d" "$d/mem.pb.gz" "$d/cpu.pb.gz" \
        >"$tmp/$1.out" 2>"$tmp/$1.err" || rc=$?
    if ((rc != 0)); then
        show "$tmp/$1.out"
        fail "$1: prog_fork failed (status $rc)"
    fi
    check_sanitizer "$1"
    grep -qx "ok tasks=$tasks" "$tmp/$1.out" || fail "$1: the parent did not finish"
    local k
    for k in exit shutdown _exit trace workers; do
        grep -Eqx "child $k: (ok|skipped)" "$tmp/$1.out" ||
            fail "$1: child $k: $(grep "^child $k:" "$tmp/$1.out")"
    done
}

expect() { # JSON-FILE PYTHON-EXPRESSION MESSAGE
    python3 - "$1" "$2" "$3" <<'PY' || fail "$3"
import json, sys
s = json.load(open(sys.argv[1]))
e = s["events"]
if not eval(sys.argv[2], {"s": s, "e": e}):
    print("%s: %s (summary: %s)" % (sys.argv[3], sys.argv[2], json.dumps(s)), file=sys.stderr)
    sys.exit(1)
PY
}

# ---- 1. CDEBUG=trace=FILE, memprofile, cpuprofile, gctrace, schedtrace ----
d=$tmp/files
run_fork files "trace=$d/p.trace,memprofile=$d/mem.pb.gz,memprofilerate=1,cpuprofile=$d/cpu.pb.gz,cpuprofilerate=1000,gctrace=1,schedtrace=1000,http=127.0.0.1:0"

# The parent's trace: complete, its own tasks only, each exactly once.
python3 "$check" "$d/p.trace" >"$tmp/p.json" || fail "parent trace: trace_check rejected it"
expect "$tmp/p.json" 's["end"] and not s["truncated"] and s["lost"] == 0' "parent trace: clean end, nothing lost"
expect "$tmp/p.json" "e.get('TASK_CREATE') == $tasks and e.get('TASK_START') == $tasks" "parent trace: $tasks tasks"
expect "$tmp/p.json" "s['task_names'] == {'parent': $tasks}" "parent trace: the parent's tasks only"
"$viewer" stats "$d/p.trace" >"$tmp/p.stats" 2>"$tmp/stats.err" || fail "cdebug-trace stats on the parent's trace"
grep -q ", complete$" "$tmp/p.stats" || fail "parent trace: stats does not say complete: $(head -n2 "$tmp/p.stats")"
grep -q " $tasks tasks created$" "$tmp/p.stats" || fail "parent trace: stats: $(sed -n 2p "$tmp/p.stats")"
ok "the parent's trace is whole: $tasks tasks, END, nothing from a child"

# The child's own trace (cd_trace_start in the child).
if grep -qx "child trace: ok" "$tmp/files.out"; then
    python3 "$check" "$d/child.trace" >"$tmp/c.json" || fail "child trace: trace_check rejected it"
    expect "$tmp/c.json" 's["end"] and not s["truncated"]' "child trace: clean end"
    expect "$tmp/c.json" "s['task_names'] == {'childtraced': $child_tasks} and e.get('TASK_CREATE') == e.get('TASK_START') == $child_tasks" "child trace: the child's tasks only"
    expect "$tmp/c.json" 's["regions"] == {"childregion": 1} and s["logs"] == {"child": 1}' "child trace: its region and log"
    "$viewer" stats "$d/child.trace" >"$tmp/c.stats" 2>"$tmp/stats.err" || fail "cdebug-trace stats on the child's trace"
    ok "a child's own trace is whole and its own"
fi

# memprofile / cpuprofile: the parent's, written at its exit only.
grep -qx "memprofile after children: absent" "$tmp/files.out" ||
    fail "a child wrote the memprofile: $(grep '^memprofile' "$tmp/files.out")"
grep -qx "cpuprofile after children: 0 bytes" "$tmp/files.out" ||
    fail "a child wrote the cpuprofile: $(grep '^cpuprofile' "$tmp/files.out")"
pp -top -sample_index=alloc_space "$d/mem.pb.gz" >"$tmp/mem.top"
grep -qw parent_alloc "$tmp/mem.top" || { cat "$tmp/mem.top" >&2; fail "memprofile: no parent_alloc"; }
! grep -qw child_alloc "$tmp/mem.top" || { cat "$tmp/mem.top" >&2; fail "memprofile: a child's allocations"; }
pp -top "$d/cpu.pb.gz" >"$tmp/cpu.top"
grep -qw parent_work "$tmp/cpu.top" ||
    { pp -traces "$d/cpu.pb.gz" | head -n 60 >&2; fail "cpuprofile: no parent_work"; }
! grep -qw child_work "$tmp/cpu.top" || { cat "$tmp/cpu.top" >&2; fail "cpuprofile: a child's samples"; }
ok "memprofile and cpuprofile written once, by the parent"

# gctrace: every collection's line once (the children print none: a line
# numbered like the parent's would repeat a number).
dup=$({ grep -Eo '^gc [0-9]+ ' "$tmp/files.err" || true; } | sort | uniq -d | head -n3)
[[ -z $dup ]] || fail "gctrace lines printed twice: $dup"
ok "no gctrace line twice"

# ---- 2. the flight recorder ------------------------------------------------
d=$tmp/flight
run_fork flight "flight=10,gctrace=1"
[[ ! -e $d/mem.pb.gz && ! -e $d/p.trace ]] || fail "flight: files nobody asked for"
python3 "$check" "$d/flight.trace" >"$tmp/f.json" || fail "flight window: trace_check rejected it"
expect "$tmp/f.json" 's["end"] and not s["truncated"]' "flight window: clean end"
expect "$tmp/f.json" "set(s['task_names']) == {'parent'} and e.get('TASK_CREATE', 0) >= $tasks - 20" "flight window: the parent's tasks"
if grep -qx "child trace: ok" "$tmp/flight.out"; then
    python3 "$check" "$d/child.trace" >"$tmp/fc.json" || fail "flight: child trace rejected"
    expect "$tmp/fc.json" "s['end'] and s['task_names'] == {'childtraced': $child_tasks}" "flight: the child's own trace"
fi
ok "flight recorder: the children find no session; the parent's window is whole"

echo "fork files: all checks passed"

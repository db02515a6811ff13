#!/usr/bin/env bash
# tests/integration/test_examples.sh - the example programs behave as the docs say.
#
#   leak   with CDEBUG=gctrace=1: gc lines on stderr show the heap growing,
#          SIGINT stops it cleanly and it prints the map's size.
#   spawn  with CDEBUG=schedtrace=50 CDMAXPROCS=2: SCHED lines appear, every
#          task runs exactly once; bad arguments exit 2 with a usage message.
#
# CTest sets CDEBUG_BUILD (build directory) and CDEBUG_SRC (source tree); a
# non-empty CDEBUG_SANITIZE means an ASan/UBSan build, where everything is
# slower, so the workloads shrink.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
leak=$build/examples/leak
spawn=$build/examples/spawn
built "$leak" "$spawn"

# ---- leak -----------------------------------------------------------------
echo "== leak: CDEBUG=gctrace=1 for 2 s, then SIGINT"
# Background jobs of a non-interactive shell start with SIGINT ignored; leak
# installs its own handler, which is part of what this checks.
CDEBUG=gctrace=1 "$leak" >"$tmp/leak.out" 2>"$tmp/leak.err" &
leak_pid=$!
pids+=("$leak_pid")
sleep 2
kill -0 "$leak_pid" 2>/dev/null || {
    show "$tmp/leak.err"
    fail "leak exited before it was sent SIGINT"
}
# It must stop promptly (the task checks its stop flag every 1024 inserts),
# with status 0.
stop leak "$leak_pid" 0 INT

grep -Eq '^leak: stopped by .*, map has [1-9][0-9]* entries$' "$tmp/leak.out" || {
    show "$tmp/leak.out"
    fail "leak did not print 'map has N entries' with N > 0"
}
entries=$(sed -n 's/.*map has \([0-9]*\) entries$/\1/p' "$tmp/leak.out")

# gc lines, Go 1.17 shape; A->B->C MB is the heap at start, at end, live.
gc_re='^gc [0-9]+ @[0-9]+\.[0-9]{3}s [0-9]+%: .* ms clock, .* ms cpu, [0-9]+->[0-9]+->[0-9]+ MB, [0-9]+ MB goal, [0-9]+ P( \(forced\))?$'
grep -E '^gc ' "$tmp/leak.err" >"$tmp/gc.lines" || true
ngc=$(wc -l <"$tmp/gc.lines")
if ((ngc < 3)); then
    show "$tmp/leak.err"
    fail "leak printed $ngc gc lines in 2 s, want at least 3"
fi
if grep -Evq "$gc_re" "$tmp/gc.lines"; then
    grep -Ev "$gc_re" "$tmp/gc.lines" | head -n 5 >&2
    fail "malformed gc lines (above)"
fi
heap_at_start() {
    sed -E 's/.* ([0-9]+)->[0-9]+->[0-9]+ MB, .*/\1/'
}
first=$(head -n 1 "$tmp/gc.lines" | heap_at_start)
last=$(tail -n 1 "$tmp/gc.lines" | heap_at_start)
if ((last <= first)); then
    show "$tmp/gc.lines"
    fail "heap did not grow: first gc line starts at $first MB, last at $last MB"
fi
echo "ok: leak reached $entries entries; $ngc gc lines, heap $first MB -> $last MB"

# ---- spawn: schedtrace and the task count ----------------------------------
if [[ -n $sanitize ]]; then
    tasks=200 rounds=40 fanout=4 work=20000
else
    tasks=500 rounds=40 fanout=4 work=20000
fi
# One task in 8 (rounded up) is a parent with $fanout children.
expected=$((rounds * (tasks + (tasks + 7) / 8 * fanout)))

echo "== spawn: CDEBUG=schedtrace=50 CDMAXPROCS=2 --tasks=$tasks --rounds=$rounds"
rc=0
CDEBUG=schedtrace=50 CDMAXPROCS=2 timeout -k 5 120 "$spawn" --tasks=$tasks --rounds=$rounds \
    --fanout=$fanout --work=$work >"$tmp/spawn.out" 2>"$tmp/spawn.err" || rc=$?
if ((rc != 0)); then
    show "$tmp/spawn.out"
    show "$tmp/spawn.err"
    fail "spawn exited with status $rc, want 0"
fi

summary=$(grep '^spawn: ' "$tmp/spawn.out" || true)
[[ -n $summary ]] || {
    show "$tmp/spawn.out"
    fail "spawn printed no summary line"
}
get() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$summary"; }
[[ $(get workers) == 2 ]] || fail "summary says workers=$(get workers), want 2 (CDMAXPROCS=2): $summary"
[[ $(get expected) == "$expected" ]] || fail "summary says expected=$(get expected), want $expected: $summary"
[[ $(get ran) == "$expected" ]] || fail "spawn ran $(get ran) tasks, want $expected: $summary"

sched_re='^SCHED [0-9]+ms: gomaxprocs=2 idleprocs=[0-9]+ threads=[0-9]+ spinningthreads=[0-9]+ idlethreads=[0-9]+ runqueue=[0-9]+ \[[0-9]+ [0-9]+\]$'
grep '^SCHED ' "$tmp/spawn.err" >"$tmp/sched.lines" || true
nsched=$(wc -l <"$tmp/sched.lines")
if ((nsched < 1)); then
    show "$tmp/spawn.err"
    fail "no SCHED lines on stderr with schedtrace=50 (summary: $summary)"
fi
if grep -Evq "$sched_re" "$tmp/sched.lines"; then
    grep -Ev "$sched_re" "$tmp/sched.lines" | head -n 5 >&2
    fail "malformed SCHED lines (above)"
fi
# The run is several sampling periods long (0.2-0.5 s of work for two
# workers, a sample every 50 ms: with one every 200 ms, the shorter run of
# a sanitizer build could end between the first two) and keeps both
# workers busy, so at least one sample must catch work: a queued task or a
# busy worker.
if ! grep -Eq 'idleprocs=[01] |runqueue=[1-9]|\[[0-9 ]*[1-9][0-9 ]*\]' "$tmp/sched.lines"; then
    show "$tmp/sched.lines"
    fail "no SCHED line shows any work (all workers idle, all queues empty)"
fi
echo "ok: $summary; $nsched SCHED lines"

# ---- spawn: argument validation --------------------------------------------
echo "== spawn: bad arguments exit 2 with usage on stderr"
bad_args=(--bogus --tasks --tasks= --tasks=abc --tasks=0 --tasks=-1 --tasks=+5 "--tasks= 5"
    --tasks=5x --tasks=99999999999999999999999 --rounds=0 --fanout=10001 extra)
for a in "${bad_args[@]}"; do
    rc=0
    timeout -k 5 30 "$spawn" "$a" >"$tmp/bad.out" 2>"$tmp/bad.err" || rc=$?
    ((rc == 2)) || fail "spawn '$a' exited with status $rc, want 2"
    grep -q '^usage: ' "$tmp/bad.err" || {
        show "$tmp/bad.err"
        fail "spawn '$a': no usage message on stderr"
    }
    [[ ! -s $tmp/bad.out ]] || fail "spawn '$a' wrote to stdout: $(head -n 3 "$tmp/bad.out")"
    if grep -q '^SCHED\|^spawn: workers' "$tmp/bad.err"; then
        fail "spawn '$a' ran the workload"
    fi
done
rc=0
timeout -k 5 30 "$spawn" --help >"$tmp/help.out" 2>"$tmp/help.err" || rc=$?
((rc == 0)) || fail "spawn --help exited with status $rc, want 0"
grep -q '^usage: ' "$tmp/help.out" || fail "spawn --help printed no usage on stdout"

rc=0
timeout -k 5 30 "$leak" --bogus >/dev/null 2>"$tmp/bad.err" || rc=$?
((rc == 2)) || fail "leak --bogus exited with status $rc, want 2"
grep -q '^usage: ' "$tmp/bad.err" || fail "leak --bogus: no usage message on stderr"
echo "ok: ${#bad_args[@]} bad spawn invocations rejected; --help works"

echo "PASS: test_examples"

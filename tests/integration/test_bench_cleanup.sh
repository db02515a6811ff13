#!/usr/bin/env bash
# test_bench_cleanup.sh - the benchmark scripts stop everything they start:
# bench/run_vars' two servers (bench_vars_server and the Go expvar peer)
# are gone when the script ends, whether it runs to the end, gets SIGINT
# (alone, or its whole process group as from Ctrl-C), SIGTERM, or is
# killed outright, and a SIGTERM to bench/run stops the section it is in,
# with the program in that section's foreground.
# It times nothing: the knobs make each run a few seconds of load at most.
#
# Each run is started in a session of its own (setsid), so every process
# it starts, directly or not, is in the process group named by its PID;
# "left behind" is any process of that group once the script has exited.
source "$(dirname "$0")/lib.sh"
need go golang-go
need wrk wrk
need setpriv util-linux
built "$build/bench/bench_vars_server" "$build/bench/bench_int_add" \
    "$build/bench/bench_spawn" "$build/bench/bench_alloc"

# Small runs: one 1 s wrk (one connection) per side and round; BENCH_REPS is set per case
# (1 to run to the end, many to be interrupted mid-run).
export BENCH_WRK_SECONDS=1 BENCH_WRK_CONNS=1 BENCH_INTADD_OPS=100000 BENCH_TASKS=1000 BENCH_ALLOC_ITERS=1000

# launch SCRIPT REPS: starts bench/SCRIPT on the build in a session of its
# own, with SIGINT as a terminal's foreground job has it (a background job
# of this non-interactive shell would start with SIGINT ignored, which no
# bash script can trap); g is its PID, and its process group's.
launch() {
    BENCH_REPS=$2 python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
os.execv(sys.argv[1], sys.argv[1:])' "$src/bench/$1" "$build" >"$tmp/$1.out" 2>"$tmp/$1.log" &
    g=$!
    at_exit "kill -KILL -- -$g 2>/dev/null"
}

# group: the processes of group g (PID and command), none once all are gone.
group() { ps -o pid=,args= -g "$g" || true; }

# exited SECONDS: true when process g has exited within SECONDS (it is
# then reaped: its exit status is in st).
exited() {
    local i s
    for ((i = 0; i < $1 * 10; i++)); do
        s=$(ps -o stat= -p "$g" || true)
        if [[ -z $s || $s == Z* ]]; then
            st=0
            wait "$g" 2>/dev/null || st=$?
            return 0
        fi
        sleep 0.1
    done
    return 1
}

# empty SECONDS WHAT: fails unless group g is empty within SECONDS.
empty() {
    local i
    for ((i = 0; i < $1 * 10; i++)); do
        [[ -z $(group) ]] && return 0
        sleep 0.1
    done
    fail "$2: left running: $(group | tr '\n' ';')"
}

# mid_run: waits (60 s at most: the Go peers may be built first) until
# both servers of group g are up and wrk is loading one of them.
mid_run() {
    local i
    for ((i = 0; i < 600; i++)); do
        if pgrep -g "$g" -f 'bench/bench_vars_server$' >/dev/null &&
            pgrep -g "$g" -f 'bench-peers/expvar$' >/dev/null && pgrep -g "$g" -x wrk >/dev/null; then
            return 0
        fi
        kill -0 "$g" 2>/dev/null || fail "$1 ended before the load: $(tail -n 5 "$tmp/$1.log")"
        sleep 0.1
    done
    fail "$1: no wrk against the two servers after 60 s: $(tail -n 5 "$tmp/$1.log")"
}

# 1. To the end: exit 0, the targets table printed, nothing left.
launch run_vars 1
exited 90 || fail "bench/run_vars (one round) still running after 90 s"
((st == 0)) || fail "bench/run_vars exited $st: $(tail -n 5 "$tmp/run_vars.log")"
grep -q '^## targets' "$tmp/run_vars.out" || fail "bench/run_vars printed no targets table"
sed -n '/^## targets/,$p' "$tmp/run_vars.out" | grep -q '^/debug/vars' ||
    fail "bench/run_vars' targets table has no /debug/vars row"
empty 3 "bench/run_vars, run to the end"
ok "bench/run_vars run to the end leaves nothing running, and prints its targets"

# 2. SIGINT to the script alone (wrk, in the foreground, ignores it): the
# script stops after that wrk run (1 s), not after its 50 rounds.
launch run_vars 50
mid_run run_vars
kill -INT "$g"
exited 10 || fail "bench/run_vars still running 10 s after SIGINT"
empty 3 "bench/run_vars after SIGINT"
ok "SIGINT: bench/run_vars stops and leaves nothing running"

# 3. SIGINT to the whole group, as Ctrl-C in a terminal sends it.
launch run_vars 50
mid_run run_vars
kill -INT -- -"$g"
exited 10 || fail "bench/run_vars still running 10 s after SIGINT to its group"
empty 3 "bench/run_vars after SIGINT to its group"
ok "Ctrl-C: bench/run_vars stops and leaves nothing running"

# 4. SIGTERM to the script.
launch run_vars 50
mid_run run_vars
kill -TERM "$g"
exited 10 || fail "bench/run_vars still running 10 s after SIGTERM"
empty 3 "bench/run_vars after SIGTERM"
ok "SIGTERM: bench/run_vars stops and leaves nothing running"

# 5. SIGKILL to the script: no trap runs, its servers must go anyway (only
# the wrk in flight may finish its second).
launch run_vars 50
mid_run run_vars
kill -KILL "$g"
exited 5 || fail "bench/run_vars still running after SIGKILL"
empty 5 "bench/run_vars killed with SIGKILL"
ok "SIGKILL: bench/run_vars' servers go with it"

# 6. SIGTERM to bench/run while its vars section runs a 30 s wrk: the
# section stops at once, not at its end, and so does that wrk (the
# section's foreground, as a hung benchmark program would be).
BENCH_WRK_SECONDS=30 launch run 50
mid_run run
kill -TERM "$g"
exited 8 || fail "bench/run still running 8 s after SIGTERM"
empty 3 "bench/run after SIGTERM"
ok "SIGTERM: bench/run stops its running section, whatever runs in it, and leaves nothing running"

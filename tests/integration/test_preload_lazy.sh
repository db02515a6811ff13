#!/usr/bin/env bash
# The lazy runtime: preloaded into a program that never calls cdebug,
# the library starts no collector and no worker pool, installs no handler
# for a signal it does not need, and starts only the threads its settings
# ask for (docs/preload.md lists them). A program that does call cdebug
# gets the collector on its first call, from whichever thread makes it.
#
# The preloaded program is Debian's cat (coreutils), waiting for input on
# a FIFO: it never heard of cdebug. What the process has is read from /proc: its threads' names
# (comm) and the signals it catches (SigCgt).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http_lib.sh"
preload_env
lazy=$build/tests/prog_lazy
built "$lazy"

# caught PID SIGNUM: whether PID catches the signal (SigCgt's bit).
caught() {
    local mask
    mask=$(awk '/^SigCgt:/ { print $2 }' "/proc/$1/status")
    (((16#$mask >> ($2 - 1)) & 1))
}

# names PID: the sorted names of PID's threads, one line, space-separated.
names() {
    local t out=()
    for t in /proc/"$1"/task/*; do
        out+=("$(cat "$t/comm" 2>/dev/null || true)")
    done
    printf '%s\n' "${out[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}

# sleeper NAME ENV...: starts cat preloaded with ENV and waits until its
# constructor has run (lib.sh's wait_reading). Sets $pid.
hold_stdin
sleeper() {
    local name=$1
    shift
    env LD_PRELOAD="$preload" "$@" cat <"$tmp/in" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pid=$!
    pids+=("$pid")
    wait_reading "$name" "$pid"
}

# Under AddressSanitizer the crash reporter starts at once (prof/crash.c:
# a copy of the process would copy the sanitizer's runtime mid-state).
eager=0
[[ $sanitize == *address* ]] && eager=1

SIGQUIT=3 SIGSEGV=11 SIGXCPU=24 SIGPROF=27 SIGPWR=30

# 1. Nothing asked for: the crash reports' handlers only. A single-threaded
# program stays single-threaded (its crash reporter starts with a second
# thread: prof/crash.h).
sleeper plain
sleep 0.2 # a thread started late would show now
got=$(names "$pid")
want=cat
((eager)) && want="cat cd-crash"
[[ $got == "$want" ]] || fail "plain: threads '$got', want '$want'"
caught "$pid" $SIGSEGV || fail "plain: SIGSEGV not caught (crash reports)"
caught "$pid" $SIGQUIT || fail "plain: SIGQUIT not caught (the dump)"
for s in $SIGPWR $SIGXCPU $SIGPROF; do
    ! caught "$pid" "$s" || fail "plain: signal $s caught; the collector or the profiler started"
done
[[ ! -s $tmp/plain.err ]] || fail "plain: stderr not empty"
ok "preloaded, nothing asked: threads '$got'; no SIGPWR, SIGXCPU or SIGPROF handler"

# 2. CDTRACEBACK=none and sigquit=0: no thread at all, SIGQUIT left alone.
sleeper quiet CDTRACEBACK=none CDEBUG=sigquit=0
got=$(names "$pid")
[[ $got == "cat" ]] || fail "quiet: threads '$got', want 'cat'"
! caught "$pid" $SIGQUIT || fail "quiet: SIGQUIT caught with sigquit=0"
ok "CDTRACEBACK=none,sigquit=0: no thread of cdebug's"

# 3. The debug server: its thread, and serving every route starts no
# collector (the heap profile, /debug/vars' memstats, a goroutine dump).
sleeper served CDEBUG=http=127.0.0.1:0
port=$(awk '/listening on port/ { print $NF; exit }' "$tmp/served.err")
[[ -n $port ]] || fail "served: no 'listening on port' line on stderr"
for path in /debug/vars /debug/pprof/heap /debug/pprof/allocs '/debug/pprof/goroutine?debug=2' \
    /debug/pprof/threadcreate /debug/pprof/mutex /debug/pprof/block /metrics; do
    code=$(fetch "http://127.0.0.1:$port$path")
    [[ $code == 200 ]] || fail "served: GET $path: $code"
done
got=$(names "$pid")
[[ $got != *GC-marker* ]] || fail "served: the collector started: $got"
# The server's: libmicrohttpd's pool (MHD-worker) and the accepting thread.
[[ $got == *cd-crash* && $got == *MHD-worker* && $got == *cd-http-accept* ]] ||
    fail "served: threads '$got', want the server's and, with it, cd-crash"
for s in $SIGPWR $SIGXCPU $SIGPROF; do
    ! caught "$pid" "$s" || fail "served: signal $s caught after serving every route"
done
fetch "http://127.0.0.1:$port/debug/vars" >/dev/null
python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))["memstats"]
assert m["NumGC"] == 0 and m["HeapSys"] == 0, m' "$tmp/b" || fail "served: memstats not those of a collector never started"
ok "http=: threads '$got'; every route served, no collector"

# 4. cpuprofile=: the profiler's signal and thread, still no collector.
sleeper profiled "CDEBUG=cpuprofile=$tmp/cpu.pb.gz"
caught "$pid" $SIGPROF || fail "profiled: SIGPROF not caught"
! caught "$pid" $SIGPWR || fail "profiled: the collector started"
ok "cpuprofile=: threads '$(names "$pid")'; SIGPROF caught"

# 5. A program that calls cdebug: nothing before its first call; the first
# call, from a pthread, starts the collector there; main, using it later,
# is scanned (its list survives ten forced collections).
run 0 "$lazy"
grep -qx "before: threads=$((1 + eager)) sigpwr=0" "$tmp/out" || { cat "$tmp/out"; fail "prog_lazy: the collector ran before the first call"; }
grep -qx 'thread: ok' "$tmp/out" || { cat "$tmp/out"; fail "prog_lazy: the first thread's list"; }
grep -qx 'after: sigpwr=1' "$tmp/out" || { cat "$tmp/out"; fail "prog_lazy: no collector after the first call"; }
grep -qx 'main: ok' "$tmp/out" || { cat "$tmp/out"; fail "prog_lazy: main's list"; }
ok "linked program: the collector starts on the first call (from a pthread); main scanned after"

#!/usr/bin/env bash
# tests/integration/test_sigquit.sh - SIGQUIT prints every task and thread
# in Go's traceback shape on stderr and exits with status 2 (Go's
# behaviour), by default; CDEBUG=sigquit=0 or a SIGQUIT handler of the
# program's own leaves SIGQUIT alone.
#
# prog_taskprof serve holds known tasks (CDMAXPROCS=2): 3 "waiter" blocked
# in wait_here, 2 "spinner" running spin_here, 5 "queued"; main is blocked
# in read(2) on stdin, so the process-directed SIGQUIT lands on main (every
# kit thread blocks it).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

prog=$build/tests/prog_taskprof
[[ -x $prog ]] || fail "$prog is not built"
export CDMAXPROCS=2
ulimit -c 0 # the default action dumps core: not here

# quit_run NAME CDEBUG [MODE]: starts prog MODE (serve) with that CDEBUG and stdin on a fifo we
# hold open, waits for "ready", sends SIGQUIT, waits (20 s at most) and sets
# $status.
quit_run() {
    local name=$1 mode=${3:-serve} i
    rm -f "$tmp/in"
    mkfifo "$tmp/in"
    exec 3<>"$tmp/in"
    # bash starts background commands with SIGQUIT ignored; a program run
    # from a terminal has it at its default: restore that before exec.
    CDEBUG=$2 python3 -c 'import os, signal, sys
signal.signal(signal.SIGQUIT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$prog" "$mode" <"$tmp/in" >"$tmp/$name.out" 2>"$tmp/$name.err" 3>&- &
    pid=$!
    pids+=("$pid")
    for ((i = 0; i < 200; i++)); do
        grep -qx ready "$tmp/$name.out" && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    grep -qx ready "$tmp/$name.out" || { show "$tmp/$name.err"; fail "$name: not ready"; }
    kill -QUIT "$pid"
    for ((i = 0; i < 400; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$pid" 2>/dev/null && fail "$name: still running 20 s after SIGQUIT"
    status=0
    { wait "$pid"; } 2>/dev/null || status=$?
    exec 3>&-
}

# ---- sigquit=1: the dump, then exit 2 -------------------------------------------
quit_run dump sigquit=1
err=$tmp/dump.err
[[ $status == 2 ]] || { show "$err"; fail "exit status $status, want 2"; }
! grep -qx done "$tmp/dump.out" || fail "the program ran on after SIGQUIT"
check_sanitizer dump
# Go's header: the signal, the interrupted pc, the thread (main is M1), the
# code (SI_USER: sent by kill), the raw frames (file+offset), a blank line.
sed -n 1p "$err" | grep -qx 'SIGQUIT: quit' || { show "$err"; fail "first line"; }
sed -n 2p "$err" | grep -Eqx 'PC=0x[0-9a-f]+ m=1 sigcode=0' || { show "$err"; fail "PC line"; }
sed -n 3p "$err" | grep -Eqx 'pc=0x[0-9a-f]+ (/.+\+0x[0-9a-f]+|\?)' || { show "$err"; fail "raw frames"; }
# The thread the signal hit comes first, in read(2) called by main.
awk 'f { print; exit } /^$/ { f = 1 }' "$err" | grep -Eqx 'thread M1 \[main, running\]:' ||
    { show "$err"; fail "main first"; }
awk 'f == 1 { f = 2; next } f == 2 { print; exit } /^$/ { f = 1 }' "$err" | grep -q 'read' ||
    { show "$err"; fail "main's stack at the signal"; }
# Every task, with its state, its frames and who created it.
awk '
    /^goroutine [0-9]+ \[/ { h = $0; getline f; blocks[h ~ /test\.wait/ ? "w" : h ~ /running/ ? "s" : h ~ /runnable/ ? "q" : "?"]++
                              first[h ~ /test\.wait/ ? "w" : h ~ /running/ ? "s" : "q"] = f }
    /^created by / { cb[$0]++ }
    END {
        if (blocks["w"] != 3 || first["w"] != "wait_here(...)") { print "waiters: " blocks["w"] " " first["w"]; bad = 1 }
        if (blocks["s"] != 2 || first["s"] != "spin_here(...)") { print "spinners: " blocks["s"] " " first["s"]; bad = 1 }
        if (blocks["q"] != 5 || first["q"] != "queued_task(...)") { print "queued: " blocks["q"] " " first["q"]; bad = 1 }
        if (cb["created by start_waiters"] != 3 || cb["created by queue_more"] != 5) { print "created by"; bad = 1 }
        exit bad
    }' "$err" || { show "$err"; fail "task blocks"; }
# The pool threads not running a task, then the registers, as Go ends.
grep -Eq '^thread M[0-9]+ \[(worker|system), ' "$err" || true
case $(uname -m) in
x86_64) grep -Eqx 'rip    0x[0-9a-f]+' "$err" || { show "$err"; fail "registers"; } ;;
aarch64) grep -Eqx 'pc      0x[0-9a-f]+' "$err" || { show "$err"; fail "registers"; } ;;
esac
ok "sigquit=1: dump on stderr, exit status 2"

# ---- the default: the dump -----------------------------------------------------
quit_run default ""
[[ $status == 2 ]] || { show "$tmp/default.err"; fail "no CDEBUG: status $status, want 2"; }
grep -qx 'SIGQUIT: quit' "$tmp/default.err" || { show "$tmp/default.err"; fail "no CDEBUG: no dump"; }
ok "SIGQUIT dumps by default"

# ---- sigquit=0: SIGQUIT's default action (terminate, core) ---------------------
quit_run off sigquit=0
[[ $status == $((128 + 3)) ]] || { show "$tmp/off.err"; fail "sigquit=0: status $status, want 131"; }
! grep -q 'SIGQUIT: quit' "$tmp/off.err" || fail "sigquit=0: dumped"
ok "sigquit=0 leaves SIGQUIT its default action"

# A bad value warns and leaves the default (the dump).
quit_run bad sigquit=2
[[ $status == 2 ]] || fail "sigquit=2: status $status"
grep -qx 'cdebug: CDEBUG: bad value "2" for sigquit ignored (want 0 or 1)' "$tmp/bad.err" ||
    { show "$tmp/bad.err"; fail "sigquit=2 warning"; }
ok "sigquit=2 refused with a warning"

# ---- a SIGQUIT handler of the program's own, installed before cdebug's ----------
crash=$build/tests/prog_crash
built "$crash"
prog=$crash
export PROG_CRASH_PRIOR=quit
quit_run own "" quit
unset PROG_CRASH_PRIOR
[[ $status == 0 ]] || { show "$tmp/own.err"; fail "own handler: status $status, want 0"; }
grep -qx 'own quit handler' "$tmp/own.out" || fail "own handler: did not run"
! grep -q 'SIGQUIT: quit' "$tmp/own.err" || fail "own handler: cdebug dumped"
ok "the program's own SIGQUIT handler is left alone"
echo "1 passed, 0 failed"

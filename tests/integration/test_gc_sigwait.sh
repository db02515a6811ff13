#!/usr/bin/env bash
# tests/integration/test_gc_sigwait.sh - a program that blocks SIGTERM in
# every thread and takes it with sigwait receives it, even when it arrives
# while the collector has stopped the world (bdwgc waits there with SIGTERM
# unblocked; runtime/sigmask.c blocks it again where the thread had it
# blocked). prog_taskprof busy allocates from many tasks with CDGC=1 (a
# collection every few allocations), so most SIGTERMs land in a
# collection: before the fix, 16 of 20 runs died by the signal.
source "$(dirname "$0")/lib.sh"
prog=$CDEBUG_BUILD/tests/prog_taskprof
[[ -x $prog ]] || fail "prog_taskprof not built"

runs=10
for ((i = 1; i <= runs; i++)); do
    CDGC=1 CDEBUG=http=127.0.0.1:0 start "busy$i" 'listening on' "$prog" busy
    sleep "0.$((i % 5 + 1))" # into its collections: 0.1 to 0.5 s
    stop "busy$i" "$pid"     # SIGTERM; status 0 (sigwait took it), no sanitizer report
    grep -qx done "$tmp/busy$i.out" || fail "run $i: busy did not finish"
done
ok "$runs SIGTERMs sent during collections reached sigwait"

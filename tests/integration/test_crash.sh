#!/usr/bin/env bash
# tests/integration/test_crash.sh - crash reports (prof/crash.h): the report's
# shape for each fatal signal, the exit status 2, the task's name and
# "created by", the CDTRACEBACK levels, the core of CDTRACEBACK=crash, the
# handler installed before cdebug's, and crashes where a lock the report
# could need is held (malloc's, the thread registry's, the trace recorder's,
# bdwgc's during a collection) or the stack is gone (overflow). Every run is
# bounded (40 s): a hang is a failure.
#
# Under ASan/UBSan the sanitizer's SIGSEGV, SIGBUS and SIGFPE handlers are
# installed before cdebug's and run first (docs/crash.md, "Chaining"): they
# report and exit. The cases of those signals cannot apply there and are
# skipped, each with its reason; the rest runs, and the script ends with
# 77 (skipped) when anything was skipped.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/crash_lib.sh"

prog=$build/tests/prog_crash
built "$prog"
export CDMAXPROCS=2
skipped=0
skip() {
    echo "skip: $*"
    skipped=1
}

# crun NAME [--quit] CMD...: runs CMD (40 s at most) in $tmp/cwd with stdout in
# $tmp/NAME.out and stderr in $tmp/NAME.err, and sets $how to "exit N",
# "signal N core 0|1" or "timeout". --quit: sends SIGQUIT once "ready" is
# printed. The child gets SIGQUIT and SIGPIPE at their default action and a
# stdin that stays open.
crun() {
    local name=$1
    shift
    mkdir -p "$tmp/cwd"
    how=$(cd "$tmp/cwd" && python3 - "$tmp/$name" "$@" <<'EOF'
import os, signal, sys, time
base, args = sys.argv[1], sys.argv[2:]
quit = args[0] == "--quit"
if quit:
    args = args[1:]
rd, wr = os.pipe()
pid = os.fork()
if pid == 0:
    os.dup2(rd, 0)
    os.dup2(os.open(base + ".out", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 1)
    os.dup2(os.open(base + ".err", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), 2)
    for s in (signal.SIGQUIT, signal.SIGPIPE, signal.SIGINT):
        signal.signal(s, signal.SIG_DFL)
    os.execvp(args[0], args)
os.close(rd)
deadline = time.time() + 40
sent = False
while True:
    p, st = os.waitpid(pid, os.WNOHANG)
    if p == pid:
        break
    if quit and not sent:
        try:
            if b"ready\n" in open(base + ".out", "rb").read():
                os.kill(pid, signal.SIGQUIT)
                sent = True
        except FileNotFoundError:
            pass
    if time.time() > deadline:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        print("timeout")
        sys.exit(0)
    time.sleep(0.02)
if os.WIFEXITED(st):
    print("exit", os.WEXITSTATUS(st))
else:
    print("signal", os.WTERMSIG(st), "core", int(os.WCOREDUMP(st)))
EOF
)
}

# drop_lines NAME ERE: removes the lines matching ERE from $tmp/NAME.err
# (what the program printed itself), so that report() sees the report.
drop_lines() {
    grep -Ev "$2" "$tmp/$1.err" >"$tmp/$1.kept" || true
    mv "$tmp/$1.kept" "$tmp/$1.err"
}

task_hdr='goroutine [0-9]+ \[running, task "crasher"\]:'

# ---- SIGSEGV in a task, default level (single) ------------------------------------
if [[ -n $sanitize ]]; then
    skip "segv: the sanitizer's SIGSEGV handler is installed first and reports itself"
    # What applies instead: the order. A wild write (not NULL: UBSan's null
    # check lets it fault) reaches ASan's handler first, which reports and
    # aborts (abort_on_error=1); cdebug reports that SIGABRT.
    if [[ $sanitize == *address* ]]; then
        crun wild "$prog" wild
        grep -q 'AddressSanitizer: SEGV on unknown address' "$tmp/wild.err" ||
            { show "$tmp/wild.err"; fail "wild: no ASan report"; }
        ! grep -qx 'SIGSEGV: segmentation violation' "$tmp/wild.err" || fail "wild: cdebug's handler ran first"
        if [[ ${ASAN_OPTIONS:-} == *abort_on_error=1* ]]; then
            want_status wild "exit 2"
            sed -n '/^SIGABRT: abort$/,$p' "$tmp/wild.err" | grep -Eqx "$task_hdr" ||
                { show "$tmp/wild.err"; fail "wild: no report of the abort after ASan's"; }
        fi
        mv "$tmp/wild.err" "$tmp/wild.log" # an ASan report on purpose
        ok "under ASan its SIGSEGV handler runs first; cdebug reports the abort that follows"
    fi
else
    crun wild "$prog" wild
    report wild 'SIGSEGV: segmentation violation' "$task_hdr"
    grep -Eq '^PC=0x[0-9a-f]+ m=[0-9]+ sigcode=1 addr=0x10$' "$tmp/wild.err" || fail "wild: addr"
    crun segv "$prog" segv
    report segv 'SIGSEGV: segmentation violation' "$task_hdr"
    grep -Eq '^PC=0x[0-9a-f]+ m=[0-9]+ sigcode=1 addr=0x0$' "$tmp/segv.err" || fail "segv: sigcode/addr"
    frames segv crash_null crash_here crasher
    grep -qx 'created by spawn_crasher' "$tmp/segv.err" || { show "$tmp/segv.err"; fail "segv: created by"; }
    grep -Eq '^created by pc=0x[0-9a-f]+ /.+/prog_crash\+0x[0-9a-f]+$' "$tmp/segv.err" || fail "segv: raw created by"
    # The raw offset is the file's: addr2line finds crash_null at the first one.
    off=$(sed -n 3p "$tmp/segv.err" | sed -E 's/.*\+(0x[0-9a-f]+)$/\1/')
    addr2line -f -e "$prog" "$off" | head -1 | grep -qx crash_null ||
        fail "segv: addr2line -e prog_crash $off is not crash_null: $(addr2line -f -e "$prog" "$off" | head -1)"
    # single: no other task, no pool frame, no registers.
    ! grep -q 'test.idle\|^run_task\|^rip ' "$tmp/segv.err" || { show "$tmp/segv.err"; fail "segv: more than single"; }
    ok "SIGSEGV in a task: Go's report, name, created by, file+offset, exit 2"

    crun segv-main "$prog" segv-main
    report segv-main 'SIGSEGV: segmentation violation' 'thread M1 \[main, running\]:'
    frames segv-main crash_null crash_here main
    crun segv-reg "$prog" segv-registered
    report segv-reg 'SIGSEGV: segmentation violation' 'thread M[0-9]+ \[(registered|pthread), running\]:'
    frames segv-reg crash_null thread_main
    crun segv-thread "$prog" segv-thread
    report segv-thread 'SIGSEGV: segmentation violation' 'thread tid [0-9]+ \[unregistered, running\]:'
    sed -n 2p "$tmp/segv-thread.err" | grep -q ' m=-1 ' || fail "segv-thread: m=-1"
    ok "SIGSEGV on main, a registered thread and a thread cdebug does not know"
fi

# ---- the other signals ---------------------------------------------------------------
crun abort "$prog" abort
report abort 'SIGABRT: abort' "$task_hdr"
grep -qx 'created by spawn_crasher' "$tmp/abort.err" || fail "abort: created by"
crun ill "$prog" ill
report ill 'SIGILL: illegal instruction' "$task_hdr"
grep -Eq '^instruction bytes:( 0x[0-9a-f]+)+$' "$tmp/ill.err" || fail "ill: instruction bytes"
crun trap "$prog" trap
report trap 'SIGTRAP: trace trap' "$task_hdr"
if [[ -n $sanitize ]]; then
    skip "fpe, bus: the sanitizer's SIGFPE and SIGBUS handlers are installed first"
else
    if [[ $(uname -m) == x86_64 ]]; then # aarch64 divides by zero without a trap
        crun fpe "$prog" fpe
        report fpe 'SIGFPE: floating-point exception' "$task_hdr"
        frames fpe divide
        grep -Eq '^instruction bytes:( 0x[0-9a-f]+)+$' "$tmp/fpe.err" || fail "fpe: instruction bytes"
    fi
    crun bus "$prog" bus
    report bus 'SIGBUS: bus error' "$task_hdr"
    frames bus bus_error
fi
ok "SIGABRT, SIGILL, SIGTRAP$([[ -n $sanitize ]] || echo ", SIGFPE, SIGBUS")"

# ---- CDTRACEBACK ----------------------------------------------------------------------
sig=abort # SIGABRT: the one every build lets cdebug handle
crun tb-none env CDTRACEBACK=none "$prog" $sig
want_status tb-none "exit 2"
[[ $(cat "$tmp/tb-none.err") == $'SIGABRT: abort\n'$(sed -n 2p "$tmp/tb-none.err") ]] ||
    { show "$tmp/tb-none.err"; fail "none: more than the two lines"; }
crun tb-zero env CDTRACEBACK=0 "$prog" $sig
[[ $(wc -l <"$tmp/tb-zero.err") == 3 ]] || fail "CDTRACEBACK=0 is none"

crun tb-all env CDTRACEBACK=all "$prog" $sig
report tb-all 'SIGABRT: abort' "$task_hdr"
[[ $(grep -c '^goroutine [0-9]* \[test.idle, task "idler"\]:$' "$tmp/tb-all.err") == 2 ]] ||
    { show "$tmp/tb-all.err"; fail "all: the two idlers"; }
grep -Eqx 'thread M1 \[main, test.main\]:' "$tmp/tb-all.err" || fail "all: main"
! grep -Eq '^thread M[0-9]+ \[(worker|system), |^rip |^run_task' "$tmp/tb-all.err" ||
    { show "$tmp/tb-all.err"; fail "all: runtime threads, frames or registers"; }
crun tb-one env CDTRACEBACK=1 "$prog" $sig
[[ $(grep -c 'test.idle' "$tmp/tb-one.err") == 2 ]] || fail "CDTRACEBACK=1 is all"

crun tb-system env CDTRACEBACK=system "$prog" $sig
report tb-system 'SIGABRT: abort' "$task_hdr"
[[ $(grep -c 'test.idle' "$tmp/tb-system.err") == 2 ]] || fail "system: the idlers"
grep -Eq '^thread M[0-9]+ \[(worker|system), ' "$tmp/tb-system.err" || { show "$tmp/tb-system.err"; fail "system: runtime threads"; }
grep -qx 'run_task(...)' "$tmp/tb-system.err" || { show "$tmp/tb-system.err"; fail "system: the pool's frames"; }
case $(uname -m) in
x86_64) grep -Eqx 'rip    0x[0-9a-f]+' "$tmp/tb-system.err" || fail "system: registers" ;;
aarch64) grep -Eqx 'pc      0x[0-9a-f]+' "$tmp/tb-system.err" || fail "system: registers" ;;
esac
ok "CDTRACEBACK none, single, all, system (and 0, 1)"

# crash: as system, then the signal again with its default action: a core.
hard=$(ulimit -H -c)
if [[ $hard != 0 ]]; then
    ulimit -S -c unlimited 2>/dev/null || ulimit -S -c "$hard"
fi
rm -f "$tmp"/cwd/core*
crun tb-crash env CDTRACEBACK=crash "$prog" $sig
[[ $how == "signal 6 core "* ]] || { show "$tmp/tb-crash.err"; fail "crash: $how, want death by SIGABRT"; }
grep -qx 'SIGABRT: abort' "$tmp/tb-crash.err" && grep -q 'test.idle' "$tmp/tb-crash.err" &&
    grep -qx 'run_task(...)' "$tmp/tb-crash.err" || { show "$tmp/tb-crash.err"; fail "crash: not the system report"; }
pattern=$(cat /proc/sys/kernel/core_pattern)
if [[ $hard == 0 ]]; then
    echo "note: the hard core limit is 0: checked the death by SIGABRT, not the core"
elif [[ -n $sanitize ]]; then
    echo "note: the sanitizer sets RLIMIT_CORE to 0 (disable_coredump): checked the death by SIGABRT, not the core"
elif [[ $pattern == core* ]]; then
    [[ $how == "signal 6 core 1" ]] || fail "crash: no core dumped ($how)"
    compgen -G "$tmp/cwd/core*" >/dev/null || fail "crash: the core bit is set but no $tmp/cwd/core* file"
    echo "note: core written: $(cd "$tmp/cwd" && ls core*)"
else
    [[ $how == "signal 6 core 1" ]] || echo "note: core_pattern '$pattern': no core bit ($how)"
fi
ulimit -S -c 0
ok "CDTRACEBACK=crash: the report, then death by the signal"

# A bad value: one warning, the default (single) kept.
crun tb-bad env CDTRACEBACK=everything "$prog" $sig
sed -n 1p "$tmp/tb-bad.err" | grep -qxF 'cdebug: CDTRACEBACK: bad value "everything" ignored (want none, single, all, system or crash); using single' ||
    { show "$tmp/tb-bad.err"; fail "bad CDTRACEBACK: warning"; }
drop_lines tb-bad '^cdebug: CDTRACEBACK: '
report tb-bad 'SIGABRT: abort' "$task_hdr"
! grep -q 'test.idle' "$tmp/tb-bad.err" || fail "bad CDTRACEBACK: not single"
ok "a bad CDTRACEBACK warns and keeps single"

# ---- never hang, never lose the report ------------------------------------------------
# Inside free(), the arena's lock held by the crashing thread.
if [[ -n $sanitize ]]; then
    skip "malloc: the sanitizer's allocator is not glibc's"
else
    crun malloc env CDTRACEBACK=all "$prog" malloc
    sed -n 1p "$tmp/malloc.err" | grep -qx 'double free or corruption (!prev)' ||
        { show "$tmp/malloc.err"; fail "malloc: glibc's message first"; }
    drop_lines malloc '^double free or corruption'
    report malloc 'SIGABRT: abort' "$task_hdr"
    [[ $(grep -c 'test.idle' "$tmp/malloc.err") == 2 ]] || { show "$tmp/malloc.err"; fail "malloc: the dump"; }
    ok "a crash inside malloc with its lock held: whole report"
fi

# The trace recorder's lock held, a trace running.
if [[ -z $sanitize ]]; then
    crun recorder env CDEBUG=trace="$tmp/t.trace" CDTRACEBACK=all "$prog" recorder-lock
    report recorder 'SIGSEGV: segmentation violation' "$task_hdr"
    [[ $(grep -c 'test.idle' "$tmp/recorder.err") == 2 ]] || { show "$tmp/recorder.err"; fail "recorder: the dump"; }
    ok "a crash holding the trace recorder's lock: whole report"

    # The thread registry's lock held: the task dump cannot have it. The
    # crashing thread's frames still come, then one line says what did not.
    crun registry env CDTRACEBACK=all "$prog" registry-lock
    want_status registry "exit 2"
    frames registry crash_null on_thread_crash
    grep -qx '...the other tasks and threads: timed out (the crashed thread may hold a lock it needs)...' \
        "$tmp/registry.err" || { show "$tmp/registry.err"; fail "registry: the timeout line"; }
    ok "a crash holding the registry's lock: frames, then a bounded wait"

    # During a collection: the world stopped, bdwgc's lock held.
    crun gc env CDTRACEBACK=all "$prog" gc
    report gc 'SIGSEGV: segmentation violation' 'thread M1 \[main, running\]:'
    frames gc crash_null
    ok "a crash during a collection"

    # The CPU profiler at its highest rate: its signals and its aggregator's
    # locks do not stand in the way (its profile is lost, as Go's is).
    crun cpuprof env CDEBUG=cpuprofile="$tmp/cpu.pb.gz",cpuprofilerate=1000 CDTRACEBACK=all "$prog" segv
    report cpuprof 'SIGSEGV: segmentation violation' "$task_hdr"
    [[ $(grep -c 'test.idle' "$tmp/cpuprof.err") == 2 ]] || { show "$tmp/cpuprof.err"; fail "cpuprof: the dump"; }
    ok "a crash while the CPU profiler runs: whole report"

    # Stack overflows, on a task's thread and on main: the alternate stack.
    crun overflow "$prog" overflow
    report overflow 'SIGSEGV: segmentation violation' "$task_hdr"
    frames overflow recurse
    grep -qx '...additional frames elided...' "$tmp/overflow.err" || fail "overflow: elided frames"
    crun overflow-main "$prog" overflow-main
    report overflow-main 'SIGSEGV: segmentation violation' 'thread M1 \[main, running\]:'
    ok "stack overflows on a task's thread and on main"
else
    skip "recorder-lock, registry-lock, gc, overflow: SIGSEGV belongs to the sanitizer"
fi

# ---- chaining ------------------------------------------------------------------------
if [[ -n $sanitize ]]; then
    skip "chain-fix, chain-fatal: the sanitizer's SIGSEGV handler comes first"
else
    # A handler installed before cdebug's runs first and may resolve the fault.
    crun chain-fix env PROG_CRASH_PRIOR=segv "$prog" chain-fix
    want_status chain-fix "exit 0"
    grep -qx 'resolved 1' "$tmp/chain-fix.out" || fail "chain-fix: the program did not go on"
    [[ $(grep -c 'prior handler' "$tmp/chain-fix.err") == 1 ]] || { show "$tmp/chain-fix.err"; fail "chain-fix: prior handler runs"; }
    ! grep -q SIGSEGV "$tmp/chain-fix.err" || fail "chain-fix: reported a resolved fault"
    # It returns without resolving: the third identical fault is reported.
    crun chain-fatal env PROG_CRASH_PRIOR=segv "$prog" chain-fatal
    [[ $(grep -c 'prior handler' "$tmp/chain-fatal.err") == 3 ]] || { show "$tmp/chain-fatal.err"; fail "chain-fatal: prior runs 3 times"; }
    drop_lines chain-fatal '^prior handler$'
    report chain-fatal 'SIGSEGV: segmentation violation' 'thread M1 \[main, running\]:'
    ok "a handler installed before cdebug's runs first; cdebug reports what it does not resolve"
fi

((skipped == 0)) || exit 77
echo "1 passed, 0 failed"

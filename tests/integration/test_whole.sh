#!/usr/bin/env bash
# The whole C program at once: examples/whole.c (malloc, plain pthreads, a
# contended mutex, a condition variable, a segfault in a task) runs with
# the debug server, and the real `go tool pprof` reads its profiles over
# HTTP as a user would (CDEBUG=http=...,memprofilerate=1,
# mutexprofilefraction=1,blockprofilerate=1):
#   1. /heap and /allocs: kept_site's 2000000 bytes in use and allocated,
#      freed_site's 1000000 allocated and none in use (exact at
#      memprofilerate=1); -tagfocus=allocator=malloc keeps both sites,
#      allocator=gc neither;
#   2. /profile?seconds=2: burn, on the program's own pthread "burner",
#      every sample of it labelled thread=burner;
#   3. /mutex: the contended mutex charged to take_lock; /block: the
#      condition wait in wait_cond, the lock waits in take_lock;
#   4. -list, -disasm and -weblist of burn (CPU) and kept_site (heap);
#   5. SIGUSR1: task "crasher" segfaults in crash_in_task: Go's crash
#      report (signal line, PC= m= sigcode= addr=, the task with its name,
#      the stack from crash_in_task through crasher, created by
#      spawn_crasher), exit status 2.
# ASan/UBSan builds have no malloc of cdebug's (CDEBUG_MALLOC is off) and
# time no condition waits (runtime/pthread_locks.c): those checks are
# skipped, said so, and the rest runs; the sanitizer's SIGSEGV handler
# runs before cdebug's (docs/crash.md), so the crash checks are the
# sanitizer's report, then (abort_on_error=1) cdebug's report of the
# abort. Not in the TSan list: under TSan the lock functions forward
# untimed and there is no malloc interposer either.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http_lib.sh"
source "$(dirname "$0")/pprof_lib.sh"
source "$(dirname "$0")/crash_lib.sh"
prog=$build/examples/whole
prog_src=$src/examples/whole.c
built "$prog"
go_env
need curl curl
if ((tsan)); then
    echo "skip: under TSan the lock functions forward untimed and malloc is the sanitizer's"
    exit 77
fi
cd "$tmp" # pprof_lib.sh: pprof's trim path
has_malloc=1
nm -D --defined-only "$build/libcdebug.so" | awk '$3 == "malloc" { f = 1 } END { exit !f }' ||
    has_malloc=0

hport=$(free_port)
CDEBUG="http=127.0.0.1:$hport,memprofilerate=1,mutexprofilefraction=1,blockprofilerate=1" \
    start whole '^ready$' "$prog"
url=http://127.0.0.1:$hport/debug/pprof
# The debug server answers before any profile is read.
[[ $(fetch "$url/cmdline") == 200 ]] || fail "the debug server does not answer on port $hport"

# ---- 1. malloc: the in-use split -------------------------------------------------
if ((has_malloc)); then
    pp -top -nodefraction=0 -unit=B -inuse_space "$url/heap" >inuse
    want_flat inuse kept_site 2000000B "heap -inuse_space"
    not_in_top inuse freed_site "heap -inuse_space"
    pp -top -nodefraction=0 -unit=B -alloc_space "$url/allocs" >alloc
    want_flat alloc kept_site 2000000B "allocs -alloc_space"
    want_flat alloc freed_site 1000000B "allocs -alloc_space"
    pp -top -nodefraction=0 -unit=B -alloc_space -tagfocus=allocator=malloc "$url/allocs" >tm
    want_flat tm kept_site 2000000B "-tagfocus=allocator=malloc"
    want_flat tm freed_site 1000000B "-tagfocus=allocator=malloc"
    pp -top -nodefraction=0 -unit=B -alloc_space -tagfocus=allocator=gc "$url/allocs" >tg
    not_in_top tg kept_site "-tagfocus=allocator=gc"
    not_in_top tg freed_site "-tagfocus=allocator=gc"
    pp -proto -output heap.pb.gz "$url/heap"
    ok "malloc sites: kept_site in use, freed_site allocated only, allocator=malloc"
else
    echo "skip: $build/libcdebug.so defines no malloc (CDEBUG_MALLOC=OFF, any sanitizer build): no malloc checks"
fi

# ---- 2. CPU: the program's own thread, named ----------------------------------------
pp -proto -output cpu.pb.gz "$url/profile?seconds=2"
pp -top -nodefraction=0 -tagfocus=thread=burner cpu.pb.gz >burner
# burn spins about half of the time: 200 ms of the 2 s at least.
awk '$NF == "burn" { v = $1; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
     ms = (u == "s" ? v * 1000 : v + 0); found = ms >= 200 } END { exit !found }' burner ||
    { cat burner; fail "cpu: burn has under 200 ms on thread=burner"; }
pp -top -nodefraction=0 -tagignore=thread=burner cpu.pb.gz >others
[[ -z $(flat others burn) ]] || { cat others; fail "cpu: samples of burn without thread=burner"; }
ok "CPU profile: burn on the program's pthread, labelled thread=burner"

# ---- 3. mutex and block -------------------------------------------------------------
# delay_ms FILE FUNC: FUNC's flat delay in a -top output, in ms (0 if absent).
delay_ms() {
    awk -v f="$2" '$NF == f { v = $1; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
        print (u == "s" ? v * 1000 : u == "ms" ? v : u == "us" ? v / 1000 : v / 1e6); found = 1 }
        END { if (!found) print 0 }' "$1"
}
pp -top -nodefraction=0 -sample_index=delay "$url/mutex" >mutex
awk -v v="$(delay_ms mutex take_lock)" 'BEGIN { exit !(v > 0) }' ||
    { cat mutex; fail "mutex: no delay charged to take_lock"; }
pp -top -nodefraction=0 -sample_index=delay "$url/block" >block
awk -v v="$(delay_ms block take_lock)" 'BEGIN { exit !(v > 0) }' ||
    { cat block; fail "block: no delay charged to take_lock"; }
if [[ $sanitize == *address* ]]; then
    echo "skip: ASan builds time no condition wait (runtime/pthread_locks.c): wait_cond not checked"
else
    # The waiter waits about 10 ms per tick of main's: much more than 50 ms by now.
    awk -v v="$(delay_ms block wait_cond)" 'BEGIN { exit !(v >= 50) }' ||
        { cat block; fail "block: wait_cond has under 50 ms"; }
fi
ok "mutex profile: take_lock; block profile: take_lock$([[ $sanitize == *address* ]] || echo ", wait_cond")"

# ---- 4. source and disassembly --------------------------------------------------------
views cpu.pb.gz burn "$prog_src" "whole hot line"
((has_malloc)) && views heap.pb.gz kept_site "$prog_src" "whole allocation kept"
check_sanitizer whole

# ---- 5. a segfault in a task ------------------------------------------------------------
kill -USR1 "$pid"
st=0
wait_pid "$pid" 40 || st=$?
how="exit $st"
task_hdr='goroutine [0-9]+ \[running, task "crasher"\]:'
if [[ -z $sanitize ]]; then
    report whole 'SIGSEGV: segmentation violation' "$task_hdr"
    sed -n 2p whole.err | grep -Eq ' sigcode=1 addr=0x10$' || { show whole.err; fail "crash: sigcode, addr"; }
    frames whole crash_in_task crasher
    grep -qx 'created by spawn_crasher' whole.err || { show whole.err; fail "crash: created by"; }
    ok "segfault in a task: Go's report, the task's name, its stack, created by, exit 2"
elif [[ $sanitize == *address* ]]; then
    echo "skip: the sanitizer's SIGSEGV handler runs first and reports the segfault (docs/crash.md)"
    grep -q 'AddressSanitizer: SEGV on unknown address' whole.err &&
        grep -Eq '^ +#0 0x[0-9a-f]+ in crash_in_task ' whole.err || { show whole.err; fail "crash: no ASan report in crash_in_task"; }
    then="ASan's status $st (without abort_on_error=1)"
    if [[ ${ASAN_OPTIONS:-} == *abort_on_error=1* ]]; then
        want_status whole "exit 2"
        sed -n '/^SIGABRT: abort$/,$p' whole.err >abort.txt
        grep -Eqx "$task_hdr" abort.txt && grep -qx 'created by spawn_crasher' abort.txt ||
            { show whole.err; fail "crash: no report of the abort after ASan's, with the task"; }
        then="cdebug's of the abort, with the task, exit 2"
    fi
    mv whole.err whole.log # a sanitizer report on purpose
    ok "segfault in a task: ASan's report in crash_in_task, then $then"
fi

#!/usr/bin/env bash
# Signals in a program cdebug was preloaded into (docs/preload.md):
#   - SIGTERM and SIGINT, at their default actions: cpuprofile=,
#     memprofile= and trace= are written, then the process ends by the
#     same signal (status 143, 130), as it would have without cdebug;
#   - a program with its own SIGTERM handler keeps it: its exit path
#     writes the files;
#   - SIGQUIT prints the dump of every thread and exits 2;
#   - a segfault in a named thread prints Go's report shape and exits 2.
# The programs are Debian's cat and bash, and a plain C program built here
# without cdebug.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/crash_lib.sh"
preload_env
go_env
trace_tool=$build/viewer/cdebug-trace
built "$trace_tool"

# files NAME: the three files of run NAME are whole: go tool pprof reads
# both profiles, cdebug-trace reads the trace.
files() {
    local f
    for f in cpu mem; do
        [[ -s $tmp/$1.$f.pb.gz ]] || fail "$1: no $f profile"
        pp -raw "$tmp/$1.$f.pb.gz" >"$tmp/$1.$f.raw"
    done
    grep -q '^PeriodType: cpu nanoseconds' "$tmp/$1.cpu.raw" || fail "$1: not a CPU profile"
    grep -q '^PeriodType: space bytes' "$tmp/$1.mem.raw" || fail "$1: not a heap profile"
    "$trace_tool" stats "$tmp/$1.trace" >"$tmp/$1.stats" 2>&1 || { cat "$tmp/$1.stats"; fail "$1: trace unreadable"; }
}

hold_stdin
# ended NAME SIG WANT: cat, preloaded with the three files, ended by SIG.
ended() {
    local name=$1 st=0
    dfl env LD_PRELOAD="$preload" \
        CDEBUG="cpuprofile=$tmp/$name.cpu.pb.gz,memprofile=$tmp/$name.mem.pb.gz,trace=$tmp/$name.trace" \
        cat <"$tmp/in" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pid=$!
    pids+=("$pid")
    wait_reading "$name" "$pid"
    kill "-$2" "$pid"
    wait_pid "$pid" 20 || st=$?
    ((st == $3)) || { show "$tmp/$name.err"; fail "$name: status $st, want $3"; }
    files "$name"
    check_sanitizer "$name"
}
ended term TERM 143
ok "SIGTERM: the three files written, status 143 (killed by SIGTERM)"
ended int INT 130
ok "SIGINT: the three files written, status 130"

# The program's own handler wins; its exit writes the files.
if ((!preload_locale_ok)); then
    echo "skip: a program's own handler (bash hangs in this build with the sanitizer's runtime preloaded)"
else
cat >"$tmp/trap.sh" <<'EOF'
trap 'exit 3' TERM
echo ready
while :; do sleep 0.05; done
EOF
env LD_PRELOAD="$preload" CDEBUG="cpuprofile=$tmp/trap.cpu.pb.gz,memprofile=$tmp/trap.mem.pb.gz,trace=$tmp/trap.trace" \
    bash "$tmp/trap.sh" >"$tmp/trap.out" 2>"$tmp/trap.err" &
pid=$!
pids+=("$pid")
wait_line trap "$pid" ready 10
kill -TERM "$pid"
st=0
wait_pid "$pid" 20 || st=$?
((st == 3)) || fail "trap: status $st, want 3 (the program's handler)"
files trap
ok "a program's own SIGTERM handler runs; its exit writes the files"
fi

# In a child of fork(), where cd-exit does not exist, SIGTERM still ends
# the process (the handler re-raises it there).
cat >"$tmp/forked.c" <<'EOF'
#include <signal.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
int main(void)
{
    pid_t c = fork();
    if (c == 0) {
        pause();
        return 0;
    }
    usleep(300000);
    kill(c, SIGTERM);
    int st;
    waitpid(c, &st, 0);
    printf("child %s %d\n", WIFSIGNALED(st) ? "signal" : "exit", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    return 0;
}
EOF
cc -O1 -o "$tmp/forked" "$tmp/forked.c" || fail "compiling forked.c"
run_timeout=20 run 0 env LD_PRELOAD="$preload" CDEBUG="cpuprofile=$tmp/forked.pb.gz" "$tmp/forked"
grep -qx 'child signal 15' "$tmp/out" || fail "fork child: $(cat "$tmp/out"), want 'child signal 15'"
ok "a fork child ends by SIGTERM (no cd-exit there)"

# SIGQUIT: the dump of every thread, then status 2.
dfl env LD_PRELOAD="$preload" cat <"$tmp/in" >"$tmp/quit.out" 2>"$tmp/quit.err" &
pid=$!
pids+=("$pid")
wait_reading quit "$pid"
kill -QUIT "$pid"
how=exit
st=0
wait_pid "$pid" 20 || st=$?
how="exit $st"
want_status quit "exit 2"
sed -n 1p "$tmp/quit.err" | grep -qx 'SIGQUIT: quit' || { show "$tmp/quit.err"; fail "quit: first line"; }
grep -Eq '^thread M1 \[main, running\]:$' "$tmp/quit.err" || { show "$tmp/quit.err"; fail "quit: no main thread block"; }
grep -q 'read' "$tmp/quit.err" || { show "$tmp/quit.err"; fail "quit: main's stack lacks its read"; }
ok "SIGQUIT: every thread dumped, status 2"

# A segfault in a named thread of a program built without cdebug.
cat >"$tmp/segv.c" <<'EOF'
#define _GNU_SOURCE
#include <pthread.h>
#include <stdio.h>
__attribute__((noinline)) static void poke(volatile int *p) { *p = 1; }
__attribute__((noinline)) static void *crasher(void *a)
{
    pthread_setname_np(pthread_self(), "crasher");
    poke((volatile int *)a);
    return NULL;
}
int main(void)
{
    pthread_t t;
    pthread_create(&t, NULL, crasher, (void *)16);
    pthread_join(t, NULL);
    puts("survived");
    return 0;
}
EOF
cc -O1 -g -fno-omit-frame-pointer -pthread -o "$tmp/segv" "$tmp/segv.c" || fail "compiling segv.c"
st=0
timeout -k 5 30 env LD_PRELOAD="$preload" "$tmp/segv" >"$tmp/segv.out" 2>"$tmp/segv.err" || st=$?
how="exit $st"
if [[ $sanitize == *address* ]]; then
    # ASan's own SIGSEGV handler reports first (docs/crash.md, chaining).
    grep -q 'AddressSanitizer: SEGV' "$tmp/segv.err" || { show "$tmp/segv.err"; fail "segv: no ASan report"; }
    ok "segfault: reported by the sanitizer first (sanitizer build)"
else
    report segv "SIGSEGV: segmentation violation" 'thread M[0-9]+ \[pthread( "crasher")?, running\]:'
    frames segv poke crasher
    grep -q 'crasher' "$tmp/segv.err" || fail "segv: the thread's name is missing"
    ok "segfault in a named pthread: Go's report shape, status 2"

    # A single-threaded program has no reporting thread (it would make the
    # program multi-threaded): a copy of the process symbolizes.
    cat >"$tmp/single.c" <<'EOF'
#include <stdio.h>
__attribute__((noinline)) static void poke1(volatile int *p) { *p = 1; }
__attribute__((noinline)) static void outer1(void) { poke1((volatile int *)16); }
int main(void)
{
    outer1();
    puts("survived");
    return 0;
}
EOF
    cc -O1 -g -fno-omit-frame-pointer -o "$tmp/single" "$tmp/single.c" || fail "compiling single.c"
    st=0
    timeout -k 5 30 env LD_PRELOAD="$preload" "$tmp/single" >"$tmp/single.out" 2>"$tmp/single.err" || st=$?
    how="exit $st"
    report single "SIGSEGV: segmentation violation" 'thread M1 \[main, running\]:'
    frames single poke1 outer1 main
    ok "segfault in a single-threaded program: symbolized by a copy of the process, status 2"
fi

#!/usr/bin/env bash
# Programs that are hard on a preloaded library (docs/preload.md, "Hard
# programs"); cdebug keeps working or says once what it cannot do:
#   - a daemon that closes every descriptor it did not open (a close loop,
#     close_range, closefrom): the debug server still serves, the trace
#     and the CPU profile are whole, one line says what was kept;
#   - a program that blocks every signal in every thread: its threads are
#     still in the CPU profile;
#   - a program with its own SIGSEGV handler: its handler runs;
#   - fork without exec: the child works and exits, the parent still
#     serves, the child writes no file and says nothing.
# The program is built here without cdebug (prog.c below).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http_lib.sh"
source "$(dirname "$0")/pprof_lib.sh"
preload_env
go_env
trace_tool=$build/viewer/cdebug-trace
built "$trace_tool"

cat >"$tmp/prog.c" <<'EOF'
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Mallocs and frees for s seconds. */
__attribute__((noinline)) static void work(double s)
{
    double end = now() + s;
    while (now() < end) {
        void *p[64];
        for (int i = 0; i < 64; i++)
            p[i] = malloc(100 + i * 10);
        for (int i = 0; i < 64; i++)
            free(p[i]);
    }
}

/* Pure computation for s seconds: every sample lands in the caller's own
 * frame (under a sanitizer, malloc's samples would land in its allocator,
 * whose frames do not chain back). */
static volatile unsigned long sink;
__attribute__((noinline)) static void compute(double s)
{
    double end = now() + s;
    while (now() < end)
        for (int i = 0; i < 100000; i++)
            sink += (unsigned long)i * 2654435761u;
}
__attribute__((noinline)) static void spin_blocked_main(void) { compute(1.0); }
__attribute__((noinline)) static void spin_blocked_thread(void) { compute(1.0); }

static void block_all(void)
{
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
}

static void *blocked_thread(void *a)
{
    (void)a;
    block_all();
    spin_blocked_thread();
    return NULL;
}

static void own_segv(int sig)
{
    (void)sig;
    static const char msg[] = "own handler\n";
    write(2, msg, sizeof msg - 1);
    _exit(7);
}

int main(int argc, char **argv)
{
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "close") == 0) {
        for (int fd = 3; fd < 1024; fd++)
            close(fd);
    } else if (strcmp(mode, "close_range") == 0) {
        if (close_range(3, ~0u, 0) != 0)
            perror("close_range");
    } else if (strcmp(mode, "closefrom") == 0) {
        closefrom(3);
    } else if (strcmp(mode, "blocked") == 0) {
        block_all(); /* before the thread: it inherits the mask, and blocks again */
        pthread_t t;
        pthread_create(&t, NULL, blocked_thread, NULL);
        spin_blocked_main();
        pthread_join(t, NULL);
        puts("done");
        return 0;
    } else if (strcmp(mode, "segv") == 0) {
        signal(SIGSEGV, own_segv);
        *(volatile int *)16 = 1;
        return 1;
    } else if (strcmp(mode, "fork") == 0) {
        pid_t c = fork();
        if (c == 0) {
            work(0.3);
            exit(0);
        }
        int st;
        waitpid(c, &st, 0);
        printf("child %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    }
    printf("ready\n");
    fflush(stdout);
    /* Until the test has talked to the server: one line on stdin. */
    char line[16];
    if (fgets(line, sizeof line, stdin) == NULL)
        return 1;
    work(0.2);
    puts("done");
    return 0;
}
EOF
cc -O1 -g -fno-omit-frame-pointer -pthread -o "$tmp/prog" "$tmp/prog.c" || fail "compiling prog.c"

# served NAME MODE: runs prog MODE preloaded with a server on port 0, a
# CPU profile and a trace; checks the server answers after MODE, lets the
# program finish, and checks the files.
served() {
    local name=$1 mode=$2 st=0 i port=
    rm -f "$tmp/go.$name"
    mkfifo "$tmp/go.$name"
    env LD_PRELOAD="$preload" \
        CDEBUG="http=127.0.0.1:0,cpuprofile=$tmp/$name.pb.gz,trace=$tmp/$name.trace" \
        "$tmp/prog" "$mode" <"$tmp/go.$name" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pid=$!
    pids+=("$pid")
    exec 8>"$tmp/go.$name"
    wait_line "$name" "$pid" ready 20
    port=$(awk '/listening on port/ { print $NF; exit }' "$tmp/$name.err")
    [[ -n $port ]] || fail "$name: no port said"
    for p in /debug/vars '/debug/pprof/goroutine?debug=2' /debug/pprof/heap; do
        code=$(fetch "http://127.0.0.1:$port$p")
        [[ $code == 200 ]] || fail "$name: GET $p after '$mode': $code"
    done
    echo go >&8
    exec 8>&-
    wait_pid "$pid" 30 || st=$?
    ((st == 0)) || { show "$tmp/$name.err"; fail "$name: status $st"; }
    grep -qx done "$tmp/$name.out" || fail "$name: did not finish"
    pp -raw "$tmp/$name.pb.gz" >"$tmp/$name.raw"
    "$trace_tool" stats "$tmp/$name.trace" >"$tmp/$name.stats" 2>&1 ||
        { cat "$tmp/$name.stats"; fail "$name: trace unreadable"; }
    ! grep -q 'bad file descriptor\|Fatal error' "$tmp/$name.err" || { show "$tmp/$name.err"; fail "$name: a file or the server was lost"; }
    check_sanitizer "$name"
}

for mode in close close_range closefrom; do
    served "$mode" "$mode"
    kept=$(grep -c 'cdebug: the program closed descriptor' "$tmp/$mode.err" || true)
    ((kept == 1)) || { show "$tmp/$mode.err"; fail "$mode: $kept 'closed descriptor' lines, want 1"; }
    ok "$mode: the server serves, the trace and profile are whole, said once"
done

# Every signal blocked, in main and in a thread: both still sampled.
st=0
timeout -k 5 60 env LD_PRELOAD="$preload" CDEBUG="cpuprofile=$tmp/blocked.pb.gz" "$tmp/prog" blocked \
    >"$tmp/blocked.out" 2>"$tmp/blocked.err" || st=$?
((st == 0)) || { show "$tmp/blocked.err"; fail "blocked: status $st"; }
pp -top -nodefraction=0 "$tmp/blocked.pb.gz" >"$tmp/blocked.top"
for f in spin_blocked_main spin_blocked_thread; do
    grep -q "$f" "$tmp/blocked.top" || { cat "$tmp/blocked.top"; fail "blocked: $f not sampled"; }
done
ok "every signal blocked in every thread: both threads sampled"

# The program's own SIGSEGV handler runs.
st=0
timeout -k 5 30 env LD_PRELOAD="$preload" "$tmp/prog" segv >"$tmp/segv.out" 2>"$tmp/segv.err" || st=$?
if [[ $sanitize == *address* ]]; then
    # ASan's handler is first in the chain here (docs/crash.md).
    ((st != 0)) || fail "segv: status 0"
else
    ((st == 7)) || { show "$tmp/segv.err"; fail "segv: status $st, want 7 (the program's handler)"; }
    grep -qx 'own handler' "$tmp/segv.err" || fail "segv: the program's handler did not run"
    ! grep -q SIGSEGV "$tmp/segv.err" || fail "segv: cdebug reported a fault the program handled"
    ok "the program's own SIGSEGV handler runs; no report"
fi

# fork without exec: the child works and exits; the parent still serves;
# only the parent writes its files, and nobody says a word.
if [[ $sanitize == *address* ]]; then
    # gcc 12's ASan does not hold its allocator's lock across fork: a
    # child forked while one of cdebug's threads allocates hangs in its
    # first malloc (seen: 1 run in 10, the child in
    # SizeClassAllocator64::GetFromAllocator). Not cdebug's to fix.
    echo "skip: fork without exec (ASan's allocator is not fork-safe here)"
    exit 0
fi
served fork fork
grep -qx 'child 0' "$tmp/fork.out" || fail "fork: the child failed"
[[ ! -s $tmp/fork.err ]] || [[ $(grep -vc 'listening on port' "$tmp/fork.err") == 0 ]] ||
    { show "$tmp/fork.err"; fail "fork: stderr has more than the port line"; }
n=$(find "$tmp" -maxdepth 1 -name 'fork.pb.gz.*' -o -maxdepth 1 -name 'fork.trace.*' | wc -l)
((n == 0)) || fail "fork: the child wrote $n files"
ok "fork without exec: the child ran, the parent serves, one set of files"

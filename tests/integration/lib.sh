# tests/integration/lib.sh - the preamble of every integration script,
# sourced first (`source "$(dirname "$0")/lib.sh"`), never run. Layered on
# it: http_lib.sh (HTTP requests and answers), pprof_lib.sh (what go tool
# pprof shows: -top values, source views), crash_lib.sh (a crash report's
# shape), go_expvar_server/lib.sh (cdebug-top's Go peer). tests/README.md
# says how to run a script by hand.
#
# It sets
#   build     CDEBUG_BUILD, the build directory (required);
#   src       CDEBUG_SRC, the source tree (default: the one holding this file);
#   sanitize  CDEBUG_SANITIZE, the build's -fsanitize= list: CTest passes it;
#             when unset, read from the build's CMakeCache.txt. Non-empty
#             means slower programs (scripts shrink their workloads) and
#             sanitizer reports to look for;
#   tsan      1 in a ThreadSanitizer build, else 0;
#   tmp       a private scratch directory, removed at exit;
#   pids      processes killed (and reaped) at exit: `start` adds to it,
#             scripts may too;
# and the shell options -E -e -u -o pipefail, with an ERR trap that names
# the line of a command that ended the script (a run that ends without a
# FAIL line is otherwise a mystery). The caller's own CDEBUG settings and
# proxies are cleared: they must not leak into the runs. Scripts add exit
# work with at_exit, never with their own EXIT trap.

set -Eeuo pipefail
# lib_on_err STATUS LINE COMMAND: the ERR trap's line (FILE:LINE of the command).
lib_on_err() {
    local f=${BASH_SOURCE[1]:-$0}
    echo "FAIL: ${f##*/}:$2: exit $1: $3" >&2
}
trap 'lib_on_err $? $LINENO "$BASH_COMMAND"' ERR

build=${CDEBUG_BUILD:?CDEBUG_BUILD must name the build directory (tests/README.md)}
src=${CDEBUG_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
if [[ -z ${CDEBUG_SANITIZE+set} && -f $build/CMakeCache.txt ]]; then
    CDEBUG_SANITIZE=$(sed -n 's/^CDEBUG_SANITIZE:STRING=//p' "$build/CMakeCache.txt")
fi
sanitize=${CDEBUG_SANITIZE:-}
tsan=0
[[ $sanitize == *thread* ]] && tsan=1
tmp=$(mktemp -d)
pids=()
exit_cmds=()

# at_exit CMD: runs CMD (a shell command string) at exit, before the
# processes in pids are killed and $tmp is removed; errors are ignored.
at_exit() {
    exit_cmds+=("$1")
}

# kill_all: kills (SIGKILL) and reaps every process in pids, and empties
# it. Only the shell's unreaped children are signalled: the number of one
# already waited for may belong to another process by now.
kill_all() {
    local p live
    live=" $(jobs -p | tr '\n' ' ') "
    for p in "${pids[@]}"; do
        [[ $live == *" $p "* ]] && kill -KILL "$p" 2>/dev/null || true
    done
    for p in "${pids[@]}"; do
        wait "$p" 2>/dev/null || true
    done
    pids=()
}

lib_cleanup() {
    local c
    for c in "${exit_cmds[@]}"; do
        eval "$c" || true
    done
    kill_all
    rm -rf "$tmp"
}
trap lib_cleanup EXIT

unset CDEBUG CDMAXPROCS CDGC CDEBUG_HTTP_TOKEN
# curl must never go through a proxy to reach 127.0.0.1.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY='*'

# fail MESSAGE: the message, then the stderr of every program run here
# ($tmp/*.err and $tmp/err: a sanitizer report or a crash there is usually
# the cause), and exit 1.
fail() {
    echo "FAIL: $*" >&2
    local f
    for f in "$tmp"/*.err "$tmp/err"; do
        [[ -s $f ]] && show "$f"
    done
    exit 1
}

ok() {
    echo "ok: $*"
}

# show FILE: prints a captured output with a header, for failure context.
show() {
    echo "---- $1 ($(wc -l <"$1") lines, last 30) ----" >&2
    tail -n 30 "$1" >&2
}

# need CMD PACKAGE: fails unless CMD is installed (from Debian's PACKAGE).
need() {
    command -v "$1" >/dev/null ||
        fail "$1 is not installed (Debian $2: run scripts/bootstrap test)"
}

# built PATH...: fails unless each program is built.
built() {
    local p
    for p in "$@"; do
        [[ -x $p ]] || fail "$p is not built"
    done
}

# check_sanitizer NAME|FILE: no ASan/UBSan/LSan/TSan report in $tmp/NAME.err
# (or FILE, when it names one).
check_sanitizer() {
    local f=$1
    [[ $f == */* ]] || f=$tmp/$1.err
    if grep -Eq 'Sanitizer|runtime error:' "$f"; then
        fail "${1##*/}: sanitizer report on stderr"
    fi
}

# run WANT CMD...: runs CMD (120 s at most; run_timeout=SECONDS changes
# it) with stdout in $tmp/out and stderr in $tmp/err, and fails unless it
# exits with status WANT with no sanitizer report.
run() {
    local want=$1 st=0
    shift
    (($# > 0)) || fail "run: no command to run"
    timeout -k 5 "${run_timeout:-120}" "$@" >"$tmp/out" 2>"$tmp/err" || st=$?
    check_sanitizer "$tmp/err"
    ((st == want)) || fail "${1##*/}${2:+ ${*:2}}: exit $st, want $want"
}

# one_line_err PATTERN: the stderr of the last `run` is exactly one line,
# and it matches PATTERN (grep).
one_line_err() {
    [[ $(wc -l <"$tmp/err") == 1 ]] || fail "want one stderr line ($1)"
    grep -q -- "$1" "$tmp/err" || fail "stderr lacks '$1'"
}

# start NAME REGEX CMD...: runs CMD in the background with stdout in
# $tmp/NAME.out and stderr in $tmp/NAME.err, waits (10 s at most) for a
# stdout line matching REGEX, and sets $pid and $port (the line's last
# field). Fails if the program exits first.
start() {
    local name=$1 re=$2
    shift 2
    # Created here: the background job opens them only once it runs, and
    # awk on a missing file would end the script (set -e).
    : >"$tmp/$name.out"
    : >"$tmp/$name.err"
    "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pid=$!
    pids+=("$pid")
    local i
    for ((i = 0; i < 200; i++)); do
        # awk alone: under pipefail, grep | head could die of SIGPIPE and
        # end the script without a word.
        port=$(awk -v re="$re" '$0 ~ re { print $NF; exit }' "$tmp/$name.out")
        [[ -n $port ]] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.05
    done
    show "$tmp/$name.out"
    fail "$name did not print /$re/"
}

# stop NAME PID [WANT_STATUS [SIGNAL]]: sends SIGNAL (TERM), waits 10 s at
# most, checks the exit status (default 0) and that no sanitizer complained
# on stderr ($tmp/NAME.err).
stop() {
    local name=$1 p=$2 want=${3:-0} sig=${4:-TERM} i rc=0
    kill "-$sig" "$p" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$p" 2>/dev/null; then
        kill -KILL "$p"
        fail "$name still running 10 s after SIG$sig"
    fi
    wait "$p" || rc=$?
    if ((rc != want)); then
        show "$tmp/$name.out"
        fail "$name exited with status $rc, want $want"
    fi
    check_sanitizer "$name"
}

# wait_line NAME PID LINE SECONDS: waits up to SECONDS for the exact line
# LINE in $tmp/NAME.out of the background program PID (started by start);
# fails if PID exits first or the line never comes.
wait_line() {
    local name=$1 p=$2 line=$3 limit=$4 i
    for ((i = 0; i < limit * 10; i++)); do
        grep -qxF -- "$line" "$tmp/$name.out" && return 0
        kill -0 "$p" 2>/dev/null || { show "$tmp/$name.err"; fail "$name exited before printing '$line'"; }
        sleep 0.1
    done
    grep -qxF -- "$line" "$tmp/$name.out" || fail "$name: no line '$line' in $limit s"
}

# wait_pid PID SECONDS: waits up to SECONDS for PID (a child) to exit;
# returns its status, or 124 after killing it when it did not exit.
wait_pid() {
    local p=$1 limit=$2 i
    for ((i = 0; i < limit * 20; i++)); do
        if ! kill -0 "$p" 2>/dev/null; then
            wait "$p"
            return $?
        fi
        sleep 0.05
    done
    kill -KILL "$p" 2>/dev/null || true
    wait "$p" 2>/dev/null || true
    return 124
}

# free_port: a TCP port on 127.0.0.1 nobody listens on (just closed).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# go_env: the go toolchain, offline, with HOME, its caches and pprof's
# files in $tmp (nothing is written elsewhere).
go_env() {
    need go golang-go
    export HOME=$tmp PPROF_TMPDIR=$tmp GOCACHE=$tmp/gocache GOPATH=$tmp/gopath \
        GOPROXY=off GOFLAGS= GO111MODULE=off
}

# pp ARGS...: `go tool pprof ARGS` (2 minutes at most; go_env first);
# fails with pprof's stderr.
pp() {
    timeout -k 5 120 go tool pprof "$@" 2>"$tmp/pp.err" || {
        cat "$tmp/pp.err" >&2
        fail "go tool pprof $*"
    }
}

# preload_env: sets $preload, the LD_PRELOAD value that loads the build's
# libcdebug.so into a program built without it, and $preload_locale_ok (0:
# bash, python3 and their kind hang under it in this build, see below). A sanitizer build's
# library needs the sanitizer's runtime loaded first (it must be the first
# object), and leak reports about programs that are not ours are noise:
# ASAN_OPTIONS gets detect_leaks=0. A ThreadSanitizer runtime cannot be
# preloaded into a program built without it: the script is skipped (77).
preload_env() {
    preload=$build/libcdebug.so
    [[ -f $preload ]] || fail "$preload is not built"
    if ((tsan)); then
        echo "SKIP: a ThreadSanitizer library cannot be preloaded into a program built without it"
        exit 77
    fi
    preload_locale_ok=1
    if [[ $sanitize == *address* ]]; then
        preload="$(${CC:-cc} -print-file-name=libasan.so) $preload"
        export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0
        # ASan, preloaded, initialises inside the constructor of libp11-kit
        # (gnutls', which libmicrohttpd needs) while that holds glibc's
        # locale lock, and leaves the lock corrupt: a program that then
        # converts multibyte text (bash, python3) hangs. Not cdebug's:
        # LD_PRELOAD="libasan.so libp11-kit.so.0" bash -c : hangs too.
        preload_locale_ok=0
    elif [[ $sanitize == *undefined* ]]; then
        preload="$(${CC:-cc} -print-file-name=libubsan.so) $preload"
    fi
}

# hold_stdin: makes the FIFO $tmp/in, held open (fd 9) for reading and
# writing until exit, so programs given `<"$tmp/in"` block reading it.
hold_stdin() {
    [[ -p $tmp/in ]] || mkfifo "$tmp/in"
    exec 9<>"$tmp/in"
}

# wait_reading NAME PID: waits (10 s at most) until PID's main thread is
# blocked in read(2) on its standard input (system call 0, fd 0 on
# x86-64), as `cat <"$tmp/in"` is once its start-up, a preloaded
# library's constructor included, is over (hold_stdin); fails if PID
# exits first. (A sleeping main would not do: start-up may sleep too.)
wait_reading() {
    local i
    for ((i = 0; i < 200; i++)); do
        [[ $(cut -d' ' -f1,2 "/proc/$2/syscall" 2>/dev/null) == "0 0x0" ]] && return 0
        kill -0 "$2" 2>/dev/null || { show "$tmp/$1.err"; fail "$1: exited before it read its input"; }
        sleep 0.05
    done
    fail "$1: never read its input"
}

# dfl CMD... &: runs CMD in the background with SIGINT and SIGQUIT at
# their default actions (bash starts background commands with both
# ignored; a program started from a terminal has them at their defaults).
# Background only: it execs, so the shell running it becomes CMD (and $!
# is CMD's pid).
dfl() {
    exec python3 -c 'import os, signal, sys
for s in (signal.SIGINT, signal.SIGQUIT):
    signal.signal(s, signal.SIG_DFL)
os.execvp(sys.argv[1], sys.argv[1:])' "$@"
}

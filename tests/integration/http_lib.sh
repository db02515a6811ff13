# tests/integration/http_lib.sh - helpers shared by the test_http*.sh scripts
# (sourced, not run). Every server runs on 127.0.0.1 with port 0; the
# program under test prints the port it got and the script reads it.
#
# CTest sets CDEBUG_BUILD (build directory) and CDEBUG_SRC (source tree); a
# non-empty CDEBUG_SANITIZE means an ASan/UBSan build: slower, so the
# workloads shrink, and every program's stderr is checked for reports.

build=${CDEBUG_BUILD:?CDEBUG_BUILD must name the build directory}
sanitize=${CDEBUG_SANITIZE:-}
tmp=$(mktemp -d)
pids=()

# A command that fails outside a test (set -e ends the script) says where:
# a run that ends without a FAIL line is otherwise a mystery. -E: functions
# inherit the trap.
set -E
trap 'echo "FAIL: ${BASH_SOURCE[0]##*/}:$LINENO: exit $?: $BASH_COMMAND" >&2' ERR

cleanup() {
    local p
    for p in "${pids[@]}"; do
        kill -KILL "$p" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

# fail MESSAGE: the message, then the stderr of every program started here
# (a sanitizer report or a crash there is usually the cause), and exit 1.
fail() {
    echo "FAIL: $*" >&2
    local f
    for f in "$tmp"/*.err; do
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

# The caller's own settings must not leak into the runs.
unset CDEBUG CDMAXPROCS CDGC CDEBUG_HTTP_TOKEN
# curl must never go through a proxy to reach 127.0.0.1.
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
export NO_PROXY='*'

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

# stop NAME PID [WANT_STATUS]: SIGTERM, waits 10 s at most, checks the exit
# status (default 0) and that no sanitizer complained on stderr.
stop() {
    local name=$1 p=$2 want=${3:-0} i rc=0
    kill -TERM "$p" 2>/dev/null || true
    for ((i = 0; i < 200; i++)); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.05
    done
    if kill -0 "$p" 2>/dev/null; then
        kill -KILL "$p"
        fail "$name still running 10 s after SIGTERM"
    fi
    wait "$p" || rc=$?
    if ((rc != want)); then
        show "$tmp/$name.out"
        fail "$name exited with status $rc, want $want"
    fi
    check_sanitizer "$name"
}

# check_sanitizer NAME: no ASan/UBSan/LSan report in $tmp/NAME.err.
check_sanitizer() {
    if grep -Eq 'Sanitizer|runtime error:' "$tmp/$1.err"; then
        fail "$1: sanitizer report on stderr"
    fi
}

# fetch ARGS...: curl with bounded time; writes headers to $tmp/h and the
# body to $tmp/b, prints the status code (000 when no response came; curl
# says why on stderr). Always succeeds: under set -e a failing
# `code=$(fetch ...)` would end the script without a word, so the caller's
# check of the code is what fails, with a message.
fetch() {
    curl -sS --max-time 10 -D "$tmp/h" -o "$tmp/b" -w '%{http_code}' "$@" || true
}

# header NAME: the value of header NAME in $tmp/h (case-insensitive name,
# CR removed), empty when absent.
header() {
    tr -d '\r' <"$tmp/h" | awk -v n="$(tr '[:upper:]' '[:lower:]' <<<"$1")" '
        { i = index($0, ":"); if (i && tolower(substr($0, 1, i - 1)) == n) { v = substr($0, i + 1); sub(/^[ \t]+/, "", v); print v; exit } }'
}

# expect_header NAME VALUE CONTEXT
expect_header() {
    local got
    got=$(header "$1")
    [[ $got == "$2" ]] || {
        cat "$tmp/h" >&2
        fail "$3: header $1 is \"$got\", want \"$2\""
    }
}

# expect_body TEXT CONTEXT: the body is exactly TEXT (printf %b escapes).
expect_body() {
    printf '%b' "$1" >"$tmp/want"
    cmp -s "$tmp/b" "$tmp/want" || {
        echo "got body:" >&2
        od -c "$tmp/b" | head -n 5 >&2
        fail "$2: body differs from \"$1\""
    }
}

# head_only PORT PATH [HEADER]: sends a raw HEAD request with
# "Connection: close" and fails unless the answer is a 200 that ends right
# after its headers (curl -I would not notice a body following them).
head_only() {
    python3 - "$@" <<'EOF' || fail "HEAD $2: not a 200 with headers only"
import socket, sys
port, path = int(sys.argv[1]), sys.argv[2]
extra = sys.argv[3] + "\r\n" if len(sys.argv) > 3 else ""
s = socket.create_connection(("127.0.0.1", port), timeout=10)
s.sendall(f"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{extra}\r\n".encode())
data = b""
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    data += chunk
head, sep, rest = data.partition(b"\r\n\r\n")
assert sep and head.startswith(b"HTTP/1.1 200"), data[:200]
assert rest == b"", f"{len(rest)} bytes after the headers"
EOF
}

# rss_kib PID: VmRSS of the process in KiB.
rss_kib() {
    awk '/^VmRSS:/ {print $2}' "/proc/$1/status"
}

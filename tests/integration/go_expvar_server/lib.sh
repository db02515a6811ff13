# tests/integration/go_expvar_server/lib.sh - helpers sourced by the
# cdebug-top integration tests (tests/integration/test_top*.sh).
#
# Needs: CDEBUG_BUILD, CDEBUG_SRC (set by CTest), $tmp (a scratch directory
# the caller removes) and a fail() function. Every process started here is
# recorded in top_pids and killed by top_cleanup, which the caller runs from
# its EXIT trap.

top_pids=()

# Slower under sanitizers: scale waits by this factor.
if [[ -n ${CDEBUG_SANITIZE:-} ]]; then top_slow=2; else top_slow=1; fi

# top_bin: path of the cdebug-top executable (build/viewer/cdebug-top).
top_bin() {
    local b=$CDEBUG_BUILD/viewer/cdebug-top
    [[ -f $b && -x $b ]] || fail "cdebug-top is not built (looked in $b)"
    echo "$b"
}

# go_peer_build: compiles the Go expvar program into $tmp/go_expvar_server
# (offline: it has no dependencies; the build cache makes repeats fast, and
# -buildvcs=false spares a slow `git status` of the whole tree).
go_peer_build() {
    command -v go >/dev/null || fail "go is not installed (scripts/bootstrap installs golang-go)"
    local cache=${GOCACHE:-}
    if [[ -z $cache ]]; then
        cache=$(go env GOCACHE 2>/dev/null || true)
        if [[ -z $cache || ! -w $(dirname "$cache") ]]; then cache=$CDEBUG_BUILD/go-cache; fi
    fi
    (cd "$CDEBUG_SRC/tests/integration/go_expvar_server" &&
        GOCACHE=$cache GOPROXY=off go build -buildvcs=false -o "$tmp/go_expvar_server" .) ||
        fail "cannot build the Go expvar server"
}

# go_peer_start NAME ARGS...: starts the Go program with ARGS, waits until it
# listens and sets the variable NAME to its host:port. The command line
# depends only on NAME and ARGS, so a program started again with the same
# ones looks the same in /debug/vars' cmdline.
go_peer_start() {
    local __var=$1
    shift
    local f=$tmp/addr.$__var
    rm -f "$f"
    "$tmp/go_expvar_server" -addrfile "$f" "$@" >/dev/null 2>"$f.err" &
    top_pids+=($!)
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -s $f ]] && break
        sleep 0.05
    done
    [[ -s $f ]] || { cat "$f.err" >&2; fail "Go expvar server did not start"; }
    printf -v "$__var" '%s' "$(cat "$f")"
}

# free_port: a TCP port on 127.0.0.1 nobody listens on (just closed).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_pid PID SECONDS: waits up to SECONDS for PID to exit; returns its
# status, or 124 after killing it when it did not exit.
wait_pid() {
    local pid=$1 limit=$2 i
    for ((i = 0; i < limit * 20; i++)); do
        if ! kill -0 "$pid" 2>/dev/null; then
            wait "$pid"
            return $?
        fi
        sleep 0.05
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    return 124
}

top_cleanup() {
    local p
    for p in "${top_pids[@]}"; do
        kill -KILL "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}

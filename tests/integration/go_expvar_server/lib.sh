# tests/integration/go_expvar_server/lib.sh - helpers for the cdebug-top
# integration tests (tests/integration/test_top*.sh), sourced after
# tests/integration/lib.sh, whose build, tmp, pids and fail they use. Every
# process started here goes into pids, killed at exit.
[[ -n ${tmp:-} ]] || { echo "go_expvar_server/lib.sh: source tests/integration/lib.sh first" >&2; exit 1; }

# Slower under sanitizers: scale waits by this factor.
if [[ -n $sanitize ]]; then top_slow=2; else top_slow=1; fi

# top_bin: path of the cdebug-top executable (build/viewer/cdebug-top).
top_bin() {
    local b=$build/viewer/cdebug-top
    [[ -f $b && -x $b ]] || fail "cdebug-top is not built (looked in $b)"
    echo "$b"
}

# top_dummy OUT ERR ARGS...: runs `cdebug-top -dummy -i 250ms ARGS` with
# stdout in OUT and stderr in ERR for 2 * top_slow seconds (several
# rounds), ends it with SIGINT and fails unless it exits 0 (OUT and ERR
# shown).
top_dummy() {
    local out=$1 err=$2 tpid rc=0
    shift 2
    "$(top_bin)" -dummy -i 250ms "$@" >"$out" 2>"$err" &
    tpid=$!
    pids+=("$tpid")
    sleep $((2 * top_slow))
    kill -INT "$tpid"
    wait_pid "$tpid" 10 || rc=$?
    if ((rc != 0)); then
        show "$out"
        show "$err"
        fail "cdebug-top exited $rc after SIGINT"
    fi
}

# go_peer_build: compiles the Go expvar program into $tmp/go_expvar_server
# (offline: it has no dependencies; the build cache makes repeats fast, and
# -buildvcs=false spares a slow `git status` of the whole tree).
go_peer_build() {
    need go golang-go
    local cache=${GOCACHE:-}
    if [[ -z $cache ]]; then
        cache=$(go env GOCACHE 2>/dev/null || true)
        if [[ -z $cache || ! -w $(dirname "$cache") ]]; then cache=$build/go-cache; fi
    fi
    (cd "$src/tests/integration/go_expvar_server" &&
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
    pids+=($!)
    local i
    for ((i = 0; i < 100; i++)); do
        [[ -s $f ]] && break
        sleep 0.05
    done
    [[ -s $f ]] || { cat "$f.err" >&2; fail "Go expvar server did not start"; }
    printf -v "$__var" '%s' "$(cat "$f")"
}

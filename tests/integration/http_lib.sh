# tests/integration/http_lib.sh - helpers for the scripts that speak HTTP to
# a program under test (sourced after lib.sh, not run). Every server runs on
# 127.0.0.1 with port 0; the program under test prints the port it got and
# the script reads it (lib.sh's `start`), and curl never uses a proxy
# (lib.sh clears them).
[[ -n ${tmp:-} ]] || { echo "http_lib.sh: source lib.sh first" >&2; exit 1; }

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

# said_port NAME PID: waits (10 s at most) for the line the library writes
# on stderr when CDEBUG=http=HOST:0 gave the background program PID a free
# port, "cdebug: http: pid PID listening on port P", in $tmp/NAME.err, and
# sets $port to P. Fails if PID exits first or the line never comes.
said_port() {
    local name=$1 p=$2 i
    port=
    for ((i = 0; i < 200; i++)); do
        port=$(sed -n "s/^cdebug: http: pid $p listening on port \([0-9]*\)$/\1/p" "$tmp/$name.err")
        [[ -n $port ]] && return 0
        kill -0 "$p" 2>/dev/null || break
        sleep 0.05
    done
    show "$tmp/$name.err"
    fail "$name (pid $p) did not say its port: no 'cdebug: http: pid $p listening on port P' line"
}

# new_trace_soon BASE: after a trace's client went away, the route (BASE,
# /debug/pprof/trace) takes a new trace within 1.5 s: the slot was freed.
# Sets took_ms to how long it took.
new_trace_soon() {
    local t0 t1 i code
    t0=$(date +%s%N)
    for ((i = 0; i < 40; i++)); do
        code=$(fetch "$1?seconds=0.2")
        [[ $code == 200 ]] && break
        sleep 0.05
    done
    t1=$(date +%s%N)
    [[ $code == 200 ]] || fail "no new trace after the client left (last status $code)"
    took_ms=$(((t1 - t0) / 1000000))
    ((took_ms < 1500)) || fail "a new trace took $took_ms ms"
}

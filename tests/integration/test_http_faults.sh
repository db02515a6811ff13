#!/usr/bin/env bash
# tests/integration/test_http_faults.sh - the debug server under bad clients
# and load: it keeps serving, loses nothing, leaks nothing.
#
#   disconnects  1000 clients that go away mid-request or mid-response (close
#                before the answer, RST after a few bytes, half a request,
#                half a POST body, connect-and-close); afterwards the server
#                answers, and its open descriptors are back to the baseline
#   concurrency  256 connections open at once (the default limit), each gets
#                200 twice on the same connection; then 320 clients that each
#                hold their connection until answered: those beyond the limit
#                wait in the backlog and are served, none fails
#   descriptors  a server limited to 48 descriptors, 80 clients holding
#                their connections: the accepting thread backs off instead
#                of spinning (its CPU time over 2 s stays small), and once
#                the clients leave, a new one is served
#   memory       RSS after 2,000 warm-up requests and after 20,000 more
#                (keep-alive, every route, errors, HEAD, POST bodies): the
#                growth stays under 4 MiB
#
# Under a sanitizer build the counts shrink (CDEBUG_SANITIZE set) and the
# server's stderr must hold no report when it exits.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http_lib.sh"

prog=$build/tests/prog_http
[[ -x $prog ]] || fail "$prog is not built"

if [[ -n $sanitize ]]; then
    disconnects=300 warm=500 requests=5000 slack_kib=8192
    # ASan keeps freed blocks in a quarantine (256 MiB by default) that
    # would read as growth; a small one keeps the RSS check meaningful.
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=1"
else
    disconnects=1000 warm=2000 requests=20000 slack_kib=4096
fi

start srv 'listening on' "$prog" --addr=127.0.0.1:0
srv_pid=$pid
srv_port=$port
fds() { find "/proc/$srv_pid/fd" -mindepth 1 -maxdepth 1 | wc -l; }
base_fds=$(fds)

# ---- clients that disconnect ---------------------------------------------------
echo "== $disconnects clients that disconnect mid-request or mid-response"
python3 - "$srv_port" "$disconnects" <<'EOF' || fail "disconnect storm failed"
import socket, struct, sys
port, n = int(sys.argv[1]), int(sys.argv[2])
GET = b"GET /debug/vars HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
def conn():
    return socket.create_connection(("127.0.0.1", port), timeout=10)
def rst(s):  # close with a reset instead of a FIN
    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s.close()
for i in range(n):
    kind = i % 5
    s = conn()
    if kind == 0:    # whole request, gone before the answer
        s.sendall(GET); s.close()
    elif kind == 1:  # reset after the first bytes of the answer
        s.sendall(GET); s.recv(100); rst(s)
    elif kind == 2:  # half a request line
        s.sendall(b"GET /debug/va"); rst(s)
    elif kind == 3:  # a POST that promises 1 MB and sends 10 bytes
        s.sendall(b"POST /debug/vars HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n0123456789")
        s.close()
    else:            # nothing at all
        s.close()
EOF
code=$(fetch "http://127.0.0.1:$srv_port/debug/vars")
[[ $code == 200 ]] || fail "after the disconnects: status $code"
# Connections the server has not noticed yet close within its poll cycle.
for ((i = 0; i < 100; i++)); do
    (($(fds) <= base_fds)) && break
    sleep 0.1
done
(($(fds) <= base_fds)) || {
    ls -l "/proc/$srv_pid/fd" >&2
    fail "descriptors: $(fds) open after the disconnects, $base_fds before"
}
ok "server still serving; descriptors back to $base_fds"

# ---- 256 concurrent connections ------------------------------------------------
echo "== 256 concurrent connections, then 320 waiting clients"
python3 - "$srv_port" "$srv_pid" <<'EOF' || fail "concurrent connections failed"
import socket, sys, threading, os
port, pid = int(sys.argv[1]), int(sys.argv[2])
REQ = b"GET /debug/vars HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

def read_response(s, buf):
    """One response off a keep-alive socket; returns (status, rest)."""
    while b"\r\n\r\n" not in buf:
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError("connection closed before the headers")
        buf += chunk
    head, _, body = buf.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = next(int(l.split(b":", 1)[1]) for l in lines[1:] if l.lower().startswith(b"content-length:"))
    while len(body) < length:
        chunk = s.recv(65536)
        if not chunk:
            raise EOFError("connection closed in the body")
        body += chunk
    return status, body[length:]

def run(nconn, rounds, hold):
    socks = [socket.create_connection(("127.0.0.1", port), timeout=30) for _ in range(nconn)]
    statuses, errors = [], []
    lock = threading.Lock()
    barrier = threading.Barrier(nconn)
    def client(s):
        try:
            barrier.wait()
            buf = b""
            for _ in range(rounds):
                s.sendall(REQ)
                st, buf = read_response(s, buf)
                with lock:
                    statuses.append(st)
            if not hold:
                s.close()
        except Exception as e:  # reported below
            with lock:
                errors.append(repr(e))
    threads = [threading.Thread(target=client, args=(s,)) for s in socks]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    if hold:  # every connection is still open here: count them at the server
        server_fds = len(os.listdir(f"/proc/{pid}/fd"))
        assert server_fds >= nconn, f"server holds {server_fds} descriptors, want >= {nconn}"
    for s in socks:
        s.close()
    assert not errors, f"{len(errors)} client errors, first: {errors[0]}"
    bad = [st for st in statuses if st != 200]
    assert len(statuses) == nconn * rounds and not bad, \
        f"{len(statuses)} answers, want {nconn * rounds}; non-200: {bad[:5]}"
    print(f"ok: {nconn} connections x {rounds} requests, all 200")

run(256, 2, hold=True)    # all open at once, at the default limit
run(320, 1, hold=False)   # 64 beyond the limit wait in the backlog
EOF
code=$(fetch "http://127.0.0.1:$srv_port/metrics")
[[ $code == 200 ]] || fail "after the concurrency test: status $code"
ok "256 concurrent connections served; clients beyond the limit wait and are served"

# ---- descriptors: none left for a newcomer --------------------------------------------
echo "== 80 clients held against a server limited to 48 descriptors"
start lim 'listening on' bash -c 'ulimit -n 48 && exec "$0" --addr=127.0.0.1:0' "$prog"
lim_pid=$pid
lim_port=$port
python3 - "$lim_port" "$lim_pid" <<'EOF' || fail "descriptor exhaustion"
import socket, sys, time
port, pid = int(sys.argv[1]), int(sys.argv[2])

def cpu_ticks():
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime

held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(80)]
time.sleep(0.5)  # the server takes what it can, then runs out
t0 = cpu_ticks()
time.sleep(2)
spent = (cpu_ticks() - t0) / 100
print(f"server CPU over 2 s with its descriptors exhausted: {spent:.2f} s")
assert spent < 0.5, f"the server spins: {spent:.2f} s of CPU in 2 s"
for s in held:
    s.close()
EOF
code=$(fetch "http://127.0.0.1:$lim_port/debug/vars")
[[ $code == 200 ]] || fail "after the descriptors came back: status $code"
stop lim "$lim_pid"
ok "no spin while out of descriptors; served again once they came back"

# ---- memory: RSS steady over many requests -----------------------------------------
echo "== RSS over $warm warm-up and $requests measured requests"
python3 - "$srv_port" "$srv_pid" "$warm" "$requests" "$slack_kib" <<'EOF' || fail "RSS grew"
import http.client, sys
port, pid, warm, n, slack = map(int, sys.argv[1:6])

def rss():
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])

conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
body = b"x" * 2048
plan = [("GET", "/debug/vars", None, 200)] * 12 + [
    ("GET", "/metrics", None, 200), ("GET", "/metrics", None, 200),
    ("HEAD", "/debug/vars", None, 200), ("GET", "/debug/vars?x=1", None, 200),
    ("GET", "/nope", None, 404), ("DELETE", "/metrics", None, 405),
    ("POST", "/debug/vars", body, 405),
]
def burst(count):
    for i in range(count):
        method, path, payload, want = plan[i % len(plan)]
        conn.request(method, path, body=payload)
        r = conn.getresponse()
        r.read()
        if r.status != want:
            raise SystemExit(f"{method} {path}: status {r.status}, want {want}")

burst(warm)
before = rss()
burst(n)
after = rss()
growth = after - before
print(f"RSS {before} KiB after {warm} warm-up requests, {after} KiB after {n} more "
      f"(growth {growth} KiB, limit {slack} KiB)")
assert growth < slack, f"RSS grew by {growth} KiB"
EOF
ok "RSS steady"

stop srv "$srv_pid"
grep -qx stopped "$tmp/srv.out" || fail "prog_http did not stop cleanly"
echo "PASS"

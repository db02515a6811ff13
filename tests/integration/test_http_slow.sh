#!/usr/bin/env bash
# tests/integration/test_http_slow.sh - clients that trickle their request
# headers cannot lock others out of the debug server.
#
#   300 tricklers  300 connections each send one header byte every 0.5 s and
#                  never finish (more than the 256-connection limit); a real
#                  client, 4 times over 5 s, gets its 200 within 1 s each time
#   700 tricklers  beyond the hard limit too (2 x 256): the same
#   small limit    --conns=50 and 300 tricklers: the same
#   each time      no more tricklers are left open than the hard limit: a
#                  burst of connections counts from its admission, not from
#                  libmicrohttpd's start of each, which comes later
#   idle           after the tricklers are gone the server holds only its
#                  baseline descriptors
#
# The mechanism (http/server.c, docs/http.md "Connections, threads,
# limits"): above the connection limit, each new connection closes the
# connection that has waited longest for its request (at least 1 s), so
# tricklers make room for newcomers instead of holding every slot.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http_lib.sh"
export PYTHONPATH="$(dirname "$0")${PYTHONPATH:+:$PYTHONPATH}" # httpc.py

prog=$build/tests/prog_http
[[ -x $prog ]] || fail "$prog is not built"
ulimit -n 4096 2>/dev/null || true

# trickle PORT N HARD: N tricklers, then a real client every 1.25 s (4
# times); fails unless each real answer is a 200 within 1 s and at most
# HARD tricklers are still open at the end.
trickle() {
    python3 - "$1" "$2" "$3" <<'PY'
import socket, sys, threading, time
import httpc
port, n, hard = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
HEAD = b"GET /debug/vars HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: " + b"a" * 4000
socks = []
for i in range(n):
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=5)
        s.setblocking(False)
        socks.append(s)
    except OSError:  # refused by the server
        pass
stop = threading.Event()
def drip():
    k = 0
    while not stop.is_set():
        for s in list(socks):
            try:
                s.send(HEAD[k % len(HEAD):k % len(HEAD) + 1])
            except OSError:  # closed by the server
                socks.remove(s)
        k += 1
        stop.wait(0.5)
t = threading.Thread(target=drip)
t.start()
def is_open(s):  # non-blocking: the server never answers a trickler
    try:
        return s.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:  # reset
        return False
worst = 0.0
try:
    time.sleep(1.5)  # every trickler has waited more than 1 s
    for i in range(4):
        data, dt = httpc.get(port, "/debug/vars")
        worst = max(worst, dt)
        assert data.startswith(b"HTTP/1.1 200"), f"real client {i}: {data[:40]!r} after {dt:.2f} s"
        assert dt < 1.0, f"real client {i}: answered after {dt:.2f} s"
        time.sleep(1.25)
finally:
    stop.set()
    t.join()
    still = sum(is_open(s) for s in socks)
    for s in socks:
        s.close()
assert still <= hard, f"{still} tricklers still open, more than the hard limit {hard}"
print(f"ok: {n} tricklers ({still} still open at the end, at most {hard}); "
      f"real clients answered in {worst * 1000:.0f} ms at worst")
PY
}

start srv 'listening on' "$prog" --addr=127.0.0.1:0
srv_pid=$pid
srv_port=$port
fds() { find "/proc/$srv_pid/fd" -mindepth 1 -maxdepth 1 | wc -l; }
base_fds=$(fds)

echo "== 300 tricklers, default limits"
trickle "$srv_port" 300 512 || fail "300 tricklers against the default limit (above)"
echo "== 700 tricklers, default limits"
trickle "$srv_port" 700 512 || fail "700 tricklers against the default limit (above)"
for ((i = 0; i < 50; i++)); do
    (($(fds) <= base_fds)) && break
    sleep 0.1
done
(($(fds) <= base_fds)) || fail "descriptors: $(fds) open after the tricklers left, $base_fds before"
code=$(fetch "http://127.0.0.1:$srv_port/debug/vars")
[[ $code == 200 ]] || fail "after the tricklers: status $code"
stop srv "$srv_pid"
ok "tricklers beyond the limits: real clients answered within 1 s; descriptors back to $base_fds"

echo "== 300 tricklers against --conns=50"
start small 'listening on' "$prog" --addr=127.0.0.1:0 --conns=50
trickle "$port" 300 100 || fail "300 tricklers against --conns=50 (above)"
stop small "$pid"
ok "a small connection limit: the same"

#!/usr/bin/env bash
# tests/integration/test_http_abandon.sh - delta profiles whose clients
# leave, and the cap on profiles rendered at once.
#
#   abandoned  300 clients ask for heap?seconds=30 and close at once: the
#              server answers /debug/vars within 1 s meanwhile, and its
#              thread count is back to the baseline within 2 s (a client
#              that leaves cancels its request, as in Go)
#   cap        40 clients that stay ask for heap?seconds=2 at once: 32 get
#              their profile, the others 503 at once with Go's error
#              header and a text that says why (CD__HTTP_JOBS_MAX)
#   after      a delta profile works again, and a client that leaves in
#              the middle of one frees its job within 1 s
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http_lib.sh"
export PYTHONPATH="$(dirname "$0")${PYTHONPATH:+:$PYTHONPATH}" # httpc.py

prog=$build/tests/prog_http
[[ -x $prog ]] || fail "$prog is not built"
jobs_max=32

start srv 'listening on' "$prog" --addr=127.0.0.1:0
srv_pid=$pid
srv_port=$port
threads() { awk '/^Threads:/ {print $2}' "/proc/$srv_pid/status"; }
# Threads started once and kept (liburcu's call_rcu worker at the first
# /debug/vars) belong to the baseline.
code=$(fetch "http://127.0.0.1:$srv_port/debug/pprof/heap?debug=1")
[[ $code == 200 ]] || fail "heap profile: status $code"
code=$(fetch "http://127.0.0.1:$srv_port/debug/vars")
[[ $code == 200 ]] || fail "/debug/vars: status $code"
sleep 0.3
base=$(threads)

echo "== 300 abandoned heap?seconds=30"
python3 - "$srv_port" "$srv_pid" "$base" <<'PY' || fail "abandoned delta profiles"
import socket, sys, time
import httpc
port, pid, base = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
threads = lambda: httpc.threads(pid)
REQ = b"GET /debug/pprof/heap?seconds=30 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
peak = base
for i in range(300):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(REQ)
    s.close()
    if i % 20 == 0:
        peak = max(peak, threads())
data, dt = httpc.get(port, "/debug/vars")
assert data.startswith(b"HTTP/1.1 200"), f"/debug/vars: {data[:40]!r} after {dt:.2f} s"
assert dt < 1.0, f"/debug/vars answered after {dt:.2f} s"
t1 = time.monotonic()
while threads() > base and time.monotonic() - t1 < 2.0:
    time.sleep(0.05)
n = threads()
assert n <= base, f"{n} threads 2 s after the clients left, {base} before (peak {peak})"
print(f"ok: /debug/vars in {dt * 1000:.0f} ms; threads {base} -> peak {peak} -> {n} "
      f"within {time.monotonic() - t1:.2f} s")
PY

echo "== 40 heap?seconds=2 at once, $jobs_max rendered"
python3 - "$srv_port" "$jobs_max" <<'PY' || fail "the cap on deferred profiles"
import sys, threading
import httpc
port, cap = int(sys.argv[1]), int(sys.argv[2])
res, lock = [], threading.Lock()
def client():
    data, dt = httpc.get(port, "/debug/pprof/heap?seconds=2", timeout=30)
    with lock:
        res.append((data, dt))
ts = [threading.Thread(target=client) for _ in range(40)]
for t in ts: t.start()
for t in ts: t.join(30)
assert len(res) == 40, f"{len(res)} answers of 40"
ok = [r for r in res if r[0].startswith(b"HTTP/1.1 200")]
busy = [r for r in res if r[0].startswith(b"HTTP/1.1 503")]
assert len(ok) == cap and len(busy) == 40 - cap, f"{len(ok)} x 200, {len(busy)} x 503"
for data, dt in busy:
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"\r\nX-Go-Pprof: 1" in head, head
    assert b"Retry-After: 1" in head, head
    assert b"profiles are being rendered" in body, body
    assert dt < 1.0, f"a 503 after {dt:.2f} s"
for data, dt in ok:
    assert dt >= 1.9, f"a delta profile after {dt:.2f} s"
print(f"ok: {len(ok)} profiles, {len(busy)} x 503 at once")
PY

echo "== after"
code=$(fetch "http://127.0.0.1:$srv_port/debug/pprof/heap?seconds=1")
[[ $code == 200 ]] || fail "heap?seconds=1 after the storm: status $code"
python3 - "$srv_port" "$srv_pid" "$base" <<'PY' || fail "a client leaving mid-profile"
import socket, sys, time
import httpc
port, pid, base = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
threads = lambda: httpc.threads(pid)
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"GET /debug/pprof/allocs?seconds=60 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
s.recv(100)  # the status and headers go out when the job starts
time.sleep(0.5)
assert threads() > base, "no job thread while a delta profile runs"
s.close()
t0 = time.monotonic()
while threads() > base and time.monotonic() - t0 < 1.0:
    time.sleep(0.02)
assert threads() <= base, f"job thread still there {time.monotonic() - t0:.2f} s after the client left"
print(f"ok: job ended {1000 * (time.monotonic() - t0):.0f} ms after its client left")
PY
stop srv "$srv_pid"
ok "abandoned delta profiles cancel at once; at most $jobs_max rendered at a time"

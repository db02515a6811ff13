#!/usr/bin/env bash
# GET /debug/pprof/trace?format=go on a busy program (prog_trace_http): Go
# 1.19's execution trace, so that Go's tutorial commands work unchanged,
# read by the real `go tool trace` (Debian's golang-go):
#   - seconds=1&format=go: 200, Go's headers, `go tool trace -d` parses it
#     and shows the goroutines (tasks) created; -pprof=sched gives a
#     non-empty profile that go tool pprof reads;
#   - format=bogus: 400 with a clear message; format=cdebug or none:
#     cdebug's own format;
#   - a second trace while a Go-format one records, or converts for a
#     client that stopped reading: 500;
#   - a client that goes away while recording, or mid-stream: the server
#     stays up and a new trace works, within a bound; a slow client gets a
#     valid trace;
#   - HEAD: headers only; SIGTERM while the converter waits for a
#     stalled client: clean exit.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http_lib.sh"
go_env
need curl curl
prog=$build/tests/prog_trace_http
check=$src/tests/integration/trace_check.py
built "$prog"

start srv 'listening on' "$prog"
srv=$pid
base=http://127.0.0.1:$port/debug/pprof/trace

# go_parse FILE LABEL: Go's parser accepts FILE; its dump is FILE.d.
go_parse() {
    timeout -k 5 60 go tool trace -d "$1" >"$1.d" 2>"$1.err" ||
        fail "$2: go tool trace -d: $(grep -v 'Parsing trace' "$1.err" | head -3)"
    [[ -s $1.d ]] || fail "$2: go tool trace -d printed nothing"
}

echo "== seconds=1&format=go"
code=$(fetch "$base?seconds=1&format=go")
[[ $code == 200 ]] || fail "status $code: $(head -c 200 "$tmp/b")"
expect_header Content-Type application/octet-stream "format=go"
expect_header Content-Disposition 'attachment; filename="trace"' "format=go"
expect_header X-Content-Type-Options nosniff "format=go"
cp "$tmp/b" "$tmp/t.out"
head -c 16 "$tmp/t.out" | cmp -s - <(printf 'go 1.19 trace\0\0\0') ||
    fail "no Go 1.19 trace header: $(head -c 16 "$tmp/t.out" | od -c | head -2)"
go_parse "$tmp/t.out" "format=go"
creates=$(awk '$2 == "GoCreate"' "$tmp/t.out.d" | wc -l)
starts=$(awk '$2 == "GoStart"' "$tmp/t.out.d" | wc -l)
# prog_trace_http runs 20 tasks every 10 ms: about 2000 in a second
((creates >= 200)) || fail "only $creates GoCreate events in a 1 s trace"
((starts >= creates)) || fail "$starts GoStart for $creates GoCreate"
timeout -k 5 60 go tool trace -pprof=sched "$tmp/t.out" >"$tmp/sched.pb" 2>"$tmp/sched.err" ||
    fail "go tool trace -pprof=sched: $(cat "$tmp/sched.err")"
[[ -s $tmp/sched.pb ]] || fail "-pprof=sched: empty profile"
pp -top "$tmp/sched.pb" >"$tmp/sched.top"
grep -q 'Type: delay' "$tmp/sched.top" || { show "$tmp/sched.top"; fail "-pprof=sched: not a delay profile"; }
grep -Eq '^ +[0-9.]+[mun]?s ' "$tmp/sched.top" || { show "$tmp/sched.top"; fail "-pprof=sched: no samples"; }
ok "format=go: go tool trace parses it ($creates goroutines created), -pprof=sched has samples"

echo "== format values"
for v in bogus GO json ''; do
    code=$(fetch "$base?seconds=0.2&format=$v")
    [[ $code == 400 ]] || fail "format=$v: status $code, want 400"
    expect_header X-Go-Pprof 1 "format=$v"
    expect_body "bad format value \"$v\": want go or cdebug\n" "format=$v"
done
code=$(fetch "$base?seconds=0.3&format=cdebug")
[[ $code == 200 ]] || fail "format=cdebug: status $code"
python3 "$check" "$tmp/b" >/dev/null || fail "format=cdebug: not a cdebug trace"
code=$(fetch "$base?flight=1&format=go")
[[ $code == 400 ]] || fail "flight=1&format=go: status $code, want 400"
ok "format=bogus, GO, json, empty: 400; format=cdebug: cdebug's trace"

echo "== one trace at a time"
curl -sS --max-time 20 -o "$tmp/first.out" "$base?seconds=1.5&format=go" &
first=$!
sleep 0.5
code=$(fetch "$base?seconds=1")
[[ $code == 500 ]] || fail "second trace while recording: status $code, want 500"
expect_body "Could not enable tracing: tracing is already enabled\n" "second trace"
wait "$first" || fail "the first trace's curl failed"
go_parse "$tmp/first.out" "first trace"
ok "500 for a second trace; the first is a valid Go trace"

echo "== a client that goes away while recording"
rc=0
curl -sS --max-time 0.6 -o /dev/null "$base?seconds=30&format=go" 2>/dev/null || rc=$?
[[ $rc == 28 ]] || fail "curl should have timed out (rc $rc)"
new_trace_soon "$base"
ok "recording stopped with the client; a new trace within $took_ms ms"

echo "== a slow client"
curl -sS --max-time 40 --limit-rate 300k -o "$tmp/slow.out" "$base?seconds=0.5&format=go" ||
    fail "slow client: curl failed"
go_parse "$tmp/slow.out" "slow client"
ok "slow client (300 KB/s): a valid Go trace ($(wc -c <"$tmp/slow.out") bytes)"

echo "== HEAD"
head_only "$port" '/debug/pprof/trace?format=go'
code=$(curl -sS --max-time 10 -I -o /dev/null -w '%{http_code}' "$base?format=bogus" || true)
[[ $code == 400 ]] || fail "HEAD format=bogus: status $code, want 400"
ok "HEAD: headers only; a bad format 400"

stop srv "$srv"
grep -qx stopped "$tmp/srv.out" || fail "no clean stop"

# A busy program (about 10 MB of Go trace a second): the conversion's
# output outgrows the queue (8 MiB) and the socket buffers, so a client
# that stops reading makes the converter wait.
start busy 'listening on' "$prog" busy
busy=$pid
base=http://127.0.0.1:$port/debug/pprof/trace

# stall SECONDS KEEP: asks for a Go trace of SECONDS with a 4 KiB receive
# window, reads about KEEP bytes, then resets the connection; KEEP 0:
# reads 4 KiB and then nothing until killed. Prints the bytes read.
stall() {
    python3 - "$port" "$1" "$2" <<'EOF'
import socket, struct, sys, time
port, sec, keep = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.settimeout(30)
s.connect(("127.0.0.1", port))
s.sendall(f"GET /debug/pprof/trace?seconds={sec}&format=go HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode())
got = b""
while len(got) < 4096 + keep:
    c = s.recv(4096)
    if not c:
        sys.exit("the server ended the response after %d bytes" % len(got))
    got += c
    if keep == 0:
        time.sleep(60)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
print(len(got))
EOF
}

echo "== a client that goes away mid-stream"
n=$(stall 1 200000) || fail "the stalling client failed"
t0=$(date +%s%N)
for ((i = 0; i < 60; i++)); do
    code=$(fetch "$base?seconds=0.2&format=go")
    [[ $code == 200 ]] && break
    sleep 0.05
done
t1=$(date +%s%N)
[[ $code == 200 ]] || fail "no new trace after the client left mid-stream (last status $code)"
((t1 - t0 < 3000000000)) || fail "a new trace took $(((t1 - t0) / 1000000)) ms"
go_parse "$tmp/b" "trace after a mid-stream disconnect"
ok "a client gone mid-stream (after $n bytes): a new Go trace within $(((t1 - t0) / 1000000)) ms"

echo "== SIGTERM while the converter waits for a stalled client"
# 4 s of recording: some 40 MB of Go trace (less under sanitizers), far
# more than the queue and the socket buffers hold
stall 4 0 >/dev/null 2>&1 &
st=$!
sleep 5.5
# the recording is over, the conversion waits: still one trace at a time
code=$(fetch "$base?seconds=0.2")
[[ $code == 500 ]] || fail "a trace while a Go trace converts: status $code, want 500"
expect_body "Could not enable tracing: tracing is already enabled\n" "trace while converting"
t0=$(date +%s%N)
stop busy "$busy"
t1=$(date +%s%N)
grep -qx stopped "$tmp/busy.out" || fail "no clean stop"
((t1 - t0 < 6000000000)) || fail "the stop took $(((t1 - t0) / 1000000)) ms"
kill "$st" 2>/dev/null || true
wait "$st" 2>/dev/null || true
ok "a trace while converting: 500; SIGTERM while converting for a stalled client: clean exit in $(((t1 - t0) / 1000000)) ms"
echo PASS

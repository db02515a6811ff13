#!/usr/bin/env bash
# tests/integration/test_http.sh - the debug server with real curl on loopback.
#
#   routes     /debug/vars and /metrics: status, Content-Type, JSON/text body,
#              HEAD (headers, no body), query strings ignored, keep-alive
#   errors     404 (Go's text and headers), 405 (Allow), POST with a body
#   token      CDEBUG_HTTP_TOKEN / opts.token: 401 + WWW-Authenticate, 200
#              with the right bearer token, invalid token refused at start
#   loopback   ":0" and "0.0.0.0:0" refused (-EPERM) unless allowed (and a
#              token set: test_http_guard.sh); allowed ones are bound only briefly and reached via 127.0.0.1;
#              localhost and [::1] (skipped without IPv6)
#   CDEBUG     http=ADDR starts the server; a bad value warns and runs on
#              without one; a port in use prints the error line and runs on
#   embed      cd_http_handle inside the application's own libmicrohttpd
#   cycles     start/stop 50 times: -EBUSY, -ENOENT, no fd leak
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http_lib.sh"

prog=$build/tests/prog_http
embed=$build/tests/prog_http_embed
for p in "$prog" "$embed"; do
    [[ -x $p ]] || fail "$p is not built"
done

# ---- routes and headers ------------------------------------------------------
echo "== routes on 127.0.0.1:0"
start main 'listening on' "$prog" --addr=127.0.0.1:0
main_pid=$pid
base=http://127.0.0.1:$port

code=$(fetch "$base/debug/vars")
[[ $code == 200 ]] || fail "GET /debug/vars: status $code"
expect_header Content-Type 'application/json; charset=utf-8' "GET /debug/vars"
python3 - "$tmp/b" <<'EOF' || fail "GET /debug/vars: body is not Go's expvar document"
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d, dict), "not an object"
assert isinstance(d.get("cmdline"), list), "no cmdline array"
assert isinstance(d.get("memstats"), dict), "no memstats object"
EOF
len=$(header Content-Length)
[[ $len == "$(wc -c <"$tmp/b")" ]] || fail "GET /debug/vars: Content-Length $len != body size"
ok "GET /debug/vars: 200, JSON with cmdline and memstats, $len bytes"

code=$(fetch -I "$base/debug/vars")
[[ $code == 200 ]] || fail "HEAD /debug/vars: status $code"
expect_header Content-Type 'application/json; charset=utf-8' "HEAD /debug/vars"
[[ $(header Content-Length) -gt 0 ]] || fail "HEAD /debug/vars: no Content-Length"
head_only "$port" /debug/vars
ok "HEAD /debug/vars: headers only"

code=$(fetch "$base/metrics")
[[ $code == 200 ]] || fail "GET /metrics: status $code"
expect_header Content-Type 'text/plain; version=0.0.4; charset=utf-8' "GET /metrics"
grep -Eq '^# TYPE [a-zA-Z_:][a-zA-Z0-9_:]* (counter|gauge|histogram|summary|untyped)$' "$tmp/b" ||
    fail "GET /metrics: no TYPE line in the body"
code=$(fetch -I "$base/metrics")
[[ $code == 200 ]] || fail "HEAD /metrics: status $code"
head_only "$port" /metrics
expect_header Content-Type 'text/plain; version=0.0.4; charset=utf-8' "HEAD /metrics"
ok "GET/HEAD /metrics: 200, Prometheus text 0.0.4"

for q in '?x=1' '?debug=2&seconds=abc' '?' '?%zz'; do
    code=$(fetch "$base/debug/vars$q")
    [[ $code == 200 ]] || fail "GET /debug/vars$q: status $code (query strings are ignored)"
    code=$(fetch "$base/metrics$q")
    [[ $code == 200 ]] || fail "GET /metrics$q: status $code (query strings are ignored)"
done
ok "query strings ignored"

# Keep-alive: two requests on one connection.
curl -sS --max-time 10 -v -o /dev/null -o /dev/null "$base/debug/vars" "$base/metrics" \
    2>"$tmp/v"
grep -q 'Re-using existing connection' "$tmp/v" || {
    show "$tmp/v"
    fail "the second request did not reuse the connection"
}
ok "keep-alive"

for path in /nope / /debug /debug/vars/ /debug/varsx /Metrics /metrics/x /debug/pprofx /debug/pprof; do
    code=$(fetch "$base$path")
    [[ $code == 404 ]] || fail "GET $path: status $code, want 404"
    expect_body '404 page not found\n' "GET $path"
    expect_header Content-Type 'text/plain; charset=utf-8' "GET $path"
    expect_header X-Content-Type-Options nosniff "GET $path"
done
ok "404 with Go's text and headers"

for m in POST PUT DELETE PATCH OPTIONS; do
    for path in /debug/vars /metrics; do
        code=$(fetch -X "$m" "$base$path")
        [[ $code == 405 ]] || fail "$m $path: status $code, want 405"
        expect_header Allow 'GET, HEAD' "$m $path"
        expect_header Content-Type 'text/plain; charset=utf-8' "$m $path"
        expect_body 'Method Not Allowed\n' "$m $path"
    done
done
# A body is never read into memory: 4 MiB to a route that takes no POST.
head -c 4194304 /dev/zero >"$tmp/big"
code=$(fetch -X POST -H 'Content-Type: application/octet-stream' --data-binary @"$tmp/big" \
    "$base/debug/vars")
[[ $code == 405 ]] || fail "POST 4 MiB /debug/vars: status $code, want 405"
code=$(fetch -X POST --data-binary @"$tmp/big" "$base/elsewhere")
[[ $code == 404 ]] || fail "POST 4 MiB /elsewhere: status $code, want 404"
code=$(fetch "$base/debug/vars")
[[ $code == 200 ]] || fail "GET after the POSTs: status $code"
ok "405 with Allow: GET, HEAD; POST bodies dropped"

stop main "$main_pid"
grep -qx stopped "$tmp/main.out" || fail "prog_http did not report a clean stop"
ok "server stopped cleanly"

# ---- bearer token ------------------------------------------------------------
echo "== token"
CDEBUG_HTTP_TOKEN=s3cr3t-T0ken start tok 'listening on' "$prog" --addr=127.0.0.1:0
tok_pid=$pid
base=http://127.0.0.1:$port
for path in /debug/vars /metrics /nope; do
    code=$(fetch "$base$path")
    [[ $code == 401 ]] || fail "GET $path without a token: status $code, want 401"
    expect_header WWW-Authenticate 'Bearer realm="cdebug"' "GET $path without a token"
    expect_header Content-Type 'text/plain; charset=utf-8' "GET $path without a token"
    expect_body 'Unauthorized\n' "GET $path without a token"
done
code=$(fetch -X POST "$base/debug/vars")
[[ $code == 401 ]] || fail "POST without a token: status $code, want 401"
for bad in 'Bearer wrong' 'Bearer s3cr3t-T0ke' 'Bearer s3cr3t-T0kenX' 'Basic czNjcjN0LVQwa2Vu' \
    's3cr3t-T0ken' 'Bearer'; do
    code=$(fetch -H "Authorization: $bad" "$base/debug/vars")
    [[ $code == 401 ]] || fail "Authorization: $bad: status $code, want 401"
done
code=$(fetch -H 'Authorization: Bearer s3cr3t-T0ken' "$base/debug/vars")
[[ $code == 200 ]] || fail "right token: status $code, want 200"
code=$(fetch -H 'Authorization: bearer s3cr3t-T0ken' -I "$base/metrics")
[[ $code == 200 ]] || fail "right token, lower-case scheme, HEAD: status $code, want 200"
code=$(fetch --oauth2-bearer s3cr3t-T0ken "$base/nope")
[[ $code == 404 ]] || fail "right token, unknown path: status $code, want 404"
stop tok "$tok_pid"
ok "CDEBUG_HTTP_TOKEN: 401 without it or with a wrong one, 200 with it"

# opts.token wins over the environment; "" means no token.
CDEBUG_HTTP_TOKEN=from-env start tok2 'listening on' "$prog" --addr=127.0.0.1:0 --token=from-opts
code=$(fetch --oauth2-bearer from-env "http://127.0.0.1:$port/debug/vars")
[[ $code == 401 ]] || fail "opts.token set: the env token got status $code, want 401"
code=$(fetch --oauth2-bearer from-opts "http://127.0.0.1:$port/debug/vars")
[[ $code == 200 ]] || fail "opts.token set: its token got status $code, want 200"
stop tok2 "$pid"
CDEBUG_HTTP_TOKEN=from-env start tok3 'listening on' "$prog" --addr=127.0.0.1:0 --token=
code=$(fetch "http://127.0.0.1:$port/debug/vars")
[[ $code == 200 ]] || fail "opts.token \"\": status $code without a token, want 200"
stop tok3 "$pid"
rc=0
CDEBUG_HTTP_TOKEN='has space' "$prog" --addr=127.0.0.1:0 >"$tmp/badtok.out" 2>&1 || rc=$?
[[ $rc == 3 ]] && grep -q '^start failed: -22 ' "$tmp/badtok.out" || {
    show "$tmp/badtok.out"
    fail "a token with a space: want start failed -EINVAL (status 3), got status $rc"
}
rc=0
CDEBUG='http=127.0.0.1:0' CDEBUG_HTTP_TOKEN="$(printf 'a\tb')" "$prog" --env >"$tmp/badtok2.out" \
    2>"$tmp/badtok2.err" </dev/null &
bpid=$!
pids+=("$bpid")
sleep 0.5
grep -q '^cdebug: http: cannot listen on 127.0.0.1:0: bad bearer token' "$tmp/badtok2.err" || {
    show "$tmp/badtok2.err"
    fail "CDEBUG http with a bad CDEBUG_HTTP_TOKEN: no error line"
}
grep -qx 'port -2' "$tmp/badtok2.out" || fail "bad token: a server was started anyway"
stop badtok2 "$bpid"
ok "opts.token overrides the environment, \"\" disables it, unusable tokens refuse to start"

# ---- loopback only, unless allowed -------------------------------------------
echo "== loopback enforcement"
for addr in :0 0.0.0.0:0; do
    rc=0
    "$prog" --addr="$addr" >"$tmp/lo.out" 2>&1 || rc=$?
    [[ $rc == 3 ]] && grep -q '^start failed: -1 operation not permitted$' "$tmp/lo.out" || {
        show "$tmp/lo.out"
        fail "--addr=$addr: want -EPERM (status 3), got status $rc"
    }
    # Allowed (and with a token, which other hosts need: test_http_guard.sh):
    # bound briefly on a free port, reached only through 127.0.0.1.
    start unsafe 'listening on' "$prog" --addr="$addr" --unsafe --token=lo0k
    code=$(fetch --oauth2-bearer lo0k "http://127.0.0.1:$port/debug/vars")
    stop unsafe "$pid"
    [[ $code == 200 ]] || fail "--addr=$addr --unsafe --token: status $code via 127.0.0.1"
done
ok ":0 and 0.0.0.0:0 refused with -EPERM, served with allow_nonloopback and a token"

rc=0
CDEBUG='http=0.0.0.0:0' "$prog" --env >"$tmp/envlo.out" 2>"$tmp/envlo.err" &
bpid=$!
pids+=("$bpid")
sleep 0.5
grep -q '^cdebug: http: cannot listen on 0.0.0.0:0: 0.0.0.0:0 is not a loopback address; .*httpunsafe=1' \
    "$tmp/envlo.err" || {
    show "$tmp/envlo.err"
    fail "CDEBUG=http=0.0.0.0:0: no clear refusal line"
}
[[ $(grep -c . "$tmp/envlo.err") == 1 ]] || fail "CDEBUG=http=0.0.0.0:0: more than one line on stderr"
grep -qx 'port -2' "$tmp/envlo.out" || fail "CDEBUG=http=0.0.0.0:0: a server was started"
stop envlo "$bpid"
CDEBUG='http=0.0.0.0:0,httpunsafe=1' CDEBUG_HTTP_TOKEN=lo0k start envun 'port [0-9]+' "$prog" --env
code=$(fetch --oauth2-bearer lo0k "http://127.0.0.1:$port/metrics")
stop envun "$pid"
[[ $code == 200 ]] || fail "CDEBUG=http=0.0.0.0:0,httpunsafe=1: status $code"
ok "CDEBUG http non-loopback: one error line and no server; httpunsafe=1 with a token serves"

start lh 'listening on' "$prog" --addr=localhost:0
code=$(fetch "http://127.0.0.1:$port/debug/vars")
stop lh "$pid"
[[ $code == 200 ]] || fail "--addr=localhost:0: status $code"
ok "localhost resolves to loopback"

if python3 -c 'import socket; s = socket.socket(socket.AF_INET6); s.bind(("::1", 0))' 2>/dev/null; then
    start v6 'listening on' "$prog" --addr='[::1]:0'
    code=$(fetch -g "http://[::1]:$port/debug/vars")
    [[ $code == 200 ]] || fail "[::1]: status $code"
    expect_header Content-Type 'application/json; charset=utf-8' "GET [::1]/debug/vars"
    # Bound to ::1 only (IPV6_V6ONLY): 127.0.0.1 on that port is not it.
    code=$(curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/debug/vars" || true)
    [[ $code == 000 ]] || fail "[::1]:$port also answered on 127.0.0.1 (status $code)"
    stop v6 "$pid"
    rc=0
    "$prog" --addr='[::]:0' >"$tmp/v6any.out" 2>&1 || rc=$?
    [[ $rc == 3 ]] && grep -q '^start failed: -1 ' "$tmp/v6any.out" || fail "[::]:0 was not refused"
    ok "IPv6 [::1] served, [::] refused"
else
    echo "skip: this machine has no IPv6 loopback; [::1] not tested"
fi

# ---- CDEBUG=http=... ---------------------------------------------------------
echo "== CDEBUG http"
CDEBUG='http=127.0.0.1:0' start env 'port [0-9]+' "$prog" --env
[[ $port -gt 0 ]] || fail "CDEBUG=http=127.0.0.1:0: port $port"
code=$(fetch "http://127.0.0.1:$port/debug/vars")
[[ $code == 200 ]] || fail "CDEBUG=http=127.0.0.1:0: status $code"
env_pid=$pid
inuse=$port
# Port in use: one clear line, no server, the program runs on.
CDEBUG="http=127.0.0.1:$inuse" start busy 'port -?[0-9]+' "$prog" --env
[[ $port == -2 ]] || fail "port in use: cd_http_port() = $port, want -2 (-ENOENT)"
grep -qx "cdebug: http: cannot listen on 127.0.0.1:$inuse: Address already in use" "$tmp/busy.err" || {
    show "$tmp/busy.err"
    fail "port in use: no clear error line"
}
stop busy "$pid"
grep -qx stopped "$tmp/busy.out" || fail "port in use: the program did not run on"
rc=0
"$prog" --addr="127.0.0.1:$inuse" >"$tmp/busy2.out" 2>&1 || rc=$?
grep -q '^start failed: -98 address already in use$' "$tmp/busy2.out" || {
    show "$tmp/busy2.out"
    fail "cd_http_start on a port in use: want -EADDRINUSE"
}
stop env "$env_pid"
ok "CDEBUG=http=127.0.0.1:0 serves; a port in use prints one line and the program runs on"

# Bad values: the CDEBUG parser warns, no server, the program runs on.
for bad in 'http=6060' 'http=127.0.0.1:99999' 'http=[::1]6060' 'http=local host:1'; do
    CDEBUG="$bad" start bad 'port -?[0-9]+' "$prog" --env
    [[ $port == -2 ]] || fail "CDEBUG=$bad: a server was started (port $port)"
    grep -q '^cdebug: CDEBUG: bad value .* for http ignored' "$tmp/bad.err" || {
        show "$tmp/bad.err"
        fail "CDEBUG=$bad: no warning"
    }
    stop bad "$pid"
done
CDEBUG='http=no-such-host.invalid:0' start bad 'port -?[0-9]+' "$prog" --env
[[ $port == -2 ]] || fail "unresolvable host: a server was started"
grep -q '^cdebug: http: cannot listen on no-such-host.invalid:0: cannot resolve "no-such-host.invalid"' \
    "$tmp/bad.err" || {
    show "$tmp/bad.err"
    fail "unresolvable host: no clear error line"
}
stop bad "$pid"
ok "bad CDEBUG http values warn and start no server"

# ---- embedding: cd_http_handle in the application's own server -------------------
echo "== embedded routes"
CDEBUG_HTTP_TOKEN=emb start embed 'listening on' "$embed"
base=http://127.0.0.1:$port
code=$(fetch "$base/")
[[ $code == 200 ]] && expect_body 'app root\n' "embed GET /" || fail "embed GET /: status $code"
code=$(fetch "$base/other")
[[ $code == 404 ]] && expect_body 'app: not found\n' "embed GET /other" ||
    fail "embed GET /other: status $code, want the application's 404"
code=$(fetch "$base/debug/vars")
[[ $code == 401 ]] || fail "embed GET /debug/vars without the token: status $code, want 401"
expect_header WWW-Authenticate 'Bearer realm="cdebug"' "embed GET /debug/vars without the token"
code=$(fetch --oauth2-bearer emb "$base/debug/vars")
[[ $code == 200 ]] || fail "embed GET /debug/vars: status $code"
expect_header Content-Type 'application/json; charset=utf-8' "embed GET /debug/vars"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert "memstats" in d' "$tmp/b" ||
    fail "embed GET /debug/vars: not the expvar document"
code=$(fetch --oauth2-bearer emb -I "$base/metrics")
[[ $code == 200 ]] || fail "embed HEAD /metrics: status $code"
head_only "$port" /metrics 'Authorization: Bearer emb'
expect_header Content-Type 'text/plain; version=0.0.4; charset=utf-8' "embed HEAD /metrics"
code=$(fetch --oauth2-bearer emb -X POST -d x=1 "$base/metrics")
[[ $code == 405 ]] || fail "embed POST /metrics: status $code, want 405"
expect_header Allow 'GET, HEAD' "embed POST /metrics"
stop embed "$pid"
ok "cd_http_handle serves the debug routes inside the application's daemon"

# ---- start/stop cycles ---------------------------------------------------------
echo "== start/stop cycles"
cycles=50
[[ -n $sanitize ]] && cycles=20
"$prog" --cycles=$cycles --addr=127.0.0.1:0 >"$tmp/cycles.out" 2>"$tmp/cycles.err" || {
    show "$tmp/cycles.out"
    show "$tmp/cycles.err"
    fail "start/stop cycles failed"
}
check_sanitizer cycles
grep -q "^cycles ok $cycles fds " "$tmp/cycles.out" || {
    show "$tmp/cycles.out"
    fail "start/stop cycles leaked descriptors"
}
ok "$(cat "$tmp/cycles.out")"
echo "PASS"

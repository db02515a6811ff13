#!/usr/bin/env bash
# tests/integration/test_http_guard.sh - who the debug routes answer.
#
#   nonloopback  a non-loopback listener needs CDEBUG_HTTP_TOKEN: without one
#                it refuses to start (one clear line, the program runs on);
#                with one it prints one line naming the address it serves
#   auth first   with a token, an unauthenticated request is answered 401
#                before its body is read (a 70 KiB POST to /debug/pprof/symbol)
#   NUL          a %00 in the request target is refused (400), never
#                shortens the path (/debug/vars%00.png)
#   Host         without a token, a Host header that does not name a
#                loopback host gets 403 (DNS rebinding); with the token it
#                is served
#   peer         the embedded handler (cd_http_handle in the application's
#                own daemon) answers a non-loopback client 403 unless a
#                token is configured: in a network namespace of the test's
#                own, where 10.200.0.1 is a second address of its loopback
#                interface: connections to it come from 10.200.0.1, not from
#                127.0.0.0/8, as a client on the machine's LAN address would
#                (needs root; skipped with a note elsewhere)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http_lib.sh"
export PYTHONPATH="$(dirname "$0")${PYTHONPATH:+:$PYTHONPATH}" # httpc.py

prog=$build/tests/prog_http
embed=$build/tests/prog_http_embed
for p in "$prog" "$embed"; do
    [[ -x $p ]] || fail "$p is not built"
done

# raw PORT REQUEST: sends REQUEST (printf %b escapes) as is, prints the
# status line's code (0 without an answer).
raw() {
    python3 -c 'import sys, httpc
req = sys.argv[2].encode().decode("unicode_escape").encode("latin-1")
print(httpc.status(httpc.exchange(int(sys.argv[1]), req)[0]))' "$1" "$2"
}

# ---- a non-loopback listener needs a token -------------------------------------
echo "== non-loopback listener"
CDEBUG='http=0.0.0.0:0,httpunsafe=1' start notok 'port -?[0-9]+' "$prog" --env
[[ $port == -2 ]] || fail "0.0.0.0 without a token: a server was started (port $port)"
want='^cdebug: http: cannot listen on 0\.0\.0\.0:0: 0\.0\.0\.0:0 is not a loopback address and no bearer token is set; set CDEBUG_HTTP_TOKEN to serve other hosts$'
grep -Eq "$want" "$tmp/notok.err" || fail "0.0.0.0 without a token: no clear refusal line"
[[ $(grep -c . "$tmp/notok.err") == 1 ]] || fail "0.0.0.0 without a token: more than one line on stderr"
stop notok "$pid"
grep -qx stopped "$tmp/notok.out" || fail "0.0.0.0 without a token: the program did not run on"
rc=0
"$prog" --addr=0.0.0.0:0 --unsafe >"$tmp/api.out" 2>&1 || rc=$?
[[ $rc == 3 ]] && grep -q '^start failed: -1 operation not permitted$' "$tmp/api.out" || {
    show "$tmp/api.out"
    fail "cd_http_start_opts on 0.0.0.0 with allow_nonloopback and no token: want -EPERM"
}
ok "a non-loopback listener without a token: refused (CDEBUG: one line, program runs on; API: -EPERM)"

CDEBUG='http=0.0.0.0:0,httpunsafe=1' CDEBUG_HTTP_TOKEN=n0nl00p start withtok 'port [0-9]+' "$prog" --env
grep -Eqx "cdebug: http: serving 0\.0\.0\.0:$port to other hosts; every request needs the bearer token" \
    "$tmp/withtok.err" || fail "0.0.0.0 with a token: no line naming the address"
# And the port the system chose (port 0): two lines, nothing else.
grep -qx "cdebug: http: pid $pid listening on port $port" "$tmp/withtok.err" ||
    fail "0.0.0.0 with a token: no line with the chosen port"
[[ $(grep -c . "$tmp/withtok.err") == 2 ]] || fail "0.0.0.0 with a token: more than two lines on stderr"
code=$(fetch "http://127.0.0.1:$port/debug/vars")
[[ $code == 401 ]] || fail "0.0.0.0 with a token, request without it: status $code"
code=$(fetch --oauth2-bearer n0nl00p "http://127.0.0.1:$port/debug/vars")
[[ $code == 200 ]] || fail "0.0.0.0 with a token, request with it: status $code"
stop withtok "$pid"
ok "a non-loopback listener with a token: one line naming the address, 401 without the token, 200 with it"

# ---- authentication before the body --------------------------------------------
echo "== authentication before the body"
CDEBUG_HTTP_TOKEN=b0dy start tok 'listening on' "$prog" --addr=127.0.0.1:0
head -c 70000 /dev/zero | tr '\0' '1' >"$tmp/big"
code=$(fetch -X POST --data-binary @"$tmp/big" "http://127.0.0.1:$port/debug/pprof/symbol")
[[ $code == 401 ]] || fail "unauthenticated 70 KiB POST to /debug/pprof/symbol: status $code, want 401"
code=$(raw "$port" 'POST /debug/pprof/symbol HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000000\r\n\r\n0x1+')
[[ $code == 401 ]] || fail "unauthenticated POST announcing 1 MB, 5 bytes sent: status $code, want 401 at once"
code=$(fetch --oauth2-bearer b0dy -X POST --data-binary @"$tmp/big" "http://127.0.0.1:$port/debug/pprof/symbol")
[[ $code == 413 ]] || fail "authenticated 70 KiB POST: status $code, want 413"
code=$(fetch --oauth2-bearer b0dy -X POST --data '0x1' "http://127.0.0.1:$port/debug/pprof/symbol")
[[ $code == 200 ]] || fail "authenticated small POST: status $code"
stop tok "$pid"
ok "with a token: 401 before any body is read; authenticated bodies as before"

# ---- NUL bytes and Host headers -------------------------------------------------
echo "== request target and Host"
start main 'listening on' "$prog" --addr=127.0.0.1:0
for target in '/debug/vars%00.png' '/debug/vars%00' '/metrics?x=%00' '/debug/pprof/heap%00?debug=1'; do
    code=$(raw "$port" "GET $target HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n\\r\\n")
    [[ $code == 400 ]] || fail "GET $target: status $code, want 400"
done
code=$(fetch --path-as-is "http://127.0.0.1:$port/debug/vars%00.png")
[[ $code == 400 ]] || fail "curl GET /debug/vars%00.png: status $code, want 400"
grep -q 'NUL' "$tmp/b" || fail "GET /debug/vars%00.png: the 400 does not say why"
code=$(fetch "http://127.0.0.1:$port/debug/vars%41")
[[ $code == 404 ]] || fail "GET /debug/vars%41 (another escape): status $code, want 404"
ok "a decoded NUL in the request target: 400"

for h in "127.0.0.1:$port" "localhost:$port" "LocalHost" "127.1.2.3" "[::1]:$port" "[::ffff:127.0.0.1]:$port"; do
    code=$(fetch -H "Host: $h" "http://127.0.0.1:$port/debug/vars")
    [[ $code == 200 ]] || fail "Host: $h: status $code, want 200"
done
for h in attacker.example "attacker.example:$port" "127.0.0.1.attacker.example" "localhost.attacker.example" \
    "10.0.0.1:$port" "0.0.0.0:$port" "[::]:$port" "127.0.0.256" "127.0.0.1:x" "x"; do
    code=$(fetch -H "Host: $h" "http://127.0.0.1:$port/debug/vars")
    [[ $code == 403 ]] || fail "Host: '$h': status $code, want 403"
done
grep -q 'loopback' "$tmp/b" || fail "403 for a foreign Host: the body does not say why"
code=$(raw "$port" 'GET /debug/vars HTTP/1.0\r\n\r\n')
[[ $code == 200 ]] || fail "HTTP/1.0 without Host: status $code, want 200"
stop main "$pid"
CDEBUG_HTTP_TOKEN=h0st start hosttok 'listening on' "$prog" --addr=127.0.0.1:0
code=$(fetch -H 'Host: attacker.example' --oauth2-bearer h0st "http://127.0.0.1:$port/debug/vars")
[[ $code == 200 ]] || fail "with the token, Host: attacker.example: status $code, want 200"
code=$(fetch -H 'Host: attacker.example' "http://127.0.0.1:$port/debug/vars")
[[ $code == 401 ]] || fail "token configured, none sent, Host: attacker.example: status $code, want 401"
stop hosttok "$pid"
ok "no token: only loopback Host names are served (403 otherwise); a token answers any Host"

# ---- the embedded handler and non-loopback peers ---------------------------------
echo "== embedded handler, non-loopback peer (own network namespace)"
if [[ $(id -u) -ne 0 ]] || ! command -v unshare >/dev/null || ! command -v ip >/dev/null ||
    ! unshare -n true 2>/dev/null; then
    echo "skip: the peer rule needs root, unshare and ip (a network namespace of the test's own)"
    exit 0
fi
# Everything below runs in a new network namespace: 10.200.0.1 on its own
# loopback interface is a non-loopback address whose traffic never leaves
# the namespace (a dummy or veth interface would need kernel modules).
cat >"$tmp/netns.sh" <<'NS'
set -euo pipefail
embed=$1 tmp=$2 sanitize=$3
ip link set lo up
ip addr add 10.200.0.1/32 dev lo
run_embed() { # TOKEN: starts the application, prints its port
    : >"$tmp/ns.out"
    CDEBUG_HTTP_TOKEN=$1 "$embed" --any >"$tmp/ns.out" 2>>"$tmp/ns.err" &
    epid=$!
    for ((i = 0; i < 200; i++)); do
        port=$(awk '/listening on/ { print $NF; exit }' "$tmp/ns.out")
        [[ -n $port ]] && return 0
        sleep 0.05
    done
    echo "FAIL: prog_http_embed did not start" >&2
    exit 1
}
get() { # ADDR PATH [curl args]: the status code
    local a=$1 p=$2
    shift 2
    curl -sS --noproxy '*' --max-time 10 -o "$tmp/ns.body" -w '%{http_code}' "$@" "http://$a:$port$p" || true
}
run_embed ""
c=$(get 10.200.0.1 /debug/vars); [[ $c == 403 ]] || { echo "FAIL: non-loopback peer, no token: $c, want 403" >&2; exit 1; }
grep -q 'loopback' "$tmp/ns.body" || { echo "FAIL: the 403 does not say why" >&2; exit 1; }
c=$(get 10.200.0.1 /); [[ $c == 200 ]] || { echo "FAIL: the application's own route from 10.200.0.1: $c" >&2; exit 1; }
c=$(get 127.0.0.1 /debug/vars); [[ $c == 200 ]] || { echo "FAIL: loopback peer, no token: $c, want 200" >&2; exit 1; }
kill -TERM $epid; wait $epid || true
run_embed s3cret
c=$(get 10.200.0.1 /debug/vars); [[ $c == 401 ]] || { echo "FAIL: non-loopback peer, token configured, none sent: $c, want 401" >&2; exit 1; }
c=$(get 10.200.0.1 /debug/vars --oauth2-bearer s3cret); [[ $c == 200 ]] || { echo "FAIL: non-loopback peer with the token: $c, want 200" >&2; exit 1; }
kill -TERM $epid; wait $epid || true
echo "netns: ok"
NS
: >"$tmp/ns.err"
unshare -n bash "$tmp/netns.sh" "$embed" "$tmp" "$sanitize" >"$tmp/netns.out" 2>&1 || {
    cat "$tmp/netns.out" >&2
    fail "embedded handler peer rule (see above)"
}
check_sanitizer ns
ok "embedded handler: a non-loopback peer gets 403 without a token, 401/200 with one; loopback peers as before"

#!/usr/bin/env bash
# /debug/pprof/ routes common to every profile (http/pprof_routes.c): the
# HTML index, cmdline (NUL-separated, and redacted with cmdlineredact=1),
# symbol (GET and POST, Go's "num_symbols: 1" then "0x... name"), unknown
# profiles, request bodies past the limit, and the headers Go sends.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prog="$build/tests/prog_pprof_http"

start srv 'listening on' "$prog" --addr=127.0.0.1:0 'arg one' two
base="http://127.0.0.1:$port/debug/pprof"

# get NAME URL [CURL-ARGS]: body in $tmp/NAME, headers in $tmp/NAME.h
get() {
  local name=$1 url=$2; shift 2
  timeout -k 5 30 curl -s -D "$tmp/$name.h" -o "$tmp/$name" "$@" "$url" || fail "curl $url"
}
status() { head -n1 "$tmp/$1.h" | awk '{print $2}'; }
header() { grep -i "^$2:" "$tmp/$1.h" | head -n1 | cut -d' ' -f2- | tr -d '\r'; }

# ---- index
get index "$base/"
[[ $(status index) == 200 ]] || fail "index status $(status index)"
[[ $(header index Content-Type) == 'text/html; charset=utf-8' ]] || fail "index type"
[[ $(header index X-Content-Type-Options) == nosniff ]] || fail "index nosniff"
grep -q '<title>/debug/pprof/</title>' "$tmp/index" || fail "index title"
for p in cmdline profile trace; do
  grep -q "<a href='$p?debug=1'>$p</a>" "$tmp/index" || fail "index lacks $p"
  grep -q "<div class=profile-name>$p: </div> " "$tmp/index" || fail "index lacks the $p description"
done
grep -q 'href="goroutine?debug=2">full goroutine stack dump' "$tmp/index" || fail "index: dump link"
# names are listed in order
grep -o "<a href='[a-z]*?debug=1'>" "$tmp/index" | sed "s/.*href='//; s/?.*//" >"$tmp/names"
sort -c "$tmp/names" || fail "index not sorted"
ok "index"

# ---- cmdline: os.Args joined by NUL
get cmd "$base/cmdline"
[[ $(status cmd) == 200 && $(header cmd Content-Type) == 'text/plain; charset=utf-8' ]] || fail "cmdline headers"
[[ $(header cmd X-Content-Type-Options) == nosniff ]] || fail "cmdline nosniff"
printf '%s\0%s\0%s\0%s' "$prog" --addr=127.0.0.1:0 'arg one' two >"$tmp/want"
cmp -s "$tmp/cmd" "$tmp/want" || { od -c "$tmp/cmd" | head; fail "cmdline bytes"; }
ok "cmdline"

# ---- symbol: GET ?a+b, POST body; only known addresses are printed
main_off=$(nm "$prog" | awk '$3 == "main" {print $1}')
load=$(grep -m1 " $(readlink -f "$prog")\$" "/proc/$pid/maps" | cut -d- -f1)
[[ -n $main_off && -n $load ]] || fail "cannot find main in $prog"
addr=$(printf '0x%x' $((0x$load + 0x$main_off)))
get sym "$base/symbol?$addr+0x1"
[[ $(status sym) == 200 && $(header sym Content-Type) == 'text/plain; charset=utf-8' ]] || fail "symbol headers"
printf 'num_symbols: 1\n%s main\n' "$addr" >"$tmp/want"
cmp -s "$tmp/sym" "$tmp/want" || { cat "$tmp/sym"; fail "symbol GET"; }
get symp "$base/symbol" -X POST --data-binary "0x1+$addr"
cmp -s "$tmp/symp" "$tmp/want" || { cat "$tmp/symp"; fail "symbol POST"; }
get sym0 "$base/symbol"
[[ $(cat "$tmp/sym0") == 'num_symbols: 1' ]] || fail "symbol without addresses"
get symbad "$base/symbol?zz+0x+-1+99999999999999999999999"
[[ $(cat "$tmp/symbad") == 'num_symbols: 1' ]] || { cat "$tmp/symbad"; fail "symbol with junk"; }
head -c $((70 * 1024)) /dev/zero | tr '\0' '1' >"$tmp/big"
get symbig "$base/symbol" -X POST --data-binary "@$tmp/big"
[[ $(status symbig) == 413 ]] || fail "a 70 KiB body: status $(status symbig)"
ok "symbol"

# ---- unknown profiles and methods
get unk "$base/nosuch"
[[ $(status unk) == 404 && $(cat "$tmp/unk") == 'Unknown profile' ]] || fail "unknown profile"
[[ $(header unk X-Go-Pprof) == 1 ]] || fail "unknown profile: X-Go-Pprof"
get unk2 "$base/nosuch?seconds=5&debug=1"
[[ $(status unk2) == 404 ]] || fail "unknown profile with parameters"
get post "$base/cmdline" -X POST --data x
[[ $(status post) == 405 ]] || fail "POST cmdline: $(status post)"
ok "errors"

# ---- named profiles: Go's seconds/debug/gc rules (heap is registered by
# prof/heapprof.c; the profiles themselves are tested by their own tests)
perr() { # NAME QUERY STATUS TEXT
  get "$1" "$base/$2"
  [[ $(status "$1") == "$3" ]] || fail "$2: status $(status "$1"), want $3"
  [[ $(cat "$tmp/$1") == "$4" ]] || { cat "$tmp/$1"; fail "$2: text"; }
  [[ $(header "$1" X-Go-Pprof) == 1 ]] || fail "$2: X-Go-Pprof"
}
for q in 'seconds=abc' 'seconds=-1' 'seconds=0' 'seconds=1.5' 'seconds=1e3'; do
  perr sec "heap?$q" 400 'invalid value for "seconds" - must be a positive integer'
done
perr secdbg 'heap?seconds=1&debug=1' 400 'seconds and debug params are incompatible'
perr secmax 'heap?seconds=601' 400 "profile duration exceeds the server's maximum of 600 seconds"
get heap "$base/heap"
[[ $(status heap) == 200 && $(header heap Content-Disposition) == 'attachment; filename="heap"' ]] ||
  fail "heap: status or disposition"
[[ $(header heap Content-Type) == application/octet-stream ]] || fail "heap: type"
[[ $(head -c2 "$tmp/heap" | od -An -tx1 | tr -d ' ') == 1f8b ]] || fail "heap: not gzip"
get heapgc "$base/heap?gc=1&debug=1"
[[ $(status heapgc) == 200 && $(header heapgc Content-Type) == 'text/plain; charset=utf-8' ]] ||
  fail "heap?gc=1&debug=1"
grep -q '^heap profile: ' "$tmp/heapgc" || fail "heap debug=1 text"
get heapdbg "$base/heap?debug=abc"    # Atoi error: debug 0, as in Go
[[ $(header heapdbg Content-Type) == application/octet-stream ]] || fail "debug=abc is not 0"
get delta "$base/goroutine?seconds=1"
[[ $(status delta) == 200 && $(header delta Content-Disposition) == 'attachment; filename="goroutine-delta"' ]] ||
  fail "delta: status or disposition"
# a delta in progress does not hold the server: another route answers meanwhile
timeout -k 5 30 curl -s -o "$tmp/slow" "$base/allocs?seconds=3" &
slowpid=$!
sleep 0.5
get idx2 "$base/"
[[ $(status idx2) == 200 ]] || fail "index during a delta profile"
wait "$slowpid" || fail "the 3 s delta failed"
[[ $(head -c2 "$tmp/slow" | od -An -tx1 | tr -d ' ') == 1f8b ]] || fail "delta: not gzip"
for p in heap allocs goroutine threadcreate; do
  grep -q "<a href='$p?debug=1'>$p</a>" "$tmp/index" || fail "index lacks $p"
done
ok "named profiles: seconds, debug and gc rules"

# ---- stopping the server while a delta profile is being rendered
timeout -k 5 30 curl -s -o /dev/null "$base/heap?seconds=30" &
sleep 0.5
stop srv "$pid"
ok "server stopped during a delta profile"

# ---- cmdlineredact=1: argv[0] only
CDEBUG=cmdlineredact=1 start srv2 'listening on' "$prog" --addr=127.0.0.1:0 secret-arg
get red "http://127.0.0.1:$port/debug/pprof/cmdline"
printf '%s' "$prog" >"$tmp/want"
cmp -s "$tmp/red" "$tmp/want" || { od -c "$tmp/red" | head; fail "redacted cmdline"; }
ok "cmdline redacted"

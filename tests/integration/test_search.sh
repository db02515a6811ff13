#!/usr/bin/env bash
# examples/search, the profiling walkthrough's service: the search answers
# the same with and without --fixed, POST and GET both search, bad options
# are refused, and the debug routes are served on the service's own port
# (Go's import _ "net/http/pprof").
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prog="$build/examples/search"

count() { # URL [CURL-ARGS]: the result count of a search page
  local url=$1; shift
  timeout -k 5 30 curl -s "$@" "$url" | sed -n 's/.*<p>\([0-9]*\) results for.*/\1/p'
}

start slow 'open http' "$prog" --addr=127.0.0.1:0 --items=300
slow_port=${port%/search}; slow_port=${slow_port##*:}
start fixed 'open http' "$prog" --addr=127.0.0.1:0 --items=300 --fixed
fixed_port=${port%/search}; fixed_port=${fixed_port##*:}
grep -q 'fixed: lower-cased at load' "$tmp/fixed.out" || fail "--fixed not announced"

for term in covid-19 COVID-19 Politics zzz-none; do
  q="term=$term&cnn=on&bbc=on&nyt=on"
  a=$(count "http://127.0.0.1:$slow_port/search?$q")
  b=$(count "http://127.0.0.1:$fixed_port/search?$q" -X POST)
  [[ -n $a && $a == "$b" ]] || fail "term $term: $a results, --fixed $b"
done
[[ $(count "http://127.0.0.1:$slow_port/search?term=zzz-none&cnn=on") == 0 ]] || fail "no match"
one=$(count "http://127.0.0.1:$slow_port/search?term=covid-19&cnn=on")
all=$(count "http://127.0.0.1:$slow_port/search?term=covid-19&cnn=on&bbc=on&nyt=on")
(( one > 0 && one < all )) || fail "one feed $one, three feeds $all"
ok "search results agree with and without --fixed"

code=$(timeout -k 5 30 curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$slow_port/debug/pprof/")
[[ $code == 200 ]] || fail "debug index on the service port: $code"
# (into a file: grep -q closing the pipe early would fail curl under pipefail)
timeout -k 5 30 curl -s -o "$tmp/vars" "http://127.0.0.1:$slow_port/debug/vars" || fail "vars: curl"
grep -q '"memstats"' "$tmp/vars" || fail "vars"
code=$(timeout -k 5 30 curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$slow_port/nope")
[[ $code == 404 ]] || fail "unknown path: $code"
ok "debug routes on the service port"

st=0; "$prog" --items=0 >/dev/null 2>"$tmp/bad.err" || st=$?
[[ $st == 2 ]] && grep -q '^usage:' "$tmp/bad.err" || fail "--items=0: exit $st"
st=0; "$prog" --addr=nonsense >/dev/null 2>"$tmp/bad.err" || st=$?
[[ $st == 2 ]] || fail "--addr=nonsense: exit $st"
ok "bad options"

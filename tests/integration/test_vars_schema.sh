#!/usr/bin/env bash
# /debug/vars against a real Go 1.19 expvar program (tests/integration/go_expvar):
#  - cdebug's document has Go's shape ("{\n", `"name": value` lines joined by
#    ",\n", "\n}\n"), sorted keys, valid JSON;
#  - cmdline is an array of strings (argv, or argv[0] + "<redacted>" with
#    CDEBUG=cmdlineredact=1);
#  - memstats has runtime.MemStats' keys in Go's order and Go's JSON types,
#    compared with Go's own output and decoded into runtime.MemStats;
#  - Float vars render as strconv.FormatFloat(f, 'g', -1, 64) and Func reals
#    as json.Marshal, for ~20000 doubles printed by Go (every power of two,
#    subnormals, decimals, random bit patterns).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prog=$build/tests/prog_vars
peer=$src/tests/integration/go_expvar
built "$prog"
need go golang-go
need jq jq

# A private Go environment: no network, no writes to the user's caches.
export HOME="${HOME:-$tmp}" GOCACHE="$tmp/gocache" GOPATH="$tmp/gopath" GOPROXY=off GOFLAGS= GO111MODULE=on
(cd "$peer" && go build -o "$tmp/goexpvar" .) || fail "building the Go peer"

# The document, compared with Go's.
"$prog" doc one "two words" >"$tmp/c.json" || fail "prog_vars doc exited $?"
"$tmp/goexpvar" compare "$tmp/c.json" || fail "cdebug's /debug/vars differs from Go's expvar (above)"

# cmdline: the arguments, then redacted by CDEBUG.
got=$(jq -c '.cmdline[1:]' "$tmp/c.json")
[[ $got == '["doc","one","two words"]' ]] || fail "cmdline[1:] is $got"
[[ $(jq -r '.cmdline[0]' "$tmp/c.json") == "$prog" ]] || fail "cmdline[0] is not the program"
CDEBUG=cmdlineredact=1 "$prog" doc secret "pass word" >"$tmp/r.json"
got=$(jq -c '.cmdline[1:]' "$tmp/r.json")
[[ $got == '["<redacted>","<redacted>","<redacted>"]' ]] || fail "redacted cmdline[1:] is $got"
grep -q secret "$tmp/r.json" && fail "redacted document still contains an argument"

# The user vars as Go renders them (spot checks; the unit tests go further).
[[ $(jq -c '.requests' "$tmp/c.json") == 1234 ]] || fail "requests"
grep -q '^"http": {"GET": 10, "POST": 5, ' "$tmp/c.json" || fail "Map.String layout: $(grep '^"http"' "$tmp/c.json")"
grep -q '^"func_null": null,$' "$tmp/c.json" || fail "a Func returning NULL must render null"
[[ $(jq -c '.func_obj' "$tmp/c.json") == '{"n":7,"ratio":0.25,"name":"<ok>","list":[true,null]}' ]] ||
  fail "func_obj: $(jq -c '.func_obj' "$tmp/c.json")"

# Go's float formatting, value by value.
"$tmp/goexpvar" floats 20000 >"$tmp/floats"
"$prog" floats <"$tmp/floats" || fail "float formatting differs from Go's (above)"
echo "ok"

#!/usr/bin/env bash
# tests/integration/test_top_errors.sh - cdebug-top's bad input and faults.
#
#   command line: unknown flag, bad -i, stray argument, no ports, bad port,
#     bad var -> message and usage on stderr, exit 2; -h -> usage, exit 0;
#     a CSV file that cannot be created -> exit 1; no terminal without
#     -dummy -> exit 1 with a hint;
#   endpoints of a real Go program, watched together: 404 -> "vars not
#     found at <url>", an HTML page and a JSON array -> "invalid JSON at
#     <url>: ...", a server that never answers -> "timeout after 1s" within
#     the round, while the healthy service is still sampled every round.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
# shellcheck source=go_expvar_server/lib.sh
source "$(dirname "$0")/go_expvar_server/lib.sh"

top=$(top_bin)

# expect_exit CODE PATTERN ARGS...: runs cdebug-top (stdin/stdout not a
# terminal), wants exit CODE and PATTERN (grep -E) in its stderr.
expect_exit() {
    local want=$1 pat=$2 rc=0
    shift 2
    timeout 10 "$top" "$@" </dev/null >"$tmp/o" 2>"$tmp/e" || rc=$?
    if ((rc != want)) || ! grep -Eq -- "$pat" "$tmp/e"; then
        cat "$tmp/e" >&2
        fail "cdebug-top $*: exit $rc (want $want), stderr should match /$pat/"
    fi
}

expect_exit 2 'flag provided but not defined: -bogus' -bogus
expect_exit 2 '^  -ports string' -bogus
expect_exit 2 'invalid value "abc" for flag -i: parse error' -ports=1 -i abc
expect_exit 2 'update interval is not valid' -ports=1 -i 0s
expect_exit 2 'unexpected argument "6061"' -ports 6060 6061
expect_exit 2 'flag needs an argument: -vars' -ports=1 -vars
expect_exit 2 'no ports specified' -dummy
expect_exit 2 'bad port or range "x"' -ports=x -dummy
expect_exit 2 'too many services' -ports=1-65535 -dummy
expect_exit 2 'var "mem:": empty name' -ports=1 -vars=mem: -dummy
expect_exit 0 '^Usage of .*cdebug-top:' -h
expect_exit 0 'Examples:' --help
expect_exit 1 'cannot create CSV file /nonexistent-dir/x.csv: No such file or directory' \
    -ports=1 -dummy --csv /nonexistent-dir/x.csv
expect_exit 1 'needs a terminal \(use -dummy' -ports=1
[[ ! -s $tmp/o ]] || fail "errors must not print on stdout"

go_peer_build
go_peer_start addr -timeout 30s

# dummy_run SECONDS ARGS...: runs -dummy for a while, then SIGINT; output in
# $tmp/out, exit status must be 0.
dummy_run() {
    local secs=$1 rc=0
    shift
    "$top" -dummy "$@" >"$tmp/out" 2>"$tmp/err" &
    local pid=$!
    pids+=("$pid")
    sleep "$secs"
    kill -INT "$pid"
    wait_pid "$pid" 10 || rc=$?
    if ((rc != 0)); then
        cat "$tmp/out" "$tmp/err" >&2
        fail "cdebug-top $* exited $rc"
    fi
}

# One run watches a real Go program through five URLs at once: 404, an HTML
# page, a JSON array, a server that never answers, and the healthy
# /debug/vars. A hung server costs one timeout per round (-i 500ms gives a
# 1 s request timeout); the others are still reported in every round.
# -self is accepted (expvarmon compatibility) with a warning.
dummy_run $((3 * top_slow)) -i 500ms -self -vars=requests \
    -ports="http://$addr/nope,$addr/notjson,http://$addr/array,http://$addr/slow,$addr"
grep -q -- '-self is not supported' "$tmp/err" || fail "-self warning missing"
python3 - "$tmp/out" "$addr" <<'PY' || { cat "$tmp/out" >&2; exit 1; }
import re, sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
a = re.escape(sys.argv[2])
want = [
    r"%s: failed: vars not found at http://%s/nope" % (a, a),
    r"%s: failed: invalid JSON at http://%s/notjson: .* \(line 1, column \d+\)" % (a, a),
    r"%s: failed: invalid JSON at http://%s/array: not an expvar object" % (a, a),
    r"%s: failed: timeout after 1s" % a,
    r"%s: requests: \d+" % a,
]
rounds = [lines[i + 1 : i + 6] for i, l in enumerate(lines) if re.fullmatch(r"\d\d:\d\d:\d\d \d\d/\d\d", l)]
if len(rounds) < 2:
    sys.exit("FAIL: %d rounds in 3 s" % len(rounds))
for r in rounds:
    for got, rx in zip(r, want):
        if not re.fullmatch(rx, got):
            sys.exit("FAIL: %r does not match /%s/" % (got, rx))
    if len(r) != 5:
        sys.exit("FAIL: round with %d lines" % len(r))
PY
echo "ok"

#!/usr/bin/env bash
# tests/integration/test_cmdline.sh - what the program's arguments show in
# /debug/vars' cmdline and in /debug/pprof/cmdline under each
# CDEBUG=cmdlineredact mode (vars/cmdline.c):
#
#   default, =2   secret values as "xxxxx" (--password=, --token VALUE,
#                 NAME=, the password of a URL), the rest as given, the
#                 number and order of the arguments kept
#   =0            every argument as given
#   =1            argv[0] only (the var: later arguments as "<redacted>")
#   =3            a bad value: one warning, and the default stays
#
# test_cmdline.c holds the table of argument forms; this checks that both
# routes publish what the table's function computes.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http_lib.sh"
prog=$build/tests/prog_pprof_http
[[ -x $prog ]] || fail "$prog is not built"

args=(--addr=127.0.0.1:0 --password=hunter2 --api-token s3cr3t -p keep
    'DB_PASSWORD=pw one' --url=https://alice:opensesame@db.example/x plain)
redacted=(--addr=127.0.0.1:0 --password=xxxxx --api-token xxxxx -p keep
    DB_PASSWORD=xxxxx --url=https://alice:xxxxx@db.example/x plain)
secrets=(hunter2 s3cr3t 'pw one' opensesame)

# check MODE NAME WANT...: starts the program under CDEBUG=cmdlineredact=MODE
# (none: CDEBUG unset) and compares both routes with argv[0] + WANT; no
# secret may appear anywhere in either body unless MODE is 0.
check() {
    local mode=$1 name=$2
    shift 2
    if [[ $mode == none ]]; then
        start "$name" 'listening on' "$prog" "${args[@]}"
    else
        CDEBUG=cmdlineredact=$mode start "$name" 'listening on' "$prog" "${args[@]}"
    fi
    local base=http://127.0.0.1:$port s
    [[ $(fetch "$base/debug/pprof/cmdline") == 200 ]] || fail "$name: /debug/pprof/cmdline status"
    cp "$tmp/b" "$tmp/$name.pprof"
    if (($# > 0)); then
        printf '%s' "$prog" >"$tmp/want"
        printf '\0%s' "$@" >>"$tmp/want"
    else
        printf '%s' "$prog" >"$tmp/want"
    fi
    cmp -s "$tmp/$name.pprof" "$tmp/want" || {
        echo "got:" >&2
        tr '\0' '|' <"$tmp/$name.pprof" >&2
        echo >&2
        fail "$name: /debug/pprof/cmdline is not argv[0] + $*"
    }
    [[ $(fetch "$base/debug/vars") == 200 ]] || fail "$name: /debug/vars status"
    cp "$tmp/b" "$tmp/$name.vars"
    python3 - "$tmp/$name.vars" "$mode" "$prog" "${args[@]}" -- "$@" <<'EOF' ||
import json, sys
doc, mode, prog = sys.argv[1], sys.argv[2], sys.argv[3]
rest = sys.argv[4:]
cut = rest.index("--")
given, want = rest[:cut], rest[cut + 1:]
got = json.load(open(doc))["cmdline"]
if mode == "1":
    want = ["<redacted>"] * len(given)
assert got == [prog] + want, f"cmdline is {got}, want {[prog] + want}"
EOF
        fail "$name: /debug/vars cmdline"
    if [[ $mode != 0 ]]; then
        for s in "${secrets[@]}"; do
            if grep -qF -- "$s" "$tmp/$name.pprof" "$tmp/$name.vars"; then
                fail "$name: \"$s\" is published"
            fi
        done
    fi
    stop "$name" "$pid"
}

check none default "${redacted[@]}"
ok "default: secret values redacted, positions kept, in both routes"
check 2 two "${redacted[@]}"
ok "cmdlineredact=2: the same as the default"
check 0 raw "${args[@]}"
ok "cmdlineredact=0: every argument as given"
check 1 hide
ok "cmdlineredact=1: argv[0] only"
check 3 bad "${redacted[@]}"
grep -qF 'cdebug: CDEBUG: bad value "3" for cmdlineredact ignored (want 0, 1 or 2)' "$tmp/bad.err" ||
    { show "$tmp/bad.err"; fail "cmdlineredact=3: no warning"; }
ok "cmdlineredact=3: warned, the default stays"

# tests/integration/crash_lib.sh - checks of a crash report's shape
# (prof/crash.h, docs/crash.md), for the scripts that make a program crash
# (sourced after lib.sh, not run). The crashed run's stderr is in
# $tmp/NAME.err and its outcome in $how: "exit N", "signal N core 0|1" or
# "timeout" (test_crash.sh's crun sets it; a script that waits for the
# program itself sets it to "exit $status").
[[ -n ${tmp:-} ]] || { echo "crash_lib.sh: source lib.sh first" >&2; exit 1; }

# want_status NAME WANT: $how is WANT.
want_status() {
    [[ $how == "$2" ]] || { show "$tmp/$1.err"; fail "$1: $how, want $2"; }
}

# report NAME SIGLINE HEADER_ERE: the report's shape in $tmp/NAME.err: the
# signal line, the PC line, raw frames with file+offset, a blank line, the
# header, symbolized frames (no "not symbolized" line).
report() {
    local err=$tmp/$1.err
    want_status "$1" "exit 2"
    sed -n 1p "$err" | grep -qxF "$2" || { show "$err"; fail "$1: first line, want '$2'"; }
    sed -n 2p "$err" | grep -Eqx 'PC=0x[0-9a-f]+ m=(-1|[0-9]+) sigcode=-?[0-9]+( addr=0x[0-9a-f]+)?' ||
        { show "$err"; fail "$1: PC line"; }
    grep -Eqx 'pc=0x[0-9a-f]+ /.+\+0x[0-9a-f]+' "$err" || { show "$err"; fail "$1: raw frames"; }
    # The header follows the first blank line.
    awk 'f { print; exit } /^$/ { f = 1 }' "$err" | grep -Eqx "$3" ||
        { show "$err"; fail "$1: header, want /$3/"; }
    ! grep -q 'not symbolized\|timed out\|failed' "$err" || { show "$err"; fail "$1: incomplete report"; }
    check_sanitizer "$1"
}

# frames NAME FUNC...: each FUNC(...) is a frame of the report, in that
# order (innermost first), not necessarily adjacent.
frames() {
    local name=$1 f at=0
    shift
    grep -E '^[A-Za-z_][A-Za-z0-9_.]*\(\.\.\.\)$' "$tmp/$name.err" >"$tmp/$name.frames"
    for f in "$@"; do
        at=$(awk -v f="$f(...)" -v after="$at" 'NR > after && $0 == f { print NR; exit }' "$tmp/$name.frames")
        [[ -n $at ]] || { show "$tmp/$name.err"; fail "$name: no frame $f in order ($*)"; }
    done
}

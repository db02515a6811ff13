# bench/lib.sh - the preamble of the bench/run* scripts, sourced first with
# the script's arguments (`source "$(dirname "$0")/lib.sh" "$@"`), never run.
#
# It checks the command line (one argument, the build directory: exit 2
# with the usage otherwise) and sets
#   name   the script's name, for messages ("bench/NAME: ...");
#   build  the build directory, absolute;
#   src    the source tree;
#   reps   BENCH_REPS (default 5): runs per side;
#   tmp    a scratch directory, removed at exit (when the script's
#          background processes, its servers, are stopped too: see
#          background and bench_cleanup);
# with set -euo pipefail. The caller's CDEBUG, GODEBUG, profiler and worker
# settings are cleared (they would be measured too): a script exports the
# worker counts it wants. Then the helpers below.
#
# Targets. Each script hands every target it judges to target_row, which
# appends one line to the file $BENCH_TARGETS; bench/run makes that file
# for all its scripts and prints the whole table at its end
# (targets_table). A script run alone makes its own and prints its rows
# at its end.

set -euo pipefail
name=${0##*/}
if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
    echo "usage: bench/$name BUILD_DIR" >&2
    exit 2
fi
build=$(cd "$1" 2>/dev/null && pwd) || { echo "bench/$name: no build directory $1" >&2; exit 2; }
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
reps=${BENCH_REPS:-5}
unset CDEBUG CDMAXPROCS CDGC CDEBUG_HTTP_TOKEN GOMAXPROCS GODEBUG GOGC \
    CPUPROFILE CPUPROFILE_FREQUENCY LD_PRELOAD
tmp=$(mktemp -d)
if [[ -z ${BENCH_TARGETS:-} ]]; then
    export BENCH_TARGETS=$tmp/targets
    own_targets=1
else
    own_targets=0
fi
: >>"$BENCH_TARGETS"

# background CMD...: starts CMD in the background (the call's redirections
# and VAR=value prefixes apply to it) and leaves its PID in $!. Every
# server and sub-script goes through here, in the script's own shell (never
# inside a $(...) or a pipeline, whose jobs the script does not see), so
# that bench_cleanup finds it in `jobs -p`. CMD also gets SIGKILL when this
# script's process dies (setpriv --pdeathsig, util-linux): a script killed
# outright, which runs no trap, leaves no server behind either.
background() {
    setpriv --pdeathsig KILL -- "$@" &
}

# tree PID...: each PID, then every process below it (children, theirs...),
# from ps at this moment.
tree() {
    local p
    for p in "$@"; do
        echo "$p"
        # shellcheck disable=SC2046
        tree $(ps -o pid= --ppid "$p" || true)
    done
}

# At exit, also after SIGINT, SIGTERM or SIGHUP (whose traps exit, which
# runs this), every background process still running is stopped, with
# every process below it: SIGTERM first (a server shuts down; a section
# stops, and so does the program in its foreground, which could otherwise
# hang it for good), SIGKILL for what is left after 10 s. Only from
# `jobs -p`: the children not reaped yet, whose PIDs cannot have been
# reused. Then, on success, a script run alone prints its target rows.
bench_cleanup() {
    local st=$? p live i
    trap - INT TERM HUP
    live=$(jobs -p)
    if [[ -n $live ]]; then
        # shellcheck disable=SC2086
        for p in $(tree $live); do kill -TERM "$p" 2>/dev/null || true; done
        for ((i = 0; i < 100; i++)); do
            [[ -z $(jobs -pr) ]] && break
            sleep 0.1
        done
        # shellcheck disable=SC2046
        for p in $(tree $(jobs -pr)); do kill -KILL "$p" 2>/dev/null || true; done
        wait 2>/dev/null || true
    fi
    if ((st == 0 && own_targets)); then
        targets_table
    fi
    rm -rf "$tmp"
    exit "$st"
}
trap bench_cleanup EXIT
# A signal ends the script (after the command in the foreground, which
# bash waits for) through the EXIT trap. Without these, SIGINT would be
# taken as handled by that command when it survives it (wrk ignores
# SIGINT) and the script would run on.
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

die() { echo "bench/$name: $*" >&2; exit 1; }

# positive VAR...: each named variable holds a positive integer (exit 2
# otherwise: a knob from the environment was mistyped).
positive() {
    local v
    for v in "$@"; do
        if ! [[ ${!v} =~ ^[1-9][0-9]*$ ]]; then
            echo "bench/$name: $v must be a positive integer, got '${!v}'" >&2
            exit 2
        fi
    done
}
positive reps

# built PATH...: each program is built.
built() {
    local p
    for p in "$@"; do
        [[ -x $p ]] || die "$p not built (run make build)"
    done
}

# go_peer PEER: builds bench/peers/PEER with the Debian toolchain, offline,
# caches in the build directory (an odd or read-only HOME is fine), and
# prints the program's path; prints nothing (and says why on stderr) when go
# is missing or the build fails: that side's column is left empty.
go_peer() {
    local peers=$build/bench-peers
    if ! command -v go >/dev/null 2>&1; then
        echo "bench/$name: no go toolchain (apt-get install golang-go); the Go peer $1 is left out" >&2
        return 0
    fi
    mkdir -p "$peers"
    if (cd "$src/bench/peers/$1" &&
        GOCACHE=$peers/gocache GOPATH=$peers/gopath GOPROXY=off GOFLAGS= GO111MODULE=on \
            GOWORK=off go build -o "$peers/$1" .) >&2; then
        echo "$peers/$1"
    else
        echo "bench/$name: building the Go peer $1 failed; it is left out" >&2
    fi
}

# find_libprofiler: prints the path of gperftools' profiler library (Debian's
# libgoogle-perftools4, pulled in by google-perftools), nothing when it is
# missing.
find_libprofiler() {
    local d f
    for d in /usr/lib/x86_64-linux-gnu /usr/lib/aarch64-linux-gnu /usr/lib64 /usr/lib; do
        for f in "$d/libprofiler.so.0" "$d/libprofiler.so"; do
            if [[ -e $f ]]; then
                echo "$f"
                return 0
            fi
        done
    done
}

# field NAME: the value of NAME=... in the line on stdin.
field() {
    sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p" | head -n 1
}

# median: of the numbers on stdin, one per line (mean of the middle two when
# even), "-" when there are none.
median() {
    sort -g | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print "-"; exit }
        if (NR % 2) printf "%.2f\n", v[(NR + 1) / 2];
        else printf "%.2f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# spread: "min..max" of the numbers on stdin, "-" when there are none.
spread() {
    sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { if (NR) printf "%s..%s\n", lo, hi; else print "-" }'
}

# ratio A B [DIGITS]: A / B with DIGITS decimals (2), "-" when either is
# "-" or B is 0.
ratio() {
    awk -v a="$1" -v b="$2" -v d="${3:-2}" \
        'BEGIN { if (a == "-" || b == "-" || b == 0) print "-"; else printf("%." d "f\n", a / b) }'
}

# paired KEY_A KEY_B: the ratio A/B of each round (line i of series A over
# line i of series B: runs of the same round, back to back) as "MEDIAN
# Q1..Q3" with 3 decimals, "- -" when there is none. On a host whose speed
# drifts between rounds, the ratio within a round cancels the drift that
# a ratio of two medians keeps.
paired() {
    if [[ ! -s $tmp/$1 || ! -s $tmp/$2 ]]; then
        echo "- -"
        return
    fi
    paste -d' ' "$tmp/$1" "$tmp/$2" | awk '$2 > 0 { print $1 / $2 }' | sort -g | awk '
        { v[NR] = $1 }
        END {
            if (NR == 0) { print "- -"; exit }
            m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "%.3f %.3f..%.3f\n", m, v[int((NR + 3) / 4)], v[int((3 * NR + 3) / 4)]
        }'
}

# keep KEY VALUE: appends one run's figure to the series KEY.
keep() {
    [[ -n $2 ]] || die "a run printed no figure for $1"
    echo "$2" >>"$tmp/$1"
}

# med KEY / runs KEY: median / spread of the series KEY ("-" when empty).
med() { if [[ -s $tmp/$1 ]]; then median <"$tmp/$1"; else echo -; fi; }
runs() { if [[ -s $tmp/$1 ]]; then spread <"$tmp/$1"; else echo -; fi; }

# target_row LABEL CDEBUG PEER RATIO TARGET VERDICT: one row of the targets
# table (see the top): what is judged (with its unit and its peer:
# Go, gperftools, glibc, a run without cdebug...), cdebug's figure, the
# peer's ("-" when there is none), the ratio or overhead the target is on,
# the target, and "met", "not met" or "no figure". Tabs and newlines in the
# fields become spaces.
target_row() {
    (($# == 6)) || die "target_row: 6 fields, got $#: $*"
    local f line=
    for f in "$@"; do
        f=${f//$'\t'/ }
        line+=${line:+$'\t'}${f//$'\n'/ }
    done
    echo "$line" >>"$BENCH_TARGETS"
}

# targets_table: the rows of $BENCH_TARGETS as one table, then how many
# targets are not met.
targets_table() {
    local n bad
    n=$(grep -c . "$BENCH_TARGETS" || true)
    echo
    echo "## targets: every target judged in this run ($n)"
    echo
    ((n > 0)) || return 0
    awk -F'\t' '
        BEGIN { split("benchmark cdebug peer ratio target verdict", h, " ")
                for (i = 1; i <= 6; i++) w[i] = length(h[i]) }
        { for (i = 1; i <= 6; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } }
        # row R: row R of the table (0: the header, -1: the rule); the
        # figures right-aligned, the words left.
        function row(r,   i, s, v, f) {
            s = ""
            for (i = 1; i <= 6; i++) {
                v = r == 0 ? h[i] : r < 0 ? "" : c[r, i]
                f = (i >= 2 && i <= 4) ? "%" w[i] "s" : "%-" w[i] "s"
                v = sprintf(f, v)
                if (r < 0) gsub(/ /, "-", v)
                s = s (i == 1 ? "" : r < 0 ? "-|-" : " | ") v
            }
            sub(/ +$/, "", s)
            print s
        }
        END { row(0); row(-1); for (r = 1; r <= NR; r++) row(r) }' "$BENCH_TARGETS"
    bad=$(awk -F'\t' '$6 != "met"' "$BENCH_TARGETS" | wc -l)
    echo
    echo "$((n - bad)) of $n targets met; not met (or no figure): $bad"
}

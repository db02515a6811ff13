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
#          background jobs, its servers, are killed too);
# with set -euo pipefail. The caller's CDEBUG, GODEBUG, profiler and worker
# settings are cleared (they would be measured too): a script exports the
# worker counts it wants. Then the helpers below.

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
# At exit every background job still running (a server) is killed.
bench_cleanup() {
    local p
    for p in $(jobs -p); do kill -KILL "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$tmp"
}
trap bench_cleanup EXIT

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

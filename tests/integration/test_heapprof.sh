#!/usr/bin/env bash
# Heap and allocs profiles (prof/heapprof.c) read by the real `go tool
# pprof`, from files and from the debug server:
#
#   - memprofilerate=1 (every allocation): exact counts per site, 80/20 byte
#     shares, the allocating function on top of every stack (never cdebug's
#     allocator), in-use halving after dropping half and collecting (links
#     cleared), cd_strdup / cd_realloc / cd_free accounted, `-base` showing
#     only the growth between two snapshots;
#   - the default rate with 780 MB allocated: shares of bytes AND objects
#     within 6 points (so the unsampling scale works for both sizes), total
#     bytes within 12% (bounds at about 4 standard deviations or more);
#   - memprofilerate=0: no sample at all;
#   - debug=1 text checked line by line (heapprof_text.py) against the same
#     checks run on a real Go 1.19 program's output;
#   - CDEBUG=memprofile=FILE written at exit; bad CDEBUG values warned;
#   - HTTP: the index, ?debug=1, ?gc=1 and `-base` on live URLs, the Go tutorial's
#     `go tool pprof -alloc_space -top URL`, a ?seconds=N delta.
# test_heapprof_stress.sh runs the concurrent stress (and is the one TSan
# runs).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http_lib.sh"
prog="$build/tests/prog_heapprof"
check="$(dirname "$0")/heapprof_text.py"
# pprof and the Go build write nothing outside $tmp, and never go online.
go_env

# flat FILE FUNC / pct FILE FUNC: the flat value / flat% of FUNC in a -top
# output (empty when FUNC is absent).
flat() { awk -v f="$2" '$NF == f && NF == 6 { print $1; exit }' "$1"; }
pct() { awk -v f="$2" '$NF == f && NF == 6 { sub(/%$/, "", $2); print $2; exit }' "$1"; }
# within V LO HI: LO <= V <= HI (V a number).
within() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v != "" && v + 0 >= lo && v + 0 <= hi) }'; }
# first FILE: the function of the first row of a -top table.
first() { awk 'f && NF >= 6 { print $NF; exit } /^ *flat  flat%/ { f = 1 }' "$1"; }
expect_pct() { # FILE FUNC LO HI WHAT
    local v
    v=$(pct "$1" "$2")
    within "$v" "$3" "$4" || { cat "$1" >&2; fail "$5: $2 has $v%, want $3..$4"; }
}
no_kit_frames() { # FILE: cdebug's allocator never appears in a stack
    ! grep -Eq 'cd_alloc|cd_strdup|cd_realloc|cd__heapprof|GC_malloc|GC_generic' "$1" || {
        cat "$1" >&2
        fail "$1: the allocator's own frames are in the profile"
    }
}
run_prog() { # NAME CDEBUG ARGS...: runs prog, stderr checked for sanitizer reports
    local name=$1 cdebug=$2
    shift 2
    CDEBUG=$cdebug timeout -k 5 300 "$prog" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || {
        show "$tmp/$name.err"
        fail "$name: prog_heapprof $* failed"
    }
    check_sanitizer "$name"
}

# ---- memprofilerate=1: exact ---------------------------------------------
d1=$tmp/r1
mkdir -p "$d1"
run_prog r1 memprofilerate=1 files "$d1" 2000 1000 100

pp -top -sample_index=alloc_space "$d1/heap1.pb.gz" >"$d1/as"
[[ $(first "$d1/as") == big_site ]] || { cat "$d1/as"; fail "rate 1: big_site is not first"; }
[[ $(flat "$d1/as" big_site) == 62.50MB && $(flat "$d1/as" small_site) == 15.62MB ]] ||
    { cat "$d1/as"; fail "rate 1: alloc_space of the sites"; }
expect_pct "$d1/as" big_site 79.9 80.1 "rate 1 alloc_space"
expect_pct "$d1/as" small_site 19.9 20.1 "rate 1 alloc_space"
no_kit_frames "$d1/as"
pp -top -sample_index=alloc_objects "$d1/heap1.pb.gz" >"$d1/ao"
[[ $(flat "$d1/ao" big_site) == 4000 && $(flat "$d1/ao" small_site) == 16000 ]] ||
    { cat "$d1/ao"; fail "rate 1: alloc_objects"; }
# heap: inuse_space by default (Go leaves default_sample_type unset: the last type).
pp -top "$d1/heap1.pb.gz" >"$d1/h1"
grep -q '^Type: inuse_space$' "$d1/h1" || { cat "$d1/h1"; fail "heap default type"; }
pp -top "$d1/allocs1.pb.gz" >"$d1/a1"
grep -q '^Type: alloc_space$' "$d1/a1" || { cat "$d1/a1"; fail "allocs default type"; }
[[ $(flat "$d1/a1" big_site) == 62.50MB ]] || { cat "$d1/a1"; fail "allocs: same data as heap"; }
# In use: the 1000 kept rounds, 31.25 MB and 7.81 MB (a few more objects may
# be held by stale words on a stack: bdwgc is conservative).
pp -top -sample_index=inuse_objects "$d1/heap1.pb.gz" >"$d1/io1"
within "$(flat "$d1/io1" big_site)" 2000 2020 || { cat "$d1/io1"; fail "in-use big_site objects"; }
within "$(flat "$d1/io1" small_site)" 8000 8080 || { cat "$d1/io1"; fail "in-use small_site objects"; }
# After dropping every other kept round and collecting: half (the
# collector's cleared links are what the in-use numbers rely on).
pp -top -sample_index=inuse_objects "$d1/heap2.pb.gz" >"$d1/io2"
within "$(flat "$d1/io2" big_site)" 1000 1020 || { cat "$d1/io2"; fail "halved big_site"; }
within "$(flat "$d1/io2" small_site)" 4000 4080 || { cat "$d1/io2"; fail "halved small_site"; }
# -base: only the 100 objects of 4 KiB grow_site kept between the snapshots.
pp -top -base "$d1/heap2.pb.gz" "$d1/heap3.pb.gz" >"$d1/base"
[[ $(first "$d1/base") == grow_site && $(flat "$d1/base" grow_site) == 400kB ]] ||
    { cat "$d1/base"; fail "-base: grow_site 400kB first"; }
expect_pct "$d1/base" grow_site 80 100 "-base"
pp -top -sample_index=inuse_objects -base "$d1/heap2.pb.gz" "$d1/heap3.pb.gz" >"$d1/baseo"
[[ $(flat "$d1/baseo" grow_site) == 100 ]] || { cat "$d1/baseo"; fail "-base: 100 objects"; }
ok "memprofilerate=1: exact sites, in-use halving, -base"

# debug=1: Go's text, exact records for the API sites.
for f in heap1 allocs1 heap2; do
    python3 "$check" "$d1/$f.txt" >"$d1/$f.rows" || fail "$f.txt: not Go's debug=1 format"
done
# The same published counts for the program's sites (cd_alloc's, published
# collection by collection); malloc's records, published as they happen
# (cdebug's own allocations while rendering the first), may differ.
cmp -s <(grep '_site$' "$d1/heap1.rows") <(grep '_site$' "$d1/allocs1.rows") ||
    fail "heap and allocs debug=1 differ"
rows=$d1/heap1.rows
[[ $(head -n1 "$rows") == 'rate 2 frames_per_pc exact' ]] || { head -n1 "$rows"; fail "heap/2, one frame line per pc"; }
want_row() { grep -qx "$1" "$rows" || { cat "$rows" >&2; fail "debug=1: no record '$1'"; }; }
want_row '10 1000 10 1000 strdup_site'  # 10 x cd_strdup of 100 bytes, kept
want_row '1 5000 1 5000 realloc_site'   # the moved block, kept
want_row '0 0 1 100 realloc_site'       # the first block, freed by the move
want_row '5 5000 10 10000 free_site'    # 5 of 10 cd_free'd
# The same sites, aggregated by function: 4000 objects of big_site.
awk '$5 == "big_site" { a += $3; b += $4 } END { exit !(a == 4000 && b == 65536000) }' "$rows" ||
    { cat "$rows"; fail "debug=1 big_site totals"; }
grep -Eq $'^#\t0x[0-9a-f]+\tbig_site\\+0x[0-9a-f]+\t+.*prog_heapprof\\.c:[0-9]+$' "$d1/heap1.txt" ||
    fail "debug=1: no big_site frame with file:line"
no_kit_frames "$d1/heap1.txt"
ok "debug=1 records"

# The user's finalizers on sampled objects still run (had the profiler's
# link replaced them, none would), and the objects leave the in-use counts
# once reclaimed. As below, a stale word can keep an object, finalizer and
# all, alive: every reclaimed object must have been finalized, and most of
# the ten must have been.
finalized=$(awk '$1 == "finalized" { print $2 }' "$tmp/r1.out")
reclaimed=$(awk '$1 == "reclaimed" { print $2 }' "$tmp/r1.out")
[[ -n $finalized && -n $reclaimed ]] && ((finalized >= 5 && finalized >= reclaimed)) ||
    { cat "$tmp/r1.out"; fail "user finalizers: $finalized of 10 ran, $reclaimed reclaimed"; }
python3 "$check" "$d1/heap4.txt" >"$d1/heap4.rows" || fail "heap4.txt format"
# Exactly the objects the collector reclaimed leave the in-use counts. The
# collector is conservative: a stale word that looks like an object's address
# (about half the runs here keep one of the ten) keeps it alive, and then it
# is rightly still in use; most must be gone.
((reclaimed >= 5)) || { cat "$tmp/r1.out"; fail "fin_site: $reclaimed of 10 reclaimed"; }
left=$((10 - reclaimed))
grep -qx "$left $((left * 2000)) 10 20000 fin_site" "$d1/heap4.rows" ||
    { cat "$d1/heap4.rows"; fail "fin_site: want $left in use ($reclaimed of 10 reclaimed)"; }
ok "user finalizers untouched; finalized objects reclaimed"

# The checker against the real thing: Go 1.19's own heap profile, debug=1.
mkdir -p "$tmp/goref"
cat >"$tmp/goref/main.go" <<'EOF'
package main

import (
	"os"
	"runtime"
	"runtime/pprof"
)

var keep [][]byte

//go:noinline
func bigSite() { keep = append(keep, make([]byte, 16384)) }

func main() {
	runtime.MemProfileRate = 1
	for i := 0; i < 100; i++ {
		bigSite()
	}
	runtime.GC()
	pprof.Lookup("heap").WriteTo(os.Stdout, 1)
}
EOF
(cd "$tmp/goref" && timeout -k 5 300 go run main.go >"$tmp/goref/out.txt" 2>"$tmp/goref/err") ||
    { cat "$tmp/goref/err" >&2; fail "building the Go reference program"; }
python3 "$check" "$tmp/goref/out.txt" >"$tmp/goref/rows" || fail "the checker rejects Go's own output"
grep -q '^100 1638400 100 1638400 main.bigSite$' "$tmp/goref/rows" || { cat "$tmp/goref/rows"; fail "Go reference rows"; }
ok "debug=1 checker accepts Go 1.19's output"

# ---- the default rate: statistics ------------------------------------------
rounds=20000
[[ -n $sanitize ]] && rounds=12000
d2=$tmp/r2
mkdir -p "$d2"
run_prog r2 "" files "$d2" "$rounds" 1000 100
pp -top -sample_index=alloc_space "$d2/heap1.pb.gz" >"$d2/as"
expect_pct "$d2/as" big_site 74 86 "default rate alloc_space"
expect_pct "$d2/as" small_site 14 26 "default rate alloc_space"
[[ $(first "$d2/as") == big_site ]] || { cat "$d2/as"; fail "default rate: big_site not first"; }
no_kit_frames "$d2/as"
# Objects: the other way round (2 of 16 KiB vs 8 of 1 KiB per round); a
# profile without the unsampling scale would show big_site at ~80% here.
pp -top -sample_index=alloc_objects "$d2/heap1.pb.gz" >"$d2/ao"
expect_pct "$d2/ao" big_site 14 26 "default rate alloc_objects"
expect_pct "$d2/ao" small_site 74 86 "default rate alloc_objects"
# Total: rounds x 40 KiB, within 12% (about 4 standard deviations).
total=$(sed -n 's/^Showing nodes accounting for .* of \([0-9.]*\)MB total$/\1/p' "$d2/as")
want=$(awk -v r="$rounds" 'BEGIN { print r * 40960 / 1048576 }')
within "$total" "$(awk -v w="$want" 'BEGIN { print w * 0.88 }')" "$(awk -v w="$want" 'BEGIN { print w * 1.12 }')" ||
    { cat "$d2/as"; fail "default rate: total $total MB, want $want MB +-12%"; }
pp -raw "$d2/heap1.pb.gz" >"$d2/raw"
grep -q '^PeriodType: space bytes$' "$d2/raw" && grep -q '^Period: 524288$' "$d2/raw" ||
    { head "$d2/raw"; fail "period"; }
grep -q 'bytes:\[16384\]' "$d2/raw" && grep -q 'bytes:\[1024\]' "$d2/raw" ||
    fail "no \"bytes\" label with the object size"
python3 "$check" "$d2/heap1.txt" >"$d2/rows" || fail "default rate: debug=1 format"
[[ $(head -n1 "$d2/rows") == 'rate 1048576 frames_per_pc exact' ]] || fail "heap/1048576"
ok "default rate: shares of bytes and objects, total, period, labels"

# ---- memprofilerate=0 ---------------------------------------------------------
d0=$tmp/r0
mkdir -p "$d0"
run_prog r0 memprofilerate=0 files "$d0" 2000 1000 100
pp -raw "$d0/heap1.pb.gz" >"$d0/raw"
awk '/^Samples:/ { s = 1; next } /^Locations/ { s = 0 } s && !/^alloc_objects/ { n++ } END { exit n != 0 }' \
    "$d0/raw" || { cat "$d0/raw"; fail "memprofilerate=0: samples"; }
head -n1 "$d0/heap1.txt" | grep -qx 'heap profile: 0: 0 \[0: 0\] @ heap/0' || fail "memprofilerate=0 text"
ok "memprofilerate=0: no samples"

# ---- CDEBUG=memprofile, bad values ------------------------------------------------
run_prog mp "memprofilerate=1,memprofile=$tmp/mem.pb.gz" files "$d0" 200 100 10
pp -top "$tmp/mem.pb.gz" >"$tmp/mem.top"
grep -q '^Type: alloc_space$' "$tmp/mem.top" && [[ $(first "$tmp/mem.top") == big_site ]] ||
    { cat "$tmp/mem.top"; fail "memprofile at exit"; }
run_prog mpbad "memprofile=$tmp/no/such/dir/mem.pb.gz,memprofilerate=-1,memprofilerate=1x" files "$d0" 20 10 1
grep -qx "cdebug: memprofile: cannot create $tmp/no/such/dir/mem.pb.gz: No such file or directory" "$tmp/mpbad.err" ||
    { cat "$tmp/mpbad.err"; fail "memprofile error line"; }
grep -qx 'cdebug: CDEBUG: bad value "-1" for memprofilerate ignored (want bytes from 0 (off) to 2147483647; 1 samples every allocation)' \
    "$tmp/mpbad.err" || { cat "$tmp/mpbad.err"; fail "memprofilerate=-1 warning"; }
[[ $(grep -c 'for memprofilerate ignored' "$tmp/mpbad.err") == 2 ]] || fail "memprofilerate=1x warning"
ok "memprofile=FILE at exit, bad values"

# ---- HTTP ---------------------------------------------------------------------
export CDEBUG=memprofilerate=1
start srv 'listening on' "$prog" serve 2000 1000 100
unset CDEBUG
url="http://127.0.0.1:$port/debug/pprof"
[[ $(fetch "$url/") == 200 ]] || fail "index"
grep -Eq "<tr><td>[1-9][0-9]*</td><td><a href='heap\\?debug=1'>heap</a></td></tr>" "$tmp/b" ||
    fail "index: heap with a count"
grep -q "<div class=profile-name>allocs: </div> A sampling of all past memory allocations</li>" "$tmp/b" ||
    fail "index: allocs description"
grep -q "<div class=profile-name>heap: </div> A sampling of memory allocations of live objects. You can specify the gc GET parameter to run GC before taking the heap sample.</li>" "$tmp/b" ||
    fail "index: heap description"
for p in heap allocs; do
    [[ $(fetch "$url/$p?debug=1") == 200 ]] || fail "$p?debug=1"
    python3 "$check" "$tmp/b" >"$tmp/$p.rows" || fail "$p?debug=1: format"
    grep -q ' big_site$' "$tmp/$p.rows" || fail "$p?debug=1: no big_site"
done
# The Go tutorial: allocs by bytes; heap snapshots compared with -base.
pp -alloc_space -top "$url/allocs" >"$tmp/h.as"
[[ $(first "$tmp/h.as") == big_site ]] || { cat "$tmp/h.as"; fail "HTTP allocs: big_site first"; }
expect_pct "$tmp/h.as" big_site 79 81 "HTTP allocs"
[[ $(fetch "$url/heap?gc=1") == 200 ]] || fail "heap?gc=1"
cp "$tmp/b" "$tmp/base.heap"
kill -USR2 "$pid"
for ((i = 0; i < 200; i++)); do grep -q '^grown$' "$tmp/srv.out" && break; sleep 0.05; done
grep -q '^grown$' "$tmp/srv.out" || fail "no grow step"
pp -top -base "$tmp/base.heap" "$url/heap?gc=1" >"$tmp/h.base"
[[ $(first "$tmp/h.base") == grow_site && $(flat "$tmp/h.base" grow_site) == 400kB ]] ||
    { cat "$tmp/h.base"; fail "HTTP -base: grow_site 400kB"; }
# ?seconds=N: Go's delta profile. Grow steps run all through the window
# (no timing assumption about when the server takes its first snapshot):
# the delta holds grow_site objects and nothing else of note.
(timeout -k 5 60 curl -sS -o "$tmp/delta.pb.gz" "$url/heap?seconds=3") &
cpid=$!
while kill -0 "$cpid" 2>/dev/null; do
    kill -USR2 "$pid"
    sleep 0.3
done
wait "$cpid" || fail "heap?seconds=3"
pp -top -sample_index=inuse_objects "$tmp/delta.pb.gz" >"$tmp/h.delta"
n=$(flat "$tmp/h.delta" grow_site)
[[ $(first "$tmp/h.delta") == grow_site && $n =~ ^[1-9][0-9]*$ ]] ||
    { cat "$tmp/h.delta"; fail "delta: grow_site objects"; }
grep -q '^Duration: 3' "$tmp/h.delta" || { cat "$tmp/h.delta"; fail "delta: duration"; }
stop srv "$pid"
ok "HTTP: index, debug=1, allocs, gc=1 and -base, seconds delta"

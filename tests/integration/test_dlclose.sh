#!/usr/bin/env bash
# Profiles across dlclose: code of a library that is unloaded while its
# frames sit in the profiles (prog_dlclose.c, two libraries built from
# dlclose_lib.c with the same layout, loaded one at a time so the loader
# puts the second where the first was), read by the real `go tool pprof`:
#   - a stale return address into an unloaded library at the stack
#     pointer, sampled at 1000 Hz (the CPU profiler reads the code before
#     a candidate return address): the program runs to the end and its
#     profile has its loop;
#   - many rounds of dlopen, CPU, malloc and cd_alloc kept past the
#     dlclose, a contended mutex waited on from inside the library,
#     dlclose, under every profile that keeps stacks (cpu over HTTP
#     mid-run and a whole-run cpuprofile at 1000 Hz, heap, allocs, mutex,
#     block, goroutine, and their debug=1 text, goroutine?debug=2), the
#     last profiles taken with the second library mapped where the first
#     was: nothing crashes
#     or hangs, every profile parses, and no frame of one library is named
#     after the other's function (a stack run from via_a holds no
#     dlclose_b_ function, and the other way round); the unloaded
#     library's frames keep its function names (the symbols are read from
#     the file, as it was mapped when the sample was taken), or, its file
#     removed, show the file and the address in it; one Mapping per
#     library and address.
# Under ASan/UBSan (CDEBUG_SANITIZE set) stderr must carry no report; under
# TSan neither (the mutex and block profiles are empty there).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http_lib.sh"
prog=$build/tests/prog_dlclose
built "$prog"
go_env
need cc build-essential
need curl curl
cd "$tmp"

for v in a b; do
    cc -std=gnu11 -O1 -g -fPIC -shared -fno-omit-frame-pointer -I"$src/include" \
        -DVARIANT=${v}_ -o "$tmp/libdlclose_$v.so" "$src/tests/integration/dlclose_lib.c"
done
liba=$tmp/libdlclose_a.so libb=$tmp/libdlclose_b.so
ok "libraries built"

# ---- a stale return address into an unloaded library ------------------------
st=0
timeout -k 5 60 "$prog" stale "$tmp" "$liba" >"$tmp/stale.out" 2>"$tmp/stale.err" || st=$?
check_sanitizer stale
if ((st == 77)); then
    ok "stale return address: not x86-64 (the leaf repair is x86-64 only), skipped"
else
    ((st == 0)) && grep -qx done "$tmp/stale.out" ||
        fail "prog_dlclose stale: exit $st (a stale return address into an unloaded library)"
    pp -top "$tmp/cpu.pb.gz" >"$tmp/stale.top"
    awk '$NF == "spin_stale" && $1 != "0" { f = 1 } END { exit !f }' "$tmp/stale.top" ||
        { cat "$tmp/stale.top"; fail "stale: no samples in spin_stale"; }
    ok "stale return address into an unloaded library: sampled at 1000 Hz, no fault"
fi

# ---- rounds ----------------------------------------------------------------------
rounds=300
[[ -n $sanitize ]] && rounds=150

# reused OUT: the loader put LIBB where LIBA had been at least once (else
# this test would test nothing).
reused() {
    awk '$1 == "round" { seen[$4] = seen[$4] $3 } END { for (b in seen) if (seen[b] ~ /a/ && seen[b] ~ /b/) f = 1; exit !f }' "$1" ||
        { head -n 20 "$1"; fail "the loader never put libdlclose_b.so where libdlclose_a.so was"; }
}

# stacks PROFILE NAME: pprof -traces of PROFILE; fails when a stack under
# via_a names a dlclose_b_ function or the other way round. Prints the
# frames seen under via_a and via_b to $tmp/NAME.seen ("a FUNC", "b FUNC").
stacks() {
    local prof=$1 name=$2
    pp -traces "$prof" >"$tmp/$name.traces"
    awk -v out="$tmp/$name.seen" '
        function flush(   i, v, w) {
            v = ""
            for (i = 1; i <= n; i++)
                if (f[i] == "via_a" || f[i] == "via_b") { v = substr(f[i], 5); break }
            if (v != "")
                for (w = 1; w < i; w++) {
                    print v, f[w] > out
                    if (f[w] ~ /^dlclose_[ab]_/ && substr(f[w], 9, 1) != v) { bad = bad "\n  " f[w] " under via_" v }
                }
            n = 0
        }
        /^-+\+-+$/ { flush(); next }
        /^ +[^ ]+ +[^ ]+$/ && !/:/ { n = 0; f[++n] = $2; next }
        /^ +[^ ]+$/ { f[++n] = $1; next }
        END { flush(); if (bad != "") { print "misattributed:" bad; exit 1 } }' "$tmp/$name.traces" ||
        { fail "$name: a frame named after the other library's function"; }
    touch "$tmp/$name.seen"
}

# named SEEN V FUNC: SEEN has FUNC (a dlclose_V_ function) under via_V.
named() {
    grep -qx "$2 dlclose_$2_$3" "$tmp/$1.seen" || {
        sort "$tmp/$1.seen" | uniq -c >&2
        fail "$1: no frame dlclose_$2_$3 under via_$2"
    }
}

# text_form FILE: a text form (heap?debug=1, goroutine?debug=1 and 2: one
# stack per paragraph) has no stack with via_a that names a dlclose_b_
# function, nor the other way round.
text_form() {
    awk 'BEGIN { RS = "" }
        { a = index($0, "via_a"); b = index($0, "via_b") }
        a && !b && /dlclose_b_/ { bad = bad "\n" $0 }
        b && !a && /dlclose_a_/ { bad = bad "\n" $0 }
        END { if (bad != "") { print "misattributed:" bad; exit 1 } }' "$1" ||
        { fail "${1##*/}: a frame named after the other library's function"; }
}

# profiles DIR: every profile of the running server into DIR.
profiles() {
    local d=$1 p code
    mkdir -p "$d"
    for p in heap allocs mutex block goroutine; do
        code=$(fetch "http://127.0.0.1:$port/debug/pprof/$p")
        [[ $code == 200 ]] || fail "$p: HTTP $code"
        cp "$tmp/b" "$d/$p.pb.gz"
    done
    for p in heap goroutine mutex block; do
        code=$(fetch "http://127.0.0.1:$port/debug/pprof/$p?debug=1")
        [[ $code == 200 ]] || fail "$p?debug=1: HTTP $code"
        cp "$tmp/b" "$d/$p.txt"
    done
    code=$(fetch "http://127.0.0.1:$port/debug/pprof/goroutine?debug=2")
    [[ $code == 200 ]] || fail "goroutine?debug=2: HTTP $code"
    cp "$tmp/b" "$d/goroutine2.txt"
}

# -- over HTTP, mid-run and after --
start serve '^port ' env CDEBUG=http=127.0.0.1:0,memprofilerate=1,mutexprofilefraction=1,blockprofilerate=1 \
    "$prog" serve "$liba" "$libb" "$rounds"
serve=$pid
curl -sS --max-time 30 -o "$tmp/cpu_mid.pb.gz" "http://127.0.0.1:$port/debug/pprof/profile?seconds=1" ||
    fail "cpu profile over HTTP mid-run"
profiles "$tmp/mid"
wait_line serve "$serve" "rounds done" 120
reused "$tmp/serve.out"
profiles "$tmp/end"
# The unloaded library's file gone from disk: its frames show the file
# and their address in it, still never the other library's names.
mv "$liba" "$liba.away"
mkdir -p "$tmp/gone"
for q in "" "?debug=1"; do
    code=$(fetch "http://127.0.0.1:$port/debug/pprof/heap$q")
    [[ $code == 200 ]] || fail "heap$q with the library's file gone: HTTP $code"
    cp "$tmp/b" "$tmp/gone/heap${q:+.txt}"
done
mv "$liba.away" "$liba"
stop serve "$serve"
grep -qx ok "$tmp/serve.out" || fail "prog_dlclose serve did not end cleanly"
ok "$rounds rounds of dlopen/dlclose under every profile over HTTP: no crash, no hang"

stacks "$tmp/cpu_mid.pb.gz" cpu_mid
for d in mid end; do
    for p in heap allocs mutex block goroutine; do
        stacks "$tmp/$d/$p.pb.gz" "${d}_$p"
    done
    for t in heap.txt goroutine.txt goroutine2.txt mutex.txt block.txt; do
        text_form "$tmp/$d/$t"
    done
done
ok "no frame named after the other library's function (cpu, heap, allocs, mutex, block, goroutine; the text forms)"
# Under TSan the lock functions forward untimed (runtime/pthread_locks.c):
# no mutex or block events.
held=(mutex block)
((tsan)) && held=()
for v in a b; do
    named end_heap $v fill
    named end_allocs $v fill
    for p in "${held[@]}"; do
        named "end_$p" $v take
    done
done
# The text form too: heap?debug=1's frames of the unloaded library.
awk 'BEGIN { RS = "" } index($0, "via_a") && /\tdlclose_a_fill\+0x/ { f = 1 } END { exit !f }' "$tmp/end/heap.txt" ||
    { head -n 40 "$tmp/end/heap.txt"; fail "heap?debug=1: no dlclose_a_fill frame under via_a"; }
ok "the unloaded library's frames keep its function names (heap, allocs${held:+, mutex, block}, heap?debug=1)"

stacks "$tmp/gone/heap" gone_heap
grep -qx 'a \[libdlclose_a.so\]' "$tmp/gone_heap.seen" ||
    { sort "$tmp/gone_heap.seen" | uniq -c >&2; fail "file gone: no [libdlclose_a.so] frame under via_a"; }
text_form "$tmp/gone/heap.txt"
awk 'BEGIN { RS = "" } index($0, "via_a") && /\tlibdlclose_a\.so\+0x[0-9a-f]+\n/ { f = 1 } END { exit !f }' \
    "$tmp/gone/heap.txt" || { head -n 40 "$tmp/gone/heap.txt"; fail "file gone: heap?debug=1 has no libdlclose_a.so+0x... frame"; }
ok "the unloaded library's file gone: [libdlclose_a.so] and libdlclose_a.so+0x..., not the other's names"

# One Mapping per place a library was loaded at, however many times: at
# most as many as the distinct addresses prog_dlclose printed for it.
for v in a b; do
    want=$(awk -v v=$v '$1 == "round" && $3 == v { print $4 }' "$tmp/serve.out" | sort -u | wc -l)
    pp -raw "$tmp/end/heap.pb.gz" >"$tmp/end_heap.raw"
    got=$(awk -v lib="/libdlclose_$v.so" '/^Mappings/ { on = 1; next } on && index($0, lib " ") { n++ } END { print n + 0 }' "$tmp/end_heap.raw")
    ((got >= 1 && got <= want)) || { sed -n '/^Mappings/,$p' "$tmp/end_heap.raw"; fail "heap: $got Mappings of libdlclose_$v.so, want 1 to $want"; }
done
ok "one Mapping per library and address, whatever the number of rounds"

# -- a whole-run CPU profile at 1000 Hz (a file, written at exit) --
start serve2 '^port ' env CDEBUG=http=127.0.0.1:0,cpuprofile="$tmp/cpu_run.pb.gz",cpuprofilerate=1000 \
    "$prog" serve "$liba" "$libb" "$rounds"
serve2=$pid
wait_line serve2 "$serve2" "rounds done" 120
reused "$tmp/serve2.out"
stop serve2 "$serve2"
stacks "$tmp/cpu_run.pb.gz" cpu_run
named cpu_run a spin
named cpu_run b spin
ok "whole-run CPU profile at 1000 Hz: parses, each library's spin under its own caller"
echo "ok"

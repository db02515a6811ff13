#!/usr/bin/env bash
# pprof's source views on cdebug's profiles, read by the real `go tool
# pprof` with the binaries where the profile says they are:
#   - -list, -disasm and -weblist (source lines with their instructions)
#     of a known function (and the web UI's source view, -http, once), in
#     the CPU profile and in the heap profile, for
#     code in the PIE executable (prog_srcview), in a shared library linked
#     by GNU ld and in one linked by lld (whose code segment does not start
#     on a page boundary);
#   - a library without symbols (the same source, stripped): its static
#     functions show the library and their address in it, never "?": in
#     the profiles (a Location without a function: pprof prints
#     "[libsrcview_strip.so]", and the address with -raw and -addresses),
#     and in the text forms (heap?debug=1, goroutine?debug=1 and 2:
#     "libsrcview_strip.so+0xADDR"), ADDR lying in the function that the
#     unstripped copy names.
# Under ASan/UBSan (CDEBUG_SANITIZE set) stderr must carry no report.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pprof_lib.sh"
prog=$build/tests/prog_srcview
built "$prog"
go_env
need cc build-essential
need strip binutils
need ld.lld lld
need curl curl
# pprof guesses a trim path from the base name of its working directory
# (build/tests under CTest: "/tests/" is in every source path here, which
# it would strip): run it from the scratch directory.
cd "$tmp"

# ---- the libraries -----------------------------------------------------------
lib_src=$src/tests/integration/srcview_lib.c
exe_src=$src/tests/integration/prog_srcview.c
cflags=(-std=gnu11 -O1 -g -fPIC -shared -fno-omit-frame-pointer -I"$src/include")
cc "${cflags[@]}" -DVARIANT=bfd_ -o "$tmp/libsrcview_bfd.so" "$lib_src"
cc "${cflags[@]}" -DVARIANT=lld_ -fuse-ld=lld -o "$tmp/libsrcview_lld.so" "$lib_src"
cc "${cflags[@]}" -DVARIANT=strip_ -o "$tmp/libsrcview_strip.full.so" "$lib_src"
strip --strip-all -o "$tmp/libsrcview_strip.so" "$tmp/libsrcview_strip.full.so"
# Through a file: `readelf | grep -q` under pipefail would fail (and `!`
# pass) when grep exits at its match before readelf has written the rest.
readelf -SW "$tmp/libsrcview_strip.so" >"$tmp/strip.sections"
! grep -q '\.symtab' "$tmp/strip.sections" || fail "strip left a symbol table"
# Where lld put the code segment (informative: the case the mapping's start
# is moved for, see docs/profiling.md).
text=$(readelf -lW "$tmp/libsrcview_lld.so" | awk '$1 == "LOAD" && $(NF-1) == "E" { print $3; exit }')
ok "libraries built (lld's code segment at $text)"

CDEBUG=memprofilerate=1 run 0 "$prog" "$tmp" bfd="$tmp/libsrcview_bfd.so" \
    lld="$tmp/libsrcview_lld.so" strip="$tmp/libsrcview_strip.so"
grep -qx done "$tmp/out" || fail "prog_srcview did not finish"

views "$tmp/cpu.pb.gz" main_burn "$exe_src" "srcview hot line of the executable"
views "$tmp/heap.pb.gz" main_alloc "$exe_src" "srcview allocation of the executable"
for v in bfd lld; do
    views "$tmp/cpu.pb.gz" "srcview_${v}_burn" "$lib_src" "srcview hot line of the library"
    views "$tmp/heap.pb.gz" "srcview_${v}_alloc" "$lib_src" "srcview allocation of the library"
done

# The web UI's source view (-http, /ui/source): the same page.
port=$(free_port)
go tool pprof -no_browser -http="127.0.0.1:$port" "$tmp/cpu.pb.gz" >"$tmp/ui.out" 2>"$tmp/ui.err" &
pids+=($!)
for ((i = 0; i < 300; i++)); do
    curl -sf -o "$tmp/ui.html" "http://127.0.0.1:$port/ui/source?f=%5Emain_burn%24" && break
    sleep 0.1
done
[[ -s $tmp/ui.html ]] || { cat "$tmp/ui.err"; fail "pprof -http: no source page"; }
n=$(line "$exe_src" "srcview hot line of the executable")
web_ok "$tmp/ui.html" "srcview hot line of the executable" "prog_srcview.c:$n" ||
    fail "pprof -http: the source view has no source with assembly"
kill_all
ok "pprof -http: the source view of main_burn"

# ---- the stripped library ----------------------------------------------------
# range FUNC: "START END" of FUNC (decimal) in the unstripped copy (same
# layout as the stripped one).
range() {
    local a size
    read -r a size < <(nm -S "$tmp/libsrcview_strip.full.so" | awk -v f="$1" '$4 == f { print $1, $2; exit }')
    [[ -n $a && -n $size ]] && echo "$((16#$a)) $((16#$a + 16#$size))"
}
# in_range HEX FUNC: HEX (0x...) lies in FUNC.
in_range() {
    local a r
    a=$(($1))
    read -r -a r < <(range "$2")
    ((${#r[@]} == 2 && a >= r[0] && a < r[1]))
}

lib=libsrcview_strip.so
# stripped PROFILE FUNC ENTRY: the profile names no frame "?"; FUNC's
# samples are on Locations of the library's mapping without a function,
# at addresses inside FUNC; pprof shows them as [lib] under ENTRY (named:
# the library's dynamic symbol table has it).
stripped() {
    local prof=$1 func=$2 entry=$3 what="${1##*/} $2 (stripped)" id addrs a hit=0
    gopp "$tmp/raw" -raw "$prof" || fail "$what: -raw failed"
    ! grep -Eq '^ +[0-9]+: 0x[0-9a-f]+ M=[0-9]+ .*(^| )\? ' "$tmp/raw" ||
        { grep -E ' \? ' "$tmp/raw" | head; fail "$what: -raw: a frame named ?"; }
    id=$(awk -v lib="/$lib" '/^Mappings/ { on = 1; next } on && index($0, lib " ") { sub(":", "", $1); print $1; exit }' "$tmp/raw")
    [[ -n $id ]] || { sed -n '/^Mappings/,$p' "$tmp/raw"; fail "$what: no mapping of $lib"; }
    addrs=$(awk -v m="M=$id" '/^Locations/ { on = 1; next } /^Mappings/ { on = 0 }
        on && $3 == m && NF == 3 { print $2 }' "$tmp/raw")
    for a in $addrs; do in_range "$a" "$func" && hit=1; done
    ((hit)) || { sed -n '/^Locations/,$p' "$tmp/raw"; fail "$what: no unnamed location of M=$id in $func ($(range "$func"))"; }
    gopp "$tmp/traces" -traces "$prof" || fail "$what: -traces failed"
    awk -v lib="[$lib]" -v e="$entry" '$NF == lib { x = 1; next } x && $NF == e { found = 1 } { x = 0 }
        END { exit !found }' "$tmp/traces" || { head -n 60 "$tmp/traces"; fail "$what: no trace $lib then $entry"; }
    ok "$what: [$lib] (an address inside $func), under $entry"
}
stripped "$tmp/cpu.pb.gz" srcview_strip_burn srcview_strip_burn_entry
stripped "$tmp/heap.pb.gz" srcview_strip_alloc srcview_strip_alloc_entry
gopp "$tmp/top" -top "$tmp/cpu.pb.gz" || fail "-top failed"
# A flat time above zero on [lib]'s line, in the unit pprof picked:
# "294ms" while the profile's total is under a second, "0.30s" from then.
v=$(flat "$tmp/top" "[$lib]")
[[ $v =~ ^[0-9.]+[mun]?s$ && ${v//[^1-9]/} ]] || { cat "$tmp/top"; fail "-top: no flat time in [$lib] ('$v')"; }

# text NAME FUNC PATTERN: the text form NAME shows FUNC's frames as
# lib+0xADDR (PATTERN: the line's shape, ADDR its first group), ADDR in
# FUNC; and no frame as "?".
text() {
    local f=$tmp/$1 func=$2 re=$3 a hit=0
    for a in $(sed -nE "s/$re/\\1/p" "$f"); do in_range "$a" "$func" && hit=1; done
    ((hit)) || { cat "$f"; fail "$1: no $lib+0x... frame in $func"; }
    ! grep -Eq '^(#[[:blank:]]+0x[0-9a-f]+[[:blank:]]+\?|\?\(\.\.\.\))' "$f" || { cat "$f"; fail "$1: a frame named ?"; }
    ok "$1: $lib+0x... inside $func"
}
text heap.txt srcview_strip_alloc "^#[[:blank:]]+0x[0-9a-f]+[[:blank:]]+$lib\\+(0x[0-9a-f]+)\$"
text goroutine1.txt srcview_strip_park "^#[[:blank:]]+0x[0-9a-f]+[[:blank:]]+$lib\\+(0x[0-9a-f]+)\$"
text goroutine2.txt srcview_strip_park "^$lib\\+(0x[0-9a-f]+)\\(\\.\\.\\.\\)\$"
# The unstripped libraries' frames keep their names, files and lines.
grep -Eq "^#[[:blank:]]+0x[0-9a-f]+[[:blank:]]+srcview_bfd_alloc\\+0x[0-9a-f]+[[:blank:]]+$lib_src:$(line "$lib_src" "srcview allocation of the library")\$" \
    "$tmp/heap.txt" || { cat "$tmp/heap.txt"; fail "heap.txt: srcview_bfd_alloc's frame"; }
ok "heap.txt: named frames keep function+offset, file:line"
echo "ok"

#!/usr/bin/env bash
# malloc in the heap and allocs profiles (runtime/malloc.c), read by the
# real `go tool pprof` from CDEBUG=memprofile's file:
#
#   - memprofilerate=1: exact in-use and allocated bytes and objects of
#     every malloc-family site of prog_malloc (malloc, calloc, realloc,
#     posix_memalign, aligned_alloc, memalign, valloc, pvalloc, a
#     constructor's mallocs before main), the calling function on top,
#     never the interposer's frames; the allocator label splits malloc from
#     gc (-tagfocus, -tags); debug=1 still Go's text;
#   - the default rate with 800 MB malloc'd: byte and object shares within
#     6 points, the total within 12% (Go's unsampling);
#   - memprofilerate=0: no malloc sample;
#   - a plain C program that never heard of cdebug, with LD_PRELOAD: its
#     constructor mallocs and looks a symbol up before main;
#   - jemalloc (Debian's libjemalloc2) as the next allocator: it serves the
#     blocks (its own counters say so), the profile is the same, pvalloc
#     (which jemalloc lacks) is made from its posix_memalign;
#   - threads and fork while sampling (every allocation, then the default);
#   - free of a pointer the allocator never returned: the same report and
#     status as without cdebug (cdebug's crash report follows glibc's).
#   - /debug/vars' malloc object and /metrics' cdebug_malloc_* for glibc,
#     jemalloc and (when installed) tcmalloc: the allocator named, HeapAlloc
#     up by the 64 MiB kept, Go's relations between the fields, promtool.
# A build without the interposer (CDEBUG_MALLOC=OFF, any sanitizer build)
# skips (77): there is no malloc of cdebug's to test.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/pprof_lib.sh"
prog=$build/tests/prog_malloc
lib=$build/libcdebug.so
built "$prog"
if ! nm -D --defined-only "$lib" | awk '$3 == "malloc" { f = 1 } END { exit !f }'; then
    echo "SKIP: $lib does not define malloc (CDEBUG_MALLOC=OFF, or a sanitizer build)"
    exit 77
fi
go_env

pct() { awk -v f="$2" '$NF == f && NF == 6 { sub(/%$/, "", $2); print $2; exit }' "$1"; }
within() { awk -v v="$1" -v lo="$2" -v hi="$3" 'BEGIN { exit !(v != "" && v + 0 >= lo && v + 0 <= hi) }'; }
run_prog() { # NAME CDEBUG ARGS...: prog_malloc ARGS, stdout/err in $tmp/NAME.out/.err
    local name=$1 cdebug=$2
    shift 2
    CDEBUG=$cdebug timeout -k 5 120 "$prog" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || {
        show "$tmp/$name.err"
        fail "$name: prog_malloc $* failed"
    }
}

# ---- memprofilerate=1: exact ------------------------------------------------
d=$tmp/r1
mkdir -p "$d"
run_prog r1 "memprofilerate=1,memprofile=$d/mem.pb.gz" sites gc "text=$d/heap.txt"
grep -qx 'moved 1' "$tmp/r1.out" || fail "realloc_site: the block did not move"
pp -top -nodefraction=0 -unit=B -sample_index=alloc_space "$d/mem.pb.gz" >"$d/as"
want_flat "$d/as" malloc_site 1000000B "alloc_space"   # 1000 x 1000
want_flat "$d/as" calloc_site 400000B "alloc_space"    # 100 x 10 x 400
want_flat "$d/as" realloc_site 200100B "alloc_space"   # 100, then 200000 (moved)
want_flat "$d/as" align_site 521000B "alloc_space"     # 50 x 2048 + 50 x 8192 + 3 x 3000
want_flat "$d/as" ctor_site 50000B "alloc_space"       # 10 x 5000, before main
want_flat "$d/as" gc_site 70000B "alloc_space"         # 10 x cd_alloc(7000)
pp -top -nodefraction=0 -unit=B -sample_index=inuse_space "$d/mem.pb.gz" >"$d/is"
want_flat "$d/is" malloc_site 400000B "inuse_space"
want_flat "$d/is" calloc_site 400000B "inuse_space"
want_flat "$d/is" realloc_site 200000B "inuse_space"
want_flat "$d/is" align_site 256000B "inuse_space"     # 25 x 2048 + 25 x 8192
want_flat "$d/is" ctor_site 50000B "inuse_space"
want_flat "$d/is" gc_site 70000B "inuse_space"
pp -top -nodefraction=0 -sample_index=alloc_objects "$d/mem.pb.gz" >"$d/ao"
want_flat "$d/ao" malloc_site 1000 "alloc_objects"
want_flat "$d/ao" realloc_site 2 "alloc_objects"
want_flat "$d/ao" align_site 103 "alloc_objects"
pp -top -nodefraction=0 -sample_index=inuse_objects "$d/mem.pb.gz" >"$d/io"
want_flat "$d/io" malloc_site 400 "inuse_objects"
want_flat "$d/io" calloc_site 100 "inuse_objects"
want_flat "$d/io" realloc_site 1 "inuse_objects"
want_flat "$d/io" align_site 50 "inuse_objects"
pp -traces "$d/mem.pb.gz" >"$d/traces"
! grep -Eq 'cd__malloc_|cd__mprof_' "$d/traces" || fail "the interposer's frames are in a stack"
# Rendering a profile mallocs megabytes (libdw, zlib): the tool's, not sampled.
! grep -Eq 'cd__profile_render|cd__pprof_encode' "$d/traces" || fail "a profile render's mallocs are sampled"
grep -q 'main' "$d/traces" || fail "no stack reaches main"
ok "memprofilerate=1: every malloc site exact, in use and allocated"

# The allocator label: -tagfocus splits, -tags lists both values.
pp -top -nodefraction=0 -unit=B -sample_index=inuse_space -tagfocus=allocator=malloc "$d/mem.pb.gz" >"$d/tm"
want_flat "$d/tm" malloc_site 400000B "-tagfocus=allocator=malloc"
not_in_top "$d/tm" gc_site "-tagfocus=allocator=malloc"
pp -top -nodefraction=0 -unit=B -sample_index=inuse_space -tagfocus=allocator=gc "$d/mem.pb.gz" >"$d/tg"
want_flat "$d/tg" gc_site 70000B "-tagfocus=allocator=gc"
not_in_top "$d/tg" malloc_site "-tagfocus=allocator=gc"
pp -tags "$d/mem.pb.gz" >"$d/tags"
grep -Eq '^ *allocator: Total' "$d/tags" && grep -Eq '\(.*\): gc$|: gc$' "$d/tags" &&
    grep -Eq ': malloc$' "$d/tags" || { cat "$d/tags"; fail "-tags: no allocator gc/malloc"; }
ok "allocator label: -tagfocus=allocator=malloc|gc, -tags"

# debug=1 stays Go's text; the malloc buckets are records like any other.
python3 "$src/tests/integration/heapprof_text.py" "$d/heap.txt" >"$d/rows" ||
    fail "heap debug=1: not Go's format"
grep -qx '400 400000 1000 1000000 malloc_site' "$d/rows" || { cat "$d/rows"; fail "debug=1: malloc_site"; }
grep -qx '10 50000 10 50000 ctor_site' "$d/rows" || { cat "$d/rows"; fail "debug=1: ctor_site"; }
grep -qx '10 70000 10 70000 gc_site' "$d/rows" || { cat "$d/rows"; fail "debug=1: gc_site"; }
ok "debug=1: Go's text with the malloc records"

# ---- the default rate: unsampled shares and total ---------------------------------
mb=800
[[ -n $sanitize ]] && mb=200
run_prog vol "memprofile=$tmp/vol.pb.gz" volume "$mb"
pp -top -nodefraction=0 -unit=B -sample_index=alloc_space "$tmp/vol.pb.gz" >"$tmp/vs"
pp -top -nodefraction=0 -sample_index=alloc_objects "$tmp/vol.pb.gz" >"$tmp/vo"
within "$(pct "$tmp/vs" big_site)" 74 86 || { cat "$tmp/vs"; fail "default rate: big_site bytes share"; }
within "$(pct "$tmp/vs" small_site)" 14 26 || { cat "$tmp/vs"; fail "default rate: small_site bytes share"; }
within "$(pct "$tmp/vo" big_site)" 14 26 || { cat "$tmp/vo"; fail "default rate: big_site objects share"; }
within "$(pct "$tmp/vo" small_site)" 74 86 || { cat "$tmp/vo"; fail "default rate: small_site objects share"; }
total=$(($(flat "$tmp/vs" big_site | tr -d B) + $(flat "$tmp/vs" small_site | tr -d B)))
want_total=$((mb * 1048576))
within "$total" "$((want_total * 88 / 100))" "$((want_total * 112 / 100))" ||
    { cat "$tmp/vs"; fail "default rate: $total bytes estimated, want $want_total within 12%"; }
ok "default rate: shares within 6 points, total $total of $want_total bytes"

# ---- memprofilerate=0: nothing ----------------------------------------------------
run_prog r0 "memprofilerate=0,memprofile=$tmp/r0.pb.gz" sites
pp -top -nodefraction=0 -sample_index=alloc_space "$tmp/r0.pb.gz" >"$tmp/r0s"
not_in_top "$tmp/r0s" malloc_site "memprofilerate=0"
ok "memprofilerate=0: no malloc sample"

# ---- a plain C program, preloaded ----------------------------------------------------
cat >"$tmp/plain.c" <<'EOF'
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
void *keep[64]; /* global: the compiler must not drop the allocations */
int n;
__attribute__((noipa)) static void plain_ctor_site(void)
{
    for (int i = 0; i < 8; i++)
        keep[n++] = malloc(3000);
}
__attribute__((constructor(101))) static void early(void)
{
    plain_ctor_site();
    if (dlsym(RTLD_NEXT, "no_such_symbol_here") == NULL)
        (void)dlerror();
}
__attribute__((noipa)) static void plain_site(void)
{
    for (int i = 0; i < 20; i++)
        keep[n++] = calloc(1, 6000);
}
int main(void)
{
    plain_site();
    puts(dlerror() == NULL ? "plain done" : "dlerror left");
    return 0;
}
EOF
cc -O1 -g -fno-omit-frame-pointer -o "$tmp/plain" "$tmp/plain.c" || fail "compiling plain.c"
# env after timeout: timeout itself must not be preloaded (it would write the
# profile too, at its own exit).
timeout 60 env LD_PRELOAD="$lib" CDEBUG="memprofilerate=1,memprofile=$tmp/plain.pb.gz" "$tmp/plain" \
    >"$tmp/plain.out" 2>"$tmp/plain.err" || fail "plain C program under LD_PRELOAD failed"
grep -qx 'plain done' "$tmp/plain.out" || fail "plain: $(cat "$tmp/plain.out")"
pp -top -nodefraction=0 -unit=B -sample_index=inuse_space "$tmp/plain.pb.gz" >"$tmp/ps"
want_flat "$tmp/ps" plain_site 120000B "plain program"
want_flat "$tmp/ps" plain_ctor_site 24000B "plain program, constructor"
ok "a plain C program under LD_PRELOAD: its sites, constructor included"

# ---- jemalloc as the next allocator ----------------------------------------------------
jemalloc=
for f in /usr/lib/x86_64-linux-gnu/libjemalloc.so.2 /usr/lib/aarch64-linux-gnu/libjemalloc.so.2 \
    /usr/lib64/libjemalloc.so.2 /usr/lib/libjemalloc.so.2; do
    [[ -e $f ]] && { jemalloc=$f; break; }
done
[[ -n $jemalloc ]] || fail "libjemalloc.so.2 is not installed (Debian libjemalloc2: scripts/bootstrap test)"
# cdebug first, jemalloc next: cdebug's malloc is found first and forwards to jemalloc's.
d=$tmp/je
mkdir -p "$d"
timeout 120 env LD_PRELOAD="$lib $jemalloc" CDEBUG="memprofilerate=1,memprofile=$d/mem.pb.gz" "$prog" jemalloc \
    >"$tmp/je.out" 2>"$tmp/je.err" || { show "$tmp/je.err"; show "$tmp/je.out"; fail "prog_malloc jemalloc"; }
grep -q '^jemalloc allocated ' "$tmp/je.out" || fail "jemalloc did not serve the blocks"
pp -top -nodefraction=0 -unit=B -sample_index=inuse_space "$d/mem.pb.gz" >"$d/is"
want_flat "$d/is" malloc_site 400000B "jemalloc inuse_space"
want_flat "$d/is" align_site 256000B "jemalloc inuse_space"
want_flat "$d/is" realloc_site 200000B "jemalloc inuse_space"
pp -top -nodefraction=0 -unit=B -sample_index=alloc_space "$d/mem.pb.gz" >"$d/as"
want_flat "$d/as" align_site 521000B "jemalloc alloc_space (pvalloc included)"
ok "jemalloc next: its blocks, the same profile, pvalloc from its posix_memalign"

# ---- /debug/vars and /metrics: the malloc heap's figures -------------------------------------
need jq jq
# vars_check NAME ALLOCATOR [ENV...]: prog_malloc vars in $tmp/NAME, then the
# figures: the allocator named, HeapAlloc up by the 64 MiB kept, the Go
# relations between the fields, the same numbers in /metrics.
vars_check() {
    local name=$1 want=$2 dir=$tmp/$1
    shift 2
    mkdir -p "$dir"
    (cd "$dir" && timeout 60 env "$@" "$prog" vars >"$tmp/$name.out" 2>"$tmp/$name.err") ||
        { show "$tmp/$name.err"; fail "$name: prog_malloc vars failed"; }
    local a1 a2
    [[ $(jq -r .malloc.Allocator "$dir/vars2.json") == "$want" ]] ||
        fail "$name: malloc.Allocator is $(jq -c .malloc "$dir/vars2.json"), want $want"
    a1=$(jq .malloc.HeapAlloc "$dir/vars1.json")
    a2=$(jq .malloc.HeapAlloc "$dir/vars2.json")
    # Within a few MiB: an allocator counts blocks in its thread caches as
    # allocated, and empties them when it likes.
    ((a2 - a1 >= 60 * 1048576 && a2 - a1 < 72 * 1048576)) ||
        fail "$name: malloc.HeapAlloc went from $a1 to $a2 after 64 MiB kept"
    jq -e '.malloc | .HeapSys >= .HeapInuse and .HeapInuse >= .HeapAlloc and
        .HeapSys == .HeapInuse + .HeapIdle' "$dir/vars2.json" >/dev/null ||
        fail "$name: malloc fields inconsistent: $(jq -c .malloc "$dir/vars2.json")"
    grep -qx "cdebug_malloc_info{allocator=\"$want\"} 1" "$dir/metrics2.txt" ||
        fail "$name: no cdebug_malloc_info for $want in /metrics"
    local m2
    m2=$(awk '$1 == "cdebug_malloc_heap_alloc_bytes" { print $2 }' "$dir/metrics2.txt")
    ((m2 - a1 >= 60 * 1048576)) || fail "$name: cdebug_malloc_heap_alloc_bytes is $m2"
    if command -v promtool >/dev/null; then
        promtool check metrics <"$dir/metrics2.txt" >"$tmp/$name.prom" 2>&1 ||
            { cat "$tmp/$name.prom" >&2; fail "$name: promtool check metrics"; }
    fi
    ok "$name: malloc var and metrics ($want): HeapAlloc $a1 -> $a2"
}
vars_check vars_glibc glibc
vars_check vars_jemalloc jemalloc LD_PRELOAD="$lib $jemalloc"
jq -e '.malloc.HeapReleased >= 0' "$tmp/vars_jemalloc/vars2.json" >/dev/null ||
    fail "jemalloc: no malloc.HeapReleased"
# tcmalloc (gperftools, a benchmark package: scripts/bootstrap bench) when
# installed.
tcmalloc=
for f in /usr/lib/x86_64-linux-gnu/libtcmalloc.so.4 /usr/lib/aarch64-linux-gnu/libtcmalloc.so.4; do
    [[ -e $f ]] && { tcmalloc=$f; break; }
done
if [[ -n $tcmalloc ]]; then
    vars_check vars_tcmalloc tcmalloc LD_PRELOAD="$lib $tcmalloc"
else
    ok "tcmalloc not installed: its figures not checked"
fi

# ---- threads and fork while sampling -------------------------------------------------------
secs=3
[[ -n $sanitize ]] && secs=2
for rate in 1 ""; do
    run_prog thr "${rate:+memprofilerate=$rate}" threads "$secs"
    grep -Eq '^threads ok forks=[1-9][0-9]* renders=[0-9]+$' "$tmp/thr.out" ||
        { cat "$tmp/thr.out"; fail "threads (rate ${rate:-default})"; }
    ok "threads and fork, rate ${rate:-default}: $(cat "$tmp/thr.out")"
done

# ---- free of a pointer the allocator never returned ------------------------------------------
cat >"$tmp/bad.c" <<'EOF'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static void *many[50000];
static void *volatile sink;
int main(int argc, char **argv)
{
    /* At memprofilerate=1, most of the sampler's filter is in use: the
     * bad pointer takes the slow path. */
    for (int i = 0; i < 50000; i++)
        many[i] = malloc(32);
    char local[64];
    char *p = malloc(64);
    if (argc != 2)
        return 2;
    if (strcmp(argv[1], "interior") == 0)
        free(p + 16);
    else if (strcmp(argv[1], "stack") == 0)
        free(sink = local);
    else if (strcmp(argv[1], "double") == 0) {
        free(p);
        free(p);
    }
    puts("survived");
    return 0;
}
EOF
cc -O1 -g -o "$tmp/bad" "$tmp/bad.c" || fail "compiling bad.c"
for kind in interior stack double; do
    st0=0 st1=0
    timeout 30 "$tmp/bad" "$kind" >"$tmp/bad0.out" 2>"$tmp/bad0.txt" || st0=$?
    # CDTRACEBACK=crash: cdebug's crash report (docs/crash.md) follows
    # glibc's and the abort is raised again, so the status is comparable.
    timeout 30 env LD_PRELOAD="$lib" CDEBUG=memprofilerate=1 CDTRACEBACK=crash "$tmp/bad" "$kind" \
        >"$tmp/bad1.out" 2>"$tmp/bad1.txt" || st1=$?
    ((st0 == st1)) || fail "free ($kind): exit $st1 with cdebug, $st0 without"
    head -c "$(stat -c %s "$tmp/bad0.txt")" "$tmp/bad1.txt" | cmp -s "$tmp/bad0.txt" - ||
        { show "$tmp/bad0.txt"; show "$tmp/bad1.txt"; fail "free ($kind): another report with cdebug"; }
    ok "free of a bad pointer ($kind): exit $st1, '$(head -n1 "$tmp/bad1.txt")', as without cdebug"
done

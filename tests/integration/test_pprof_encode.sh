#!/usr/bin/env bash
# The profile.proto encoder (prof/pprof.c) read by the real `go tool pprof`:
# function names, files and lines embedded by in-process symbolization (no
# binary given to pprof), values and their shares, merged samples, labels
# (-tagfocus), the four heap sample types with the default one, and the
# mapping's build id.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prog=$build/tests/prog_pprof_encode
go_env

"$prog" cpu "$tmp/cpu.pb.gz"
[[ $(head -c2 "$tmp/cpu.pb.gz" | od -An -tx1 | tr -d ' ') == 1f8b ]] || fail "not gzip"

# Renamed copy of the file: pprof must not need the binary to name functions.
pp -top "$tmp/cpu.pb.gz" >"$tmp/top"
grep -Eq '^ +700ms 70\.00% +70\.00% +700ms 70\.00%  hot_a$' "$tmp/top" || { cat "$tmp/top"; fail "hot_a 70%"; }
grep -Eq '^ +300ms 30\.00% +100% +300ms 30\.00%  hot_b$' "$tmp/top" || { cat "$tmp/top"; fail "hot_b 30%"; }
grep -Eq '^ +0 +0% +100% +1000ms +100%  caller_main$' "$tmp/top" || { cat "$tmp/top"; fail "caller_main cum"; }
grep -q '^Type: cpu$' "$tmp/top" || fail "type"
grep -q '^Duration: 1s, Total samples = 1000ms' "$tmp/top" || fail "duration"

# -raw: 100 samples merged into 2, file:line symbolization, the build id.
pp -raw "$tmp/cpu.pb.gz" >"$tmp/raw"
grep -Eq '^ +70 +700000000: 1 2 $' "$tmp/raw" || { cat "$tmp/raw"; fail "merged sample of 70"; }
grep -Eq 'hot_a .*prog_pprof_encode\.c:2[0-9] ' "$tmp/raw" || { cat "$tmp/raw"; fail "hot_a file:line"; }
id=$(readelf -n "$prog" | awk '/Build ID/ {print $3}')
grep -q "prog_pprof_encode $id \[FN\]\[FL\]\[LN\]" "$tmp/raw" || { cat "$tmp/raw"; fail "mapping with build id $id"; }

# Labels: the hot_b samples carry task=search.
pp -top -tagfocus=task=search "$tmp/cpu.pb.gz" >"$tmp/tag"
grep -Eq '300ms 30\.00%.*hot_b$' "$tmp/tag" || { cat "$tmp/tag"; fail "tagfocus keeps hot_b"; }
! grep -q 'hot_a' "$tmp/tag" || fail "tagfocus drops hot_a"

# Heap: inuse_space by default, the other three on request.
"$prog" heap "$tmp/heap.pb.gz"
pp -top "$tmp/heap.pb.gz" >"$tmp/heap"
grep -q '^Type: inuse_space$' "$tmp/heap" || { cat "$tmp/heap"; fail "default type"; }
grep -Eq '^ +5MB +100%.*hot_a$' "$tmp/heap" || { cat "$tmp/heap"; fail "inuse_space"; }
pp -top -sample_index=alloc_objects "$tmp/heap.pb.gz" >"$tmp/ao"
grep -Eq '^ +100 90\.91%.*hot_b$' "$tmp/ao" || { cat "$tmp/ao"; fail "alloc_objects"; }
pp -top -sample_index=alloc_space "$tmp/heap.pb.gz" >"$tmp/as"
grep -Eq '^ +10MB 90\.91%.*hot_a$' "$tmp/as" || { cat "$tmp/as"; fail "alloc_space"; }
echo "ok"

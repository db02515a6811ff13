#!/usr/bin/env bash
# Every thread of the process in the CPU profile (prog_threads.c, a plain C
# program), read by the real `go tool pprof`:
#   - threads made with plain pthread_create are sampled with their stacks,
#     and every sample carries thread=NAME (pthread_setname_np's name, or
#     the program's): -tagfocus=thread=burner keeps burn_named only;
#   - a thread cdebug's pthread_create did not see (made by glibc's own,
#     looked up in libc.so.6) is found in /proc/self/task and sampled (its
#     function only: its stack bounds are unknown);
#   - threads that end by return, pthread_exit and cancellation leave the
#     registry (the goroutine dump lists them while they run, not after);
#   - libmicrohttpd's thread and bdwgc's marker threads appear in a live
#     /debug/pprof/profile under load (wrk), and the threadcreate profile
#     holds the thread libmicrohttpd created (its creator in its library).
# Under ASan the sanitizer's interceptor comes first and calls on to
# libcdebug's definition: the same checks apply.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prog="$build/tests/prog_threads"
built "$prog"
go_env

# cum FILE FUNC: the cum value of FUNC in a `pprof -top` listing, in ms
# (0 if absent).
cum_ms() {
    awk -v f="$2" '$NF == f {
        v = $4; u = v; sub(/[0-9.]+/, "", u); sub(/[a-z]+$/, "", v)
        print (u == "s" ? v * 1000 : v); found = 1 }
        END { if (!found) print 0 }' "$1"
}

# ---- 1. the program's own threads, named -------------------------------------
run 0 env CDEBUG="cpuprofile=$tmp/burn.pb.gz,cpuprofilerate=1000" "$prog" burn 300
pp -top "$tmp/burn.pb.gz" >"$tmp/burn.top"
for f in burn_named burn_unnamed named_main unnamed_main; do
    (($(cum_ms "$tmp/burn.top" $f | cut -d. -f1) >= 150)) ||
        { cat "$tmp/burn.top"; fail "burn: $f has under 150 ms of 300"; }
done
pp -tags "$tmp/burn.pb.gz" >"$tmp/burn.tags"
grep -Eq '^ *thread: ' "$tmp/burn.tags" && grep -q ': burner$' "$tmp/burn.tags" ||
    { cat "$tmp/burn.tags"; fail "burn: no thread=burner label"; }
pp -top -tagfocus=thread=burner "$tmp/burn.pb.gz" >"$tmp/burner.top"
grep -qw burn_named "$tmp/burner.top" && ! grep -qw burn_unnamed "$tmp/burner.top" ||
    { cat "$tmp/burner.top"; fail "-tagfocus=thread=burner: want burn_named only"; }
ok "plain pthreads sampled with their stacks and thread=NAME"

run 0 env CDEBUG="cpuprofile=$tmp/exits.pb.gz" "$prog" exits 30
grep -qx ok "$tmp/out" || { show "$tmp/out"; fail "exits: $(head -n1 "$tmp/out")"; }
ok "threads that return, pthread_exit or are cancelled leave the registry"

# ---- 2. a thread found in /proc/self/task ------------------------------------
run 0 env CDEBUG="cpuprofile=$tmp/hidden.pb.gz,cpuprofilerate=1000" "$prog" hidden 1500
pp -top -tagfocus=thread=hidden "$tmp/hidden.pb.gz" >"$tmp/hidden.top"
# Found at the first scan after it started (1 s at most): >= 300 of 1500 ms
# (TSan defers signals: only presence there).
want=300
((tsan)) && want=1
(($(cum_ms "$tmp/hidden.top" spin_for | cut -d. -f1) >= want)) ||
    { cat "$tmp/hidden.top"; fail "hidden: spin_for has under $want ms on thread=hidden"; }
ok "a thread cdebug did not see start is found and sampled"

# ---- 3. libmicrohttpd's and bdwgc's threads ----------------------------------
need wrk wrk
CDEBUG=http=127.0.0.1:0 start serve '^port ' "$prog" serve
markers=$(cat /proc/"$pid"/task/*/comm | grep -c '^GC-marker' || true)
wrk -t1 -c4 -d4s "http://127.0.0.1:$port/debug/vars" >"$tmp/wrk.out" 2>&1 &
wrk_pid=$!
pids+=("$wrk_pid")
curl -sf --max-time 30 -o "$tmp/live.pb.gz" "http://127.0.0.1:$port/debug/pprof/profile?seconds=2" ||
    fail "GET /debug/pprof/profile failed"
curl -sf --max-time 30 -o "$tmp/tc.pb.gz" "http://127.0.0.1:$port/debug/pprof/threadcreate" ||
    fail "GET /debug/pprof/threadcreate failed"
wait "$wrk_pid" || true
stop serve "$pid"
pp -tags "$tmp/live.pb.gz" >"$tmp/live.tags"
grep -q ': MHD-' "$tmp/live.tags" || { cat "$tmp/live.tags"; fail "no sample of libmicrohttpd's thread"; }
if ((markers > 0)); then
    grep -q ': GC-marker-' "$tmp/live.tags" ||
        { cat "$tmp/live.tags"; fail "$markers bdwgc marker threads, none sampled"; }
else
    echo "note: this bdwgc runs no parallel marker thread here; that check is skipped"
fi
# libmicrohttpd has no frame pointers: its thread's creation stack is
# the one frame inside it that called pthread_create.
pp -raw "$tmp/tc.pb.gz" >"$tmp/tc.raw"
python3 - "$tmp/tc.raw" <<'PY' || { cat "$tmp/tc.raw"; fail "threadcreate: no thread created from libmicrohttpd"; }
import re, sys
# The innermost frame of a creation stack, a sanitizer's interceptor's
# frames skipped, lies in libmicrohttpd for one thread.
sec, stacks, loc_map, mhd, san = None, [], {}, set(), set()
for line in open(sys.argv[1]):
    if line.startswith(("Samples", "Locations", "Mappings")):
        sec = line.split()[0].rstrip(":")
        continue
    if sec == "Samples" and re.match(r"\s+\d+: \d", line):
        stacks.append([int(x) for x in line.split(":")[1].split()])
    elif sec == "Locations" and (m := re.match(r"\s+(\d+): \S+ M=(\d+)", line)):
        loc_map[int(m[1])] = int(m[2])
    elif sec == "Mappings" and "libmicrohttpd" in line:
        mhd.add(int(line.split(":")[0]))
    elif sec == "Mappings" and re.search(r"/lib(asan|ubsan|tsan)\.so", line):
        san.add(int(line.split(":")[0]))
firsts = [next((loc_map.get(l) for l in st if loc_map.get(l) not in san), None) for st in stacks]
sys.exit(0 if any(f in mhd for f in firsts) else 1)
PY
ok "libmicrohttpd's and bdwgc's threads sampled; threadcreate names their creators"

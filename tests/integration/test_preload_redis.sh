#!/usr/bin/env bash
# Debian's redis-server, a program nobody here wrote, with libcdebug.so
# preloaded (LD_PRELOAD, CDEBUG=http=...) and driven by its own load tool,
# redis-benchmark (Debian's redis-server and redis-tools):
#
#   - redis-benchmark's output has the same shape with cdebug as without
#     (--csv: one line per test, no error), and the data is the same: the
#     list LPUSH filled holds exactly the requests sent;
#   - /debug/pprof/profile?seconds=2, taken under load and read by the real
#     go tool pprof, shows redis's own functions by their names (Debian's
#     binary exports them all as dynamic symbols: nm -D), its samples in the
#     redis-server mapping, no frame named "?" and no <unknown> frame (a
#     word of data in rbp taken for a return address);
#   - /debug/pprof/heap (-tagfocus=allocator=malloc) shows redis's
#     allocation wrappers (zmalloc and its family): redis links libjemalloc2,
#     and cdebug's malloc forwards to it (runtime/malloc.h);
#   - /debug/pprof/goroutine?debug=2 shows the main thread and the three
#     background I/O threads redis starts (created by bioInit);
#   - /debug/vars names jemalloc as the allocator, /metrics passes promtool;
#   - cdebug writes nothing on redis's stderr; redis exits 0 on SIGTERM
#     (its own handler: it shuts down cleanly, then calls exit), and
#     CDEBUG's memprofile=FILE is written then, with the zmalloc family.
# ASan build: ASan's runtime is preloaded first and owns malloc, so the
# malloc checks are skipped (said on stdout); TSan: skipped (77).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http_lib.sh"
source "$(dirname "$0")/pprof_lib.sh"
need redis-server redis-server
need redis-benchmark redis-tools
need redis-cli redis-tools
source "$(dirname "$0")/preload_lib.sh"
go_env
need jq jq

n=20000
[[ -n $sanitize ]] && n=5000
# The server's command line, as the brief of a test run wants it: no
# persistence, in the foreground, on loopback.
redis_cmd() { cmd=(redis-server --port "$1" --bind 127.0.0.1 --save '' --appendonly no --daemonize no); }

# bench NAME PORT: one bounded redis-benchmark run (SET, GET, LPUSH of $n
# requests each, 50 clients), its --csv output in $tmp/NAME.csv; fails on
# anything on stderr or any other shape than the header and the three
# tests.
bench() {
    timeout -k 5 60 redis-benchmark -h 127.0.0.1 -p "$2" -n "$n" -t set,get,lpush --csv \
        >"$tmp/$1.csv" 2>"$tmp/$1.berr" || { cat "$tmp/$1.berr" "$tmp/$1.csv"; fail "$1: redis-benchmark failed"; }
    [[ ! -s $tmp/$1.berr ]] || { cat "$tmp/$1.berr"; fail "$1: redis-benchmark wrote on stderr"; }
    cut -d, -f1 "$tmp/$1.csv" >"$tmp/$1.shape"
    printf '"test"\n"SET"\n"GET"\n"LPUSH"\n' | cmp -s - "$tmp/$1.shape" ||
        { cat "$tmp/$1.csv"; fail "$1: redis-benchmark's output is not one line per test"; }
    awk -F, 'NR > 1 { gsub(/"/, "", $2); if ($2 + 0 <= 0) exit 1 }' "$tmp/$1.csv" ||
        { cat "$tmp/$1.csv"; fail "$1: a test with no throughput"; }
}

# llen PORT: the length of the list redis-benchmark's LPUSH fills.
llen() { timeout -k 5 10 redis-cli -h 127.0.0.1 -p "$1" llen mylist; }

# ---- without cdebug: the reference shape ------------------------------------------
port=$(free_port)
redis_cmd "$port"
plain plain "${cmd[@]}"
ppid=$pid
wait_port plain "$ppid" "$port"
bench plain "$port"
[[ $(llen "$port") == "$n" ]] || fail "plain: mylist holds $(llen "$port"), want $n"
stop plain "$ppid"
ok "without cdebug: redis-benchmark SET, GET, LPUSH, $n requests each"

# ---- preloaded ------------------------------------------------------------------------
port=$(free_port)
dport=$(free_port)
redis_cmd "$port"
preloaded redis "http=127.0.0.1:$dport,memprofilerate=4096,memprofile=$tmp/exit.pb.gz" "${cmd[@]}"
rpid=$pid
wait_port redis "$rpid" "$port"
wait_port redis "$rpid" "$dport"
bench pre "$port"
ok "preloaded: redis-benchmark's output has the same shape as without cdebug"

# The CPU profile, under load: redis-benchmark runs again and again
# (each bounded) until the 2-second profile has come back. A profile in
# which redis got under 100 ms of CPU (a machine busy with other work
# starves the load generator), or whose samples name fewer than two of
# redis's functions (Debian's binary has no frame pointers and names only
# its exported functions, so a short profile of mostly system calls can
# hold one; seen under ASan with 210 ms), shows too little: taken again,
# three times at most. Under a sanitizer the profile lasts 5 s: redis got
# only 160-210 ms of CPU in 2 s there (the runs are shorter, ASan's
# interceptors take their share), one name at most, three times in a row.
#
# Functions of redis's event loop and command path, exported by Debian's
# binary; which of them a 2-second profile catches varies, not that it
# catches several.
hot='processCommand|call|processInputBuffer|readQueryFromClient|aeProcessEvents|beforeSleep|lookupKey|lookupKeyRead|lookupKeyWrite|dictFind|setCommand|getCommand|lpushCommand|pushGenericCommand|_addReplyToBufferOrList|addReply|createClient|freeClient|connSocketRead|connSocketWrite|writeToClient|handleClientsWithPendingWrites|lookupCommand|zmalloc|zfree|sdsnewlen|sdsMakeRoomFor|moduleCount|afterCommand|resetClient|processMultibulkBuffer|dictAddRaw|listTypePush|quicklistPush|quicklistPushHead'
total=1 # the runs of redis-benchmark so far: the one above
secs=2
[[ -n $sanitize ]] && secs=5
for try in 1 2 3; do
    curl -sS --max-time 20 -o "$tmp/cpu.pb.gz" "http://127.0.0.1:$dport/debug/pprof/profile?seconds=$secs" \
        2>"$tmp/curl.err" &
    cpid=$!
    runs=1
    while kill -0 "$cpid" 2>/dev/null && ((runs < 20)); do
        bench "load$try.$runs" "$port"
        runs=$((runs + 1))
    done
    wait "$cpid" || { cat "$tmp/curl.err"; fail "profile?seconds=$secs: curl failed"; }
    total=$((total + runs - 1))
    [[ $(llen "$port") == $((total * n)) ]] || fail "preloaded: mylist holds $(llen "$port"), want $((total * n))"
    cpu_top "$tmp/cpu.pb.gz" "redis"
    ms=$(sed -n 's/.*Total samples = \([0-9.]*\)\(m\{0,1\}s\).*/\1 \2/p' "$tmp/cpu.pb.gz.top" |
        awk '{ printf "%d\n", $2 == "s" ? $1 * 1000 : $1 }')
    names=$(awk -v re="^($hot)\$" 'NF == 6 && $6 ~ re { printf "%s ", $6 }' "$tmp/cpu.pb.gz.top")
    ((ms >= 100 && $(wc -w <<<"$names") >= 2)) && break
    echo "note: profile $try: redis had ${ms}ms of CPU in $secs s, named: ${names:-none}; taking it again" >&2
done
ok "preloaded: $total redis-benchmark runs, the list holds every LPUSH ($((total * n)))"

(($(wc -w <<<"$names") >= 2)) || { cat "$tmp/cpu.pb.gz.top"; fail "redis: fewer than two of redis's functions in the CPU profile"; }
# The binary's mapping: Debian installs redis-server as a link to
# redis-check-rdb (one binary, two names); the mapping is the file.
exe=$(readlink -f "$(command -v redis-server)")
grep -Eq "^ *[0-9]+: .* ${exe//./\\.} " "$tmp/cpu.pb.gz.raw" ||
    { sed -n '/^Mappings/,$p' "$tmp/cpu.pb.gz.raw"; fail "redis: no mapping of $exe in the CPU profile"; }
! grep -Eq '(^| )\?( |$)' "$tmp/cpu.pb.gz.top" || { cat "$tmp/cpu.pb.gz.top"; fail "redis: a frame named ?"; }
# Code without frame pointers keeps data in rbp: no word of it may pass
# for a return address (an <unknown> frame, prof/cpuprof.c's cut_at_data).
pp -traces "$tmp/cpu.pb.gz" >"$tmp/cpu.traces"
! grep -q '<unknown>' "$tmp/cpu.traces" || { grep -B8 '<unknown>' "$tmp/cpu.traces" | head -40; fail "redis: a frame of data (<unknown>) in a stack"; }
ok "CPU profile under load: redis's own functions by name ($names), $exe mapped"

check_heap "$dport" "redis" 'zmalloc|zcalloc|zrealloc|zmalloc_usable|zcalloc_usable|zrealloc_usable|ztrymalloc_usable|ztryrealloc_usable|zstrdup'
check_threads "$dport" "redis" 3 '^created by bioInit$'
check_vars "$dport" "redis" jemalloc

no_cdebug_lines redis
stop_preloaded redis "$rpid" TERM 'Redis is now ready to exit, bye bye'
grep -q 'Redis is now ready to exit, bye bye' "$tmp/redis.out" || { show "$tmp/redis.out"; fail "redis: no clean shutdown"; }
ok "redis shuts down cleanly on SIGTERM, nothing of cdebug on its stderr"
check_exit_heap "$tmp/exit.pb.gz" "redis" 'zmalloc|zcalloc|zrealloc|zmalloc_usable|zcalloc_usable|zrealloc_usable|ztrymalloc_usable|ztryrealloc_usable|zstrdup'

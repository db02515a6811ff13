# tests/integration/preload_lib.sh - running a program nobody here wrote
# (a Debian package's server) with libcdebug.so preloaded, and what its
# debug server must show (sourced after lib.sh, http_lib.sh and
# pprof_lib.sh; not run). Used by test_preload_redis.sh and
# test_preload_nginx.sh.
#
# lib.sh's preload_env gives $preload (ASan's or UBSan's runtime first in
# a sanitizer build, a skip (77) under TSan, ASAN_OPTIONS' detect_leaks=0:
# a third-party program's leaks are not ours to report). It sets
#   has_malloc 1 when the library defines malloc (runtime/malloc.c); a
#              sanitizer build leaves malloc to the sanitizer's runtime, so
#              the malloc checks are skipped there, with a line saying so.
preload_env
has_malloc=0
nm -D --defined-only "$build/libcdebug.so" | awk '$3 == "malloc" { f = 1 } END { exit !f }' && has_malloc=1

# kill_tree PID: SIGKILLs the descendants of PID, deepest first, by their
# ids (pgrep -P), while PID is still this shell's unreaped child (a reaped
# number may be another process's by now). lib.sh's exit work SIGKILLs
# timeout alone, which would leave the server it runs (and nginx's
# worker) behind when a check fails.
kill_tree() {
    local p=$1 c
    [[ " $(jobs -p | tr '\n' ' ') " == *" $p "* ]] || return 0
    descendants() {
        local c
        for c in $(pgrep -P "$1" || true); do
            descendants "$c"
            echo "$c"
        done
    }
    for c in $(descendants "$p"); do
        kill -KILL "$c" 2>/dev/null || true
    done
}

# preloaded NAME CDEBUG CMD...: starts CMD in the background with
# libcdebug.so preloaded and CDEBUG set, stdout and stderr in
# $tmp/NAME.out/.err, 60 s at most; sets $pid, timeout's (which passes
# signals on; env execs CMD, so the preload reaches CMD alone, never
# timeout). Adds it to pids.
preloaded() {
    local name=$1 cdebug=$2
    shift 2
    : >"$tmp/$name.out"
    : >"$tmp/$name.err"
    timeout -k 5 60 env LD_PRELOAD="$preload" CDEBUG="$cdebug" "$@" \
        >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pid=$!
    pids+=("$pid")
    at_exit "kill_tree $pid"
}

# plain NAME CMD...: the same without cdebug.
plain() {
    local name=$1
    shift
    : >"$tmp/$name.out"
    : >"$tmp/$name.err"
    timeout -k 5 60 "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    pid=$!
    pids+=("$pid")
    at_exit "kill_tree $pid"
}

# wait_port NAME PID PORT: waits (10 s at most) until 127.0.0.1:PORT
# accepts a connection; fails if PID exits first.
wait_port() {
    local name=$1 p=$2 port=$3 i
    for ((i = 0; i < 200; i++)); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        kill -0 "$p" 2>/dev/null || { show "$tmp/$name.err"; fail "$name exited before listening on $port"; }
        sleep 0.05
    done
    fail "$name: nothing listens on 127.0.0.1:$port after 10 s"
}

# stop_preloaded NAME PID SIGNAL [BYE]: stops a program started by
# `preloaded` (PID is its timeout's, which passes SIGNAL on) and wants
# status 0, with no sanitizer report on its stderr. Under ASan a program
# may hang in exit instead, cdebug or not (`LD_PRELOAD="libasan.so
# libp11-kit.so.0" sleep 1` hangs too): ASan, initialised inside
# libp11-kit's constructor, leaves glibc's locale lock corrupt (lib.sh's
# preload_env), and p11-kit's destructor (freelocale) waits on it for ever.
# There, when the program printed BYE (its own clean shutdown) on stdout,
# timeout's SIGKILL 5 s later (status 137) is accepted, with a note.
stop_preloaded() {
    local name=$1 p=$2 sig=$3 bye=${4:-} i rc=0
    kill "-$sig" "$p" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
        kill -0 "$p" 2>/dev/null || break
        sleep 0.05
    done
    kill -0 "$p" 2>/dev/null && { kill -KILL "$p"; fail "$name still running 15 s after SIG$sig"; }
    wait "$p" || rc=$?
    check_sanitizer "$name"
    if ((rc == 137)) && [[ $sanitize == *address* && -n $bye ]] && grep -qF -- "$bye" "$tmp/$name.out"; then
        echo "note: $name: shut down ('$bye') but hung in exit (ASan and libp11-kit's locale lock: see preload_lib.sh); killed"
        return 0
    fi
    ((rc == 0)) || { show "$tmp/$name.out"; fail "$name exited with status $rc, want 0"; }
}

# no_cdebug_lines NAME: cdebug said nothing on the program's stderr (a
# warning, a failed listen: a preloaded program's output is its own).
no_cdebug_lines() {
    if grep -q '^cdebug' "$tmp/$1.err"; then
        show "$tmp/$1.err"
        fail "$1: cdebug wrote on the program's stderr"
    fi
}

# check_threads DPORT WHAT MIN PATTERN: /debug/pprof/goroutine?debug=2
# names the main thread, and at least MIN blocks match PATTERN (grep -E).
# Under ASan, whose runtime comes first in LD_PRELOAD, the program's
# pthread_create is ASan's interceptor, which calls cdebug's: the creator
# cdebug records is the interceptor, for every thread.
check_threads() {
    local dport=$1 what=$2 min=$3 pat=$4 n
    if [[ $sanitize == *address* ]]; then
        echo "note: $what: under ASan every thread is created by ASan's pthread_create interceptor (first in LD_PRELOAD), not /$pat/"
        pat='^created by __interceptor_pthread_create$'
    fi
    [[ $(fetch "http://127.0.0.1:$dport/debug/pprof/goroutine?debug=2") == 200 ]] ||
        fail "$what: goroutine?debug=2 status"
    cp "$tmp/b" "$tmp/goroutine.txt"
    grep -q '^thread M[0-9]* \[main' "$tmp/goroutine.txt" || { cat "$tmp/goroutine.txt"; fail "$what: no main thread in the dump"; }
    n=$(grep -Ec -- "$pat" "$tmp/goroutine.txt" || true)
    ((n >= min)) || { cat "$tmp/goroutine.txt"; fail "$what: $n blocks match /$pat/, want at least $min"; }
    ok "$what: goroutine?debug=2 shows the main thread and $n of /$pat/"
}

# check_heap DPORT WHAT FUNCS: /debug/pprof/heap read by go tool pprof: the
# allocated space of -tagfocus=allocator=malloc has one of FUNCS (an
# extended regexp of function names) among its functions.
check_heap() {
    local dport=$1 what=$2 funcs=$3
    if ((!has_malloc)); then
        echo "skip: $what: heap: this build's libcdebug.so does not interpose malloc ($sanitize: the sanitizer's runtime owns it)"
        return 0
    fi
    [[ $(fetch "http://127.0.0.1:$dport/debug/pprof/heap") == 200 ]] || fail "$what: heap status"
    cp "$tmp/b" "$tmp/heap.pb.gz"
    heap_sites "$tmp/heap.pb.gz" "$what: /debug/pprof/heap" "$funcs"
}

# heap_sites FILE WHAT FUNCS: the heap profile FILE's allocated space of
# -tagfocus=allocator=malloc has one of FUNCS among its functions.
heap_sites() {
    local file=$1 what=$2 funcs=$3
    pp -top -nodefraction=0 -sample_index=alloc_space -tagfocus=allocator=malloc \
        "$file" >"$file.top"
    awk -v re="^($funcs)\$" 'NF == 6 && $6 ~ re { f = 1 } END { exit !f }' "$file.top" ||
        { cat "$file.top"; fail "$what: none of /$funcs/ allocated with malloc"; }
    ok "$what (allocator=malloc) names $(awk -v re="^($funcs)\$" 'NF == 6 && $6 ~ re { printf "%s ", $6 }' "$file.top")"
}

# check_exit_heap FILE WHAT FUNCS: CDEBUG's memprofile=FILE was written
# when the program exited, and (malloc interposed) has FUNCS as
# heap_sites wants them; go tool pprof reads it in any build.
check_exit_heap() {
    local file=$1 what=$2 funcs=$3
    [[ -s $file ]] || fail "$what: no memprofile written at exit"
    if ((has_malloc)); then
        heap_sites "$file" "$what: memprofile at exit" "$funcs"
    else
        pp -top "$file" >"$file.top"
        ok "$what: memprofile written at exit, read by go tool pprof (no malloc samples in $sanitize)"
    fi
}

# check_vars DPORT WHAT ALLOCATOR: /debug/vars has the process's cmdline and
# memstats, and (when malloc is interposed) the malloc object naming
# ALLOCATOR with bytes in use; /metrics passes promtool.
check_vars() {
    local dport=$1 what=$2 alloc=$3
    [[ $(fetch "http://127.0.0.1:$dport/debug/vars") == 200 ]] || fail "$what: /debug/vars status"
    jq -e '.cmdline | length > 0' "$tmp/b" >/dev/null || { cat "$tmp/b"; fail "$what: /debug/vars: no cmdline"; }
    jq -e '.memstats | type == "object"' "$tmp/b" >/dev/null || fail "$what: /debug/vars: no memstats"
    if ((has_malloc)); then
        jq -e --arg a "$alloc" '.malloc.Allocator == $a and .malloc.HeapAlloc > 0 and .malloc.HeapSys >= .malloc.HeapInuse' \
            "$tmp/b" >/dev/null || { jq .malloc "$tmp/b"; fail "$what: /debug/vars: malloc is not $alloc's figures"; }
    else
        echo "skip: $what: /debug/vars malloc: not interposed in this build ($sanitize)"
    fi
    [[ $(fetch "http://127.0.0.1:$dport/metrics") == 200 ]] || fail "$what: /metrics status"
    need promtool prometheus
    promtool check metrics <"$tmp/b" >"$tmp/promtool.out" 2>&1 || { cat "$tmp/promtool.out"; fail "$what: promtool check metrics"; }
    if ((has_malloc)); then
        grep -q "^cdebug_malloc_info{allocator=\"$alloc\"} 1\$" "$tmp/b" || fail "$what: /metrics: no cdebug_malloc_info for $alloc"
    fi
    ok "$what: /debug/vars (cmdline, memstats$( ((has_malloc)) && echo ", malloc $alloc")) and /metrics (promtool)"
}

# cpu_top FILE WHAT: -top of the CPU profile FILE into FILE.top; fails on a
# profile with no samples. Prints nothing.
cpu_top() {
    pp -top -nodefraction=0 "$1" >"$1.top"
    grep -q 'Total samples = [1-9]' "$1.top" || { cat "$1.top"; fail "$2: the CPU profile has no samples"; }
    pp -raw "$1" >"$1.raw"
}

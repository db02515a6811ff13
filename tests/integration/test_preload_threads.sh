#!/usr/bin/env bash
# The goroutine profile of a program cdebug was preloaded into shows every
# thread with what is known of its current stack, and nothing else
# (docs/profiling.md, "How the stacks are had"):
#   - a thread blocked in a system call Linux never restarts (epoll_wait,
#     poll, clock_nanosleep) is not signalled: its block shows the one
#     frame /proc/self/task/TID/syscall gives (the libc wrapper, after the
#     syscall instruction) and says why its callers are not shown; the
#     program sees no EINTR (it counts them: 0);
#   - a thread in pthread_cond_wait (futex: restarted) is signalled and
#     shows its stack from the interrupted pc;
#   - no thread shows the stack it registered from (cd_init <- call_init)
#     as a current stack, in debug=2, debug=1 or the proto (debug=0);
#   - debug=1 and `go tool pprof -raw` of debug=0 have the same samples
#     (count, label, innermost function).
# The programs are Debian's sleep and blocked_threads.c, built here
# without cdebug.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http_lib.sh"
source "$(dirname "$0")/pprof_lib.sh"
source "$(dirname "$0")/preload_lib.sh"
go_env
cc=${CC:-cc}

# para FILE HEADER_ERE LINE2_ERE [CREATOR]: the first debug=2 block
# (paragraph) of FILE whose header matches HEADER_ERE, whose first frame
# matches LINE2_ERE (any frame when empty) and, given CREATOR, with the
# line "created by CREATOR", on stdout; nothing when none.
para() {
    awk -v RS= -v h="$2" -v f="$3" -v c="${4:-}" '
        { n = split($0, l, "\n"); ok = c == ""; for (i = 1; i <= n; i++) if (l[i] == "created by " c) ok = 1
          if (ok && l[1] ~ h && (f == "" || l[2] ~ f)) { print; exit } }' "$1"
}

# profiles NAME DPORT: goroutine?debug=2 and ?debug=1 and the proto's -raw
# into $tmp/NAME.2, .1, .raw; waits (5 s at most) for the main thread to be
# blocked in its system call first.
profiles() {
    local name=$1 dport=$2 i
    for ((i = 0; i < 50; i++)); do
        [[ $(fetch "http://127.0.0.1:$dport/debug/pprof/goroutine?debug=2") == 200 ]] ||
            fail "$name: goroutine?debug=2 status"
        grep -q '^thread M1 \[main, syscall\]:$' "$tmp/b" && break
        sleep 0.1
    done
    cp "$tmp/b" "$tmp/$name.2"
    [[ $(fetch "http://127.0.0.1:$dport/debug/pprof/goroutine?debug=1") == 200 ]] ||
        fail "$name: goroutine?debug=1 status"
    cp "$tmp/b" "$tmp/$name.1"
    [[ $(fetch "http://127.0.0.1:$dport/debug/pprof/goroutine") == 200 ]] ||
        fail "$name: goroutine status"
    cp "$tmp/b" "$tmp/$name.pb.gz"
    pp -raw "$tmp/$name.pb.gz" >"$tmp/$name.raw"
}

# syscall_block NAME HEADER_ERE FRAME_ERE CALL [CREATOR]: a block of
# $tmp/NAME.2 whose header matches HEADER_ERE (and which was created by
# CREATOR) shows the system call's wrapper (first frame matching FRAME_ERE,
# then its file:line) and then that its callers were left alone because
# CALL would fail with EINTR.
syscall_block() {
    local name=$1 b
    b=$(para "$tmp/$name.2" "$2" "$3" "${5:-}")
    [[ -n $b ]] || { cat "$tmp/$name.2"; fail "$name: no block /$2/ whose first frame is /$3/"; }
    [[ $(sed -n 4p <<<"$b") == "...callers not available (not interrupted: $4 would fail with EINTR)..." ]] ||
        { echo "$b"; fail "$name: the $4 block does not say why its callers are not shown"; }
    ok "$name: $(head -n 1 <<<"$b") $(sed -n 2p <<<"$b") ($4, not interrupted)"
}

# no_registration NAME: no current stack of $tmp/NAME.* is the stack the
# thread registered from (cd_init <- call_init): debug=2 frames, debug=1
# frames, proto locations.
no_registration() {
    local name=$1
    if grep -Eq '^(cd_init|call_init)\(' "$tmp/$name.2"; then
        cat "$tmp/$name.2"
        fail "$name: debug=2 shows a registration stack as a current stack"
    fi
    if grep -Eq $'^#\t0x[0-9a-f]+\t(cd_init|call_init)\\+' "$tmp/$name.1"; then
        cat "$tmp/$name.1"
        fail "$name: debug=1 shows a registration stack as a current stack"
    fi
    if grep -Eq '^ +[0-9]+: 0x[0-9a-f]+ M=[0-9]+ (cd_init|call_init) ' "$tmp/$name.raw"; then
        cat "$tmp/$name.raw"
        fail "$name: the proto shows a registration stack as a current stack"
    fi
    ok "$name: no registration stack shown as a current stack"
}

# samples NAME: the samples of $tmp/NAME.1 and of $tmp/NAME.raw as "COUNT
# LABEL INNERMOST-FUNCTION" lines ("-" for no frame, "?" for a pc without
# a name), sorted, into $tmp/NAME.1.s and .raw.s; cdebug's own threads
# (label system) left out: the one rendering each profile is in a
# different function.
samples() {
    local name=$1
    awk '
        function flush() { if (c != "") print c, lab, fn; c = "" }
        /^[0-9]+ @/ { flush(); c = $1; lab = "-"; fn = "-"; next }
        /^# labels: / { lab = $3; gsub(/[{}"]/, "", lab); sub(/^[^:]*:/, "", lab); next }
        /^#\t0x/ && fn == "-" { n = split($0, f, "\t"); fn = "?"; if (n >= 4) { fn = f[3]; sub(/\+0x[0-9a-f]+$/, "", fn) } }
        END { flush() }' "$tmp/$name.1" | awk '$2 != "system"' | sort >"$tmp/$name.1.s"
    awk '
        /^Samples:/ { s = 1; next }
        /^Locations/ { s = 0; l = 1; next }
        /^Mappings/ { l = 0 }
        s && /^ +[0-9]+:/ { n++; c[n] = $1; sub(/:$/, "", c[n]); first[n] = (NF > 1 ? $2 : ""); lab[n] = "-"; next }
        s && /^ +[a-z]+:\[/ { v = $1; sub(/^[a-z]+:\[/, "", v); sub(/\]$/, "", v); lab[n] = v; next }
        l && /^ +[0-9]+: 0x/ { id = $1; sub(/:$/, "", id); name[id] = ($4 != "" && $4 !~ /^s=/) ? $4 : "?"; next }
        END { for (i = 1; i <= n; i++) print c[i], lab[i], (first[i] == "" ? "-" : name[first[i]]) }' \
        "$tmp/$name.raw" | awk '$2 != "system"' | sort >"$tmp/$name.raw.s"
}

# agree NAME DPORT: debug=1 and the proto (debug=0) have the same samples
# (samples). libmicrohttpd's thread moves while it serves each request (it
# may be creating the connection's thread): up to 5 pairs are fetched.
agree() {
    local name=$1 dport=$2 i
    for ((i = 0; i < 5; i++)); do
        samples "$name"
        diff "$tmp/$name.1.s" "$tmp/$name.raw.s" >"$tmp/$name.diff" && break
        sleep 0.2
        [[ $(fetch "http://127.0.0.1:$dport/debug/pprof/goroutine?debug=1") == 200 ]] || fail "$name: debug=1 status"
        cp "$tmp/b" "$tmp/$name.1"
        [[ $(fetch "http://127.0.0.1:$dport/debug/pprof/goroutine") == 200 ]] || fail "$name: goroutine status"
        cp "$tmp/b" "$tmp/$name.pb.gz"
        pp -raw "$tmp/$name.pb.gz" >"$tmp/$name.raw"
    done
    [[ ! -s $tmp/$name.diff ]] || { cat "$tmp/$name.diff"; fail "$name: debug=1 and the proto (debug=0) disagree"; }
    ok "$name: debug=1 and debug=0 agree ($(wc -l <"$tmp/$name.1.s") samples$( ((i > 0)) && echo ", after $i retries"))"
}

# ---- Debian's sleep: main in clock_nanosleep ------------------------------
dport=$(free_port)
preloaded sleep "http=127.0.0.1:$dport" sleep 30
wait_port sleep "$pid" "$dport"
profiles sleep "$dport"
syscall_block sleep '^thread M1 \[main, syscall\]:$' 'clock_nanosleep' clock_nanosleep
no_registration sleep
agree sleep "$dport"
stop sleep "$pid" 143 # killed by SIGTERM, as without cdebug

# ---- a server's threads: epoll_wait, poll, pthread_cond_wait ---------------
"$cc" -O1 -g -fno-omit-frame-pointer -pthread -o "$tmp/bt" "$src/tests/integration/blocked_threads.c" ||
    fail "cannot build blocked_threads.c"
hold_stdin
dport=$(free_port)
timeout -k 5 60 env LD_PRELOAD="$preload" CDEBUG="http=127.0.0.1:$dport" "$tmp/bt" \
    <"$tmp/in" >"$tmp/bt.out" 2>"$tmp/bt.err" &
pid=$!
pids+=("$pid")
at_exit "kill_tree $pid"
wait_port bt "$pid" "$dport"
wait_line bt "$pid" ready 10
profiles bt "$dport"
syscall_block bt '^thread M1 \[main, syscall\]:$' 'epoll_wait' epoll_wait
# Ours, not libmicrohttpd's (in poll too): created by main. Under ASan
# every thread is created by ASan's pthread_create interceptor.
creator=main
[[ $sanitize == *address* ]] && creator=__interceptor_pthread_create
syscall_block bt '^thread M[0-9]+ \[pthread, syscall\]:$' '(^|_)poll\(' poll "$creator"
# The cond-wait thread was signalled (futex is restarted): its block starts
# at the interrupted pc, in glibc's futex wait, and goes on as far as frame
# pointers lead (glibc keeps none: usually that one frame).
b=$(para "$tmp/bt.2" '^thread M[0-9]+ \[pthread, (syscall|running)\]:$' 'futex')
[[ -n $b ]] || { cat "$tmp/bt.2"; fail "bt: no pthread block whose first frame is the futex wait"; }
grep -q 'callers not available' <<<"$b" && { echo "$b"; fail "bt: the cond-wait thread was not signalled"; }
ok "bt: the pthread_cond_wait thread was asked its stack: $(sed -n 2p <<<"$b")"
no_registration bt
agree bt "$dport"

# The threads were never interrupted: the program counted no EINTR.
echo q >&9
for ((i = 0; i < 100; i++)); do
    grep -q '^eintr ' "$tmp/bt.out" && break
    sleep 0.1
done
grep -qx 'eintr 0' "$tmp/bt.out" || { show "$tmp/bt.out"; fail "bt: the program saw EINTR ($(cat "$tmp/bt.out"))"; }
for ((i = 0; i < 100; i++)); do
    [[ -n $(pgrep -P "$pid" || true) ]] || break
    sleep 0.1
done
stop_preloaded bt "$pid" TERM 'eintr 0'
ok "bt: no system call failed with EINTR"

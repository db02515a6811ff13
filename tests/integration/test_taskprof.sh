#!/usr/bin/env bash
# tests/integration/test_taskprof.sh - the task profile (Go's goroutine
# profile: cd_taskprof_write, /debug/pprof/goroutine) and the threadcreate
# profile, on prog_taskprof, whose tasks are known (CDMAXPROCS=2):
#   3 "waiter"  blocked in wait_here (reason test.wait), created by start_waiters
#   2 "spinner" running spin_here on the two workers,    created by set_up
#   5 "queued"  never started (queued_task),             created by queue_more
#
#   files   the profiles written by the program itself: `go tool pprof -top`
#           and `-traces` counts per function and per task label; the debug=1
#           groups exactly (and their tab alignment against Go's own
#           text/tabwriter); debug=2 one block per task with state, frames
#           and "created by"; threadcreate totals = threads cdebug knows
#   http    the same from the live endpoints /debug/pprof/goroutine and
#           /debug/pprof/threadcreate (debug=0/1/2, seconds=N delta), with
#           main blocked in read(2): its block shows [syscall] and the read
#   churn   profiles written in a loop while tasks spawn, block and end (the
#           only part run under ThreadSanitizer)
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http_lib.sh"

prog=$build/tests/prog_taskprof
built "$prog"
go_env
export CDMAXPROCS=2

# Go's text/tabwriter as printCountProfile sets it up, to compare alignment.
mkdir -p "$tmp/tw"
cat >"$tmp/tw/tw.go" <<'EOF'
package main

import (
	"bufio"
	"os"
	"regexp"
	"text/tabwriter"
)

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	tw := tabwriter.NewWriter(os.Stdout, 1, 8, 1, '\t', 0)
	tabs := regexp.MustCompile("\t+")
	for in.Scan() {
		tw.Write([]byte(tabs.ReplaceAllString(in.Text(), "\t") + "\n"))
	}
	tw.Flush()
}
EOF
timeout -k 5 300 go build -o "$tmp/tw/tw" "$tmp/tw/tw.go" || fail "building the tabwriter helper"

# top_count FILE FUNC: the flat count of FUNC in `pprof -top` output.
top_count() {
    awk -v f="$2" '$NF == f && $1 ~ /^[0-9]+$/ { print $1; found = 1 } END { if (!found) print 0 }' "$1"
}

# groups FILE: one line per debug=1 group: "COUNT LABELS FUNC1,FUNC2,..."
groups() {
    awk '
        /^[0-9]+ @/ { if (n != "") print n, l, fs; n = $1; l = "-"; fs = ""; next }
        /^# labels: / { l = substr($0, 11); next }
        /^#\t/ { split($0, c, "\t+"); f = c[3]; sub(/\+0x[0-9a-f]+$/, "", f); fs = fs (fs == "" ? "" : ",") f }
        END { if (n != "") print n, l, fs }' "$1"
}

# check_goroutine_text FILE1 FILE2 TOTAL MAIN_STATE: debug=1 and debug=2.
check_goroutine_text() {
    local t1=$1 t2=$2 total=$3 main_state=$4 g
    head -n 1 "$t1" | grep -Eq "^goroutine profile: total $total\$" ||
        { head -n 3 "$t1"; fail "debug=1 total, want $total"; }
    groups "$t1" >"$tmp/groups"
    grep -qx '5 {"task":"queued"} queued_task,queue_more' "$tmp/groups" ||
        { cat "$tmp/groups"; fail "debug=1: a group of the 5 queued tasks"; }
    grep -qx '3 {"task":"waiter"} wait_here,waiter_task,start_waiters' "$tmp/groups" ||
        { cat "$tmp/groups"; fail "debug=1: a group of the 3 waiters"; }
    g=$(awk '$2 == "{\"task\":\"spinner\"}" && $3 ~ /^spin_here,/ { s += $1 } END { print s + 0 }' "$tmp/groups")
    [[ $g == 2 ]] || { cat "$tmp/groups"; fail "debug=1: spinners in spin_here: $g, want 2"; }
    g=$(awk '{ s += $1 } END { print s }' "$tmp/groups")
    [[ $g == "$total" ]] || fail "debug=1: groups add up to $g, want $total"
    # Groups by count, largest first: Go's keysByCount.
    awk '{ print $1 }' "$tmp/groups" | sort -rn -c || fail "debug=1: groups not sorted by count"
    # Tab for tab what Go's text/tabwriter makes of the same cells.
    "$tmp/tw/tw" <"$t1" >"$tmp/tw.out"
    cmp -s "$t1" "$tmp/tw.out" || { diff "$t1" "$tmp/tw.out" | head; fail "debug=1: alignment differs from text/tabwriter"; }

    # debug=2: one block per task, Go's traceback shape.
    [[ $(grep -c '^goroutine [0-9]* \[test.wait, task "waiter"\]:$' "$t2") == 3 ]] ||
        { cat "$t2"; fail "debug=2: 3 waiter blocks"; }
    [[ $(grep -c '^goroutine [0-9]* \[running, task "spinner"\]:$' "$t2") == 2 ]] ||
        { cat "$t2"; fail "debug=2: 2 running spinner blocks"; }
    [[ $(grep -c '^goroutine [0-9]* \[runnable, task "queued"\]:$' "$t2") == 5 ]] ||
        { cat "$t2"; fail "debug=2: 5 runnable blocks"; }
    # Per block: header, frames as func(...) + tab file:line [+0xoff], created by.
    awk -v ms="$main_state" '
        function flush() {
            if (h == "") return
            if (h ~ /test\.wait/ && !(f1 == "wait_here(...)" && cb == "created by start_waiters")) bad = bad "\nwaiter: " f1 " / " cb
            if (h ~ /running, task "spinner"/ && !(f1 == "spin_here(...)" && cb == "created by set_up")) bad = bad "\nspinner: " f1 " / " cb
            if (h ~ /runnable/ && !(f1 == "queued_task(...)" && l1 ~ /^\t.*prog_taskprof\.c:[0-9]+$/ && cb == "created by queue_more")) bad = bad "\nqueued: " f1 " " l1 " / " cb
            if (h ~ /^thread M1 \[main, /) { mains++; if (h != "thread M1 [main, " ms "]:") bad = bad "\nmain: " h }
            blocks++
        }
        /^$/ { flush(); h = ""; next }
        h == "" { h = $0; f1 = ""; l1 = ""; cb = ""; n = 0; next }
        /^created by / { cb = $0; next }
        /^\t/ { if (n == 1 && l1 == "") l1 = $0
                if ($0 !~ /^\t.*:[0-9]+( \+0x[0-9a-f]+)?$/ && $0 !~ /^\t\?:0 pc=0x/) bad = bad "\nframe line: " $0
                next }
        { n++; if (f1 == "") f1 = $0 }
        END { flush(); if (mains != 1) bad = bad "\nmain blocks: " mains; print blocks; if (bad != "") { print bad > "/dev/stderr"; exit 1 } }' "$t2" >"$tmp/blocks" ||
        { cat "$t2"; fail "debug=2 blocks"; }
    [[ $(cat "$tmp/blocks") == "$total" ]] || fail "debug=2: $(cat "$tmp/blocks") blocks, want $total"
}

# check_goroutine_proto FILE_OR_URL TOTAL
check_goroutine_proto() {
    pp -top "$1" >"$tmp/top"
    grep -q '^Type: goroutine$' "$tmp/top" || { cat "$tmp/top"; fail "type goroutine"; }
    if ! grep -q "accounting for $2, 100% of $2 total" "$tmp/top"; then
        cat "$tmp/top"
        # A live profile: which entry lacked frames shows in a fresh debug=2.
        [[ $1 != http* ]] || { fetch "$1?debug=2" >/dev/null && cat "$tmp/b"; }
        fail "total $2"
    fi
    local f c
    for f in queued_task:5 wait_here:3 spin_here:2; do
        c=$(top_count "$tmp/top" "${f%%:*}")
        [[ $c == "${f#*:}" ]] || { cat "$tmp/top"; fail "flat ${f%%:*} = $c, want ${f#*:}"; }
    done
    # -traces: the task label, its stack, then the creation frame.
    pp -traces "$1" >"$tmp/traces"
    awk '
        /^-+\+/ { if (lab != "") print lab, cnt, fr; lab = ""; cnt = ""; fr = ""; next }
        $1 == "task:" { lab = $2; next }
        $1 == "thread:" { lab = "thread-" $2; next }
        NF == 2 && $1 ~ /^[0-9]+$/ { cnt = $1; fr = $2; next }
        NF == 1 && lab != "" { fr = fr "," $1 }' "$tmp/traces" >"$tmp/tr"
    grep -qx 'waiter 3 wait_here,waiter_task,start_waiters' "$tmp/tr" || { cat "$tmp/traces"; fail "-traces waiters"; }
    grep -qx 'queued 5 queued_task,queue_more' "$tmp/tr" || { cat "$tmp/traces"; fail "-traces queued"; }
    # spin_here is a leaf: with no frame of its own (-O2), its caller is
    # not on the frame-pointer chain.
    [[ $(grep -Ec '^spinner [12] spin_here,(spin_task,)?set_up$' "$tmp/tr") -ge 1 ]] || { cat "$tmp/traces"; fail "-traces spinners"; }
    pp -top -tagfocus=task=waiter "$1" >"$tmp/tag"
    grep -q 'accounting for 3, ' "$tmp/tag" || { cat "$tmp/tag"; fail "-tagfocus=task=waiter"; }
}

# ---- churn: profiles racing every state change ------------------------------
# Tasks spawn, block and end all the time while main writes profiles of
# every debug level: no crash, no hang, no sanitizer report (the snapshot's
# validation and the signal protocol under load).
echo "== churn"
rounds=30
timeout -k 5 300 "$prog" churn "$rounds" >"$tmp/churn.out" 2>"$tmp/churn.err" ||
    { show "$tmp/churn.err"; fail "prog_taskprof churn"; }
grep -qx "churn ok $rounds" "$tmp/churn.out" || fail "churn did not finish"
check_sanitizer churn
ok "$rounds rounds of profiles while tasks churn"
if [[ $sanitize == *thread* ]]; then
    # ThreadSanitizer delays signals until its next interceptor: a task
    # spinning in plain code answers late, inside TSan's own frames, so the
    # stack checks below do not apply. The churn above is the TSan test.
    echo "1 passed, 0 failed"
    exit 0
fi

# ---- files written by cd_taskprof_write / cd_threadprof_write --------------
echo "== files"
timeout -k 5 120 "$prog" files "$tmp" >"$tmp/files.out" 2>"$tmp/files.err" ||
    { show "$tmp/files.err"; fail "prog_taskprof files"; }
check_sanitizer files
grep -qx done "$tmp/files.out" || fail "prog_taskprof did not finish"
threads=$(awk '/^threads/ { print $2 }' "$tmp/files.out")
# 10 tasks, plus the threads running none: main (writing) and idle workers.
total=$((10 + threads - 5))
check_goroutine_proto "$tmp/goroutine.pb.gz" "$total"
check_goroutine_text "$tmp/goroutine.1.txt" "$tmp/goroutine.2.txt" "$total" running
# main wrote the profile: its own block shows the writer called from main.
awk '/^thread M1 \[main, running\]:$/ { f = 1 } f && /^$/ { exit } f' "$tmp/goroutine.2.txt" | grep -qx 'write_one(...)' ||
    { cat "$tmp/goroutine.2.txt"; fail "main's own stack"; }
ok "goroutine profile written to files: total $total"

pp -top "$tmp/threadcreate.pb.gz" >"$tmp/ttop"
grep -q '^Type: threadcreate$' "$tmp/ttop" || { cat "$tmp/ttop"; fail "type threadcreate"; }
grep -q "accounting for $threads, 100% of $threads total" "$tmp/ttop" || { cat "$tmp/ttop"; fail "threadcreate total $threads"; }
head -n 1 "$tmp/threadcreate.1.txt" | grep -qx "threadcreate profile: total $threads" || fail "threadcreate debug=1 total"
groups "$tmp/threadcreate.1.txt" >"$tmp/tgroups"
grep -Eq '^1 - cd_init,' "$tmp/tgroups" || { cat "$tmp/tgroups"; fail "main registered by cd_init"; }
[[ $(awk '{ s += $1 } END { print s }' "$tmp/tgroups") == "$threads" ]] || fail "threadcreate groups"
"$tmp/tw/tw" <"$tmp/threadcreate.1.txt" | cmp -s - "$tmp/threadcreate.1.txt" || fail "threadcreate alignment"
ok "threadcreate: $threads threads"

# ---- the live endpoints ---------------------------------------------------------
echo "== http"
rm -f "$tmp/in"
mkfifo "$tmp/in"
exec 3<>"$tmp/in" # a writer, so that the program's open for reading returns
# Not http_lib's start: a background command's stdin is /dev/null unless
# redirected on the command itself.
CDEBUG=http=127.0.0.1:0 "$prog" serve <"$tmp/in" >"$tmp/serve.out" 2>"$tmp/serve.err" 3>&- &
serve_pid=$!
pids+=("$serve_pid")
for ((i = 0; i < 200; i++)); do
    grep -qx ready "$tmp/serve.out" && break
    kill -0 "$serve_pid" 2>/dev/null || break
    sleep 0.05
done
port=$(awk '/^port/ { print $2 }' "$tmp/serve.out")
base=http://127.0.0.1:$port/debug/pprof
grep -qx ready "$tmp/serve.out" || fail "serve not ready"
[[ $port -gt 0 ]] || fail "no debug server"
code=$(fetch "$base/goroutine?debug=1")
[[ $code == 200 ]] || { cat "$tmp/b"; fail "GET goroutine?debug=1: $code"; }
cp "$tmp/b" "$tmp/h1.txt"
code=$(fetch "$base/goroutine?debug=2")
[[ $code == 200 ]] || fail "GET goroutine?debug=2: $code"
cp "$tmp/b" "$tmp/h2.txt"
# The rendering thread of the server is one more thread running no task.
htotal=$(head -n 1 "$tmp/h1.txt" | awk '{ print $NF }')
((htotal >= 10 + threads - 5 + 1)) || fail "http total $htotal"
check_goroutine_text "$tmp/h1.txt" "$tmp/h2.txt" "$htotal" syscall
# main sits in read(2), no cd_block_begin: asked by signal, restarted.
grep -A 1 '^thread M1 \[main, syscall\]:$' "$tmp/h2.txt" | tail -n 1 | grep -q 'read' ||
    { cat "$tmp/h2.txt"; fail "main's stack in read"; }
check_goroutine_proto "$base/goroutine" "$htotal"
code=$(fetch "$base/threadcreate?debug=1")
[[ $code == 200 ]] || fail "GET threadcreate?debug=1: $code"
grep -Eq '^threadcreate profile: total [0-9]+$' "$tmp/b" || { cat "$tmp/b"; fail "threadcreate text"; }
pp -top "$base/threadcreate" >"$tmp/ttop"
grep -q '^Type: threadcreate$' "$tmp/ttop" || { cat "$tmp/ttop"; fail "http threadcreate"; }
# seconds=N: Go's delta profile; nothing changed, so nothing is left.
pp -top "$base/goroutine?seconds=1" >"$tmp/delta"
grep -q '^Type: goroutine$' "$tmp/delta" || { cat "$tmp/delta"; fail "delta profile"; }
! grep -Eq ' (queued_task|wait_here|spin_here)$' "$tmp/delta" || { cat "$tmp/delta"; fail "delta keeps unchanged tasks"; }
# The program is undisturbed: it still reads stdin, and ends when it closes.
exec 3>&-
for ((i = 0; i < 200; i++)); do
    kill -0 "$serve_pid" 2>/dev/null || break
    sleep 0.05
done
wait "$serve_pid" || fail "serve exited with status $?"
grep -qx done "$tmp/serve.out" || fail "serve did not finish"
check_sanitizer serve
ok "goroutine and threadcreate endpoints"
echo "1 passed, 0 failed"

#!/usr/bin/env bash
# cdebug-trace export --format=go: Go 1.19's execution trace, read by the
# real `go tool trace` (Debian's golang-go). Real traces (prog_trace_go:
# every kind of blocking call; examples/freq in two modes) must parse
# (`go tool trace -d`) with the event counts of `cdebug-trace dump`;
# go tool trace's profiles (-pprof=sync, net, syscall, sched) must hold
# the blocking reasons; its web views must list the tasks (and the
# goroutine analysis page, screenshot by headless Chromium, is kept in
# $build/test-artifacts/go-trace-goroutine.png); incoherent and
# hostile synthetic traces must still give a file Go's parser accepts; bad
# input and usage give the statuses of the chrome export.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
go_env
need curl curl
tool="$build/viewer/cdebug-trace"
gen="$build/tests/prog_trace_gen"
built "$tool" "$gen" "$build/tests/prog_trace_go" "$build/examples/freq"

# cd_count DUMP EVENT: events named EVENT in a `cdebug-trace dump`.
cd_count() { awk -v e="$2" '$3 == e' "$1" | wc -l; }
# go_count DUMP EVENT: events named EVENT in a `go tool trace -d` dump.
go_count() { awk -v e="$2" '$2 == e' "$1" | wc -l; }
# want LABEL GOT EXPECTED
want() { [[ $2 == "$3" ]] || fail "$1: got $2, want $3"; }

# convert NAME TRACE: export TRACE to $tmp/NAME.go, dump both, and check
# that Go's parser accepts the export.
convert() {
  local name=$1 trace=$2
  run 0 "$tool" export --format=go -o "$tmp/$name.go" "$trace"
  [[ ! -s $tmp/err ]] || fail "$name: export stderr: $(cat "$tmp/err")"
  run 0 "$tool" dump "$trace"
  mv "$tmp/out" "$tmp/$name.cd"
  timeout -k 5 60 go tool trace -d "$tmp/$name.go" >"$tmp/$name.gd" 2>"$tmp/$name.gerr" \
    || fail "$name: go tool trace -d: $(grep -v '^.*Parsing trace' "$tmp/$name.gerr" | head -3)"
  [[ -s $tmp/$name.gd ]] || fail "$name: go tool trace -d printed nothing"
}

# shapes NAME: the counts Go's dump must share with cdebug's.
shapes() {
  local n=$1 cd=$tmp/$1.cd gd=$tmp/$1.gd
  want "$n GoCreate" "$(go_count "$gd" GoCreate)" "$(cd_count "$cd" TASK_CREATE)"
  want "$n GoEnd" "$(go_count "$gd" GoEnd)" "$(cd_count "$cd" TASK_END)"
  want "$n GoStart" "$(go_count "$gd" GoStart)" \
    "$(($(cd_count "$cd" TASK_START) + $(cd_count "$cd" TASK_UNBLOCK)))"
  want "$n UserTaskCreate" "$(go_count "$gd" UserTaskCreate)" "$(cd_count "$cd" USER_TASK_BEGIN)"
  want "$n UserTaskEnd" "$(go_count "$gd" UserTaskEnd)" "$(cd_count "$cd" USER_TASK_END)"
  want "$n UserRegion" "$(go_count "$gd" UserRegion)" \
    "$(($(cd_count "$cd" REGION_BEGIN) + $(cd_count "$cd" REGION_END)))"
  want "$n UserLog" "$(go_count "$gd" UserLog)" "$(cd_count "$cd" LOG)"
  want "$n GCStart" "$(go_count "$gd" GCStart)" "$(cd_count "$cd" GC_BEGIN)"
  want "$n GCDone" "$(go_count "$gd" GCDone)" "$(cd_count "$cd" GC_END)"
  want "$n GCSTWStart" "$(go_count "$gd" GCSTWStart)" "$(cd_count "$cd" GC_STW_BEGIN)"
  want "$n HeapAlloc" "$(go_count "$gd" HeapAlloc)" "$(cd_count "$cd" HEAP)"
  # Ps are the workers: CDMAXPROCS=2 gives P 0 and P 1, started as often
  # as a thread took a worker
  want "$n Ps" "$(awk '$2 == "ProcStart" {print $3}' "$gd" | sort -u | tr '\n' ' ')" "p=0 p=1 "
  want "$n ProcStart" "$(go_count "$gd" ProcStart)" \
    "$(($(cd_count "$cd" WORKER_ACQUIRE) + $(awk '$3 == "STATE_THREAD" && $NF != "worker=0"' "$cd" | wc -l)))"
}

# ---- every kind of blocking call
export CDMAXPROCS=2
(cd "$tmp" && timeout 60 "$build/tests/prog_trace_go" "$tmp/p.trace" >/dev/null) \
  || fail "prog_trace_go did not run"
convert p "$tmp/p.trace"
shapes p
gd=$tmp/p.gd
want "GoCreate" "$(go_count "$gd" GoCreate)" 26
want "GoBlockNet (IO wait)" "$(go_count "$gd" GoBlockNet)" 5
want "GoSleep (sleep)" "$(go_count "$gd" GoSleep)" 5
want "GoSysCall (waitpid)" "$(go_count "$gd" GoSysCall)" 5
want "GoSysBlock" "$(go_count "$gd" GoSysBlock)" 5
want "GoSysExit" "$(go_count "$gd" GoSysExit)" 5
want "GoBlockCond (sync.Cond.Wait)" "$(go_count "$gd" GoBlockCond)" 5
want "GoBlockSync (mutex, waitgroup)" "$(go_count "$gd" GoBlockSync)" \
  "$((5 + $(grep -c 'TASK_BLOCK.*reason="sync.WaitGroup.Wait"' "$tmp/p.cd")))"
want "GoUnblock" "$(go_count "$gd" GoUnblock)" \
  "$(($(cd_count "$tmp/p.cd" TASK_BLOCK) - 5))"
grep -q 'UserLog .*category=kind message=caller' "$gd" || fail "the log's text is not in Go's dump"
ok "prog_trace_go: parsed by go tool trace, counts of cdebug-trace dump"

# go tool trace's profiles: the blocking reason is the innermost frame,
# where the call was made from below it (blocker, run_task: the trace's
# TASK_BLOCK stack)
profile() { # KIND REGEX...: -pprof=KIND read by pprof -top shows each REGEX
  local kind=$1 re
  shift
  timeout -k 5 60 go tool trace -pprof="$kind" "$tmp/p.go" >"$tmp/$kind.pb" 2>"$tmp/$kind.err" \
    || fail "go tool trace -pprof=$kind: $(cat "$tmp/$kind.err")"
  [[ -s $tmp/$kind.pb ]] || fail "-pprof=$kind: empty profile"
  pp -top "$tmp/$kind.pb" >"$tmp/$kind.top"
  for re in "$@"; do
    grep -Eq "$re" "$tmp/$kind.top" || { show "$tmp/$kind.top"; fail "-pprof=$kind: no $re"; }
  done
}
profile sync ' sync\.Mutex\.Lock$' ' sync\.Cond\.Wait$' ' sync\.WaitGroup\.Wait$' ' waiter$'
profile net ' IO wait$' ' blocker$' ' run_task$'
profile syscall ' waitpid$' ' blocker$'
profile sched ' waiter$'
ok "go tool trace -pprof=sync, net, syscall, sched"

# go tool trace's web views, on 127.0.0.1, bounded in time
port=$(free_port)
go tool trace -http="127.0.0.1:$port" "$tmp/p.go" >"$tmp/http.out" 2>"$tmp/http.err" &
hpid=$!
pids+=("$hpid")
for _ in $(seq 100); do
  curl -sf "http://127.0.0.1:$port/goroutines" -o "$tmp/goroutines.html" 2>/dev/null && break
  kill -0 "$hpid" 2>/dev/null || fail "go tool trace -http exited: $(cat "$tmp/http.err")"
  sleep 0.2
done
[[ -s $tmp/goroutines.html ]] || fail "go tool trace -http: /goroutines never answered"
for name in reader sleeper caller locker waiter2 waiter; do
  grep -q ">$name<" "$tmp/goroutines.html" || fail "/goroutines does not list $name"
done
curl -sf --max-time 30 "http://127.0.0.1:$port/usertasks" -o "$tmp/usertasks.html" \
  || fail "/usertasks"
grep -q 'job' "$tmp/usertasks.html" || fail "/usertasks does not list the user task job"
curl -sf --max-time 30 "http://127.0.0.1:$port/userregions" -o "$tmp/userregions.html" \
  || fail "/userregions"
grep -q 'work' "$tmp/userregions.html" || fail "/userregions does not list the region work"
curl -sf --max-time 30 "http://127.0.0.1:$port/mmu" -o /dev/null || fail "/mmu"
curl -sf --max-time 30 "http://127.0.0.1:$port/jsontrace?start=0&end=1" -o "$tmp/json" \
  || fail "/jsontrace"
# The goroutine analysis of the locker tasks: five goroutines, each with
# sync block time (their pthread mutex waits; how much of their life it
# is varies, under ASan most of it is their other work). Its page in headless
# Chromium is kept as a test artifact, $build/test-artifacts/go-trace-goroutine.png.
link=$(grep -o 'href="/goroutine?id=[0-9]*">locker<' "$tmp/goroutines.html" | sed 's/href="\([^"]*\)".*/\1/')
[[ -n $link ]] || fail "/goroutines has no link to the locker group"
curl -sf --max-time 30 "http://127.0.0.1:$port$link" -o "$tmp/group.html" || fail "$link"
grep -q 'Goroutine Name:</td> *<td>locker' "$tmp/group.html" || fail "$link: not the locker group"
grep -Eq 'Number of Goroutines:</td> *<td>5<' "$tmp/group.html" || fail "$link: not 5 goroutines"
# each goroutine's bar has a sync block part
rows=$(grep -Eo 'width:[0-9.]+%" class="block-time"' "$tmp/group.html" | awk -F'[:%]' '$2 > 0' | wc -l)
((rows == 5)) || { show "$tmp/group.html"; fail "$link: $rows of 5 goroutines with sync block time"; }
chromium="${CHROMIUM:-/usr/bin/chromium}"
[[ -x $chromium ]] || fail "$chromium is not installed: run scripts/bootstrap test (Debian chromium)"
mkdir -p "$build/test-artifacts"
shot="$build/test-artifacts/go-trace-goroutine.png"
rm -f "$shot"
timeout -k 5 60 "$chromium" --headless=new --no-sandbox --disable-gpu --no-first-run \
  --user-data-dir="$tmp/chromium" --window-size=1400,900 --screenshot="$shot" \
  "http://127.0.0.1:$port$link" >"$tmp/chromium.out" 2>&1 || fail "chromium: $(tail -3 "$tmp/chromium.out")"
[[ -f $shot && $(head -c 8 "$shot" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] ||
  fail "no PNG screenshot of $link"
(($(wc -c <"$shot") > 10000)) || fail "the screenshot of $link is nearly empty"
kill "$hpid"
wait "$hpid" 2>/dev/null || true
ok "go tool trace -http: /goroutines, the goroutine analysis (screenshot), /usertasks, /userregions, /mmu, /jsontrace"

# ---- examples/freq: the execution-tracing walkthrough's program
for mode in bounded fanout; do
  (cd "$tmp" && CDEBUG=trace=$tmp/freq-$mode.trace timeout 60 "$build/examples/freq" \
    --mode=$mode --docs=400 >/dev/null) || fail "freq --mode=$mode did not run"
  convert "freq-$mode" "$tmp/freq-$mode.trace"
  shapes "freq-$mode"
  want "freq-$mode goroutines" "$(go_count "$tmp/freq-$mode.gd" GoCreate)" 400
done
ok "examples/freq --mode=bounded and fanout: parsed, counts of cdebug-trace dump"

# ---- a flight-recorder window: begins with the state snapshot (STATE_*),
# repeated at each segment
(cd "$tmp" && timeout 60 "$build/tests/prog_flight" "$tmp/flight" 1200 1 >/dev/null) \
  || fail "prog_flight did not run"
convert flight "$tmp/flight.1"
want "flight GoEnd" "$(go_count "$tmp/flight.gd" GoEnd)" "$(cd_count "$tmp/flight.cd" TASK_END)"
want "flight GoStart" "$(go_count "$tmp/flight.gd" GoStart)" \
  "$(($(cd_count "$tmp/flight.cd" TASK_START) + $(cd_count "$tmp/flight.cd" TASK_UNBLOCK)))"
want "flight UserLog" "$(go_count "$tmp/flight.gd" UserLog)" "$(cd_count "$tmp/flight.cd" LOG)"
ok "a flight-recorder window: parsed, counts of cdebug-trace dump"

# ---- synthetic traces: a snapshot, lost events, hostile strings, a
# scheduler workload, and incoherent events (random task ids started,
# blocked, ended, created twice): Go's parser must accept each export
"$gen" sample "$tmp/sample.trace"
"$gen" hostile "$tmp/hostile.trace"
"$gen" racy "$tmp/racy.trace"
"$gen" sched "$tmp/sched.trace" 20000 6 >/dev/null
"$gen" big "$tmp/chaos.trace" 50000
for n in sample hostile racy sched chaos; do
  convert "$n" "$tmp/$n.trace"
done
want "sched GoCreate" "$(go_count "$tmp/sched.gd" GoCreate)" "$(cd_count "$tmp/sched.cd" TASK_CREATE)"
ok "synthetic traces (snapshot, hostile strings, scheduler, incoherent) parsed by go tool trace"

# ---- bad input and usage: the statuses of the chrome export
"$gen" truncated "$tmp/trunc.trace"
run 0 "$tool" export --format=go -o "$tmp/trunc.go" "$tmp/trunc.trace"
grep -q '^cdebug-trace: warning: .*truncated' "$tmp/err" || fail "truncated: no warning"
timeout 60 go tool trace -d "$tmp/trunc.go" >/dev/null 2>"$tmp/trunc.gerr" \
  || fail "truncated: Go cannot parse the export: $(cat "$tmp/trunc.gerr")"
head -c $(($(stat -c %s "$tmp/p.trace") / 2)) "$tmp/p.trace" >"$tmp/half.trace"
run 0 "$tool" export --format=go -o "$tmp/half.go" "$tmp/half.trace"
timeout 60 go tool trace -d "$tmp/half.go" >/dev/null 2>"$tmp/half.gerr" \
  || fail "cut in half: Go cannot parse the export: $(cat "$tmp/half.gerr")"
"$gen" corrupt "$tmp/corrupt.trace"
run 1 "$tool" export --format=chrome "$tmp/corrupt.trace"
cp "$tmp/err" "$tmp/chrome.err"
echo old >"$tmp/keep.go"
run 1 "$tool" export --format=go -o "$tmp/keep.go" "$tmp/corrupt.trace"
cmp -s "$tmp/err" "$tmp/chrome.err" || fail "corrupt: stderr differs from the chrome export's"
[[ $(cat "$tmp/keep.go") == old ]] || fail "corrupt: -o FILE was replaced"
[[ -z $(find "$tmp" -name 'keep.go.tmp.*') ]] || fail "corrupt: temporary file left"
run 1 "$tool" export --format=go "$tmp/missing.trace"
one_line_err "missing.trace"
[[ ! -s $tmp/out ]] || fail "missing: output written"
: >"$tmp/empty.trace"
run 1 "$tool" export --format=go "$tmp/empty.trace"
run 2 "$tool" export --format=gob "$tmp/p.trace"
grep -q 'unknown format "gob" (known: chrome, go)' "$tmp/err" || fail "unknown format message"
run 0 "$tool" export --format=go - <"$tmp/p.trace"
cmp -s "$tmp/out" "$tmp/p.go" || fail "stdin and -o give different exports"
ok "truncated, corrupt, missing, empty inputs and bad usage"

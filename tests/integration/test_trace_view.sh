#!/usr/bin/env bash
# cdebug-trace view: the HTTP API on a trace of known structure
# (tests/integration/prog_view_trace.c), the page in a real headless
# Chromium (tests/browser/view_test.mjs, playwright-core driving Debian's
# /usr/bin/chromium), a busy port, bad input and bad usage, and the size of
# an answer over a trace of 1.5 million events.
#
# node, chromium and tests/browser/node_modules are prerequisites that
# scripts/bootstrap installs: when one is missing the test FAILS (it does
# not skip) and says what to run.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
tool="$build/viewer/cdebug-trace"
gen="$build/tests/prog_view_trace"
tgen="$build/tests/prog_trace_gen"
chromium="${CHROMIUM:-/usr/bin/chromium}"

# ---- prerequisites: missing ones fail the test with the fix
need node nodejs
[[ -x $chromium ]] || fail "$chromium is not installed: run scripts/bootstrap test (Debian chromium)"
[[ -f $src/tests/browser/node_modules/playwright-core/package.json ]] \
  || fail "tests/browser/node_modules is missing: run 'npm ci' in tests/browser (scripts/bootstrap test does)"

# start_view NAME ARGS...: starts the viewer (stdout $tmp/NAME.out, stderr
# $tmp/NAME.err) and waits up to 120 s for its URL; sets $url and $pid.
start_view() {
  local name=$1; shift
  # Created first: the background job opens them only once it runs, and
  # sed on a missing file would end the script (set -e).
  : >"$tmp/$name.out"
  : >"$tmp/$name.err"
  "$tool" view "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
  pid=$!
  pids+=("$pid")
  url=
  for _ in $(seq 1200); do
    url=$(sed -n 's/^cdebug-trace: serving \(http:[^ ]*\)$/\1/p' "$tmp/$name.out")
    [[ -n $url ]] && return 0
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/$name.err" >&2; fail "$name: the viewer exited before serving"; }
    sleep 0.1
  done
  fail "$name: no URL printed within 120 s"
}

# stop_view PID SIGNAL: the viewer exits 0 within 30 s.
stop_view() {
  local p=$1 sig=$2 st=0
  kill "-$sig" "$p"
  for _ in $(seq 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$p" 2>/dev/null && fail "the viewer did not stop within 30 s of SIG$sig"
  wait "$p" || st=$?
  [[ $st == 0 ]] || fail "the viewer exited $st after SIG$sig, want 0"
}

# get URL FILE: the body in FILE, prints the status code. Bounded.
get() { curl -s --max-time 60 -o "$2" -w '%{http_code}' "$1"; }

# json FILE EXPR: evaluates a Python expression on the JSON in FILE (as d).
json() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(eval(sys.argv[2]))' "$1" "$2"; }

"$gen" sample "$tmp/sample.trace" 2>/dev/null

# ---- the API on the sample
start_view sample --no-browser-hint "$tmp/sample.trace"
sample_pid=$pid
base=$url
[[ $base =~ ^http://127\.0\.0\.1:[0-9]+/$ ]] || fail "URL: $base"
[[ ! -s $tmp/sample.err ]] || fail "stderr not empty with --no-browser-hint: $(cat "$tmp/sample.err")"

[[ $(get "$base" "$tmp/index.html") == 200 ]] || fail "GET /"
grep -q '<canvas id="timeline"' "$tmp/index.html" || fail "index.html has no timeline canvas"
[[ $(get "${base}app.js" "$tmp/app.js") == 200 ]] || fail "GET /app.js"
[[ $(get "${base}style.css" "$tmp/style.css") == 200 ]] || fail "GET /style.css"

[[ $(get "${base}api/meta" "$tmp/meta.json") == 200 ]] || fail "GET /api/meta"
[[ $(json "$tmp/meta.json" 'd["duration_ns"]') == 100000000 ]] || fail "meta: duration"
[[ $(json "$tmp/meta.json" 'd["events"]') == 485 ]] || fail "meta: events"
[[ $(json "$tmp/meta.json" 'd["spans"]') == 252 ]] || fail "meta: spans $(json "$tmp/meta.json" 'd["spans"]')"
names=$(json "$tmp/meta.json" '"|".join(t["name"] for t in d["tracks"])')
[[ $names == "Worker 0|Worker 1|Worker 2|Thread 1 (main)|Thread 2 (worker)|Thread 3 (service)|Thread 4 (worker)|GC|Heap|User tasks" ]] \
  || fail "meta: tracks $names"
[[ $(json "$tmp/meta.json" '[t["lanes"] for t in d["tracks"]]') == "[1, 1, 1, 2, 1, 0, 2, 3, 0, 1]" ]] \
  || fail "meta: lanes per track $(json "$tmp/meta.json" '[t["lanes"] for t in d["tracks"]]')"

# The whole trace at 1000 px (100 us a pixel): the 52 spans of the sample
# wider than a pixel, and 2 busy blocks of 100 tiny tasks (thread 2 and
# worker 1); together every span once.
[[ $(get "${base}api/slices?start=0&end=100000000&px=1000" "$tmp/all.json") == 200 ]] || fail "slices"
[[ $(json "$tmp/all.json" 'd["nslices"]') == 52 ]] || fail "whole trace: $(json "$tmp/all.json" 'd["nslices"]') slices, want 52"
[[ $(json "$tmp/all.json" 'd["nbusy"]') == 2 ]] || fail "whole trace: busy blocks"
[[ $(json "$tmp/all.json" '[b[2] for l in d["lanes"] for b in l["busy"]]') == "[100, 100]" ]] \
  || fail "whole trace: busy counts"
[[ $(json "$tmp/all.json" 'd["nslices"] + d["nbusy_spans"]') == 252 ]] || fail "whole trace: not every span once"
[[ $(json "$tmp/all.json" 'sorted(set(s[4] for l in d["lanes"] for s in l["slices"]))') \
  == "['GC', 'compute', 'decode', 'io', 'mark', 'net: read', 'parse', 'reclaim', 'request', 'restart', 'stop the world', 'stopping']" ]] \
  || fail "whole trace: names $(json "$tmp/all.json" 'sorted(set(s[4] for l in d["lanes"] for s in l["slices"]))')"
# The tiny tasks at 500 ns a pixel: each drawn on its own.
get "${base}api/slices?start=80000000&end=80500000&px=1000" "$tmp/tiny.json" >/dev/null
[[ $(json "$tmp/tiny.json" 'd["nslices"]') == 200 && $(json "$tmp/tiny.json" 'd["nbusy"]') == 0 ]] \
  || fail "zoomed on the tiny tasks: $(json "$tmp/tiny.json" '(d["nslices"], d["nbusy"])')"
[[ $(json "$tmp/tiny.json" 'set(s[4] for l in d["lanes"] for s in l["slices"])') == "{'tiny'}" ]] \
  || fail "zoomed on the tiny tasks: names"
# One span's details, by the ref a slices answer gave.
ref=$(json "$tmp/all.json" '[s[0] for l in d["lanes"] for s in l["slices"] if s[4] == "io" and l["track"] == 2][0]')
[[ $(get "${base}api/slice?ref=$ref" "$tmp/one.json") == 200 ]] || fail "slice ref=$ref"
[[ $(json "$tmp/one.json" '(d["name"], d["id"], d["track_name"], d["start_ns"], d["duration_ns"], d["task"]["create_ns"], d["task"]["wait_ns"], d["task"]["blocked_ns"])') \
  == "('io', 30, 'Worker 2', 2000000, 3000000, 1500000, 500000, 4000000)" ]] \
  || fail "slice details: $(cat "$tmp/one.json")"
# The heap counter: a sample every ms, so one point per 2 ms column.
get "${base}api/heap?start=0&end=100000000&px=50" "$tmp/heap.json" >/dev/null
[[ $(json "$tmp/heap.json" 'd["npoints"]') == 50 ]] || fail "heap points: $(json "$tmp/heap.json" 'd["npoints"]')"
[[ $(json "$tmp/heap.json" 'max(p[2] for p in d["points"])') == $(json "$tmp/meta.json" 'd["heap"]["max"]') ]] \
  || fail "heap: max of the points is not the trace's max"
# Stats and lints: the stats engine's JSON.
get "${base}api/stats" "$tmp/stats.json" >/dev/null
[[ $(json "$tmp/stats.json" '[t["count"] for t in d["tasks"] if t["name"] == "tiny"]') == "[100]" ]] || fail "api/stats"
get "${base}api/lints" "$tmp/lints.json" >/dev/null
[[ $(json "$tmp/lints.json" '[l["id"] for l in d["lints"]]') == "['gc-pause']" ]] || fail "api/lints"

# Bad requests: 400 with the reason, 404, 405.
check_status() { # WANT PATH [PATTERN]
  local code
  code=$(get "$base$2" "$tmp/body")
  [[ $code == "$1" ]] || fail "GET $2: $code, want $1"
  [[ -z ${3:-} ]] || grep -q -- "$3" "$tmp/body" || fail "GET $2: body '$(cat "$tmp/body")' lacks '$3'"
}
check_status 400 "api/slices?start=0&end=100&px=0" "parameter px=0"
check_status 400 "api/slices?start=0&end=100&px=99999" "parameter px"
check_status 400 "api/slices?start=abc&end=100&px=10" "parameter start=abc"
check_status 400 "api/slices?start=100&end=100&px=10" "want start < end"
check_status 400 "api/slices?end=100&px=10" "missing parameter start"
check_status 400 "api/slices?start=0&end=99999999999999999999&px=10" "parameter end"
check_status 400 "api/heap?start=0&px=10" "missing parameter end"
check_status 400 "api/slice?ref=x" "parameter ref"
check_status 404 "api/slice?ref=252" "no span with ref 252"
check_status 404 "api/nothing" "not found"
check_status 404 "secret.txt" "not found"
check_status 404 "../../etc/passwd"
[[ $(curl -s --max-time 30 -o /dev/null -w '%{http_code}' -X POST "${base}api/meta") == 405 ]] || fail "POST: want 405"
[[ $(curl -s --max-time 30 -o /dev/null -w '%{http_code}' -H 'Host: attacker.example' "${base}api/meta") == 403 ]] \
  || fail "a non-loopback Host header: want 403"

# ---- the page in Chromium: loads, draws the 52 slices and 2 busy blocks,
# a click shows the slice's details, zoom and pan, stats and lints pages
shots="$tmp/shots"
timeout 300 node "$src/tests/browser/view_test.mjs" "$base" "$shots" --slices=52 --busy=2 \
  --click=io:30 --stats-task=tiny:100 --lint=gc-pause || fail "the browser test failed"
for png in timeline selected zoomed stats lints; do
  f="$shots/$png.png"
  [[ -f $f ]] || fail "no screenshot $png.png"
  [[ $(head -c 8 "$f" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "$png.png is not a PNG"
  size=$(wc -c <"$f")
  ((size > 10000)) || fail "$png.png is only $size bytes"
done
# 1400x900: the IHDR's width and height
[[ $(od -An -tu1 -j16 -N8 "$shots/timeline.png" | tr -s ' ' | sed 's/^ //') == "0 0 5 120 0 0 3 132" ]] \
  || fail "timeline.png is not 1400x900"
if [[ -n ${CDEBUG_VIEW_SHOTS:-} ]]; then cp "$shots"/*.png "$CDEBUG_VIEW_SHOTS"/; fi

# ---- a busy port: reported, and another port served
port=${base#http://127.0.0.1:}
port=${port%/}
start_view busy --http="127.0.0.1:$port" "$tmp/sample.trace"
[[ $url != "$base" && $url =~ ^http://127\.0\.0\.1:[0-9]+/$ ]] || fail "busy port: URL $url"
grep -q "127.0.0.1:$port: address already in use; serving on a free port instead" "$tmp/busy.err" \
  || fail "busy port: no message: $(cat "$tmp/busy.err")"
grep -q "open that URL in a web browser" "$tmp/busy.err" || fail "no browser hint without --no-browser-hint"
[[ $(get "${url}api/meta" "$tmp/meta2.json") == 200 ]] || fail "busy port: the other port does not serve"
stop_view "$pid" INT
# a port asked for and free is used as is
start_view free --no-browser-hint --http=127.0.0.1:0 "$tmp/sample.trace"
stop_view "$pid" TERM
stop_view "$sample_pid" TERM
pids=()

# ---- bad input: one line, exit 1
run 1 "$tool" view "$tmp/missing.trace"
one_line_err "missing.trace: no such file or directory"
: >"$tmp/empty.trace"
run 1 "$tool" view "$tmp/empty.trace"
one_line_err "empty or truncated"
printf 'not a trace\n' >"$tmp/text.trace"
run 1 "$tool" view "$tmp/text.trace"
one_line_err "not a cdebug trace"
"$tgen" corrupt "$tmp/corrupt.trace"
run 1 "$tool" view "$tmp/corrupt.trace"
one_line_err "corrupted trace"
# truncated: served, with one warning (not one per pass)
"$tgen" truncated "$tmp/trunc.trace"
start_view trunc --no-browser-hint "$tmp/trunc.trace"
[[ $(grep -c . "$tmp/trunc.err") == 1 ]] && grep -q "warning: .*truncated" "$tmp/trunc.err" \
  || fail "truncated: want one warning line, got: $(cat "$tmp/trunc.err")"
stop_view "$pid" INT
pids=()

# ---- bad usage: usage on stderr, exit 2
run 2 "$tool" view --bogus "$tmp/sample.trace"
grep -q 'unknown flag --bogus' "$tmp/err" || fail "unknown flag message"
grep -q '^usage: cdebug-trace view' "$tmp/err" || fail "unknown flag: no usage"
run 2 "$tool" view
grep -q 'missing TRACE' "$tmp/err" || fail "no TRACE"
run 2 "$tool" view "$tmp/sample.trace" "$tmp/sample.trace"
run 2 "$tool" view - <"$tmp/sample.trace"
grep -q 'not standard input' "$tmp/err" || fail "view -"
run 2 "$tool" view --http=0.0.0.0:0 "$tmp/sample.trace"
one_line_err "not a loopback address"
run 2 "$tool" view --http=192.0.2.1:8080 "$tmp/sample.trace"
one_line_err "not a loopback address"
run 2 "$tool" view --http=nonsense "$tmp/sample.trace"
one_line_err "bad --http address"
run 0 "$tool" view --help
grep -q '^usage: cdebug-trace view' "$tmp/out" || fail "view --help"
run 0 "$tool" help
grep -q '^  view ' "$tmp/out" || fail "help lists view"

# ---- a large trace: the answer for the whole trace stays small
"$gen" big "$tmp/big.trace" 1500000 2>/dev/null
start_view big --no-browser-hint "$tmp/big.trace"
get "${url}api/meta" "$tmp/bigmeta.json" >/dev/null
events=$(json "$tmp/bigmeta.json" 'd["events"]')
spans=$(json "$tmp/bigmeta.json" 'd["spans"]')
dur=$(json "$tmp/bigmeta.json" 'd["duration_ns"]')
((events >= 1500000 && spans > 1000000)) || fail "big: $events events, $spans spans"
[[ $(get "${url}api/slices?start=0&end=$((dur + 1))&px=2000" "$tmp/big.json") == 200 ]] || fail "big: slices"
size=$(wc -c <"$tmp/big.json")
((size < 1000000)) || fail "big: the whole-trace answer is $size bytes (want < 1 MB)"
[[ $(json "$tmp/big.json" 'd["nslices"] + d["nbusy_spans"]') == "$spans" ]] \
  || fail "big: the whole-trace answer does not account for every span once"
[[ $(json "$tmp/big.json" 'max(len(l["slices"]) + len(l["busy"]) for l in d["lanes"]) <= 2000 + 2') == True ]] \
  || fail "big: a lane has more items than pixels"
get "${url}api/heap?start=0&end=$((dur + 1))&px=2000" "$tmp/bigheap.json" >/dev/null
size=$(wc -c <"$tmp/bigheap.json")
((size < 200000)) || fail "big: the heap answer is $size bytes"
# The spans are in mapped files, not on the heap: the process's anonymous
# memory is a small fraction of the 64 bytes x spans they take (sanitizer
# builds have their own allocator and shadow memory: not measured there).
if [[ -z $sanitize ]]; then
  anon=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status")
  ((anon < 32768)) || fail "big: $anon kB of anonymous memory for $spans spans (want < 32 MB)"
fi
stop_view "$pid" TERM
pids=()
echo "test_trace_view: ok"

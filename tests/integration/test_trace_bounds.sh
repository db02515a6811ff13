#!/usr/bin/env bash
# cdebug-trace's memory is bounded by its limits, not by what a trace holds
# (docs/cdebug-trace.md, "Memory and speed"): peak RSS of stats, export (chrome and go) and
# diff at most 128 MB, and of view (index built, then the page's first
# queries answered) at most 256 MB, on the shapes that used to cost the
# most:
#
#   worker-id   80 bytes naming worker 2^20 - 2 (an array sized by the id:
#               144 MB)
#   never-end   3 million tasks created that never end (18 MB of trace:
#               630 MB in stats, 700 MB in export, 900 MB in view)
#   threads     1 million threads that never stop, each naming its own
#               worker (250 MB in stats)
#   sched       10 million events of a scheduler workload (prog_trace_gen;
#               560 MB in view)
#
# And what a limit left out is reported, never silently: on small versions
# of the shapes (past every limit all the same), stats names the forgotten
# tasks and threads and the ignored workers (text and JSON), diff for each
# trace, export's otherData and view's /api/meta count them too, and the figures the
# limits do not touch stay exact (every task created, every one unfinished).
#
# Under a sanitizer (CDEBUG_SANITIZE set by CTest) the big shapes would take
# minutes and ASan's shadow memory makes RSS meaningless: only the small
# shapes run (the limits' code paths under ASan and UBSan), not the RSS
# part.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
shapes="$build/tests/prog_trace_shapes"
gen="$build/tests/prog_trace_gen"
tool="$build/viewer/cdebug-trace"

bound_kb=$((128 * 1024)) view_bound_kb=$((256 * 1024))

# peak NAME CMD...: runs CMD (stdout to $tmp/NAME.out, stderr to
# $tmp/NAME.err) and prints its exit status and peak RSS in KiB. The peak
# is the program's own: GNU time's %M (its fork's memory is time's, a few
# MB, not a Python's), or for `view` its VmHWM (the high-water mark of the
# memory it has had since exec) once it has answered what the page asks
# first (meta, the whole trace at 1600 pixels, the heap, stats, one
# slice); then SIGTERM stops it.
peak() {
  local name=$1; shift
  if [[ $2 != view ]]; then
    local st=0
    /usr/bin/time -o "$tmp/$name.time" -f '%M' "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || st=$?
    echo "$st $(tail -1 "$tmp/$name.time")"
    return
  fi
  python3 - "$tmp/$name" "$@" <<'EOF'
import json, signal, subprocess, sys, urllib.request
out, cmd = sys.argv[1], sys.argv[2:]
hwm = 0
with open(out + ".out", "wb") as o, open(out + ".err", "wb") as e:
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=e)
    line = p.stdout.readline().decode()
    o.write(line.encode())
    if "serving http://" in line:
        url = line.split("serving ")[1].strip()
        def get(path):
            with urllib.request.urlopen(url + path, timeout=300) as r:
                body = r.read()
            o.write(body.rstrip(b"\n") + b"\n")
            return body
        meta = json.loads(get("api/meta"))
        d = max(meta["duration_ns"], 1)
        get("api/slices?start=0&end=%d&px=1600" % d)
        get("api/heap?start=0&end=%d&px=1600" % d)
        get("api/stats")
        if meta["spans"] > 0:
            get("api/slice?ref=%d" % (meta["spans"] // 2))
        for l in open("/proc/%d/status" % p.pid):
            if l.startswith("VmHWM:"):
                hwm = int(l.split()[1])
        p.send_signal(signal.SIGTERM)
    st = p.wait(timeout=600)
print(st, hwm)
EOF
}

# measure NAME BOUND_KB CMD...: peak; the command must exit 0 with nothing
# on stderr, and stay under the bound.
measure() {
  local name=$1 bound=$2; shift 2
  read -r st kb < <(peak "$name" "$@")
  [[ $st == 0 ]] || { cat "$tmp/$name.err" >&2; fail "$name: exit $st"; }
  if [[ -s $tmp/$name.err ]]; then cat "$tmp/$name.err" >&2; fail "$name: stderr not empty"; fi
  echo "$name: peak RSS $((kb / 1024)) MB (bound $((bound / 1024)) MB)"
  [[ -n $sanitize ]] && return # shadow memory: not the program's
  ((kb > 0 && kb <= bound)) || fail "$name: peak RSS $kb KiB, above the bound $bound KiB"
}

# jcheck FILE PYTHON: assertions with `s` = the JSON document in FILE
jcheck() {
  python3 - "$1" "$2" <<'EOF'
import json, sys, textwrap
s = json.load(open(sys.argv[1]))
exec(textwrap.dedent(sys.argv[2]))
EOF
}

# run_clean NAME CMD...: CMD must exit 0 with nothing on stderr (stdout in
# $tmp/NAME.out)
run_clean() {
  local name=$1 st=0; shift
  "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || st=$?
  [[ $st == 0 && ! -s $tmp/$name.err ]] || { cat "$tmp/$name.err" >&2; fail "$name: exit $st"; }
}

# ---- peak RSS of every subcommand on the big shapes (not under a sanitizer)
if [[ -z $sanitize ]]; then
  # run_all SHAPE: stats, export, diff and view on $tmp/SHAPE.trace, measured
  run_all() {
    local s=$1 f="$tmp/$1.trace"
    measure "$s.stats" $bound_kb "$tool" stats --json "$f"
    measure "$s.export" $bound_kb "$tool" export -o /dev/null "$f"
    measure "$s.export-go" $bound_kb "$tool" export --format=go -o /dev/null "$f"
    measure "$s.diff" $bound_kb "$tool" diff --json "$f" "$f"
    measure "$s.view" $view_bound_kb "$tool" view --no-browser-hint --http=127.0.0.1:0 "$f"
  }
  "$shapes" worker-id "$tmp/worker-id.trace" >/dev/null
  run_all worker-id
  "$shapes" never-end "$tmp/never-end.trace" 3000000 >/dev/null
  run_all never-end
  jcheck "$tmp/never-end.stats.out" '
  assert s["trace"]["tasks_created"] == 3000000 and s["limits"]["tasks_forgotten"] == 3000000 - 65536'
  rm -f "$tmp/never-end.trace"
  "$shapes" threads "$tmp/threads.trace" 1000000 >/dev/null
  run_all threads
  rm -f "$tmp/threads.trace"
  "$gen" sched "$tmp/sched.trace" 10000000 16 >/dev/null
  run_all sched
  jcheck "$tmp/sched.stats.out" "
  assert s['trace']['events'] >= 10000000, s['trace']
  lim = s['limits']
  assert all(v == 0 for k, v in lim.items() if not k.startswith('max_')), lim"
else
  echo "RSS not measured under a sanitizer"
fi

# ---- what the limits leave out is said: small shapes, past the limits
"$shapes" never-end "$tmp/ne.trace" 100000 >/dev/null
"$shapes" threads "$tmp/th.trace" 10000 >/dev/null
"$shapes" worker-id "$tmp/worker-id.trace" >/dev/null
run_clean ne.stats "$tool" stats "$tmp/ne.trace"
grep -qE '^  34464 tasks alive at once beyond the limit of 65536 were forgotten' "$tmp/ne.stats.out" ||
  { cat "$tmp/ne.stats.out" >&2; fail "never-end: stats text does not say tasks were forgotten"; }
grep -qE '^  leak +0 .*\(\+100000 unfinished\)' "$tmp/ne.stats.out" ||
  { cat "$tmp/ne.stats.out" >&2; fail "never-end: the task row does not count every task"; }
run_clean ne.json "$tool" stats --json "$tmp/ne.trace"
jcheck "$tmp/ne.json.out" "
assert s['trace']['tasks_created'] == 100000, s['trace']
leak = [t for t in s['tasks'] if t['name'] == 'leak'][0]
assert leak['unended'] == 100000 and leak['count'] == 0, leak
lim = s['limits']
assert lim['max_tasks'] == 65536 and lim['tasks_forgotten'] == 100000 - 65536, lim
assert all(v == 0 for k, v in lim.items() if not k.startswith('max_') and k != 'tasks_forgotten'), lim"
run_clean ne.export "$tool" export "$tmp/ne.trace"
jcheck "$tmp/ne.export.out" '
o = s["otherData"]
assert o["complete"] is True and o["limits"]["tasks_forgotten"] == 34464, o'
run_clean ne.diff "$tool" diff "$tmp/ne.trace" "$tmp/ne.trace"
[[ $(grep -c '^  34464 tasks alive at once beyond the limit of 65536 were forgotten' "$tmp/ne.diff.out") == 2 ]] ||
  { cat "$tmp/ne.diff.out" >&2; fail "never-end: diff does not say, for each trace, that tasks were forgotten"; }
measure ne.view $view_bound_kb "$tool" view --no-browser-hint --http=127.0.0.1:0 "$tmp/ne.trace"
sed -n 2p "$tmp/ne.view.out" >"$tmp/meta.json"
jcheck "$tmp/meta.json" 'assert s["limits"]["tasks_forgotten"] == 34464, s.get("limits")'
run_clean th.stats "$tool" stats "$tmp/th.trace"
grep -q '^  5904 threads alive at once beyond the limit of 4096 were forgotten' "$tmp/th.stats.out" ||
  { cat "$tmp/th.stats.out" >&2; fail "threads: no note on the forgotten threads"; }
grep -q '^  8976 events naming a worker beyond the first 1024 were ignored' "$tmp/th.stats.out" ||
  { cat "$tmp/th.stats.out" >&2; fail "threads: no note on the ignored workers"; }
run_clean th.json "$tool" stats --json "$tmp/th.trace"
jcheck "$tmp/th.json.out" "
lim = s['limits']
assert lim['threads_forgotten'] == 5904 and lim['workers_ignored'] == 8976, lim
assert s['trace']['workers'] == len(s['workers']) == 1024 and s['trace']['threads'] == 10000, s['trace']"
run_clean w.json "$tool" stats --json "$tmp/worker-id.trace"
jcheck "$tmp/w.json.out" '
assert s["trace"]["workers"] == 1, s["trace"]
assert [w["worker"] for w in s["workers"]] == [1048574], s["workers"]
assert len(s["parallelism"]["histogram"]) == 2, s["parallelism"]'
run_clean w.stats "$tool" stats "$tmp/worker-id.trace"
grep -q '^  P1048574 ' "$tmp/w.stats.out" || fail "worker-id: no row for P1048574"
grep -q 'beyond the limit\|were ignored' "$tmp/w.stats.out" && fail "worker-id: a limit reported for one worker"
echo "test_trace_bounds: ok"

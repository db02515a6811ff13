#!/usr/bin/env bash
# cdebug-trace stats and export stream the trace: their peak RSS stays under
# a fixed bound on a large trace, and a trace twice as large does not need
# more memory. The traces are a scheduler workload written by prog_trace_gen
# (16 workers, 18 threads, tasks created, started, blocked and ended, regions,
# logs, user tasks, collections, heap samples, a FRONTIER every 100 ms of
# trace time as the recorder writes them). docs/cdebug-trace-export.md,
# "Memory", gives the bound and the reasons.
#
# Sizes: N = 5 million events, then 2N (46 MB of trace, ~1 GB of JSON, to
# /dev/null). Under a sanitizer (CDEBUG_SANITIZE set by CTest) every event
# costs several times more, so N = 1 million; ASan's quarantine of freed
# blocks (256 MB by default) is memory the program no longer holds, so it is
# capped to 4 MB here to measure the program's own memory; the bound is
# looser (ASan's shadow memory and allocator metadata). CDEBUG_RSS_EVENTS
# overrides N.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
gen="$build/tests/prog_trace_gen"
tool="$build/viewer/cdebug-trace"

if [[ -n $sanitize ]]; then
  n=${CDEBUG_RSS_EVENTS:-1000000}
  bound_kb=$((160 * 1024))
  export ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}quarantine_size_mb=4"
else
  n=${CDEBUG_RSS_EVENTS:-5000000}
  bound_kb=$((64 * 1024))
fi
# Doubling the trace may add at most this much (the noise of the allocator
# and of the page cache's readahead buffers, not a function of the size).
slack_kb=$((6 * 1024))

# peak_rss CMD...: runs CMD (stdout to /dev/null, stderr to $tmp/err) in a
# fresh Python process and prints its exit status and peak RSS in KiB
# (getrusage of the waited-for child: the measured command only).
peak_rss() {
  python3 - "$@" 2>"$tmp/err" <<'EOF'
import resource, subprocess, sys
r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, timeout=300)
print(r.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
EOF
}

declare -A rss
for k in 1 2; do
  events=$((n * k))
  "$gen" sched "$tmp/t$k.trace" "$events" 16 >"$tmp/gen$k.txt" || fail "prog_trace_gen sched $events"
  size_kb=$(($(stat -c %s "$tmp/t$k.trace") / 1024))
  for cmd in stats export; do
    read -r st kb < <(peak_rss "$tool" "$cmd" "$tmp/t$k.trace")
    [[ $st == 0 ]] || { cat "$tmp/err" >&2; fail "$cmd on $events events: exit $st"; }
    [[ ! -s $tmp/err ]] || { cat "$tmp/err" >&2; fail "$cmd on $events events: stderr not empty"; }
    echo "$cmd: $events events, trace $((size_kb / 1024)) MB: peak RSS $((kb / 1024)) MB (bound $((bound_kb / 1024)) MB)"
    ((kb < bound_kb)) || fail "$cmd: peak RSS $kb KiB on $events events, above the bound $bound_kb KiB"
    rss[$cmd.$k]=$kb
  done
  # The bound must mean something: it could not hold 8 bytes per event of
  # the larger trace (a decoded event is 160 bytes), nor the JSON written.
  if [[ -z $sanitize && $k == 2 ]]; then
    ((bound_kb * 1024 < events * 8)) || fail "$events events: too few for the bound"
  fi
  rm -f "$tmp/t$k.trace"
done
for cmd in stats export; do
  a=${rss[$cmd.1]} b=${rss[$cmd.2]}
  ((b <= a + a / 4 + slack_kb)) ||
    fail "$cmd: peak RSS $a KiB on $n events but $b KiB on $((2 * n)): grows with the trace"
done
echo "test_trace_rss: ok"

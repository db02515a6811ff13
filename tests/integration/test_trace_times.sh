#!/usr/bin/env bash
# Hostile timestamps and ids (tests/integration/prog_trace_hostile.c) through
# every subcommand of cdebug-trace: stats (text and --json, with its lints),
# dump, diff, export and view's index.
#
# A trace whose times no trace can have (584 years before its start, 146
# years after it, a tick rate that puts the end 34000 years away, random
# 64-bit batch timestamps) is corrupt: exit 1, one stderr line naming the
# event, its time and the limit, and nothing absurd on stdout. A trace that
# is odd but possible (a thread going back in time after a frontier, ids of
# 2^64 - 1) is read: exit 0, and no duration or time in the output is
# negative or absurdly large. In the ASan+UBSan build (CTest sets
# CDEBUG_SANITIZE) a signed overflow or any other report halts the program
# (-fno-sanitize-recover): every run's stderr is checked for one. Last, an
# impossible time far into a long trace, where stats and export have a
# reader thread running ahead that must be stopped.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
gen="$build/tests/prog_trace_hostile"
synth="$build/tests/prog_trace_synth"
tool="$build/viewer/cdebug-trace"
if [[ -n $sanitize ]]; then
  export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}:halt_on_error=1"
fi

# corrupt_err NAME: stderr is one line saying the trace is corrupt, which
# event and how far from the start it lies.
corrupt_err() {
  [[ $(wc -l <"$tmp/err") == 1 ]] || { cat "$tmp/err" >&2; fail "$1: want one stderr line"; }
  grep -qE "corrupted trace: [A-Z_]+ on thread [0-9]+ at tick [0-9]+ lies .* (before|after) the trace start .*limit" "$tmp/err" ||
    { cat "$tmp/err" >&2; fail "$1: stderr does not say which time is impossible"; }
}
# sane_json FILE NAME: every time, duration and distribution in a JSON
# answer is >= 0 and below 10^15 ns (11 days: these traces last seconds).
sane_json() {
  python3 - "$1" "$2" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
bad = []
def walk(x, path, timed):
    if isinstance(x, dict):
        for k, v in x.items():
            walk(v, path + "." + k, k != "start_wall_ns" and (timed or k.endswith("_ns") or k in ("ts", "dur", "start", "end", "duration")))
    elif isinstance(x, list):
        for i, v in enumerate(x):
            walk(v, path + "[%d]" % i, timed)
    elif timed and isinstance(x, (int, float)) and not isinstance(x, bool):
        if not (0 <= x < 1e15):
            bad.append("%s = %r" % (path, x))
walk(doc, "", False)
assert not bad, sys.argv[2] + ": absurd times: " + ", ".join(bad[:5])
EOF
}

"$gen" "$tmp" >"$tmp/cases" || fail "prog_trace_hostile"
"$synth" mixed "$tmp/good.trace"
ncorrupt=0 nvalid=0
while read -r name expect; do
  f="$tmp/$name.trace"
  if [[ $expect == corrupt ]]; then
    ncorrupt=$((ncorrupt + 1))
    for args in "stats" "stats --json"; do
      # shellcheck disable=SC2086
      run 1 "$tool" $args "$f"
      corrupt_err "$name: $args"
      [[ ! -s $tmp/out ]] || fail "$name: $args printed a report for a corrupt trace"
    done
    run 1 "$tool" dump "$f"
    corrupt_err "$name: dump"
    grep -q '^# .* stopped by an error$' "$tmp/out" || fail "$name: dump's summary does not say it stopped"
    # every time dump printed is one a trace can have (within 36 years)
    awk '!/^#/ { t = $1; sub(/ms$/, "", t); if (t + 0 > 1.2e15 || t + 0 < -1.2e15) { print; exit 1 } }' \
      "$tmp/out" >/dev/null || fail "$name: dump printed an impossible time"
    run 1 "$tool" export "$f"
    corrupt_err "$name: export"
    python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["otherData"]["complete"] is False' \
      "$tmp/out" || fail "$name: export's JSON is not valid or claims to be complete"
    sane_json "$tmp/out" "$name: export"
    run 1 "$tool" export -o "$tmp/x.json" "$f"
    [[ ! -e $tmp/x.json ]] || fail "$name: export -o created its file for a corrupt trace"
    run 1 "$tool" diff "$tmp/good.trace" "$f"
    corrupt_err "$name: diff"
    [[ ! -s $tmp/out ]] || fail "$name: diff printed a comparison"
    run 1 "$tool" diff --json "$f" "$tmp/good.trace"
    corrupt_err "$name: diff --json"
    run 1 "$tool" view --no-browser-hint --http=127.0.0.1:0 "$f"
    corrupt_err "$name: view"
    grep -q serving "$tmp/out" && fail "$name: view served a corrupt trace"
  else
    nvalid=$((nvalid + 1))
    run 0 "$tool" stats "$f"
    grep -qE '(^| )-[0-9]|[0-9]{5,}(\.[0-9]+)?(ns|us|ms|s) ' "$tmp/out" &&
      { cat "$tmp/out" >&2; fail "$name: stats printed a negative or absurd duration"; }
    run 0 "$tool" stats --json "$f"
    sane_json "$tmp/out" "$name: stats --json"
    run 0 "$tool" dump "$f"
    run 0 "$tool" export "$f"
    sane_json "$tmp/out" "$name: export"
    run 0 "$tool" diff --json "$tmp/good.trace" "$f"
    run 0 "$tool" diff "$f" "$f"
    # view: its index answers with sane times, then it stops on SIGTERM
    : >"$tmp/v.out"
    "$tool" view --no-browser-hint --http=127.0.0.1:0 "$f" >"$tmp/v.out" 2>"$tmp/v.err" &
    vpid=$!
    pids+=("$vpid")
    url=
    for _ in $(seq 600); do
      url=$(sed -n 's/^cdebug-trace: serving \(http:[^ ]*\)$/\1/p' "$tmp/v.out")
      [[ -n $url ]] && break
      kill -0 "$vpid" 2>/dev/null || { cat "$tmp/v.err" >&2; fail "$name: view exited"; }
      sleep 0.1
    done
    [[ -n $url ]] || fail "$name: view printed no URL"
    curl -sf "${url}api/meta" >"$tmp/meta.json" || fail "$name: /api/meta"
    sane_json "$tmp/meta.json" "$name: /api/meta"
    d=$(python3 -c 'import json,sys; print(max(json.load(open(sys.argv[1]))["duration_ns"], 1))' "$tmp/meta.json")
    curl -sf "${url}api/slices?start=0&end=$d&px=500" >"$tmp/sl.json" || fail "$name: /api/slices"
    sane_json "$tmp/sl.json" "$name: /api/slices"
    curl -sf "${url}api/stats" >"$tmp/st.json" || fail "$name: /api/stats"
    sane_json "$tmp/st.json" "$name: /api/stats"
    kill -TERM "$vpid"
    st=0
    wait "$vpid" || st=$?
    check_sanitizer v
    [[ $st == 0 ]] || { cat "$tmp/v.err" >&2; fail "$name: view exited $st"; }
  fi
  echo "$name ($expect): ok"
done <"$tmp/cases"
((ncorrupt >= 7 && nvalid >= 2)) || fail "prog_trace_hostile wrote $ncorrupt corrupt and $nvalid valid cases"

# An impossible time far into a long trace: stats and export read on a
# second thread (model.c, cdt_model_run) that is then thousands of events
# ahead, waiting for room. The model's thread must stop it and report the
# event, exactly as when reading on one thread. 1000000 events of the sched
# workload (2.6 s of trace) at 1 tick/s instead of 10^9 (the header's
# tick_hz): 1.15 s into the trace, about 440000 events in, times pass the
# 36-year limit.
"$build/tests/prog_trace_gen" sched "$tmp/long.trace" 1000000 8 >/dev/null
python3 - "$tmp/long.trace" <<'EOF2'
import struct, sys
d = bytearray(open(sys.argv[1], "rb").read())
assert struct.unpack_from("<Q", d, 16)[0] == 10**9, "prog_trace_gen's tick_hz changed"
struct.pack_into("<Q", d, 16, 1)
open(sys.argv[1], "wb").write(d)
EOF2
for args in "stats" "stats --json" "export" "export --format=chrome"; do
  # shellcheck disable=SC2086
  run 1 "$tool" $args "$tmp/long.trace"
  corrupt_err "long trace: $args"
  grep -q 'lies 3[67] years after' "$tmp/err" || fail "long trace: $args: $(cat "$tmp/err")"
done
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["otherData"]["complete"] is False; assert len(d["traceEvents"]) > 10000' \
  "$tmp/out" || fail "long trace: export's JSON is not valid, claims to be complete, or stopped early"
echo "long trace (corrupt far in): ok"
echo "test_trace_times: ok"

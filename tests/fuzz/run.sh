#!/usr/bin/env bash
# tests/fuzz/run.sh BUILD_DIR [SECONDS] - fuzzes the trace reader and the
# cdebug-trace layers above it with the programs the build made
# (tests/fuzz/CMakeLists.txt builds them in BUILD_DIR/fuzz/).
#
# Two targets, SECONDS (default 20) shared between them:
#   fuzz_trace_reader  the reader alone (tests/fuzz/fuzz_trace_reader.c,
#                      with reader/ and base/), corpus
#                      tests/fuzz/corpus/trace_reader;
#   fuzz_trace_tools   the model, statistics, lints, reports, export, dump,
#                      diff and the view's index (tests/fuzz/fuzz_trace_tools.c,
#                      with cdebug-trace's sources but main.c and view.c),
#                      corpus tests/fuzz/corpus/trace_tools plus the reader's.
# When the build made the libFuzzer programs (BUILD_DIR/fuzz/kind says
# "libfuzzer": clang with libFuzzer was found), each runs under ASan+UBSan
# from its committed corpus. New inputs go to a scratch directory, never
# into the corpus; a crash leaves its input in BUILD_DIR/fuzz/ and fails the
# run. Otherwise ("replay") the replay programs run the corpora once.
set -euo pipefail
build="${1:?usage: run.sh BUILD_DIR [SECONDS]}"
secs="${2:-20}"
src=$(cd "$(dirname "$0")/../.." && pwd)
out="$build/fuzz"
corpus="$src/tests/fuzz/corpus/trace_reader"
tools_corpus="$src/tests/fuzz/corpus/trace_tools"
[[ $secs =~ ^[1-9][0-9]*$ ]] || { echo "fuzz: SECONDS must be a positive integer, got '$secs'" >&2; exit 2; }
[[ -f $out/kind ]] || {
  echo "fuzz: $out/kind is missing: configure $build with the tests on (CDEBUG_BUILD_TESTS)" >&2
  exit 1
}
kind=$(cat "$out/kind")
# need NAME...: the programs are built (a configured but unbuilt tree has none)
need() {
  local p
  for p in "$@"; do
    [[ -x $out/$p ]] || { echo "fuzz: $out/$p is not built (cmake --build $build)" >&2; exit 1; }
  done
}

case $kind in
libfuzzer)
  need fuzz_trace_reader fuzz_trace_tools
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  half=$(((secs + 1) / 2))
  # fuzz NAME SECONDS CORPUS...: one target from its corpora; a crash fails
  fuzz() {
    local name=$1 t=$2
    shift 2
    mkdir -p "$scratch/$name"
    echo "fuzz: $name: libFuzzer for ${t}s over $(ls "$@" | wc -l) corpus files"
    "$out/$name" -max_total_time="$t" -timeout=10 -rss_limit_mb=2048 \
      -max_len=16384 -print_final_stats=1 -artifact_prefix="$out/" "$scratch/$name" "$@" 2>"$out/$name.log" \
      || { tail -60 "$out/$name.log" >&2; echo "fuzz: $name FAILED (inputs in $out/)" >&2; exit 1; }
    grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$out/$name.log" || true
  }
  fuzz fuzz_trace_reader "$half" "$corpus"
  fuzz fuzz_trace_tools "$half" "$tools_corpus" "$corpus"
  ;;
replay)
  need replay_trace_reader replay_trace_tools
  echo "fuzz: no libFuzzer in this build; replaying the corpora"
  "$out/replay_trace_reader" "$corpus"
  "$out/replay_trace_tools" "$tools_corpus" "$corpus"
  ;;
*)
  echo "fuzz: $out/kind says '$kind', want libfuzzer or replay" >&2
  exit 1
  ;;
esac

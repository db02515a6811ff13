#!/usr/bin/env bash
# tests/fuzz/run.sh BUILD_DIR [SECONDS] - fuzzes the trace reader and the
# cdebug-trace layers above it.
#
# Two targets, SECONDS (default 20) shared between them:
#   fuzz_trace_reader  the reader alone (tests/fuzz/fuzz_trace_reader.c, built
#                      with reader/*.c), corpus tests/fuzz/corpus/trace_reader;
#   fuzz_trace_tools   the model, statistics, lints, reports, export, dump,
#                      diff and the view's index (tests/fuzz/fuzz_trace_tools.c,
#                      built with viewer/cdebug-trace/*.c but main.c and view.c),
#                      corpus tests/fuzz/corpus/trace_tools plus the reader's.
# With clang's libFuzzer (clang -fsanitize=fuzzer, Debian libclang-rt-dev):
# each is built under ASan+UBSan (-fno-sanitize-recover: a signed overflow
# is a crash) and run from its committed corpus. New inputs go to a scratch
# directory, never into the corpus; a crash leaves its input in
# BUILD_DIR/fuzz/ and fails the run.
# Without libFuzzer: builds replay.c + each target with cc (sanitizers when
# the compiler has them) and replays the corpora once.
set -euo pipefail
build="${1:?usage: run.sh BUILD_DIR [SECONDS]}"
secs="${2:-20}"
src=$(cd "$(dirname "$0")/../.." && pwd)
out="$build/fuzz"
corpus="$src/tests/fuzz/corpus/trace_reader"
tools_corpus="$src/tests/fuzz/corpus/trace_tools"
mkdir -p "$out"
sources=("$src"/reader/*.c "$src/base/error.c")
tool_sources=()
for f in "$src"/viewer/cdebug-trace/*.c; do
  case ${f##*/} in main.c | view.c) ;; *) tool_sources+=("$f") ;; esac
done
flags=(-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Werror
  -I"$src/include" -I"$src")
san=(-fsanitize=address,undefined -fno-sanitize-recover=all)

probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; return (int)n * 0; }' \
  >"$probe/p.c"
# objects CC FLAGS... -- SOURCES...: compiles each source to $out/obj/ (two
# at a time), prints the objects. The objects are reused while no source or
# header of the reader, the tools or the fuzz targets is newer than them:
# the sources are shared by both targets, and compiling them is most of a
# run's time.
objects() {
  local cc=$1 stamp="$out/obj/.stamp"
  shift
  local fl=()
  while [[ $1 != -- ]]; do fl+=("$1"); shift; done
  shift
  mkdir -p "$out/obj"
  local key
  key=$(printf '%s\n' "$cc" "${fl[@]}" | cksum)
  if [[ ! -f $stamp || $(cat "$stamp") != "$key" ]] ||
    [[ -n $(find "$src/trace" "$src/viewer/cdebug-trace" "$src/include" "$src/base/error.c" \
      "$src/tests/fuzz" -newer "$stamp" \( -name '*.c' -o -name '*.h' \) -print -quit) ]]; then
    printf '%s\n' "$@" | xargs -P 2 -I{} sh -c \
      's=$0; o="$1/obj/$(echo "$s" | tr / _).o"; shift; exec "$@" -c "$s" -o "$o"' {} "$out" "$cc" "${fl[@]}" \
      || exit 1
    echo "$key" >"$stamp"
  fi
  local f
  for f in "$@"; do echo "$out/obj/$(echo "$f" | tr / _).o"; done
}

if command -v clang >/dev/null &&
  clang -fsanitize=fuzzer "$probe/p.c" -o "$probe/p" >/dev/null 2>&1; then
  mapfile -t objs < <(objects clang "${flags[@]}" "${san[@]}" -fsanitize=fuzzer-no-link -- \
    "$src/tests/fuzz/fuzz_trace_reader.c" "$src/tests/fuzz/fuzz_trace_tools.c" \
    "${tool_sources[@]}" "${sources[@]}")
  ((${#objs[@]} > 0)) || { echo "fuzz: compiling the targets failed" >&2; exit 1; }
  common=("${objs[@]:2}")
  reader_objs=("${common[@]: -${#sources[@]}}")
  clang "${san[@]}" -fsanitize=fuzzer "${objs[0]}" "${reader_objs[@]}" -lz -o "$out/fuzz_trace_reader"
  clang "${san[@]}" -fsanitize=fuzzer "${objs[1]}" "${common[@]}" -lz -lm -o "$out/fuzz_trace_tools"
  half=$(((secs + 1) / 2))
  # fuzz NAME SECONDS CORPUS...: one target from its corpora; a crash fails
  fuzz() {
    local name=$1 t=$2 scratch="$probe/corpus-$1"
    shift 2
    mkdir -p "$scratch"
    echo "fuzz: $name: libFuzzer for ${t}s over $(ls "$@" | wc -l) corpus files"
    "$out/$name" -max_total_time="$t" -timeout=10 -rss_limit_mb=2048 \
      -max_len=16384 -print_final_stats=1 -artifact_prefix="$out/" "$scratch" "$@" 2>"$out/$name.log" \
      || { tail -60 "$out/$name.log" >&2; echo "fuzz: $name FAILED (inputs in $out/)" >&2; exit 1; }
    grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$out/$name.log" || true
  }
  fuzz fuzz_trace_reader "$half" "$corpus"
  fuzz fuzz_trace_tools "$half" "$tools_corpus" "$corpus"
else
  cc=${CC:-cc}
  if ! "$cc" "${san[@]}" "$probe/p.c" -c -o "$probe/p.o" >/dev/null 2>&1; then
    san=()
  fi
  mapfile -t objs < <(objects "$cc" "${flags[@]}" "${san[@]}" -- "$src/tests/fuzz/replay.c" \
    "$src/tests/fuzz/fuzz_trace_reader.c" "$src/tests/fuzz/fuzz_trace_tools.c" \
    "${tool_sources[@]}" "${sources[@]}")
  ((${#objs[@]} > 0)) || { echo "fuzz: compiling the targets failed" >&2; exit 1; }
  common=("${objs[@]:3}")
  reader_objs=("${common[@]: -${#sources[@]}}")
  "$cc" "${san[@]}" "${objs[0]}" "${objs[1]}" "${reader_objs[@]}" -lz -o "$out/replay_trace_reader"
  "$cc" "${san[@]}" "${objs[0]}" "${objs[2]}" "${common[@]}" -lz -lm -o "$out/replay_trace_tools"
  echo "fuzz: no libFuzzer; replaying the corpora"
  "$out/replay_trace_reader" "$corpus"
  "$out/replay_trace_tools" "$tools_corpus" "$corpus"
fi

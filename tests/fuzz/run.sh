#!/usr/bin/env bash
# tests/fuzz/run.sh BUILD_DIR [SECONDS] - fuzzes the trace reader.
#
# With clang's libFuzzer (clang -fsanitize=fuzzer, Debian libclang-rt-dev):
# builds tests/fuzz/fuzz_trace_reader.c with the reader sources directly
# (trace/reader*.c, no libcdebug, no bdwgc) under ASan+UBSan and runs it for
# SECONDS (default 20) starting from the committed corpus. New inputs go to
# a scratch directory, never into the corpus; a crash leaves its input in
# BUILD_DIR/fuzz/ and fails the run.
# Without libFuzzer: builds replay.c + the target with cc (sanitizers when
# the compiler has them) and replays the corpus once.
set -euo pipefail
build="${1:?usage: run.sh BUILD_DIR [SECONDS]}"
secs="${2:-20}"
src=$(cd "$(dirname "$0")/../.." && pwd)
out="$build/fuzz"
corpus="$src/tests/fuzz/corpus/trace_reader"
mkdir -p "$out"
sources=("$src"/trace/reader*.c "$src/runtime/error.c")
flags=(-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Wall -Wextra -Werror
  -I"$src/include" -I"$src")
san=(-fsanitize=address,undefined -fno-sanitize-recover=all)

probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
echo 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; return (int)n * 0; }' \
  >"$probe/p.c"
if command -v clang >/dev/null &&
  clang -fsanitize=fuzzer "$probe/p.c" -o "$probe/p" >/dev/null 2>&1; then
  clang "${flags[@]}" "${san[@]}" -fsanitize=fuzzer "$src/tests/fuzz/fuzz_trace_reader.c" \
    "${sources[@]}" -lz -o "$out/fuzz_trace_reader"
  scratch="$probe/corpus"
  mkdir -p "$scratch"
  echo "fuzz: libFuzzer for ${secs}s over $(ls "$corpus" | wc -l) corpus files"
  "$out/fuzz_trace_reader" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
    -max_len=16384 -print_final_stats=1 -artifact_prefix="$out/" "$scratch" "$corpus" 2>"$out/fuzz.log" \
    || { tail -60 "$out/fuzz.log" >&2; echo "fuzz: FAILED (inputs in $out/)" >&2; exit 1; }
  grep -E '^(Done|stat::number_of_executed_units|stat::new_units_added)' "$out/fuzz.log" || true
else
  cc=${CC:-cc}
  if ! "$cc" "${san[@]}" "$probe/p.c" -c -o "$probe/p.o" >/dev/null 2>&1; then
    san=()
  fi
  "$cc" "${flags[@]}" "${san[@]}" "$src/tests/fuzz/replay.c" "$src/tests/fuzz/fuzz_trace_reader.c" \
    "${sources[@]}" -lz -o "$out/replay_trace_reader"
  echo "fuzz: no libFuzzer; replaying the corpus"
  "$out/replay_trace_reader" "$corpus"
fi

#!/usr/bin/env bash
# The fuzz targets of the trace reader and of cdebug-trace's layers above it
# (model, statistics, reports, export, dump, diff, the view's index):
# libFuzzer for 18 s in all over the committed corpora when the build made
# the libFuzzer programs, else a replay of the corpora (tests/fuzz/run.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
bash "$src/tests/fuzz/run.sh" "$build" "${CDEBUG_FUZZ_SECONDS:-18}"

#!/usr/bin/env bash
# The fuzz targets of the trace reader and of cdebug-trace's layers above it
# (model, statistics, reports, export, dump, diff, the view's index):
# libFuzzer for 18 s in all over the committed corpora when clang has it,
# else a replay of the corpora (tests/fuzz/run.sh).
set -euo pipefail
exec bash "${CDEBUG_SRC:?}/tests/fuzz/run.sh" "${CDEBUG_BUILD:?}" "${CDEBUG_FUZZ_SECONDS:-18}"

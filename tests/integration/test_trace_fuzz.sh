#!/usr/bin/env bash
# The trace reader's fuzz target: libFuzzer for 18 s over the committed
# corpus when clang has it, else a replay of the corpus (tests/fuzz/run.sh).
set -euo pipefail
exec bash "${CDEBUG_SRC:?}/tests/fuzz/run.sh" "${CDEBUG_BUILD:?}" "${CDEBUG_FUZZ_SECONDS:-18}"

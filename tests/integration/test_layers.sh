#!/usr/bin/env bash
# The library's layers (docs/architecture.md): scripts/check-layers reads
# the object files of this build and fails on any call from a lower layer
# into a higher one, and on a folder-private header included elsewhere.
set -euo pipefail
exec python3 "${CDEBUG_SRC:?}/scripts/check-layers" "${CDEBUG_BUILD:?}"

#!/usr/bin/env bash
# The library's layers (docs/architecture.md): scripts/check-layers reads
# the object files of this build and fails on any call from a lower layer
# into a higher one, and on a folder-private header included elsewhere.
source "$(dirname "$0")/lib.sh"
python3 "$src/scripts/check-layers" "$build" || fail "scripts/check-layers"

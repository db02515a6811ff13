#!/usr/bin/env bash
# tests/integration/test_walkthrough.sh - docs/walkthrough.md, run: every
# ```sh block of the page runs against the build and its output must have
# the shape the page shows, so the walkthrough cannot go stale.
#
# The convention (walkthrough.py's docstring says it in full; the page
# repeats it in a comment at its top):
#   <!-- walkthrough: run NAME [timeout=S] [status=N] -->   before a ```sh block: run it
#   <!-- walkthrough: background NAME [wait=URL] -->        start it as a job (a server)
#   <!-- walkthrough: stop NAME [signal=SIG] -->            the block stops job NAME: the
#                                                           test sends SIG (default INT)
#   <!-- walkthrough: skip REASON -->                       not run, for REASON
#   a ```text block after it: the expected output, matched after normalising
#   numbers, units and hex addresses; "..." stands for lines left out;
#   <!-- expect: REGEX --> after it: REGEX must match the raw output.
# A ```sh block with no directive fails, as does a job never stopped.
#
# The blocks run in a scratch directory holding `build` (a link to the
# build under test, so the page's ./build/... paths name it) and `examples`
# (the sources, for go tool pprof's source views), with the tutorials'
# ports 5000, 6060 and 8081 replaced by free ones. Network: 127.0.0.1 only.
# Time: about a minute (loads of 2 s, profiles of 2 s).
#
# Needs go (go tool pprof), wrk and curl: make test's bootstrap installs them.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
built "$build/examples/leak" "$build/examples/search" "$build/examples/spawn" \
    "$build/examples/freq" "$build/examples/counter" "$build/viewer/cdebug-top" \
    "$build/viewer/cdebug-trace"
for t in go wrk curl python3; do
    command -v "$t" >/dev/null || fail "$t is not installed (scripts/bootstrap build test installs it)"
done

mkdir "$tmp/walk"
# go tool pprof saves every fetched profile under $PPROF_TMPDIR ($HOME/pprof
# otherwise); it must not open a browser either.
export PPROF_TMPDIR=$tmp/pprof BROWSER=true
python3 "$src/tests/integration/walkthrough.py" "$src/docs/walkthrough.md" \
    "$build" "$src" "$tmp/walk" "$@" || fail "docs/walkthrough.md: see the FAIL lines above"
echo "PASS: every block of docs/walkthrough.md ran with the output the page shows"

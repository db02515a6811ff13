#!/usr/bin/env bash
# cdebug-trace view in Firefox: the page of test_trace_view.sh's trace
# (tests/integration/prog_view_trace.c) in a real headless Firefox, Debian's
# stock firefox-esr, driven by tests/browser/view_test_firefox.py over
# Marionette (Firefox's built-in remote protocol; Playwright needs a patched
# Firefox and cannot drive this one). The same expectations as the Chromium
# test: 52 slices and 2 busy blocks for the whole trace, the "io" task 30's
# details on a click, "tiny" x 100 on the Stats page, the gc-pause lint; and
# the screenshot's pixels show every drawn task slice in its colour, and
# Firefox's console holds no error from the page.
#
# firefox-esr and python3 are prerequisites that scripts/bootstrap installs:
# when one is missing the test FAILS (it does not skip) and says what to run.
# Firefox runs on a fresh profile, with HOME, TMPDIR and the XDG directories
# in this test's temp dir, so nothing leaks between runs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
tool="$build/viewer/cdebug-trace"
gen="$build/tests/prog_view_trace"
# The driver stops Firefox; should the driver itself have been killed,
# Firefox's process group (its own session) is ended at exit.
kill_firefox() {
  local ff
  ff=$(cat "$tmp/profile/firefox.pid" 2>/dev/null || true)
  if [[ $ff =~ ^[0-9]+$ ]] && grep -qa firefox "/proc/$ff/cmdline" 2>/dev/null; then
    kill -KILL -- "-$ff" 2>/dev/null || true
  fi
}
at_exit kill_firefox

# ---- prerequisites: missing ones fail the test with the fix
firefox="${FIREFOX:-$(command -v firefox-esr || true)}"
[[ -n $firefox && -x $firefox ]] \
  || fail "firefox-esr is not installed: run scripts/bootstrap test (Debian firefox-esr)"
need python3 python3
echo "test_trace_view_firefox: $("$firefox" --version 2>/dev/null || echo "$firefox")"

"$gen" sample "$tmp/sample.trace" 2>/dev/null

# ---- the viewer: its URL within 120 s
# The files first: the background job opens them only once it runs, and
# sed on a missing file would end the script (set -e).
: >"$tmp/view.out"
: >"$tmp/view.err"
"$tool" view --no-browser-hint "$tmp/sample.trace" >"$tmp/view.out" 2>"$tmp/view.err" &
view_pid=$!
pids+=("$view_pid")
url=
for _ in $(seq 1200); do
  url=$(sed -n 's/^cdebug-trace: serving \(http:[^ ]*\)$/\1/p' "$tmp/view.out")
  [[ -n $url ]] && break
  kill -0 "$view_pid" 2>/dev/null || { cat "$tmp/view.err" >&2; fail "the viewer exited before serving"; }
  sleep 0.1
done
[[ $url =~ ^http://127\.0\.0\.1:[0-9]+/$ ]] || fail "no URL printed within 120 s (got '$url')"

# ---- the page in Firefox
mkdir -p "$tmp/home" "$tmp/tmp"
shots="$tmp/shots"
st=0
env -u DISPLAY -u WAYLAND_DISPLAY -u XDG_RUNTIME_DIR -u DBUS_SESSION_BUS_ADDRESS \
  HOME="$tmp/home" TMPDIR="$tmp/tmp" XDG_CONFIG_HOME="$tmp/home/.config" \
  XDG_CACHE_HOME="$tmp/home/.cache" XDG_DATA_HOME="$tmp/home/.local/share" \
  XDG_STATE_HOME="$tmp/home/.local/state" MOZ_HEADLESS=1 \
  timeout 300 python3 "$src/tests/browser/view_test_firefox.py" "$url" "$shots" \
  --profile="$tmp/profile" --firefox="$firefox" --slices=52 --busy=2 --click=io:30 \
  --stats-task=tiny:100 --lint=gc-pause || st=$?
if [[ $st != 0 ]]; then
  echo "---- Firefox's output:" >&2
  tail -n 40 "$shots/firefox.log" >&2 2>/dev/null || true
  if [[ -n ${CDEBUG_VIEW_SHOTS:-} ]]; then cp "$shots"/*.png "$CDEBUG_VIEW_SHOTS"/ 2>/dev/null || true; fi
  fail "the Firefox test failed (exit $st)"
fi
for png in timeline selected zoomed stats lints; do
  f="$shots/$png.png"
  [[ -f $f ]] || fail "no screenshot $png.png"
  [[ $(head -c 8 "$f" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] || fail "$png.png is not a PNG"
  size=$(wc -c <"$f")
  ((size > 10000)) || fail "$png.png is only $size bytes"
done
# 1400x900: the IHDR's width and height
[[ $(od -An -tu1 -j16 -N8 "$shots/timeline.png" | tr -s ' ' | sed 's/^ //') == "0 0 5 120 0 0 3 132" ]] \
  || fail "timeline.png is not 1400x900"
if [[ -n ${CDEBUG_VIEW_SHOTS:-} ]]; then cp "$shots"/*.png "$CDEBUG_VIEW_SHOTS"/; fi

# ---- the viewer served it all and stops cleanly
[[ ! -s $tmp/view.err ]] || fail "the viewer wrote to stderr: $(cat "$tmp/view.err")"
kill -TERM "$view_pid"
st=0
for _ in $(seq 300); do kill -0 "$view_pid" 2>/dev/null || break; sleep 0.1; done
kill -0 "$view_pid" 2>/dev/null && fail "the viewer did not stop within 30 s of SIGTERM"
wait "$view_pid" || st=$?
[[ $st == 0 ]] || fail "the viewer exited $st after SIGTERM, want 0"
echo "test_trace_view_firefox: ok"

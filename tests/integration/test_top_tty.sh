#!/usr/bin/env bash
# tests/integration/test_top_tty.sh - cdebug-top's ncurses screen, driven
# under tmux (a real terminal emulator) and read back with capture-pane.
#
# Two services side by side: a real Go program and an unreachable port.
# The screen must show the title, "[ok] go_expvar_server (host:port)" with
# its command line, "[failed] 127.0.0.1:PORT" with "connection refused",
# one panel per var titled with its name, current and max values, a
# sparkline; after a resize the layout follows the new size; q quits with
# status 0 and the terminal is given back.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
# shellcheck source=go_expvar_server/lib.sh
source "$(dirname "$0")/go_expvar_server/lib.sh"
sock="cdtop-$$-$RANDOM"
tm() { tmux -L "$sock" -f /dev/null "$@"; }
at_exit 'tm kill-server 2>/dev/null'

need tmux tmux
top=$(top_bin)
go_peer_build
go_peer_start addr -timeout 40s -churn 64 -tick 20ms
dead=$(free_port)

vars='requests,mem:memstats.Alloc,duration:latency_ns,str:version,missing'
# The command runs in a UTF-8 locale (block-element sparklines); its exit
# status lands in a file since the pane closes when it ends.
cat >"$tmp/run.sh" <<RUN
export LANG=C.UTF-8 LC_ALL=C.UTF-8
'$top' -ports='$addr,127.0.0.1:$dead' -i 200ms -vars='$vars' 2>'$tmp/stderr'
echo \$? >'$tmp/rc'
RUN
tm new-session -d -x 160 -y 48 "bash '$tmp/run.sh'"

# screen_has PATTERN SECONDS: polls capture-pane until PATTERN (grep -E)
# shows up.
screen_has() {
    local i
    for ((i = 0; i < $2 * 10 * top_slow; i++)); do
        tm capture-pane -p -t 0 >"$tmp/screen" 2>/dev/null || true
        grep -Eq -- "$1" "$tmp/screen" && return 0
        sleep 0.1
    done
    echo "---- screen ----" >&2
    cat "$tmp/screen" >&2
    [[ -f $tmp/stderr ]] && cat "$tmp/stderr" >&2
    fail "screen never showed /$1/"
}

# value of the first "requests" panel: the line under its title.
requests_now() {
    awk '/─ requests ─/ { getline; if (match($0, /│[0-9]+  max/)) { print substr($0, RSTART + 3, RLENGTH - 8); exit } }' "$tmp/screen"
}

screen_has '─ requests ─' 10
screen_has '│[0-9]+  max [0-9]+ ' 5
# Wait for a few samples so the sparklines have something to draw.
sleep 1
screen_has 'requests' 1
s=$tmp/screen
screen_shows() { grep -Eq -- "$1" "$s" || { cat "$s" >&2; fail "screen lacks /$1/"; }; }
screen_shows "cdebug-top: 2 services every 200ms, press q to quit +updated [0-9]{2}:[0-9]{2}:[0-9]{2}"
screen_shows "\[ok\] go_expvar_server \($addr\)"
screen_shows "\[failed\] 127\.0\.0\.1:$dead"
screen_shows "connection refused"
screen_shows "$tmp/go_expvar_server -addrfile"
for v in requests memstats.Alloc latency_ns version missing; do
    n=$(grep -Eo -- "─ $v ─" "$s" | wc -l)
    ((n == 2)) || { cat "$s" >&2; fail "var $v: $n panel titles, want 2 (one per service)"; }
done
screen_shows '[0-9.]+(B|KB|MB) +max [0-9.]+(B|KB|MB)'
screen_shows '(2|3)ms +max (2|3)ms'
screen_shows 'go-peer 1\.0'
screen_shows '│n/a +│'
screen_shows '[▁▂▃▄▅▆▇█]{3}'

# Counters move on screen.
r1=$(requests_now)
sleep 1
screen_has 'requests' 1
r2=$(requests_now)
[[ -n $r1 && -n $r2 ]] || { cat "$s" >&2; fail "no requests value on screen"; }
((r2 > r1)) || fail "requests did not grow on screen ($r1 -> $r2)"

# A smaller terminal: panels shrink, both services still side by side.
tm resize-window -t 0 -x 90 -y 24
sleep $((1 * top_slow))
tm capture-pane -p -t 0 >"$s"
w=$(python3 -c 'import sys; print(max(len(l) for l in open(sys.argv[1], encoding="utf-8").read().splitlines()))' "$s")
((w <= 90)) || { cat "$s" >&2; fail "screen is $w columns wide after the resize to 90"; }
screen_shows "\[ok\] go_expvar_server"
screen_shows "\[failed\] 127\.0\.0\.1:$dead"
screen_shows "requests"

tm send-keys -t 0 q
for ((i = 0; i < 50 * top_slow; i++)); do
    [[ -s $tmp/rc ]] && break
    sleep 0.1
done
[[ -s $tmp/rc ]] || fail "q did not end cdebug-top"
rc=$(cat "$tmp/rc")
if [[ $rc != 0 ]]; then
    cat "$tmp/stderr" >&2
    fail "cdebug-top exited $rc after q"
fi
[[ ! -s $tmp/stderr ]] || { cat "$tmp/stderr" >&2; fail "unexpected stderr"; }
echo "ok"

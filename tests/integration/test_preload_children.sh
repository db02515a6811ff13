#!/usr/bin/env bash
# The children rule (runtime/lineage.h, docs/preload.md): children inherit
# LD_PRELOAD and CDEBUG from a preloaded process. A child never fights for
# its parent's port and prints nothing about it; with port 0 each process
# serves a port of its own and says which; cpuprofile=FILE and trace=FILE
# in a child write FILE.PID, never the parent's file; a child given a
# CDEBUG of its own follows it.
#
# The parent is Debian's bash; the children are coreutils programs. None
# of them heard of cdebug.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http_lib.sh"
preload_env
need bash bash
if ((!preload_locale_ok)); then
    echo "SKIP: bash hangs in this build with the sanitizer's runtime preloaded (lib.sh's preload_env); unit.test_lineage covers the rule"
    exit 77
fi

# 1. A fixed port: the parent serves it; twenty children run and exit,
# none tries the port, none writes to stderr; each child's profile and
# trace are FILE.PID, the parent's FILE is its own.
port=$(free_port)
cat >"$tmp/parent.sh" <<'EOF'
for i in $(seq 20); do /bin/true; done
/usr/bin/env | grep '^CDEBUG_ROOT=' > "$1/root.txt"
# Still serving while children run: the test reads the parent's vars.
echo ready; read -r _ < "$1/go"
EOF
mkfifo "$tmp/go"
: >"$tmp/parent.out"
env LD_PRELOAD="$preload" CDEBUG="http=127.0.0.1:$port,cpuprofile=$tmp/cpu.pb.gz,trace=$tmp/run.trace" \
    bash "$tmp/parent.sh" "$tmp" >"$tmp/parent.out" 2>"$tmp/parent.err" &
parent=$!
pids+=("$parent")
wait_line parent "$parent" ready 30
code=$(fetch "http://127.0.0.1:$port/debug/vars")
[[ $code == 200 ]] || fail "parent: GET /debug/vars: $code"
python3 -c '
import json, sys
cmd = json.load(open(sys.argv[1]))["cmdline"]
assert cmd[0] == "bash", cmd' "$tmp/b" || fail "the port is not the parent's: $(head -c 300 "$tmp/b")"
echo go >"$tmp/go"
st=0
wait_pid "$parent" 30 || st=$?
((st == 0)) || fail "parent exited with status $st"
[[ ! -s $tmp/parent.err ]] || fail "children wrote to stderr: $(head -n 3 "$tmp/parent.err")"
grep -q "^CDEBUG_ROOT=$parent:" "$tmp/root.txt" || fail "children do not see the parent as their root: $(cat "$tmp/root.txt")"
[[ -s $tmp/cpu.pb.gz && -s $tmp/run.trace ]] || fail "the parent's own files are missing"
gzip -t "$tmp/cpu.pb.gz" || fail "the parent's CPU profile is not gzip"
n_cpu=$(find "$tmp" -maxdepth 1 -name 'cpu.pb.gz.*' | wc -l)
n_trace=$(find "$tmp" -maxdepth 1 -name 'run.trace.*' | wc -l)
# 21 children: twenty /bin/true and env (grep is a child too: 22).
((n_cpu >= 21 && n_trace >= 21)) || fail "children wrote $n_cpu cpu.pb.gz.PID and $n_trace run.trace.PID files, want 21 or more each"
for f in "$tmp"/cpu.pb.gz.*; do
    gzip -t "$f" || fail "$f is not gzip"
done
ok "fixed port: the parent serves it; $n_cpu children, silent, each writing FILE.PID"

# 2. Port 0: each process takes a port of its own and says which, once.
cat >"$tmp/fleet.sh" <<'EOF'
for i in 1 2 3; do sleep 5 & done
echo ready; read -r _ < "$1/go2"
kill $(jobs -p) 2>/dev/null
wait
EOF
mkfifo "$tmp/go2"
: >"$tmp/fleet.out"
env LD_PRELOAD="$preload" CDEBUG=http=127.0.0.1:0 bash "$tmp/fleet.sh" "$tmp" \
    >"$tmp/fleet.out" 2>"$tmp/fleet.err" &
fleet=$!
pids+=("$fleet")
wait_line fleet "$fleet" ready 30
for ((i = 0; i < 100; i++)); do
    (($(grep -c 'listening on port' "$tmp/fleet.err") >= 4)) && break
    sleep 0.1
done
lines=$(grep -c 'listening on port' "$tmp/fleet.err" || true)
((lines == 4)) || fail "port 0: $lines 'listening on port' lines, want 4 (bash and three sleeps)"
ports=$(awk '/listening on port/ { print $NF }' "$tmp/fleet.err" | sort -u | wc -l)
((ports == 4)) || fail "port 0: $ports distinct ports among 4 processes"
seen=""
while read -r _ _ _ p _ _ _ port; do
    code=$(fetch "http://127.0.0.1:$port/debug/vars")
    [[ $code == 200 ]] || fail "port 0: pid $p's port $port: $code"
    seen+=" $(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["cmdline"][0])' "$tmp/b")"
done < <(grep 'listening on port' "$tmp/fleet.err")
[[ $(tr ' ' '\n' <<<"$seen" | sort | tr '\n' ' ') == " bash sleep sleep sleep " ]] ||
    fail "port 0: the ports serve '$seen', want bash and three sleeps"
echo go >"$tmp/go2"
wait_pid "$fleet" 30 || true
ok "port 0: four processes, four ports, each said once"

# 3. A child given its own CDEBUG follows it: it serves its own port.
port2=$(free_port)
: >"$tmp/own.out"
env LD_PRELOAD="$preload" CDEBUG="http=127.0.0.1:$port" \
    bash -c "CDEBUG=http=127.0.0.1:$port2 sleep 5 & echo ready; wait" >"$tmp/own.out" 2>"$tmp/own.err" &
own=$!
pids+=("$own")
wait_line own "$own" ready 30
for ((i = 0; i < 100; i++)); do
    code=$(fetch "http://127.0.0.1:$port2/debug/vars")
    [[ $code == 200 ]] && break
    sleep 0.1
done
[[ $code == 200 ]] || fail "own CDEBUG: the child does not serve its port: $code"
grep -q '"sleep"' "$tmp/b" || fail "own CDEBUG: port $port2 is not the child's"
ok "a child with a CDEBUG of its own serves its own port"

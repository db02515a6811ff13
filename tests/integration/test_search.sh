#!/usr/bin/env bash
# examples/search, the profiling walkthrough's service: the search answers
# the same with and without --fixed, POST and GET both search, bad options
# are refused, and the debug routes are served on the service's own port
# (Go's import _ "net/http/pprof").
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prog="$build/examples/search"

count() { # URL [CURL-ARGS]: the result count of a search page
  local url=$1; shift
  timeout -k 5 30 curl -s "$@" "$url" | sed -n 's/.*<p>\([0-9]*\) results for.*/\1/p'
}

start slow 'open http' "$prog" --addr=127.0.0.1:0 --items=300
slow_port=${port%/search}; slow_port=${slow_port##*:}; slow_pid=$pid
start fixed 'open http' "$prog" --addr=127.0.0.1:0 --items=300 --fixed
fixed_port=${port%/search}; fixed_port=${fixed_port##*:}
grep -q 'fixed: lower-cased at load' "$tmp/fixed.out" || fail "--fixed not announced"

for term in covid-19 COVID-19 Politics zzz-none; do
  q="term=$term&cnn=on&bbc=on&nyt=on"
  a=$(count "http://127.0.0.1:$slow_port/search?$q")
  b=$(count "http://127.0.0.1:$fixed_port/search?$q" -X POST)
  [[ -n $a && $a == "$b" ]] || fail "term $term: $a results, --fixed $b"
done
[[ $(count "http://127.0.0.1:$slow_port/search?term=zzz-none&cnn=on") == 0 ]] || fail "no match"
one=$(count "http://127.0.0.1:$slow_port/search?term=covid-19&cnn=on")
all=$(count "http://127.0.0.1:$slow_port/search?term=covid-19&cnn=on&bbc=on&nyt=on")
(( one > 0 && one < all )) || fail "one feed $one, three feeds $all"
ok "search results agree with and without --fixed"

code=$(timeout -k 5 30 curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$slow_port/debug/pprof/")
[[ $code == 200 ]] || fail "debug index on the service port: $code"
# (into a file: grep -q closing the pipe early would fail curl under pipefail)
timeout -k 5 30 curl -s -o "$tmp/vars" "http://127.0.0.1:$slow_port/debug/vars" || fail "vars: curl"
grep -q '"memstats"' "$tmp/vars" || fail "vars"
code=$(timeout -k 5 30 curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$slow_port/nope")
[[ $code == 404 ]] || fail "unknown path: $code"
ok "debug routes on the service port"

# ---- the tutorial's expvarmon -vars="requests,goroutines,mem:memstats.Alloc" --
# /debug/vars has them as numbers: requests the service answered (the debug
# routes are not counted), goroutines the tasks alive now.
timeout -k 5 30 curl -s -o "$tmp/vars" "http://127.0.0.1:$slow_port/debug/vars" || fail "vars: curl"
python3 - "$tmp/vars" <<'PY' || fail "/debug/vars: requests and goroutines are not numbers (above)"
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("requests", "goroutines"):
    v = d.get(k)
    if not isinstance(v, int) or isinstance(v, bool) or v < 0:
        sys.exit(f"{k}: {v!r}")
# 4 searches, then 2 more (zzz-none, one feed, three feeds) and /nope:
# at least 7, the debug requests not among them.
if d["requests"] < 7:
    sys.exit(f"requests: {d['requests']}, want >= 7")
assert isinstance(d["memstats"]["Alloc"], int)
PY
ok "/debug/vars: requests and goroutines are numbers"

# ---- POST /debug/pprof/symbol on the service's port -------------------------
# go tool pprof POSTs addresses there; the service must pass the body on, and
# answer what the kit answers for the same addresses in the query (GET).
fn_addr() { # PID SYMBOL: the run-time address of SYMBOL in examples/search
  python3 - "$1" "$2" "$prog" <<'PY'
import subprocess, sys
pid, sym, exe = sys.argv[1], sys.argv[2], sys.argv[3]
base = None
for line in open(f"/proc/{pid}/maps"):
    f = line.split()
    if len(f) >= 6 and f[5].endswith("/examples/search") and int(f[2], 16) == 0:
        base = int(f[0].split("-")[0], 16)
        break
off = next(int(l.split()[0], 16) for l in subprocess.check_output(["nm", exe], text=True).splitlines()
           if l.split()[-1] == sym)
print(hex(base + off + 4))  # inside the function, as a return address is
PY
}
a1=$(fn_addr "$slow_pid" rss_search); a2=$(fn_addr "$slow_pid" search_task)
sym="http://127.0.0.1:$slow_port/debug/pprof/symbol"
timeout -k 5 30 curl -s -o "$tmp/sym.get" "$sym?$a1+$a2" || fail "GET symbol: curl"
timeout -k 5 30 curl -s -o "$tmp/sym.post" -X POST --data-binary "$a1+$a2" "$sym" || fail "POST symbol: curl"
grep -qx "$a1 rss_search" "$tmp/sym.get" && grep -qx "$a2 search_task" "$tmp/sym.get" ||
  { cat "$tmp/sym.get" >&2; fail "GET $sym?$a1+$a2 did not name rss_search and search_task"; }
cmp -s "$tmp/sym.get" "$tmp/sym.post" ||
  { echo "GET:" >&2; cat "$tmp/sym.get" >&2; echo "POST:" >&2; cat "$tmp/sym.post" >&2
    fail "POST $sym with body $a1+$a2 answers otherwise than GET (above)"; }
# A body past the kit's limit (CD_HTTP_BODY_MAX, 64 KiB): 413, as the kit's server.
head -c 70000 /dev/zero | tr '\0' '1' >"$tmp/big"
code=$(timeout -k 5 30 curl -s -o "$tmp/sym.big" -w '%{http_code}' -X POST --data-binary @"$tmp/big" "$sym")
[[ $code == 413 ]] || fail "POST $sym with a 70000-byte body: status $code, want 413"
ok "POST /debug/pprof/symbol on the service port answers as GET does; 413 past 64 KiB"

# ---- under load, gctrace's heap figures move ---------------------------------
# The feeds live on the collected heap: the live heap holds them (several MB
# with 3000 items a feed) and each search's garbage comes on top.
n=300; [[ -n $sanitize ]] && n=60
CDEBUG=gctrace=1 start load 'open http' "$prog" --addr=127.0.0.1:0 --items=3000
load_port=${port%/search}; load_port=${load_port##*:}
for ((i = 0; i < n; i++)); do
  echo "url = \"http://127.0.0.1:$load_port/search?term=covid-19&cnn=on&bbc=on&nyt=on\""
  echo "output = /dev/null"
done >"$tmp/load.cfg"
timeout -k 5 120 curl -s -K "$tmp/load.cfg" || fail "load: curl"
timeout -k 5 30 curl -s -o "$tmp/vars" "http://127.0.0.1:$load_port/debug/vars" || fail "vars: curl"
got=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["requests"])' "$tmp/vars")
[[ $got == "$n" ]] || fail "requests is $got after $n searches, want $n"
grep -E '^gc [0-9]+ ' "$tmp/load.err" | sed -E 's/.* ([0-9]+)->([0-9]+)->([0-9]+) MB, ([0-9]+) MB goal.*/\1 \3 \4/' >"$tmp/heap"
ngc=$(wc -l <"$tmp/heap")
((ngc >= 3)) || { show "$tmp/load.err"; fail "$ngc gc lines under $n requests, want >= 3"; }
read -r maxa maxc maxg < <(awk '$1 > a {a = $1} $2 > c {c = $2} $3 > g {g = $3} END {print a + 0, c + 0, g + 0}' "$tmp/heap")
((maxc >= 2 && maxa >= 2 && maxg >= 2)) ||
  { show "$tmp/load.err"; fail "gctrace's heap stays at ${maxa}->..->${maxc} MB, ${maxg} MB goal at most under $n requests: the feeds are not on the collected heap"; }
ok "$ngc gc lines under $n requests, heap up to ${maxa} MB, live ${maxc} MB, goal ${maxg} MB"

st=0; "$prog" --items=0 >/dev/null 2>"$tmp/bad.err" || st=$?
[[ $st == 2 ]] && grep -q '^usage:' "$tmp/bad.err" || fail "--items=0: exit $st"
st=0; "$prog" --addr=nonsense >/dev/null 2>"$tmp/bad.err" || st=$?
[[ $st == 2 ]] || fail "--addr=nonsense: exit $st"
ok "bad options"

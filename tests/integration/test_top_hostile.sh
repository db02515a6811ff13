#!/usr/bin/env bash
# tests/integration/test_top_hostile.sh - a hostile /debug/vars must not
# reach the operator's terminal or spreadsheet as anything but visible text.
#
# A small Python server on 127.0.0.1 (port 0) serves a crafted document:
# strings holding an OSC 52 clipboard write, a screen clear, CR/LF lines
# that fake a timestamp and a service line, C1 controls (U+0085, U+009B
# CSI), DEL, a bidi override; formula cells (=, +, -, @) beside plain and
# negative numbers; a cmdline with a terminal-title sequence; and, on a
# second path, a body that is not JSON and starts with ESC, whose parse
# error quotes the byte. The operator's own var name holds an ESC too.
#
#   -dummy: stdout holds no raw control byte (C0 but LF, DEL, C1) and
#     shows the escapes (\x1b]52;c;...\a, \r\n, \u0085, \u202e);
#     every line is a timestamp or a service line;
#   --csv: no raw control byte but the row ends; every cell that starts
#     with = + - @ is a number (-3, -1.5e+03) or carries the leading '
#     (=HYPERLINK(...) -> '=HYPERLINK(...)); quoting per RFC 4180;
#   the screen (under tmux): the escapes shown as text, no fake line drawn
#     by CR/LF, and no OSC, BEL or C1 in the bytes cdebug-top writes to
#     the terminal (recorded raw with pipe-pane).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
# shellcheck source=go_expvar_server/lib.sh
source "$(dirname "$0")/go_expvar_server/lib.sh"
sock="cdtop-hostile-$$-$RANDOM"
tm() { tmux -L "$sock" -f /dev/null "$@"; }
at_exit 'tm kill-server 2>/dev/null'

top=$(top_bin)

cat >"$tmp/server.py" <<'PY'
import http.server, json, sys

doc = {
    "cmdline": ["/srv/\x1b]0;pwned\x07evil", "--flag=\r\n12:00:00 01/01"],
    "osc52": "\x1b]52;c;cHduZWQ=\x07",
    "clear": "\x1b[2J\x1b[Hgone",
    "crlf": "ok\r\n12:00:00 01/01\r\n127.0.0.1:1: failed: fake",
    "c1": "a\u0085b\u009b31mc",
    "del": "x\x7fy\x08z",
    "bidi": "abc\u202edcba",
    "eq": '=HYPERLINK("http://evil.example/","click")',
    "plus": "+cmd|' /C calc'!A0",
    "minus": "-2+3+cmd|' /C calc'!A0",
    "at": "@SUM(1+1)*cmd|' /C calc'!A0",
    "spaced": " =1+1",
    "negint": -3,
    "negreal": -1.5e3,
    "negstr": "-1.5e3",
    "plain": "hello, \"world\"",
    "evil\x1b[2Jkey": 7,
}
vars_body = json.dumps(doc).encode()
bad_body = b"\x1b]52;c;cHduZWQ=\x07 not json"

class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = vars_body if self.path == "/debug/vars" else bad_body
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *a):
        pass

srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
with open(sys.argv[1], "w") as f:
    f.write("127.0.0.1:%d" % srv.server_address[1])
srv.serve_forever()
PY
python3 "$tmp/server.py" "$tmp/addr.tmp" 2>"$tmp/server.err" &
pids+=($!)
for ((i = 0; i < 100; i++)); do
    [[ -s $tmp/addr.tmp ]] && break
    sleep 0.05
done
[[ -s $tmp/addr.tmp ]] || { cat "$tmp/server.err" >&2; fail "hostile server did not start"; }
addr=$(cat "$tmp/addr.tmp")

vars=$'str:osc52,str:clear,str:crlf,str:c1,str:del,str:bidi,str:eq,str:plus,str:minus,str:at,str:spaced,negint,negreal,str:negstr,str:plain,evil\e[2Jkey'
"$top" -dummy -i 250ms -ports="$addr,http://$addr/bad" -vars="$vars" --csv "$tmp/run.csv" \
    >"$tmp/out" 2>"$tmp/err" &
pid=$!
pids+=("$pid")
sleep $((1 * top_slow)).5
kill -INT "$pid"
rc=0
wait_pid "$pid" 10 || rc=$?
show_run() {
    echo "---- stdout (cat -A) ----" >&2
    cat -A "$tmp/out" >&2
    echo "---- stderr (cat -A) ----" >&2
    cat -A "$tmp/err" >&2
}
((rc == 0)) || { show_run; fail "cdebug-top exited $rc after SIGINT"; }
[[ ! -s $tmp/err ]] || { show_run; fail "unexpected stderr"; }

python3 - "$tmp/out" "$tmp/run.csv" "$addr" <<'PY' || { show_run; exit 1; }
import csv, io, re, sys

out, csvpath, addr = sys.argv[1:4]

def fail(msg):
    sys.exit("FAIL: " + msg)

# Raw control bytes: C0 but LF, DEL, and C1 as UTF-8 (C2 80..9F) or bare.
RAW = re.compile(rb"[\x00-\x09\x0b-\x1f\x7f]|\xc2[\x80-\x9f]")

def check_bytes(name, data):
    m = RAW.search(data)
    if m:
        fail("%s holds raw control byte %r at %d: %r" % (name, m.group(), m.start(),
             data[max(0, m.start() - 30) : m.start() + 30]))
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as e:
        fail("%s is not valid UTF-8: %s" % (name, e))

# -dummy output.
data = open(out, "rb").read()
check_bytes("-dummy output", data)
lines = data.decode("utf-8").split("\n")
if lines[-1] != "":
    fail("output does not end with a newline")
lines = lines[:-1]
stamp = re.compile(r"^\d\d:\d\d:\d\d \d\d/\d\d$")
good, bad = addr + ": ", addr + ": failed: "
rounds = 0
for l in lines:
    if stamp.match(l):
        rounds += 1
    elif not l.startswith(good):
        fail("line is neither a timestamp nor a service line: %r" % l)
if rounds < 2:
    fail("only %d rounds" % rounds)
text = "\n".join(lines)
want = [
    r"osc52: \x1b]52;c;cHduZWQ=\a",
    r"clear: \x1b[2J\x1b[Hgone",
    r"crlf: ok\r\n12:00:00 01/01\r\n127.0.0.1:1: failed: fake",
    r"c1: a\u0085b\u009b31mc",
    r"del: x\x7fy\bz",
    r"bidi: abc\u202edcba",
    r"negint: -3",
    r"negreal: -1500.00",
    r"evil\x1b[2Jkey: 7",
    r"failed: invalid JSON at http://%s/bad: '[' or '{' expected near '\x1b'" % addr,
]
for w in want:
    if w not in text:
        fail("-dummy output lacks %r" % w)

# CSV.
data = open(csvpath, "rb").read()
check_bytes("csv", data.replace(b"\n", b""))
rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
if rows[0] != ["timestamp", "service", "var", "value"]:
    fail("csv header %r" % rows[0])
number = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
got = {}
for r in rows[1:]:
    if len(r) != 4:
        fail("csv row %r" % r)
    for cell in r:
        if cell[:1] in "=+-@" and not number.fullmatch(cell):
            fail("csv formula cell %r in row %r" % (cell, r))
        if cell.lstrip(" ")[:1] in ("=", "+", "-", "@") and not number.fullmatch(cell):
            fail("csv formula cell after blanks %r in row %r" % (cell, r))
    got[(r[1], r[2])] = r[3]
want = {
    "osc52": r"\x1b]52;c;cHduZWQ=\a",
    "crlf": r"ok\r\n12:00:00 01/01\r\n127.0.0.1:1: failed: fake",
    "c1": r"a\u0085b\u009b31mc",
    "eq": """'=HYPERLINK("http://evil.example/","click")""",
    "plus": "'+cmd|' /C calc'!A0",
    "minus": "'-2+3+cmd|' /C calc'!A0",
    "at": "'@SUM(1+1)*cmd|' /C calc'!A0",
    "spaced": "' =1+1",
    "negint": "-3",
    "negreal": "-1.5e+03",
    "negstr": "-1.5e3",
    "plain": 'hello, "world"',
    r"evil\x1b[2Jkey": "7",
}
for var, val in want.items():
    if got.get((addr, var)) != val:
        fail("csv %s = %r, want %r" % (var, got.get((addr, var)), val))
status = [r[3] for r in rows[1:] if r[2] == "(status)"]
if not status or not all(s.startswith("failed: invalid JSON at http://%s/bad: '[' or '{' expected near '\\x1b'" % addr) for s in status):
    fail("csv status rows %r" % status[:2])
print("ok: %d rounds, %d csv rows" % (rounds, len(rows) - 1))
PY

# The screen: what cdebug-top writes to the terminal, recorded raw with
# pipe-pane, must carry no OSC (ESC ]) nor BEL from the document; the
# escapes show as text.
need tmux tmux
cat >"$tmp/run.sh" <<RUN
export LANG=C.UTF-8 LC_ALL=C.UTF-8
'$top' -ports='$addr,http://$addr/bad' -i 200ms -vars='str:osc52,str:crlf,str:c1,str:bidi' 2>'$tmp/stderr'
echo \$? >'$tmp/rc'
RUN
tm new-session -d -x 200 -y 40 "sleep 0.3; bash '$tmp/run.sh'"
tm pipe-pane -o -t 0 "cat >'$tmp/raw'"
screen_ok=0
for ((i = 0; i < 50 * top_slow; i++)); do
    tm capture-pane -p -t 0 >"$tmp/screen" 2>/dev/null || true
    if grep -qF '\x1b]52;c;cHduZWQ=\a' "$tmp/screen" && grep -qF "expected near '\\x1b'" "$tmp/screen" &&
        grep -qF '\x1b]0;pwned\aevil --flag=\r\n12:00:00 01/01' "$tmp/screen" &&
        grep -qF 'ok\r\n12:00:00 01/01\r\n127.0.0.1:1: failed: fake' "$tmp/screen" &&
        grep -qF 'a\u0085b\u009b31mc' "$tmp/screen"; then
        screen_ok=1
        break
    fi
    sleep 0.1
done
tm send-keys -t 0 q
for ((i = 0; i < 50; i++)); do
    [[ -s $tmp/rc ]] && break
    sleep 0.1
done
if ((screen_ok == 0)); then
    echo "---- screen ----" >&2
    cat "$tmp/screen" >&2
    fail "the screen does not show the escaped strings"
fi
if grep -q '^127\.0\.0\.1:1: failed' "$tmp/screen"; then
    cat "$tmp/screen" >&2
    fail "a CR/LF from the document drew a fake line"
fi
[[ $(cat "$tmp/rc" 2>/dev/null) == 0 ]] || fail "cdebug-top (screen) did not exit 0"
python3 - "$tmp/raw" <<'PY'
import re, sys
data = open(sys.argv[1], "rb").read()
if b"press q to quit" not in data:
    sys.exit("FAIL: pipe-pane recorded no screen output (%d bytes)" % len(data))
for what, rx in (("OSC", rb"\x1b\]"), ("BEL", rb"\x07"), ("C1", rb"\xc2[\x80-\x9f]"),
                 ("screen clear from the document", rb"\x1b\[2J\x1b\[Hgone")):
    m = re.search(rx, data)
    if m:
        sys.exit("FAIL: %s reached the terminal: %r" % (what, data[max(0, m.start() - 40) : m.start() + 40]))
PY
echo "ok"

#!/usr/bin/env bash
# tests/integration/test_http_doc_routes.sh - docs/http.md's route table is
# the server's: every route the server has is a row of the table, every row
# is a route, and each row's methods and Content-Type are what the route
# answers.
#
# The server's routes are those its sources register (cd__http_route and
# cd__http_route_methods calls in http/*.c) and the profiles its index page
# (/debug/pprof/) links to, as Go's net/http/pprof index does. A route in one
# and not the other fails; so does a row whose route answers another status,
# another Content-Type, or other methods (405 and its Allow header).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http_lib.sh"

prog=$build/tests/prog_http
built "$prog"
doc=$src/docs/http.md

# ---- the doc's table: "PATH METHODS CONTENT-TYPE" per row ---------------------
python3 - "$doc" >"$tmp/doc_routes" <<'EOF' || fail "docs/http.md's route table not understood"
import re, sys
lines = open(sys.argv[1]).read().split("\n")
i = lines.index("## Routes")
rows = []
for line in lines[i + 1:]:
    if line.startswith("## "):
        break
    if rows and not line.startswith("|"):
        break                           # the first table ends
    m = re.match(r"\| `(/[^`]*)` \| ([A-Z, ]+) \| (?:`([^`]*)`)?", line)
    if m:
        methods = ",".join(sorted(x.strip() for x in m.group(2).split(",")))
        ctype = (m.group(3) or "(none)").replace(" ", "")
        rows.append(f"{m.group(1)} {methods} {ctype}")
    elif line.startswith("| `"):
        sys.exit(f"docs/http.md: route row not understood: {line}")
if not rows:
    sys.exit("docs/http.md: no route table under '## Routes'")
print("\n".join(rows))
EOF
cut -d' ' -f1 "$tmp/doc_routes" | sort >"$tmp/doc_paths"
(($(wc -l <"$tmp/doc_paths") >= 5)) || fail "docs/http.md: only $(wc -l <"$tmp/doc_paths") routes parsed"

# ---- the server's routes: its sources' registrations, its index's links -------
python3 - "$src/http" >"$tmp/src_paths" <<'EOF' || fail "http/*.c: route registrations not understood"
import glob, re, sys
out = set()
for f in glob.glob(sys.argv[1] + "/*.c"):
    text = open(f).read()
    defs = dict(re.findall(r'#define\s+(\w+)\s+"([^"]*)"', text))
    for arg in re.findall(r'cd__http_route(?:_methods)?\(\s*([^,\s]+)\s*,', text):
        if arg.startswith('"'):
            out.add(arg.strip('"'))
        elif arg in defs:
            out.add(defs[arg])
        elif arg not in ("const", "path"):      # the definitions themselves
            sys.exit(f"{f}: route path {arg} not understood")
if len(out) < 3:
    sys.exit(f"only {len(out)} routes found")
print("\n".join(sorted(out)))
EOF

start main 'listening on' "$prog" --addr=127.0.0.1:0
base=http://127.0.0.1:$port
code=$(fetch "$base/debug/pprof/")
[[ $code == 200 ]] || fail "GET /debug/pprof/: status $code"
grep -o "href='[a-z]*?debug=1'" "$tmp/b" | sed "s|href='\([a-z]*\)?debug=1'|/debug/pprof/\1|" >"$tmp/index_paths" || true
(($(wc -l <"$tmp/index_paths") >= 3)) || { cat "$tmp/b" >&2; fail "the index links to fewer than 3 profiles"; }
sort -u "$tmp/src_paths" "$tmp/index_paths" >"$tmp/server_paths"

missing=$(comm -23 "$tmp/server_paths" "$tmp/doc_paths")
extra=$(comm -13 "$tmp/server_paths" "$tmp/doc_paths")
[[ -z $missing && -z $extra ]] ||
    fail "docs/http.md's route table differs from the server's routes:" \
        "served, not in the table: [" $missing "];" "in the table, not served: [" $extra "]"
ok "docs/http.md lists the $(wc -l <"$tmp/server_paths") routes the server has"

# ---- every row: status, Content-Type, methods ----------------------------------
while read -r path methods ctype; do
    q=
    case $path in
    */profile) q='?seconds=1' ;;   # the shortest CPU profile
    */trace) q='?seconds=0.1' ;;
    esac
    code=$(fetch "$base$path$q")
    [[ $code == 200 ]] || fail "GET $path$q: status $code, docs/http.md lists it"
    got=$(header Content-Type | tr -d ' ')
    [[ $got == "$ctype" ]] || fail "GET $path: Content-Type \"$got\", docs/http.md says \"$ctype\""
    [[ ,$methods, == *,GET,* && ,$methods, == *,HEAD,* ]] || fail "$path: docs/http.md does not list GET, HEAD"
    code=$(fetch -X POST --data-binary '' "$base$path$q")
    if [[ ,$methods, == *,POST,* ]]; then
        [[ $code == 200 ]] || fail "POST $path: status $code, docs/http.md says it accepts POST"
    else
        [[ $code == 405 ]] || fail "POST $path: status $code, docs/http.md says GET, HEAD only"
        allow=$(header Allow | tr -d ' ' | tr , '\n' | sort | paste -sd,)
        [[ $allow == "$methods" ]] || fail "POST $path: Allow \"$allow\", docs/http.md says \"$methods\""
    fi
done <"$tmp/doc_routes"
ok "every route answers as its row says (status, Content-Type, methods)"
stop main "$pid"

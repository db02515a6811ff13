#!/usr/bin/env bash
# tests/integration/test_umbrella.sh - the public headers, as a user meets them.
#
#   1. <cdebug/cdebug.h> alone declares everything (umbrella_app.c uses the
#      pool, vars, tracing, profiles, the server, the reader and the errors):
#      compiled by hand against the build with -Wall -Wextra -Werror, linked
#      with -lcdebug, run, and its server answered.
#   2. The core headers need no third-party header: jansson's only through
#      <cdebug/vars_json.h>, libmicrohttpd's only through <cdebug/http_mhd.h>
#      (the preprocessor's list of included files says so).
#   3. Every public header compiles on its own, as C11 and as C++.
#
# CTest sets CDEBUG_BUILD and CDEBUG_SRC; a non-empty CDEBUG_SANITIZE builds
# the program with the same sanitizers as the library it loads.
source "$(dirname "$0")/lib.sh"
# shellcheck source=tests/integration/http_lib.sh
. "$src/tests/integration/http_lib.sh"

inc=$src/include
cflags=(-std=c11 -Wall -Wextra -Werror -I"$inc")
ldflags=(-L"$build" -lcdebug -Wl,-rpath,"$build")
if [[ -n $sanitize ]]; then
    cflags+=(-fsanitize="$sanitize")
    ldflags+=(-fsanitize="$sanitize")
fi

# 1. The umbrella consumer.
cc "${cflags[@]}" -o "$tmp/app" "$src/tests/integration/umbrella_app.c" "${ldflags[@]}" \
    2>"$tmp/cc.err" || { show "$tmp/cc.err"; fail "umbrella_app.c does not build with <cdebug/cdebug.h> alone"; }
ok "umbrella_app.c builds with <cdebug/cdebug.h> alone"
start app '^port ' "$tmp/app" "$tmp/t.trace" "$tmp/heap.txt" "$tmp/stop"
code=$(fetch "http://127.0.0.1:$port/debug/vars")
[[ $code == 200 ]] || fail "/debug/vars answered $code"
grep -q '"umbrella_requests": 3' "$tmp/b" || { show "$tmp/b"; fail "/debug/vars lacks umbrella_requests: 3"; }
grep -q '"umbrella_map": {"k": 7}' "$tmp/b" || { show "$tmp/b"; fail "/debug/vars lacks umbrella_map"; }
code=$(fetch "http://127.0.0.1:$port/debug/pprof/heap?debug=1")
[[ $code == 200 ]] || fail "/debug/pprof/heap answered $code"
: >"$tmp/stop"
wait "$pid" || fail "umbrella_app exited $?"
grep -q '^heap profile: ' "$tmp/heap.txt" || fail "cd_heapprof_write wrote no heap profile"
[[ -s $tmp/app.err ]] && { show "$tmp/app.err"; fail "umbrella_app wrote to stderr"; }
ok "umbrella_app traced, profiled, served and exited 0"

# 2. Third-party headers: only where their types are.
probe() { # probe HEADER: the files the preprocessor opens for #include HEADER
    printf '#include <%s>\n' "$1" | cc -std=c11 -I"$inc" -M -x c - 2>"$tmp/m.err" ||
        { show "$tmp/m.err"; fail "$1 does not preprocess"; }
}
deps=$(probe cdebug/cdebug.h)
for h in jansson.h microhttpd.h; do
    grep -q "/$h" <<<"$deps" && fail "<cdebug/cdebug.h> includes $h"
done
grep -q '/jansson.h' <<<"$(probe cdebug/vars_json.h)" || fail "<cdebug/vars_json.h> does not include jansson.h"
grep -q '/microhttpd.h' <<<"$(probe cdebug/http_mhd.h)" || fail "<cdebug/http_mhd.h> does not include microhttpd.h"
ok "jansson.h and microhttpd.h only through vars_json.h and http_mhd.h"

# 3. Each header on its own, as C and as C++ (the extern "C" blocks).
n=0
for h in "$inc"/cdebug/*.h; do
    name=cdebug/${h##*/}
    printf '#include <%s>\n' "$name" | cc -std=c11 -Wall -Wextra -Werror -I"$inc" -fsyntax-only -x c - \
        2>"$tmp/h.err" || { show "$tmp/h.err"; fail "$name does not compile alone (C)"; }
    printf '#include <%s>\n' "$name" | c++ -std=c++17 -Wall -Wextra -Werror -I"$inc" -fsyntax-only -x c++ - \
        2>"$tmp/h.err" || { show "$tmp/h.err"; fail "$name does not compile alone (C++)"; }
    n=$((n + 1))
done
((n >= 9)) || fail "only $n public headers found"
ok "$n public headers compile alone as C11 and C++17"
echo "umbrella: all checks passed"

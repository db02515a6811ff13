#!/usr/bin/env bash
# A project that adds cdebug with add_subdirectory(cdebug) gets the library
# and nothing else:
#   - it builds and runs consumer_app.c linked with cdebug::cdebug and with
#     cdebug::cdebug_static;
#   - the tests, tools, examples and benchmarks are off there
#     (PROJECT_IS_TOP_LEVEL): none is a target of the consumer's build,
#     none is built, CTest knows no cdebug test, and -Werror is off (a newer
#     compiler's new warning must not break someone else's build);
#   - each CDEBUG_BUILD_* option turns its part back on (configured, not
#     built), and tests without the tools and examples are refused with a
#     message that says why.
# The consumer builds cdebug from source, without sanitizers: the sanitizer
# builds skip it (it checks the build rules, the same in every build).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
if [[ -n $sanitize ]]; then
    echo "add_subdirectory: skipped under sanitizers (the consumer builds cdebug itself)"
    exit 0
fi

app=$tmp/app
mkdir -p "$app"
cp "$src/tests/integration/consumer_app.c" "$app/app.c"
cat >"$app/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(consumer C)
enable_testing()
add_subdirectory(${CDEBUG_DIR} cdebug)
add_executable(app app.c)
target_link_libraries(app PRIVATE cdebug::cdebug)
add_executable(app_static app.c)
target_link_libraries(app_static PRIVATE cdebug::cdebug_static)
CM

# configure DIR ARGS...: configures the consumer in $tmp/DIR, output in
# $tmp/DIR.{out,err}; returns cmake's status.
configure() {
    local d=$1
    shift
    cmake -G "Unix Makefiles" -S "$app" -B "$tmp/$d" -DCDEBUG_DIR="$src" "$@" \
        >"$tmp/$d.out" 2>"$tmp/$d.cfg"
}
# targets DIR: the targets of the consumer's build in $tmp/DIR, one a line.
targets() {
    cmake --build "$tmp/$1" --target help | sed -n 's/^\.\.\. \([^ ]*\).*/\1/p'
}

# ---- defaults: the library only ----------------------------------------------
configure plain || { show "$tmp/plain.cfg"; fail "configure with add_subdirectory(cdebug)"; }
targets plain >"$tmp/plain.targets"
grep -qx cdebug "$tmp/plain.targets" && grep -qx cdebug_static "$tmp/plain.targets" ||
    fail "no cdebug/cdebug_static targets: $(tr '\n' ' ' <"$tmp/plain.targets")"
for t in test_sched prog_http tsan_tests replay_trace_reader cdebug-trace cdebug-top leak freq bench_spawn; do
    grep -qx -- "$t" "$tmp/plain.targets" && fail "the consumer's build has cdebug's target $t"
done
grep -q 'CDEBUG_WERROR:BOOL=OFF' "$tmp/plain/CMakeCache.txt" || fail "CDEBUG_WERROR is not OFF in a subproject"
(cd "$tmp/plain" && ctest -N) >"$tmp/ctest.out"
grep -qx 'Total Tests: 0' "$tmp/ctest.out" || { show "$tmp/ctest.out"; fail "CTest knows cdebug's tests"; }
ok "add_subdirectory: the library's targets only, no -Werror, no tests"

cmake --build "$tmp/plain" -j 2 >"$tmp/build.out" 2>"$tmp/build.log" ||
    { show "$tmp/build.out"; show "$tmp/build.log"; fail "the consumer does not build"; }
for d in tests viewer examples bench fuzz; do
    [[ ! -e $tmp/plain/cdebug/$d ]] || fail "cdebug/$d exists in the consumer's build"
done
grep -q -- '-Werror' "$tmp/plain/cdebug/CMakeFiles/cdebug_obj.dir/flags.make" &&
    fail "cdebug's objects are compiled with -Werror in a subproject"
out=$("$tmp/plain/app")
[[ $out =~ ^n=100\ numgc=[1-9] ]] || fail "app (cdebug::cdebug) printed '$out'"
out=$("$tmp/plain/app_static")
[[ $out =~ ^n=100\ numgc=[1-9] ]] || fail "app_static (cdebug::cdebug_static) printed '$out'"
ok "add_subdirectory: both programs run; no test, tool, example or benchmark was built"

# ---- every part back on (configured only) --------------------------------------
configure all -DCDEBUG_BUILD_TESTS=ON -DCDEBUG_BUILD_TOOLS=ON -DCDEBUG_BUILD_EXAMPLES=ON \
    -DCDEBUG_BUILD_BENCH=ON || { show "$tmp/all.cfg"; fail "configure with every CDEBUG_BUILD_* on"; }
targets all >"$tmp/all.targets"
for t in test_sched prog_http tsan_tests cdebug-trace cdebug-top leak bench_spawn; do
    grep -qx -- "$t" "$tmp/all.targets" || fail "CDEBUG_BUILD_*=ON: no target $t"
done
(cd "$tmp/all" && ctest -N -L tsan) >"$tmp/ctest.out"
grep -q '^Total Tests: [1-9]' "$tmp/ctest.out" || { show "$tmp/ctest.out"; fail "CDEBUG_BUILD_TESTS=ON: no tsan tests"; }
ok "add_subdirectory: CDEBUG_BUILD_TESTS/TOOLS/EXAMPLES/BENCH=ON bring their targets back"

st=0
configure refused -DCDEBUG_BUILD_TESTS=ON || st=$?
((st != 0)) || fail "CDEBUG_BUILD_TESTS=ON without the tools and examples was accepted"
# (cmake wraps the message's lines)
tr -s ' \n' ' ' <"$tmp/refused.cfg" |
    grep -q 'CDEBUG_BUILD_TESTS=ON needs CDEBUG_BUILD_TOOLS=ON and CDEBUG_BUILD_EXAMPLES=ON' ||
    { show "$tmp/refused.cfg"; fail "the refusal does not say why"; }
ok "add_subdirectory: tests without the tools and examples are refused, with the reason"

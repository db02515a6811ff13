#!/usr/bin/env bash
# libcdebug exports only cd_ symbols; an installed tree works from a plain C
# program through pkg-config and through CMake's find_package(cdebug), with
# the shared library (whose private dependencies, cdebug.pc's
# Requires.private, stay out of the program) and with the static one (which
# brings them). test_add_subdirectory.sh builds cdebug inside a consumer.
# cdebug-run is installed into bin/ and preloads the installed library.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

# 1. Exported symbols: the public API, the malloc family when the library
# defines it (CDEBUG_MALLOC, off in sanitizer builds), the interposed
# pthread functions (runtime/pthread_create.c, runtime/pthread_locks.c),
# dlclose (runtime/dlclose.c), the close family (runtime/fdguard.c), the
# signal masks and sigsuspend (runtime/sigmask.c), and nothing else.
family=(malloc calloc realloc free posix_memalign aligned_alloc memalign valloc pvalloc malloc_usable_size)
pthreads=(pthread_create pthread_mutex_lock pthread_rwlock_rdlock pthread_rwlock_wrlock pthread_cond_wait
    pthread_cond_timedwait pthread_join sem_wait dlclose close close_range closefrom
    pthread_sigmask sigprocmask sigsuspend)
# Read once into a variable: `nm | grep -q` under pipefail fails when grep
# exits at its match before nm has written the rest (SIGPIPE), which it
# does once nm's output passes its 4 KiB stdio buffer.
exported=$(nm -D --defined-only "$build/libcdebug.so" | awk '{print $3}')
extra=$(grep -v '^cd_' <<<"$exported" | grep -vxF -f <(printf '%s\n' "${family[@]}" "${pthreads[@]}") || true)
grep -qx pthread_create <<<"$exported" ||
    fail "pthread_create is not exported: the program's threads would go unseen"
[[ -z $extra ]] || fail "non-cd_ symbols exported: $(tr '\n' ' ' <<<"$extra")"
want_family=0
[[ -z $sanitize ]] && grep -q '^CDEBUG_MALLOC:BOOL=ON$' "$build/CMakeCache.txt" && want_family=1
for sym in "${family[@]}"; do
  if grep -qx "$sym" <<<"$exported"; then
    ((want_family)) || fail "$sym exported by a build without cdebug's malloc"
  else
    ((!want_family)) || fail "$sym not exported (CDEBUG_MALLOC=ON)"
  fi
done
for sym in cd_init cd_shutdown cd_alloc cd_gc cd_read_memstats cd_go cd_wg_wait cd_strerror \
  cd_err_name cd_trace_task_begin cd_trace_region_begin cd_trace_log cd_func_new cd_http_handle; do
  grep -qx "$sym" <<<"$exported" || fail "$sym not exported"
done
# The trace annotations' names say so (a "task" alone is a pool task).
for sym in cd_task_begin cd_task_end cd_region_begin cd_region_end cd_region_begin_lit; do
  grep -qx "$sym" <<<"$exported" && fail "$sym exported: renamed cd_trace_*"
done
grep -q '^cd__' <<<"$exported" && fail "internal cd__ symbol exported"

# Consumers are built without sanitizers; an instrumented library cannot be
# loaded by them, so the sanitizer builds stop here.
if [[ -n $sanitize ]]; then
  echo "install: symbols checked; consumer builds skipped under sanitizers"
  exit 0
fi

# 2. Install into a private prefix.
cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(find "$tmp/prefix" -name 'libcdebug.so' -printf '%h\n' | head -1)
[[ -n $libdir ]] || fail "libcdebug.so not installed"
[[ -f $tmp/prefix/include/cdebug/cdebug.h ]] || fail "headers not installed"
[[ -f $libdir/pkgconfig/cdebug.pc ]] || fail "cdebug.pc not installed"
[[ -f $libdir/cmake/cdebug/cdebugConfig.cmake ]] || fail "CMake package not installed"

# 2b. cdebug-run is installed into bin/ and finds the installed library
# by itself (no --lib, no CDEBUG_RUN_LIB): the program it runs has it first
# in LD_PRELOAD.
run_bin=$tmp/prefix/bin/cdebug-run
[[ -x $run_bin ]] || fail "cdebug-run not installed into bin/"
"$run_bin" --help >"$tmp/run_help.out" 2>&1 || fail "installed cdebug-run --help failed: $(cat "$tmp/run_help.out")"
grep -q '^Usage: cdebug-run ' "$tmp/run_help.out" || fail "installed cdebug-run --help: $(head -n 1 "$tmp/run_help.out")"
preload=$(env -u CDEBUG_RUN_LIB -u LD_PRELOAD "$run_bin" --traceback=all -- env | sed -n 's/^LD_PRELOAD=//p') ||
  fail "installed cdebug-run could not run env"
[[ $preload == "$(realpath "$libdir/libcdebug.so.0")" ]] ||
  fail "installed cdebug-run preloads '$preload', want the installed $libdir/libcdebug.so.0"

# 3. pkg-config consumer.
export PKG_CONFIG_PATH="$libdir/pkgconfig"
# shellcheck disable=SC2046
cc -std=c11 -o "$tmp/app-pc" "$src/tests/integration/consumer_app.c" $(pkg-config --cflags --libs cdebug) ||
  fail "pkg-config build failed"
out=$(LD_LIBRARY_PATH="$libdir" "$tmp/app-pc")
[[ $out =~ ^n=100\ numgc=[1-9] ]] || fail "pkg-config app printed '$out'"

# 3b. The headers with third-party types, through pkg-config: their users
# ask for jansson and libmicrohttpd too (cdebug.pc lists them as private).
cat >"$tmp/app3p.c" <<'C'
#include <cdebug/cdebug.h>
#include <cdebug/http_mhd.h>
#include <cdebug/vars_json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
static json_t *answer(void *arg) { (void)arg; return json_integer(42); }
int main(void) {
    enum MHD_Result (*handle)(struct MHD_Connection *, const char *, const char *) = cd_http_handle;
    if (cd_func_new("answer", answer, NULL) != 0 || handle == NULL)
        return 1;
    char *doc = cd_vars_json();
    int ok = doc != NULL && strstr(doc, "\"answer\": 42") != NULL && cd_http_is_route("/debug/vars");
    printf("third-party headers %s\n", ok ? "ok" : "FAILED");
    free(doc);
    return !ok;
}
C
# shellcheck disable=SC2046
cc -std=c11 -o "$tmp/app3p" "$tmp/app3p.c" $(pkg-config --cflags --libs cdebug jansson libmicrohttpd) ||
  fail "pkg-config build of a vars_json.h/http_mhd.h user failed"
out=$(LD_LIBRARY_PATH="$libdir" "$tmp/app3p")
[[ $out == "third-party headers ok" ]] || fail "vars_json.h/http_mhd.h app printed '$out'"
pkg-config --print-requires cdebug | grep -q . && fail "cdebug.pc has public Requires: $(pkg-config --print-requires cdebug)"

# needed FILE: the shared libraries FILE loads (DT_NEEDED), one a line.
needed() {
  readelf -d "$1" | sed -n 's/.*(NEEDED).*\[\(.*\)\]$/\1/p'
}

# 4. CMake find_package consumers: the shared library (cdebug::cdebug) and
# the static one (cdebug::cdebug_static).
mkdir -p "$tmp/cm"
cp "$src/tests/integration/consumer_app.c" "$tmp/cm/app.c"
cat >"$tmp/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(consumer C)
find_package(cdebug REQUIRED)
add_executable(app app.c)
target_link_libraries(app PRIVATE cdebug::cdebug)
add_executable(app_static app.c)
target_link_libraries(app_static PRIVATE cdebug::cdebug_static)
CM
cmake -G "Unix Makefiles" -S "$tmp/cm" -B "$tmp/cm/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >"$tmp/cm.out" 2>"$tmp/cm.err" ||
  fail "find_package(cdebug) configure failed"
cmake --build "$tmp/cm/build" >"$tmp/cmb.out" 2>"$tmp/cmb.err" || { show "$tmp/cmb.out"; fail "find_package consumer build failed"; }
out=$(LD_LIBRARY_PATH="$libdir" "$tmp/cm/build/app")
[[ $out =~ ^n=100\ numgc=[1-9] ]] || fail "find_package app printed '$out'"
needed "$tmp/cm/build/app" | grep -qx 'libcdebug.so.0' || fail "app does not load libcdebug.so.0"
# cdebug.pc's Requires.private are the shared library's business: the
# program's link line (CMake's link.txt; what the linker then keeps depends
# on --as-needed) does not name them. The static library's does.
link=$tmp/cm/build/CMakeFiles/app.dir/link.txt
link_static=$tmp/cm/build/CMakeFiles/app_static.dir/link.txt
for lib in libgc liburcu libdw libz; do
  grep -q "/$lib[.-]" "$link" && fail "app links $lib, a private dependency of libcdebug: $(cat "$link")"
  grep -q "/$lib[.-]" "$link_static" || fail "app_static does not link $lib: $(cat "$link_static")"
done
out=$("$tmp/cm/build/app_static")
[[ $out =~ ^n=100\ numgc=[1-9] ]] || fail "find_package app_static printed '$out'"
needed "$tmp/cm/build/app_static" | grep -q '^libcdebug' && fail "app_static loads a shared libcdebug"
echo "install: all checks passed"

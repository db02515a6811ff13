#!/usr/bin/env bash
# A program linked with the installed libcdebug.a, through pkg-config
# --static and through CMake's cdebug::cdebug_static, gets everything the
# shared library gives: the constructor runs (CDEBUG=http=... starts the
# server although the program never calls cd_init), and every
# /debug/pprof/ route answers, threadcreate included (its profile once
# registered itself from an object file nothing in a static link named).
# The archive's malloc family (runtime/malloc.c, CDEBUG_MALLOC) is linked
# into the program, which then defines malloc itself: its malloc sites are
# in the heap profile.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http_lib.sh"

# Consumers are built without sanitizers; an instrumented static library
# cannot be linked into them.
if [[ -n $sanitize ]]; then
    echo "skip: static consumers are not built under sanitizers"
    exit 0
fi

cmake --install "$build" --prefix "$tmp/prefix" >/dev/null
libdir=$(find "$tmp/prefix" -name 'libcdebug.a' -printf '%h\n' | head -1)
[[ -n $libdir ]] || fail "libcdebug.a not installed"

cat >"$tmp/app.c" <<'C'
#include <cdebug/cdebug.h>
#include <cdebug/http.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
static cd_waitgroup wg;
static void work(void *arg) { (void)arg; cd_wg_done(&wg); }
static void *kept;
__attribute__((noinline)) static void static_malloc_site(void) {
    kept = malloc(1 << 20);
    __asm__ volatile("" ::: "memory");
}
int main(void) {
    static_malloc_site();
    /* No cd_init, no cd_shutdown: the constructor must have run. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    cd_wg_init(&wg);
    for (int i = 0; i < 10; i++) {
        cd_wg_add(&wg, 1);
        cd_go(work, cd_alloc(64));
    }
    cd_wg_wait(&wg);
    printf("listening on %d\n", cd_http_port());
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    return 0;
}
C

mkdir -p "$tmp/cm"
cp "$tmp/app.c" "$tmp/cm/app.c"
cat >"$tmp/cm/CMakeLists.txt" <<'CM'
cmake_minimum_required(VERSION 3.25)
project(consumer C)
find_package(cdebug REQUIRED)
add_executable(app app.c)
target_link_libraries(app PRIVATE cdebug::cdebug_static)
CM
cmake -S "$tmp/cm" -B "$tmp/cm/build" -DCMAKE_PREFIX_PATH="$tmp/prefix" >/dev/null ||
    fail "find_package(cdebug) configure failed"
cmake --build "$tmp/cm/build" >/dev/null || fail "cdebug::cdebug_static consumer build failed"

if ldd "$tmp/cm/build/app" | grep -q libcdebug; then fail "the CMake app loads libcdebug.so"; fi

# The CMake package names the shared library too, so it was configured
# first; now -lcdebug can only mean the archive.
rm -f "$libdir"/libcdebug.so*
# pkg-config: cdebug's flags and those of its private requirements, shared
# (pkg-config --static would also want every dependency's own static
# dependencies: gnutls' and the rest, which Debian's -dev packages do not
# all ship). Libs carries -Wl,--undefined=cd_init, which keeps init/ in.
export PKG_CONFIG_PATH="$libdir/pkgconfig"
# shellcheck disable=SC2046
cc -std=gnu11 -pthread -o "$tmp/app-pc" "$tmp/app.c" $(pkg-config --cflags --libs cdebug) \
    $(pkg-config --libs $(pkg-config --print-requires-private cdebug | awk '{print $1}')) ||
    fail "pkg-config build against libcdebug.a failed"
if ldd "$tmp/app-pc" | grep -q libcdebug; then fail "app-pc loads libcdebug.so"; fi

check_routes() { # NAME BINARY
    CDEBUG=http=127.0.0.1:0,memprofilerate=1 start "$1" 'listening on' "$2"
    [[ $port -gt 0 ]] || fail "$1: no debug server (cd_http_port() = $port): the constructor did not run"
    local base=http://127.0.0.1:$port code name names
    code=$(fetch "$base/debug/pprof/")
    [[ $code == 200 ]] || fail "$1: the index: status $code"
    names=$(grep -o "href='[a-z]*?debug=1'" "$tmp/b" | sed "s/href='//; s/?debug=1'//")
    for name in allocs goroutine heap threadcreate cmdline profile trace; do
        grep -qx "$name" <<<"$names" || fail "$1: $name missing from the index"
    done
    for name in $names; do
        case $name in
        profile | trace) code=$(fetch "$base/debug/pprof/$name?seconds=1") ;;
        *) code=$(fetch "$base/debug/pprof/$name?debug=1") ;;
        esac
        [[ $code == 200 ]] || fail "$1: /debug/pprof/$name: status $code"
    done
    for path in /debug/vars /metrics /debug/pprof/symbol; do
        code=$(fetch "$base$path")
        [[ $code == 200 ]] || fail "$1: $path: status $code"
    done
    if ((malloc)); then
        [[ $(fetch "$base/debug/pprof/heap?debug=1") == 200 ]] && grep -q 'static_malloc_site+' "$tmp/b" ||
            fail "$1: the program's malloc site is not in the heap profile"
    fi
    stop "$1" "$pid"
    ok "$1: static link, every route of the index answers ($(tr '\n' ' ' <<<"$names"))"
}
# With cdebug's malloc (CDEBUG_MALLOC, the default), the program defines the
# malloc family, from the archive: nm shows it in the executable.
malloc=0
if grep -q '^CDEBUG_MALLOC:BOOL=ON$' "$build/CMakeCache.txt"; then
    malloc=1
    for app in "$tmp/app-pc" "$tmp/cm/build/app"; do
        nm --defined-only "$app" | awk '$3 == "malloc" || $3 == "free" { n++ } END { exit n != 2 }' ||
            fail "${app##*/}: does not define malloc and free (libcdebug.a's runtime/malloc.o)"
    done
fi
check_routes pkgconfig "$tmp/app-pc"
check_routes cmake "$tmp/cm/build/app"

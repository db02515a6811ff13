#!/usr/bin/env bash
# A set-user-ID program linked with libcdebug takes nothing from the
# environment of whoever runs it: CDEBUG, CDMAXPROCS, CDGC and cdebug's
# other variables are read with secure_getenv, so a user cannot make the
# privileged process overwrite a root-only file (trace=), create root-owned
# files (cpuprofile=, memprofile=) or open a debug server (http=). One
# warning line says so.
#
# A real set-user-ID-root copy of prog_setuid, run through setpriv as
# nobody. The same copy without the set-user-ID bit, run as nobody with the
# same kind of settings, writes its files: the settings themselves work, so
# the first case fails if the secure-execution rule is missing.
#
# Needs root (to make a set-user-ID-root file and to become nobody); exits
# 77, which CTest reports as skipped, elsewhere.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
prog="$build/tests/prog_setuid"
built "$prog"
if [[ $(id -u) -ne 0 ]] || ! command -v setpriv >/dev/null; then
    echo "SKIP: needs root and setpriv"
    exit 77
fi
nobody_uid=$(id -u nobody)
nobody_gid=$(id -g nobody)

chmod 755 "$tmp" # nobody may enter, only root may create files here
mkdir -m 1777 "$tmp/pub"

# The set-user-ID copy finds the library through its RUNPATH (the build
# directory, read as root: the loader ignores LD_LIBRARY_PATH in a
# set-user-ID process). The plain copy runs as nobody, who may not enter
# the build directory (a clone in a private temporary directory): it loads
# a copy of the library, through LD_LIBRARY_PATH.
mkdir -m 755 "$tmp/lib"
cp -L "$build"/libcdebug.so.0 "$tmp/lib/"
chmod 644 "$tmp/lib/libcdebug.so.0"
cp "$prog" "$tmp/prog"
chown root:root "$tmp/prog"
chmod 4755 "$tmp/prog"
cp "$prog" "$tmp/plain"
chmod 755 "$tmp/plain"

printf 'root only\n' >"$tmp/secret"
chmod 600 "$tmp/secret"
sum_before=$(sha256sum <"$tmp/secret")

# A sanitizer's leak check cannot stop the threads of a process that is not
# dumpable (set-user-ID), so it is off for these runs; the sanitizer's other
# checks stay on.
san_env=()
[[ -n $sanitize ]] && san_env=("ASAN_OPTIONS=abort_on_error=1:detect_leaks=0")

as_nobody() {
    setpriv --reuid="$nobody_uid" --regid="$nobody_gid" --clear-groups \
        env -i PATH=/usr/bin:/bin "${san_env[@]}" "$@"
}

# 1. Set-user-ID root, run by nobody, with every setting that writes a file
#    or listens, and the ones that only print or tune.
cdebug="trace=$tmp/secret,cpuprofile=$tmp/cpu.pprof,memprofile=$tmp/mem.pprof"
cdebug+=",http=127.0.0.1:0,httpunsafe=1,gctrace=1,schedtrace=100,flight=5"
rc=0
as_nobody CDEBUG="$cdebug" CDMAXPROCS=1 CDGC=off CDEBUG_HTTP_TOKEN=t0ken \
    "$tmp/prog" >"$tmp/out" 2>"$tmp/err" || rc=$?
((rc == 0)) || { cat "$tmp/err" >&2; fail "set-user-ID run exited $rc"; }
out=$(cat "$tmp/out")
[[ $out =~ ^ruid=$nobody_uid\ euid=0\  ]] || fail "not a set-user-ID run: '$out'"
[[ $out == *" http_port=-"* ]] || fail "a debug server was started: '$out'"
[[ $out == *" tracing=0" ]] || fail "a trace was started: '$out'"
[[ $(sha256sum <"$tmp/secret") == "$sum_before" ]] || fail "the root-only file was overwritten"
[[ $(stat -c %U:%a "$tmp/secret") == root:600 ]] || fail "the root-only file changed owner or mode"
[[ ! -e $tmp/cpu.pprof ]] || fail "cpuprofile= created a root-owned file"
[[ ! -e $tmp/mem.pprof ]] || fail "memprofile= created a root-owned file"
nlines=$(wc -l <"$tmp/err")
warn_re='^cdebug: secure-execution process \(set-user-ID, set-group-ID or file capabilities\): CDEBUG, CDMAXPROCS, CDGC, CDEBUG_HTTP_TOKEN ignored$'
if ((nlines != 1)) || ! grep -Eq "$warn_re" "$tmp/err"; then
    cat "$tmp/err" >&2
    fail "want exactly one warning line naming the ignored variables, got $nlines lines"
fi
echo "ok: set-user-ID: no file written or created, no listener, no trace; one warning"

# 2. No cdebug variable set: not a word.
as_nobody "$tmp/prog" >"$tmp/out" 2>"$tmp/err" || fail "set-user-ID run without settings failed"
[[ ! -s $tmp/err ]] || { cat "$tmp/err" >&2; fail "a warning without any cdebug variable set"; }
echo "ok: set-user-ID without settings: silent"

# 3. Control: the same program without the set-user-ID bit, as nobody, does
#    take its settings (files in a directory nobody may write).
pub="$tmp/pub"
as_nobody LD_LIBRARY_PATH="$tmp/lib" \
    CDEBUG="trace=$pub/t.out,cpuprofile=$pub/cpu.pprof,memprofile=$pub/mem.pprof,http=127.0.0.1:0" \
    "$tmp/plain" >"$tmp/out" 2>"$tmp/err" || { cat "$tmp/err" >&2; fail "plain run failed"; }
out=$(cat "$tmp/out")
[[ $out =~ ^ruid=$nobody_uid\ euid=$nobody_uid\ http_port=[1-9][0-9]*\ tracing=1$ ]] ||
    fail "plain run did not take its settings: '$out'"
for f in t.out cpu.pprof mem.pprof; do
    [[ -s $pub/$f ]] || fail "plain run did not write $f"
done
echo "ok: without set-user-ID the same settings take effect"

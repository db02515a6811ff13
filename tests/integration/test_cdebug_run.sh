#!/usr/bin/env bash
# cdebug-run (viewer/cdebug-run, docs/cdebug-run.md): the launcher that
# preloads libcdebug into a program built without it.
#
#   - --help: the usage on stdout, status 0;
#   - a bad command line (no program, an unknown option, a missing, empty
#     or bad value, a file name with a comma): one line saying what is
#     wrong, the usage, status 2, nothing run;
#   - PROGRAM not found: 127; found but not executable (no permission, a
#     directory, neither ELF nor #!, a truncated or corrupt ELF file, cut
#     at every length up to its interpreter's name): 126, one line, never a
#     crash; 32-bit big-endian files are read as well as the host's;
#   - refused before exec with status 2 and the reason: a statically
#     linked program (static and static-pie), set-user-ID and
#     set-group-ID programs that run in secure-execution mode; a
#     set-user-ID program of the caller's own user runs (the loader
#     preloads there);
#   - the library: not found (the installed place is named), not a shared
#     object: status 2;
#   - the environment PROGRAM gets: CDEBUG merged (options win, the other
#     settings kept), CDTRACEBACK, LD_PRELOAD with libcdebug first and the
#     caller's entries after it; a #! script's interpreter is preloaded;
#     PROGRAM keeps cdebug-run's PID (exec, no fork);
#   - a real run: --http=127.0.0.1:0 serves /debug/pprof/ and /debug/vars
#     of a program that never heard of cdebug; --memprofile, --cpuprofile
#     and --trace are written at its exit (the trace read by cdebug-trace).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/http_lib.sh"
run_bin=$build/viewer/cdebug-run
built "$run_bin"
lib=$build/libcdebug.so
[[ -f $lib ]] || fail "$lib is not built"
lib_real=$(realpath "$lib")

# The program under test: prints its PID, arguments and the variables
# cdebug-run sets; "serve" keeps it running (with some malloc work) until
# the file named by its next argument exists.
cat >"$tmp/showenv.c" <<'C'
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
static void show(const char *name) {
    const char *v = getenv(name);
    printf("%s=%s\n", name, v != NULL ? v : "(unset)");
}
int main(int argc, char **argv) {
    printf("pid=%ld\n", (long)getpid());
    for (int i = 1; i < argc; i++)
        printf("arg=%s\n", argv[i]);
    show("CDEBUG");
    show("CDTRACEBACK");
    show("LD_PRELOAD");
    fflush(stdout);
    if (argc > 2 && strcmp(argv[1], "serve") == 0)
        while (access(argv[2], F_OK) != 0) {
            for (int i = 0; i < 100; i++)
                free(malloc(1000 + i));
            usleep(20000);
        }
    return 0;
}
C
cc -O1 -g -o "$tmp/showenv" "$tmp/showenv.c" || fail "compiling showenv.c"

R=("$run_bin" "--lib=$lib")

# usage_err STATUS LINE CMD...: CMD exits STATUS, its first stderr line is
# exactly LINE, the usage follows, nothing on stdout.
usage_err() {
    local want=$1 line=$2
    shift 2
    run "$want" "$@"
    [[ $(head -n 1 "$tmp/err") == "$line" ]] || fail "$*: stderr starts '$(head -n 1 "$tmp/err")', want '$line'"
    sed -n 2p "$tmp/err" | grep -q '^Usage: cdebug-run ' || fail "$*: no usage after the error"
    [[ ! -s $tmp/out ]] || fail "$*: wrote to stdout (ran something?)"
}

# one_err STATUS LINE CMD...: CMD exits STATUS with exactly the one stderr
# line LINE and nothing on stdout.
one_err() {
    local want=$1 line=$2
    shift 2
    run "$want" "$@"
    [[ $(cat "$tmp/err") == "$line" ]] || fail "$*: stderr '$(cat "$tmp/err")', want '$line'"
    [[ ! -s $tmp/out ]] || fail "$*: wrote to stdout (ran something?)"
}

# ---- the command line -----------------------------------------------------
run 0 "$run_bin" --help
head -n 1 "$tmp/out" | grep -qx 'Usage: cdebug-run \[OPTIONS\] \[--\] PROGRAM \[ARGS...\]' || fail "--help: $(head -n 1 "$tmp/out")"
grep -q -- '--traceback=LEVEL' "$tmp/out" || fail "--help does not list --traceback"
[[ ! -s $tmp/err ]] || fail "--help wrote to stderr"
run 0 "$run_bin" -h
usage_err 2 'cdebug-run: no program to run' "${R[@]}"
usage_err 2 'cdebug-run: no program to run' "${R[@]}" --http=127.0.0.1:0 --
usage_err 2 'cdebug-run: unknown option "--bogus"' "${R[@]}" --bogus=1 "$tmp/showenv"
usage_err 2 'cdebug-run: unknown option "-x"' "${R[@]}" -x "$tmp/showenv"
usage_err 2 'cdebug-run: option "--http" needs a value' "${R[@]}" --http
usage_err 2 'cdebug-run: --http: empty value' "${R[@]}" --http= "$tmp/showenv"
usage_err 2 'cdebug-run: --http: bad value "127.0.0.1" (want host:port, e.g. 127.0.0.1:6060)' \
    "${R[@]}" --http=127.0.0.1 "$tmp/showenv"
usage_err 2 'cdebug-run: --http: bad value "127.0.0.1:65536" (want host:port, e.g. 127.0.0.1:6060)' \
    "${R[@]}" --http 127.0.0.1:65536 "$tmp/showenv"
usage_err 2 'cdebug-run: --cpuprofile: "a,b.pprof" contains a comma, which CDEBUG cannot carry (commas separate its settings): choose a name without one' \
    "${R[@]}" --cpuprofile=a,b.pprof "$tmp/showenv"
usage_err 2 'cdebug-run: --memprofile: empty value' "${R[@]}" --memprofile= "$tmp/showenv"
usage_err 2 'cdebug-run: --trace: bad value "a\tb" (want a file name)' "${R[@]}" --trace=$'a\tb' "$tmp/showenv"
usage_err 2 'cdebug-run: --traceback: bad value "everything" (want none, single, all, system or crash)' \
    "${R[@]}" --traceback=everything "$tmp/showenv"
usage_err 2 'cdebug-run: --lib: empty value' "$run_bin" --lib= "$tmp/showenv"
ok "command line: --help, and one clear error with the usage, status 2, for each bad option"

# ---- the library ----------------------------------------------------------
one_err 2 "cdebug-run: cannot find libcdebug: $(dirname "$run_bin")/../lib/libcdebug.so.0: No such file or directory (not installed beside cdebug-run? use --lib=PATH or CDEBUG_RUN_LIB)" \
    env -u CDEBUG_RUN_LIB "$run_bin" "$tmp/showenv"
one_err 2 "cdebug-run: --lib=$tmp/nolib.so: No such file or directory" "$run_bin" --lib="$tmp/nolib.so" "$tmp/showenv"
one_err 2 "cdebug-run: CDEBUG_RUN_LIB=$tmp/nolib.so: No such file or directory" \
    env CDEBUG_RUN_LIB="$tmp/nolib.so" "$run_bin" "$tmp/showenv"
one_err 2 "cdebug-run: $tmp/showenv: not an ELF shared library" "$run_bin" --lib="$tmp/showenv" "$tmp/showenv"
mkdir -p "$tmp/a b"
cp "$lib_real" "$tmp/a b/libcdebug.so"
one_err 2 "cdebug-run: $tmp/a b/libcdebug.so: a library whose path has a space or a colon cannot be preloaded (LD_PRELOAD separates its entries with them)" \
    "$run_bin" --lib="$tmp/a b/libcdebug.so" "$tmp/showenv"
ok "library: missing, not a shared object, unusable name: status 2, the reason"

# ---- not found, not executable ----------------------------------------------
one_err 127 'cdebug-run: cdebug-run-no-such-program: command not found' "${R[@]}" cdebug-run-no-such-program
one_err 127 'cdebug-run: cdebug-run-no-such-program: command not found' \
    env PATH="$tmp:/nonexistent" "${R[@]}" cdebug-run-no-such-program
one_err 127 "cdebug-run: $tmp/missing: No such file or directory" "${R[@]}" "$tmp/missing"
one_err 126 "cdebug-run: $tmp: Is a directory" "${R[@]}" "$tmp"
cp "$tmp/showenv" "$tmp/noexec"
chmod 644 "$tmp/noexec"
one_err 126 "cdebug-run: $tmp/noexec: Permission denied" "${R[@]}" "$tmp/noexec"
# On PATH: a file without execute permission is passed over, as execvp
# does, and reported only when no later directory has the program.
mkdir -p "$tmp/p1" "$tmp/p2"
cp "$tmp/noexec" "$tmp/p1/prog"
one_err 126 "cdebug-run: $tmp/p1/prog: Permission denied" env PATH="$tmp/p1:$tmp/p2" "${R[@]}" prog
printf 'just text\n' >"$tmp/text"
chmod 755 "$tmp/text"
one_err 126 "cdebug-run: $tmp/text: cannot execute: neither an ELF executable nor a script starting with #!" \
    "${R[@]}" "$tmp/text"
: >"$tmp/empty"
chmod 755 "$tmp/empty"
one_err 126 "cdebug-run: $tmp/empty: cannot execute: neither an ELF executable nor a script starting with #!" \
    "${R[@]}" "$tmp/empty"
ok "not found (127), not executable (126), as a shell says"

# ---- truncated and corrupt ELF files -----------------------------------------
# Cut at every length up to the end of the interpreter's name: each is
# refused with one line, status 126 (a sanitizer build checks the reads).
read -r _ ioff _ _ ilen _ < <(readelf -lW "$tmp/showenv" | grep -m 1 '^ *INTERP ') || fail "readelf: no INTERP in showenv"
interp_end=$((ioff + ilen))
python3 - "$tmp/showenv" "$tmp/cut" "$interp_end" <<'PY'
import sys
data = open(sys.argv[1], "rb").read()
for n in range(int(sys.argv[3])):
    with open("%s.%d" % (sys.argv[2], n), "wb") as f:
        f.write(data[:n])
PY
chmod 755 "$tmp"/cut.*
for ((n = 0; n < interp_end; n++)); do
    f=$tmp/cut.$n
    st=0
    timeout 10 "${R[@]}" "$f" >"$tmp/out" 2>"$tmp/err" || st=$?
    check_sanitizer "$tmp/err"
    ((st == 126)) || fail "cut at $n bytes: status $st, want 126: $(cat "$tmp/err")"
    [[ $(wc -l <"$tmp/err") == 1 ]] || fail "cut at $n bytes: $(cat "$tmp/err")"
    case $n in
    0 | 1 | 2 | 3) want="cdebug-run: $f: cannot execute: neither an ELF executable nor a script starting with #!" ;;
    16 | 32 | 63) want="cdebug-run: $f: cannot execute: truncated ELF file: no whole ELF header (the file has $n bytes)" ;;
    $((interp_end - 1))) want="cdebug-run: $f: cannot execute: corrupt ELF file: its program interpreter's path is not in the file (the file has $n bytes)" ;;
    *) want= ;;
    esac
    [[ -z $want || $(cat "$tmp/err") == "$want" ]] || fail "cut at $n bytes: '$(cat "$tmp/err")', want '$want'"
done
# One field broken at a time (little-endian ELF64 offsets).
python3 - "$tmp/showenv" "$tmp/bad" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
phoff = struct.unpack_from("<Q", data, 32)[0]
phnum = struct.unpack_from("<H", data, 56)[0]
interp = [i for i in range(phnum) if struct.unpack_from("<I", data, phoff + 56 * i)[0] == 3][0]
def put(name, fmt, off, val):
    d = bytearray(data)
    struct.pack_into(fmt, d, off, val)
    open("%s.%s" % (sys.argv[2], name), "wb").write(d)
put("class", "<B", 4, 3)
put("order", "<B", 5, 0)
put("version", "<B", 6, 2)
put("type", "<H", 16, 1)
put("phoff", "<Q", 32, 0xffffffffffffff00)
put("phentsize", "<H", 54, 55)
put("phnum0", "<H", 56, 0)
put("xnum", "<H", 56, 0xffff)
d = bytearray(data); struct.pack_into("<H", d, 56, 0xffff); struct.pack_into("<Q", d, 40, 0xfffffffffffffff0)
open(sys.argv[2] + ".xnum_shoff", "wb").write(d)
put("interp_off", "<Q", phoff + 56 * interp + 8, 0xffffffffffffffff)
put("interp_len", "<Q", phoff + 56 * interp + 32, 0xfffffffffffffff0)
PY
chmod 755 "$tmp"/bad.*
size=$(stat -c %s "$tmp/showenv")
for c in "class:corrupt ELF file: unknown class" "order:corrupt ELF file: unknown byte order" \
    "version:corrupt ELF file: unknown version" \
    "phoff:truncated ELF file: program headers end past its end" \
    "phentsize:corrupt ELF file: wrong program header size" \
    "phnum0:corrupt ELF file: no program headers" \
    "xnum_shoff:corrupt ELF file: e_phnum is PN_XNUM and section header 0 is not in the file" \
    "interp_off:corrupt ELF file: its program interpreter's path is not in the file" \
    "interp_len:corrupt ELF file: its program interpreter's path is not in the file"; do
    one_err 126 "cdebug-run: $tmp/bad.${c%%:*}: cannot execute: ${c#*:} (the file has $size bytes)" "${R[@]}" "$tmp/bad.${c%%:*}"
done
one_err 126 "cdebug-run: $tmp/bad.type: cannot execute: an ELF file of type 1, not an executable" "${R[@]}" "$tmp/bad.type"
# PN_XNUM with a real section header 0: its sh_info (0 in an executable) is the count.
one_err 126 "cdebug-run: $tmp/bad.xnum: cannot execute: corrupt ELF file: no program headers (the file has $size bytes)" \
    "${R[@]}" "$tmp/bad.xnum"
# The other class and byte order: 32-bit big-endian files (PowerPC),
# without and with an interpreter. The first is refused as static; the
# second passes the checks and the kernel refuses it (not this machine's).
python3 - "$tmp/be32" <<'PY'
import struct, sys
def elf(interp):
    phnum = 2 if interp else 1
    phoff, ehsize = 52, 52
    data_off = phoff + 32 * phnum
    body = interp + b"\0" if interp else b""
    eh = b"\x7fELF" + bytes([1, 2, 1]) + bytes(9)
    eh += struct.pack(">HHIIIIIHHHHHH", 2, 20, 1, 0x10000000, phoff, 0, 0, ehsize, 32, phnum, 0, 0, 0)
    ph = struct.pack(">IIIIIIII", 1, 0, 0x10000000, 0x10000000, data_off + len(body), data_off + len(body), 5, 0x10000)
    if interp:
        ph += struct.pack(">IIIIIIII", 3, data_off, 0, 0, len(body), len(body), 4, 1)
    return eh + ph + body
open(sys.argv[1] + ".static", "wb").write(elf(None))
open(sys.argv[1] + ".dynamic", "wb").write(elf(b"/lib/ld.so.1"))
PY
chmod 755 "$tmp"/be32.*
one_err 2 "cdebug-run: $tmp/be32.static: statically linked (no program interpreter): the dynamic loader, which reads LD_PRELOAD, never runs for it, so cdebug cannot be preloaded; nothing run" \
    "${R[@]}" "$tmp/be32.static"
one_err 126 "cdebug-run: $tmp/be32.dynamic: cannot execute: Exec format error" "${R[@]}" "$tmp/be32.dynamic"
ok "truncated ($interp_end lengths) and corrupt ELF files: 126, one line each; 32-bit big-endian read too"

# ---- statically linked: the loader never runs ---------------------------------
static_msg="statically linked (no program interpreter): the dynamic loader, which reads LD_PRELOAD, never runs for it, so cdebug cannot be preloaded; nothing run"
if cc -static -o "$tmp/static" "$tmp/showenv.c" 2>"$tmp/cc.err"; then
    one_err 2 "cdebug-run: $tmp/static: $static_msg" "${R[@]}" "$tmp/static"
    ok "static: refused, status 2"
else
    echo "skip: cc -static failed (no libc.a? Debian libc6-dev has it): $(head -n 1 "$tmp/cc.err")"
fi
if cc -static-pie -fPIE -o "$tmp/static-pie" "$tmp/showenv.c" 2>"$tmp/cc.err"; then
    one_err 2 "cdebug-run: $tmp/static-pie: $static_msg" "${R[@]}" "$tmp/static-pie"
    ok "static-pie: refused, status 2"
else
    echo "skip: cc -static-pie failed: $(head -n 1 "$tmp/cc.err")"
fi

# ---- secure execution: the loader ignores LD_PRELOAD ----------------------------
secure_msg="it runs in secure-execution mode, where the dynamic loader ignores LD_PRELOAD, so cdebug cannot be preloaded; nothing run"
if findmnt -no OPTIONS -T "$tmp" 2>/dev/null | grep -qw nosuid; then
    echo "skip: $tmp is on a nosuid mount: set-user-ID cannot be tested there"
elif [[ $(id -u) -eq 0 ]]; then
    nobody_uid=$(id -u nobody)
    nogroup_gid=$(id -g nobody)
    cp "$tmp/showenv" "$tmp/suid"
    chown nobody "$tmp/suid"
    chmod 4755 "$tmp/suid"
    one_err 2 "cdebug-run: $tmp/suid: set-user-ID (owner uid $nobody_uid): $secure_msg" "${R[@]}" "$tmp/suid"
    cp "$tmp/showenv" "$tmp/sgid"
    chgrp "$nogroup_gid" "$tmp/sgid"
    chmod 2755 "$tmp/sgid"
    one_err 2 "cdebug-run: $tmp/sgid: set-group-ID (group gid $nogroup_gid): $secure_msg" "${R[@]}" "$tmp/sgid"
    ok "set-user-ID and set-group-ID to another user: refused, status 2"
    # Set-user-ID to the caller itself is no secure execution: it runs.
    cp "$tmp/showenv" "$tmp/suid_self"
    chmod 4755 "$tmp/suid_self"
    suid_self=1
else
    suid=$(find /usr/bin /bin -maxdepth 1 -perm -4000 -user root -type f 2>/dev/null | head -n 1)
    if [[ -n $suid ]]; then
        one_err 2 "cdebug-run: $suid: set-user-ID (owner uid 0): $secure_msg" "${R[@]}" "$suid"
        ok "set-user-ID root run by a user: refused, status 2"
    else
        echo "skip: not root and no set-user-ID root program to try"
    fi
fi

# ---- what PROGRAM gets -----------------------------------------------------------
if ((tsan)); then
    echo "SKIP: the rest preloads the library, and a ThreadSanitizer library cannot be preloaded into a program built without it"
    exit 77
fi
# A sanitizer build's library needs its runtime first in LD_PRELOAD
# (lib.sh's preload_env); cdebug-run keeps it first.
preload_env
san_rt=
[[ $preload == *" "* ]] && san_rt=${preload%% *}
other=$(realpath "$(cc -print-file-name=libm.so.6)")
[[ -f $other ]] || fail "no libm.so.6 to preload beside libcdebug"

# val NAME: the value showenv printed for NAME.
val() {
    sed -n "s/^$1=//p" "$tmp/out"
}
run 0 env CDEBUG='gctrace=0,http=127.0.0.1:1,,memprofilerate=1,cpuprofile=old' CDTRACEBACK=all \
    LD_PRELOAD="${san_rt:+$san_rt }$other" "${R[@]}" --http=127.0.0.1:0 --traceback=none \
    --cpuprofile "$tmp/c.pprof" -- "$tmp/showenv" --http=x -- y
[[ $(val CDEBUG) == "gctrace=0,memprofilerate=1,http=127.0.0.1:0,cpuprofile=$tmp/c.pprof" ]] ||
    fail "merged CDEBUG is '$(val CDEBUG)'"
[[ $(val CDTRACEBACK) == none ]] || fail "CDTRACEBACK is '$(val CDTRACEBACK)'"
[[ $(val LD_PRELOAD) == "${san_rt:+$san_rt:}$lib_real:$other" ]] || fail "LD_PRELOAD is '$(val LD_PRELOAD)'"
[[ $(sed -n 's/^arg=//p' "$tmp/out" | tr '\n' ' ') == "--http=x -- y " ]] || fail "PROGRAM's arguments: $(grep '^arg=' "$tmp/out")"
# No option: CDEBUG and CDTRACEBACK as the caller had them; libcdebug
# given twice is preloaded once.
run 0 env -u CDEBUG -u CDTRACEBACK LD_PRELOAD="${san_rt:+$san_rt:}$lib_real $other" "${R[@]}" "$tmp/showenv"
[[ $(val CDEBUG) == "(unset)" && $(val CDTRACEBACK) == "(unset)" ]] || fail "no option: CDEBUG '$(val CDEBUG)', CDTRACEBACK '$(val CDTRACEBACK)'"
[[ $(val LD_PRELOAD) == "${san_rt:+$san_rt:}$lib_real:$other" ]] || fail "LD_PRELOAD with libcdebug already there: '$(val LD_PRELOAD)'"
run 0 env CDEBUG='sigquit=0' LD_PRELOAD="$san_rt" CDEBUG_RUN_LIB="$lib" "$run_bin" --memprofile "$tmp/m" "$tmp/showenv"
[[ $(val CDEBUG) == "sigquit=0,memprofile=$tmp/m" ]] || fail "CDEBUG_RUN_LIB run: CDEBUG '$(val CDEBUG)'"
[[ $(val LD_PRELOAD) == "${san_rt:+$san_rt:}$lib_real" ]] || fail "CDEBUG_RUN_LIB run: LD_PRELOAD '$(val LD_PRELOAD)'"
ok "environment: CDEBUG merged (options win), CDTRACEBACK, LD_PRELOAD with libcdebug first"

# On PATH, a directory without the program's execute permission is passed
# over for a later one that has it, as execvp does.
cp "$tmp/showenv" "$tmp/p2/prog"
run 0 env PATH="$tmp/p1:$tmp/p2" LD_PRELOAD="$san_rt" "${R[@]}" prog
grep -q '^pid=' "$tmp/out" || fail "PATH: the executable of the second directory did not run"
ok "PATH: found in the second directory, past one without execute permission"

# A #! script: fine, its interpreter is preloaded; nothing said. Shell
# builtins only: under ASan a program that converts multibyte text (grep)
# hangs on glibc's locale lock (lib.sh's preload_env says why).
cat >"$tmp/script.sh" <<'SH'
#!/bin/sh
echo "LD_PRELOAD=$LD_PRELOAD"
n=0
while read -r l; do
    case $l in *libcdebug*) n=$((n + 1)) ;; esac
done </proc/$$/maps
echo "$n"
SH
chmod 755 "$tmp/script.sh"
run 0 env LD_PRELOAD="$san_rt" "${R[@]}" "$tmp/script.sh"
[[ ! -s $tmp/err ]] || fail "script: stderr: $(cat "$tmp/err")"
(($(tail -n 1 "$tmp/out") > 0)) || fail "script: libcdebug is not mapped into its interpreter"
ok "a #! script runs, its interpreter preloaded"

if [[ -n ${suid_self:-} ]]; then
    run 0 env LD_PRELOAD="$san_rt" "${R[@]}" "$tmp/suid_self"
    [[ $(val LD_PRELOAD) == "${san_rt:+$san_rt:}$lib_real" ]] || fail "suid_self: LD_PRELOAD '$(val LD_PRELOAD)'"
    ok "set-user-ID to the caller's own user: no secure execution, it runs"
fi

# ---- a real run -------------------------------------------------------------------
# The server on port 0: the library says the port on stderr; PROGRAM has
# cdebug-run's PID (exec, not fork).
: >"$tmp/srv.out"
: >"$tmp/srv.err"
env LD_PRELOAD="$san_rt" "${R[@]}" --http=127.0.0.1:0 --memprofile="$tmp/mem.pb.gz" \
    --cpuprofile="$tmp/cpu.pb.gz" --trace="$tmp/run.trace" --traceback=all \
    "$tmp/showenv" serve "$tmp/stop" >"$tmp/srv.out" 2>"$tmp/srv.err" &
srv=$!
pids+=("$srv")
said_port srv "$srv"
# The port is said by the library's constructor, before main prints.
wait_line srv "$srv" "pid=$srv" 10
code=$(fetch "http://127.0.0.1:$port/debug/pprof/")
[[ $code == 200 ]] || fail "GET /debug/pprof/: $code"
for p in goroutine heap profile threadcreate; do
    grep -q "$p" "$tmp/b" || fail "/debug/pprof/ does not list $p"
done
code=$(fetch "http://127.0.0.1:$port/debug/vars")
[[ $code == 200 ]] || fail "GET /debug/vars: $code"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["cmdline"][1:] == ["serve", sys.argv[2]], d["cmdline"]' "$tmp/b" "$tmp/stop" ||
    fail "/debug/vars: $(head -c 300 "$tmp/b")"
touch "$tmp/stop"
st=0
wait_pid "$srv" 30 || st=$?
((st == 0)) || { show "$tmp/srv.err"; fail "the served program exited with status $st"; }
check_sanitizer srv
gzip -t "$tmp/mem.pb.gz" 2>/dev/null || fail "--memprofile: $tmp/mem.pb.gz not written at exit"
gzip -t "$tmp/cpu.pb.gz" 2>/dev/null || fail "--cpuprofile: $tmp/cpu.pb.gz not written at exit"
timeout 60 "$build/viewer/cdebug-trace" stats "$tmp/run.trace" >"$tmp/stats.out" 2>"$tmp/stats.err" ||
    fail "--trace: cdebug-trace stats cannot read $tmp/run.trace: $(head -n 3 "$tmp/stats.err")"
ok "real run: port $port serves /debug/pprof/ and /debug/vars, one PID; memprofile, cpuprofile and trace written at exit"
echo "cdebug-run: all checks passed"

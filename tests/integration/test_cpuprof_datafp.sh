#!/usr/bin/env bash
# The CPU profiler (prof/cpuprof.c) in code built without frame pointers
# that keeps data in rbp, as Debian's redis-server does: the walk from rbp
# reads a word of that data as a return address. A return address in no
# executable mapping is not one, and the stack ends before it:
#   - a spin with rbp pointing at a record whose "return address" is a
#     heap pointer, an unmapped low address, a non-canonical value: the
#     profile's every location is in a mapping (go tool pprof -raw: M=),
#     never an <unknown> frame of garbage, and the spin is there;
#   - the same program's spin through ordinary frames keeps its callers
#     (main below it): the cut only drops what is not code (not under
#     TSan, which defers signals: too few samples).
# x86-64 only (the spin is assembly).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[[ $(uname -m) == x86_64 ]] || { echo "SKIP: the spin with a data rbp is x86-64 assembly"; exit 77; }
built "$build/libcdebug.so"
go_env

cat >"$tmp/datafp.c" <<'EOF'
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static volatile uint64_t sink;

/* Spins n rounds with rbp = rec, in assembly so the compiler cannot
 * restore rbp behind our back; 128 bytes skipped first for the red zone. */
__attribute__((noinline, optimize("omit-frame-pointer"))) static uint64_t data_spin(uint64_t n,
                                                                                  uint64_t rec)
{
    uint64_t x = 88172645463325252ull;
    __asm__ volatile("sub $128, %%rsp\n\t"
                     "push %%rbp\n\t"
                     "mov %[r], %%rbp\n\t"
                     "1:\n\t"
                     "mov %[x], %%rax\n\t"
                     "shl $13, %%rax\n\t"
                     "xor %%rax, %[x]\n\t"
                     "mov %[x], %%rax\n\t"
                     "shr $7, %%rax\n\t"
                     "xor %%rax, %[x]\n\t"
                     "dec %[n]\n\t"
                     "jnz 1b\n\t"
                     "pop %%rbp\n\t"
                     "add $128, %%rsp\n\t"
                     : [x] "+r"(x), [n] "+r"(n)
                     : [r] "r"(rec)
                     : "rax", "cc", "memory");
    return x;
}

/* The same work through ordinary frames. */
__attribute__((noinline)) static uint64_t framed_spin(uint64_t n)
{
    uint64_t x = 88172645463325252ull;
    for (uint64_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        __asm__ volatile("" : "+r"(x));
    }
    return x;
}

int main(int argc, char **argv)
{
    uint64_t n = strtoull(argv[1], NULL, 10);
    (void)argc;
    /* Frame records on this stack, each {next frame: none, "return
     * address": data}: a heap pointer (mapped, not code), an unmapped low
     * address, a non-canonical value. */
    char *heap = malloc(64);
    memset(heap, 0x5a, 64);
    uintptr_t rec[3][2] = {{0, (uintptr_t)heap + 8}, {0, 0x12340}, {0, 0x8389239d92aa41ffull}};
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < 3; i++)
            sink += data_spin(n, (uintptr_t)rec[i]);
    for (int r = 0; r < 3; r++)
        sink += framed_spin(n);
    __asm__ volatile("" ::"r"(rec) : "memory");
    free(heap);
    printf("done\n");
    return 0;
}
EOF
flags=(-O1 -g -fno-omit-frame-pointer)
[[ -n $sanitize ]] && flags+=("-fsanitize=$sanitize")
cc "${flags[@]}" -o "$tmp/datafp" "$tmp/datafp.c" -L"$build" -lcdebug -Wl,-rpath,"$build" ||
    fail "cannot build the test program"

# About 2 s of CPU in all at 1000 Hz (fewer rounds in a sanitizer build).
n=100000000
[[ -n $sanitize ]] && n=30000000
CDEBUG="cpuprofile=$tmp/cpu.pb.gz,cpuprofilerate=1000" timeout -k 5 60 "$tmp/datafp" "$n" \
    >"$tmp/datafp.out" 2>"$tmp/datafp.err" || { show "$tmp/datafp.err"; fail "datafp failed"; }
check_sanitizer datafp
grep -qx done "$tmp/datafp.out" || fail "datafp did not finish"

pp -raw "$tmp/cpu.pb.gz" >"$tmp/raw"
pp -top -nodefraction=0 "$tmp/cpu.pb.gz" >"$tmp/top"
grep -Eq ' data_spin$' "$tmp/top" || { cat "$tmp/top"; fail "data_spin is not in the profile"; }
# Locations: "ID: ADDRESS M=MAPPING FUNCTION ..."; a garbage address has
# no mapping.
sed -n '/^Locations/,/^Mappings/p' "$tmp/raw" | sed '1d;$d' >"$tmp/locs"
if grep -v ' M=' "$tmp/locs" >"$tmp/bad"; then
    cat "$tmp/locs" >&2
    fail "locations in no mapping (a data word taken for a return address): $(tr '\n' ' ' <"$tmp/bad")"
fi
ok "data in rbp: every location is in a mapping, no garbage frame"

if ((tsan)); then
    # TSan defers signals to its own safe points: a handful of samples,
    # maybe none in framed_spin.
    echo "skip: TSan defers SIGPROF: too few samples to look for framed_spin's callers"
    exit 0
fi
pp -traces -focus '^framed_spin$' "$tmp/cpu.pb.gz" >"$tmp/traces"
awk '/ framed_spin$/ { f = 1; next } f && / main$/ { m = 1 } /^-+\+/ { f = 0 } END { exit !m }' "$tmp/traces" ||
    { cat "$tmp/traces"; fail "framed_spin's stacks lost main"; }
ok "ordinary frames: framed_spin's stacks keep main"

#!/usr/bin/env bash
# Every profile but the CPU one (whose own cut test_cpuprof_datafp.sh
# checks) in code built without frame pointers that keeps data in rbp, as
# Debian's redis-server does, with libcdebug.so preloaded: the frame-pointer
# walk of the malloc interposer (runtime/malloc.c), of the lock interposers
# (runtime/contention.c) and of a thread's stack for the goroutine profile
# reads a word of that data as a return address. A "return address" in no
# executable mapping is not one, and the profile writer ends the stack
# before it (base/symbolize.h, cd__sym_cut):
#   - malloc, a contended pthread_mutex_lock and its unlock, called from
#     assembly with rbp pointing at a record whose "return address" is a
#     heap pointer, an unmapped low address, a non-canonical value: every
#     location of the heap, allocs, mutex, block and goroutine profiles is
#     in a mapping (go tool pprof -raw: M=), and the calling site
#     (data_call) is still there;
#   - their debug=1 texts (and the goroutine dump, debug=2) print no frame
#     without a name;
#   - the same program's malloc and lock through ordinary frames keep
#     their callers (main below them): the cut drops only what is not code.
# x86-64 only (the call with a data rbp is assembly). Malloc is not
# interposed in a sanitizer build: the heap part is then skipped, the rest
# runs; TSan cannot be preloaded (preload_env skips).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[[ $(uname -m) == x86_64 ]] || { echo "SKIP: the call with a data rbp is x86-64 assembly"; exit 77; }
preload_env
go_env

cat >"$tmp/datafp.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* fn(arg) called with rbp = rec, as code built without frame pointers
 * may call it: rec is a "frame record" {next: none, return address: data}.
 * After the push, rsp is 16-byte aligned for the call. */
void *data_call(void *fn, void *arg, void *rec);
__asm__(".text\n"
        ".globl data_call\n"
        ".type data_call, @function\n"
        "data_call:\n"
        "\tpush %rbp\n"
        "\tmov %rdx, %rbp\n"
        "\tmov %rdi, %rax\n"
        "\tmov %rsi, %rdi\n"
        "\tcall *%rax\n"
        "\tpop %rbp\n"
        "\tret\n"
        ".size data_call, .-data_call\n");

/* Spins until *stop with rbp = rec: a thread the goroutine profile
 * interrupts (a signal) and walks from there. */
void data_spin(volatile int *stop, void *rec);
__asm__(".text\n"
        ".globl data_spin\n"
        ".type data_spin, @function\n"
        "data_spin:\n"
        "\tpush %rbp\n"
        "\tmov %rsi, %rbp\n"
        "1:\tpause\n"
        "\tcmpl $0, (%rdi)\n"
        "\tje 1b\n"
        "\tpop %rbp\n"
        "\tret\n"
        ".size data_spin, .-data_spin\n");

static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static sem_t held;
static volatile int stop;
void *keep[1000]; /* not static: the mallocs must stay */
int nkeep;

/* Holds m a while, then unlocks it: through data_call with its own record
 * (on its stack) when arg is a word of data, else in an ordinary frame.
 * The mutex profile charges the unlock's stack. */
static void *holder(void *arg)
{
    uintptr_t rec[2] = {0, (uintptr_t)arg};
    pthread_mutex_lock(&m);
    sem_post(&held);
    usleep(20000);
    if (arg != NULL)
        data_call((void *)pthread_mutex_unlock, &m, rec);
    else
        pthread_mutex_unlock(&m);
    __asm__ volatile("" ::"r"(rec) : "memory");
    return NULL;
}

/* A thread spinning with rbp = its record (on its stack). */
static void *spinner(void *arg)
{
    uintptr_t rec[2] = {0, (uintptr_t)arg};
    data_spin(&stop, rec);
    __asm__ volatile("" ::"r"(rec) : "memory");
    return NULL;
}

__attribute__((noinline)) static void framed_malloc(void)
{
    for (int i = 0; i < 20; i++)
        keep[nkeep++] = malloc(4000);
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void framed_lock(void)
{
    pthread_mutex_lock(&m);
    __asm__ volatile("" ::: "memory");
}

/* The contended lock: holder takes m, we wait for it. */
static void contend(uintptr_t data, uintptr_t *rec)
{
    pthread_t t;
    pthread_create(&t, NULL, holder, (void *)data);
    sem_wait(&held);
    if (data != 0) {
        data_call((void *)pthread_mutex_lock, &m, rec);
    } else {
        framed_lock();
    }
    pthread_mutex_unlock(&m);
    pthread_join(t, NULL);
}

/* cdebug's writer NAME (preloaded: found at run time), to DIR/FILE. */
static void write_prof(const char *dir, const char *name, const char *file, int debug)
{
    int (*w)(int, int) = (int (*)(int, int))dlsym(RTLD_DEFAULT, name);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (w == NULL || fd < 0 || w(fd, debug) != 0) {
        fprintf(stderr, "%s: cannot write %s\n", name, path);
        exit(1);
    }
    close(fd);
}

int main(int argc, char **argv)
{
    (void)argc;
    /* Records on this stack, each {next frame: none, "return address":
     * data}: a heap pointer (mapped, not code), an unmapped low address,
     * a non-canonical value. */
    char *heap = malloc(64);
    memset(heap, 0x5a, 64);
    uintptr_t data[3] = {(uintptr_t)heap + 8, 0x12340, 0x8389239d92aa41ffull};
    uintptr_t rec[3][2] = {{0, data[0]}, {0, data[1]}, {0, data[2]}};
    sem_init(&held, 0, 0);
    for (int r = 0; r < 3; r++) {
        for (int i = 0; i < 20; i++)
            keep[nkeep++] = data_call((void *)malloc, (void *)(uintptr_t)3000, rec[r]);
        contend(data[r], rec[r]);
        framed_malloc();
        contend(0, NULL);
    }
    pthread_t p[3];
    for (int r = 0; r < 3; r++)
        pthread_create(&p[r], NULL, spinner, (void *)data[r]);
    usleep(100000); /* all three spinning */
    write_prof(argv[1], "cd_mutexprof_write", "mutex.pb.gz", 0);
    write_prof(argv[1], "cd_mutexprof_write", "mutex.txt", 1);
    write_prof(argv[1], "cd_blockprof_write", "block.pb.gz", 0);
    write_prof(argv[1], "cd_blockprof_write", "block.txt", 1);
    write_prof(argv[1], "cd_heapprof_write", "heap.txt", 1);
    write_prof(argv[1], "cd_taskprof_write", "goroutine.pb.gz", 0);
    write_prof(argv[1], "cd_taskprof_write", "goroutine.txt", 1);
    write_prof(argv[1], "cd_taskprof_write", "goroutine2.txt", 2);
    stop = 1;
    for (int r = 0; r < 3; r++)
        pthread_join(p[r], NULL);
    __asm__ volatile("" ::"r"(rec) : "memory");
    free(heap);
    printf("done\n");
    return 0;
}
EOF
# Built without cdebug and without a sanitizer: a plain program, as the
# redis-server it stands for.
cc -O1 -g -fno-omit-frame-pointer -pthread -o "$tmp/datafp" "$tmp/datafp.c" -ldl ||
    fail "cannot build the test program"

d=$tmp/out.d
mkdir -p "$d"
# env execs the program: the preload reaches it alone, never timeout.
timeout -k 5 60 env LD_PRELOAD="$preload" \
    CDEBUG="memprofilerate=1,memprofile=$d/mem.pb.gz,mutexprofilefraction=1,blockprofilerate=1" \
    "$tmp/datafp" "$d" >"$tmp/datafp.out" 2>"$tmp/datafp.err" ||
    { show "$tmp/datafp.err"; fail "datafp failed"; }
check_sanitizer datafp
grep -qx done "$tmp/datafp.out" || fail "datafp did not finish"

# every_mapped NAME FILE [SAMPLE_INDEX]: every location of the profile in a
# mapping. -raw's Locations: "ID: ADDRESS M=MAPPING FUNCTION ..."; a
# garbage address has no mapping.
every_mapped() {
    pp -raw "$2" >"$tmp/$1.raw"
    sed -n '/^Locations/,/^Mappings/p' "$tmp/$1.raw" | sed '1d;$d' >"$tmp/$1.locs"
    [[ -s $tmp/$1.locs ]] || { cat "$tmp/$1.raw" >&2; fail "$1: no locations"; }
    if grep -v ' M=' "$tmp/$1.locs" >"$tmp/$1.bad"; then
        cat "$tmp/$1.locs" >&2
        fail "$1: locations in no mapping (a data word taken for a return address): $(tr '\n' ' ' <"$tmp/$1.bad")"
    fi
}
# has_site NAME FILE FUNC [ARGS...]: FUNC has a flat value in -top.
has_site() {
    local name=$1 file=$2 f=$3
    shift 3
    pp -top -nodefraction=0 "$@" "$file" >"$tmp/$name.top"
    awk -v f="$f" '$NF == f && $1 != "0" { found = 1 } END { exit !found }' "$tmp/$name.top" ||
        { cat "$tmp/$name.top"; fail "$name: nothing charged to $f"; }
}
# keeps_main NAME FILE FUNC [ARGS...]: FUNC's stacks go on to main.
keeps_main() {
    local name=$1 file=$2 f=$3
    shift 3
    pp -traces -focus "^$f\$" "$@" "$file" >"$tmp/$name.traces"
    awk -v f="$f" '$NF == f { s = 1; next } s && $NF == "main" { m = 1 } /^-+\+/ { s = 0 } END { exit !m }' \
        "$tmp/$name.traces" || { cat "$tmp/$name.traces"; fail "$name: $f's stacks lost main"; }
}
# named_frames NAME FILE: every frame line of a debug=1 text ("#\tPC\tFUNC
# ...") names a function or file; a bare "#\tPC" is a pc in no mapping.
named_frames() {
    if grep -P '^#\t0x[0-9a-f]+\s*$' "$2" >"$tmp/$1.bare"; then
        cat "$2" >&2
        fail "$1: frames in no mapping: $(tr '\n' ' ' <"$tmp/$1.bare")"
    fi
}

if nm -D --defined-only "$build/libcdebug.so" | awk '$3 == "malloc" { f = 1 } END { exit !f }'; then
    every_mapped heap "$d/mem.pb.gz"
    has_site heap "$d/mem.pb.gz" data_call -sample_index=alloc_space
    keeps_main heap_framed "$d/mem.pb.gz" framed_malloc -sample_index=alloc_space
    named_frames heap_text "$d/heap.txt"
    grep -q 'data_call' "$d/heap.txt" || fail "heap debug=1: no data_call"
    ok "heap/allocs: every location in a mapping, data_call there, framed_malloc keeps main"
else
    echo "skip: $build/libcdebug.so does not define malloc (a sanitizer build): no heap samples"
fi

every_mapped mutex "$d/mutex.pb.gz"
has_site mutex "$d/mutex.pb.gz" data_call -sample_index=delay
named_frames mutex_text "$d/mutex.txt"
every_mapped block "$d/block.pb.gz"
has_site block "$d/block.pb.gz" data_call -sample_index=delay
keeps_main block_framed "$d/block.pb.gz" framed_lock -sample_index=delay
named_frames block_text "$d/block.txt"
ok "mutex/block: every location in a mapping, data_call there, framed_lock keeps main"

every_mapped goroutine "$d/goroutine.pb.gz"
named_frames goroutine_text "$d/goroutine.txt"
# debug=2: a frame in no file is "?(...)" / "?:0 pc=0x..".
if grep -n -A1 '^?(\.\.\.)' "$d/goroutine2.txt" >"$tmp/g2.bad"; then
    cat "$d/goroutine2.txt" >&2
    fail "goroutine debug=2: frames in no mapping: $(tr '\n' ' ' <"$tmp/g2.bad")"
fi
ok "goroutine: every location in a mapping (debug=0, 1, 2)"

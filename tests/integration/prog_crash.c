/* tests/integration/prog_crash.c - crashes on demand, for test_crash.sh.
 * Linked with the static library (tests/CMakeLists.txt's INTERNAL_PROGS):
 * some modes crash while holding one of cdebug's own locks, and a
 * constructor of its own runs before cdebug's (the chaining modes).
 *
 *   prog_crash MODE
 *
 * Every mode first starts two tasks "idler" blocked in test.idle
 * (cd_block_begin), so a report at CDTRACEBACK=all has tasks to show, then
 * prints "ready" and crashes as MODE says:
 *
 *   segv            task "crasher" (spawned by spawn_crasher) writes through
 *                   NULL in crash_null; main waits in test.main
 *   segv-main       main writes through NULL
 *   segv-thread     a pthread cdebug does not know (made by glibc's own
 *                   pthread_create) writes through NULL
 *   segv-registered a pthread registered with cd_thread_register does
 *   abort fpe ill trap bus
 *                   task "crasher": abort(), an integer division by zero,
 *                   __builtin_trap(), a breakpoint instruction, a read of a
 *                   mapped file past its end
 *   malloc          task "crasher" corrupts a chunk header and frees: glibc
 *                   aborts from inside free() with the arena's lock held
 *   overflow        task "crasher" recurses until its stack overflows
 *   overflow-main   main does
 *   gc              a collection whose root callback (GC_set_push_other_roots)
 *                   writes through NULL: the world is stopped, bdwgc's lock held
 *   registry-lock   main crashes inside cd__thread_foreach's callback: the
 *                   thread registry's lock, which the task dump needs, is held
 *   recorder-lock   task "crasher" crashes holding the trace recorder's lock
 *   wild            task "crasher" writes to address 16 (for the sanitizer
 *                   builds: not NULL, so UBSan's null check lets the fault
 *                   happen and ASan's SIGSEGV handler sees it)
 *   chain-fix       PROG_CRASH_PRIOR=segv: a SIGSEGV handler installed before
 *                   cdebug's makes a PROT_NONE page writable and returns;
 *                   main writes there, prints "resolved" and exits 0
 *   chain-fatal     PROG_CRASH_PRIOR=segv: main writes through NULL; the
 *                   earlier handler prints "prior handler" and returns
 *   quit            main waits on stdin (for SIGQUIT from the script)
 *
 * PROG_CRASH_PRIOR=segv|quit installs, from a constructor that runs before
 * cdebug's, a SIGSEGV handler (above) or a SIGQUIT handler that prints
 * "own quit handler" and exits 0.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gc/gc.h>
#include <gc/gc_mark.h>

#include <cdebug/cdebug.h>

#include "runtime/thread.h"
#include "runtime/trace_recorder.h"

static const char *mode;
static _Atomic uint32_t never; /* futex word nobody sets */
static _Atomic int idlers_in;  /* idlers blocked so far */
static int *volatile nullp;    /* a NULL the compiler cannot see */
static volatile int sink;
static void *volatile escape;

static void __attribute__((noinline)) keep(void)
{
    __asm__ volatile("" ::: "memory");
}

static void __attribute__((noinline, noipa)) crash_null(void)
{
    keep(); /* not a leaf: its frame is on the walk */
    *nullp = 42;
    keep();
}

static void block_forever(const char *reason)
{
    cd_block_begin(reason);
    for (;;)
        syscall(SYS_futex, (uint32_t *)&never, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
}

static void idler(void *arg)
{
    (void)arg;
    atomic_fetch_add(&idlers_in, 1);
    block_forever("test.idle");
}

/* ---- the ways to crash ----------------------------------------------------- */

static int __attribute__((noinline, noipa)) divide(int a, int b)
{
    keep();
    return a / b;
}

static void __attribute__((noinline)) bus_error(void)
{
    char path[] = "/tmp/prog_crash_XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0 || ftruncate(fd, 4096) != 0)
        abort();
    char *p = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
    unlink(path);
    if (p == MAP_FAILED)
        abort();
    sink = p[4096]; /* the second page has no file behind it */
}

static void __attribute__((noinline)) corrupt_heap(void)
{
    /* Two chunks past the tcache's sizes, side by side: clearing the
     * second's PREV_INUSE bit says the first is free already. free() then
     * takes the arena's lock and aborts ("double free or corruption
     * (!prev)") while holding it. */
    char *a = malloc(4000), *b = malloc(4000);
    escape = a; /* both escape: the compiler keeps every access */
    escape = b;
    size_t *volatile size_field = (size_t *)(void *)b - 1; /* glibc's chunk header */
    *size_field &= ~(size_t)1;
    free(a);
    free(b);
}

static int __attribute__((noinline)) recurse(int depth)
{
    volatile char pad[512];
    pad[0] = (char)depth;
    keep();
    if (sink == -1) /* never: bounded for the compiler */
        return depth;
    int r = recurse(depth + 1) + pad[0];
    keep();
    return r;
}

/* keep() after the calls below: no tail call, every frame on the stack. */
static void on_thread_crash(cd__thread *t, void *ctx)
{
    (void)t;
    (void)ctx;
    crash_null();
    keep();
}

static void push_roots_crash(void)
{
    crash_null();
    keep();
}

static void __attribute__((noinline)) crash_here(void)
{
    if (strcmp(mode, "abort") == 0)
        abort();
    if (strcmp(mode, "fpe") == 0)
        sink = divide(1, sink * 0);
    if (strcmp(mode, "ill") == 0)
        __builtin_trap();
    if (strcmp(mode, "trap") == 0) {
#if defined(__x86_64__)
        __asm__ volatile("int3");
#elif defined(__aarch64__)
        __asm__ volatile("brk #0");
#else
        raise(SIGTRAP);
#endif
    }
    if (strcmp(mode, "bus") == 0)
        bus_error();
    if (strcmp(mode, "malloc") == 0)
        corrupt_heap();
    if (strcmp(mode, "overflow") == 0 || strcmp(mode, "overflow-main") == 0)
        sink = recurse(0);
    if (strcmp(mode, "recorder-lock") == 0)
        cd__trace_states_lock();
    if (strcmp(mode, "wild") == 0)
        *(volatile int *)(uintptr_t)(sink + 16) = 1; /* not NULL: no UBSan check */
    crash_null();
    keep();
}

static void crasher(void *arg)
{
    (void)arg;
    crash_here();
    keep();
}

static void __attribute__((noinline)) spawn_crasher(void)
{
    if (cd_go_named("crasher", crasher, NULL) != 0)
        abort();
    keep();
}

static void *thread_main(void *arg)
{
    if (arg != NULL && cd_thread_register() != 0)
        abort();
    crash_null();
    return NULL;
}

/* ---- handlers installed before cdebug's ---------------------------------- */

static char *volatile guard; /* PROT_NONE until the earlier handler opens it */

static void prior_segv(int sig, siginfo_t *si, void *uc)
{
    (void)sig;
    (void)uc;
    static const char msg[] = "prior handler\n";
    (void)!write(2, msg, sizeof msg - 1);
    if (guard != NULL && (char *)si->si_addr >= guard && (char *)si->si_addr < guard + 4096)
        mprotect(guard, 4096, PROT_READ | PROT_WRITE);
}

static void own_quit(int sig)
{
    (void)sig;
    static const char msg[] = "own quit handler\n";
    (void)!write(1, msg, sizeof msg - 1);
    _exit(0);
}

/* Before cdebug's constructor (cd_init): same executable, lower priority. */
__attribute__((constructor(101))) static void install_prior(void)
{
    const char *p = getenv("PROG_CRASH_PRIOR");
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    if (p != NULL && strcmp(p, "segv") == 0) {
        sa.sa_sigaction = prior_segv;
        sa.sa_flags = SA_SIGINFO;
        sigaction(SIGSEGV, &sa, NULL);
    } else if (p != NULL && strcmp(p, "quit") == 0) {
        sa.sa_handler = own_quit;
        sigaction(SIGQUIT, &sa, NULL);
    }
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: prog_crash MODE\n");
        return 1;
    }
    mode = argv[1];
    setvbuf(stdout, NULL, _IONBF, 0);
    for (int i = 0; i < 2; i++)
        if (cd_go_named("idler", idler, NULL) != 0)
            abort();
    while (atomic_load(&idlers_in) < 2)
        usleep(1000);
    usleep(20000); /* into their futex wait */
    printf("ready\n");

    if (strcmp(mode, "quit") == 0) {
        char c;
        while (read(0, &c, 1) != 0)
            ;
        return 0;
    }
    if (strcmp(mode, "chain-fix") == 0) {
        guard = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        guard[8] = 1; /* faults once; the earlier handler opens the page */
        printf("resolved %d\n", guard[8]);
        return 0;
    }
    if (strcmp(mode, "segv-main") == 0 || strcmp(mode, "overflow-main") == 0 ||
        strcmp(mode, "chain-fatal") == 0) {
        crash_here();
    } else if (strcmp(mode, "segv-thread") == 0 || strcmp(mode, "segv-registered") == 0) {
        /* A thread cdebug does not know: made by glibc's own
         * pthread_create, which cdebug's (runtime/pthread_create.c) would
         * otherwise stand in front of. */
        int (*create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *) =
            pthread_create;
        void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
        if (strcmp(mode, "segv-thread") == 0 && libc != NULL)
            create = (int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))dlsym(
                libc, "pthread_create");
        if (create == NULL)
            return 1;
        pthread_t th;
        create(&th, NULL, thread_main, strcmp(mode, "segv-registered") == 0 ? "r" : NULL);
        pthread_join(th, NULL);
    } else if (strcmp(mode, "gc") == 0) {
        GC_set_push_other_roots(push_roots_crash);
        GC_gcollect();
    } else if (strcmp(mode, "registry-lock") == 0) {
        cd__thread_foreach(on_thread_crash, NULL);
    } else {
        spawn_crasher();
    }
    block_forever("test.main");
}

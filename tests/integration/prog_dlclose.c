/* tests/integration/prog_dlclose.c - profiles across dlclose, for
 * test_dlclose.sh. LIBA and LIBB are tests/integration/dlclose_lib.c built
 * with -DVARIANT=a_ and b_.
 *
 *   prog_dlclose stale DIR LIBA
 *       dlopens LIBA, starts a CPU profile at 1000 Hz into DIR/cpu.pb.gz,
 *       dlcloses LIBA (checks that its code is unmapped), then for about
 *       300 ms of CPU runs a frameless loop whose lowest stack word is an
 *       address in LIBA's former code: a stale return address, as a
 *       function's uninitialized stack slot may hold after a call into a
 *       library unloaded since. The CPU profiler looks at that word on
 *       every sample (is it a return address?). Prints "done". x86-64
 *       only (elsewhere prints "skip" and exits 77).
 *
 *   prog_dlclose serve LIBA LIBB ROUNDS
 *       prints "port N" (CDEBUG=http=127.0.0.1:0), then ROUNDS rounds,
 *       round i with LIBA when i is even and LIBB when odd, one at a time:
 *       dlopen, print "round I V BASE" (the library's load address), then,
 *       from via_a or via_b (the main program's function that names the
 *       library the stack below it runs in): dlclose_V_burn for 5 ms of
 *       CPU, dlclose_V_alloc (4 malloc and 4 cd_alloc of 1000 bytes, kept
 *       until exit), dlclose_V_lock on a mutex a helper thread holds 1 ms
 *       at a time; then dlclose. Then dlopens LIBB once more and keeps it
 *       (the profiles written from then on find LIBB where LIBA was),
 *       prints "rounds done" and waits for SIGTERM, then prints "ok".
 * Public API only; links the shared library.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cdebug/cdebug.h>

#if defined(__clang__)
#define KEEP __attribute__((noinline))
#else
#define KEEP __attribute__((noipa))
#endif

#define NOBJ 4

typedef struct lib {
    const char *path, *variant;
    void *h;
    uint64_t (*burn)(int64_t);
    void (*alloc)(void **, int, size_t);
    void (*lock)(pthread_mutex_t *);
} lib;

static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void die(const char *what, const char *why)
{
    fprintf(stderr, "prog_dlclose: %s: %s\n", what, why);
    exit(1);
}

static void *sym(lib *l, const char *name)
{
    char s[128];
    snprintf(s, sizeof s, "dlclose_%s_%s", l->variant, name);
    void *f = dlsym(l->h, s);
    if (f == NULL)
        die(s, dlerror());
    return f;
}

static void lib_open(lib *l)
{
    l->h = dlopen(l->path, RTLD_NOW | RTLD_LOCAL);
    if (l->h == NULL)
        die("dlopen", dlerror());
    l->burn = (uint64_t (*)(int64_t))sym(l, "burn");
    l->alloc = (void (*)(void **, int, size_t))sym(l, "alloc");
    l->lock = (void (*)(pthread_mutex_t *))sym(l, "lock");
}

static void lib_close(lib *l)
{
    if (dlclose(l->h) != 0)
        die("dlclose", dlerror());
    l->h = NULL;
}

/* Whether addr lies in a mapping of /proc/self/maps. */
static int mapped(uintptr_t addr)
{
    FILE *f = fopen("/proc/self/maps", "re");
    if (f == NULL)
        die("/proc/self/maps", strerror(errno));
    char line[4096 + 128];
    int found = 0;
    while (!found && fgets(line, sizeof line, f) != NULL) {
        uintptr_t lo, hi;
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &lo, &hi) == 2 && addr >= lo && addr < hi)
            found = 1;
    }
    fclose(f);
    return found;
}

/* ---- stale ----------------------------------------------------------------- */

#if defined(__x86_64__)
/* n rounds of an empty loop with `stale` as the lowest word of the stack,
 * and no call: the CPU profiler's samples see it at the stack pointer.
 * The 128 bytes below the stack pointer (the red zone) are stepped over
 * first: the compiler may keep this function's locals there. */
static KEEP void spin_stale(uintptr_t stale, uint64_t n)
{
    __asm__ volatile("sub $128, %%rsp\n\t"
                     "push %0\n\t"
                     "1: dec %1\n\t"
                     "jnz 1b\n\t"
                     "add $136, %%rsp\n\t"
                     : "+r"(stale), "+r"(n)
                     :
                     : "memory", "cc");
}
#endif

static int stale(const char *dir, const char *path)
{
#if defined(__x86_64__)
    lib a = {.path = path, .variant = "a"};
    lib_open(&a);
    /* Inside the function's code, well past its start. */
    uintptr_t addr = (uintptr_t)a.burn + 16;
    char out[4096];
    snprintf(out, sizeof out, "%s/cpu.pb.gz", dir);
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        die(out, strerror(errno));
    int rc = cd_cpuprof_start(fd, 1000);
    if (rc != 0)
        die("cd_cpuprof_start", cd_strerror(rc));
    lib_close(&a);
    if (mapped(addr))
        die("dlclose", "the library's code is still mapped");
    int64_t t0 = cpu_ns();
    while (cpu_ns() - t0 < 300000000)
        spin_stale(addr, 1000000);
    rc = cd_cpuprof_stop();
    if (rc != 0)
        die("cd_cpuprof_stop", cd_strerror(rc));
    close(fd);
    puts("done");
    return 0;
#else
    (void)dir;
    (void)path;
    puts("skip");
    return 77;
#endif
}

/* ---- serve ----------------------------------------------------------------- */

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int stopping;
static volatile sig_atomic_t terminated;

static void on_term(int sig)
{
    (void)sig;
    terminated = 1;
}

static void sleep_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000L};
    nanosleep(&ts, NULL);
}

/* Holds mu 1 ms at a time, so dlclose_V_lock waits for it. */
static void *holder(void *arg)
{
    (void)arg;
    while (!stopping) {
        pthread_mutex_lock(&mu);
        sleep_us(1000);
        pthread_mutex_unlock(&mu);
        sleep_us(100);
    }
    return NULL;
}

/* The objects the libraries allocated, kept past their dlclose: a root
 * bdwgc scans (not static: stores never read would be optimized away). */
void **dlclose_kept;

static KEEP void work(lib *l, void **out)
{
    l->burn(5000000);
    l->alloc(out, NOBJ, 1000);
    l->lock(&mu);
    __asm__ volatile(""); /* no tail call: work stays on the stack */
}

/* The library's stacks run under via_a or via_b: the test checks that no
 * frame of one library's functions is under the other's. */
static KEEP void via_a(lib *l, void **out)
{
    work(l, out);
    __asm__ volatile("");
}

static KEEP void via_b(lib *l, void **out)
{
    work(l, out);
    __asm__ volatile("");
}

static int serve(const char *patha, const char *pathb, int rounds)
{
    signal(SIGTERM, on_term);
    printf("port %d\n", cd_http_port());
    fflush(stdout);
    dlclose_kept = calloc((size_t)rounds * 2 * NOBJ, sizeof *dlclose_kept);
    if (dlclose_kept == NULL)
        die("calloc", strerror(errno));
    pthread_t th;
    if (pthread_create(&th, NULL, holder, NULL) != 0)
        die("pthread_create", "failed");
    lib libs[2] = {{.path = patha, .variant = "a"}, {.path = pathb, .variant = "b"}};
    for (int i = 0; i < rounds && !terminated; i++) {
        lib *l = &libs[i % 2];
        lib_open(l);
        Dl_info info;
        if (dladdr((void *)l->burn, &info) == 0)
            die("dladdr", "no object");
        printf("round %d %s %p\n", i, l->variant, info.dli_fbase);
        fflush(stdout);
        void **out = dlclose_kept + (size_t)i * 2 * NOBJ;
        if (i % 2 == 0)
            via_a(l, out);
        else
            via_b(l, out);
        lib_close(l);
    }
    stopping = 1;
    pthread_join(th, NULL);
    lib_open(&libs[1]);
    puts("rounds done");
    fflush(stdout);
    while (!terminated)
        sleep_us(10000);
    puts("ok");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "stale") == 0)
        return stale(argv[2], argv[3]);
    if (argc == 5 && strcmp(argv[1], "serve") == 0)
        return serve(argv[2], argv[3], atoi(argv[4]));
    fprintf(stderr, "usage: prog_dlclose stale DIR LIBA | serve LIBA LIBB ROUNDS\n");
    return 2;
}

/* tests/integration/prog_srcview.c - code in the executable and in shared
 * libraries, for test_pprof_source.sh, which reads its profiles with the
 * real `go tool pprof` (-list, -disasm, -weblist, -raw, -traces).
 *
 *   prog_srcview DIR V=LIB...
 *
 * dlopens each LIB (tests/integration/srcview_lib.c built with
 * -DVARIANT=V_) and then, on the main thread:
 *   - CPU, profiled at 1000 Hz into DIR/cpu.pb.gz: main_burn for about
 *     300 ms of CPU, then each library's srcview_V_burn_entry for as long;
 *   - heap (run it with CDEBUG=memprofilerate=1): main_alloc makes 100
 *     objects of 4096 bytes, each library's srcview_V_alloc_entry 100 of
 *     2048, all kept; after a collection, DIR/heap.pb.gz and DIR/heap.txt
 *     (debug=1);
 *   - tasks: one task per library runs srcview_V_park_entry (it waits on a
 *     wait group); once they all wait (tasks_blocked), DIR/goroutine1.txt (debug=1) and
 *     DIR/goroutine2.txt (debug=2); then they are released.
 * Prints "done".
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cdebug/cdebug.h>
#include <cdebug/prof.h>
#include <cdebug/runtime.h>
#include <cdebug/sched.h>

#if defined(__clang__)
#define KEEP __attribute__((noinline))
#else
#define KEEP __attribute__((noipa))
#endif

#define MAX_LIBS 8
#define NOBJ     100

typedef struct lib {
    const char *variant;
    uint64_t (*burn)(uint64_t);
    void *(*alloc)(size_t);
    void (*park)(void *);
} lib;

/* The objects kept alive: a root bdwgc scans. Not static: stores to a
 * static array never read would be optimized away, and the objects with
 * them. */
void *srcview_kept[MAX_LIBS + 1][NOBJ];
static volatile uint64_t sink;

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static KEEP uint64_t main_burn(uint64_t n)
{
    uint64_t x = n | 1;
    for (uint64_t i = 0; i < n; i++)
        x = x * 2862933555777941757u + (x >> 31); /* srcview hot line of the executable */
    return x;
}

static KEEP void *main_alloc(size_t n)
{
    void *p = cd_alloc(n); /* srcview allocation of the executable */
    __asm__ volatile("" ::"r"(p) : "memory");
    return p;
}

/* Calls burn in rounds of 100000 until about 300 ms of this thread's CPU. */
static void burn_for(uint64_t (*burn)(uint64_t))
{
    int64_t t0 = thread_cpu_ns();
    while (thread_cpu_ns() - t0 < 300000000)
        sink += burn(100000);
}

static int open_out(const char *dir, const char *name)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        perror(path);
        exit(1);
    }
    return fd;
}

static void check(int rc, const char *what)
{
    if (rc < 0) {
        fprintf(stderr, "%s: %s\n", what, cd_strerror(rc));
        exit(1);
    }
}

/* Writes DIR/NAME with a cd_*prof_write function. */
static void write_prof(const char *dir, const char *name, int (*write)(int, int), int debug)
{
    int fd = open_out(dir, name);
    check(write(fd, debug), name);
    close(fd);
}

static void *sym(void *h, const char *variant, const char *name)
{
    char s[256];
    snprintf(s, sizeof s, "srcview_%s_%s", variant, name);
    void *f = dlsym(h, s);
    if (f == NULL) {
        fprintf(stderr, "dlsym %s: %s\n", s, dlerror());
        exit(1);
    }
    return f;
}

int main(int argc, char **argv)
{
    if (argc < 2 || argc - 2 > MAX_LIBS) {
        fprintf(stderr, "usage: prog_srcview DIR V=LIB...\n");
        return 2;
    }
    const char *dir = argv[1];
    lib libs[MAX_LIBS];
    int nlibs = 0;
    for (int i = 2; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (eq == NULL) {
            fprintf(stderr, "not V=LIB: %s\n", argv[i]);
            return 2;
        }
        *eq = '\0';
        void *h = dlopen(eq + 1, RTLD_NOW | RTLD_LOCAL);
        if (h == NULL) {
            fprintf(stderr, "dlopen: %s\n", dlerror());
            return 1;
        }
        lib *l = &libs[nlibs++];
        l->variant = argv[i];
        l->burn = (uint64_t (*)(uint64_t))sym(h, l->variant, "burn_entry");
        l->alloc = (void *(*)(size_t))sym(h, l->variant, "alloc_entry");
        l->park = (void (*)(void *))sym(h, l->variant, "park_entry");
    }

    /* CPU. */
    int fd = open_out(dir, "cpu.pb.gz");
    check(cd_cpuprof_start(fd, 1000), "cd_cpuprof_start");
    burn_for(main_burn);
    for (int i = 0; i < nlibs; i++)
        burn_for(libs[i].burn);
    check(cd_cpuprof_stop(), "cd_cpuprof_stop");
    close(fd);

    /* Heap. */
    for (int j = 0; j < NOBJ; j++)
        srcview_kept[MAX_LIBS][j] = main_alloc(4096);
    for (int i = 0; i < nlibs; i++)
        for (int j = 0; j < NOBJ; j++)
            srcview_kept[i][j] = libs[i].alloc(2048);
    cd_gc(); /* the profile is as of the last collection, as Go's */
    write_prof(dir, "heap.pb.gz", cd_heapprof_write, 0);
    write_prof(dir, "heap.txt", cd_heapprof_write, 1);

    /* Tasks parked in the libraries. */
    cd_waitgroup wg;
    cd_wg_init(&wg);
    cd_wg_add(&wg, 1);
    for (int i = 0; i < nlibs; i++)
        check(cd_go_named(libs[i].variant, libs[i].park, &wg), "cd_go_named");
    static cd_schedstats st; /* large (runq) */
    for (int tries = 0;; tries++) {
        cd_read_schedstats(&st);
        if (st.tasks_blocked >= (uint64_t)nlibs)
            break;
        if (tries == 10000) {
            fprintf(stderr, "the tasks did not block\n");
            return 1;
        }
        usleep(1000);
    }
    write_prof(dir, "goroutine1.txt", cd_taskprof_write, 1);
    write_prof(dir, "goroutine2.txt", cd_taskprof_write, 2);
    cd_wg_done(&wg);
    puts("done");
    return 0;
}

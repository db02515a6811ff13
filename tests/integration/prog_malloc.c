/* tests/integration/prog_malloc.c - a plain C program with known malloc
 * sites, for test_malloc.sh, which profiles it with CDEBUG=memprofile (the
 * allocs profile at exit holds the in-use counts too) and reads the
 * profile with the real `go tool pprof`. Apart from gc_site (and the
 * renders of `threads`), it knows nothing of cdebug: the malloc family it
 * calls is the library's, linked or preloaded.
 *
 *   prog_malloc sites [gc] [text=FILE]
 *                           the sites below; with "gc", also gc_site; with
 *                           text=FILE, then the heap profile's debug=1 text
 *                           into FILE
 *   prog_malloc volume MB   MB megabytes allocated and freed at once, 80%
 *                           of the bytes by big_site (malloc of 16 KiB), 20%
 *                           by small_site (calloc of 1 KiB): 20% and 80%
 *                           of the objects
 *   prog_malloc threads SECONDS
 *   prog_malloc jemalloc    sites, then checks that jemalloc served them
 *   prog_malloc vars        /debug/vars and /metrics (cd_vars_json,
 *                           cd_vars_prometheus) into vars1.json and
 *                           metrics1.txt, then 64 MiB malloc'd and kept in
 *                           blocks of 64 KiB and 1 MiB, then vars2.json and
 *                           metrics2.txt (in the current directory)
 *
 * sites (exact at memprofilerate=1; every block of a "kept" site lives
 * until exit, the others are freed at once):
 *   malloc_site    1000 x malloc(1000), 400 kept
 *   calloc_site    100 x calloc(10, 400), all kept
 *   realloc_site   realloc(NULL, 100), then realloc to 200000 (a new block:
 *                  above glibc's mmap threshold), kept; prints "moved 1"
 *                  when the address changed
 *   align_site     50 x posix_memalign(64, 2048) and 50 x
 *                  aligned_alloc(4096, 8192), half of each kept; then
 *                  memalign, valloc and pvalloc of 3000 bytes each, freed
 *   ctor_site      in a constructor, before main: 10 x malloc(5000), kept,
 *                  then a failing dlsym (dlerror's state is malloc'd)
 *   gc_site        10 x cd_alloc(7000), kept
 * Prints "sites done".
 *
 * threads: four threads malloc, realloc, posix_memalign and free blocks of
 * random sizes (a ring of 64 each) for SECONDS, while the main thread
 * forks children that do the same for 20 ms and exit, and renders the heap
 * profile to /dev/null; a child that hangs (the sampler's lock copied
 * locked) is killed after 10 s and reported. Prints "threads ok forks=N
 * renders=N".
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cdebug/cdebug.h>
#include <cdebug/prof.h>
#include <cdebug/vars.h>

/* Global, not static: a static array never read would let the compiler
 * drop the stores, and then the unused allocations themselves. */
void *kept[4096];
static int nkept;
static void *volatile sink;

static void keep(void *p)
{
    if (p == NULL) {
        fprintf(stderr, "allocation failed\n");
        exit(1);
    }
    if (nkept < (int)(sizeof kept / sizeof kept[0]))
        kept[nkept++] = p;
}

__attribute__((noipa)) static void ctor_site(void)
{
    for (int i = 0; i < 10; i++) {
        char *p = malloc(5000);
        keep(p);
        p[0] = 1;
    }
}

__attribute__((constructor)) static void early(void)
{
    ctor_site();
    /* A failing lookup: glibc mallocs dlerror's state, freed by the next
     * lookup or dlerror call. */
    if (dlsym(RTLD_DEFAULT, "cdebug_test_no_such_symbol") == NULL)
        sink = dlerror();
}

__attribute__((noipa)) static void malloc_site(void)
{
    for (int i = 0; i < 1000; i++) {
        char *p = malloc(1000);
        if (p == NULL)
            exit(1);
        p[0] = (char)i;
        if (i % 5 < 2)
            keep(p);
        else
            free(p);
    }
}

__attribute__((noipa)) static void calloc_site(void)
{
    for (int i = 0; i < 100; i++)
        keep(calloc(10, 400));
}

__attribute__((noipa)) static void *realloc_site(void)
{
    char *p = realloc(NULL, 100);
    if (p == NULL)
        exit(1);
    uintptr_t before = (uintptr_t)p;
    p[0] = 1;
    p = realloc(p, 200000);
    if (p == NULL)
        exit(1);
    printf("moved %d\n", (uintptr_t)p != before);
    sink = p; /* not a tail call */
    return p;
}

__attribute__((noipa)) static void align_site(void)
{
    for (int i = 0; i < 50; i++) {
        void *p;
        if (posix_memalign(&p, 64, 2048) != 0 || ((uintptr_t)p & 63) != 0)
            exit(1);
        if (i % 2)
            keep(p);
        else
            free(p);
        char *q = aligned_alloc(4096, 8192);
        if (q == NULL || ((uintptr_t)q & 4095) != 0)
            exit(1);
        q[8191] = 1;
        if (i % 2)
            keep(q);
        else
            free(q);
    }
    void *m = memalign(256, 3000), *v = valloc(3000), *pv = pvalloc(3000);
    long ps = sysconf(_SC_PAGESIZE);
    if (m == NULL || v == NULL || pv == NULL || ((uintptr_t)m & 255) != 0 ||
        ((uintptr_t)v & (uintptr_t)(ps - 1)) != 0 || ((uintptr_t)pv & (uintptr_t)(ps - 1)) != 0 ||
        malloc_usable_size(pv) < (size_t)ps) {
        fprintf(stderr, "memalign/valloc/pvalloc: bad block\n");
        exit(1);
    }
    free(m);
    free(v);
    free(pv);
}

__attribute__((noipa)) static void gc_site(void)
{
    for (int i = 0; i < 10; i++)
        keep(cd_alloc(7000));
}

static void sites(int gc)
{
    malloc_site();
    calloc_site();
    keep(realloc_site());
    align_site();
    if (gc)
        gc_site();
    printf("sites done\n");
}

/* ---- volume ------------------------------------------------------------------ */

__attribute__((noipa)) static void big_site(void)
{
    char *p = malloc(16384);
    if (p == NULL)
        exit(1);
    p[0] = 1;
    sink = p;
    free(p);
}

__attribute__((noipa)) static void small_site(void)
{
    char *p = calloc(1, 1024);
    if (p == NULL)
        exit(1);
    sink = p;
    free(p);
}

static void volume(long mb)
{
    /* Per round: 16 KiB by big_site, 4 KiB by small_site. */
    long rounds = mb * (1 << 20) / 20480;
    for (long r = 0; r < rounds; r++) {
        big_site();
        for (int i = 0; i < 4; i++)
            small_site();
    }
    printf("volume done rounds=%ld\n", rounds);
}

/* ---- vars --------------------------------------------------------------------- */

static int put(const char *path, char *doc)
{
    FILE *f = fopen(path, "w");
    if (doc == NULL || f == NULL || fputs(doc, f) < 0) {
        fprintf(stderr, "writing %s failed\n", path);
        return 1;
    }
    free(doc);
    return fclose(f) != 0;
}

static int vars(void)
{
    if (put("vars1.json", cd_vars_json()) || put("metrics1.txt", cd_vars_prometheus()))
        return 1;
    for (int i = 0; i < 512; i++)
        keep(malloc(65536)); /* 32 MiB from the arenas */
    for (int i = 0; i < 32; i++)
        keep(malloc(1 << 20)); /* 32 MiB mapped one by one (glibc) */
    return put("vars2.json", cd_vars_json()) || put("metrics2.txt", cd_vars_prometheus());
}

/* ---- jemalloc ------------------------------------------------------------- */

typedef int mallctl_fn(const char *, void *, size_t *, void *, size_t);

/* jemalloc's own count of the bytes the thread allocated grows by what
 * malloc_site allocates: the blocks are jemalloc's. */
static int jemalloc_check(void)
{
    mallctl_fn *mallctl = (mallctl_fn *)dlsym(RTLD_DEFAULT, "mallctl");
    if (mallctl == NULL) {
        fprintf(stderr, "no mallctl: jemalloc is not loaded\n");
        return 1;
    }
    uint64_t before, after;
    size_t len = sizeof before;
    if (mallctl("thread.allocated", &before, &len, NULL, 0) != 0) {
        fprintf(stderr, "mallctl thread.allocated failed\n");
        return 1;
    }
    sites(0);
    len = sizeof after;
    mallctl("thread.allocated", &after, &len, NULL, 0);
    printf("jemalloc allocated %llu\n", (unsigned long long)(after - before));
    return after - before >= 1000000 ? 0 : 1;
}

/* ---- threads and fork ------------------------------------------------------- */

static _Atomic int stop;

static uint64_t rnd(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

__attribute__((noipa)) static void churn(uint64_t *seed, void **ring, int n)
{
    for (int i = 0; i < n; i++) {
        int k = (int)(rnd(seed) % 64);
        size_t sz = 1 + rnd(seed) % 4096;
        switch (rnd(seed) % 4) {
        case 0:
            free(ring[k]);
            ring[k] = malloc(sz);
            break;
        case 1:
            ring[k] = realloc(ring[k], sz);
            break;
        case 2:
            free(ring[k]);
            ring[k] = NULL;
            if (posix_memalign(&ring[k], 32, sz) != 0)
                ring[k] = NULL;
            break;
        default:
            free(ring[k]);
            ring[k] = calloc(1, sz);
        }
    }
}

static void *worker(void *arg)
{
    uint64_t seed = (uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
    void *ring[64] = {0};
    while (!stop)
        churn(&seed, ring, 1000);
    for (int k = 0; k < 64; k++)
        free(ring[k]);
    return NULL;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int threads(double seconds)
{
    pthread_t t[4];
    for (uintptr_t i = 0; i < 4; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(i + 1)) != 0)
            return 1;
    int forks = 0, renders = 0, bad = 0;
    int null = open("/dev/null", O_WRONLY);
    double end = now() + seconds;
    while (now() < end && !bad) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            bad = 1;
            break;
        }
        if (pid == 0) {
            uint64_t seed = (uint64_t)getpid();
            void *ring[64] = {0};
            double cend = now() + 0.02;
            while (now() < cend)
                churn(&seed, ring, 100);
            _exit(0);
        }
        forks++;
        int st = 0;
        double wend = now() + 10;
        pid_t w;
        while ((w = waitpid(pid, &st, WNOHANG)) == 0 && now() < wend)
            usleep(1000);
        if (w == 0) {
            kill(pid, SIGKILL);
            waitpid(pid, &st, 0);
            fprintf(stderr, "child %d hung (fork %d)\n", (int)pid, forks);
            bad = 1;
        } else if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
            fprintf(stderr, "child %d ended with status %#x\n", (int)pid, st);
            bad = 1;
        }
        if (forks % 5 == 0) {
            int rc = cd_heapprof_write(null, forks % 10 == 0);
            if (rc != 0) {
                fprintf(stderr, "render: %s\n", cd_strerror(rc));
                bad = 1;
            }
            renders++;
        }
    }
    stop = 1;
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    close(null);
    if (bad)
        return 1;
    printf("threads ok forks=%d renders=%d\n", forks, renders);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && strcmp(argv[1], "sites") == 0) {
        int gc = 0;
        const char *text = NULL;
        for (int i = 2; i < argc; i++) {
            if (strcmp(argv[i], "gc") == 0)
                gc = 1;
            else if (strncmp(argv[i], "text=", 5) == 0)
                text = argv[i] + 5;
            else
                goto usage;
        }
        sites(gc);
        if (text != NULL) {
            int fd = open(text, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            int rc = fd < 0 ? -1 : cd_heapprof_write(fd, 1);
            if (fd >= 0)
                close(fd);
            if (rc != 0) {
                fprintf(stderr, "writing %s failed\n", text);
                return 1;
            }
        }
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "volume") == 0) {
        volume(atol(argv[2]));
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "jemalloc") == 0)
        return jemalloc_check();
    if (argc == 2 && strcmp(argv[1], "vars") == 0)
        return vars();
    if (argc == 3 && strcmp(argv[1], "threads") == 0)
        return threads(atof(argv[2]));
usage:
    fprintf(stderr, "usage: prog_malloc sites [gc] [text=FILE] | volume MB | threads SECONDS | "
                    "jemalloc | vars\n");
    return 2;
}

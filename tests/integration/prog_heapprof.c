/* tests/integration/prog_heapprof.c - a program with known allocation
 * sites, for test_heapprof.sh, which reads its heap profiles with the real
 * `go tool pprof`.
 *
 *   prog_heapprof files DIR ROUNDS KEEP GROW
 *   prog_heapprof serve ROUNDS KEEP GROW
 *   prog_heapprof stress SECONDS
 *
 * Each of ROUNDS rounds calls big_site (2 objects of 16 KiB, pointer-free)
 * and small_site (8 objects of 1 KiB, scanned): big_site allocates 80% of
 * the bytes and 20% of the objects. The objects of the first KEEP rounds
 * are kept alive in a static array, the others dropped at once. Then:
 * api_sites exercises cd_strdup, cd_realloc and cd_free (see below).
 *
 * files: after a collection, writes DIR/heap1.pb.gz (heap), allocs1.pb.gz
 * (allocs), heap1.txt (heap, debug=1); drops every other kept round and
 * collects: heap2.pb.gz, heap2.txt; then grow_site allocates GROW objects
 * of 4 KiB, kept, and after a collection: heap3.pb.gz. Last, fin_site
 * allocates 10 objects of 2000 bytes with a user finalizer (bdwgc's
 * GC_register_finalizer) each and drops them; after collections and
 * finalization: heap4.txt. Prints "finalized N" (the user's finalizers that
 * ran), "reclaimed N" (the fin_site objects the collector reclaimed, told
 * by long links of our own: a conservative collector may keep one alive
 * through a stale word that looks like its address) and "done".
 *
 * serve: the same first phase, then the debug server on 127.0.0.1 (any
 * port) and "listening on PORT"; SIGUSR1 runs the drop-half + collect step
 * (prints "dropped"), SIGUSR2 the grow step (prints "grown"; successive
 * grows add up); SIGTERM ends it.
 *
 * stress: four tasks allocate, cd_free and cd_realloc objects of random
 * sizes (a ring of 64 kept per task) for SECONDS, while the main thread
 * collects and renders both profiles in both formats in a loop; prints
 * "stress ok renders=N" when every render succeeded.
 *
 * api_sites (exact at memprofilerate=1): strdup_site: 10 cd_strdup of 99
 * characters (100 bytes), kept; realloc_site: cd_realloc(NULL, 100) then
 * cd_realloc(p, 5000) (bdwgc moves it: one object freed), kept; free_site:
 * 10 cd_alloc of 1000 bytes, 5 freed with cd_free.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cdebug/cdebug.h>
#include <cdebug/http.h>
#include <cdebug/prof.h>
#include <gc/gc.h>

#define BIG_SIZE   16384
#define SMALL_SIZE 1024
#define GROW_SIZE  4096
#define MAX_KEEP   4096
#define MAX_GROW   4096

/* Static: scanned by bdwgc as a root, and allocates nothing itself. */
static void *kept_big[MAX_KEEP][2];
static void *kept_small[MAX_KEEP][8];
static void *kept_grow[MAX_GROW];
static int ngrow;
static void *kept_api[32];
static void *volatile sink;

__attribute__((noipa)) static void big_site(void **out)
{
    for (int i = 0; i < 2; i++) {
        char *p = cd_alloc_atomic(BIG_SIZE);
        p[0] = (char)i;
        out[i] = p;
    }
}

__attribute__((noipa)) static void small_site(void **out)
{
    for (int i = 0; i < 8; i++) {
        char *p = cd_alloc(SMALL_SIZE);
        p[0] = (char)i;
        out[i] = p;
    }
}

__attribute__((noipa)) static void grow_site(void **out, int n)
{
    for (int i = 0; i < n; i++)
        out[i] = cd_alloc(GROW_SIZE);
}

__attribute__((noipa)) static void strdup_site(void **out)
{
    char s[100];
    memset(s, 'x', 99);
    s[99] = '\0';
    for (int i = 0; i < 10; i++)
        out[i] = cd_strdup(s);
}

__attribute__((noipa)) static void *realloc_site(void)
{
    char *p = cd_realloc(NULL, 100);
    p[0] = 1;
    p = cd_realloc(p, 5000);
    /* Not a tail call: the frame walk would not see this function. */
    sink = p;
    return p;
}

__attribute__((noipa)) static void free_site(void **out)
{
    void *p[10];
    for (int i = 0; i < 10; i++)
        p[i] = cd_alloc(1000);
    for (int i = 0; i < 10; i++) {
        if (i % 2 == 0)
            cd_free(p[i]);
        else
            out[i / 2] = p[i];
        p[i] = NULL;
    }
}

static _Atomic int finalized;

static void count_finalized(void *obj, void *data)
{
    (void)obj;
    (void)data;
    finalized++;
}

/* The user's own finalizers on sampled objects: the profiler's link must
 * leave them alone. links (malloc'd: not scanned, so not a reference)
 * gets one long link per object, cleared when the collector reclaims it. */
__attribute__((noipa)) static void fin_site(void **links)
{
    for (int i = 0; i < 10; i++) {
        void *p = cd_alloc(2000);
        GC_register_finalizer(p, count_finalized, NULL, NULL, NULL);
        links[i] = p;
        GC_register_long_link(&links[i], p);
    }
}

/* Overwrites the stack below us, where dropped pointers may linger (bdwgc
 * scans stacks conservatively). */
__attribute__((noipa)) static void scrub_stack(void)
{
    volatile char buf[16384];
    memset((char *)buf, 0, sizeof buf);
}

static void phase1(int rounds, int keep)
{
    for (int r = 0; r < rounds; r++) {
        void *b[2], *s[8];
        big_site(r < keep ? kept_big[r] : b);
        small_site(r < keep ? kept_small[r] : s);
        sink = b[0];
    }
    sink = NULL;
    strdup_site(kept_api);
    kept_api[10] = realloc_site();
    free_site(kept_api + 11);
    scrub_stack();
}

static void grow(int n)
{
    if (n > MAX_GROW - ngrow)
        n = MAX_GROW - ngrow;
    grow_site(kept_grow + ngrow, n);
    ngrow += n;
}

static void drop_half(int keep)
{
    for (int r = 0; r < keep; r += 2) {
        memset(kept_big[r], 0, sizeof kept_big[r]);
        memset(kept_small[r], 0, sizeof kept_small[r]);
    }
    scrub_stack();
}

static int write_file(const char *dir, const char *name, int (*fn)(int, int), int debug)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        perror(path);
        return -1;
    }
    int rc = fn(fd, debug);
    close(fd);
    if (rc != 0) {
        fprintf(stderr, "writing %s: %s\n", path, cd_strerror(rc));
        return -1;
    }
    return 0;
}

static int parse(const char *s, int max)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0 || v > max) {
        fprintf(stderr, "bad number %s\n", s);
        exit(2);
    }
    return (int)v;
}

static int files(const char *dir, int rounds, int keep, int ngrow_arg)
{
    phase1(rounds, keep);
    cd_gc();
    if (write_file(dir, "heap1.pb.gz", cd_heapprof_write, 0) < 0 ||
        write_file(dir, "allocs1.pb.gz", cd_allocsprof_write, 0) < 0 ||
        write_file(dir, "heap1.txt", cd_heapprof_write, 1) < 0 ||
        write_file(dir, "allocs1.txt", cd_allocsprof_write, 1) < 0)
        return 1;
    drop_half(keep);
    cd_gc();
    if (write_file(dir, "heap2.pb.gz", cd_heapprof_write, 0) < 0 ||
        write_file(dir, "heap2.txt", cd_heapprof_write, 1) < 0)
        return 1;
    grow(ngrow_arg);
    cd_gc();
    if (write_file(dir, "heap3.pb.gz", cd_heapprof_write, 0) < 0)
        return 1;
    void **links = malloc(10 * sizeof *links);
    if (links == NULL)
        return 1;
    fin_site(links);
    scrub_stack();
    /* Unreachable: finalizers queued; they run; the next collection
     * reclaims the objects (and clears the profiler's long links). */
    for (int i = 0; i < 3; i++) {
        cd_gc();
        GC_invoke_finalizers();
    }
    if (write_file(dir, "heap4.txt", cd_heapprof_write, 1) < 0)
        return 1;
    printf("finalized %d\n", (int)finalized);
    int reclaimed = 0;
    for (int i = 0; i < 10; i++)
        reclaimed += links[i] == NULL;
    printf("reclaimed %d\n", reclaimed);
    free(links);
    /* Bad arguments. */
    if (cd_heapprof_write(-1, 0) != -EBADF || cd_allocsprof_write(1, -1) != -EINVAL) {
        fprintf(stderr, "bad arguments accepted\n");
        return 1;
    }
    printf("done\n");
    return 0;
}

static int serve(int rounds, int keep, int ngrow_arg)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    sigaddset(&set, SIGUSR2);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    phase1(rounds, keep);
    int rc = cd_http_start("127.0.0.1:0");
    if (rc != 0) {
        fprintf(stderr, "start failed: %s\n", cd_strerror(rc));
        return 3;
    }
    printf("listening on %d\n", cd_http_port());
    fflush(stdout);
    for (;;) {
        int sig;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (sig == SIGUSR1) {
            drop_half(keep);
            cd_gc();
            printf("dropped\n");
        } else if (sig == SIGUSR2) {
            grow(ngrow_arg);
            cd_gc();
            printf("grown\n");
        } else {
            break;
        }
        fflush(stdout);
    }
    cd_http_stop();
    return 0;
}

/* ---- stress ---------------------------------------------------------- */

static _Atomic int stop;
static cd_waitgroup wg;

__attribute__((noipa)) static void stress_task(void *arg)
{
    uint64_t x = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
    void *ring[64] = {0};
    unsigned i = 0;
    while (!stop) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        size_t n = 1 + (size_t)(x % 4096);
        unsigned k = i++ % 64;
        switch (x >> 60) {
        case 0:
            cd_free(ring[k]);
            ring[k] = NULL;
            break;
        case 1:
            ring[k] = cd_realloc(ring[k], n);
            break;
        case 2:
            ring[k] = cd_strdup("stress");
            break;
        default:
            ring[k] = (x & 1) ? cd_alloc(n) : cd_alloc_atomic(n);
        }
    }
    cd_wg_done(&wg);
}

static int stress(int seconds)
{
    cd_wg_init(&wg);
    for (uintptr_t t = 1; t <= 4; t++) {
        cd_wg_add(&wg, 1);
        if (cd_go(stress_task, (void *)t) != 0) {
            fprintf(stderr, "cd_go failed\n");
            return 1;
        }
    }
    int null = open("/dev/null", O_WRONLY);
    time_t end = time(NULL) + seconds;
    int renders = 0;
    while (time(NULL) < end) {
        if (renders % 4 == 0)
            cd_gc();
        int rc;
        if ((rc = cd_heapprof_write(null, renders % 2)) != 0 ||
            (rc = cd_allocsprof_write(null, (renders + 1) % 2)) != 0) {
            fprintf(stderr, "render failed: %s\n", cd_strerror(rc));
            return 1;
        }
        renders++;
    }
    stop = 1;
    cd_block_begin("wg");
    cd_wg_wait(&wg);
    cd_block_end();
    close(null);
    printf("stress ok renders=%d\n", renders);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && strcmp(argv[1], "files") == 0)
        return files(argv[2], parse(argv[3], 1 << 30), parse(argv[4], MAX_KEEP),
                     parse(argv[5], MAX_GROW));
    if (argc == 3 && strcmp(argv[1], "stress") == 0)
        return stress(parse(argv[2], 3600));
    if (argc == 5 && strcmp(argv[1], "serve") == 0)
        return serve(parse(argv[2], 1 << 30), parse(argv[3], MAX_KEEP), parse(argv[4], MAX_GROW));
    fprintf(stderr, "usage: prog_heapprof files DIR ROUNDS KEEP GROW\n"
                    "       prog_heapprof serve ROUNDS KEEP GROW\n"
                    "       prog_heapprof stress SECONDS\n");
    return 2;
}

/* prog_threads - a plain C program with threads cdebug did not create, for
 * test_cpuprof_threads.sh.
 *
 *   prog_threads burn MS      main starts two pthreads with plain
 *                             pthread_create: "burner" (it names itself
 *                             with pthread_setname_np) spins in
 *                             burn_named(), the other (unnamed) in
 *                             burn_unnamed(); each for MS ms of CPU time.
 *                             main then joins them, prints "ok" and exits
 *                             (CDEBUG=cpuprofile=FILE writes the profile).
 *   prog_threads hidden MS    as burn, with one thread "hidden" made by
 *                             glibc's own pthread_create (looked up in
 *                             libc.so.6), which cdebug's does not see: the
 *                             CPU profiler finds it in /proc/self/task.
 *   prog_threads exits N      N pthreads that end three ways (return,
 *                             pthread_exit, cancellation) while a profile
 *                             runs; prints "ok" when the goroutine dump
 *                             listed every one while it ran and none
 *                             after (only the library's own, bdwgc's
 *                             markers, before and after).
 *   prog_threads serve        prints "port N" of the debug server
 *                             (CDEBUG=http=127.0.0.1:0), then allocates
 *                             and collects (cd_gc) in main until SIGTERM:
 *                             libmicrohttpd's and bdwgc's marker threads
 *                             have work to sample.
 *
 * Built with the project's flags (-fno-omit-frame-pointer); links the
 * shared library and uses the public API only.
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <signal.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cdebug/cdebug.h>

#define KEEP __attribute__((noinline, noipa))

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static volatile unsigned long sink;

/* CPU work in the caller's frame's callee: the loop's body goes through a
 * volatile, so the compiler cannot fold it; the clock (a system call for a
 * thread's CPU time) is read once per million iterations. */
static KEEP void spin_for(double ms)
{
    double end = cpu_ms() + ms;
    while (cpu_ms() < end)
        for (int i = 0; i < 1000000; i++)
            sink += (unsigned long)i;
}

/* The asm after each call keeps it from being a tail call: the function
 * stays on the stack the profile shows. */
static KEEP void burn_named(double ms)
{
    spin_for(ms);
    __asm__ volatile("" ::: "memory");
}

static KEEP void burn_unnamed(double ms)
{
    spin_for(ms);
    __asm__ volatile("" ::: "memory");
}

static double burn_ms;

static void *named_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "burner");
    burn_named(burn_ms);
    return NULL;
}

static void *unnamed_main(void *arg)
{
    (void)arg;
    burn_unnamed(burn_ms);
    return NULL;
}

static int burn(double ms)
{
    burn_ms = ms;
    pthread_t a, b;
    if (pthread_create(&a, NULL, named_main, NULL) != 0 ||
        pthread_create(&b, NULL, unnamed_main, NULL) != 0) {
        perror("prog_threads: pthread_create");
        return 1;
    }
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    printf("ok\n");
    return 0;
}

/* ---- hidden --------------------------------------------------------------- */

static void *hidden_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "hidden");
    burn_named(burn_ms);
    return NULL;
}

static int hidden(double ms)
{
    burn_ms = ms;
    void *libc = dlopen("libc.so.6", RTLD_LAZY | RTLD_NOLOAD);
    int (*create)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *) =
        libc != NULL ? (int (*)(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))
                           dlsym(libc, "pthread_create")
                     : NULL;
    if (create == NULL || create == pthread_create) {
        fprintf(stderr, "prog_threads: glibc's pthread_create not found\n");
        return 1;
    }
    pthread_t t;
    if (create(&t, NULL, hidden_main, NULL) != 0) {
        perror("prog_threads: pthread_create");
        return 1;
    }
    pthread_join(t, NULL);
    printf("ok\n");
    return 0;
}

/* ---- exits ---------------------------------------------------------------- */

/* The threads say they run (so they are registered: registration comes
 * before the routine), and end only after main has counted them. */
static _Atomic int may_end, started;

static void wait_to_end(void)
{
    started++;
    while (!may_end)
        spin_for(1);
}

static void *ends_by_return(void *arg)
{
    wait_to_end();
    return arg;
}

static void *ends_by_exit(void *arg)
{
    wait_to_end();
    pthread_exit(arg);
}

static void *ends_by_cancel(void *arg)
{
    (void)arg;
    started++;
    for (;;) {
        spin_for(1);
        pthread_testcancel();
    }
    return NULL;
}

/* The goroutine dump's thread lines of kind "pthread" (debug=2 form). */
static int pthreads_listed(void)
{
    FILE *f = tmpfile();
    if (f == NULL)
        return -1;
    int rc = cd_taskprof_write(fileno(f), 2);
    rewind(f);
    char line[512];
    int n = 0;
    while (rc == 0 && fgets(line, sizeof line, f) != NULL)
        n += strncmp(line, "thread ", 7) == 0 && strstr(line, "[pthread") != NULL;
    fclose(f);
    return rc == 0 ? n : -1;
}

static int exits(int n)
{
    pthread_t *t = calloc((size_t)n, sizeof *t);
    if (t == NULL)
        return 1;
    int before = pthreads_listed(); /* the library's own (bdwgc's markers) */
    for (int i = 0; i < n; i++) {
        void *(*fn)(void *) = i % 3 == 0 ? ends_by_return : i % 3 == 1 ? ends_by_exit : ends_by_cancel;
        if (pthread_create(&t[i], NULL, fn, NULL) != 0) {
            perror("prog_threads: pthread_create");
            return 1;
        }
    }
    while (started < n)
        usleep(1000);
    int during = pthreads_listed();
    may_end = 1;
    for (int i = 0; i < n; i++) {
        if (i % 3 == 2)
            pthread_cancel(t[i]);
        pthread_join(t[i], NULL);
    }
    int after = pthreads_listed();
    printf("pthreads before %d during %d after %d\n", before, during, after);
    free(t);
    if (before < 0 || during != before + n || after != before)
        return 1;
    printf("ok\n");
    return 0;
}

/* ---- serve ---------------------------------------------------------------- */

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
    (void)sig;
    stopping = 1;
}

static int serve(void)
{
    signal(SIGTERM, on_term);
    printf("port %d\n", cd_http_port());
    fflush(stdout);
    while (!stopping) {
        for (int i = 0; i < 2000; i++)
            sink += (unsigned long)cd_alloc(64);
        cd_gc();
    }
    printf("ok\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "burn") == 0)
        return burn(atof(argv[2]));
    if (argc == 3 && strcmp(argv[1], "hidden") == 0)
        return hidden(atof(argv[2]));
    if (argc == 3 && strcmp(argv[1], "exits") == 0)
        return exits(atoi(argv[2]));
    if (argc == 2 && strcmp(argv[1], "serve") == 0)
        return serve();
    fprintf(stderr, "usage: prog_threads burn MS | hidden MS | exits N | serve\n");
    return 2;
}

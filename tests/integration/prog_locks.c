/* prog_locks - a plain C program with a contended mutex, a condition
 * variable, a rwlock, pthread_join and a wait group, for test_lockprof.sh.
 *
 *   prog_locks DIR     runs the workload once, then writes DIR/mutex.pb.gz,
 *                      DIR/block.pb.gz (debug 0) and DIR/mutex.txt,
 *                      DIR/block.txt (debug 1) with cd_*prof_write, and
 *                      prints "fraction F" (cd_set_mutex_profile_fraction's
 *                      reading) and "ok".
 *   prog_locks serve   prints "port N" (CDEBUG=http=127.0.0.1:0), then
 *                      runs the workload in a loop until SIGTERM.
 *
 * The workload: 4 threads take one mutex 50 times each in take_lock() and
 * hold it 1 ms in hold_lock() (so they wait for each other), one thread
 * waits on a condition variable in wait_cond() 10 times for about 10 ms
 * (signalled by main), 2 readers take a rwlock held by a writer in
 * read_shared(), main joins every thread in join_all() and waits for a
 * task in wait_group(). Rates come from CDEBUG (blockprofilerate,
 * mutexprofilefraction). Public API only; links the shared library.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cdebug/cdebug.h>

#define KEEP __attribute__((noinline, noipa))

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static int signals;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static KEEP void hold_lock(void)
{
    sleep_ms(1);
}

static KEEP void take_lock(void)
{
    pthread_mutex_lock(&mu);
    hold_lock();
    pthread_mutex_unlock(&mu);
}

static void *locker(void *arg)
{
    (void)arg;
    for (int i = 0; i < 50; i++)
        take_lock();
    return NULL;
}

static KEEP void wait_cond(int want)
{
    pthread_mutex_lock(&cmu);
    while (signals < want)
        pthread_cond_wait(&cond, &cmu);
    pthread_mutex_unlock(&cmu);
}

static void *waiter(void *arg)
{
    (void)arg;
    for (int i = 1; i <= 10; i++)
        wait_cond(i);
    return NULL;
}

static KEEP void read_shared(void)
{
    pthread_rwlock_rdlock(&rw);
    pthread_rwlock_unlock(&rw);
}

static void *reader(void *arg)
{
    (void)arg;
    read_shared();
    return NULL;
}

static void task(void *arg)
{
    sleep_ms(20);
    cd_wg_done(arg);
}

static KEEP void wait_group(void)
{
    cd_waitgroup wg;
    cd_wg_init(&wg);
    cd_wg_add(&wg, 1);
    cd_go(task, &wg);
    cd_wg_wait(&wg);
}

static KEEP void join_all(pthread_t *t, int n)
{
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
}

static int workload(void)
{
    pthread_t t[8];
    int n = 0;
    pthread_rwlock_wrlock(&rw); /* the readers wait for it */
    for (int i = 0; i < 4; i++)
        if (pthread_create(&t[n++], NULL, locker, NULL) != 0)
            return 1;
    if (pthread_create(&t[n++], NULL, waiter, NULL) != 0)
        return 1;
    for (int i = 0; i < 2; i++)
        if (pthread_create(&t[n++], NULL, reader, NULL) != 0)
            return 1;
    sleep_ms(20);
    pthread_rwlock_unlock(&rw);
    for (int i = 1; i <= 10; i++) {
        sleep_ms(10);
        pthread_mutex_lock(&cmu);
        signals = i;
        pthread_cond_signal(&cond);
        pthread_mutex_unlock(&cmu);
    }
    join_all(t, n);
    wait_group();
    signals = 0;
    return 0;
}

static int write_prof(const char *dir, const char *name, int (*fn)(int, int), int debug)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        perror(path);
        return 1;
    }
    int rc = fn(fileno(f), debug);
    fclose(f);
    if (rc != 0) {
        fprintf(stderr, "prog_locks: %s: %s\n", name, cd_strerror(rc));
        return 1;
    }
    return 0;
}

static volatile sig_atomic_t stopping;

static void on_term(int sig)
{
    (void)sig;
    stopping = 1;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "serve") == 0) {
        signal(SIGTERM, on_term);
        printf("port %d\n", cd_http_port());
        fflush(stdout);
        while (!stopping)
            if (workload() != 0)
                return 1;
        printf("ok\n");
        return 0;
    }
    if (argc != 2) {
        fprintf(stderr, "usage: prog_locks DIR | serve\n");
        return 2;
    }
    if (workload() != 0) {
        fprintf(stderr, "prog_locks: pthread_create failed\n");
        return 1;
    }
    if (write_prof(argv[1], "mutex.pb.gz", cd_mutexprof_write, 0) ||
        write_prof(argv[1], "block.pb.gz", cd_blockprof_write, 0) ||
        write_prof(argv[1], "mutex.txt", cd_mutexprof_write, 1) ||
        write_prof(argv[1], "block.txt", cd_blockprof_write, 1))
        return 1;
    printf("fraction %d\n", cd_set_mutex_profile_fraction(-1));
    printf("ok\n");
    return 0;
}

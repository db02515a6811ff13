/* examples/whole.c - a plain C program, the whole program as a user's
 * would look to Go's tools through cdebug (docs/walkthrough.md shows its
 * mutex and block profiles and its crash report; test_whole.sh checks
 * every view of it).
 * It uses the C library (malloc, pthread_create, pthread_setname_np,
 * pthread_mutex_lock, pthread_cond_wait) and one call of cdebug's:
 * cd_go_named, for the task that crashes. libcdebug is linked (the shared
 * library), so its constructor starts the kit from CDEBUG: the debug
 * server, the profile rates.
 *
 *   whole      runs until it crashes:
 *
 * At start, main allocates at two malloc sites: kept_site 200 x 10000
 * bytes, kept until exit (2000000 bytes in use), and freed_site 500 x
 * 2000 bytes, each freed at once (1000000 bytes allocated, none in use).
 * Then it starts, with plain pthread_create:
 *   - "burner" (named by pthread_setname_np): burn() spins about half of
 *     the time (a fixed loop, then 5 ms asleep), on one line (the one
 *     test_whole.sh's source views look for);
 *   - three "locker" threads: take_lock() takes one mutex and holds it 1
 *     ms (hold_lock), so each waits for the others;
 *   - "waiter": wait_cond() waits on a condition variable that main
 *     signals every 10 ms.
 * main prints "ready", then signals the condition every 10 ms. On SIGUSR1
 * it starts task "crasher" (spawn_crasher), which writes to address 16 in
 * crash_in_task: a segfault in a task (not NULL: UBSan's null check would
 * stop it before the fault in a sanitizer build).
 */
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cdebug/cdebug.h>

#define KEEP __attribute__((noinline, noipa))

/* Global, not static: a static array never read would let the compiler
 * drop the stores, and then the allocations. */
void *kept[200];
static void *volatile sink;
static volatile uint64_t spun;
static volatile uintptr_t wild = 16;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t cmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static unsigned long ticks;
static volatile sig_atomic_t crash_now;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *must(void *p)
{
    if (p == NULL) {
        fprintf(stderr, "whole: out of memory\n");
        exit(1);
    }
    return p;
}

/* ---- malloc ----------------------------------------------------------------- */

static KEEP void kept_site(void)
{
    for (int i = 0; i < 200; i++) {
        kept[i] = must(malloc(10000)); /* whole allocation kept */
        memset(kept[i], 1, 16);
    }
}

static KEEP void freed_site(void)
{
    for (int i = 0; i < 500; i++) {
        char *p = must(malloc(2000)); /* whole allocation freed */
        p[0] = (char)i;
        sink = p;
        free(p);
    }
}

/* ---- threads ---------------------------------------------------------------- */

static KEEP void burn(void)
{
    uint64_t x = spun | 1;
    for (uint64_t i = 0; i < 4000000; i++)
        x = x * 2862933555777941757u + (x >> 31); /* whole hot line */
    spun = x;
}

static void *burner_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "burner");
    for (;;) {
        burn();
        sleep_ms(5);
    }
    return NULL;
}

static KEEP void hold_lock(void)
{
    sleep_ms(1);
}

/* The asm after each call keeps it from being a tail call: the function
 * stays on the stack the profiles show. */
static KEEP void take_lock(void)
{
    pthread_mutex_lock(&mu);
    hold_lock();
    pthread_mutex_unlock(&mu);
    __asm__ volatile("" ::: "memory");
}

static void *locker_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "locker");
    for (;;)
        take_lock();
    return NULL;
}

static KEEP void wait_cond(unsigned long *seen)
{
    pthread_mutex_lock(&cmu);
    while (ticks == *seen)
        pthread_cond_wait(&cond, &cmu);
    *seen = ticks;
    pthread_mutex_unlock(&cmu);
    __asm__ volatile("" ::: "memory");
}

static void *waiter_main(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "waiter");
    unsigned long seen = 0;
    for (;;)
        wait_cond(&seen);
    return NULL;
}

static void tick(void)
{
    pthread_mutex_lock(&cmu);
    ticks++;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&cmu);
}

/* ---- the crash ---------------------------------------------------------------- */

static KEEP void crash_in_task(void)
{
    *(volatile int *)wild = 42; /* address 16: a segfault */
    __asm__ volatile("" ::: "memory");
}

static void crasher(void *arg)
{
    (void)arg;
    crash_in_task();
    __asm__ volatile("" ::: "memory");
}

static KEEP void spawn_crasher(void)
{
    if (cd_go_named("crasher", crasher, NULL) != 0) {
        fprintf(stderr, "whole: cd_go_named failed\n");
        exit(1);
    }
    __asm__ volatile("" ::: "memory");
}

static void on_usr1(int sig)
{
    (void)sig;
    crash_now = 1;
}

int main(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_usr1;
    sigaction(SIGUSR1, &sa, NULL);

    kept_site();
    freed_site();

    void *(*mains[])(void *) = {burner_main, locker_main, locker_main, locker_main, waiter_main};
    for (size_t i = 0; i < sizeof mains / sizeof mains[0]; i++) {
        pthread_t t;
        if (pthread_create(&t, NULL, mains[i], NULL) != 0) {
            perror("whole: pthread_create");
            return 1;
        }
    }
    printf("ready\n");
    int spawned = 0;
    for (;;) {
        sleep_ms(10);
        tick();
        if (crash_now && !spawned) {
            spawned = 1;
            spawn_crasher();
        }
    }
}

/* tests/integration/blocked_threads.c - a program built without cdebug
 * (test_preload_threads.sh compiles it and preloads libcdebug.so), whose
 * threads block where a server's do: main in epoll_wait on its standard
 * input, one thread in poll on a pipe, one in pthread_cond_wait. Linux
 * never restarts the first two after a signal handler, so a signal would
 * make them fail with EINTR: each counts such returns, and the program
 * prints "eintr N" when its input becomes readable (or ends), after it has
 * woken and joined the threads. Prints "ready" once all three are about to
 * block. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <unistd.h>

static int wake[2]; /* the poll thread waits for wake[0] */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static bool done;
static atomic_int eintr;

__attribute__((noinline)) static void *in_poll(void *arg)
{
    (void)arg;
    struct pollfd p = {.fd = wake[0], .events = POLLIN};
    for (;;) {
        int r = poll(&p, 1, -1);
        if (r < 0 && errno == EINTR) {
            atomic_fetch_add(&eintr, 1);
            continue;
        }
        break;
    }
    return NULL;
}

__attribute__((noinline)) static void *in_cond_wait(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&mu);
    while (!done)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
    return NULL;
}

__attribute__((noinline)) static int in_epoll_wait(int ep)
{
    struct epoll_event ev;
    for (;;) {
        int n = epoll_wait(ep, &ev, 1, -1);
        if (n < 0 && errno == EINTR) {
            atomic_fetch_add(&eintr, 1);
            continue;
        }
        return n;
    }
}

int main(void)
{
    pthread_t tp, tc;
    if (pipe(wake) != 0 || pthread_create(&tp, NULL, in_poll, NULL) != 0 ||
        pthread_create(&tc, NULL, in_cond_wait, NULL) != 0) {
        perror("blocked_threads: start");
        return 1;
    }
    int ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event ev = {.events = EPOLLIN};
    if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) != 0) {
        perror("blocked_threads: epoll");
        return 1;
    }
    printf("ready\n");
    fflush(stdout);
    if (in_epoll_wait(ep) < 0)
        perror("blocked_threads: epoll_wait");
    if (write(wake[1], "x", 1) != 1)
        perror("blocked_threads: write");
    pthread_mutex_lock(&mu);
    done = true;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    pthread_join(tp, NULL);
    pthread_join(tc, NULL);
    printf("eintr %d\n", atomic_load(&eintr));
    return 0;
}

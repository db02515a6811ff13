/* tests/unit/test_taskprof_retry.c - a thread caught between two states
 * when the task profile asks for stacks still gets one.
 *
 * A thread that blocks the stack signal cannot answer (bdwgc's marker
 * threads are made so); while it sits in a system call the kernel's saved
 * pc is its stack, but caught running it has none, and a thread running
 * now is usually in a call a few milliseconds later. Here the thread
 * blocks the signal, runs for SPIN_MS, then blocks in read(2): the profile
 * taken while it runs must show it in read, not "frames not available".
 * The same retry covers a thread that was signalled but not scheduled
 * before the deadline of the first round. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cdebug/cdebug.h"

#define SPIN_MS 5

static int wake[2];
static atomic_int ready;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void *busy_then_read(void *arg)
{
    (void)arg;
    sigset_t urg;
    sigemptyset(&urg);
    sigaddset(&urg, SIGURG);
    pthread_sigmask(SIG_BLOCK, &urg, NULL);
    atomic_store(&ready, 1);
    uint64_t until = now_ms() + SPIN_MS;
    while (now_ms() < until)
        ;
    char c;
    while (read(wake[0], &c, 1) < 0)
        ;
    return NULL;
}

static void test_running_thread_gets_a_stack(void **state)
{
    (void)state;
    assert_int_equal(pipe(wake), 0);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, busy_then_read, NULL), 0);
    while (!atomic_load(&ready))
        ;
    char *text = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&text, &len);
    assert_non_null(mem);
    int fd[2];
    assert_int_equal(pipe(fd), 0);
    /* The profile of a few threads fits the pipe (64 KiB). */
    assert_int_equal(cd_taskprof_write(fd[1], 2), 0);
    close(fd[1]);
    char buf[4096];
    ssize_t n;
    while ((n = read(fd[0], buf, sizeof buf)) > 0)
        fwrite(buf, 1, (size_t)n, mem);
    close(fd[0]);
    fclose(mem);

    /* Its block: the one whose first frame is the read. */
    if (strstr(text, "...frames not available...") != NULL || strstr(text, "\nread(...)\n") == NULL) {
        fputs(text, stderr);
        fail_msg("the thread caught running has no stack: want it in read");
    }
    free(text);
    assert_int_equal(write(wake[1], "x", 1), 1);
    pthread_join(th, NULL);
}

int main(void)
{
    cd_init();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_running_thread_gets_a_stack),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

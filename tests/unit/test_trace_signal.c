/* tests/unit/test_trace_signal.c - the trace's queries in a signal handler.
 *
 * cd_trace_enabled and cd_flight_enabled are async-signal-safe: a handler
 * may ask them whatever the interrupted thread was doing. The test has a
 * thread call cd_flight_write over and over (it holds the flight
 * recorder's control lock while it copies the window, up to a second when
 * it waits for the writer's sweep) and interrupts it with a signal every
 * millisecond; the handler asks both. A query that took that lock would
 * deadlock its own thread, and the watchdog fails the test.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cdebug/trace.h"

static atomic_long answers, flight_on;
static atomic_bool stop, done;

static void on_signal(int sig)
{
    (void)sig;
    int e = errno;
    if (cd_flight_enabled())
        atomic_fetch_add(&flight_on, 1);
    (void)cd_trace_enabled();
    atomic_fetch_add(&answers, 1);
    errno = e;
}

static void *writer(void *arg)
{
    int fd = *(int *)arg;
    while (!atomic_load(&stop))
        assert_int_equal(cd_flight_write(fd), 0);
    atomic_store(&done, true);
    return NULL;
}

static void sleep_ms(long ms)
{
    nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000}, NULL);
}

static void test_queries_in_a_handler(void **state)
{
    (void)state;
    assert_int_equal(cd_flight_start(1), 0);
    assert_true(cd_flight_enabled());
    assert_true(cd_trace_enabled());
    struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
    sigemptyset(&sa.sa_mask);
    assert_int_equal(sigaction(SIGUSR1, &sa, NULL), 0);
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    sleep_ms(150); /* a first segment, so that every write has a window */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, writer, &fd), 0);
    for (int i = 0; i < 1000; i++) {
        pthread_kill(t, SIGUSR1);
        sleep_ms(1);
    }
    atomic_store(&stop, true);
    /* Watchdog: the writer ends within a second of its last call, unless a
     * handler deadlocked it. */
    for (int i = 0; i < 500 && !atomic_load(&done); i++)
        sleep_ms(10);
    if (!atomic_load(&done))
        fail_msg("the thread interrupted in cd_flight_write never returned: a query "
                 "deadlocked in its signal handler (%ld answers)",
                 atomic_load(&answers));
    pthread_join(t, NULL);
    assert_true(atomic_load(&answers) > 0);
    assert_int_equal(atomic_load(&flight_on), atomic_load(&answers));
    close(fd);
    assert_int_equal(cd_flight_stop(), 0);
    assert_false(cd_flight_enabled());
    assert_false(cd_trace_enabled());
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queries_in_a_handler),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

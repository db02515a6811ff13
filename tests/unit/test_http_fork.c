/* tests/unit/test_http_fork.c - a child of fork() stops (forgets) the
 * debug server even when a thread of the parent was inside
 * cd_http_start/cd_http_stop at the fork.
 *
 * cd_http_stop holds the server's lock while libmicrohttpd's thread
 * finishes a request. Here that request is a /debug/vars whose Func var
 * sleeps 2 s, so a second thread sits in cd_http_stop, lock held, when the
 * main thread forks. In the child that thread does not exist: without the
 * lock re-made there, the child's own cd_http_stop (what exit() runs)
 * waited for ever. The child runs under alarm(10): a hang fails the test
 * as SIGALRM instead of hanging it.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cdebug/cdebug.h"
#include "cdebug/http.h"
#include "cdebug/vars_json.h"

static json_t *slow_var(void *arg)
{
    (void)arg;
    struct timespec ts = {2, 0};
    nanosleep(&ts, NULL);
    return json_integer(1);
}

/* Sends GET /debug/vars and leaves the socket open (its answer takes 2 s). */
static int slow_request(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof a) != 0)
        return -1;
    static const char req[] = "GET /debug/vars HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    if (write(fd, req, sizeof req - 1) != (ssize_t)(sizeof req - 1))
        return -1;
    return fd;
}

static void *stopper(void *arg)
{
    (void)arg;
    cd_http_stop(); /* holds the lock until the slow request is answered */
    return NULL;
}

static void test_child_stops_while_parent_stops(void **state)
{
    (void)state;
    assert_int_equal(cd_func_new("slow", slow_var, NULL), 0);
    assert_int_equal(cd_http_start("127.0.0.1:0"), 0);
    int fd = slow_request(cd_http_port());
    assert_true(fd >= 0);
    struct timespec ts = {0, 300 * 1000000L}; /* the Func var is running */
    nanosleep(&ts, NULL);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, stopper, NULL), 0);
    nanosleep(&ts, NULL); /* the stopper holds the lock, waiting */

    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        alarm(10);
        cd_http_stop(); /* forgets the parent's server */
        assert_true(cd_http_port() < 0);
        _exit(0);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (WIFSIGNALED(st))
        fail_msg("child killed by signal %d%s", WTERMSIG(st),
                 WTERMSIG(st) == SIGALRM ? " (SIGALRM: it hung in cd_http_stop)" : "");
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    pthread_join(t, NULL);
    close(fd);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_child_stops_while_parent_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

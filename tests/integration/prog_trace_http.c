/* tests/integration/prog_trace_http.c - a busy program behind the debug
 * server, for test_trace_http.sh.
 *
 *   prog_trace_http [busy]
 *
 * Starts the debug server on 127.0.0.1:0 (CDEBUG may add flight=N), prints
 * "listening on PORT" and, until SIGTERM or SIGINT, every 10 ms logs
 * "tick N" (category "tick") and runs 20 tasks; "busy": without the 10 ms
 * pause, for traces of megabytes per second. Then it stops the server
 * (with a trace possibly streaming), shuts the runtime down and prints
 * "stopped". Exit status 0, or 1 when the server cannot start.
 */
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cdebug/cdebug.h>
#include <cdebug/http.h>
#include <cdebug/trace.h>

static volatile sig_atomic_t stop;
static cd_waitgroup wg;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static void work(void *arg)
{
    (void)arg;
    volatile long x = 0;
    for (long k = 0; k < 2000; k++)
        x += k;
    cd_wg_done(&wg);
}

int main(int argc, char **argv)
{
    bool busy = argc > 1 && strcmp(argv[1], "busy") == 0;
    int rc = cd_http_start("127.0.0.1:0");
    if (rc != 0) {
        fprintf(stderr, "prog_trace_http: cd_http_start: %s\n", cd_strerror(rc));
        return 1;
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    printf("listening on %d\n", cd_http_port());
    fflush(stdout);

    struct timespec d = {0, 10 * 1000000};
    for (long tick = 1; !stop; tick++) {
        char msg[32];
        snprintf(msg, sizeof msg, "tick %ld", tick);
        cd_trace_log("tick", msg);
        for (int i = 0; i < 20; i++) {
            cd_wg_add(&wg, 1);
            cd_go_named("work", work, NULL);
        }
        cd_wg_wait(&wg);
        if (!busy)
            nanosleep(&d, NULL);
    }
    cd_http_stop();
    cd_shutdown();
    printf("stopped\n");
    return 0;
}

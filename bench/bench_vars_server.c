/* bench/bench_vars_server.c - the C side of the /debug/vars benchmark
 * (bench/run_vars): the same vars as bench/peers/expvar/main.go, 100 Ints
 * named counter_00..counter_99 and one Map requests_by_path of 100 keys, all
 * changing once a millisecond, served by cdebug's debug server on
 * 127.0.0.1:0. Prints "listening on 127.0.0.1:PORT" and runs until killed
 * (SIGTERM/SIGINT end it cleanly).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cdebug/cdebug.h>
#include <cdebug/http.h>
#include <cdebug/vars.h>

#define NVARS 100

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

int main(void)
{
    cd_int *ints[NVARS];
    char name[32];
    for (int i = 0; i < NVARS; i++) {
        snprintf(name, sizeof name, "counter_%02d", i);
        ints[i] = cd_int_new(name);
        if (ints[i] == NULL) {
            fprintf(stderr, "bench_vars_server: cd_int_new: %s\n", strerror(errno));
            return 1;
        }
    }
    cd_map *m = cd_map_new("requests_by_path");
    int rc = cd_http_start("127.0.0.1:0");
    if (m == NULL || rc < 0) {
        fprintf(stderr, "bench_vars_server: cannot start: %s\n", cd_strerror(rc));
        return 1;
    }
    printf("listening on 127.0.0.1:%d\n", cd_http_port());
    fflush(stdout);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    struct timespec ms = {0, 1000000};
    for (unsigned n = 0; !stop; n++) {
        for (int i = 0; i < NVARS; i++)
            cd_int_add(ints[i], i + 1);
        snprintf(name, sizeof name, "/path/%02u", n % NVARS);
        cd_map_add(m, name, 1);
        nanosleep(&ms, NULL);
    }
    cd_http_stop();
    return 0;
}

/* tests/integration/prog_pprof_http.c - a program with the debug server
 * for test_pprof_http.sh: starts it on 127.0.0.1 (any free port), prints
 * "listening on PORT" (stdout, flushed) and serves until SIGTERM/SIGINT.
 * Its arguments are not read: they are what /debug/pprof/cmdline shows.
 */
#include <signal.h>
#include <stdio.h>

#include <cdebug/cdebug.h>
#include <cdebug/http.h>

int main(void)
{
    /* Before any thread of ours exists, so every thread inherits the mask
     * and sigwait receives the signals. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    int rc = cd_http_start("127.0.0.1:0");
    if (rc != 0) {
        fprintf(stderr, "start failed: %s\n", cd_strerror(rc));
        return 3;
    }
    printf("listening on %d\n", cd_http_port());
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    cd_http_stop();
    return 0;
}

/* tests/integration/prog_setuid.c - what a set-user-ID program linked with
 * libcdebug takes from its environment, for test_setuid.sh.
 *
 * Usage: prog_setuid
 *
 * Runs a few tasks that allocate (so a trace, a CPU profile and a heap
 * profile would have content), then prints one line on stdout:
 *
 *   ruid=R euid=E http_port=P tracing=T
 *
 * where P is cd_http_port() (negative: no debug server) and T is 1 when a
 * trace is being recorded. Exits 0 through return from main, so the at-exit
 * writers (cpuprofile=, memprofile=) run as in any program.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cdebug/cdebug.h>
#include <cdebug/http.h>
#include <cdebug/trace.h>

static cd_waitgroup wg;

static void work(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        char *p = cd_alloc_atomic(256);
        memset(p, 'x', 255);
    }
    cd_wg_done(&wg);
}

int main(void)
{
    cd_wg_init(&wg);
    for (int i = 0; i < 8; i++) {
        cd_wg_add(&wg, 1);
        if (cd_go_named("work", work, NULL) != 0) {
            fprintf(stderr, "prog_setuid: cd_go failed\n");
            return 1;
        }
    }
    cd_wg_wait(&wg);
    printf("ruid=%d euid=%d http_port=%d tracing=%d\n", (int)getuid(), (int)geteuid(),
           cd_http_port(), cd_trace_enabled() ? 1 : 0);
    fflush(stdout);
    return 0;
}

/* tests/integration/prog_http.c - drives the debug server for test_http.sh.
 *
 *   prog_http --addr=ADDR [--unsafe] [--token=T] [--conns=N] [--timeout=S]
 *       cd_http_start_opts; prints "listening on PORT" (stdout, flushed) and
 *       serves until SIGTERM/SIGINT, then stops the server and prints
 *       "stopped". A failed start prints "start failed: RC TEXT" and exits 3.
 *   prog_http --env
 *       starts nothing itself (CDEBUG=http=... did or did not at load);
 *       prints "port N" (cd_http_port(), negative when no server), then
 *       serves like above. Shows that the program runs on after a failure.
 *   prog_http --cycles=N --addr=ADDR
 *       starts and stops the server N times, checks that each start gets a
 *       port, that a second start gets -EBUSY, that the port is -ENOENT
 *       after a stop and that no file descriptor leaks; prints
 *       "cycles ok N fds A->B".
 *
 * The program also publishes nothing of its own: the routes' documents come
 * from the vars module, whose content is tested elsewhere.
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cdebug/cdebug.h>
#include <cdebug/http.h>

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s --addr=ADDR [--unsafe] [--token=T] [--conns=N] [--timeout=S]\n"
            "       %s --env\n"
            "       %s --cycles=N --addr=ADDR\n",
            argv0, argv0, argv0);
    return 2;
}

/* Strict unsigned decimal. */
static int parse_uint(const char *s, unsigned *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno != 0 || *end != '\0' || v > 1000000)
        return -1;
    *out = (unsigned)v;
    return 0;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    int n = 0;
    while (readdir(d) != NULL)
        n++;
    closedir(d);
    return n;
}

/* Blocks SIGINT/SIGTERM and waits for one of them. */
static void wait_for_signal(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig;
    sigwait(&set, &sig);
}

static int cycles(const cd_http_opts *o, unsigned n)
{
    int before = count_fds();
    for (unsigned i = 0; i < n; i++) {
        int rc = cd_http_start_opts(o);
        if (rc != 0) {
            printf("cycle %u: start failed: %d %s\n", i, rc, cd_strerror(rc));
            return 1;
        }
        if (cd_http_port() <= 0) {
            printf("cycle %u: port %d after start\n", i, cd_http_port());
            return 1;
        }
        if ((rc = cd_http_start_opts(o)) != -EBUSY) {
            printf("cycle %u: second start returned %d, want -EBUSY\n", i, rc);
            return 1;
        }
        cd_http_stop();
        cd_http_stop(); /* idempotent */
        if (cd_http_port() != -ENOENT) {
            printf("cycle %u: port %d after stop, want -ENOENT\n", i, cd_http_port());
            return 1;
        }
    }
    int after = count_fds();
    printf("cycles %s %u fds %d->%d\n", before == after ? "ok" : "LEAK", n, before, after);
    return before == after ? 0 : 1;
}

int main(int argc, char **argv)
{
    cd_http_opts o = {0};
    bool env = false;
    unsigned ncycles = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--addr=", 7) == 0)
            o.addr = a + 7;
        else if (strcmp(a, "--unsafe") == 0)
            o.allow_nonloopback = true;
        else if (strncmp(a, "--token=", 8) == 0)
            o.token = a + 8;
        else if (strncmp(a, "--conns=", 8) == 0) {
            if (parse_uint(a + 8, &o.max_connections) != 0)
                return usage(argv[0]);
        } else if (strncmp(a, "--timeout=", 10) == 0) {
            if (parse_uint(a + 10, &o.timeout_seconds) != 0)
                return usage(argv[0]);
        } else if (strncmp(a, "--cycles=", 9) == 0) {
            if (parse_uint(a + 9, &ncycles) != 0 || ncycles == 0)
                return usage(argv[0]);
        } else if (strcmp(a, "--env") == 0)
            env = true;
        else
            return usage(argv[0]);
    }
    if (env == (o.addr != NULL))
        return usage(argv[0]);

    /* Before any thread of ours exists, so every thread inherits the mask
     * and sigwait receives the signals. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    if (ncycles > 0)
        return cycles(&o, ncycles);

    if (env) {
        printf("port %d\n", cd_http_port());
    } else {
        int rc = cd_http_start_opts(&o);
        if (rc != 0) {
            printf("start failed: %d %s\n", rc, cd_strerror(rc));
            return 3;
        }
        printf("listening on %d\n", cd_http_port());
    }
    fflush(stdout);
    wait_for_signal();
    cd_http_stop();
    printf("stopped\n");
    return 0;
}

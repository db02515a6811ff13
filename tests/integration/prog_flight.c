/* tests/integration/prog_flight.c - the flight recorder under test.
 *
 *   prog_flight OUT RUN_MS WINDOW_S
 *
 * Starts the flight recorder with a WINDOW_S window (WINDOW_S "env": rely on
 * CDEBUG=flight=... instead), then for RUN_MS milliseconds logs "tick N"
 * (category "tick") every 20 ms, each tick running 10 tasks. Then it writes
 * the window to OUT.1, runs 300 ms more (ticks go on: recording did not
 * stop), writes OUT.2, stops the recorder, and prints "ticks N1 N2": the
 * last tick before each write. It also checks the API's refusals (bad
 * windows, a second recorder, cd_trace_start while recording) and exits 1
 * with a message if one is wrong.
 *
 *   prog_flight OUT RUN_MS flood
 *
 * A window of 3600 s (segments of 360 s), flooded for RUN_MS with empty
 * regions from one thread, then 300 ms of ticks; writes OUT.1 and prints
 * "flood N" (regions begun). Run with a small CDEBUG_FLIGHT_MAX_BYTES, one
 * segment goes over the bound: the records that do not fit must come back
 * as LOST records.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cdebug/cdebug.h>
#include <cdebug/trace.h>

static cd_waitgroup wg;

static void work(void *arg)
{
    (void)arg;
    volatile long x = 0;
    for (long k = 0; k < 1000; k++)
        x += k;
    cd_wg_done(&wg);
}

static long tick;

static void run_ms(long ms)
{
    struct timespec d = {0, 20 * 1000000};
    for (long t = 0; t < ms; t += 20) {
        char msg[32];
        snprintf(msg, sizeof msg, "tick %ld", ++tick);
        cd_trace_log("tick", msg);
        for (int i = 0; i < 10; i++) {
            cd_wg_add(&wg, 1);
            cd_go(work, NULL);
        }
        cd_wg_wait(&wg);
        nanosleep(&d, NULL);
    }
}

static int expect(const char *what, int got, int want)
{
    if (got == want)
        return 0;
    fprintf(stderr, "prog_flight: %s returned %d (%s), want %d\n", what, got, cd_strerror(got),
            want);
    return 1;
}

static int write_window(const char *out, int n)
{
    char path[1024];
    snprintf(path, sizeof path, "%s.%d", out, n);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        perror(path);
        return 1;
    }
    int rc = cd_flight_write(fd);
    close(fd);
    return expect("cd_flight_write", rc, 0);
}

static int flood(const char *out, long ms)
{
    int bad = expect("cd_flight_start(3600)", cd_flight_start(3600), 0);
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    long n = 0;
    do {
        for (int i = 0; i < 1000; i++, n++) {
            cd_trace_region_begin("flood");
            cd_trace_region_end();
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
    run_ms(300);
    bad |= write_window(out, 1);
    bad |= expect("cd_flight_stop", cd_flight_stop(), 0);
    if (bad)
        return 1;
    printf("flood %ld\n", n);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: prog_flight OUT RUN_MS WINDOW_S|env|flood\n");
        return 2;
    }
    cd_init();
    if (strcmp(argv[3], "flood") == 0)
        return flood(argv[1], atol(argv[2]));
    int bad = 0;
    if (strcmp(argv[3], "env") != 0) {
        bad |= expect("cd_flight_write before start", cd_flight_write(1), -ENOENT);
        bad |= expect("cd_flight_start(0)", cd_flight_start(0), -EINVAL);
        bad |= expect("cd_flight_start(NaN)", cd_flight_start(NAN), -EINVAL);
        bad |= expect("cd_flight_start(3601)", cd_flight_start(3601), -EINVAL);
        bad |= expect("cd_flight_start", cd_flight_start(atof(argv[3])), 0);
    }
    if (bad)
        return 1;
    bad |= expect("second cd_flight_start", cd_flight_start(1), -EBUSY);
    bad |= expect("cd_trace_start while flying", cd_trace_start(1), -EBUSY);
    bad |= expect("cd_trace_stop while flying", cd_trace_stop(), -ENOENT);
    if (!cd_flight_enabled() || !cd_trace_enabled()) {
        fprintf(stderr, "prog_flight: not enabled\n");
        bad = 1;
    }
    run_ms(atol(argv[2]));
    long t1 = tick;
    bad |= write_window(argv[1], 1);
    run_ms(300);
    long t2 = tick;
    bad |= write_window(argv[1], 2);
    bad |= expect("cd_flight_stop", cd_flight_stop(), 0);
    bad |= expect("second cd_flight_stop", cd_flight_stop(), -ENOENT);
    bad |= expect("cd_flight_write after stop", cd_flight_write(1), -ENOENT);
    if (bad)
        return 1;
    printf("ticks %ld %ld\n", t1, t2);
    return 0;
}

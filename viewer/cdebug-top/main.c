/* main.c - cdebug-top: an expvarmon-compatible dashboard for /debug/vars.
 *
 *   cdebug-top -ports=6060 -i 1s -vars='requests,mem:memstats.Alloc'
 *   cdebug-top -ports=6060,localhost:6061 -dummy --csv run.csv
 *
 * One thread: the event loop starts a polling round every interval (rounds
 * never overlap; late ticks are dropped like Go's time.Ticker does), waits
 * on the HTTP sockets, the terminal and a signal self-pipe together, and
 * hands each finished poll to the CSV recorder and each finished round to
 * the front end. SIGINT/SIGTERM/SIGHUP and q end it cleanly (exit 0), which
 * flushes the CSV file and restores the terminal.
 *
 * Every message goes through esc.h's escaping, like every other text
 * cdebug-top writes.
 *
 * Exit status: 0 normal end or -h, 1 runtime failure (no terminal, cannot
 * create the CSV file), 2 bad command line (Go's flag convention).
 */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "app.h"
#include "esc.h"
#include "format.h"
#include "poll.h"
#include "ports.h"
#include "ui.h"

static int sig_pipe[2] = {-1, -1};

/* Async-signal-safe: only write(2), errno preserved. */
static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    ssize_t rc = write(sig_pipe[1], &b, 1);
    (void)rc; /* a full pipe already holds a wake-up */
    errno = saved;
}

static int catch_signal(int sig)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    return sigaction(sig, &sa, NULL);
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Records one finished poll of service i in the CSV file. */
static void on_polled(void *arg, size_t i)
{
    top_app *app = arg;
    const top_service *s = &app->svcs[i];
    char buf[512];

    if (app->csv.f == NULL)
        return;
    if (s->status == TOP_SVC_FAILED) {
        snprintf(buf, sizeof(buf), "failed: %s", s->err);
        top_csv_row(&app->csv, &s->updated_at, s->name, TOP_CSV_STATUS_VAR, buf);
        return;
    }
    if (s->restart_new) {
        snprintf(buf, sizeof(buf), "restarted: %s", s->restart_why);
        top_csv_row(&app->csv, &s->updated_at, s->name, TOP_CSV_STATUS_VAR, buf);
    }
    for (size_t v = 0; v < app->nvars; v++)
        top_csv_row(&app->csv, &s->updated_at, s->name, app->vars[v].label,
                    top_fmt_raw(&s->series[v].cur, buf, sizeof(buf)));
}

/* The request timeout: the interval, but at least 1 s (a loaded server
 * deserves that long, as expvarmon gives it) and at most 10 s (a hung
 * server must not freeze the other services' updates for long). */
static int64_t request_timeout(int64_t interval)
{
    const int64_t s = 1000000000;
    return interval < s ? s : interval > 10 * s ? 10 * s : interval;
}

static int run(top_app *app, top_poll *poll, bool tty)
{
    const int64_t interval = app->opts.interval_ns;
    int64_t next = mono_ns();
    bool in_round = false, dirty = true;
    int fds[2] = {sig_pipe[0], STDIN_FILENO};
    bool ready[2];

    for (;;) {
        int64_t now = mono_ns();
        if (!top_poll_busy(poll) && now >= next) {
            top_poll_start_round(poll);
            in_round = true;
            next += ((now - next) / interval + 1) * interval;
        }

        int timeout_ms = 1000;
        if (!top_poll_busy(poll)) {
            int64_t wait = (next - now + 999999) / 1000000;
            timeout_ms = wait < 1000 ? (int)wait : 1000;
        }
        if (top_poll_wait(poll, fds, ready, tty ? 2 : 1, timeout_ms, on_polled, app) < 0) {
            fprintf(stderr, "cdebug-top: waiting for HTTP responses failed\n");
            return 1;
        }
        if (in_round || top_poll_busy(poll))
            dirty = true;

        if (ready[0]) {
            unsigned char sig[16];
            ssize_t n = read(sig_pipe[0], sig, sizeof(sig));
            for (ssize_t k = 0; k < n; k++) {
                if (sig[k] == SIGWINCH) {
                    top_tty_resize();
                    dirty = true;
                } else {
                    return 0;
                }
            }
        }
        if (tty && ready[1] && top_tty_input())
            return 0;

        if (in_round && !top_poll_busy(poll)) {
            in_round = false;
            clock_gettime(CLOCK_REALTIME, &app->last_round);
            app->rounds++;
            top_csv_flush(&app->csv);
            if (!tty) {
                top_dummy_round(stdout, app);
                if (ferror(stdout))
                    return 0; /* reader went away (`| head`): nothing left to do */
                if (app->csv.err != 0 && app->csv.rows > 0) {
                    top_esc_line(stderr, "cdebug-top: csv %s: %s; recording stopped", app->opts.csv,
                                 strerror(-app->csv.err));
                    app->csv.rows = 0; /* report once */
                }
            }
        }
        if (tty && dirty) {
            top_tty_draw(app);
            dirty = false;
        }
    }
}

int main(int argc, char **argv)
{
    top_app app = {0};
    top_target *targets = NULL;
    size_t ntargets = 0;
    top_poll *poll = NULL;
    char err[512];
    int rc = 2;
    bool tty = false, curl_up = false;

    /* Only the character type follows the environment: numbers must keep
     * '.' decimals whatever LC_NUMERIC says. */
    setlocale(LC_CTYPE, "");
    signal(SIGPIPE, SIG_IGN);

    int frc = top_flags_parse(argc, argv, &app.opts, stderr);
    if (frc == TOP_FLAGS_HELP)
        return 0;
    if (frc < 0)
        return 2;
    if (app.opts.self)
        fprintf(stderr, "cdebug-top: -self is not supported (cdebug-top serves no /debug/vars); "
                        "ignored\n");
    if (top_vars_parse_list(app.opts.vars, &app.vars, &app.nvars, err, sizeof(err)) < 0 ||
        top_ports_parse(app.opts.ports, app.opts.endpoint, &targets, &ntargets, err, sizeof(err)) <
            0) {
        top_esc_line(stderr, "cdebug-top: %s", err);
        top_flags_usage(stderr, argv[0]);
        goto out;
    }

    rc = 1;
    if (app.opts.csv != NULL) {
        int crc = top_csv_open(&app.csv, app.opts.csv);
        if (crc < 0) {
            top_esc_line(stderr, "cdebug-top: cannot create CSV file %s: %s", app.opts.csv,
                         strerror(-crc));
            goto out;
        }
    }

    app.svcs = calloc(ntargets, sizeof(*app.svcs));
    if (app.svcs == NULL)
        goto nomem;
    for (size_t i = 0; i < ntargets; i++) {
        if (top_service_init(&app.svcs[i], targets[i].name, targets[i].url, app.nvars) < 0)
            goto nomem;
        app.nsvcs++;
    }

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "cdebug-top: cannot initialise libcurl\n");
        goto out;
    }
    curl_up = true;
    if (top_poll_new(&poll, app.svcs, app.nsvcs, app.vars, app.nvars,
                     request_timeout(app.opts.interval_ns), err, sizeof(err)) < 0) {
        top_esc_line(stderr, "cdebug-top: %s", err);
        goto out;
    }

    if (pipe2(sig_pipe, O_NONBLOCK | O_CLOEXEC) < 0) {
        fprintf(stderr, "cdebug-top: pipe: %s\n", strerror(errno));
        goto out;
    }
    /* Installed before ncurses starts so it leaves these signals to us. */
    catch_signal(SIGINT);
    catch_signal(SIGTERM);
    catch_signal(SIGHUP);

    if (!app.opts.dummy) {
        if (top_tty_init(err, sizeof(err)) < 0) {
            top_esc_line(stderr, "cdebug-top: %s", err);
            goto out;
        }
        tty = true;
        catch_signal(SIGWINCH); /* replaces ncurses' handler: we resize ourselves */
    } else {
        setvbuf(stdout, NULL, _IOLBF, 0);
    }

    rc = run(&app, poll, tty);
    goto out;

nomem:
    fprintf(stderr, "cdebug-top: out of memory\n");
out:
    if (tty)
        top_tty_end();
    if (app.csv.f != NULL) {
        int crc = top_csv_close(&app.csv);
        if (crc < 0 && rc == 0) {
            top_esc_line(stderr, "cdebug-top: csv %s: %s", app.opts.csv, strerror(-crc));
            rc = 1;
        }
    }
    top_poll_free(poll);
    if (curl_up)
        curl_global_cleanup();
    for (size_t i = 0; i < app.nsvcs; i++)
        top_service_free(&app.svcs[i]);
    free(app.svcs);
    top_targets_free(targets, ntargets);
    top_vars_free(app.vars, app.nvars);
    for (int i = 0; i < 2; i++)
        if (sig_pipe[i] >= 0)
            close(sig_pipe[i]);
    return rc;
}

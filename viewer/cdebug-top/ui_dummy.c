/* ui_dummy.c - -dummy console output (see ui.h).
 *
 * Like expvarmon's DummyUI: a timestamp line per round, then one line per
 * service. Unlike it, vars are named by their full path (two vars may share
 * a last segment) and a failed service prints "failed: <reason>". Every
 * text from a service or the command line is escaped (esc.h): one round is
 * exactly one timestamp line and one line per service, and no control
 * character reaches the terminal. */
#include "esc.h"
#include "format.h"
#include "ui.h"

/* "NAME: WHAT TEXT\n" with the name and the text escaped (esc.h). */
static void line(FILE *out, const char *name, const char *what, const char *text)
{
    top_esc_fputs(name, out);
    fprintf(out, ": %s", what);
    top_esc_fputs(text, out);
    fputc('\n', out);
}

void top_dummy_round(FILE *out, const top_app *app)
{
    char ts[32];
    struct tm tm;
    time_t t = app->last_round.tv_sec;

    localtime_r(&t, &tm);
    strftime(ts, sizeof(ts), "%H:%M:%S %d/%m", &tm);
    fprintf(out, "%s\n", ts);

    for (size_t i = 0; i < app->nsvcs; i++) {
        const top_service *s = &app->svcs[i];
        if (s->restart_new)
            line(out, s->name, "restarted: ", s->restart_why);
        if (s->status == TOP_SVC_FAILED) {
            line(out, s->name, "failed: ", s->err);
            continue;
        }
        if (s->status == TOP_SVC_WAITING) {
            line(out, s->name, "waiting", "");
            continue;
        }
        top_esc_fputs(s->name, out);
        fputs(": ", out);
        for (size_t v = 0; v < app->nvars; v++) {
            char buf[TOP_FMT_BUFSZ];
            if (v > 0)
                fputs(", ", out);
            top_esc_fputs(app->vars[v].label, out);
            fputs(": ", out);
            top_esc_fputs(top_fmt_value(&s->series[v].cur, app->vars[v].kind, buf, sizeof(buf)),
                          out);
        }
        fputc('\n', out);
    }
    fflush(out);
}

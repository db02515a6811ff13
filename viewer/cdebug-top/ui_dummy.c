/* ui_dummy.c - -dummy console output (see ui.h).
 *
 * Like expvarmon's DummyUI: a timestamp line per round, then one line per
 * service. Unlike it, vars are named by their full path (two vars may share
 * a last segment) and a failed service prints "failed: <reason>". */
#include "format.h"
#include "ui.h"

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
            fprintf(out, "%s: restarted: %s\n", s->name, s->restart_why);
        if (s->status == TOP_SVC_FAILED) {
            fprintf(out, "%s: failed: %s\n", s->name, s->err);
            continue;
        }
        if (s->status == TOP_SVC_WAITING) {
            fprintf(out, "%s: waiting\n", s->name);
            continue;
        }
        fprintf(out, "%s: ", s->name);
        for (size_t v = 0; v < app->nvars; v++) {
            char buf[TOP_FMT_BUFSZ];
            fprintf(out, "%s%s: %s", v > 0 ? ", " : "", app->vars[v].label,
                    top_fmt_value(&s->series[v].cur, app->vars[v].kind, buf, sizeof(buf)));
        }
        fputc('\n', out);
    }
    fflush(out);
}

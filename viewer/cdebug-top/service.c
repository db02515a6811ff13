/* service.c - per-service state and restart detection (see service.h). */
#include "service.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Counters that never decrease while one process lives. */
static const char *const mono_paths[TOP_N_MONOTONIC][2] = {
    {"memstats", "NumGC"},
    {"memstats", "TotalAlloc"},
    {"memstats", "PauseTotalNs"},
    {"uptime", NULL},
    {"uptime_s", NULL},
};

int top_service_init(top_service *s, const char *name, const char *url, size_t nvars)
{
    *s = (top_service){0};
    s->name = strdup(name);
    s->url = strdup(url);
    s->series = calloc(nvars > 0 ? nvars : 1, sizeof(*s->series));
    if (s->name == NULL || s->url == NULL || s->series == NULL) {
        top_service_free(s);
        return -ENOMEM;
    }
    s->nseries = nvars;
    return 0;
}

void top_service_free(top_service *s)
{
    free(s->name);
    free(s->url);
    free(s->series);
    *s = (top_service){0};
}

void top_service_fail(top_service *s, const struct timespec *now, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->err, sizeof(s->err), fmt, ap);
    va_end(ap);
    s->status = TOP_SVC_FAILED;
    s->updated_at = *now;
    s->polls++;
    s->failures++;
    for (size_t i = 0; i < s->nseries; i++) {
        s->series[i].cur.type = TOP_V_NA;
        top_ring_push(&s->series[i].hist, NAN);
    }
}

int top_service_apply_body(top_service *s, const struct timespec *now, long http_status,
                           const char *body, size_t len, const top_var *vars, size_t nvars)
{
    if (http_status == 404) {
        top_service_fail(s, now, "vars not found at %s", s->url);
        return -EINVAL;
    }
    if (http_status < 200 || http_status > 299) {
        top_service_fail(s, now, "HTTP %ld from %s%s", http_status, s->url,
                         http_status == 401 ? " (set CDEBUG_HTTP_TOKEN?)" : "");
        return -EINVAL;
    }

    json_error_t jerr;
    json_t *doc = json_loadb(body, len, 0, &jerr);
    if (doc == NULL) {
        top_service_fail(s, now, "invalid JSON at %s: %s (line %d, column %d)", s->url, jerr.text,
                         jerr.line, jerr.column);
        return -EINVAL;
    }
    if (!json_is_object(doc)) {
        json_decref(doc);
        top_service_fail(s, now, "invalid JSON at %s: not an expvar object", s->url);
        return -EINVAL;
    }
    top_service_apply(s, now, doc, vars, nvars);
    json_decref(doc);
    return 0;
}

/* Joins the cmdline array into out (bounded) and its first element's
 * basename into cmd. Returns 0, or -ENOENT/-EINVAL when there is no array of
 * strings (a non-Go service may have none). */
static int read_cmdline(const json_t *doc, char *out, size_t outlen, char *cmd, size_t cmdlen)
{
    const json_t *arr = json_object_get(doc, "cmdline");
    size_t used = 0;

    out[0] = '\0';
    cmd[0] = '\0';
    if (!json_is_array(arr) || json_array_size(arr) == 0)
        return -ENOENT;
    for (size_t i = 0; i < json_array_size(arr); i++) {
        const char *a = json_string_value(json_array_get(arr, i));
        if (a == NULL)
            return -EINVAL;
        int w = snprintf(out + used, outlen - used, "%s%s", i > 0 ? " " : "", a);
        if (w < 0 || (size_t)w >= outlen - used)
            break; /* truncated: still comparable between polls */
        used += (size_t)w;
        if (i == 0) {
            const char *base = strrchr(a, '/');
            snprintf(cmd, cmdlen, "%s", base != NULL ? base + 1 : a);
        }
    }
    return 0;
}

static void mark_restart(top_service *s, const struct timespec *now, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void mark_restart(top_service *s, const struct timespec *now, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->restart_why, sizeof(s->restart_why), fmt, ap);
    va_end(ap);
    s->restarts++;
    s->restart_new = true;
    s->restart_at = *now;
}

/* Compares the document with what the previous ok poll saw; one reason is
 * reported per poll, the first found. */
static void check_restart(top_service *s, const struct timespec *now, const json_t *doc)
{
    char cmdline[sizeof(s->cmdline)], cmd[sizeof(s->cmd)];
    bool restarted = false;

    if (read_cmdline(doc, cmdline, sizeof(cmdline), cmd, sizeof(cmd)) == 0) {
        if (s->cmdline[0] != '\0' && strcmp(cmdline, s->cmdline) != 0 && !restarted) {
            mark_restart(s, now, "cmdline changed");
            restarted = true;
        }
        memcpy(s->cmdline, cmdline, sizeof(cmdline));
        memcpy(s->cmd, cmd, sizeof(cmd));
    }

    for (size_t i = 0; i < TOP_N_MONOTONIC; i++) {
        const json_t *j = json_object_get(doc, mono_paths[i][0]);
        if (mono_paths[i][1] != NULL)
            j = json_object_get(j, mono_paths[i][1]);
        if (!json_is_number(j)) {
            s->mono[i].seen = false;
            continue;
        }
        double v = json_number_value(j);
        if (s->mono[i].seen && v < s->mono[i].v && !restarted) {
            mark_restart(s, now, "%s%s%s went backwards (%.0f -> %.0f)", mono_paths[i][0],
                         mono_paths[i][1] != NULL ? "." : "",
                         mono_paths[i][1] != NULL ? mono_paths[i][1] : "", s->mono[i].v, v);
            restarted = true;
        }
        s->mono[i].seen = true;
        s->mono[i].v = v;
    }
}

/* Whether a is numerically larger than b (an n/a b always loses). */
static bool value_greater(const top_value *a, const top_value *b)
{
    if (b->type == TOP_V_NA || b->type == TOP_V_STR)
        return true;
    if (a->type == TOP_V_INT && b->type == TOP_V_INT)
        return a->i > b->i; /* exact beyond 2^53 */
    return top_value_number(a) > top_value_number(b);
}

void top_service_apply(top_service *s, const struct timespec *now, const json_t *doc,
                       const top_var *vars, size_t nvars)
{
    s->restart_new = false;
    check_restart(s, now, doc);
    s->status = TOP_SVC_OK;
    s->err[0] = '\0';
    s->updated_at = *now;
    s->polls++;

    for (size_t i = 0; i < nvars && i < s->nseries; i++) {
        top_series *ser = &s->series[i];
        top_value_from_json(top_var_lookup(&vars[i], doc), &ser->cur);
        double x = top_value_number(&ser->cur);
        top_ring_push(&ser->hist, x);
        if (!isnan(x) && value_greater(&ser->cur, &ser->max))
            ser->max = ser->cur;
    }
}

const char *top_service_title(const top_service *s, char *buf, size_t len)
{
    if (s->cmd[0] != '\0')
        snprintf(buf, len, "%s (%s)", s->cmd, s->name);
    else
        snprintf(buf, len, "%s", s->name);
    return buf;
}

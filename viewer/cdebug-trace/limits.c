/* viewer/cdebug-trace/limits.c - see limits.h. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cdt.h"
#include "limits.h"

void cdt_limits_add(cdt_limits *l, const char *key, uint64_t count, const char *text,
                    unsigned long long arg)
{
    if (l->n >= CDT_LIMITS_MAX)
        return;
    cdt_limit *c = &l->v[l->n++];
    c->key = key;
    c->count = count;
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(c->text, sizeof c->text, text, arg);
#pragma GCC diagnostic pop
}

void cdt_limits_init(cdt_limits *l, const cdt_model_limits *lim, const cd_tr_stats *rd)
{
    l->n = 0;
    cdt_limits_add(l, "tasks_forgotten", lim->tasks_forgotten,
                   "tasks alive at once beyond the limit of %llu were forgotten: each is counted "
                   "as unfinished where it was forgotten, and a later event of one makes it a "
                   "task of unknown name",
                   CDT_MODEL_MAX_TASKS);
    cdt_limits_add(l, "threads_forgotten", lim->threads_forgotten,
                   "threads alive at once beyond the limit of %llu were forgotten: their open "
                   "spans end unfinished where they were forgotten",
                   CDT_MODEL_MAX_THREADS);
    cdt_limits_add(l, "user_tasks_forgotten", lim->user_tasks_forgotten,
                   "user tasks open at once beyond the limit of %llu were ended unfinished",
                   CDT_MODEL_MAX_USER_TASKS);
    cdt_limits_add(l, "spans_not_shown", lim->spans_not_shown,
                   "spans nested deeper than 1024, or open beyond the limit of %llu at once, are "
                   "left out",
                   CDT_MODEL_MAX_OPEN_SPANS);
    cdt_limits_add(l, "workers_ignored", lim->worker_events_ignored,
                   "events naming a worker beyond the first %llu were ignored",
                   CDT_MODEL_MAX_WORKERS);
    if (rd != NULL) {
        cdt_limits_add(l, "events_forced", rd->forced,
                       "events were delivered before their frontier: the reader holds at most %llu "
                       "MiB of events between frontiers",
                       CDT_READER_MAX_HELD >> 20);
        cdt_limits_add(l, "events_out_of_order", rd->out_of_order,
                       "events came out of time order (delivered early, or a thread going back "
                       "in time): each counts at the time reached before it",
                       0);
    }
}

bool cdt_limits_any(const cdt_limits *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].count != 0)
            return true;
    return false;
}

void cdt_limits_text(FILE *f, const cdt_limits *l, const char *what)
{
    if (!cdt_limits_any(l))
        return;
    fprintf(f, "\nLimits: %s (docs/cdebug-trace.md, \"Memory and speed\")\n", what);
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].count != 0)
            fprintf(f, "  %" PRIu64 " %s\n", l->v[i].count, l->v[i].text);
}

void cdt_limits_json(FILE *f, const cdt_limits *l)
{
    fprintf(f,
            "{\"max_tasks\":%d,\"max_threads\":%d,\"max_workers\":%d,\"max_user_tasks\":%d,"
            "\"max_open_spans\":%d,\"max_held_bytes\":%u",
            CDT_MODEL_MAX_TASKS, CDT_MODEL_MAX_THREADS, CDT_MODEL_MAX_WORKERS,
            CDT_MODEL_MAX_USER_TASKS, CDT_MODEL_MAX_OPEN_SPANS, CDT_READER_MAX_HELD);
    for (size_t i = 0; i < l->n; i++)
        fprintf(f, ",\"%s\":%" PRIu64, l->v[i].key, l->v[i].count);
    putc('}', f);
}

/* viewer/cdebug-trace/pprof.c - `cdebug-trace pprof --type=TYPE TRACE`:
 * the profiles `go tool trace -pprof=TYPE` makes of a Go trace, made of a
 * cdebug trace, written gzipped to standard output for `go tool pprof`.
 *
 * Each sample is a stack with two values, as Go's: contentions/count (how
 * many waits) and delay/nanoseconds (how long they took in all).
 *
 *   block    every blocking call (BLOCKED spans), from TASK_BLOCK to
 *            TASK_UNBLOCK (or the task's end), at the stack it was made
 *            from (a version 3 trace; a version 2 trace has none, and its
 *            waits fall under one empty stack);
 *   net, sync, syscall
 *            those of the class go tool trace's -pprof= of the same name
 *            finds in `cdebug-trace export --format=go` of the trace: one
 *            classification of reasons, reader/go_writer.h's
 *            cd__go_wait_class (any reason it does not know is a syscall,
 *            as the export makes it one);
 *   sched    scheduler latency: from a task's creation to its first start,
 *            at its creation stack (Go's -pprof=sched counts from the
 *            goroutine becoming runnable; a cdebug task that wakes from a
 *            blocking call waits for a worker inside its blocking span,
 *            which the trace does not split, so only creations count).
 *
 * Memory: one entry per distinct stack (the trace's stack table bounds
 * them), whatever the trace's length: the waits are summed as they end.
 * The profile is built at the end, while the reader still holds the
 * stacks and their symbols (the end callback).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cdt.h"
#include "map.h"
#include "model.h"
#include "prof/pprof.h"
#include "reader/go_writer.h"

typedef enum ptype { P_BLOCK, P_SYNC, P_NET, P_SYSCALL, P_SCHED } ptype;

static const char *const type_names[] = {"block", "sync", "net", "syscall", "sched"};

typedef struct total {
    int64_t count, ns;
} total;

typedef struct pctx {
    ptype type;
    cd_trace_reader *r;
    cdt_map by_stack; /* stack id + 1 -> total */
    int err;          /* first error (-ENOMEM), 0 if none */
    bool written;
} pctx;

/* Whether a blocking call's reason belongs to the profile's type. */
static bool wanted(ptype t, const char *reason, size_t n)
{
    switch (t) {
    case P_BLOCK:
        return true;
    case P_SYNC:
        return cd__go_wait_class(reason, n) == CD__GO_WAIT_SYNC;
    case P_NET:
        return cd__go_wait_class(reason, n) == CD__GO_WAIT_NET;
    case P_SYSCALL:
        return cd__go_wait_class(reason, n) == CD__GO_WAIT_SYSCALL;
    case P_SCHED:
        return false;
    }
    return false;
}

static void add(pctx *c, uint64_t stack, int64_t ns)
{
    if (c->err != 0)
        return;
    total *t = cdt_map_get(&c->by_stack, stack + 1);
    if (t == NULL) {
        t = calloc(1, sizeof *t);
        if (t == NULL || cdt_map_put(&c->by_stack, stack + 1, t) < 0) {
            free(t);
            c->err = -ENOMEM;
            return;
        }
    }
    t->count++;
    t->ns += ns > 0 ? ns : 0;
}

static void on_start(void *ud, cd_trace_reader *r)
{
    ((pctx *)ud)->r = r;
}

static void on_span_end(void *ud, const cdt_span *s)
{
    pctx *c = ud;
    if (s->kind == CDT_SPAN_BLOCKED && s->track_kind == CDT_TRACK_THREAD &&
        wanted(c->type, s->name, s->name_len))
        add(c, s->stack, s->end_ns - s->start_ns);
}

static void on_task_done(void *ud, const cdt_task_info *k)
{
    pctx *c = ud;
    if (c->type == P_SCHED && k->wait_ns >= 0)
        add(c, k->create_stack, k->wait_ns);
}

static bool lookup(void *ctx, uint64_t pc, const char **func, const char **file, int64_t *line)
{
    uint64_t l = 0;
    if (cd_trace_reader_symbol(ctx, pc, func, file, &l) != 0)
        return false;
    *line = (int64_t)l;
    return true;
}

/* Builds the profile from the totals and writes it to standard output. */
static int write_profile(pctx *c)
{
    cd__pprof *p = cd__pprof_new();
    if (p == NULL)
        return -ENOMEM;
    int rc = 0;
    cd__pprof_symbols(p, lookup, c->r);
    if ((rc = cd__pprof_sample_type(p, "contentions", "count")) < 0 ||
        (rc = cd__pprof_sample_type(p, "delay", "nanoseconds")) < 0 ||
        (rc = cd__pprof_default_type(p, "delay")) < 0)
        goto out;
    for (size_t i = 0; i < c->by_stack.cap; i++) {
        const total *t = c->by_stack.slots[i].val;
        if (t == NULL)
            continue;
        const uint64_t *pcs = NULL;
        size_t n = 0;
        if (cd_trace_reader_stack(c->r, c->by_stack.slots[i].key - 1, &pcs, &n) < 0)
            n = 0;
        uintptr_t *v = malloc((n ? n : 1) * sizeof *v);
        if (v == NULL) {
            rc = -ENOMEM;
            goto out;
        }
        for (size_t j = 0; j < n; j++)
            v[j] = (uintptr_t)pcs[j];
        int64_t vals[2] = {t->count, t->ns};
        rc = cd__pprof_sample(p, v, n, true, vals, NULL, 0);
        free(v);
        if (rc < 0)
            goto out;
    }
    rc = cd__pprof_write(p, STDOUT_FILENO);
out:
    cd__pprof_free(p);
    return rc;
}

static void on_end(void *ud, const cdt_model_end *e)
{
    (void)e;
    pctx *c = ud;
    if (c->err == 0)
        c->err = write_profile(c);
    c->written = c->err == 0;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: %s pprof --type=TYPE TRACE > OUT.pb.gz\n"
            "  TYPE: block (every blocking call), sync, net, syscall (by the call's\n"
            "  reason, as go tool trace -pprof=), sched (from a task's creation to its\n"
            "  first start). Read OUT with go tool pprof.\n",
            cdt_prog);
    return CDT_USAGE;
}

int cdt_cmd_pprof(int argc, char **argv)
{
    const char *path = NULL, *type = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--type=", 7) == 0) {
            type = a + 7;
        } else if (strcmp(a, "--type") == 0 && i + 1 < argc) {
            type = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            cdt_error("pprof: unknown flag %s", a);
            return usage();
        } else if (path == NULL) {
            path = a;
        } else {
            cdt_error("pprof: more than one trace");
            return usage();
        }
    }
    if (path == NULL || type == NULL) {
        cdt_error("pprof: %s", path == NULL ? "no trace given" : "no --type given");
        return usage();
    }
    pctx c = {.type = P_BLOCK};
    size_t k = 0;
    while (k < sizeof type_names / sizeof type_names[0] && strcmp(type, type_names[k]) != 0)
        k++;
    if (k == sizeof type_names / sizeof type_names[0]) {
        cdt_error("pprof: unknown type \"%s\" (known: block, sync, net, syscall, sched)", type);
        return usage();
    }
    c.type = (ptype)k;
    if (isatty(STDOUT_FILENO)) {
        cdt_error("pprof: standard output is a terminal; redirect it to a file (> out.pb.gz)");
        return CDT_USAGE;
    }
    cdt_model_cb cb = {.ud = &c,
                       .start = on_start,
                       .span_end = on_span_end,
                       .task_done = on_task_done,
                       .end = on_end};
    int code = cdt_model_run(path, &cb, NULL, NULL);
    for (size_t i = 0; i < c.by_stack.cap; i++)
        free(c.by_stack.slots[i].val);
    cdt_map_free(&c.by_stack);
    if (code == CDT_OK && !c.written) {
        cdt_error("pprof: %s", strerror(-c.err));
        code = CDT_FAIL;
    }
    return code;
}

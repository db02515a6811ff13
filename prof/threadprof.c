/* prof/threadprof.c - the threadcreate profile; see threadprof.h. The
 * creation stacks are recorded by the thread registry (runtime/thread.c)
 * and immutable once a thread is registered: they are copied under the
 * registry lock, then symbolized outside it. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cdebug/prof.h"
#include "prof/countprof.h"
#include "prof/taskprof.h"
#include "prof/threadprof.h"
#include "base/clock.h"
#include "base/dlhist.h"
#include "runtime/thread.h"

typedef struct tstack {
    size_t n;
    uintptr_t pcs[CD__THREAD_CREATE_DEPTH];
} tstack;

typedef struct tsnap {
    tstack *s;
    size_t n, cap;
    bool failed;
} tsnap;

static void on_thread(cd__thread *t, void *ctx)
{
    tsnap *s = ctx;
    if (s->n == s->cap) {
        size_t cap = s->cap * 2 + 16;
        tstack *p = realloc(s->s, cap * sizeof *p);
        if (p == NULL) {
            s->failed = true;
            return;
        }
        s->s = p;
        s->cap = cap;
    }
    tstack *st = &s->s[s->n++];
    st->n = t->ncreate;
    memcpy(st->pcs, t->create_pcs, t->ncreate * sizeof st->pcs[0]);
}

static int take(tsnap *s)
{
    memset(s, 0, sizeof *s);
    cd__thread_foreach(on_thread, s);
    return s->failed ? -ENOMEM : 0;
}

static int build(cd__pprof *p)
{
    tsnap s;
    int rc = take(&s);
    if (rc < 0)
        goto out;
    if ((rc = cd__pprof_sample_type(p, "threadcreate", "count")) < 0 ||
        (rc = cd__pprof_period(p, "threadcreate", "count", 1)) < 0)
        goto out;
    cd__pprof_time(p, (int64_t)cd__walltime(), 0);
    for (size_t i = 0; i < s.n; i++) {
        int64_t one = 1;
        if ((rc = cd__pprof_sample(p, s.s[i].pcs, s.s[i].n, false, &one, NULL, 0)) < 0)
            goto out;
    }
out:
    free(s.s);
    return rc;
}

static int text(FILE *f, int debug)
{
    (void)debug; /* Go's threadcreate has no debug=2 form: debug>=1 prints this */
    tsnap s;
    int rc = take(&s);
    cd__countprof_stack *st = NULL;
    if (rc < 0)
        goto out;
    rc = -ENOMEM;
    if ((st = calloc(s.n + 1, sizeof *st)) == NULL)
        goto out;
    for (size_t i = 0; i < s.n; i++)
        st[i] = (cd__countprof_stack){s.s[i].pcs, s.s[i].n, NULL, CD__DL_EPOCH_NOW};
    rc = cd__countprof_text(f, "threadcreate", st, s.n);
out:
    free(st);
    free(s.s);
    return rc;
}

static int64_t count(void)
{
    return (int64_t)cd__thread_count();
}

static const cd__profile threadprof_profile = {
    .name = "threadcreate",
    .desc = "Stack traces that led to the creation of new OS threads",
    .delta = true,
    .count = count,
    .build = build,
    .text = text,
};

int cd__threadprof_register(void)
{
    return cd__profile_register(&threadprof_profile);
}

int cd_threadprof_write(int fd, int debug)
{
    return cd__profile_write_fd(&threadprof_profile, fd, debug);
}

/* runtime/schedtrace.c - CDEBUG=schedtrace=N: the scheduler's state every N
 * ms on stderr, in Go 1.19's shapes (runtime/proc.go, schedtrace):
 *
 *   SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=1 idlethreads=1 runqueue=3 [12
 * 0]
 *
 * and with scheddetail=1, Go's detailed form: the same first line without
 * the bracket, then one indented line per P, per M (thread) and per G
 * (task). Fields Go prints that have no equivalent here (gcwaiting,
 * nmidlelocked, stopwait, sysmonwait, mallocing, throwing, preemptoff,
 * locks, dying, lockedg, lockedm, timerslen) are left out rather than
 * printed as made-up zeros; docs/cdebug.md lists every field printed.
 *
 * A monitor thread (not known to the collector: it touches no GC memory)
 * formats each report into a malloc'd buffer and writes it with one
 * write(2), so reports never interleave with each other. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/clock.h"
#include "base/futex.h"
#include "runtime/sched_int.h"
#include "runtime/sched_priv.h"
#include "runtime/schedtrace.h"
#include "base/io.h"

#define S cd__sched_g

typedef struct gctx {
    cd__buf *b;
    uint32_t shown, hidden;
} gctx;

/* cd__sched_foreach_task's visitor: one G line (ctx: the gctx). */
static void print_g(const cd__task_view *v, void *ctx)
{
    gctx *g = ctx;
    if (g->shown >= CD__SCHEDDETAIL_MAX_G) {
        g->hidden++;
        return;
    }
    g->shown++;
    cd__buf_printf(g->b, "  G%llu: status=%d(%s) m=%lld\n", (unsigned long long)v->id, v->state,
                   v->reason != NULL ? v->reason : "", (long long)v->m);
}

static void print_thread(cd__thread *t, void *ctx)
{
    /* Pool threads were printed from the M list with their scheduler
     * state; the others (main, service, registered) hold no P. */
    if (t->kind == CD__THREAD_WORKER)
        return;
    cd__buf_printf(ctx, "  M%llu: p=-1 curg=-1 spinning=false blocked=false\n",
                   (unsigned long long)t->id);
}

char *cd__schedtrace_format(uint64_t elapsed_ms, bool detailed, size_t *len)
{
    cd__buf b;
    cd__buf_init(&b, 0);
    int nprocs = S.nprocs;
    cd__buf_printf(&b,
                   "SCHED %llums: gomaxprocs=%d idleprocs=%d threads=%u spinningthreads=%d "
                   "idlethreads=%d runqueue=%u",
                   (unsigned long long)elapsed_ms, nprocs, atomic_load(&S.npidle),
                   cd__thread_count(), atomic_load(&S.nmspinning), atomic_load(&S.nmidle),
                   atomic_load(&S.gq_len));
    if (!detailed) {
        cd__buf_printf(&b, " [");
        for (int i = 0; i < nprocs; i++)
            cd__buf_printf(&b, i == 0 ? "%u" : " %u", cd__runq_len(S.allp[i]));
        cd__buf_printf(&b, "]\n");
        goto out;
    }
    cd__buf_printf(&b, "\n");

    for (int i = 0; i < nprocs; i++) {
        cd__p *p = S.allp[i];
        cd__buf_printf(
            &b,
            "  P%d: status=%d schedtick=%llu syscalltick=%llu m=%lld runqsize=%u "
            "gfreecnt=%u\n",
            i, atomic_load_explicit(&p->status, memory_order_relaxed),
            (unsigned long long)atomic_load_explicit(&p->schedtick, memory_order_relaxed),
            (unsigned long long)atomic_load_explicit(&p->syscalltick, memory_order_relaxed),
            (long long)atomic_load_explicit(&p->m, memory_order_relaxed), cd__runq_len(p),
            atomic_load_explicit(&p->nfree, memory_order_relaxed));
    }

    /* Ms, and the Gs they run: under the lock, the M list cannot shrink. */
    gctx g = {&b, 0, 0};
    cd__buf gl; /* G lines go after all M lines, as in Go */
    cd__buf_init(&gl, 0);
    g.b = &gl;
    pthread_mutex_lock(&S.lock);
    for (cd__m *m = S.allm; m != NULL; m = m->all_next) {
        if (atomic_load(&m->id) == 0)
            continue; /* its thread has not started: not counted in threads= yet */
        cd__task *t = atomic_load_explicit(&m->curg, memory_order_acquire);
        cd__buf_printf(&b, "  M%llu: p=%d curg=%lld spinning=%s blocked=%s\n",
                       (unsigned long long)atomic_load(&m->id), atomic_load(&m->pid),
                       t != NULL ? (long long)atomic_load(&t->id) : -1LL,
                       atomic_load(&m->spinning) ? "true" : "false",
                       atomic_load(&m->blocked) ? "true" : "false");
    }
    pthread_mutex_unlock(&S.lock);
    cd__sched_foreach_task(CD__TASKS_CURRENT, print_g, &g);
    cd__thread_foreach(print_thread, &b);

    /* Runnable Gs: each local queue from head to tail, then the global
     * queue. */
    cd__sched_foreach_task(CD__TASKS_QUEUED, print_g, &g);
    if (g.hidden > 0)
        cd__buf_printf(&gl, "  (%u more tasks not shown)\n", g.hidden);
    if (gl.oom)
        cd__buf_fail(&b);
    else
        cd__buf_put(&b, gl.p, gl.len);
    cd__buf_free(&gl);

out:
    *len = b.len;
    return cd__buf_finish(&b);
}

/* ---- the monitor thread ------------------------------------------------ */

static pthread_t monitor;
static bool monitor_running;
static _Atomic uint32_t monitor_stop;
static uint64_t period_ns;
static bool detail;

static void report(void)
{
    size_t len;
    uint64_t ms = (cd__nanotime() - cd__start_nanotime) / 1000000u;
    char *s = cd__schedtrace_format(ms, detail, &len);
    if (s != NULL) {
        (void)cd__write_all(2, s, len);
        free(s);
    }
}

static void *monitor_main(void *arg)
{
    (void)arg;
    /* First report at once (Go prints "SCHED 0ms" at start), then one per
     * period on a fixed grid so reports do not drift. */
    uint64_t next = cd__nanotime();
    while (!atomic_load(&monitor_stop)) {
        report();
        next += period_ns;
        for (;;) {
            uint64_t now = cd__nanotime();
            if (now >= next || atomic_load(&monitor_stop))
                break;
            uint64_t d = next - now;
            struct timespec ts = {(time_t)(d / 1000000000u), (long)(d % 1000000000u)};
            cd__futex_wait(&monitor_stop, 0, &ts);
        }
    }
    return NULL;
}

int cd__schedtrace_start(const cd__config *cfg)
{
    if (cfg->schedtrace_ms <= 0)
        return 0;
    period_ns = (uint64_t)cfg->schedtrace_ms * 1000000u;
    detail = cfg->scheddetail != 0;
    int rc = cd__thread_spawn(&monitor, "cd-schedtrace", CD__THREAD_SYSTEM, false, monitor_main, NULL);
    if (rc == 0)
        monitor_running = true;
    return rc;
}

void cd__schedtrace_fork_child(void)
{
    monitor_running = false; /* the parent's thread: never joined here */
    atomic_store_explicit(&monitor_stop, 0, memory_order_relaxed);
}

void cd__schedtrace_stop(void)
{
    if (!monitor_running)
        return;
    monitor_running = false;
    atomic_store(&monitor_stop, 1);
    cd__futex_wake(&monitor_stop, 1);
    pthread_join(monitor, NULL);
}

/* prof/taskprof.c - the task profile (Go's goroutine profile); see
 * taskprof.h for what is counted and docs/profiling.md for the
 * design.
 *
 * A profile is built in three steps, none of which stops anything:
 *   1. snapshot: every registered thread (under the registry lock: records
 *      stay valid) with the task it runs and its blocking record, then the
 *      queued tasks of every run queue. Task fields are copied with relaxed
 *      loads and kept only if the task's id and state say it was alive
 *      throughout the copy (records are recycled, never freed);
 *   2. stacks: running threads are asked by signal (prof/threadstack.h),
 *      outside every lock; a task whose id changed meanwhile has ended and
 *      is dropped;
 *   3. output: profile.proto samples, Go's count text or Go's tracebacks.
 * Everything is malloc'd: the HTTP job threads that render profiles are
 * not known to bdwgc.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "cdebug/prof.h"
#include "cdebug/sched.h"
#include "prof/countprof.h"
#include "base/dlhist.h"
#include "base/symbolize.h"
#include "prof/taskprof.h"
#include "prof/threadstack.h"
#include "base/clock.h"
#include "runtime/sched_view.h"

#define NAME_MAX_LEN 64 /* bytes of a task name kept (longer ones are cut) */

enum { K_TASK, K_THREAD };
enum { S_RUNNABLE, S_RUNNING, S_SYSCALL, S_BLOCKED, S_IDLE, S_SPINNING };

typedef struct ent {
    int kind;           /* K_* */
    int state;          /* S_* */
    int tkind;          /* cd__thread_kind of a thread */
    uint64_t id;        /* G number of a task, M number of a thread */
    uint64_t m;         /* thread running the task (0: none); a thread's own id */
    pid_t tid;          /* kernel id of that thread */
    cd__task_view tv;   /* the task as read, to re-validate */
    const char *reason; /* wait reason while blocked (a literal) */
    uint64_t since;     /* cd__nanotime() when it blocked */
    char name[NAME_MAX_LEN];
    uintptr_t fn, gopc;
    size_t off, n;   /* own stack in the pool, return-address convention */
    uint32_t epoch;  /* base/dlhist.h's when that stack was taken */
    size_t coff, cn; /* a thread's creation stack in the pool */
    bool leaf_exact; /* pool[off] is an interrupted pc + 1 */
    bool sys_leaf;   /* in system call sysnr: the stack is only the pc the
                      * kernel saved (its libc wrapper) */
    bool unanswered; /* sys_leaf of a thread signalled in vain, else of
                      * one left alone */
    bool want;       /* ask its thread for the stack */
    long sysnr;      /* the system call of a sys_leaf */
} ent;

typedef struct snap {
    ent *e;
    size_t n, cap;
    uintptr_t *pool;
    size_t pn, pcap;
    bool failed;
    const cd__taskprof_dumpopt *opt;
    /* base/dlhist.h's, read before the stacks: a library unloaded after it
     * is looked for under the pcs taken then. A stack taken later (asked
     * of its thread, step 2) carries its own (ent.epoch): by then the
     * thread may run a library loaded where an unloaded one was. */
    uint32_t epoch;
} snap;

/* ---- snapshot ------------------------------------------------------------ */

static size_t pool_add(snap *s, const uintptr_t *pcs, size_t n)
{
    if (n == 0)
        return 0;
    if (s->pn + n > s->pcap) {
        size_t cap = (s->pcap + n) * 2 + 256;
        uintptr_t *p = realloc(s->pool, cap * sizeof *p);
        if (p == NULL) {
            s->failed = true;
            return 0;
        }
        s->pool = p;
        s->pcap = cap;
    }
    size_t off = s->pn;
    memcpy(s->pool + off, pcs, n * sizeof *pcs);
    s->pn += n;
    return off;
}

static ent *ent_add(snap *s)
{
    if (s->n == s->cap) {
        size_t cap = s->cap * 2 + 64;
        ent *e = realloc(s->e, cap * sizeof *e);
        if (e == NULL) {
            s->failed = true;
            return NULL;
        }
        s->e = e;
        s->cap = cap;
    }
    ent *e = &s->e[s->n++];
    memset(e, 0, sizeof *e);
    e->epoch = s->epoch;
    return e;
}

/* Fills e from the task read in v (runtime/sched_view.h). */
static void task_ent(const cd__task_view *v, ent *e)
{
    e->fn = v->fn;
    e->gopc = v->gopc;
    /* Names live as long as their task (cd_go_named's contract). */
    e->name[0] = '\0';
    if (v->name != NULL) {
        size_t k = strnlen(v->name, NAME_MAX_LEN - 1);
        memcpy(e->name, v->name, k);
        e->name[k] = '\0';
    }
    e->kind = K_TASK;
    e->tv = *v;
    e->id = v->id;
    e->state = v->state == CD__TASKV_RUNNABLE  ? S_RUNNABLE
               : v->state == CD__TASKV_RUNNING ? S_RUNNING
                                               : S_BLOCKED;
    e->reason = v->reason != NULL ? v->reason : "blocked";
}

static void on_thread(cd__thread *thr, void *ctx)
{
    snap *s = ctx;
    if (s->opt != NULL && thr == s->opt->skip)
        return;
    /* The crash report below "system" leaves out the runtime's threads
     * that run no task: Go's GOTRACEBACK=all shows the program's
     * goroutines, not the runtime's. */
    if (s->opt != NULL && s->opt->user_only &&
        (thr->kind == CD__THREAD_WORKER || thr->kind == CD__THREAD_SYSTEM) &&
        !cd__sched_thread_task(thr, &(cd__task_view){0}))
        return;
    uintptr_t bpcs[CD__FPWALK_MAX];
    size_t bn = 0;
    uint64_t since = 0;
    const char *reason = cd__thread_block_read(thr, bpcs, CD__FPWALK_MAX, &bn, &since);
    cd__task_view v;
    bool runs = cd__sched_thread_task(thr, &v);
    ent *e = ent_add(s);
    if (e == NULL)
        return;
    e->tid = thr->tid;
    e->m = thr->id;
    e->tkind = thr->kind;
    if (runs) {
        task_ent(&v, e);
        e->m = thr->id;
        if (e->state == S_BLOCKED && reason != NULL) {
            e->reason = reason;
            e->since = since;
            e->off = pool_add(s, bpcs, bn);
            e->n = bn;
        } else if (e->state == S_RUNNING) {
            e->want = true;
        }
        return;
    }
    /* A thread that runs no task (or whose task ended just now). */
    memset(e, 0, sizeof *e);
    e->epoch = s->epoch;
    e->kind = K_THREAD;
    e->id = e->m = thr->id;
    e->tid = thr->tid;
    e->tkind = thr->kind;
    e->coff = pool_add(s, thr->create_pcs, thr->ncreate);
    e->cn = thr->ncreate;
    if (reason != NULL) {
        e->state = S_BLOCKED;
        e->reason = reason;
        e->since = since;
        e->off = pool_add(s, bpcs, bn);
        e->n = bn;
    } else {
        int idle = cd__sched_thread_idle_kind(thr);
        e->state = idle == CD__THREADV_OTHER      ? S_RUNNING
                   : idle == CD__THREADV_SPINNING ? S_SPINNING
                                                  : S_IDLE;
        e->want = true;
    }
}

/* cd__sched_foreach_task's visitor: a queued task. */
static void add_queued(const cd__task_view *v, void *ctx)
{
    if (v->state != CD__TASKV_RUNNABLE)
        return;
    ent *e = ent_add(ctx);
    if (e != NULL)
        task_ent(v, e);
}

static int by_kind_id(const void *a, const void *b)
{
    const ent *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

/* The frames below a task's function: cut from the end of its stack
 * (task_base, plus the return address into run_task before them). Only
 * when they are really there: a truncated walk keeps everything. */
static size_t trim_base(const uintptr_t *pcs, size_t n, const uintptr_t *base, size_t nbase)
{
    if (nbase == 0 || n < nbase + 1 || memcmp(pcs + n - nbase, base, nbase * sizeof *base) != 0)
        return n;
    return n - (nbase + 1);
}

/* The one frame known of a thread blocked in a system call without
 * interrupting it: the kernel saved the pc after the syscall instruction,
 * in the libc wrapper (/proc/self/task/TID/syscall). Its callers are not
 * known: the wrappers keep no frame pointer, and where the return address
 * lies above sp differs from wrapper to wrapper and path to path, so
 * reading the stack there would be a guess. Returns whether e got it. */
static bool sys_leaf(snap *s, ent *e, const cd__ts_sys *sys)
{
    if (!sys->in_syscall || sys->pc == 0)
        return false;
    uintptr_t pc = sys->pc + 1; /* an interrupted pc's convention */
    e->off = pool_add(s, &pc, 1);
    e->n = 1;
    e->leaf_exact = true;
    e->sys_leaf = true;
    e->sysnr = sys->nr;
    return true;
}

/* A thread caught running when it cannot answer (it blocks the signal, as
 * bdwgc's markers do, or was not scheduled before the deadline) has no
 * stack at all, though a thread running now is usually in a system call,
 * or able to answer, a few milliseconds later: such threads are asked
 * again, every RETRY_PAUSE_MS, until RETRY_MS after the first round. Only
 * the rare thread caught that way pays; a round that signals waits at most
 * CD__TS_TIMEOUT_MS, so a profile waits at most twice that plus RETRY_MS. */
#define RETRY_MS       50
#define RETRY_PAUSE_MS 2

/* One round of step 2 over the entries idx[0..k) (k is updated): entries
 * that get a stack or a system call's pc leave idx, the others (caught
 * running, no answer) stay for the next round. reqs has room for k. */
static void ask_round(snap *s, size_t *idx, size_t *k, cd__ts_req *reqs, size_t *who, bool retry)
{
    bool all = s->opt != NULL && s->opt->signal_all;
    size_t nreq = 0, left = 0;
    for (size_t j = 0; j < *k; j++) {
        ent *e = &s->e[idx[j]];
        cd__ts_sys sys;
        bool safe = cd__ts_signal_safe(e->tid, &sys);
        if (sys.in_syscall && e->state == S_RUNNING)
            e->state = S_SYSCALL;
        if (!safe && !all) {
            /* Left alone: a signal would make its call fail with EINTR. */
            if (sys_leaf(s, e, &sys))
                e->unanswered = retry; /* asked in vain before */
            else
                idx[left++] = idx[j]; /* unknown (n == 0): ask again */
            continue;
        }
        reqs[nreq].tid = e->tid;
        who[nreq++] = idx[j];
    }
    if (nreq > 0 && cd__ts_collect(reqs, nreq) < 0)
        for (size_t r = 0; r < nreq; r++)
            reqs[r].ok = false;
    for (size_t r = 0; r < nreq; r++) {
        ent *e = &s->e[who[r]];
        if (!reqs[r].ok || reqs[r].n == 0) {
            /* No answer (the signal is blocked, as in bdwgc's marker
             * threads, or the thread was not scheduled in time): if it is
             * in a system call now, its wrapper's pc is still known. */
            cd__ts_sys sys;
            (void)cd__ts_signal_safe(e->tid, &sys);
            if (sys_leaf(s, e, &sys))
                e->unanswered = true;
            else
                idx[left++] = who[r];
            continue;
        }
        reqs[r].pcs[0]++; /* the interrupted pc, in the return-address convention */
        e->off = pool_add(s, reqs[r].pcs, reqs[r].n);
        e->n = reqs[r].n;
        e->epoch = reqs[r].epoch;
        e->leaf_exact = true;
    }
    *k = left;
}

/* Step 2: current stacks of the threads that are running something. */
static void ask_stacks(snap *s)
{
    pid_t me = (pid_t)syscall(SYS_gettid);
    cd__ts_req *reqs = NULL;
    size_t *who = NULL, *idx = NULL, k = 0, nwant = 0;
    for (size_t i = 0; i < s->n; i++)
        nwant += s->e[i].want;
    if (nwant == 0)
        return;
    reqs = malloc(nwant * sizeof *reqs);
    who = malloc(nwant * sizeof *who);
    idx = malloc(nwant * sizeof *idx);
    if (reqs == NULL || who == NULL || idx == NULL) {
        s->failed = true;
        goto out;
    }
    for (size_t i = 0; i < s->n; i++) {
        ent *e = &s->e[i];
        if (!e->want)
            continue;
        if (e->tid == me) {
            /* Ourselves (cd_taskprof_write on a registered thread): no
             * signal needed, and none could be answered while we wait. */
            uintptr_t pcs[CD__FPWALK_MAX];
            size_t n = cd__fpwalk_here(pcs, CD__FPWALK_MAX, 0);
            e->off = pool_add(s, pcs, n);
            e->n = n;
            e->epoch = cd__dl_epoch();
            continue;
        }
        idx[k++] = i;
    }
    ask_round(s, idx, &k, reqs, who, false);
    uint64_t until = cd__nanotime() + (uint64_t)RETRY_MS * 1000000u;
    while (k > 0 && cd__nanotime() < until) {
        struct timespec pause = {0, RETRY_PAUSE_MS * 1000000L};
        nanosleep(&pause, NULL);
        ask_round(s, idx, &k, reqs, who, true);
    }
    /* Those left keep no frame (n == 0): see sample_stack. */
out:
    free(reqs);
    free(who);
    free(idx);
}

static void snap_free(snap *s)
{
    free(s->e);
    free(s->pool);
}

/* Takes the snapshot (steps 1 and 2). */
static int snap_take(snap *s, const cd__taskprof_dumpopt *opt)
{
    memset(s, 0, sizeof *s);
    s->opt = opt;
    s->epoch = cd__dl_epoch();
    cd__thread_foreach(on_thread, s);
    cd__sched_foreach_task(CD__TASKS_QUEUED, add_queued, s);
    if (s->failed)
        return -ENOMEM;
    /* A task stolen between two queues during the walk was seen twice.
     * (No entry: s->e is NULL, which qsort must not be given.) */
    if (s->n > 1)
        qsort(s->e, s->n, sizeof *s->e, by_kind_id);
    size_t w = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (w > 0 && s->e[i].kind == K_TASK && s->e[w - 1].kind == K_TASK &&
            s->e[w - 1].id == s->e[i].id)
            continue;
        s->e[w++] = s->e[i];
    }
    s->n = w;

    ask_stacks(s);
    if (s->failed)
        return -ENOMEM;

    uintptr_t base[CD__SCHED_BASE_MAX];
    size_t nbase = cd__sched_task_base(base, CD__SCHED_BASE_MAX);
    w = 0;
    for (size_t i = 0; i < s->n; i++) {
        ent *e = &s->e[i];
        if (e->kind == K_TASK && e->state != S_RUNNABLE) {
            /* Ended while we asked for its stack: it is not there any more,
             * and the stack we got may be the next task's. */
            if (!cd__sched_task_same(&e->tv))
                continue;
            if (opt == NULL || !opt->runtime)
                e->n = trim_base(s->pool + e->off, e->n, base, nbase);
        }
        s->e[w++] = *e;
    }
    s->n = w;
    return 0;
}

/* ---- the sample stack of an entry (debug 0 and 1) ------------------------ */

/* Own stack (or what is known of it), then the creation frame of a task.
 * Returns the number of frames in out (at most CD__FPWALK_MAX + 2).
 *
 * Only frames known to be on the stack now. Go's goroutine profile always
 * has a whole stack (the world is stopped, every goroutine's context is
 * saved); a thread here may have none: not signalled (its system call
 * would fail with EINTR, then its stack is the wrapper's pc alone), no
 * answer in time, or a SIGURG handler of the program's own. Such a thread
 * is still counted, with its label, but with no frame it is not known to
 * be in: its creation or registration stack (cd_init <- call_init for
 * main) is where it was once, not where it is, and would read as a
 * current stack in every view. (debug=2 says "frames not available", as
 * Go's traceback says "stack unavailable" of a goroutine it cannot walk,
 * and shows the creation as "created by".) A task's function is known to
 * be on its stack: it stands for the frames below an unknown or partial
 * stack. */
static size_t sample_stack(const snap *s, const ent *e, uintptr_t *out)
{
    size_t n = 0;
    if (e->n > 0) {
        memcpy(out, s->pool + e->off, e->n * sizeof *out);
        n = e->n;
    }
    if (e->kind == K_TASK && e->fn != 0 && (n == 0 || e->sys_leaf))
        out[n++] = e->fn + 1; /* not started (or unknown): its function */
    if (e->kind == K_TASK && e->gopc != 0)
        out[n++] = e->gopc;
    return n;
}

#define SAMPLE_MAX (CD__FPWALK_MAX + CD__THREAD_CREATE_DEPTH + 2)

static int build(cd__pprof *p)
{
    snap s;
    int rc = snap_take(&s, NULL);
    if (rc < 0)
        goto out;
    if ((rc = cd__pprof_sample_type(p, "goroutine", "count")) < 0 ||
        (rc = cd__pprof_period(p, "goroutine", "count", 1)) < 0)
        goto out;
    cd__pprof_time(p, (int64_t)cd__walltime(), 0);
    for (size_t i = 0; i < s.n; i++) {
        const ent *e = &s.e[i];
        uintptr_t pcs[SAMPLE_MAX];
        size_t n = sample_stack(&s, e, pcs);
        int64_t one = 1;
        cd__pprof_label l;
        size_t nl = 0;
        if (e->kind == K_TASK && e->name[0] != '\0') {
            l = (cd__pprof_label){"task", e->name, 0, NULL};
            nl = 1;
        } else if (e->kind == K_THREAD) {
            l = (cd__pprof_label){"thread", cd__thread_kind_name(e->tkind), 0, NULL};
            nl = 1;
        }
        if ((rc = cd__pprof_sample_at(p, pcs, n, false, e->epoch, &one, &l, nl)) < 0)
            goto out;
    }
out:
    snap_free(&s);
    return rc;
}

/* Go's labelMap.String() of the entry's labels, malloc'd, or NULL. */
static char *labels_of(const ent *e)
{
    const char *k, *v;
    if (e->kind == K_TASK && e->name[0] != '\0') {
        k = "task";
        v = e->name;
    } else if (e->kind == K_THREAD) {
        k = "thread";
        v = cd__thread_kind_name(e->tkind);
    } else {
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return NULL;
    fputc('{', f);
    cd__countprof_quote(f, k);
    fputc(':', f);
    cd__countprof_quote(f, v);
    fputc('}', f);
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

static int text_count(FILE *f, const snap *s)
{
    int rc = -ENOMEM;
    cd__countprof_stack *st = calloc(s->n + 1, sizeof *st);
    uintptr_t *pcs = malloc((s->n + 1) * SAMPLE_MAX * sizeof *pcs);
    if (st == NULL || pcs == NULL)
        goto out;
    for (size_t i = 0; i < s->n; i++) {
        st[i].pcs = pcs + i * SAMPLE_MAX;
        st[i].n = sample_stack(s, &s->e[i], pcs + i * SAMPLE_MAX);
        st[i].labels = labels_of(&s->e[i]);
        st[i].epoch = s->e[i].epoch;
        if (st[i].labels == NULL && (s->e[i].kind == K_THREAD || s->e[i].name[0] != '\0'))
            goto out;
    }
    rc = cd__countprof_text(f, "goroutine", st, s->n);
out:
    if (st != NULL)
        for (size_t i = 0; i < s->n; i++)
            free((char *)st[i].labels);
    free(st);
    free(pcs);
    return rc;
}

/* ---- debug=2: Go's traceback shape ---------------------------------------- */

static const char *state_text(const ent *e)
{
    switch (e->state) {
    case S_RUNNABLE:
        return "runnable";
    case S_RUNNING:
        return "running";
    case S_SYSCALL:
        return "syscall";
    case S_BLOCKED:
        return e->reason;
    case S_IDLE:
        return "idle";
    default:
        return "spinning";
    }
}

/* One frame: pc is Go's frame.pc (the interrupted pc of an exact leaf, else
 * a return address); file and line are those of the call (pc - 1) unless
 * exact. */
static void print_frame(FILE *f, cd__symctx *sym, uint32_t epoch, uintptr_t pc, bool exact)
{
    cd__sym y;
    cd__sym_lookup_epoch(sym, exact ? pc : pc - 1, epoch, &y);
    if (!y.named) { /* FILE+0xADDR, or "?" for a pc in no file */
        fprintf(f, "%s(...)\n\t?:0 pc=0x%lx\n", y.func, (unsigned long)pc);
        return;
    }
    fprintf(f, "%s(...)\n\t%s:%lld", y.func, y.file, (long long)y.line);
    if (pc > y.start)
        fprintf(f, " +0x%lx", (unsigned long)(pc - y.start));
    fputc('\n', f);
}

/* The frames of a stack, innermost first; exact: pcs[0] is an
 * interrupted pc + 1 (the snapshot's convention), not a return address. */
static void print_frames(FILE *f, cd__symctx *sym, uint32_t epoch, const uintptr_t *pcs, size_t n,
                         bool exact)
{
    for (size_t i = 0; i < n; i++)
        print_frame(f, sym, epoch, exact && i == 0 ? pcs[i] - 1 : pcs[i], exact && i == 0);
    if (n >= CD__FPWALK_MAX)
        fputs("...additional frames elided...\n", f);
}

/* Go's printcreatedby: the function that spawned, at its call. */
static void print_created_by(FILE *f, cd__symctx *sym, uint32_t epoch, uintptr_t pc)
{
    cd__sym y;
    cd__sym_lookup_epoch(sym, pc - 1, epoch, &y);
    if (!y.named) { /* as print_frame's */
        fprintf(f, "created by %s\n\t?:0 pc=0x%lx\n", y.func, (unsigned long)pc);
        return;
    }
    fprintf(f, "created by %s\n\t%s:%lld", y.func, y.file, (long long)y.line);
    if (y.start != 0 && pc > y.start)
        fprintf(f, " +0x%lx", (unsigned long)(pc - y.start));
    fputc('\n', f);
}

/* The block of one entry; pcs/n/exact: its stack in the snapshot's pool;
 * cpc: a thread's creation pc (0: none); epoch: the stack's (ent.epoch). */
static void print_block(FILE *f, cd__symctx *sym, uint32_t epoch, const ent *e,
                        const uintptr_t *pcs, size_t n, bool exact, uintptr_t cpc)
{
    uint64_t minutes = 0;
    if (e->state == S_BLOCKED && e->since != 0) {
        uint64_t now = cd__nanotime();
        minutes = now > e->since ? (now - e->since) / 60000000000ull : 0;
    }
    if (e->kind == K_TASK)
        fprintf(f, "goroutine %llu [%s", (unsigned long long)e->id, state_text(e));
    else
        fprintf(f, "thread M%llu [%s, %s", (unsigned long long)e->id,
                cd__thread_kind_name(e->tkind), state_text(e));
    if (minutes >= 1)
        fprintf(f, ", %llu minutes", (unsigned long long)minutes);
    if (e->kind == K_TASK && e->name[0] != '\0') {
        fputs(", task ", f);
        cd__countprof_quote(f, e->name);
    }
    fputs("]:\n", f);

    /* The stack ends before its first pc in no code, as in the proto form
     * (base/symbolize.h, cd__sym_cut); pcs[0], an exact leaf or not,
     * stays. */
    n = cd__sym_cut(sym, pcs, n, epoch, true);
    if (n > 0) {
        print_frames(f, sym, epoch, pcs, n, exact);
        if (e->sys_leaf) {
            char buf[32];
            const char *call = cd__ts_syscall_name(e->sysnr, buf, sizeof buf);
            if (e->unanswered)
                fprintf(f, "...callers not available (in %s, no answer to the signal)...\n", call);
            else
                fprintf(f,
                        "...callers not available (not interrupted: %s would fail with EINTR)...\n",
                        call);
            if (e->kind == K_TASK && e->fn != 0)
                print_frame(f, sym, epoch, e->fn, true);
        }
    } else if (e->kind == K_TASK && e->state == S_RUNNABLE) {
        if (e->fn != 0)
            print_frame(f, sym, epoch, e->fn, true); /* not started: its entry */
    } else {
        fputs("...frames not available...\n", f);
        if (e->kind == K_TASK && e->fn != 0)
            print_frame(f, sym, epoch, e->fn, true);
    }
    if (e->kind == K_TASK && e->gopc != 0)
        print_created_by(f, sym, epoch, e->gopc);
    else if (cpc != 0)
        print_created_by(f, sym, epoch, cpc);
}

/* A thread's "created by": kit threads and the program's pthreads were
 * created by a stack we know (main's and registered threads' record is
 * where they registered). */
static uintptr_t thread_creator(const snap *s, const ent *e)
{
    if (e->kind != K_THREAD || e->cn == 0 ||
        (e->tkind != CD__THREAD_WORKER && e->tkind != CD__THREAD_SYSTEM &&
         e->tkind != CD__THREAD_PTHREAD))
        return 0;
    return s->pool[e->coff];
}

int cd__taskprof_dump(FILE *f, const cd__taskprof_dumpopt *opt)
{
    snap s;
    cd__symctx *sym = opt != NULL ? opt->sym : NULL, *own = NULL;
    int rc = snap_take(&s, opt);
    if (rc < 0)
        goto out;
    if (sym == NULL && (rc = cd__sym_begin(&own)) < 0)
        goto out;
    if (sym == NULL)
        sym = own;
    for (size_t i = 0; i < s.n; i++) {
        const ent *e = &s.e[i];
        if (i > 0)
            fputc('\n', f);
        print_block(f, sym, e->epoch, e, e->n > 0 ? s.pool + e->off : NULL, e->n, e->leaf_exact,
                    thread_creator(&s, e));
    }
    rc = ferror(f) ? -EIO : 0;
out:
    cd__sym_end(own);
    snap_free(&s);
    return rc;
}

void cd__taskprof_print_stack(FILE *f, cd__symctx *sym, const uintptr_t *pcs, size_t n, bool task,
                              bool runtime, uintptr_t created_by)
{
    uintptr_t v[CD__FPWALK_MAX];
    if (n > CD__FPWALK_MAX)
        n = CD__FPWALK_MAX;
    memcpy(v, pcs, n * sizeof *v);
    if (n > 0)
        v[0]++; /* the snapshot's convention for an interrupted pc */
    if (task && !runtime) {
        uintptr_t base[CD__SCHED_BASE_MAX];
        size_t nbase = cd__sched_task_base(base, CD__SCHED_BASE_MAX);
        n = trim_base(v, n, base, nbase);
    }
    n = cd__sym_cut(sym, v, n, CD__DL_EPOCH_NOW, true); /* as cd__taskprof_dump's */
    if (n > 0)
        print_frames(f, sym, CD__DL_EPOCH_NOW, v, n, true);
    else
        fputs("...frames not available...\n", f);
    if (created_by != 0)
        print_created_by(f, sym, CD__DL_EPOCH_NOW, created_by);
}

static int text(FILE *f, int debug)
{
    if (debug >= 2)
        return cd__taskprof_dump(f, NULL);
    snap s;
    int rc = snap_take(&s, NULL);
    if (rc == 0)
        rc = text_count(f, &s);
    snap_free(&s);
    return rc;
}

/* The index page's count: live tasks plus threads running none, i.e.
 * queued tasks plus threads (each running or blocked task holds one). */
static int64_t count(void)
{
    cd_schedstats st;
    cd_read_schedstats(&st);
    return (int64_t)(st.tasks_queued + cd__thread_count());
}

static const cd__profile taskprof_profile = {
    .name = "goroutine",
    .desc = "Stack traces of all current tasks (goroutines) and of the threads running none",
    .delta = true,
    .count = count,
    .build = build,
    .text = text,
};

int cd__taskprof_register(void)
{
    return cd__profile_register(&taskprof_profile);
}

int cd_taskprof_write(int fd, int debug)
{
    return cd__profile_write_fd(&taskprof_profile, fd, debug);
}

/* prof/cpuprof.c - the CPU profiler. See cpuprof.h for the design; this
 * file's comments explain the concurrency.
 *
 * Locks. ctl_lock serialises whole profiles (start .. stop and delivery);
 * start only try-locks it, so a request never waits behind a profile
 * being written. data_lock protects the slots (live and free lists, the
 * thread <-> slot binding), the aggregate table and the session fields
 * the aggregator reads. Order: ctl_lock -> data_lock -> the thread
 * registry's lock (cd__thread_foreach). The signal handler takes none.
 *
 * A slot's life. arm() binds a free slot to a thread: bumps its
 * generation, resets the ring, creates the thread's timer with a token
 * (magic, generation, slot index) as the signal's value. retire() undoes
 * it: deletes the timer, bumps the generation, waits until no handler
 * holds the slot (busy), drains the ring, and puts the slot on the free
 * list. A handler claims the slot (busy = 1) and only then compares
 * generations; with retire() storing the generation before reading busy,
 * both sequentially consistent, either the handler sees the new
 * generation and leaves, or retire() sees it busy and waits. A signal
 * still queued after timer_delete (Linux delivers it later) thus finds a
 * newer generation and is dropped: a slot is never written by a thread it
 * no longer belongs to, and since slots are never freed, never written
 * after being freed.
 *
 * The ring is single-producer (the handler on the slot's thread: SIGPROF
 * does not nest) single-consumer (whoever holds data_lock): the producer
 * writes words then publishes tail (release); the consumer reads up to
 * tail (acquire) and publishes head (release), which the producer reads
 * (acquire) to see free room.
 */
#include <dirent.h>
#include <errno.h>
#include <link.h>
#include <stddef.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>

#include "cdebug/prof.h"
#include "prof/cpuprof.h"
#include "base/dlhist.h"
#include "base/fpwalk.h"
#include "prof/pprof.h"
#include "runtime/fdguard.h"
#include "runtime/mprof.h"
#include "runtime/sigmask.h"
#include "runtime/hooks.h"
#include "runtime/env.h"
#include "runtime/start.h"
#include "runtime/sched_view.h"
#include "base/io.h"
#include "base/sigsafe.h"

#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif

#define RING_MASK   ((uint64_t)CD__CPUPROF_RING_WORDS - 1)
#define NAME_WORDS  ((CD__CPUPROF_NAME_MAX + 1 + sizeof(uintptr_t) - 1) / sizeof(uintptr_t))
#define TOKEN_MAGIC UINT64_C(0xcd9f)

_Static_assert((CD__CPUPROF_RING_WORDS & (CD__CPUPROF_RING_WORDS - 1)) == 0,
               "ring size must be a power of two");
_Static_assert(CD__FPWALK_MAX < 256 && NAME_WORDS < 256, "record header fields are 8 bits");
_Static_assert(CD__CPUPROF_MAX_THREADS <= 65536, "slot index is 16 bits in the token");
_Static_assert(CD__CPUPROFILERATE_MAX == CD__CPUPROF_MAX_HZ &&
                   CD__CPUPROFILERATE == CD__CPUPROF_DEFAULT_HZ,
               "CDEBUG cpuprofilerate's bounds are the profiler's");

/* ---- slots ------------------------------------------------------------- */

typedef struct slot {
    _Atomic uint64_t tail; /* words written (producer) */
    _Atomic uint64_t head; /* words consumed (consumer) */
    _Atomic int busy;      /* a handler is inside */
    _Atomic uint32_t gen;  /* binding generation (token bits 16..47) */
    _Atomic uint64_t dropped;
    _Atomic uint64_t no_stack;
    uint32_t idx;
    timer_t timer;
    cd__thread *thr; /* bound thread (data_lock); read by its own handler */
    pid_t tid;       /* its kernel thread id (data_lock) */
    unsigned long long start; /* a loose slot's thread start time (data_lock) */
    bool seen;                /* a loose slot's thread found by this scan */
    char tname[16];  /* its name, the samples' thread label (data_lock) */
    struct slot *next;
    uintptr_t ring[CD__CPUPROF_RING_WORDS];
} slot;

/* Index -> slot, for the handler. Entries are set once and never cleared. */
static slot *_Atomic slot_tab[CD__CPUPROF_MAX_THREADS];
static uint32_t nslots;  /* data_lock */
static slot *free_slots; /* data_lock */
static slot *live_slots; /* data_lock */

/* ---- aggregate: distinct (task name, stack) -> weight ------------------- */

typedef struct agg {
    uint64_t hash;
    int64_t count;
    uint32_t epoch; /* base/dlhist.h's, when the samples were taken */
    char *name;   /* NULL: no task */
    char *thread; /* the thread's name */
    uint32_t n;
    uintptr_t pcs[];
} agg;

typedef struct aggtab {
    agg **v;
    size_t cap, len;
    bool oom; /* a sample could not be stored (counted as lost) */
} aggtab;

/* ---- state ------------------------------------------------------------- */

enum { IDLE, RUNNING, STOPPING };

static pthread_mutex_t ctl_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t data_lock = PTHREAD_MUTEX_INITIALIZER;
static int state = IDLE;   /* ctl_lock */
static _Atomic int active; /* threads get timers (written under data_lock) */

static struct {
    int hz;
    int64_t period_ns;
    int64_t start_wall_ns, start_mono_ns;
    cd__cpuprof_done_fn done;
    void *ctx;
    aggtab tab;        /* data_lock */
    uint64_t dropped;  /* data_lock: ring-full losses drained so far */
    uint64_t oom_lost; /* data_lock */
    pthread_t aggr;
    pthread_cond_t cond; /* wakes the aggregator (data_lock) */
    bool quit;           /* data_lock */
    uint32_t rand;       /* data_lock: timer phase */
    pid_t pid;           /* process that started the profile */
} S;

static struct {
    _Atomic uint64_t samples, dropped, no_stack, untracked, stale, profiles;
} stats;

static bool handler_installed; /* ctl_lock */
static struct sigaction old_action;

/* ---- the signal handler ------------------------------------------------ */

/* Chains a SIGPROF that is not ours to the handler installed before us.
 * With none (default action), the signal is ignored: the default would
 * kill the process. */
static void chain(int sig, siginfo_t *si, void *uc)
{
    (void)cd__sig_forward(&old_action, sig, si, uc);
}

/* The current task's name on slot s's thread, or NULL. Only the
 * scheduler's thread-local records are read: the thread's M and its curg,
 * both written by this very thread; the task's name must live as long as
 * the task (cd_go_named's contract), which is running right here. */
static const char *current_task_name(const slot *s)
{
    return cd__sched_thread_task_name(s->thr);
}

/* ---- frameless leaf functions ------------------------------------------ */

/* The readable executable mappings, for cd__fpwalk_fix_leaf's test of a
 * return address (base/fpwalk.h, which explains the repair).
 *
 * The table is read from /proc/self/maps at start and again by the
 * aggregator when the dynamic loader's count of objects loaded or
 * unloaded (dl_iterate_phdr's dlpi_adds, dlpi_subs) moved: a library
 * dlopened during the profile gets its leaves' callers, and one dlclosed
 * leaves the table. Between the dlclose and the next drain the table still
 * holds the unloaded code, and the word at the stack pointer may be a
 * stale return address into it (a slot left by an earlier call into the
 * library): cd__fpwalk_fix_leaf therefore copies the code bytes with a
 * read that fails, not faults, on an unmapped address. */

#define MAX_TEXT 512
/* Written by one thread at a time (start_locked before the aggregator
 * exists, then the aggregator), read by handlers: a sequence lock. The
 * handler gives up when the sequence is odd or moved while it read; the
 * words are atomics so that a torn read is only a wrong answer it then
 * discards, never undefined behaviour. */
static struct {
    _Atomic uintptr_t lo, hi;
} text[MAX_TEXT];
static _Atomic size_t ntext;
static _Atomic unsigned text_seq;
static unsigned long long text_dl_count; /* adds + subs when last read */

/* dl_iterate_phdr callback: the loader's adds + subs (the same in every
 * entry), then stop. */
static int dl_count_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    if (size >= offsetof(struct dl_phdr_info, dlpi_subs) + sizeof info->dlpi_subs)
        *(unsigned long long *)data = info->dlpi_adds + info->dlpi_subs;
    return 1;
}

static unsigned long long dl_count(void)
{
    unsigned long long n = 0;
    dl_iterate_phdr(dl_count_cb, &n);
    return n;
}

/* Records the readable executable mappings. Called by start_locked
 * (ctl_lock held, no aggregator yet) or by the aggregator (data_lock not
 * held: reads a file): one writer at a time. */
static void load_text_ranges(void)
{
    static struct {
        uintptr_t lo, hi;
    } v[MAX_TEXT];
    size_t n = 0;
    text_dl_count = dl_count(); /* before the read: a change after it is seen next time */
    FILE *f = fopen("/proc/self/maps", "re");
    if (f != NULL) {
        char line[512];
        while (n < MAX_TEXT && fgets(line, sizeof line, f) != NULL) {
            unsigned long lo, hi;
            char perm[5];
            if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perm) == 3 && perm[0] == 'r' &&
                perm[2] == 'x') {
                v[n].lo = lo;
                v[n].hi = hi;
                n++;
            }
            /* A line longer than the buffer: skip its rest. */
            while (strchr(line, '\n') == NULL && fgets(line, sizeof line, f) != NULL)
                ;
        }
        fclose(f);
    }
    unsigned seq = atomic_load_explicit(&text_seq, memory_order_relaxed);
    atomic_store_explicit(&text_seq, seq + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
    for (size_t i = 0; i < n; i++) {
        atomic_store_explicit(&text[i].lo, v[i].lo, memory_order_relaxed);
        atomic_store_explicit(&text[i].hi, v[i].hi, memory_order_relaxed);
    }
    atomic_store_explicit(&ntext, n, memory_order_relaxed);
    atomic_store_explicit(&text_seq, seq + 2, memory_order_release);
}

/* The aggregator's check, each drain: reloads the table when a library
 * was loaded or unloaded since it was read. O(1) (dl_iterate_phdr stops
 * at the first object) unless it reloads. */
static void refresh_text_ranges(void)
{
    if (dl_count() != text_dl_count)
        load_text_ranges();
}

/* [lo, hi) lies in one recorded mapping. Binary search: maps is sorted.
 * The caller checks the sequence (text_seq) around it. */
static bool in_text(uintptr_t lo, uintptr_t hi)
{
    size_t l = 0, r = atomic_load_explicit(&ntext, memory_order_relaxed);
    if (r > MAX_TEXT)
        return false;
    while (l < r) {
        size_t m = l + (r - l) / 2;
        uintptr_t mlo = atomic_load_explicit(&text[m].lo, memory_order_relaxed);
        uintptr_t mhi = atomic_load_explicit(&text[m].hi, memory_order_relaxed);
        if (hi - 1 < mlo)
            r = m;
        else if (hi - 1 >= mhi)
            l = m + 1;
        else
            return lo >= mlo;
    }
    return false;
}

/* cd__fpwalk_code_fn for the handler: in_text under the sequence lock; a
 * table being rewritten answers no. Async-signal-safe. */
static bool is_text(uintptr_t lo, uintptr_t hi)
{
    unsigned seq = atomic_load_explicit(&text_seq, memory_order_acquire);
    if ((seq & 1) != 0)
        return false;
    bool in = in_text(lo, hi);
    atomic_thread_fence(memory_order_acquire);
    return in && atomic_load_explicit(&text_seq, memory_order_relaxed) == seq;
}

/* How many of pcs[0..n) to keep: all up to the first return address
 * (index 1 on) in no executable mapping. Code built without frame
 * pointers may keep data in rbp (Debian's redis-server does), and a walk
 * through it takes a word of that data for the next return address (a
 * heap pointer, a non-canonical value): go tool pprof would show an
 * <unknown> frame, and every frame past it is as false. pcs[0] is where
 * the thread was, mapped or not, and stays. A table being rewritten, or
 * full (MAX_TEXT mappings read: some are missing), cannot tell and keeps
 * everything; so does code mapped since the table was last read, until
 * the aggregator's next drain reads it again. Async-signal-safe. */
static size_t cut_at_data(const uintptr_t *pcs, size_t n)
{
    unsigned seq = atomic_load_explicit(&text_seq, memory_order_acquire);
    if ((seq & 1) != 0 || atomic_load_explicit(&ntext, memory_order_relaxed) >= MAX_TEXT)
        return n;
    size_t k = 1;
    while (k < n && pcs[k] != 0 && in_text(pcs[k] - 1, pcs[k]))
        k++;
    atomic_thread_fence(memory_order_acquire);
    return atomic_load_explicit(&text_seq, memory_order_relaxed) == seq ? k : n;
}

static void on_sigprof(int sig, siginfo_t *si, void *uc)
{
    int saved_errno = errno;
    uint64_t tok = (uint64_t)(uintptr_t)si->si_value.sival_ptr;
    if (si->si_code != SI_TIMER || (tok >> 48) != TOKEN_MAGIC) {
        chain(sig, si, uc);
        goto out;
    }
    uint32_t idx = (uint32_t)(tok & 0xffff), gen = (uint32_t)(tok >> 16);
    if (idx >= CD__CPUPROF_MAX_THREADS)
        goto out;
    slot *s = atomic_load_explicit(&slot_tab[idx], memory_order_acquire);
    if (s == NULL)
        goto out;
    if (atomic_exchange(&s->busy, 1) != 0) {
        /* Only a stale signal can meet another handler here. */
        atomic_fetch_add_explicit(&stats.stale, 1, memory_order_relaxed);
        goto out;
    }
    if (atomic_load(&s->gen) != gen) {
        atomic_fetch_add_explicit(&stats.stale, 1, memory_order_relaxed);
        goto release;
    }

    uintptr_t pcs[CD__FPWALK_MAX];
    size_t n = cd__fpwalk_ucontext(uc, pcs, CD__FPWALK_MAX);
    /* Stack bounds unknown (a thread found in /proc): its function, and
     * the caller cd__fpwalk_fix_leaf can tell from the word at the stack
     * pointer. */
    if (n == 0 && (pcs[0] = cd__fpwalk_pc(uc)) != 0)
        n = 1;
    n = cd__fpwalk_fix_leaf(uc, pcs, n, CD__FPWALK_MAX, is_text);
    n = cut_at_data(pcs, n);
    if (n == 0) {
        atomic_fetch_add_explicit(&s->no_stack, 1, memory_order_relaxed);
        goto release;
    }
    /* The task's name, NUL-padded to whole words. A byte loop: no
     * library call, and the name is read only up to the cap. */
    union {
        char c[NAME_WORDS * sizeof(uintptr_t)];
        uintptr_t w[NAME_WORDS];
    } name;
    size_t nw = 0;
    const char *tn = current_task_name(s);
    if (tn != NULL) {
        size_t len = 0;
        while (len < CD__CPUPROF_NAME_MAX && tn[len] != '\0') {
            name.c[len] = tn[len];
            len++;
        }
        nw = len / sizeof(uintptr_t) + 1; /* room for the NUL */
        for (size_t i = len; i < nw * sizeof(uintptr_t); i++)
            name.c[i] = '\0';
    }
    /* Overruns: expirations the kernel merged into this one signal. */
    uint64_t weight = 1 + (si->si_overrun > 0 ? (uint64_t)si->si_overrun : 0);
    if (weight > 0xffffffffu)
        weight = 0xffffffffu;

    uint64_t words = 2 + nw + n;
    uint64_t tail = atomic_load_explicit(&s->tail, memory_order_relaxed);
    uint64_t head = atomic_load_explicit(&s->head, memory_order_acquire);
    if (tail - head + words > CD__CPUPROF_RING_WORDS) {
        atomic_fetch_add_explicit(&s->dropped, weight, memory_order_relaxed);
        goto release;
    }
    s->ring[tail & RING_MASK] = (uintptr_t)(n | nw << 8 | weight << 16);
    /* The unload epoch: the stack's pcs are symbolized in the libraries
     * loaded now, even if unloaded before the profile is written. */
    s->ring[(tail + 1) & RING_MASK] = cd__dl_epoch();
    for (size_t i = 0; i < nw; i++)
        s->ring[(tail + 2 + i) & RING_MASK] = name.w[i];
    for (size_t i = 0; i < n; i++)
        s->ring[(tail + 2 + nw + i) & RING_MASK] = pcs[i];
    atomic_store_explicit(&s->tail, tail + words, memory_order_release);

release:
    atomic_store(&s->busy, 0);
out:
    errno = saved_errno;
}

/* The pseudo-function that samples lost to full rings are charged to,
 * so the profile's total stays the CPU time really used (Go charges them
 * to runtime/pprof.lostProfileEvent). Never called. Static like any
 * file-local function (the symbolizer reads local symbols too); its name
 * is the one the profile shows (docs/profiling.md). */
static __attribute__((noinline, used)) void cd__cpuprof_lost_samples(void)
{
    __asm__ volatile("");
}

/* ---- aggregation (data_lock) ------------------------------------------- */

static uint64_t hash_sample(const char *name, const char *thread, const uintptr_t *pcs, size_t n,
                            uint32_t epoch)
{
    uint64_t h = 1469598103934665603ull ^ epoch; /* FNV-1a over name, thread, pcs */
    if (name != NULL)
        for (const char *p = name; *p; p++)
            h = (h ^ (uint8_t)*p) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
    for (const char *p = thread; *p; p++)
        h = (h ^ (uint8_t)*p) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
    for (size_t i = 0; i < n; i++) {
        uint64_t v = (uint64_t)pcs[i];
        h = (h ^ v) * 1099511628211ull;
        h ^= h >> 29;
    }
    return h;
}

static bool agg_eq(const agg *a, uint64_t h, const char *name, const char *thread,
                   const uintptr_t *pcs, size_t n, uint32_t epoch)
{
    if (a->hash != h || a->n != n || a->epoch != epoch)
        return false;
    if ((a->name == NULL) != (name == NULL) || (name != NULL && strcmp(a->name, name) != 0))
        return false;
    if (strcmp(a->thread, thread) != 0)
        return false;
    return memcmp(a->pcs, pcs, n * sizeof *pcs) == 0;
}

static int tab_grow(aggtab *t)
{
    size_t cap = t->cap ? t->cap * 2 : 256;
    agg **v = calloc(cap, sizeof *v);
    if (v == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        agg *a = t->v[i];
        if (a == NULL)
            continue;
        size_t j = a->hash & (cap - 1);
        while (v[j] != NULL)
            j = (j + 1) & (cap - 1);
        v[j] = a;
    }
    free(t->v);
    t->v = v;
    t->cap = cap;
    return 0;
}

/* Adds weight to (task name, thread name, stack, epoch). Returns false on
 * out of memory. */
static bool tab_add(aggtab *t, const char *name, const char *thread, const uintptr_t *pcs, size_t n,
                    uint32_t epoch, int64_t weight)
{
    if ((t->len + 1) * 10 > t->cap * 7 && tab_grow(t) != 0)
        return false;
    uint64_t h = hash_sample(name, thread, pcs, n, epoch);
    size_t j = h & (t->cap - 1);
    for (; t->v[j] != NULL; j = (j + 1) & (t->cap - 1)) {
        if (agg_eq(t->v[j], h, name, thread, pcs, n, epoch)) {
            t->v[j]->count += weight;
            return true;
        }
    }
    agg *a = malloc(sizeof *a + n * sizeof *pcs);
    if (a == NULL)
        return false;
    a->hash = h;
    a->count = weight;
    a->epoch = epoch;
    a->n = (uint32_t)n;
    a->name = NULL;
    if ((a->thread = strdup(thread)) == NULL) {
        free(a);
        return false;
    }
    if (name != NULL && (a->name = strdup(name)) == NULL) {
        free(a->thread);
        free(a);
        return false;
    }
    memcpy(a->pcs, pcs, n * sizeof *pcs);
    t->v[j] = a;
    t->len++;
    return true;
}

static void tab_free(aggtab *t)
{
    for (size_t i = 0; i < t->cap; i++)
        if (t->v[i] != NULL) {
            free(t->v[i]->name);
            free(t->v[i]->thread);
            free(t->v[i]);
        }
    free(t->v);
    *t = (aggtab){0};
}

/* Refreshes out with the name of thread tid (what pthread_getname_np
 * gives: the kernel's comm, set by pthread_setname_np or inherited from
 * the program). When it cannot be read (the thread has exited: its last
 * samples are drained after), out keeps the name read last, or the
 * thread's number that arm_tid put there. */
static void thread_name(pid_t tid, char out[16])
{
    char path[64], name[16];
    snprintf(path, sizeof path, "/proc/self/task/%d/comm", (int)tid);
    ssize_t n = cd__read_small(path, name, sizeof name);
    while (n > 0 && (name[n - 1] == '\n' || name[n - 1] == '\0'))
        n--;
    if (n > 0) {
        memcpy(out, name, (size_t)n);
        out[n] = '\0';
    }
}

/* Moves every complete record of s's ring into the table. */
static void drain(slot *s)
{
    uint64_t head = atomic_load_explicit(&s->head, memory_order_relaxed);
    uint64_t tail = atomic_load_explicit(&s->tail, memory_order_acquire);
    uint64_t got = 0;
    /* Named now, not at arm time: a thread often names itself after it
     * starts (pthread_setname_np). One small read per drain with samples. */
    if (head < tail)
        thread_name(s->tid, s->tname);
    while (head < tail) {
        uintptr_t hdr = s->ring[head & RING_MASK];
        size_t n = hdr & 0xff, nw = (hdr >> 8) & 0xff;
        int64_t weight = (int64_t)(hdr >> 16);
        if (n == 0 || n > CD__FPWALK_MAX || nw > NAME_WORDS || head + 2 + nw + n > tail)
            break; /* cannot happen; never read past what was published */
        uint32_t epoch = (uint32_t)s->ring[(head + 1) & RING_MASK];
        union {
            char c[NAME_WORDS * sizeof(uintptr_t)];
            uintptr_t w[NAME_WORDS];
        } name;
        uintptr_t pcs[CD__FPWALK_MAX];
        for (size_t i = 0; i < nw; i++)
            name.w[i] = s->ring[(head + 2 + i) & RING_MASK];
        if (nw > 0)
            name.c[nw * sizeof(uintptr_t) - 1] = '\0';
        for (size_t i = 0; i < n; i++)
            pcs[i] = s->ring[(head + 2 + nw + i) & RING_MASK];
        if (!tab_add(&S.tab, nw > 0 ? name.c : NULL, s->tname, pcs, n, epoch, weight))
            S.oom_lost += (uint64_t)weight;
        got += (uint64_t)weight;
        head += 2 + nw + n;
    }
    atomic_store_explicit(&s->head, tail, memory_order_release);
    S.dropped += atomic_exchange_explicit(&s->dropped, 0, memory_order_relaxed);
    atomic_fetch_add_explicit(&stats.no_stack, atomic_exchange(&s->no_stack, 0),
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&stats.samples, got, memory_order_relaxed);
}

/* ---- binding slots to threads (data_lock) ------------------------------ */

static slot *slot_get(void)
{
    slot *s = free_slots;
    if (s != NULL) {
        free_slots = s->next;
        return s;
    }
    if (nslots == CD__CPUPROF_MAX_THREADS)
        return NULL;
    s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->idx = nslots++;
    atomic_store_explicit(&slot_tab[s->idx], s, memory_order_release);
    return s;
}

static uint32_t xorshift(uint32_t *x)
{
    uint32_t v = *x ? *x : 0x9e3779b9u;
    v ^= v << 13;
    v ^= v >> 17;
    v ^= v << 5;
    return *x = v;
}

/* Gives thread t a slot and a running timer. Failures leave t unsampled
 * (counted in stats.untracked). */
/* Binds a free slot to thread tid: t is its registry record, or NULL for
 * a loose slot (a thread found in /proc/self/task, started at `start`).
 * Returns the slot, or NULL (counted as untracked). data_lock held. */
static slot *arm_tid(cd__thread *t, pid_t tid, unsigned long long start)
{
    slot *s = slot_get();
    if (s == NULL)
        goto untracked;
    /* Reset, then publish with the new generation (seq_cst): a handler
     * that sees this generation sees the reset ring and s->thr. */
    atomic_store_explicit(&s->head, 0, memory_order_relaxed);
    atomic_store_explicit(&s->tail, 0, memory_order_relaxed);
    s->thr = t;
    s->tid = tid;
    s->start = start;
    snprintf(s->tname, sizeof s->tname, "%d", (int)tid);
    uint32_t gen = atomic_fetch_add(&s->gen, 1) + 1;

    /* The thread's CPU-time clock, computed from its kernel id as glibc's
     * pthread_getcpuclockid does (no pthread_t dereference: a foreign
     * thread may have exited without unregistering). */
    clockid_t clk = (clockid_t)((~(unsigned)tid << 3) | 6u);
    struct sigevent sev;
    memset(&sev, 0, sizeof sev);
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGPROF;
    sev.sigev_notify_thread_id = tid;
    sev.sigev_value.sival_ptr =
        (void *)(uintptr_t)(TOKEN_MAGIC << 48 | (uint64_t)gen << 16 | s->idx);
    if (timer_create(clk, &sev, &s->timer) != 0)
        goto give_back;
    /* A random first expiry spreads threads' samples over the period, as
     * Go does, so threads started together are not sampled in lockstep. */
    struct itimerspec its;
    its.it_interval.tv_sec = (time_t)(S.period_ns / 1000000000);
    its.it_interval.tv_nsec = (long)(S.period_ns % 1000000000);
    int64_t first = 1 + (int64_t)(xorshift(&S.rand) % (uint64_t)S.period_ns);
    its.it_value.tv_sec = (time_t)(first / 1000000000);
    its.it_value.tv_nsec = (long)(first % 1000000000);
    if (timer_settime(s->timer, 0, &its, NULL) != 0) {
        timer_delete(s->timer);
        goto give_back;
    }
    if (t != NULL)
        __atomic_store_n(&t->prof, s, __ATOMIC_RELEASE);
    s->next = live_slots;
    live_slots = s;
    return s;

give_back:
    atomic_fetch_add(&s->gen, 1);
    s->thr = NULL;
    s->next = free_slots;
    free_slots = s;
untracked:
    atomic_fetch_add_explicit(&stats.untracked, 1, memory_order_relaxed);
    return NULL;
}

static void retire(slot *s);

/* The loose slot of thread tid, or NULL. data_lock held. */
static slot *loose_slot(pid_t tid)
{
    for (slot *s = live_slots; s != NULL; s = s->next)
        if (s->thr == NULL && s->tid == tid)
            return s;
    return NULL;
}

/* Binds a slot to registered thread t, after retiring the loose slot a
 * scan may have given it before it registered. data_lock held. */
static void arm(cd__thread *t)
{
    if (__atomic_load_n(&t->prof, __ATOMIC_RELAXED) != NULL)
        return;
    slot *loose = loose_slot(t->tid);
    if (loose != NULL)
        retire(loose);
    (void)arm_tid(t, t->tid, 0);
}

/* Unbinds s: no signal of the binding writes to it after this returns. */
static void retire(slot *s)
{
    timer_delete(s->timer);
    atomic_fetch_add(&s->gen, 1); /* seq_cst: see the file comment */
    struct timespec pause = {0, 50000};
    while (atomic_load(&s->busy) != 0)
        nanosleep(&pause, NULL); /* a handler is finishing (or is stopped by the GC) */
    drain(s);
    /* Release: pairs with the detach path's acquire, after which the
     * thread's record may be freed. */
    if (s->thr != NULL)
        __atomic_store_n(&s->thr->prof, NULL, __ATOMIC_RELEASE);
    s->thr = NULL;
    for (slot **pp = &live_slots; *pp != NULL; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    s->next = free_slots;
    free_slots = s;
}

/* ---- threads found in /proc/self/task ------------------------------------ */

/* A thread that did not go through the registry (runtime/pthread_create.c
 * sees every pthread_create that binds to libcdebug's; not one made by
 * clone(2), nor one created before libcdebug was loaded, nor a library's
 * call that binds to another definition first, as a sanitizer's
 * interceptor does) is found by listing /proc/self/task: at start and
 * every CD__CPUPROF_SCAN_ROUNDS aggregator rounds, each such thread gets a
 * loose slot (no registry record). Its stack bounds are unknown, so its
 * samples hold the interrupted function only. A loose slot is retired when
 * its thread is gone (or its id was reused: the start time differs) or
 * registers.
 *
 * Not under TSan: its own background thread would run the handler. */
#define CD__CPUPROF_SCAN_ROUNDS 10

typedef struct tidset {
    pid_t *v;
    size_t n, cap;
    bool oom;
} tidset;

static void collect_tid(cd__thread *t, void *ctx)
{
    tidset *set = ctx;
    if (set->n == set->cap) {
        size_t cap = set->cap ? set->cap * 2 : 64;
        pid_t *v = realloc(set->v, cap * sizeof *v);
        if (v == NULL) {
            set->oom = true;
            return;
        }
        set->v = v;
        set->cap = cap;
    }
    set->v[set->n++] = t->tid;
}

static int cmp_tid(const void *a, const void *b)
{
    pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
    return x < y ? -1 : x > y;
}

/* Field 22 of /proc/self/task/TID/stat (start time in clock ticks), or 0
 * when the thread is gone. */
static unsigned long long task_start(pid_t tid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", (int)tid);
    if (cd__read_small(path, buf, sizeof buf) <= 0)
        return 0;
    char *p = strrchr(buf, ')'); /* the name may hold spaces and parens */
    if (p == NULL)
        return 0;
    /* After ") ": field 3 (state) ... field 22 (starttime). */
    int field = 2;
    for (p++; *p != '\0' && field < 22; p++)
        if (*p == ' ')
            field++;
    return strtoull(p, NULL, 10);
}

/* Arms loose slots for the unseen threads, retires the stale ones.
 * data_lock held (the registry's lock is taken under it). */
#if defined(__SANITIZE_THREAD__)
#define SCAN_TASKS 0
#else
#define SCAN_TASKS 1
#endif

static void scan_tasks(void)
{
    if (!SCAN_TASKS)
        return;
    tidset reg = {0};
    cd__thread_foreach(collect_tid, &reg);
    DIR *d = reg.oom ? NULL : opendir("/proc/self/task");
    if (d == NULL)
        goto out;
    qsort(reg.v, reg.n, sizeof *reg.v, cmp_tid);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        pid_t tid = (pid_t)atoi(e->d_name);
        if (tid <= 0 || (reg.n > 0 && bsearch(&tid, reg.v, reg.n, sizeof *reg.v, cmp_tid)))
            continue;
        unsigned long long start = task_start(tid);
        if (start == 0)
            continue;
        slot *s = loose_slot(tid);
        if (s != NULL && s->start != start) { /* the id was reused */
            retire(s);
            s = NULL;
        }
        if (s == NULL)
            s = arm_tid(NULL, tid, start);
        if (s != NULL)
            s->seen = true;
    }
    closedir(d);
    for (slot *s = live_slots, *next; s != NULL; s = next) {
        next = s->next;
        if (s->thr != NULL)
            continue;
        if (!s->seen)
            retire(s); /* gone, or registered since */
        else
            s->seen = false;
    }
out:
    free(reg.v);
}

static void arm_cb(cd__thread *t, void *ctx)
{
    (void)ctx;
    arm(t);
}

/* Thread registry hooks (runtime/hooks.h, registered by cd__cpuprof_init).
 * attach: the calling thread t was just linked into the registry; arms its
 * timer if a profile runs. detach: t (the calling thread) was just
 * unlinked; deletes its timer and drains its ring. One predictable branch
 * when no profile runs. Not async-signal-safe. */
static void thread_attach(cd__thread *t)
{
    if (!atomic_load(&active))
        return;
    pthread_mutex_lock(&data_lock);
    if (atomic_load(&active))
        arm(t);
    pthread_mutex_unlock(&data_lock);
}

static void thread_detach(cd__thread *t)
{
    if (__atomic_load_n(&t->prof, __ATOMIC_ACQUIRE) == NULL)
        return;
    pthread_mutex_lock(&data_lock);
    slot *s = __atomic_load_n(&t->prof, __ATOMIC_RELAXED);
    if (s != NULL)
        retire(s);
    pthread_mutex_unlock(&data_lock);
}

/* ---- the aggregator thread --------------------------------------------- */

static void *aggr_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&data_lock);
    unsigned round = 0;
    while (!S.quit) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_nsec += CD__CPUPROF_DRAIN_MS * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&S.cond, &data_lock, &until);
        /* Outside data_lock: the loader's lock is taken, a file read. */
        pthread_mutex_unlock(&data_lock);
        refresh_text_ranges();
        pthread_mutex_lock(&data_lock);
        for (slot *s = live_slots; s != NULL; s = s->next)
            drain(s);
        if (++round % CD__CPUPROF_SCAN_ROUNDS == 0 && !S.quit)
            scan_tasks();
    }
    pthread_mutex_unlock(&data_lock);
    return NULL;
}

/* ---- start, stop, encode ----------------------------------------------- */

static int64_t now_ns(clockid_t c)
{
    struct timespec ts;
    clock_gettime(c, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int install_handler(void)
{
    if (handler_installed)
        return 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = on_sigprof;
    sa.sa_flags = SA_SIGINFO | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGPROF, &sa, &old_action) != 0)
        return -errno;
    handler_installed = true;
    return 0;
}

/* Starts a profile owned by (done, ctx). ctl_lock held. */
/* fork() while another thread holds ctl_lock or data_lock (the aggregator
 * draining, a thread registering) would leave them locked for ever in the
 * child, whose exit path (forget_in_child) takes them. The forking thread
 * takes both, in order, around the fork. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&ctl_lock);
    pthread_mutex_lock(&data_lock);
}

static void fork_release(void)
{
    pthread_mutex_unlock(&data_lock);
    pthread_mutex_unlock(&ctl_lock);
}

static void register_atfork(void)
{
    (void)pthread_atfork(fork_prepare, fork_release, fork_release);
}

static int start_locked(int hz, cd__cpuprof_done_fn done, void *ctx)
{
    static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;
    if (state != IDLE)
        return -EBUSY;
    pthread_once(&atfork_once, register_atfork);
    int rc = install_handler();
    if (rc != 0)
        return rc;
    load_text_ranges();

    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&S.cond, &ca);
    pthread_condattr_destroy(&ca);

    pthread_mutex_lock(&data_lock);
    S.hz = hz;
    S.period_ns = 1000000000 / hz;
    S.start_wall_ns = now_ns(CLOCK_REALTIME);
    S.start_mono_ns = now_ns(CLOCK_MONOTONIC);
    S.done = done;
    S.ctx = ctx;
    S.tab = (aggtab){0};
    S.dropped = 0;
    S.oom_lost = 0;
    S.quit = false;
    S.rand ^= (uint32_t)S.start_mono_ns;
    S.pid = getpid();
    atomic_store(&active, 1);
    cd__thread_foreach(arm_cb, NULL);
    scan_tasks();
    pthread_mutex_unlock(&data_lock);

    /* The aggregator is a kit thread like any other: it gets a timer too,
     * so its own cost shows in the profile. */
    rc = cd__thread_spawn(&S.aggr, "cd-cpuprof", CD__THREAD_SYSTEM, false, aggr_main, NULL);
    if (rc != 0) {
        pthread_mutex_lock(&data_lock);
        atomic_store(&active, 0);
        while (live_slots != NULL)
            retire(live_slots);
        tab_free(&S.tab);
        pthread_mutex_unlock(&data_lock);
        pthread_cond_destroy(&S.cond);
        return -EAGAIN;
    }
    state = RUNNING;
    return 0;
}

static int check_hz(int *hz)
{
    if (*hz < 0 || *hz > CD__CPUPROF_MAX_HZ)
        return -EINVAL;
    if (*hz == 0)
        *hz = CD__CPUPROF_DEFAULT_HZ;
    return 0;
}

int cd__cpuprof_start_cb(int hz, cd__cpuprof_done_fn done, void *ctx)
{
    if (check_hz(&hz) != 0 || done == NULL)
        return -EINVAL;
    cd__ensure_init();
    if (pthread_mutex_trylock(&ctl_lock) != 0)
        return -EBUSY; /* another start, or a profile being written */
    int rc = start_locked(hz, done, ctx);
    pthread_mutex_unlock(&ctl_lock);
    return rc;
}

/* Builds the profile from the table (data_lock not held: the table is
 * ours after stop). */
static int encode(aggtab *tab, uint64_t lost, int64_t duration_ns, uint8_t **out, size_t *len)
{
    cd__pprof *p = cd__pprof_new();
    if (p == NULL)
        return -ENOMEM;
    int rc;
    if ((rc = cd__pprof_sample_type(p, "samples", "count")) != 0 ||
        (rc = cd__pprof_sample_type(p, "cpu", "nanoseconds")) != 0 ||
        (rc = cd__pprof_period(p, "cpu", "nanoseconds", S.period_ns)) != 0)
        goto out;
    cd__pprof_time(p, S.start_wall_ns, duration_ns);
    for (size_t i = 0; i < tab->cap; i++) {
        const agg *a = tab->v[i];
        if (a == NULL)
            continue;
        int64_t v[2] = {a->count, a->count * S.period_ns};
        cd__pprof_label l[2] = {{.key = "thread", .str = a->thread}, {.key = "task", .str = a->name}};
        if ((rc = cd__pprof_sample_at(p, a->pcs, a->n, true, a->epoch, v, l,
                                      a->name != NULL ? 2 : 1)) != 0)
            goto out;
    }
    if (lost > 0) {
        uintptr_t pc = (uintptr_t)&cd__cpuprof_lost_samples + 1;
        int64_t v[2] = {(int64_t)lost, (int64_t)lost * S.period_ns};
        if ((rc = cd__pprof_sample(p, &pc, 1, true, v, NULL, 0)) != 0)
            goto out;
        char c[128];
        snprintf(c, sizeof c, "cdebug: %llu samples lost (per-thread sample ring full)",
                 (unsigned long long)lost);
        if ((rc = cd__pprof_comment(p, c)) != 0)
            goto out;
    }
    cd__mprof_quiet++; /* the encoder's and libdw's mallocs are the tool's */
    rc = cd__pprof_encode(p, out, len);
    cd__mprof_quiet--;
out:
    cd__pprof_free(p);
    return rc;
}

/* In a child forked while a profile ran: the timers and the aggregator
 * were not inherited, and the profile belongs to the parent (the child
 * writing it too would corrupt a shared file). Forget it: unbind the
 * slots without touching timers or waiting for handlers (a handler that
 * was running in the parent's thread at fork time left busy set for
 * ever), and deliver nothing. ctl_lock held. */
static void forget_in_child(void)
{
    pthread_mutex_lock(&data_lock);
    atomic_store(&active, 0);
    while (live_slots != NULL) {
        slot *s = live_slots;
        live_slots = s->next;
        atomic_fetch_add(&s->gen, 1);
        atomic_store(&s->busy, 0);
        if (s->thr != NULL)
            __atomic_store_n(&s->thr->prof, NULL, __ATOMIC_RELEASE); /* as in retire */
        s->thr = NULL;
        s->next = free_slots;
        free_slots = s;
    }
    tab_free(&S.tab);
    pthread_mutex_unlock(&data_lock);
    S.done = NULL;
    S.ctx = NULL;
    state = IDLE;
}

/* Stops the running profile and delivers it. ctl_lock held, state
 * RUNNING. */
static void finish_locked(void)
{
    if (getpid() != S.pid) {
        forget_in_child();
        return;
    }
    state = STOPPING;
    pthread_mutex_lock(&data_lock);
    S.quit = true;
    pthread_cond_signal(&S.cond);
    pthread_mutex_unlock(&data_lock);
    pthread_join(S.aggr, NULL);

    pthread_mutex_lock(&data_lock);
    atomic_store(&active, 0);
    while (live_slots != NULL)
        retire(live_slots);
    aggtab tab = S.tab;
    S.tab = (aggtab){0};
    uint64_t lost = S.dropped + S.oom_lost;
    pthread_mutex_unlock(&data_lock);
    pthread_cond_destroy(&S.cond);
    atomic_fetch_add_explicit(&stats.dropped, S.dropped, memory_order_relaxed);

    int64_t duration = now_ns(CLOCK_MONOTONIC) - S.start_mono_ns;
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = encode(&tab, lost, duration, &buf, &len);
    tab_free(&tab);
    if (rc != 0) {
        free(buf);
        buf = NULL;
        len = 0;
    }
    cd__cpuprof_done_fn done = S.done;
    void *ctx = S.ctx;
    S.done = NULL;
    S.ctx = NULL;
    done(ctx, rc, buf, len);
    atomic_fetch_add_explicit(&stats.profiles, 1, memory_order_relaxed);
    state = IDLE;
}

int cd__cpuprof_stop_owner(void *ctx)
{
    pthread_mutex_lock(&ctl_lock);
    int rc = -ENOENT;
    if (state == RUNNING && S.ctx == ctx) {
        finish_locked();
        rc = 0;
    }
    pthread_mutex_unlock(&ctl_lock);
    return rc;
}

bool cd__cpuprof_running(void)
{
    return atomic_load_explicit(&active, memory_order_relaxed) != 0;
}

void cd__cpuprof_read_stats(cd__cpuprof_stats *s)
{
    s->samples = atomic_load_explicit(&stats.samples, memory_order_relaxed);
    s->dropped = atomic_load_explicit(&stats.dropped, memory_order_relaxed);
    s->no_stack = atomic_load_explicit(&stats.no_stack, memory_order_relaxed);
    s->untracked = atomic_load_explicit(&stats.untracked, memory_order_relaxed);
    s->stale = atomic_load_explicit(&stats.stale, memory_order_relaxed);
    s->profiles = atomic_load_explicit(&stats.profiles, memory_order_relaxed);
    pthread_mutex_lock(&data_lock);
    s->slots = nslots;
    pthread_mutex_unlock(&data_lock);
}

/* ---- public API: a profile written to an fd ---------------------------- */

/* The owner of profiles started by cd_cpuprof_start: writes to fd. */
static struct {
    int fd;
    int result; /* of the last write */
} fd_owner = {-1, 0};

static void fd_done(void *ctx, int err, uint8_t *buf, size_t len)
{
    (void)ctx;
    fd_owner.result = err != 0 ? err : cd__write_all(fd_owner.fd, buf, len);
    free(buf);
}

int cd_cpuprof_start(int fd, int hz)
{
    int rc = cd__fd_writable(fd);
    if (rc != 0)
        return rc;
    if (check_hz(&hz) != 0)
        return -EINVAL;
    cd__ensure_init();
    if (pthread_mutex_trylock(&ctl_lock) != 0)
        return -EBUSY;
    rc = -EBUSY;
    if (state == IDLE) {
        fd_owner.fd = fd;
        rc = start_locked(hz, fd_done, &fd_owner);
    }
    pthread_mutex_unlock(&ctl_lock);
    return rc;
}

int cd_cpuprof_stop(void)
{
    pthread_mutex_lock(&ctl_lock);
    int rc = -ENOENT;
    if (state == RUNNING) {
        bool ours = S.ctx == &fd_owner && getpid() == S.pid;
        finish_locked();
        rc = ours ? fd_owner.result : 0;
    }
    pthread_mutex_unlock(&ctl_lock);
    return rc;
}

/* ---- CDEBUG=cpuprofile=FILE -------------------------------------------- */

static int file_fd = -1;

int cd__cpuprof_file_start(const char *path, int hz)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        fprintf(stderr, "cdebug: cpuprofile: cannot create %s: %s\n", path, strerror(e));
        return -e;
    }
    int rc = cd_cpuprof_start(fd, hz);
    if (rc != 0) {
        fprintf(stderr, "cdebug: cpuprofile: cannot start the CPU profiler: %s\n", cd_strerror(rc));
        close(fd);
        return rc;
    }
    file_fd = fd;
    /* A daemonizing program's close of every descriptor must not take
     * the profile (runtime/fdguard.h). */
    (void)cd__fd_guard(fd, "the cpuprofile= file");
    return 0;
}

void cd__cpuprof_file_stop(void)
{
    if (file_fd < 0)
        return;
    int rc = cd_cpuprof_stop();
    if (rc != 0 && rc != -ENOENT)
        fprintf(stderr, "cdebug: cpuprofile: writing the profile failed: %s\n", cd_strerror(rc));
    cd__fd_unguard(file_fd);
    close(file_fd);
    file_fd = -1;
}

int cd__cpuprof_init(void)
{
    /* A thread that blocks every signal is still sampled, as Go's
     * threads are (runtime/sigmask.h). */
    cd__sigmask_keep(SIGPROF);
    int rc = cd__hooks_thread(thread_attach, thread_detach);
    return rc == -EEXIST ? 0 : rc;
}

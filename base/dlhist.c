/* base/dlhist.c - see dlhist.h. */
#include <errno.h>
#include <limits.h>
#include <link.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/dlhist.h"

/* One loaded object of a set: its executable segments follow in segs. */
typedef struct dlobj {
    char *name;
    uintptr_t bias;
    size_t first, nsegs; /* in the set's segs */
} dlobj;

typedef struct dlseg {
    uintptr_t lo, hi, offset;
} dlseg;

struct cd__dlset {
    dlobj *objs;
    size_t nobjs, capobjs;
    dlseg *segs;
    size_t nsegs, capsegs;
    bool oom;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint32_t epoch;
static cd__dlgone *hist; /* lock */
static size_t nhist, caphist;
static char **paths; /* interned paths (lock) */
static size_t npaths, cappaths;

uint32_t cd__dl_epoch(void)
{
    return atomic_load_explicit(&epoch, memory_order_relaxed);
}

static bool grow(void **v, size_t *cap, size_t n, size_t size)
{
    if (n < *cap)
        return true;
    size_t c = *cap ? *cap * 2 : 16;
    void *p = realloc(*v, c * size);
    if (p == NULL)
        return false;
    *v = p;
    *cap = c;
    return true;
}

static int add_obj(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    cd__dlset *s = data;
    /* The executable (no name) and the vdso are never unloaded. */
    if (info->dlpi_name == NULL || info->dlpi_name[0] == '\0' || s->oom)
        return 0;
    if (!grow((void **)&s->objs, &s->capobjs, s->nobjs, sizeof *s->objs)) {
        s->oom = true;
        return 0;
    }
    dlobj *o = &s->objs[s->nobjs];
    o->name = strdup(info->dlpi_name);
    o->bias = info->dlpi_addr;
    o->first = s->nsegs;
    o->nsegs = 0;
    if (o->name == NULL) {
        s->oom = true;
        return 0;
    }
    s->nobjs++;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || (ph->p_flags & PF_X) == 0)
            continue;
        if (!grow((void **)&s->segs, &s->capsegs, s->nsegs, sizeof *s->segs)) {
            s->oom = true;
            return 0;
        }
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        s->segs[s->nsegs++] = (dlseg){
            .lo = lo & ~(page - 1),
            .hi = (lo + ph->p_memsz + page - 1) & ~(page - 1),
            .offset = ph->p_offset & ~(page - 1),
        };
        o->nsegs++;
    }
    return 0;
}

int cd__dlset_read(cd__dlset **out)
{
    *out = NULL;
    cd__dlset *s = calloc(1, sizeof *s);
    if (s == NULL)
        return -ENOMEM;
    dl_iterate_phdr(add_obj, s);
    if (s->oom) {
        cd__dlset_free(s);
        return -ENOMEM;
    }
    *out = s;
    return 0;
}

void cd__dlset_free(cd__dlset *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nobjs; i++)
        free(s->objs[i].name);
    free(s->objs);
    free(s->segs);
    free(s);
}

static bool has(const cd__dlset *s, const dlobj *o)
{
    for (size_t i = 0; i < s->nobjs; i++)
        if (s->objs[i].bias == o->bias && strcmp(s->objs[i].name, o->name) == 0)
            return true;
    return false;
}

/* The interned copy of path (lock held), or NULL when it is new. */
static const char *interned(const char *path)
{
    for (size_t i = 0; i < npaths; i++)
        if (strcmp(paths[i], path) == 0)
            return paths[i];
    return NULL;
}

/* Takes the lock with room for k more entries and k more paths (false,
 * unlocked, on out of memory). Nothing is allocated under the lock: it is
 * a leaf, taken around fork() by the prepare handler below, and a malloc
 * may sample (runtime/mprof.c takes its own lock around fork too). */
static bool lock_with_room(size_t k)
{
    for (;;) {
        pthread_mutex_lock(&lock);
        if (nhist + k <= caphist && npaths + k <= cappaths)
            return true;
        size_t ch = (nhist + k) * 2, cp = (npaths + k) * 2;
        pthread_mutex_unlock(&lock);
        cd__dlgone *h = malloc(ch * sizeof *h);
        char **pp = malloc(cp * sizeof *pp);
        bool ok = h != NULL && pp != NULL;
        pthread_mutex_lock(&lock);
        if (ok && ch >= nhist + k && cp >= npaths + k) { /* else grown meanwhile */
            if (nhist > 0)
                memcpy(h, hist, nhist * sizeof *h);
            if (npaths > 0)
                memcpy(pp, paths, npaths * sizeof *pp);
            cd__dlgone *oh = hist;
            char **op = paths;
            hist = h;
            caphist = ch;
            paths = pp;
            cappaths = cp;
            h = oh;
            pp = op;
        }
        pthread_mutex_unlock(&lock);
        free(h);
        free(pp);
        if (!ok)
            return false;
    }
}

/* fork() while another thread holds the lock would leave it locked in the
 * child, whose next dlclose or profile would then hang: the forking thread
 * takes it around the fork. The lock is a leaf (see lock_with_room), but
 * the CPU profiler takes it under its own (writing a profile), so this
 * prepare handler must run after the profilers': pthread_atfork runs them
 * in reverse order of registration, and cd__dlhist_init registers this
 * one first, at the runtime's start. */
static void fork_prepare(void)
{
    pthread_mutex_lock(&lock);
}

static void fork_release(void)
{
    pthread_mutex_unlock(&lock);
}

static void register_atfork(void)
{
    (void)pthread_atfork(fork_prepare, fork_release, fork_release);
}

void cd__dlhist_init(void)
{
    static pthread_once_t o = PTHREAD_ONCE_INIT;
    pthread_once(&o, register_atfork);
}

void cd__dlset_gone(const cd__dlset *before)
{
    cd__dlhist_init();
    cd__dlset *now = NULL;
    if (cd__dlset_read(&now) < 0)
        return; /* the unload goes unrecorded */
    /* The objects that left, with their whole paths (the name as it was
     * dlopened may be relative to the working directory: /proc/self/maps
     * and the symbolizer want it whole), before the lock. */
    size_t k = 0, nsegs = 0;
    char **gone = calloc(before->nobjs ? before->nobjs : 1, sizeof *gone);
    for (size_t i = 0; gone != NULL && i < before->nobjs; i++) {
        const dlobj *o = &before->objs[i];
        if (o->nsegs == 0 || has(now, o))
            continue;
        char real[PATH_MAX];
        gone[i] = strdup(realpath(o->name, real) != NULL ? real : o->name);
        k += gone[i] != NULL;
        nsegs += gone[i] != NULL ? o->nsegs : 0;
    }
    if (k > 0 && lock_with_room(nsegs)) {
        uint32_t next = atomic_load_explicit(&epoch, memory_order_relaxed) + 1;
        for (size_t i = 0; i < before->nobjs; i++) {
            if (gone[i] == NULL)
                continue;
            const char *path = interned(gone[i]);
            if (path == NULL) { /* kept: freed never */
                path = paths[npaths++] = gone[i];
                gone[i] = NULL;
            }
            const dlobj *o = &before->objs[i];
            for (size_t j = 0; j < o->nsegs; j++) {
                const dlseg *g = &before->segs[o->first + j];
                hist[nhist++] = (cd__dlgone){path, o->bias, g->lo, g->hi, g->offset, next};
            }
        }
        atomic_store_explicit(&epoch, next, memory_order_relaxed);
        pthread_mutex_unlock(&lock);
    }
    for (size_t i = 0; gone != NULL && i < before->nobjs; i++)
        free(gone[i]);
    free(gone);
    cd__dlset_free(now);
}

int cd__dl_history(cd__dlgone **out, size_t *n)
{
    cd__dlhist_init();
    /* The first n entries: the history only grows, and a prefix is the
     * history of an earlier moment (no malloc under the lock). */
    pthread_mutex_lock(&lock);
    size_t want = nhist;
    pthread_mutex_unlock(&lock);
    *n = 0;
    *out = malloc((want ? want : 1) * sizeof **out);
    if (*out == NULL)
        return -ENOMEM;
    pthread_mutex_lock(&lock);
    if (want > 0)
        memcpy(*out, hist, want * sizeof **out);
    pthread_mutex_unlock(&lock);
    *n = want;
    return 0;
}

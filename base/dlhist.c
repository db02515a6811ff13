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

/* The interned copy of path (lock held); NULL on out of memory. */
static const char *intern(const char *path)
{
    for (size_t i = 0; i < npaths; i++)
        if (strcmp(paths[i], path) == 0)
            return paths[i];
    if (!grow((void **)&paths, &cappaths, npaths, sizeof *paths))
        return NULL;
    char *p = strdup(path);
    if (p != NULL)
        paths[npaths++] = p;
    return p;
}

void cd__dlset_gone(const cd__dlset *before)
{
    cd__dlset *now = NULL;
    if (cd__dlset_read(&now) < 0)
        return; /* the unload goes unrecorded */
    pthread_mutex_lock(&lock);
    uint32_t next = atomic_load_explicit(&epoch, memory_order_relaxed) + 1;
    bool any = false;
    for (size_t i = 0; i < before->nobjs; i++) {
        const dlobj *o = &before->objs[i];
        if (o->nsegs == 0 || has(now, o))
            continue;
        /* The name as it was dlopened may be relative to the working
         * directory: /proc/self/maps and the symbolizer want it whole. */
        char real[PATH_MAX];
        const char *path = intern(realpath(o->name, real) != NULL ? real : o->name);
        for (size_t j = 0; path != NULL && j < o->nsegs; j++) {
            if (!grow((void **)&hist, &caphist, nhist, sizeof *hist))
                break;
            const dlseg *g = &before->segs[o->first + j];
            hist[nhist++] = (cd__dlgone){path, o->bias, g->lo, g->hi, g->offset, next};
            any = true;
        }
    }
    if (any)
        atomic_store_explicit(&epoch, next, memory_order_relaxed);
    pthread_mutex_unlock(&lock);
    cd__dlset_free(now);
}

int cd__dl_history(cd__dlgone **out, size_t *n)
{
    pthread_mutex_lock(&lock);
    *n = nhist;
    *out = malloc((nhist ? nhist : 1) * sizeof **out);
    if (*out != NULL && nhist > 0)
        memcpy(*out, hist, nhist * sizeof **out);
    pthread_mutex_unlock(&lock);
    return *out != NULL ? 0 : -ENOMEM;
}

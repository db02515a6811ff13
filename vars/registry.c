/* vars/registry.c - the name -> var table (rculfhash) and sorted snapshots.
 * See registry.h for the concurrency model.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/hash.h"
#include "vars/builtin.h"
#include "vars/registry.h"

/* Both tables start small and grow by themselves; ACCOUNTING makes growth
 * follow the node count (split per-CPU counters) rather than chain length
 * alone, which keeps a 100k-key map at short chains. */
#define HT_FLAGS (CDS_LFHT_AUTO_RESIZE | CDS_LFHT_ACCOUNTING)

static struct cds_lfht *vars_ht;
static _Atomic size_t vars_count;
static pthread_once_t vars_once = PTHREAD_ONCE_INIT;
static int vars_init_rc;

unsigned long cd__hash(const char *s, size_t n)
{
    return (unsigned long)cd__hash_bytes(s, n);
}

/* Bytewise comparison of two counted strings, shorter first on a tie of
 * the common prefix (Go's string ordering). Pure. */
static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen;
}

double cd__float_load(const struct cd_float *f)
{
    uint64_t bits = atomic_load_explicit(&((struct cd_float *)f)->bits, memory_order_relaxed);
    double d;
    memcpy(&d, &bits, sizeof d);
    return d;
}

/* The key a lookup compares against. */
typedef struct key {
    const char *s;
    size_t n;
} key;

static int match_var(struct cds_lfht_node *node, const void *k)
{
    const cd__var *v = caa_container_of(node, cd__var, node);
    const key *want = k;
    return v->namelen == want->n && memcmp(v->name, want->s, want->n) == 0;
}

static void init_once(void)
{
    vars_ht = cds_lfht_new(16, 16, 0, HT_FLAGS, NULL);
    if (vars_ht == NULL) {
        vars_init_rc = -ENOMEM;
        return;
    }
    /* Built-ins before anything else can be published, so a user var
     * named "memstats" is refused as in Go (where it panics). */
    cd__builtins_register();
}

int cd__vars_init(void)
{
    pthread_once(&vars_once, init_once);
    return vars_init_rc;
}

cd__var *cd__var_alloc(const char *name, cd__kind kind)
{
    if (name == NULL || name[0] == '\0') {
        errno = EINVAL;
        return NULL;
    }
    size_t n = strlen(name);
    /* One allocation for the var and its name; aligned_alloc wants a size
     * that is a multiple of the alignment. */
    size_t size = (sizeof(cd__var) + n + 1 + 63) & ~(size_t)63;
    cd__var *v = aligned_alloc(64, size);
    if (v == NULL) {
        errno = ENOMEM;
        return NULL;
    }
    memset(v, 0, size);
    v->kind = kind;
    v->namelen = n;
    v->name = (char *)(v + 1);
    memcpy(v->name, name, n + 1);
    v->plain = cd__json_plain(name, n);
    cds_lfht_node_init(&v->node);
    return v;
}

void cd__var_free_unpublished(cd__var *v)
{
    free(v);
}

int cd__var_publish(cd__var *v)
{
    int rc = cd__vars_init();
    return rc != 0 ? rc : cd__var_insert(v);
}

int cd__var_insert(cd__var *v)
{
    key k = {v->name, v->namelen};
    urcu_bp_read_lock();
    struct cds_lfht_node *got =
        cds_lfht_add_unique(vars_ht, cd__hash(v->name, v->namelen), match_var, &k, &v->node);
    urcu_bp_read_unlock();
    if (got != &v->node)
        return -EEXIST;
    atomic_fetch_add_explicit(&vars_count, 1, memory_order_relaxed);
    return 0;
}

cd__var *cd__var_lookup(const char *name)
{
    if (name == NULL || cd__vars_init() != 0)
        return NULL;
    key k = {name, strlen(name)};
    struct cds_lfht_iter it;
    urcu_bp_read_lock();
    cds_lfht_lookup(vars_ht, cd__hash(k.s, k.n), match_var, &k, &it);
    struct cds_lfht_node *node = cds_lfht_iter_get_node(&it);
    urcu_bp_read_unlock();
    /* Safe after the unlock: vars are never freed. */
    return node ? caa_container_of(node, cd__var, node) : NULL;
}

/* Collects every node of ht into a malloc'd array; hint sizes it (nodes
 * added during the walk just grow it). Caller holds no RCU lock. */
static void **collect(struct cds_lfht *ht, size_t hint, size_t node_offset, size_t *n)
{
    size_t cap = hint + 16, len = 0;
    void **a = malloc(cap * sizeof *a);
    if (a == NULL)
        goto oom;
    struct cds_lfht_iter it;
    struct cds_lfht_node *node;
    urcu_bp_read_lock();
    cds_lfht_for_each(ht, &it, node)
    {
        if (len == cap) {
            void **b = realloc(a, 2 * cap * sizeof *a);
            if (b == NULL) {
                urcu_bp_read_unlock();
                free(a);
                goto oom;
            }
            a = b;
            cap *= 2;
        }
        a[len++] = (char *)node - node_offset;
    }
    urcu_bp_read_unlock();
    *n = len;
    return a;
oom:
    *n = 0;
    return NULL;
}

static int cmp_var(const void *pa, const void *pb)
{
    const cd__var *a = *(cd__var *const *)pa, *b = *(cd__var *const *)pb;
    return bytes_cmp(a->name, a->namelen, b->name, b->namelen);
}

static int cmp_entry(const void *pa, const void *pb)
{
    const cd__entry *a = *(cd__entry *const *)pa, *b = *(cd__entry *const *)pb;
    return bytes_cmp(a->key, a->keylen, b->key, b->keylen);
}

/* A table's last sorted order, kept between renders (every /debug/vars
 * and /metrics request sorts the vars and each map's entries). Vars and
 * map entries are never removed and their counts (vars_count,
 * n_entries) count each one once it is in its table, so while the count
 * equals the order's length nothing was added since: a render copies the
 * order instead of walking and sorting the table again. One whose
 * insertion is under way when the table is walked may be in the order
 * before it is counted; the order is then remade once it is. */
struct cd__order {
    pthread_mutex_t lock;
    void **a; /* NULL until the first render */
    size_t n;
};

/* A malloc'd copy of o's order of ht (nodes at node_offset in their
 * elements, sorted by cmp), remade first when count says it is stale; *n
 * its length. NULL with *n = 0 when out of memory. */
static void **order_copy(struct cd__order *o, struct cds_lfht *ht, size_t count,
                         size_t node_offset, int (*cmp)(const void *, const void *), size_t *n)
{
    void **out = NULL;
    *n = 0;
    pthread_mutex_lock(&o->lock);
    if (o->a == NULL || o->n != count) {
        size_t m;
        void **fresh = collect(ht, count, node_offset, &m);
        if (fresh == NULL)
            goto out;
        qsort(fresh, m, sizeof *fresh, cmp);
        free(o->a);
        o->a = fresh;
        o->n = m;
    }
    out = malloc((o->n ? o->n : 1) * sizeof *out);
    if (out != NULL) {
        memcpy(out, o->a, o->n * sizeof *out);
        *n = o->n;
    }
out:
    pthread_mutex_unlock(&o->lock);
    return out;
}

static struct cd__order vars_order = {.lock = PTHREAD_MUTEX_INITIALIZER};

cd__var **cd__vars_sorted(size_t *n)
{
    *n = 0;
    if (cd__vars_init() != 0)
        return NULL;
    size_t count = atomic_load_explicit(&vars_count, memory_order_relaxed);
    return (cd__var **)order_copy(&vars_order, vars_ht, count, offsetof(cd__var, node), cmp_var,
                                  n);
}

int cd__map_init(struct cd_map *m)
{
    /* Maps are often small: start with one bucket page and grow. */
    m->ht = cds_lfht_new(1, 1, 0, HT_FLAGS, NULL);
    atomic_init(&m->n_entries, 0);
    atomic_init(&m->order, NULL);
    return m->ht ? 0 : -ENOMEM;
}

/* m's order, made on first use (two renders racing: one wins the CAS). */
static struct cd__order *map_order(struct cd_map *m)
{
    struct cd__order *o = atomic_load_explicit(&m->order, memory_order_acquire);
    if (o != NULL)
        return o;
    struct cd__order *fresh = calloc(1, sizeof *fresh);
    if (fresh == NULL)
        return NULL;
    pthread_mutex_init(&fresh->lock, NULL);
    if (atomic_compare_exchange_strong_explicit(&m->order, &o, fresh, memory_order_acq_rel,
                                                memory_order_acquire))
        return fresh;
    pthread_mutex_destroy(&fresh->lock);
    free(fresh);
    return o; /* the winner's */
}

cd__entry **cd__map_sorted(const struct cd_map *cm, size_t *n)
{
    struct cd_map *m = (struct cd_map *)cm; /* the order is a cache, not the map's value */
    *n = 0;
    struct cd__order *o = map_order(m);
    if (o == NULL)
        return NULL;
    size_t count = atomic_load_explicit(&m->n_entries, memory_order_relaxed);
    return (cd__entry **)order_copy(o, m->ht, count, offsetof(cd__entry, node), cmp_entry, n);
}

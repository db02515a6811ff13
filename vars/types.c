/* vars/types.c - the public var types: Int, Float, String, Map, Func and
 * Histogram (vars.h).
 *
 * Hot paths are single atomics with relaxed ordering: a var is a statistic,
 * not a synchronisation device, and readers only need each value to be
 * untorn. Float and the histogram sum are doubles stored as bits and
 * updated with a compare-and-swap loop. Strings are immutable copies
 * swapped by pointer under RCU; the old copy is freed by call_rcu once no
 * renderer can still be reading it.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "vars/registry.h"
#include "vars/types.h"

/* ---- registration ------------------------------------------------------- */

/* Allocates, lets setup fill the value, publishes. NULL with errno on
 * failure (the half-built var is freed, and undo releases what setup
 * allocated). */
static cd__var *new_var(const char *name, cd__kind kind, int (*setup)(cd__var *, const void *),
                        void (*undo)(cd__var *), const void *arg)
{
    int rc = cd__vars_init();
    if (rc != 0) {
        errno = -rc;
        return NULL;
    }
    cd__var *v = cd__var_alloc(name, kind);
    if (v == NULL)
        return NULL;
    if (setup != NULL && (rc = setup(v, arg)) != 0)
        goto fail;
    if ((rc = cd__var_publish(v)) != 0) {
        if (undo != NULL)
            undo(v);
        goto fail;
    }
    return v;
fail:
    cd__var_free_unpublished(v);
    errno = -rc;
    return NULL;
}

/* ---- Int ---------------------------------------------------------------- */

cd_int *cd_int_new(const char *name)
{
    cd__var *v = new_var(name, CD__K_INT, NULL, NULL, NULL);
    return v ? &v->u.i : NULL;
}

void cd_int_add(cd_int *v, int64_t delta)
{
    if (v != NULL)
        atomic_fetch_add_explicit(&v->v, delta, memory_order_relaxed);
}

void cd_int_set(cd_int *v, int64_t value)
{
    if (v != NULL)
        atomic_store_explicit(&v->v, value, memory_order_relaxed);
}

int64_t cd_int_value(const cd_int *v)
{
    return v ? atomic_load_explicit(&((cd_int *)v)->v, memory_order_relaxed) : 0;
}

/* ---- Float -------------------------------------------------------------- */

static uint64_t to_bits(double d)
{
    uint64_t u;
    memcpy(&u, &d, sizeof u);
    return u;
}

static double from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, sizeof d);
    return d;
}

/* Adds delta to the double stored at *bits: compare-and-swap until no
 * other adder intervened. Lock-free, async-signal-safe. */
static void add_double(_Atomic uint64_t *bits, double delta)
{
    uint64_t old = atomic_load_explicit(bits, memory_order_relaxed);
    while (!atomic_compare_exchange_weak_explicit(bits, &old, to_bits(from_bits(old) + delta),
                                                  memory_order_relaxed, memory_order_relaxed))
        ;
}

cd_float *cd_float_new(const char *name)
{
    cd__var *v = new_var(name, CD__K_FLOAT, NULL, NULL, NULL);
    return v ? &v->u.f : NULL; /* zeroed bits are 0.0 */
}

void cd_float_add(cd_float *v, double delta)
{
    if (v != NULL)
        add_double(&v->bits, delta);
}

void cd_float_set(cd_float *v, double value)
{
    if (v != NULL)
        atomic_store_explicit(&v->bits, to_bits(value), memory_order_relaxed);
}

double cd_float_value(const cd_float *v)
{
    return v ? cd__float_load(v) : 0.0;
}

/* ---- String ------------------------------------------------------------- */

static void free_strval(struct rcu_head *head)
{
    free(caa_container_of(head, cd__strval, rcu));
}

/* Replaces s's value with a copy of str (NULL = ""). Readers see the old
 * or the new copy, whole. 0 or -ENOMEM (the old value stays). */
static int string_store(struct cd_string *s, const char *str)
{
    size_t n = str ? strlen(str) : 0;
    cd__strval *nv = malloc(sizeof *nv + n + 1);
    if (nv == NULL)
        return -ENOMEM;
    nv->len = n;
    if (n > 0)
        memcpy(nv->s, str, n);
    nv->s[n] = '\0';
    /* C11 atomics rather than rcu_xchg_pointer/rcu_dereference (inline
     * assembly on x86): the same instructions, and visible to TSan. */
    cd__strval *old = __atomic_exchange_n(&s->cur, nv, __ATOMIC_ACQ_REL);
    if (old != NULL)
        urcu_bp_call_rcu(&old->rcu, free_strval);
    return 0;
}

cd_string *cd_string_new(const char *name)
{
    cd__var *v = new_var(name, CD__K_STRING, NULL, NULL, NULL);
    return v ? &v->u.s : NULL; /* cur == NULL renders as "" */
}

void cd_string_set(cd_string *v, const char *s)
{
    if (v != NULL && string_store(v, s) != 0)
        errno = ENOMEM;
}

/* ---- Map ---------------------------------------------------------------- */

/* The key a map lookup compares against. */
typedef struct mkey {
    const char *s;
    size_t n;
} mkey;

static int match_entry(struct cds_lfht_node *node, const void *k)
{
    const cd__entry *e = caa_container_of(node, cd__entry, node);
    const mkey *want = k;
    return e->keylen == want->n && memcmp(e->key, want->s, want->n) == 0;
}

/* The entry at key, created with the given kind when missing. NULL with
 * errno EINVAL (NULL map or key), EEXIST (the key holds another kind) or
 * ENOMEM. Lock-free: a lookup, and for a new key one allocation and
 * cds_lfht_add_unique (a racing creator's entry wins, ours is freed). */
static cd__entry *entry_get(cd_map *m, const char *k, cd__kind kind)
{
    if (m == NULL || k == NULL) {
        errno = EINVAL;
        return NULL;
    }
    size_t n = strlen(k);
    unsigned long h = cd__hash(k, n);
    mkey kk = {k, n};
    struct cds_lfht_iter it;

    urcu_bp_read_lock();
    cds_lfht_lookup(m->ht, h, match_entry, &kk, &it);
    struct cds_lfht_node *node = cds_lfht_iter_get_node(&it);
    urcu_bp_read_unlock();
    cd__entry *e = node ? caa_container_of(node, cd__entry, node) : NULL;

    if (e == NULL) {
        /* 64-byte aligned, like vars: map entries are hot counters too. */
        size_t size = (sizeof(cd__entry) + n + 1 + 63) & ~(size_t)63;
        cd__entry *ne = aligned_alloc(64, size);
        if (ne == NULL) {
            errno = ENOMEM;
            return NULL;
        }
        memset(ne, 0, size);
        ne->kind = kind;
        ne->keylen = n;
        memcpy(ne->key, k, n + 1);
        ne->plain = cd__json_plain(k, n);
        cds_lfht_node_init(&ne->node);
        if (kind == CD__K_MAP && cd__map_init(&ne->u.m) != 0) {
            free(ne);
            errno = ENOMEM;
            return NULL;
        }
        __atomic_store_n(&ne->ready, 1, __ATOMIC_RELEASE);
        urcu_bp_read_lock();
        node = cds_lfht_add_unique(m->ht, h, match_entry, &kk, &ne->node);
        urcu_bp_read_unlock();
        e = caa_container_of(node, cd__entry, node);
        if (e == ne) {
            atomic_fetch_add_explicit(&m->n_entries, 1, memory_order_relaxed);
        } else {
            /* Lost the race: never published, nobody else can see it. */
            if (kind == CD__K_MAP)
                cds_lfht_destroy(ne->u.m.ht, NULL);
            free(ne);
        }
    }
    (void)__atomic_load_n(&e->ready, __ATOMIC_ACQUIRE); /* see cd__entry */
    if (e->kind != kind) {
        errno = EEXIST;
        return NULL;
    }
    return e;
}

static int map_setup(cd__var *v, const void *arg)
{
    (void)arg;
    return cd__map_init(&v->u.m);
}

static void map_undo(cd__var *v)
{
    cds_lfht_destroy(v->u.m.ht, NULL);
}

cd_map *cd_map_new(const char *name)
{
    cd__var *v = new_var(name, CD__K_MAP, map_setup, map_undo, NULL);
    return v ? &v->u.m : NULL;
}

void cd_map_add(cd_map *m, const char *key, int64_t delta)
{
    cd__entry *e = entry_get(m, key, CD__K_INT);
    if (e != NULL)
        atomic_fetch_add_explicit(&e->u.i.v, delta, memory_order_relaxed);
}

void cd_map_add_float(cd_map *m, const char *key, double delta)
{
    cd__entry *e = entry_get(m, key, CD__K_FLOAT);
    if (e != NULL)
        add_double(&e->u.f.bits, delta);
}

void cd_map_set_string(cd_map *m, const char *key, const char *s)
{
    cd__entry *e = entry_get(m, key, CD__K_STRING);
    if (e != NULL && string_store(&e->u.s, s) != 0)
        errno = ENOMEM;
}

cd_map *cd_map_child(cd_map *m, const char *key)
{
    cd__entry *e = entry_get(m, key, CD__K_MAP);
    return e ? &e->u.m : NULL;
}

/* ---- Func --------------------------------------------------------------- */

typedef struct func_arg {
    json_t *(*fn)(void *);
    void *arg;
} func_arg;

static int func_setup(cd__var *v, const void *p)
{
    const func_arg *fa = p;
    v->u.func.fn = fa->fn;
    v->u.func.arg = fa->arg;
    return 0;
}

int cd_func_new(const char *name, json_t *(*fn)(void *arg), void *arg)
{
    if (fn == NULL)
        return -EINVAL;
    func_arg fa = {fn, arg};
    return new_var(name, CD__K_FUNC, func_setup, NULL, &fa) ? 0 : -errno;
}

/* ---- Histogram ---------------------------------------------------------- */

typedef struct hist_arg {
    const double *bounds;
    size_t n;
} hist_arg;

static int hist_setup(cd__var *v, const void *p)
{
    const hist_arg *ha = p;
    struct cd_hist *h = &v->u.h;
    h->nbounds = ha->n;
    h->bounds = malloc(ha->n * sizeof *h->bounds);
    h->counts = calloc(ha->n + 1, sizeof *h->counts);
    if (h->bounds == NULL || h->counts == NULL) {
        free(h->bounds);
        free(h->counts);
        return -ENOMEM;
    }
    memcpy(h->bounds, ha->bounds, ha->n * sizeof *h->bounds);
    atomic_init(&h->sum_bits, to_bits(0.0));
    return 0;
}

static void hist_undo(cd__var *v)
{
    free(v->u.h.bounds);
    free(v->u.h.counts);
}

cd_hist *cd_hist_new(const char *name, const double *bounds, size_t nbounds)
{
    if (bounds == NULL || nbounds < 1 || nbounds > CD__HIST_MAX_BOUNDS) {
        errno = EINVAL;
        return NULL;
    }
    for (size_t i = 0; i < nbounds; i++) {
        if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1]))) {
            errno = EINVAL;
            return NULL;
        }
    }
    hist_arg ha = {bounds, nbounds};
    cd__var *v = new_var(name, CD__K_HIST, hist_setup, hist_undo, &ha);
    return v ? &v->u.h : NULL;
}

void cd_hist_observe(cd_hist *h, double value)
{
    if (h == NULL || isnan(value))
        return; /* a NaN would poison the sum and fits no bucket */
    /* First bucket whose upper bound is >= value (Prometheus' "le"). */
    size_t lo = 0, hi = h->nbounds;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (value <= h->bounds[mid])
            hi = mid;
        else
            lo = mid + 1;
    }
    atomic_fetch_add_explicit(&h->counts[lo], 1, memory_order_relaxed);
    add_double(&h->sum_bits, value);
}

/* ---- reading, for the renderers ----------------------------------------- */

void cd__hist_read(const struct cd_hist *h, cd__hist_snap *s)
{
    s->nbounds = h->nbounds;
    s->bounds = h->bounds;
    s->total = 0;
    for (size_t i = 0; i <= h->nbounds; i++) {
        s->counts[i] = atomic_load_explicit(&h->counts[i], memory_order_relaxed);
        s->total += s->counts[i];
    }
    s->sum =
        from_bits(atomic_load_explicit(&((struct cd_hist *)h)->sum_bits, memory_order_relaxed));
}

double cd__hist_quantile(const cd__hist_snap *s, double q)
{
    if (s->total == 0)
        return 0.0;
    double rank = q * (double)s->total;
    uint64_t cum = 0;
    size_t b = 0;
    for (; b < s->nbounds; b++) {
        if ((double)(cum + s->counts[b]) >= rank)
            break;
        cum += s->counts[b];
    }
    if (b == s->nbounds)
        return s->bounds[s->nbounds - 1]; /* +Inf bucket: nothing to interpolate to */
    double upper = s->bounds[b];
    if (b == 0 && upper <= 0)
        return upper;
    double lower = b == 0 ? 0.0 : s->bounds[b - 1];
    if (s->counts[b] == 0)
        return upper;
    return lower + (upper - lower) * ((rank - (double)cum) / (double)s->counts[b]);
}

void cd__string_with(cd__buf *b, const struct cd_string *s,
                     void (*fn)(cd__buf *b, const char *s, size_t n))
{
    urcu_bp_read_lock();
    cd__strval *sv = __atomic_load_n(&((struct cd_string *)s)->cur, __ATOMIC_ACQUIRE);
    if (sv != NULL)
        fn(b, sv->s, sv->len);
    else
        fn(b, "", 0);
    urcu_bp_read_unlock();
}

void cd__string_json(cd__buf *b, const struct cd_string *s)
{
    cd__string_with(b, s, cd__buf_json_str);
}

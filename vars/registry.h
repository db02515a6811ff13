/* vars/registry.h - the var registry: what a var is, the name -> var hash
 * table, and sorted snapshots for the renderers.
 *
 * Vars live in a liburcu lock-free hash table (rculfhash, urcu-bp flavour:
 * no thread registration, so libmicrohttpd's and the application's threads
 * may read it as they are). Lookups and snapshots run inside an RCU
 * read-side critical section and never block a registration; a
 * registration is one cds_lfht_add_unique, lock-free. Vars and map entries
 * are never removed, so a pointer taken inside a critical section stays
 * valid after it: the renderers collect pointers, leave the critical
 * section, then sort and render (user Func callbacks never run inside one).
 *
 * The table is created, and the built-in vars (cmdline, memstats, sched)
 * registered, on first use of any registry function, not by the library
 * constructor: a program that never publishes or serves vars pays nothing.
 *
 * All memory here is malloc'd: the HTTP server's threads and liburcu's
 * call_rcu/resize threads are not known to the collector.
 */
#ifndef CDEBUG_VARS_REGISTRY_H
#define CDEBUG_VARS_REGISTRY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <urcu-bp.h> /* the flavour must come before rculfhash.h */
#include <urcu/rculfhash.h>

#include "cdebug/vars_json.h"
#include "base/buf.h"

/* What a var (or a map entry) holds. */
typedef enum cd__kind {
    CD__K_INT,
    CD__K_FLOAT,
    CD__K_STRING,
    CD__K_MAP,
    CD__K_FUNC,
    CD__K_HIST,
    CD__K_BUILTIN, /* cmdline, memstats, sched: rendered by vars/builtin.c */
} cd__kind;

/* A string value, replaced whole by cd_string_set and freed by call_rcu
 * once no reader can still hold it. */
typedef struct cd__strval {
    struct rcu_head rcu;
    size_t len;
    char s[];
} cd__strval;

struct cd_int {
    _Atomic int64_t v;
};

struct cd_float {
    _Atomic uint64_t bits; /* the double's bits: C11 has no atomic add on doubles */
};

struct cd_string {
    cd__strval *cur; /* RCU-protected: rcu_dereference / rcu_xchg_pointer */
};

struct cd__order; /* registry.c */

struct cd_map {
    struct cds_lfht *ht;      /* key -> cd__entry */
    _Atomic size_t n_entries; /* entries in ht (counted once added) */
    /* The last sorted order of the entries (registry.c), made by the first
     * render; never freed, as maps are not. */
    struct cd__order *_Atomic order;
};

struct cd_hist {
    size_t nbounds;
    double *bounds;            /* [nbounds], strictly increasing, finite */
    _Atomic uint64_t *counts;  /* [nbounds + 1], per bucket (not cumulative); last is +Inf */
    _Atomic uint64_t sum_bits; /* the sum's double bits, CAS-updated */
};

/* Renders a built-in var's JSON value. */
typedef void (*cd__builtin_json_fn)(cd__buf *b);

/* A published var. The public handles (cd_int *, ...) point at the union
 * member, so the handle functions never look the name up. Allocated with
 * 64-byte alignment so two hot counters never share a cache line. */
typedef struct cd__var {
    struct cds_lfht_node node;
    cd__kind kind;
    bool plain; /* the name needs no JSON escape (cd__json_plain) */
    size_t namelen;
    char *name; /* NUL-terminated copy, in the same allocation */
    union {
        struct cd_int i;
        struct cd_float f;
        struct cd_string s;
        struct cd_map m;
        struct {
            json_t *(*fn)(void *arg);
            void *arg;
        } func;
        struct cd_hist h;
        cd__builtin_json_fn builtin;
    } u;
} cd__var;

/* A map entry: Int, Float, String or a nested Map (cd_map_child). Never
 * removed, its kind never changes. */
typedef struct cd__entry {
    struct cds_lfht_node node;
    /* 1 once initialised: stored with release before the entry is added
     * to its table, loaded with acquire by entry_get. liburcu publishes
     * with a cmpxchg that already orders this on x86, but in inline
     * assembly that TSan cannot see; this pair makes the order visible. */
    int ready;
    cd__kind kind;
    bool plain; /* the key needs no JSON escape (cd__json_plain) */
    size_t keylen;
    union {
        struct cd_int i;
        struct cd_float f;
        struct cd_string s;
        struct cd_map m;
    } u;
    char key[]; /* NUL-terminated */
} cd__entry;

/* Creates the table and registers the built-in vars, once. Returns 0 or
 * -ENOMEM (then every later call returns -ENOMEM too). Thread-safe
 * (pthread_once); not async-signal-safe. O(1) after the first call. */
int cd__vars_init(void);

/* Allocates a zeroed var of the given kind named name (copied). NULL with
 * errno EINVAL (NULL or empty name) or ENOMEM. Not yet visible. */
cd__var *cd__var_alloc(const char *name, cd__kind kind);

/* Publishes v. Returns 0, or -EEXIST when the name is taken (v is then
 * left to the caller to free: the first var stays). Calls cd__vars_init.
 * Thread-safe, lock-free; O(1) expected. */
int cd__var_publish(cd__var *v);

/* cd__var_publish without the cd__vars_init call: only for
 * cd__builtins_register, which runs inside that initialisation. */
int cd__var_insert(cd__var *v);

/* Frees a var that was never published. */
void cd__var_free_unpublished(cd__var *v);

/* Looks a var up by name; NULL when absent. Thread-safe, lock-free. */
cd__var *cd__var_lookup(const char *name);

/* Every published var sorted by name (bytewise, as Go sorts expvar keys),
 * in a malloc'd array (free() it), *n its length. NULL with *n = 0 when out
 * of memory. Thread-safe (a mutex guards the last sorted order, see
 * registry.c); O(vars) copying that order while no var was added since,
 * else O(vars log vars) to walk and sort the table (the RCU read-side
 * section only covers the walk). */
cd__var **cd__vars_sorted(size_t *n);

/* Every entry of m sorted by key, as cd__vars_sorted (the same kept
 * order, per map). An empty map returns a non-NULL array with *n = 0.
 * O(entries) while no entry was added since the last call, else
 * O(entries log entries). */
cd__entry **cd__map_sorted(const struct cd_map *m, size_t *n);

/* Initialises m's table. 0 or -ENOMEM. */
int cd__map_init(struct cd_map *m);

/* 64-bit hash of n bytes (base/hash.h's cd__hash_bytes: rculfhash's
 * bucket index, taken from the low bits, is well mixed). Pure, O(n). */
unsigned long cd__hash(const char *s, size_t n);

/* Reads a float var/entry. Relaxed atomic load. */
double cd__float_load(const struct cd_float *f);

#endif /* CDEBUG_VARS_REGISTRY_H */

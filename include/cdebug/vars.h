/* cdebug/vars.h - published variables, Go's expvar.
 *
 * A var has a unique name and is published for the life of the process: it
 * appears in /debug/vars (JSON, Go's expvar document) and /metrics
 * (Prometheus text). Constructors return NULL on error with errno set:
 * EINVAL (NULL or empty name), EEXIST (the name is taken: Go panics, cdebug
 * keeps the first var and refuses the second), ENOMEM. Every update
 * function accepts NULL and does nothing (the map functions also set errno
 * to EINVAL for a NULL map or key), so a failed registration never crashes
 * the program that ignores it. Every constructor (cd_*_new) is thread-safe,
 * from any thread; not async-signal-safe (it allocates); cost O(1)
 * expected: an allocation and a lock-free hash-table insert.
 *
 * Memory: vars are malloc'd, never GC memory (the HTTP server's threads are
 * not known to the collector) and never freed. Updates take no lock; readers
 * (the renderers) never block writers.
 */
#ifndef CDEBUG_VARS_H
#define CDEBUG_VARS_H

#include <stddef.h>
#include <stdint.h>

#include <cdebug/runtime.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cd_int cd_int;
typedef struct cd_float cd_float;
typedef struct cd_string cd_string;
typedef struct cd_map cd_map;
typedef struct cd_hist cd_hist;

/* Go's expvar.Int. Add/set/value: thread-safe, async-signal-safe (one
 * relaxed atomic), O(1); value of NULL is 0. */
CD_EXTERN cd_int *cd_int_new(const char *name);
CD_EXTERN void cd_int_add(cd_int *v, int64_t delta);
CD_EXTERN void cd_int_set(cd_int *v, int64_t value);
CD_EXTERN int64_t cd_int_value(const cd_int *v);

/* Go's expvar.Float (rendered like Go's strconv 'g' formatting).
 * Add/set/value: thread-safe, async-signal-safe (a CAS loop), O(1)
 * uncontended; value of NULL is 0. */
CD_EXTERN cd_float *cd_float_new(const char *name);
CD_EXTERN void cd_float_add(cd_float *v, double delta);
CD_EXTERN void cd_float_set(cd_float *v, double value);
CD_EXTERN double cd_float_value(const cd_float *v);

/* Go's expvar.String. set copies s (NULL means ""). Thread-safe; not
 * async-signal-safe (malloc); the old copy is freed after a grace period.
 * Cost: O(length of s), no lock. */
CD_EXTERN cd_string *cd_string_new(const char *name);
CD_EXTERN void cd_string_set(cd_string *v, const char *s);

/* Go's expvar.Map: keys rendered sorted. cd_map_add creates an Int entry
 * on first use (Go's Map.Add); cd_map_add_float a Float entry;
 * cd_map_set_string a String entry; cd_map_child returns the nested map
 * at key, creating it. Using a key with a different kind than it was
 * created with does nothing and returns/sets errno EEXIST where it can.
 * Thread-safe; not async-signal-safe (a new key allocates). Cost: one
 * lock-free hash lookup (O(1) expected; a new key adds an allocation);
 * existing keys are updated without a lock. */
CD_EXTERN cd_map *cd_map_new(const char *name);
CD_EXTERN void cd_map_add(cd_map *m, const char *key, int64_t delta);
CD_EXTERN void cd_map_add_float(cd_map *m, const char *key, double delta);
CD_EXTERN void cd_map_set_string(cd_map *m, const char *key, const char *s);
CD_EXTERN cd_map *cd_map_child(cd_map *m, const char *key);

/* Go's expvar.Func is cd_func_new, in <cdebug/vars_json.h>: its values are
 * jansson trees, and this header needs no jansson. */

/* A latency histogram with fixed upper bounds (strictly increasing, finite;
 * an implicit +Inf bucket follows). JSON: count, sum, buckets and p50, p90,
 * p99 estimated by linear interpolation inside a bucket; Prometheus: a
 * classic histogram (_bucket, _sum, _count series). nbounds: 1..64;
 * cd_hist_new sets errno EINVAL for bounds that break these rules.
 * cd_hist_observe: thread-safe, async-signal-safe, O(log buckets), no
 * lock; NULL h does nothing. */
CD_EXTERN cd_hist *cd_hist_new(const char *name, const double *bounds, size_t nbounds);
CD_EXTERN void cd_hist_observe(cd_hist *h, double value);

/* Renders every var, Go's expvar document: {"cmdline": [...], "memstats":
 * {...}, ...} with top-level keys sorted. Returns a malloc'd NUL-terminated
 * string (free() it), or NULL with errno ENOMEM. Thread-safe, from any
 * thread (registered or not); not async-signal-safe. Cost: O(vars + map
 * entries), plus the Func vars' callbacks; never blocks an update. */
CD_EXTERN char *cd_vars_json(void);

/* Renders every var and the runtime metrics as Prometheus text exposition
 * format 0.0.4. Same errors, rules and cost as cd_vars_json. */
CD_EXTERN char *cd_vars_prometheus(void);

/* What the cmdline var and /debug/pprof/cmdline show of the arguments
 * (CDEBUG=cmdlineredact=N). */
#define CD_CMDLINE_SHOW    0 /* every argument as given, as in Go */
#define CD_CMDLINE_HIDE    1 /* argv[0] only; the var shows "<redacted>" for the rest */
#define CD_CMDLINE_SECRETS 2 /* the default: secret values as "xxxxx" (docs/vars.md) */

/* Selects the mode above, overriding CDEBUG=cmdlineredact from the next
 * render on. Returns 0, or -EINVAL for another value, which then hides
 * argv[1..] (CD_CMDLINE_HIDE: what any non-zero value did before the modes
 * existed). Thread-safe, async-signal-safe (one relaxed atomic), O(1). */
CD_EXTERN int cd_vars_redact_cmdline(int mode);

#ifdef __cplusplus
}
#endif
#endif /* CDEBUG_VARS_H */

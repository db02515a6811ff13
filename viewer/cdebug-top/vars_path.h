/* vars_path.h - what -vars names: a kind and a dotted path into the JSON.
 *
 * A spec is `[kind:]path`. Kinds (expvarmon's): mem: (bytes, shown as
 * KB/MB/GB), duration: (nanoseconds, shown as a Go duration), str: (text);
 * anything else is a plain number. The path walks nested objects by key:
 * "memstats.Alloc" is doc["memstats"]["Alloc"]. In a key, "\." is a literal
 * dot, "\," a literal comma and "\\" a backslash; another backslash is kept
 * as is. A purely numeric segment also indexes an array ("memstats.PauseNs.0").
 *
 * Values: integers stay exact int64, reals are doubles, booleans count as
 * 0/1 for sparklines, arrays are reduced to the mean of their elements with
 * trailing zeros trimmed (expvarmon's treatment of memstats.PauseNs, a ring
 * filled from the start), anything else (missing, null, object) is n/a.
 *
 * Pure and thread-safe; parsing allocates, lookups do not.
 */
#ifndef CDEBUG_TOP_VARS_PATH_H
#define CDEBUG_TOP_VARS_PATH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define TOP_MAX_VARS  64 /* panels a screen can hold, and a bound on work */
#define TOP_MAX_DEPTH 16 /* path segments */
#define TOP_STR_MAX   96 /* bytes kept of a string value (with NUL) */

typedef enum { TOP_KIND_PLAIN, TOP_KIND_MEM, TOP_KIND_DURATION, TOP_KIND_STR } top_kind;

typedef struct top_var {
    char *spec;         /* as typed, malloc'd */
    const char *label;  /* spec without the kind prefix (points into spec) */
    top_kind kind;
    size_t depth;       /* number of keys */
    char *keys[TOP_MAX_DEPTH]; /* unescaped path segments, malloc'd */
} top_var;

typedef enum { TOP_V_NA, TOP_V_INT, TOP_V_REAL, TOP_V_BOOL, TOP_V_STR } top_vtype;

/* One sampled value; fixed size so samples never allocate. */
typedef struct top_value {
    top_vtype type;
    int64_t i;             /* TOP_V_INT, TOP_V_BOOL (0/1) */
    double r;              /* TOP_V_REAL */
    char s[TOP_STR_MAX];   /* TOP_V_STR, truncated on a UTF-8 boundary */
} top_value;

/* Parses one spec (len bytes of s). Returns 0, -EINVAL (empty path, too
 * deep; message in err) or -ENOMEM. Free with top_var_free. */
int top_var_parse(const char *s, size_t len, top_var *v, char *err, size_t errlen);
void top_var_free(top_var *v);

/* Parses a comma-separated list ("\," does not split). Empty items are
 * skipped. On success *out is a malloc'd array of *n vars (1..TOP_MAX_VARS). */
int top_vars_parse_list(const char *list, top_var **out, size_t *n, char *err, size_t errlen);
void top_vars_free(top_var *v, size_t n);

/* Follows v's path in doc; NULL when a segment is missing. O(depth). */
const json_t *top_var_lookup(const top_var *v, const json_t *doc);

/* Converts a JSON value (NULL allowed) to a sample as described above. */
void top_value_from_json(const json_t *j, top_value *out);

/* The sample as a number for sparklines and comparisons; NAN when n/a or a
 * string. */
double top_value_number(const top_value *v);

#endif

/* cdebug/vars_json.h - Go's expvar.Func, whose values are jansson trees.
 *
 * The one var whose API has a third-party type (jansson's json_t), kept
 * out of <cdebug/vars.h> and <cdebug/cdebug.h> so that a program that does
 * not use it needs no jansson headers. This header includes <jansson.h>
 * and <cdebug/vars.h>; a program that includes it builds the values with
 * jansson's functions, so it compiles and links with jansson
 * (`pkg-config --cflags --libs cdebug jansson`). docs/vars.md.
 */
#ifndef CDEBUG_VARS_JSON_H
#define CDEBUG_VARS_JSON_H

#include <jansson.h>

#include <cdebug/vars.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Go's expvar.Func: publishes name, whose value is fn(arg), called at
 * every render of /debug/vars and /metrics (where a number becomes a
 * series, anything else a comment), from a server thread, possibly two at
 * once (as Go's net/http calls an expvar.Func): fn must be thread-safe.
 * fn returns a new jansson reference (cdebug decrefs it), or NULL
 * (rendered as null); it must not use GC memory unless its thread is
 * registered, and must not block for long: renders wait for it. Returns
 * 0, -EINVAL (NULL or empty name, NULL fn), -EEXIST (name taken) or
 * -ENOMEM. Thread-safe; not async-signal-safe; O(1) plus an allocation
 * (fn's cost is paid at each render). */
CD_EXTERN int cd_func_new(const char *name, json_t *(*fn)(void *arg), void *arg);

#ifdef __cplusplus
}
#endif
#endif /* CDEBUG_VARS_JSON_H */

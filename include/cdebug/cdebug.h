/* cdebug/cdebug.h - umbrella header: include this one.
 *
 * cdebug gives C programs the diagnostics Go programs get from their runtime.
 * See README.md and docs/cdebug.md.
 *
 * It includes every public header but two, and needs no third-party header:
 *   runtime.h       initialisation, errors (the error rule), the GC heap,
 *                   memory statistics
 *   sched.h         the task pool, wait groups, blocking calls, threads
 *   vars.h          published variables (Go's expvar)
 *   trace.h         execution traces, their annotations, the flight recorder
 *   trace_reader.h  the reader of trace files
 *   prof.h          pprof profiles (CPU, heap, allocations, tasks, threads)
 *   http.h          the debug HTTP server
 * The two with third-party types are included by the programs that use them:
 *   vars_json.h     cd_func_new (Go's expvar.Func), values as jansson trees
 *   http_mhd.h      cd_http_handle, the routes in your own libmicrohttpd server
 */
#ifndef CDEBUG_CDEBUG_H
#define CDEBUG_CDEBUG_H

#include <cdebug/runtime.h>
#include <cdebug/sched.h>
#include <cdebug/vars.h>
#include <cdebug/trace.h>
#include <cdebug/trace_reader.h>
#include <cdebug/prof.h>
#include <cdebug/http.h>

#endif /* CDEBUG_CDEBUG_H */

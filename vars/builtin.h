/* vars/builtin.h - the built-in vars: cmdline, malloc, memstats and sched.
 *
 * They are registered with the first use of the registry (cd__vars_init),
 * never from the library constructor. Their JSON is written by hand into
 * the render buffer, in exactly the shape Go's expvar produces for cmdline
 * and memstats (json.Marshal of os.Args and of runtime.MemStats: compact,
 * struct field order, Go's JSON types). docs/vars.md lists every field.
 * cmdline's reading and redaction are in vars/cmdline.h.
 */
#ifndef CDEBUG_VARS_BUILTIN_H
#define CDEBUG_VARS_BUILTIN_H

#include "cdebug/runtime.h"
#include "cdebug/sched.h"
#include "base/buf.h"
#include "runtime/mallocstats.h"

/* Reads /proc/self/cmdline and publishes cmdline, malloc, memstats and
 * sched.
 * Called once, from cd__vars_init. Not thread-safe against itself. */
void cd__builtins_register(void);

/* Appends m as Go's json.Marshal(runtime.MemStats) does: compact, fields
 * in the struct's order, integers, PauseNs/PauseEnd as arrays of 256,
 * GCCPUFraction as an encoding/json float, EnableGC/DebugGC as booleans,
 * BySize as 61 {"Size","Mallocs","Frees"} objects. Pure apart from b;
 * about 600 numbers, no printf. */
void cd__memstats_json(cd__buf *b, const cd_memstats *m);

/* Appends m as the malloc object: {"Allocator": NAME, then the figures
 * the allocator gives, under Go's MemStats names: HeapAlloc, HeapSys,
 * HeapIdle, HeapInuse, HeapReleased} (docs/vars.md). Pure apart from b. */
void cd__mallocstats_json(cd__buf *b, const cd__mallocstats *m);

/* Appends s as the sched object (fields in docs/vars.md). Pure apart from
 * b; O(workers). */
void cd__sched_json(cd__buf *b, const cd_schedstats *s);

#endif /* CDEBUG_VARS_BUILTIN_H */

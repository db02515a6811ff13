/* trace/trace_int.h - what the rest of the runtime sees of the tracer. */
#ifndef CDEBUG_TRACE_TRACE_INT_H
#define CDEBUG_TRACE_TRACE_INT_H

#include <stdint.h>

#include "runtime/trace_recorder.h"

/* CDEBUG=trace=FILE: start at init, stop (and flush) at cd_shutdown/exit. */
int cd__trace_file_start(const char *path);
void cd__trace_file_stop(void);

/* In a child of fork(), from the runtime's atfork child handler (sched.c,
 * the only caller), on the forking thread: the trace session of the parent
 * (a trace to a file or fd, an HTTP trace, the flight recorder) is
 * forgotten, so the child records nothing (cd_trace_enabled() false, the
 * trace points' one branch not taken) and writes nothing at cd_trace_stop,
 * cd_shutdown or exit; it may start a trace of its own. The writer thread
 * does not exist there, and any other thread of the parent may have been
 * mid-event or inside one of the tracer's locks at the fork: so nothing of
 * the session is walked or freed, only forgotten (kept reachable for
 * LeakSanitizer), and the locks are made anew. Plain stores only: no
 * allocation, no lock, no system call, as the atfork child handlers of a
 * multi-threaded process must (and what costs a child about to exec
 * nothing). */
void cd__trace_fork_child(void);

/* Interns a string by content only (messages built in reused buffers). */
uint32_t cd__trace_string_content(const char *s);

/* Interns a string literal (a constant address whose text never changes:
 * the annotation macros pass __builtin_constant_p names here), keyed by
 * its address alone: a cache hit is a few loads, no strlen. */
uint32_t cd__trace_string_lit_slow(const char *s);

/* A literal's cache slot: a multiplicative hash of its address (literals
 * sit a few bytes apart, so low bits alone would collide). It may also
 * sit in the neighbour slot (slot ^ 1): two literals used in turn, as a
 * log's category and message, with the same slot do not evict each other
 * on every call. */
static inline unsigned cd__icache_lit_slot(const char *s)
{
    return (unsigned)(((uintptr_t)s * 0x9e3779b97f4a7c15ull) >> 58);
}

static inline bool cd__icache_lit_hit(const cd__tstate *st, unsigned slot, const char *s)
{
    return st->cache[slot].key == s && st->cache[slot].mode == CD__ICACHE_LITERAL &&
           st->cache[slot].session ==
               atomic_load_explicit(&cd__trace_session, memory_order_relaxed);
}

static inline uint32_t cd__trace_string_lit(const char *s)
{
    cd__tstate *st = cd__trace_tls;
    if (__builtin_expect(st != NULL, 1)) {
        unsigned slot = cd__icache_lit_slot(s);
        if (cd__icache_lit_hit(st, slot, s))
            return st->cache[slot].id;
        if (cd__icache_lit_hit(st, slot ^ 1, s))
            return st->cache[slot ^ 1].id;
    }
    return cd__trace_string_lit_slow(s);
}

#endif /* CDEBUG_TRACE_TRACE_INT_H */

/* runtime/trace_intern.h - string and stack tables of the running trace session,
 * and the list of entries the writer has not written yet. */
#ifndef CDEBUG_RUNTIME_TRACE_INTERN_H
#define CDEBUG_RUNTIME_TRACE_INTERN_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define CD__TRACE_MAX_FRAMES 32

/* Forgets every entry (a new session starts with empty tables). Called by
 * cd_trace_start before tracing is switched on. */
void cd__intern_reset(void);

/* Entries added since the last call, for the writer. The callbacks run with
 * the table lock held; pointers are valid during the call only. */
void cd__intern_drain(void (*on_string)(uint32_t id, const char *s, size_t n, void *ctx),
                      void (*on_stack)(uint32_t id, const uintptr_t *pcs, int n, void *ctx),
                      void *ctx);

/* In a child of fork(), from the runtime's atfork child handler: empty tables and a free
 * lock, the parent's entries forgotten, not freed (another thread may have
 * been changing them, inside the lock, at the fork). Plain stores only. */
void cd__intern_fork_child(void);

#endif /* CDEBUG_RUNTIME_TRACE_INTERN_H */

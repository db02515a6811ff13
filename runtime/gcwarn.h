/* runtime/gcwarn.h - bdwgc's warnings ("GC Warning: ...") as cdebug lines.
 *
 * bdwgc prints its warnings itself, on stderr, as "GC Warning: " and a
 * printf format that may span two lines ("...(appr. size %ld):\n\tMay lead
 * to memory leak and poor performance\n"), between the gctrace lines and
 * unannounced. cdebug installs a warn proc that writes each warning as one
 * line, "cdebug: gc: " and the message, at most one line a second for each
 * message, with the count of the ones it left out since.
 */
#ifndef CDEBUG_RUNTIME_GCWARN_H
#define CDEBUG_RUNTIME_GCWARN_H

#include <stdbool.h>
#include <stdint.h>

/* Lines a second for one message (bdwgc's format string). */
#define CD__GCWARN_INTERVAL_NS 1000000000u

/* Makes bdwgc's warnings go through cd__gcwarn_emit to fd 2. Call before
 * GC_INIT, so the warnings of the collector's start go there too.
 * Idempotent; thread-safe (bdwgc takes its lock); not async-signal-safe.
 * O(1). */
void cd__gcwarn_install(void);

/* Writes bdwgc's warning msg (a printf format, "GC Warning: " first, with at
 * most one conversion, %ld %lu %lx %p or %s, of arg) to fd as one line,
 * "cdebug: gc: MESSAGE", the format's newlines and tabs made single spaces,
 * unless a line for the same msg (the same pointer: bdwgc's formats are
 * string literals) was written less than CD__GCWARN_INTERVAL_NS before
 * now_ns: then it only counts it, and the next line written for msg ends
 * " (N more suppressed since the last such line)". Returns true when it
 * wrote.
 *
 * bdwgc calls its warn proc with its allocation lock held, so this takes
 * no lock and allocates nothing: a 512-byte buffer on the stack, atomics
 * for the 16 messages it tells apart (the 17th and later share the last
 * slot), one write(2). Thread-safe (two threads racing on one message may
 * both write); async-signal-safe; O(length of msg). A stderr that blocks
 * blocks the caller, as bdwgc's own printing does. */
bool cd__gcwarn_emit(int fd, const char *msg, uintptr_t arg, uint64_t now_ns);

#endif /* CDEBUG_RUNTIME_GCWARN_H */

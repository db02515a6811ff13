/* runtime/lineage.h - the children rule: which process a setting is for.
 *
 * Children inherit CDEBUG (and LD_PRELOAD) from the process that started
 * with it. Without a rule, every child of a preloaded server would try
 * the parent's http= port ("address already in use", once per child) and
 * rewrite the parent's cpuprofile=, trace= and memprofile= files. The
 * rule:
 *
 *   - The first process to load cdebug with a CDEBUG value is its root.
 *     It records itself in the environment its children inherit, as
 *     CDEBUG_ROOT=PID:HASH (HASH: of the CDEBUG value).
 *   - A process that finds CDEBUG_ROOT naming another process and the same
 *     CDEBUG value inherited that value: it is a child. A child serves
 *     nothing for http=HOST:PORT with a port other than 0 (port 0 picks a
 *     free port of its own), writes FILE.PID for cpuprofile=, trace= and
 *     memprofile=, and prints no warning about the settings (its root
 *     printed them once).
 *   - A process whose CDEBUG differs from its root's (someone set it for
 *     this process) is a root of its own; so is a process that exec'd
 *     itself (same PID: its server and files went with the old image).
 *
 * A child of fork() that does not exec runs no constructor: it keeps its
 * parent's settings, serves nothing (the server's thread stayed in the
 * parent) and writes no file (init/init.c), as before.
 */
#ifndef CDEBUG_RUNTIME_LINEAGE_H
#define CDEBUG_RUNTIME_LINEAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "runtime/env.h"

/* The variable a root sets for its children. */
#define CD__LINEAGE_ENV "CDEBUG_ROOT"

/* Whether a process with PID self, CDEBUG value cdebug (NULL: unset) and
 * CDEBUG_ROOT value marker (NULL: unset) is a child by the rule above.
 * Pure; any input is safe (a malformed marker: not a child). */
bool cd__lineage_is_child(const char *marker, const char *cdebug, pid_t self);

/* Writes the marker a root with PID self and CDEBUG value cdebug gives its
 * children into buf[0..len). Returns buf's length, or 0 when it does not
 * fit. Pure. */
size_t cd__lineage_marker(char *buf, size_t len, const char *cdebug, pid_t self);

/* Applies the child half of the rule to c for the process pid: an http=
 * address with a port other than 0 is cleared; each file name gets
 * ".PID" (a name too long for it is cleared: nothing is written rather
 * than the parent's file). Pure. */
void cd__lineage_child_config(cd__config *c, pid_t pid);

/* At startup, from cd__env_load: decides whether this process is a child
 * (the result) and, for a root with CDEBUG set, sets CDEBUG_ROOT for its
 * children (setenv: call before other threads read the environment, as a
 * constructor does). Not thread-safe against getenv in other threads; not
 * async-signal-safe. */
bool cd__lineage_start(const char *cdebug);

#endif /* CDEBUG_RUNTIME_LINEAGE_H */

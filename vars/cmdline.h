/* vars/cmdline.h - the program's arguments as cdebug publishes them: the
 * cmdline var of /debug/vars and /debug/pprof/cmdline.
 *
 * Go publishes os.Args as they are. Command lines often carry secrets
 * (--password=..., a token, a database URL with its password), and the
 * debug routes are read by people and tools that should not see them, so
 * cdebug redacts secret values by default (CD_CMDLINE_SECRETS): the
 * arguments keep their number and order, only a secret value becomes
 * "xxxxx", the text Go's url.URL.Redacted() puts in place of a password.
 * docs/vars.md gives the rules with examples.
 */
#ifndef CDEBUG_VARS_CMDLINE_H
#define CDEBUG_VARS_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"

/* Reads /proc/self/cmdline once and prepares the redacted copy. Called
 * from cd__builtins_register before the cmdline var is published (the
 * publication orders these writes before any render). Not thread-safe
 * against itself; allocates. */
void cd__cmdline_read(void);

/* The arguments as the current mode publishes them, each ending in NUL;
 * *len is the total (0 and "" before cd__cmdline_read or when /proc could
 * not be read). *hide_rest is set when argv[1..] must not be shown at all
 * (CD_CMDLINE_HIDE, or the redacted copy could not be allocated: then
 * hiding is the only safe answer); the text is then still the raw one, for
 * argv[0]. Valid for the life of the process. Thread-safe once
 * cd__vars_init ran; O(1). */
const char *cd__cmdline_shown(size_t *len, bool *hide_rest);

/* Appends the cmdline var: json.Marshal of the shown arguments,
 * ["prog","arg1",...], each hidden one as "<redacted>". Thread-safe; O(len). */
void cd__cmdline_json(cd__buf *b);

/* Appends to out the arguments args[0..len) (each ending in NUL, as in
 * /proc/self/cmdline; a last one without its NUL ends at len) with the
 * values of secrets replaced by "xxxxx", each argument followed by NUL.
 * argv[0], the program, is copied as it is; in each later argument:
 *
 *   --NAME=VALUE, -NAME=VALUE   VALUE, when NAME contains password, passwd,
 *                               secret, token, key or credential (ASCII,
 *                               any case); else VALUE is examined as a
 *                               positional argument (below)
 *   --NAME VALUE, -NAME VALUE   the next argument, whatever it is, when
 *                               NAME contains one (Go's flag package takes
 *                               it as the value; a boolean flag's next
 *                               argument is hidden too: its type is not
 *                               known here)
 *   NAME=VALUE                  VALUE, when NAME ([A-Za-z0-9_.-]+) contains
 *                               one (environment-style assignments)
 *   SCHEME://USER:PASS@HOST     PASS, in every URL of the argument (the
 *                               authority as Go's url.Parse splits it: up
 *                               to the first / ? or #, the user info up to
 *                               its last @); a URL without a password is
 *                               left alone, as url.URL.Redacted() does
 *
 * An empty value stays empty (nothing to hide); "--" and "-" are copied,
 * and the rules go on after "--", whose words are often another command's
 * arguments. Bytes are compared as bytes: any encoding passes through.
 * Pure apart from out; thread-safe on distinct buffers; not
 * async-signal-safe (it may grow out); O(len). */
void cd__cmdline_redact(const char *args, size_t len, cd__buf *out);

#endif /* CDEBUG_VARS_CMDLINE_H */

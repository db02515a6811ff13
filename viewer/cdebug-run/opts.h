/* opts.h - cdebug-run's command line.
 *
 *   cdebug-run [--http=ADDR] [--cpuprofile=FILE] [--memprofile=FILE]
 *              [--trace=FILE] [--traceback=LEVEL] [--lib=PATH] [--] PROGRAM ARGS...
 *
 * Options come first, as `--name=value` or `--name value`; the first
 * argument that is not an option, or the one after "--", is PROGRAM and
 * everything after it is PROGRAM's own (so `cdebug-run ls -l` passes -l to
 * ls). A repeated option: the last one wins, as CDEBUG's items do.
 *
 * Each value is checked by the library's own parser (runtime/env.h: the
 * same rule, the same "(want ...)" text, one copy of it), so a value that
 * the preloaded library would refuse with a warning and ignore is refused
 * here, before anything runs. A file name with a comma is refused with its
 * reason: CDEBUG separates its items with commas and has no escape.
 */
#ifndef CDEBUG_RUN_OPTS_H
#define CDEBUG_RUN_OPTS_H

#include <stdio.h>

/* Settings that go into CDEBUG, in the order they are written there. */
enum { RUN_SET_HTTP, RUN_SET_CPUPROFILE, RUN_SET_MEMPROFILE, RUN_SET_TRACE, RUN_SET_N };

/* The CDEBUG name of each RUN_SET_* (also the option's name). */
extern const char *const run_set_names[RUN_SET_N];

typedef struct run_opts {
    const char *set[RUN_SET_N]; /* a value for CDEBUG, or NULL: keep what CDEBUG says */
    const char *traceback;      /* --traceback: CDTRACEBACK's value, or NULL */
    const char *lib;            /* --lib: the library to preload, or NULL */
    int argi;                   /* argv[argi] is PROGRAM */
} run_opts;

/* What run_opts_parse returns besides 0 (go on). */
#define RUN_OPTS_HELP 1 /* --help/-h: the caller prints the usage and exits 0 */

/* Parses argv[1..argc-1] into *o. On a bad option or value writes one
 * line "cdebug-run: ..." and the usage to errf and returns -EINVAL (the
 * caller exits 2). Strings in *o point into argv. Writes errf only; not
 * thread-safe in that it writes errf. O(argc + length of the values). */
int run_opts_parse(int argc, char **argv, run_opts *o, FILE *errf);

/* Writes the usage text to f. */
void run_usage(FILE *f);

#endif

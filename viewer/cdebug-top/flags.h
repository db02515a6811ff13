/* flags.h - cdebug-top's command line, parsed the way Go's flag package does.
 *
 * expvarmon users type `-ports=6060 -i 1s -vars=...`; Go's flag package
 * accepts one or two dashes, `-name=value` and `-name value` (not for booleans),
 * `-bool` or `-bool=false`, and stops at "--" or the first non-flag. The same
 * grammar and the same error texts are used here, so muscle memory and scripts
 * carry over. Pure: no I/O except writing messages to the given stream.
 */
#ifndef CDEBUG_TOP_FLAGS_H
#define CDEBUG_TOP_FLAGS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* expvarmon's defaults. PauseNs is an array: its mean is shown. */
#define TOP_DEFAULT_VARS                                                                           \
    "mem:memstats.Alloc,mem:memstats.Sys,mem:memstats.HeapAlloc,mem:memstats.HeapInuse,"          \
    "duration:memstats.PauseNs,duration:memstats.PauseTotalNs"
#define TOP_DEFAULT_ENDPOINT "/debug/vars"
#define TOP_DEFAULT_INTERVAL (5 * INT64_C(1000000000))

/* Parsed options. Strings point into argv or to static defaults. */
typedef struct top_opts {
    const char *ports;    /* -ports: ports, ranges, host:port, URLs */
    int64_t interval_ns;  /* -i: polling interval, > 0 */
    const char *vars;     /* -vars: comma-separated var specs */
    const char *endpoint; /* -endpoint: path used when a port gives none */
    const char *csv;      /* -csv: file recording every sample, or NULL */
    bool dummy;           /* -dummy: console lines instead of the screen */
    bool self;            /* -self: accepted for compatibility, unsupported */
} top_opts;

/* Result of top_flags_parse besides 0 (go on). */
#define TOP_FLAGS_HELP 1 /* -h/-help: usage printed, exit 0 as Go does */

/* Parses argv[1..argc-1] into *o (defaults filled in first). On a bad flag
 * or value writes Go's message ("flag provided but not defined: -x",
 * "invalid value \"abc\" for flag -i: parse error") and the usage to errf and
 * returns -EINVAL (callers exit 2, like flag.ExitOnError). Also rejects
 * leftover positional arguments and a non-positive interval. Arguments
 * quoted in a message are escaped (esc.h): a control character in argv
 * shows as \x1b, it does not act on the terminal. Not thread-safe only in
 * that it writes errf. */
int top_flags_parse(int argc, char **argv, top_opts *o, FILE *errf);

/* Writes the usage text (flags with defaults, examples) to f, with prog
 * escaped (esc.h). */
void top_flags_usage(FILE *f, const char *prog);

#endif

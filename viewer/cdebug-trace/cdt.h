/* viewer/cdebug-trace/cdt.h - what the subcommands of cdebug-trace share:
 * the command table entry, opening a trace with the tool's error messages,
 * and the text formats (times, quoted strings).
 *
 * Exit codes, for every subcommand: 0 success (a truncated trace is a
 * success with a warning on stderr), 1 the input cannot be read (missing,
 * empty, not a trace, corrupted), 2 bad usage.
 */
#ifndef CDEBUG_VIEWER_CDT_H
#define CDEBUG_VIEWER_CDT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <cdebug/trace_reader.h>

#define CDT_OK    0
#define CDT_FAIL  1
#define CDT_USAGE 2

typedef struct cdt_cmd {
    const char *name;
    const char *args;                  /* synopsis after the name */
    const char *summary;               /* one line */
    int (*run)(int argc, char **argv); /* argv[0] is the subcommand name */
} cdt_cmd;

extern const char *cdt_prog; /* "cdebug-trace" */

/* Prints the whole usage text (every command) to f. */
void cdt_usage(FILE *f);

/* Prints "cdebug-trace: <fmt>" and a newline on stderr. */
void cdt_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The reader's memory in every subcommand (docs/cdebug-trace.md, "Memory
 * and speed"): events held between two frontiers (past it the oldest are
 * delivered early, counted in cd_tr_stats.forced and reported) and the
 * string, stack and symbol tables (a trace defining more is refused, exit
 * 1). cdebug's recorder stops adding to its tables at 16 MiB
 * (CD__INTERN_MAX_BYTES), which the reader, with its maps, holds in at
 * most about 24 MiB; a real program's tables are kilobytes. */
#define CDT_READER_MAX_HELD   (32u << 20)
#define CDT_READER_MAX_TABLES (32u << 20)

/* Opens a trace ("-" is standard input), reporting a failure on stderr as
 * one line. opts (may be NULL) gets CDT_READER_MAX_HELD and
 * CDT_READER_MAX_TABLES where its limits are 0. Returns 0 or CDT_FAIL. */
int cdt_open(const char *path, const cd_tr_opts *opts, cd_trace_reader **r);

/* After the last cd_trace_reader_next: reports rc (< 0) on stderr, as a
 * warning for a truncated trace. Returns the exit code: CDT_OK when the
 * stream ended cleanly or was truncated, CDT_FAIL otherwise. */
int cdt_finish(const char *path, cd_trace_reader *r, int rc);

/* The times a trace can have: every event within CDT_MAX_TIME_NS (2^60 ns,
 * about 36.5 years) of the trace start, before or after it. A time beyond
 * it (a start_ticks of 2^64 - 1, a batch timestamp flipped to a random
 * 64-bit value, a tick rate of 1 Hz with events 2^40 ticks away) is
 * corruption, not a long trace: refusing it keeps every difference and sum
 * of times the tools compute far from the int64 limits (two accepted times
 * differ by less than 2^61 ns). */
#define CDT_MAX_TIME_NS    ((int64_t)1 << 60)
#define CDT_MAX_TIME_YEARS 36

/* ev's time since the trace start in ns (cd_trace_reader_ns) into *ns.
 * Returns false, *ns unset, when it lies beyond CDT_MAX_TIME_NS. Pure;
 * O(1). */
bool cdt_event_ns(const cd_trace_reader *r, const cd_tr_event *ev, int64_t *ns);

/* Reports ev's impossible time (cdt_event_ns returned false) as one line
 * on stderr: "PATH: corrupted trace: TASK_END on thread 3 at tick T lies
 * 584 years after the trace start (start_ticks S, H ticks/s); the limit is
 * 36 years". */
void cdt_time_error(const char *path, const cd_trace_reader *r, const cd_tr_event *ev);

/* "12.345678ms": ns as milliseconds with nanosecond precision. buf needs
 * 32 bytes. */
char *cdt_fmt_ms(char *buf, int64_t ns);

/* A duration with 3 significant digits and a unit: "812ns", "45.6us",
 * "1.23ms", "2.50s". buf needs 32 bytes. Returns buf. */
char *cdt_fmt_dur(char *buf, int64_t ns);

/* Length of the valid UTF-8 sequence at s (n > 0 bytes left), 0 if
 * invalid: no overlong forms, no surrogates, nothing above U+10FFFF. */
size_t cdt_utf8_len(const unsigned char *s, size_t n);

/* Writes s (n bytes) as a JSON string with its quotes: control characters
 * and '<' escaped, invalid UTF-8 bytes replaced by U+FFFD, so the output is valid
 * JSON whatever the trace holds. NULL is written as "". */
void cdt_put_json_string(FILE *f, const char *s, size_t n);

/* "2024-05-01T10:00:00.123456789Z", or "unknown" for 0. buf: 48 bytes. */
char *cdt_fmt_wall(char *buf, uint64_t wall_ns);

/* Writes s (n bytes) double-quoted: \" \\ \n \r \t escaped, other control
 * bytes and invalid UTF-8 as \xNN, valid UTF-8 as is. */
void cdt_put_quoted(FILE *f, const char *s, size_t n);

/* Subcommands. */
int cdt_cmd_dump(int argc, char **argv);
int cdt_cmd_stats(int argc, char **argv);
int cdt_cmd_diff(int argc, char **argv);
int cdt_cmd_export(int argc, char **argv);
int cdt_cmd_view(int argc, char **argv);
int cdt_cmd_pprof(int argc, char **argv);

#endif /* CDEBUG_VIEWER_CDT_H */

/* csv.h - --csv FILE: every sample, one row each, for later analysis.
 *
 * Format (RFC 4180, header first):
 *   timestamp,service,var,value
 *   2024-05-01T12:00:00.123Z,localhost:6060,memstats.Alloc,1234567
 * timestamp is UTC, RFC 3339 with milliseconds, when the response arrived;
 * service is "host:port" as shown (a bare port becomes localhost:PORT); var is the spec as given without its kind prefix;
 * value is raw (bytes and nanoseconds as integers, see top_fmt_raw), empty
 * when the var is missing. A poll that fails writes one row with var
 * "(status)" and value "failed: <reason>"; a detected restart writes
 * "(status)","restarted: <reason>". The file is flushed after every poll so
 * a killed cdebug-top leaves only whole rows. Every cell goes through
 * top_csv_field, so what a service sends can neither break a row nor
 * become a spreadsheet formula.
 *
 * Not thread-safe: one writer.
 */
#ifndef CDEBUG_TOP_CSV_H
#define CDEBUG_TOP_CSV_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#define TOP_CSV_STATUS_VAR "(status)"

typedef struct top_csv {
    FILE *f;
    uint64_t rows; /* data rows written, header excluded */
    int err;       /* first write error (negative errno), 0 if none */
} top_csv;

/* Creates/truncates path and writes the header. Returns 0 or -errno. */
int top_csv_open(top_csv *c, const char *path);

/* Wraps an already open stream (tests use open_memstream) and writes the
 * header. Does not take ownership semantics away: top_csv_close closes it. */
int top_csv_attach(top_csv *c, FILE *f);

/* Appends one row. Errors are remembered in c->err; later rows are dropped
 * once an error happened (a full disk must not stall the dashboard). */
void top_csv_row(top_csv *c, const struct timespec *ts, const char *service, const char *var,
                 const char *value);

/* Flushes; returns c->err (0 when everything was written). */
int top_csv_flush(top_csv *c);

/* Flushes and closes; returns c->err or the close error. */
int top_csv_close(top_csv *c);

/* Writes s as one CSV cell: escaped as every text output is (esc.h: no
 * control character, CR and LF included, reaches the file raw); quoted,
 * with "" doubling, when it holds a comma or a quote or starts or ends
 * with a space (RFC 4180); and led by a single quote when a spreadsheet
 * would read it as a formula (top_csv_is_formula), as OWASP's CSV
 * injection advice has it. */
void top_csv_field(FILE *f, const char *s);

/* Whether s is a plain decimal number: an optional sign, digits with an
 * optional fraction (or a fraction alone), an optional exponent: "17",
 * "-3", "-1.5e+03", ".5". What top_fmt_raw writes for a number always is
 * one; "inf", "nan", "0x10" and anything with blanks are not. O(n). */
bool top_csv_is_number(const char *s);

/* Whether a spreadsheet could run s: its first character after leading
 * spaces is = + - or @ and s is not a plain number (a negative number
 * stays a number). O(n). */
bool top_csv_is_formula(const char *s);

/* Formats ts as "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) into buf (>= 25 bytes). */
char *top_csv_timestamp(const struct timespec *ts, char *buf, size_t len);

#endif

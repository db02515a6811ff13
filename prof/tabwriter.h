/* prof/tabwriter.h - Go's text/tabwriter, as runtime/pprof configures it
 * for its text profiles: tabwriter.NewWriter(w, 1, 8, 1, '\t', 0) in both
 * printCountProfile (goroutine, threadcreate: prof/countprof.c) and
 * writeHeapInternal (heap, allocs: prof/heapprof.c).
 *
 * Cells end at tabs; the text after a line's last tab belongs to no column.
 * Each run of consecutive lines that have a cell in column j aligns that
 * column to its widest cell (in runes, as Go counts them) plus one, rounded
 * up to a tab stop and padded with tabs, so the columns line up tab for tab
 * as Go's do:
 *
 *   #	0x4011a5	wait_here+0x35		/src/prog.c:40
 *   #	0x401233	worker_loop_with_a_long_name+0x13	/src/prog.c:52
 *
 * Only what those profiles print is handled: Go's escape character 0xff,
 * '\v' and '\f' have no special meaning here (profile text has none of
 * them: labels are %q-quoted, symbol names and paths are printed as they
 * are).
 */
#ifndef CDEBUG_PROF_TABWRITER_H
#define CDEBUG_PROF_TABWRITER_H

#include <stddef.h>
#include <stdio.h>

/* Writes text[0..len) to f through the tabwriter. text is a whole number
 * of lines ('\n'-terminated; bytes after the last '\n' are dropped), as the
 * profiles buffer it before flushing. Returns 0 or -ENOMEM; write errors
 * are f's (the caller checks ferror or fclose). Thread-safe (no shared
 * state); not async-signal-safe (malloc, stdio); O(len) time and memory
 * for the cell table, plus one pass per column block. */
int cd__tabwriter(FILE *f, const char *text, size_t len);

#endif /* CDEBUG_PROF_TABWRITER_H */

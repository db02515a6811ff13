/* prof/countprof.h - Go's "count profile" text (runtime/pprof's
 * printCountProfile, debug=1), shared by the goroutine and threadcreate
 * profiles:
 *
 *   goroutine profile: total 6
 *   3 @ 0x4011a6 0x401234 0x7f00bb2d
 *   # labels: {"task":"fetch"}
 *   #	0x4011a5	wait_here+0x35		/src/prog.c:40
 *   #	0x401233	worker+0x13		/src/prog.c:52
 *
 * Each stack first ends before its first pc in no code (base/symbolize.h,
 * cd__sym_cut: data a frame-pointer walk took for a return address).
 * Stacks with equal addresses and labels are one group; groups are sorted
 * by count (largest first), ties by their "@ ..." key as text. Lines go
 * through Go's text/tabwriter as printCountProfile configures it
 * (prof/tabwriter.h), so the columns line up tab for tab as Go's do.
 */
#ifndef CDEBUG_PROF_COUNTPROF_H
#define CDEBUG_PROF_COUNTPROF_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/symbolize.h"

/* One stack: return addresses, innermost first (a frame is shown as the
 * call, pc - 1, as Go's runtime.CallersFrames does), its labels in Go's
 * labelMap.String() form ({"k":"v", ...}) or NULL, and the unload epoch
 * it was taken in (base/dlhist.h; CD__DL_EPOCH_NOW: symbolize with the
 * mappings of now). */
typedef struct cd__countprof_stack {
    const uintptr_t *pcs;
    size_t n;
    const char *labels;
    uint32_t epoch;
} cd__countprof_stack;

/* Writes "NAME profile: total N" and the groups of stacks[0..n) to f,
 * symbolized in process (base/symbolize.h). Returns 0 or a negative errno
 * (-ENOMEM, -EIO). Thread-safe (no shared state); not async-signal-safe;
 * O(S log S) for S frames in all, plus symbolizing each group's frames. */
int cd__countprof_text(FILE *f, const char *name, const cd__countprof_stack *stacks, size_t n);

/* One frame of Go's printStackRecord: "#\tPC\tFUNC+0xOFF\tFILE:LINE\n",
 * pc being the call (return address - 1) and s its symbol. A pc its file
 * has no symbol for prints "#\tPC\tFILE+0xADDR" (base/symbolize.h: the
 * library and the pc's address in it, never "?"); one in no file prints
 * "#\tPC" alone, as Go prints a pc it cannot name. Shared by the count
 * profiles and heap?debug=1. Not async-signal-safe (stdio). */
void cd__countprof_frame(FILE *f, uintptr_t pc, const cd__sym *s);

/* Go's printStackRecord (allFrames true: cdebug has no runtime frames to
 * hide): cd__countprof_frame for each frame of pcs[0..n) (return
 * addresses, shown as the call: pc - 1), then an empty line. The count
 * profiles and the block and mutex profiles print their stacks with it;
 * epoch is the unload epoch the stack was taken in (base/dlhist.h;
 * CD__DL_EPOCH_NOW for a live stack). */
void cd__countprof_print_stack(FILE *f, cd__symctx *sym, const uintptr_t *pcs, size_t n,
                               uint32_t epoch);

/* Go's %q of s appended to f (quotes, backslash escapes, \xNN for bytes
 * outside printable ASCII). */
void cd__countprof_quote(FILE *f, const char *s);

#endif /* CDEBUG_PROF_COUNTPROF_H */

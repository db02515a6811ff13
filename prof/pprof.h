/* prof/pprof.h - builds a profile.proto message (github.com/google/pprof,
 * proto/profile.proto) and writes it gzipped, as `go tool pprof` reads it.
 *
 *     cd__pprof *p = cd__pprof_new();
 *     cd__pprof_sample_type(p, "samples", "count");
 *     cd__pprof_sample_type(p, "cpu", "nanoseconds");
 *     cd__pprof_period(p, "cpu", "nanoseconds", 10000000);
 *     int64_t v[2] = {1, 10000000};
 *     cd__pprof_sample(p, pcs, n, true, v, labels, nlabels);
 *     cd__pprof_write(p, fd);
 *     cd__pprof_free(p);
 *
 * Samples are collected as given and turned into the message at write time:
 * each stack ends before its first pc (the innermost one aside) in no
 * executable mapping, a word of data a frame-pointer walk took for a
 * return address (base/symbolize.h, cd__sym_cut); then
 * identical stacks with identical labels are merged (values summed), every
 * distinct address becomes a Location, symbolized in process
 * (base/symbolize.h) into a Function with name, file and line (no Line for
 * a pc its file has no symbol for: pprof shows the file), and the
 * executable mappings of /proc/self/maps become Mappings with their build
 * ids, so the profile needs no binary to be read. Addresses are each
 * file's own, not the process's (pprof.c says why: go tool pprof's source
 * views). Encoding is a small hand
 * encoder of the protobuf wire format, as Go's runtime/pprof does.
 *
 * Not thread-safe (one builder per thread); not async-signal-safe.
 * Memory: the samples as given (their pcs, values and label strings).
 */
#ifndef CDEBUG_PROF_PPROF_H
#define CDEBUG_PROF_PPROF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CD__PPROF_MAX_VALUES 4

typedef struct cd__pprof cd__pprof;

/* A pprof label: a string value (str != NULL) or a number with an
 * optional unit. */
typedef struct cd__pprof_label {
    const char *key;
    const char *str;
    int64_t num;
    const char *unit;
} cd__pprof_label;

/* NULL on out of memory. */
cd__pprof *cd__pprof_new(void);
void cd__pprof_free(cd__pprof *p);

/* Appends a sample type (at most CD__PPROF_MAX_VALUES); every sample then
 * carries one value per type, in order. 0 or -ENOMEM / -E2BIG. */
int cd__pprof_sample_type(cd__pprof *p, const char *type, const char *unit);

/* Profile.period_type and period; time_nanos and duration_nanos; the
 * default sample type (a type name given to cd__pprof_sample_type). The
 * strings are copied. 0 or -ENOMEM. */
int cd__pprof_period(cd__pprof *p, const char *type, const char *unit, int64_t period);
void cd__pprof_time(cd__pprof *p, int64_t time_ns, int64_t duration_ns);
int cd__pprof_default_type(cd__pprof *p, const char *type);
int cd__pprof_comment(cd__pprof *p, const char *text);

/* The symbol of pc in a stack that is not this process's (a trace's, read
 * back): true and *func (and *file, *line when known) for a known pc,
 * false for one without a symbol. The strings live until the profile is
 * encoded. */
typedef bool (*cd__pprof_lookup_fn)(void *ctx, uint64_t pc, const char **func, const char **file,
                                    int64_t *line);

/* Makes the profile one of recorded stacks, not of this process: every pc
 * is symbolized with fn (called at encode time, once per distinct pc, with
 * the pc as given, return address or not), nothing is cut,
 * and the message has no Mapping (a Location's address is the pc as
 * recorded). For `cdebug-trace pprof`. */
void cd__pprof_symbols(cd__pprof *p, cd__pprof_lookup_fn fn, void *ctx);

/* Adds a sample: pcs[0] is the innermost frame. `leaf_exact`: pcs[0] is the
 * interrupted instruction (a CPU sample); otherwise every pc is a return
 * address and is symbolized as pc - 1 (the call). values: one per sample
 * type. Labels are copied. 0 or -ENOMEM. O(n + labels). */
int cd__pprof_sample(cd__pprof *p, const uintptr_t *pcs, size_t n, bool leaf_exact,
                     const int64_t *values, const cd__pprof_label *labels, size_t nlabels);

/* cd__pprof_sample for a stack taken in `epoch` (base/dlhist.h's
 * cd__dl_epoch then): its pcs are symbolized in the libraries loaded then,
 * even if unloaded since. cd__pprof_sample is this with
 * CD__DL_EPOCH_NOW (the mappings of when the profile is written: for live
 * stacks). Same cost and errors. */
int cd__pprof_sample_at(cd__pprof *p, const uintptr_t *pcs, size_t n, bool leaf_exact,
                        uint32_t epoch, const int64_t *values, const cd__pprof_label *labels,
                        size_t nlabels);

/* Adds the samples of base to p with every value negated, so that equal
 * stacks cancel at encode time: p becomes p - base, as Go's delta profiles
 * (net/http/pprof's ?seconds=N). Samples whose values all become 0 are
 * left out of the message. Both must have the same sample types.
 * 0, -EINVAL (different types) or -ENOMEM. */
int cd__pprof_subtract(cd__pprof *p, const cd__pprof *base);

/* Encodes the profile, gzipped, into a malloc'ed buffer (*out, *len; the
 * caller frees it). 0 or a negative errno. Cost: O(S log S) for S frames in
 * all samples, plus symbolizing each distinct address once. */
int cd__pprof_encode(cd__pprof *p, uint8_t **out, size_t *len);

/* cd__pprof_encode, then writes everything to fd (retrying short writes and
 * EINTR). 0 or a negative errno. */
int cd__pprof_write(cd__pprof *p, int fd);

#endif /* CDEBUG_PROF_PPROF_H */

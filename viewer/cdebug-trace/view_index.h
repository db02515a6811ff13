/* viewer/cdebug-trace/view_index.h - the server-side index of `cdebug-trace
 * view`: every span of a trace, stored so that a viewport query costs the
 * same whatever the size of the trace.
 *
 * The browser never receives the trace. It asks for a time window at the
 * width of its canvas, and the index answers, per lane (a track at one
 * nesting depth), with
 *   - the spans that overlap the window and last at least one pixel's time
 *     (ns_per_px = ceil((end - start) / px)), drawn one by one, and
 *   - "busy" blocks: runs of narrower spans in consecutive pixel columns,
 *     merged into one block with their count.
 * Spans on one lane never overlap (the model nests them per track), so an
 * answer has at most px + 2 spans and px busy blocks per lane: it is
 * O(lanes x px) whatever the trace holds.
 *
 * Storage. One pass of the model (model.h) over the file appends fixed-size
 * records (64 bytes per span, 96 per task and per collection, 24 per heap
 * sample) to unlinked temporary files in $TMPDIR (default /tmp,
 * view_store.h); names go
 * to a string file, deduplicated through a bounded cache. When the pass
 * ends, the files are mapped and two arrays are built in two more
 * temporary files:
 *   - the lane array: per lane, its spans by start time (= by end time: no
 *     overlap), each entry {start, end, record number} (24 bytes), so that
 *     a query's searches read one contiguous run per lane;
 *   - the class array: per lane and duration class (class 0: zero length;
 *     class c >= 1: [2^(c-1), 2^c) ns), the record numbers (8 bytes) in the
 *     same order.
 * The task and collection summaries are sorted by id in bounded memory
 * (sorted runs of 8 MiB, merged). Disk: 96 bytes per span + 96 per task +
 * the distinct names (a trace of 10 million events, about 7 million spans:
 * about 0.9 GB). Memory, never proportional to the number of spans: the
 * model's (bounded, model.h), the tracks and lanes (~200 bytes per lane; at
 * most CDT_VIX_MAX_THREAD_TRACKS thread tracks, spans of later threads are
 * counted in `dropped`), a name cache of at most CDT_VIX_NAME_CACHE_BYTES,
 * the write and sort buffers; and the pages of the mappings a pass or a
 * query touched, which are dropped from the process whenever they pass 64
 * MiB (cdt_vix_pace() in view_index.c), so the resident set stays bounded
 * too.
 *
 * Query cost, per lane, with P = ns_per_px and n spans on the lane:
 *   wide spans:  per duration class that can hold spans >= P (at most 64),
 *                one binary search (O(log n)) then the spans of that class
 *                in the window; a class whose spans are >= P/2 has at most
 *                2 px + 2 in it, so the walk is O(px + 64 log n);
 *   busy blocks: one galloping search per non-empty pixel column or wide
 *                span: O(px log n).
 * So a query is O(lanes x px x log n): the log is the only trace-size term
 * (about 23 steps at 10 million spans), and the answer is O(lanes x px).
 * Heap counter queries (per pixel column: first and last sample, min/max
 * over the column through a 16-ary min/max pyramid): O(px x log n).
 *
 * User tasks are not one track each (a trace can hold millions): they share
 * the track "User tasks", each placed on the lowest free row while it runs
 * (rows = lanes); at most CDT_VIX_MAX_USER_ROWS at once, later ones are
 * counted in `dropped` and not drawn.
 *
 * Thread-safety: building is single-threaded; a finished index is
 * read-only and its queries may run on any number of threads at once.
 * Not async-signal-safe.
 */
#ifndef CDEBUG_VIEWER_VIEW_INDEX_H
#define CDEBUG_VIEWER_VIEW_INDEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CDT_VIX_MAX_PX            16384      /* widest query, pixels */
#define CDT_VIX_MAX_DEPTH         256        /* deeper spans are counted in dropped */
#define CDT_VIX_MAX_USER_ROWS     256        /* user tasks running at once, drawn */
#define CDT_VIX_MAX_THREAD_TRACKS 16384      /* threads drawn (the first ones met) */
#define CDT_VIX_NAME_MAX          1023       /* longer names are cut (bytes) */
#define CDT_VIX_NAME_CACHE_BYTES  (8u << 20) /* name dedup cache (text) */
/* Times (ns) are kept within [-CDT_VIX_TIME_LIMIT, CDT_VIX_TIME_LIMIT]
 * (73 years): a span's times are clamped into it when indexed and a query's
 * window must lie in it, so that no difference of two times overflows. */
#define CDT_VIX_TIME_LIMIT ((int64_t)1 << 61)

typedef struct cdt_vindex cdt_vindex;

/* Runs the trace at `path` once through the model and builds its index in
 * *out. Errors (unreadable trace, temporary file failure) are reported on
 * stderr as one line; a truncated trace is indexed up to its cut, with a
 * warning. Returns CDT_OK or CDT_FAIL. Not thread-safe (builds one index);
 * O(events) time, memory as in the header comment. */
int cdt_vindex_build(const char *path, cdt_vindex **out);

/* Frees the index and its temporary files (already unlinked). NULL: no-op.
 * No query may be running. */
void cdt_vindex_free(cdt_vindex *ix);

/* Number of spans indexed, and the trace's duration (ns, time of the last
 * event). Thread-safe; O(1). */
uint64_t cdt_vindex_spans(const cdt_vindex *ix);
int64_t cdt_vindex_duration(const cdt_vindex *ix);

/* JSON answers of the HTTP routes (docs/cdebug-trace-view.md), written to
 * f. Thread-safe on a finished index (read-only).
 *
 * meta:   the trace and its tracks (with their lanes); O(tracks).
 * slices: the window [start, end) at px pixels: wide spans and busy blocks
 *         per lane; start < end, both within CDT_VIX_TIME_LIMIT, and
 *         1 <= px <= CDT_VIX_MAX_PX, else -EINVAL and nothing written. Cost in the header comment.
 * slice:  details of the span `ref` (a number the slices answer gave):
 *         -ENOENT for an unknown ref. O(log tasks).
 * heap:   the heap counter over the window: per pixel column with samples,
 *         [t, min, max, last goal], plus the value entering the window.
 *         Same argument rules as slices. O(px log n).
 * Return 0 on success. A write error of f is the caller's to check. */
int cdt_vindex_meta_json(const cdt_vindex *ix, FILE *f);
int cdt_vindex_slices_json(const cdt_vindex *ix, int64_t start, int64_t end, unsigned px, FILE *f);
int cdt_vindex_slice_json(const cdt_vindex *ix, uint64_t ref, FILE *f);
int cdt_vindex_heap_json(const cdt_vindex *ix, int64_t start, int64_t end, unsigned px, FILE *f);

#endif /* CDEBUG_VIEWER_VIEW_INDEX_H */

/* viewer/cdebug-trace/view_store.h - the temporary-file store under the
 * span index of `cdebug-trace view` (view_index.h): append-only files with
 * a write buffer, later mapped, and sorted in bounded memory.
 *
 * Each file is unlinked at once (O_TMPFILE, or mkstemp + unlink) in $TMPDIR
 * (default /tmp), so nothing is left behind whatever way the process ends.
 * Memory: CDT_VF_BUF per file being written, plus the pages of a mapping
 * that were touched (cdt_vf_trim drops them). Not thread-safe on one file;
 * a mapped file may be read by any number of threads. Not
 * async-signal-safe.
 */
#ifndef CDEBUG_VIEWER_VIEW_STORE_H
#define CDEBUG_VIEWER_VIEW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CDT_VF_BUF (256u << 10) /* write buffer of a file being appended to */

typedef struct cdt_vfile {
    int fd;           /* -1: not open */
    uint64_t len;     /* bytes appended, buffered ones included */
    uint64_t flushed; /* bytes written to the file */
    unsigned char *buf;
    size_t blen;
    void *map; /* after cdt_vf_map/cdt_vf_alloc; NULL for an empty file */
    size_t maplen;
} cdt_vfile;

/* Where the temporary files go: $TMPDIR, else /tmp. */
const char *cdt_vf_tmp_dir(void);

/* Opens an unlinked temporary file in *f (whose old content is not
 * looked at). Returns 0 or a negative errno. */
int cdt_vf_open(cdt_vfile *f);

/* Writes the buffered bytes. Returns 0 or a negative errno. */
int cdt_vf_flush(cdt_vfile *f);

/* Appends n bytes (through the buffer: a system call per CDT_VF_BUF).
 * Returns 0 or a negative errno (-ENOSPC...). */
int cdt_vf_append(cdt_vfile *f, const void *p, size_t n);

/* Writes the buffer out, frees it, and maps the whole file (writable: for
 * in-place sorting). An empty file stays unmapped (map NULL). Returns 0 or
 * a negative errno. */
int cdt_vf_map(cdt_vfile *f, bool writable);

/* Sizes the file to len bytes and maps it writable (for the arrays built
 * after the pass). Space is reserved with posix_fallocate so that a full
 * disk is an error here, not a SIGBUS while filling the mapping. Returns 0
 * or a negative errno. */
int cdt_vf_alloc(cdt_vfile *f, uint64_t len);

/* Drops f's mapped pages from the process (they stay in the page cache,
 * and in the file); a later access maps them in again. Harmless while
 * other threads read the mapping: MAP_SHARED file pages are not lost.
 * One madvise call. */
void cdt_vf_trim(const cdt_vfile *f);

/* Unmaps and closes f (its storage goes with it: it is unlinked); f is
 * left closed (fd -1). */
void cdt_vf_close(cdt_vfile *f);

/* Sorts the records of `size` bytes (<= 128) of the unmapped file *f by
 * their first uint64 (native byte order); on success *f is replaced by the
 * sorted copy. Sorted runs of 8 MiB, merged through read buffers sharing
 * 8 MiB: sequential I/O, about 16 MiB + CDT_VF_BUF of memory whatever the
 * file's size. Returns 0 or a negative errno. O(n log n). */
int cdt_vf_sort(cdt_vfile *f, size_t size);

#endif /* CDEBUG_VIEWER_VIEW_STORE_H */

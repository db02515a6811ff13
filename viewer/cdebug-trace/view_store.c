/* viewer/cdebug-trace/view_store.c - the temporary-file store of the view
 * index; see view_store.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "view_store.h"

/* Where the temporary files go: $TMPDIR, else /tmp. */
const char *cdt_vf_tmp_dir(void)
{
    const char *d = getenv("TMPDIR");
    return d != NULL && d[0] != '\0' ? d : "/tmp";
}

/* Opens an unlinked temporary file. Returns 0 or a negative errno. */
int cdt_vf_open(cdt_vfile *f)
{
    memset(f, 0, sizeof(*f));
    const char *dir = cdt_vf_tmp_dir();
    f->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (f->fd < 0) {
        /* O_TMPFILE is missing on some file systems (and old kernels). */
        char path[4096];
        snprintf(path, sizeof(path), "%s/cdebug-trace-view-XXXXXX", dir);
        f->fd = mkostemp(path, O_CLOEXEC);
        if (f->fd < 0) {
            f->fd = -1;
            return -errno;
        }
        unlink(path);
    }
    return 0;
}

/* Writes the buffered bytes. Returns 0 or a negative errno. */
int cdt_vf_flush(cdt_vfile *f)
{
    size_t done = 0;
    while (done < f->blen) {
        ssize_t w = pwrite(f->fd, f->buf + done, f->blen - done, (off_t)(f->flushed + done));
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        done += (size_t)w;
    }
    f->flushed += f->blen;
    f->blen = 0;
    return 0;
}

/* Appends n bytes. Returns 0 or a negative errno (ENOSPC...). */
int cdt_vf_append(cdt_vfile *f, const void *p, size_t n)
{
    if (f->buf == NULL && (f->buf = malloc(CDT_VF_BUF)) == NULL)
        return -ENOMEM;
    const unsigned char *s = p;
    while (n > 0) {
        size_t k = CDT_VF_BUF - f->blen;
        if (k > n)
            k = n;
        memcpy(f->buf + f->blen, s, k);
        f->blen += k;
        f->len += k;
        s += k;
        n -= k;
        if (f->blen == CDT_VF_BUF) {
            int rc = cdt_vf_flush(f);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}

/* Writes the buffer out and maps the whole file (writable: for in-place
 * sorting). Returns 0 or a negative errno. */
int cdt_vf_map(cdt_vfile *f, bool writable)
{
    if (f->blen > 0) {
        int rc = cdt_vf_flush(f);
        if (rc != 0)
            return rc;
    }
    free(f->buf);
    f->buf = NULL;
    if (f->len == 0)
        return 0;
    if (f->len > SIZE_MAX)
        return -EFBIG;
    void *m =
        mmap(NULL, (size_t)f->len, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, f->fd, 0);
    if (m == MAP_FAILED)
        return -errno;
    f->map = m;
    f->maplen = (size_t)f->len;
    return 0;
}

/* Sizes the file to len bytes and maps it writable (for the arrays built
 * after the pass). Space is reserved with posix_fallocate so that a full
 * disk is an error here, not a SIGBUS while filling the mapping. */
int cdt_vf_alloc(cdt_vfile *f, uint64_t len)
{
    f->len = len;
    if (len == 0)
        return 0;
    if (len > SIZE_MAX || len > (uint64_t)INT64_MAX)
        return -EFBIG;
    int rc = posix_fallocate(f->fd, 0, (off_t)len);
    if (rc == EOPNOTSUPP || rc == EINVAL) /* e.g. tmpfs without fallocate */
        rc = ftruncate(f->fd, (off_t)len) == 0 ? 0 : errno;
    if (rc != 0)
        return -rc;
    void *m = mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
    if (m == MAP_FAILED)
        return -errno;
    f->map = m;
    f->maplen = (size_t)len;
    return 0;
}

/* Drops f's mapped pages from the process (they stay in the page cache,
 * and in the file); a later access maps them in again. Harmless while
 * other threads read the mapping: MAP_SHARED file pages are not lost. */
void cdt_vf_trim(const cdt_vfile *f)
{
    if (f->map != NULL)
        madvise(f->map, f->maplen, MADV_DONTNEED);
}

/* Unmaps and closes f (its storage goes with it: it is unlinked). */
void cdt_vf_close(cdt_vfile *f)
{
    if (f->map != NULL)
        munmap(f->map, f->maplen);
    if (f->fd >= 0)
        close(f->fd);
    free(f->buf);
    memset(f, 0, sizeof(*f));
    f->fd = -1;
}

/* ---- sorting a file of records in bounded memory ------------------------
 *
 * The task and collection summaries are sorted by id for the details
 * panel's binary search. An in-place sort of their mapping would touch
 * pages all over it (3 million tasks: 288 MB resident); instead, runs of
 * SORT_RUN bytes are read, sorted in memory and written back, then merged
 * into a new file through per-run read buffers sharing SORT_MERGE bytes:
 * sequential I/O, SORT_RUN + SORT_MERGE + CDT_VF_BUF of memory whatever n. */

#define SORT_RUN   (8u << 20)
#define SORT_MERGE (8u << 20)

/* The uint64 key at the start of a record. */
static uint64_t key_at(const unsigned char *p)
{
    uint64_t k;
    memcpy(&k, p, sizeof k);
    return k;
}

static int cmp_key(const void *a, const void *b)
{
    uint64_t x = key_at(a), y = key_at(b);
    return x < y ? -1 : x > y;
}

/* pread/pwrite of exactly n bytes at off. Return 0 or a negative errno. */
static int rw_full(int fd, void *buf, size_t n, uint64_t off, bool write_it)
{
    unsigned char *p = buf;
    while (n > 0) {
        ssize_t k = write_it ? pwrite(fd, p, n, (off_t)off) : pread(fd, p, n, (off_t)off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return k < 0 ? -errno : -EIO;
        p += k, off += (uint64_t)k, n -= (size_t)k;
    }
    return 0;
}

/* One run of the merge: its next records, buffered. */
typedef struct sort_run {
    uint64_t off, end; /* file range not yet buffered */
    unsigned char *buf;
    size_t pos, len; /* buffered bytes [pos, len) */
} sort_run;

/* Refills run r's buffer (cap bytes). Returns 0 or a negative errno. */
static int run_fill(int fd, sort_run *r, size_t cap)
{
    size_t n = r->end - r->off < cap ? (size_t)(r->end - r->off) : cap;
    int rc = rw_full(fd, r->buf, n, r->off, false);
    r->off += n;
    r->pos = 0;
    r->len = n;
    return rc;
}

/* Sorts the records of `size` bytes (<= 128) of the unmapped file *f by
 * their first uint64; on success *f is replaced by the sorted copy.
 * Returns 0 or a negative errno. O(n log n) time, memory as above. */
int cdt_vf_sort(cdt_vfile *f, size_t size)
{
    int rc;
    if (f->blen > 0 && (rc = cdt_vf_flush(f)) != 0)
        return rc;
    uint64_t n = f->len / size;
    if (n < 2)
        return 0;
    size_t per_run = SORT_RUN / size;
    uint64_t nruns = (n + per_run - 1) / per_run;
    unsigned char *chunk = malloc(per_run * size);
    if (chunk == NULL)
        return -ENOMEM;
    rc = 0;
    for (uint64_t r = 0; rc == 0 && r < nruns; r++) { /* sorted runs, in place */
        uint64_t first = r * per_run, cnt = n - first < per_run ? n - first : per_run;
        rc = rw_full(f->fd, chunk, cnt * size, first * size, false);
        if (rc == 0) {
            qsort(chunk, cnt, size, cmp_key);
            rc = rw_full(f->fd, chunk, cnt * size, first * size, true);
        }
    }
    free(chunk);
    if (rc != 0)
        return rc;
    if (nruns == 1)
        return 0;
    /* k-way merge into a new file: the least head by a linear scan of the
     * runs (a few dozen for millions of records) */
    size_t cap = SORT_MERGE / nruns / size * size;
    if (cap < size * 16)
        cap = size * 16;
    sort_run *runs = calloc(nruns, sizeof *runs);
    unsigned char *bufs = malloc(nruns * cap);
    cdt_vfile out;
    if (runs == NULL || bufs == NULL) {
        free(runs);
        free(bufs);
        return -ENOMEM;
    }
    rc = cdt_vf_open(&out);
    for (uint64_t r = 0; rc == 0 && r < nruns; r++) {
        runs[r].off = r * per_run * size;
        runs[r].end = r + 1 == nruns ? n * size : (r + 1) * per_run * size;
        runs[r].buf = bufs + r * cap;
        rc = run_fill(f->fd, &runs[r], cap);
    }
    for (uint64_t i = 0; rc == 0 && i < n; i++) {
        uint64_t best = nruns;
        for (uint64_t r = 0; r < nruns; r++)
            if (runs[r].pos < runs[r].len &&
                (best == nruns ||
                 key_at(runs[r].buf + runs[r].pos) < key_at(runs[best].buf + runs[best].pos)))
                best = r;
        sort_run *b = &runs[best];
        rc = cdt_vf_append(&out, b->buf + b->pos, size);
        b->pos += size;
        if (rc == 0 && b->pos == b->len && b->off < b->end)
            rc = run_fill(f->fd, b, cap);
    }
    free(runs);
    free(bufs);
    if (rc == 0)
        rc = cdt_vf_flush(&out);
    if (rc != 0) {
        cdt_vf_close(&out);
        return rc;
    }
    cdt_vf_close(f);
    *f = out;
    return 0;
}

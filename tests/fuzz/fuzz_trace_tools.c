/* tests/fuzz/fuzz_trace_tools.c - libFuzzer target for cdebug-trace above
 * the reader: the model, the statistics and lints, both report formats,
 * export (chrome and go), dump, diff and the view's span index with its queries.
 *
 * The input goes to a memfd and every layer opens it by its /proc/self/fd
 * path, as the subcommands open a file; standard output goes to /dev/null.
 * The model and statistics do arithmetic on the file's times and ids, so
 * this is where a hostile timestamp shows up as a UBSan report (the target
 * is built with -fno-sanitize-recover) and a hostile id as an allocation
 * sized by it (-rss_limit_mb in tests/fuzz/run.sh).
 *
 * Built by tests/fuzz/run.sh with the sources of viewer/cdebug-trace/
 * (not main.c, not view.c: the HTTP server) and of the reader; with
 * tests/fuzz/replay.c when libFuzzer is missing.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "viewer/cdebug-trace/cdt.h"
#include "viewer/cdebug-trace/stats.h"
#include "viewer/cdebug-trace/view_index.h"

const char *cdt_prog = "cdebug-trace";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The statistics, lints and both reports of the trace at path. */
static void stats(const char *path, FILE *null)
{
    cdt_stats *s;
    if (cdt_stats_compute(path, &s) != CDT_OK)
        return;
    cdt_stats_report(null, s, path, CDT_REPORT_TEXT);
    cdt_stats_report(null, s, path, CDT_REPORT_JSON);
    if (s->ntasks > 0 && cdt_stats_task(s, s->tasks[0].name) != &s->tasks[0])
        abort();
    cdt_stats_free(s);
}

/* The view's index and one answer of each kind over the whole trace. */
static void view_index(const char *path, FILE *null)
{
    cdt_vindex *ix;
    if (cdt_vindex_build(path, &ix) != CDT_OK)
        return;
    int64_t end = cdt_vindex_duration(ix);
    if (end < 0 || end > CDT_MAX_TIME_NS)
        abort(); /* the model keeps times in [0, CDT_MAX_TIME_NS] */
    cdt_vindex_meta_json(ix, null);
    if (cdt_vindex_slices_json(ix, 0, end + 1, 97, null) != 0 ||
        cdt_vindex_heap_json(ix, 0, end + 1, 97, null) != 0)
        abort();
    for (uint64_t ref = 0; ref < cdt_vindex_spans(ix) && ref < 8; ref++)
        if (cdt_vindex_slice_json(ix, ref, null) != 0)
            abort();
    cdt_vindex_free(ix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static FILE *null;
    if (null == NULL) {
        null = fopen("/dev/null", "w");
        if (null == NULL || freopen("/dev/null", "w", stdout) == NULL)
            abort();
    }
    int fd = memfd_create("fuzz-trace", MFD_CLOEXEC);
    if (fd < 0)
        abort();
    for (size_t off = 0; off < size;) {
        ssize_t n = write(fd, data + off, size - off);
        if (n <= 0)
            abort();
        off += (size_t)n;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    stats(path, null);
    view_index(path, null);
    char *exp[] = {"export", "-o", "/dev/null", path, NULL};
    cdt_cmd_export(4, exp);
    char *exp_go[] = {"export", "--format=go", "-o", "/dev/null", path, NULL};
    cdt_cmd_export(5, exp_go);
    char *dump[] = {"dump", "--stacks", path, NULL};
    cdt_cmd_dump(3, dump);
    char *diff[] = {"diff", "--json", "--fail-if", "pause_max(gc) > 1ms", path, path, NULL};
    cdt_cmd_diff(6, diff);
    close(fd);
    return 0;
}

/* viewer/cdebug-trace/dump.c - `cdebug-trace dump [--stacks] FILE`: every
 * event, one per line, in time order:
 *
 *   # cdebug trace v1: 1000000000 ticks/s, started 2024-05-01T10:00:00.000000000Z
 *   0.012345ms M3 TASK_CREATE task=5 parent=1 name="fetch" stack=7
 *   ...
 *   # 1234 events, 0 lost events in 0 batches, 56 records, 7890 bytes, complete
 *
 * Time is since the trace start; M<n> is the thread (schedtrace's M). Each
 * argument is name=value; strings are resolved and quoted, stacks printed as
 * ids, or with --stacks followed by their frames, one per line, indented:
 *   "    #0 0x401136 main worker.c:42".
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cdt.h"

static void dump_usage(FILE *f)
{
    fprintf(f,
            "usage: %s dump [--stacks] [--skip-corrupt] FILE\n"
            "  Prints every event of the trace FILE ('-': standard input), one per line.\n"
            "  --stacks        print the frames of each stack after its event\n"
            "  --skip-corrupt  skip records with a bad checksum instead of stopping\n",
            cdt_prog);
}

static void put_stack(FILE *out, cd_trace_reader *r, uint64_t id)
{
    const uint64_t *pcs;
    size_t n;
    if (cd_trace_reader_stack(r, id, &pcs, &n) < 0) {
        fprintf(out, "    (stack %" PRIu64 " is not defined in the trace)\n", id);
        return;
    }
    for (size_t i = 0; i < n; i++) {
        const char *func, *file;
        uint64_t line;
        fprintf(out, "    #%zu 0x%" PRIx64, i, pcs[i]);
        if (cd_trace_reader_symbol(r, pcs[i], &func, &file, &line) == 0)
            fprintf(out, " %s %s:%" PRIu64 "\n", func, file, line);
        else
            fputs(" ?\n", out);
    }
}

static void put_event(FILE *out, cd_trace_reader *r, const cd_tr_event *ev, int64_t ns, bool stacks)
{
    char t[32];
    fprintf(out, "%s M%" PRIu64 " %s", cdt_fmt_ms(t, ns), ev->thread, cd_tr_event_name(ev->type));
    for (unsigned i = 0; i < ev->nargs; i++) {
        fprintf(out, " %s=", cd_tr_event_arg_name(ev->type, i));
        if (ev->str[i] != NULL)
            cdt_put_quoted(out, ev->str[i], ev->str_len[i]);
        else
            fprintf(out, "%" PRIu64, ev->args[i]);
    }
    putc('\n', out);
    if (!stacks)
        return;
    for (unsigned i = 0; i < ev->nargs; i++)
        if (cd_tr_event_arg_kind(ev->type, i) == CD_TR_ARG_STACK && ev->args[i] != 0)
            put_stack(out, r, ev->args[i]);
}

static void put_header(FILE *out, const cd_tr_header *h)
{
    char wall[48];
    fprintf(out, "# cdebug trace v%u: %" PRIu64 " ticks/s, started %s", h->version, h->tick_hz,
            cdt_fmt_wall(wall, h->start_wall_ns));
    if (h->flags & CD_TR_FLAG_FLIGHT)
        fputs(", flight-recorder window", out);
    if (h->flags & ~CD_TR_FLAG_FLIGHT)
        fprintf(out, ", flags 0x%" PRIx32, h->flags);
    putc('\n', out);
}

static void put_summary(FILE *out, const cd_tr_stats *s, int rc)
{
    fprintf(out,
            "# %" PRIu64 " events, %" PRIu64 " lost events in %" PRIu64 " batches, %" PRIu64
            " records, %" PRIu64 " bytes",
            s->events, s->lost_events, s->lost_batches, s->records, s->bytes);
    if (s->skipped)
        fprintf(out, ", %" PRIu64 " unknown records skipped", s->skipped);
    if (s->corrupt)
        fprintf(out, ", %" PRIu64 " corrupt records skipped", s->corrupt);
    if (s->bad_refs)
        fprintf(out, ", %" PRIu64 " undefined string/stack ids", s->bad_refs);
    if (s->out_of_order)
        fprintf(out, ", %" PRIu64 " events out of order", s->out_of_order);
    if (rc == 0)
        fputs(", complete\n", out);
    else if (rc == -ENODATA)
        fputs(", truncated\n", out);
    else
        fputs(", stopped by an error\n", out);
}

int cdt_cmd_dump(int argc, char **argv)
{
    bool stacks = false;
    cd_tr_opts opts = {0};
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--stacks") == 0) {
            stacks = true;
        } else if (strcmp(a, "--skip-corrupt") == 0) {
            opts.flags |= CD_TR_SKIP_CORRUPT;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            dump_usage(stdout);
            return CDT_OK;
        } else if (strcmp(a, "--") == 0 && i + 2 == argc && path == NULL) {
            path = argv[++i];
        } else if (a[0] == '-' && a[1] != '\0') {
            cdt_error("dump: unknown flag %s", a);
            dump_usage(stderr);
            return CDT_USAGE;
        } else if (path == NULL) {
            path = a;
        } else {
            cdt_error("dump: one FILE only");
            dump_usage(stderr);
            return CDT_USAGE;
        }
    }
    if (path == NULL) {
        cdt_error("dump: missing FILE");
        dump_usage(stderr);
        return CDT_USAGE;
    }

    cd_trace_reader *r;
    if (cdt_open(path, &opts, &r) != 0)
        return CDT_FAIL;
    static char obuf[1 << 16];
    setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
    put_header(stdout, cd_trace_reader_header(r));
    cd_tr_event ev;
    int64_t ns = 0;
    int rc;
    bool bad_time = false;
    while ((rc = cd_trace_reader_next(r, &ev)) == 1) {
        /* Times print as they are in the file (also before the trace start
         * or going back), but a time no trace can have ends the dump. */
        if (!cdt_event_ns(r, &ev, &ns)) {
            bad_time = true;
            rc = -ERANGE;
            break;
        }
        put_event(stdout, r, &ev, ns, stacks);
    }
    cd_tr_stats st;
    cd_trace_reader_stats(r, &st);
    put_summary(stdout, &st, rc);
    int code = CDT_FAIL;
    if (bad_time)
        cdt_time_error(path, r, &ev);
    else
        code = cdt_finish(path, r, rc);
    cd_trace_reader_close(r);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cdt_error("dump: writing the output: %s", strerror(errno));
        return CDT_FAIL;
    }
    return code;
}

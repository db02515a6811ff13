/* viewer/cdebug-trace/main.c - `cdebug-trace COMMAND [ARGS]`: the table of
 * subcommands and the dispatch. A new subcommand is one source file with a
 * cdt_cmd_NAME(argc, argv) function and one line in `cmds` below.
 */
#include <stdio.h>
#include <string.h>

#include "cdt.h"

const char *cdt_prog = "cdebug-trace";

static const cdt_cmd cmds[] = {
    {"dump", "[--stacks] [--skip-corrupt] FILE", "print every event, one per line, in time order",
     cdt_cmd_dump},
    {"stats", "[--json] FILE", "summary tables (workers, tasks, regions, GC, MMU) and lints",
     cdt_cmd_stats},
    {"diff", "[--json] [--fail-if EXPR]... BEFORE AFTER",
     "compare two traces per task, region and GC; --fail-if for CI (exit 3)", cdt_cmd_diff},
    {"export", "[--format=chrome|go] [-o FILE] TRACE",
     "write Chrome Trace Event JSON (Perfetto UI) or a Go trace (go tool trace)", cdt_cmd_export},
    {"view", "[--http=ADDR] [--no-browser-hint] TRACE",
     "serve a web timeline, stats and lints on http://127.0.0.1:PORT/", cdt_cmd_view},
    {"pprof", "--type=block|sync|net|syscall|sched TRACE > OUT.pb.gz",
     "the blocking and scheduler-latency profiles go tool trace -pprof= makes, for go tool pprof",
     cdt_cmd_pprof},
};

void cdt_usage(FILE *f)
{
    fprintf(f, "usage: %s COMMAND [ARGS]\n\ncommands:\n", cdt_prog);
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        fprintf(f, "  %s %s\n      %s\n", cmds[i].name, cmds[i].args, cmds[i].summary);
    fprintf(f, "  help\n      print this text\n\n"
               "Exit status: 0 success (also for a truncated trace, with a warning),\n"
               "1 unreadable input (missing, empty, not a trace, corrupted), 2 bad usage.\n"
               "See docs/trace-reader.md.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        cdt_usage(stderr);
        return CDT_USAGE;
    }
    const char *name = argv[1];
    if (strcmp(name, "help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "--help") == 0) {
        cdt_usage(stdout);
        return CDT_OK;
    }
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        if (strcmp(name, cmds[i].name) == 0)
            return cmds[i].run(argc - 1, argv + 1);
    cdt_error("unknown command \"%s\"", name);
    cdt_usage(stderr);
    return CDT_USAGE;
}

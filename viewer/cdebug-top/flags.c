/* flags.c - Go flag-package grammar for cdebug-top (see flags.h). */
#include "flags.h"

#include <errno.h>
#include <string.h>

#include "duration.h"
#include "esc.h"

typedef enum { FLAG_STRING, FLAG_DURATION, FLAG_BOOL } flag_type;

struct flag_def {
    const char *name;
    flag_type type;
    const char *usage;
    const char *defval; /* shown as (default ...) when non-empty */
};

/* Sorted by name, as flag.PrintDefaults lists them. */
static const struct flag_def flags[] = {
    {"csv", FLAG_STRING, "Record every sample to this CSV file (timestamp,service,var,value)", ""},
    {"dummy", FLAG_BOOL, "Use dummy (console) output", ""},
    {"endpoint", FLAG_STRING, "URL endpoint for expvars", TOP_DEFAULT_ENDPOINT},
    {"i", FLAG_DURATION, "Polling interval", "5s"},
    {"ports", FLAG_STRING,
     "Ports/URLs for accessing services expvars (start-end,port2,port3,host:port,https://host:port)",
     ""},
    {"self", FLAG_BOOL, "Monitor itself (expvarmon compatibility; not supported, ignored)", ""},
    {"vars", FLAG_STRING, "Vars to monitor (comma-separated)", TOP_DEFAULT_VARS},
};

static const struct flag_def *find_flag(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
        if (strlen(flags[i].name) == len && memcmp(flags[i].name, name, len) == 0)
            return &flags[i];
    return NULL;
}

void top_flags_usage(FILE *f, const char *prog_raw)
{
    char prog[TOP_ESC_LINE_MAX];
    top_esc(prog_raw, prog, sizeof(prog)); /* argv[0] is text like any other */
    fprintf(f, "Usage of %s:\n", prog);
    for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
        const struct flag_def *d = &flags[i];
        const char *type = d->type == FLAG_STRING ? " string" : d->type == FLAG_DURATION ? " duration" : "";
        fprintf(f, "  -%s%s\n    \t%s", d->name, type, d->usage);
        if (d->defval[0] != '\0')
            fprintf(f, d->type == FLAG_STRING ? " (default \"%s\")" : " (default %s)", d->defval);
        fputc('\n', f);
    }
    fprintf(f,
            "\nVars: a dotted path into the JSON document (memstats.Alloc; \\. is a literal dot,\n"
            "\\, a literal comma), optionally prefixed by a kind: mem: (bytes as KB/MB/GB),\n"
            "duration: (nanoseconds as Go durations), str: (shown as text).\n"
            "\nExamples:\n"
            "\t%s -ports=\"6060\"\n"
            "\t%s -ports=\"23000-23010,http://example.com:80-81\" -i=1m\n"
            "\t%s -ports=\"80,remoteapp:80\" -vars=\"mem:memstats.Alloc,duration:Response.Mean,Counter\"\n"
            "\t%s -ports=6060 -dummy -csv run.csv\n"
            "\nKeys: q quits. Docs: docs/cdebug-top.md\n",
            prog, prog, prog, prog);
}

/* Go's strconv.ParseBool. */
static int parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "t", "T", "true", "TRUE", "True"};
    static const char *const no[] = {"0", "f", "F", "false", "FALSE", "False"};
    for (size_t i = 0; i < 6; i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -EINVAL;
}

static int set_flag(top_opts *o, const struct flag_def *d, const char *val, FILE *errf)
{
    if (d->type == FLAG_BOOL) {
        bool b;
        if (parse_bool(val, &b) < 0) {
            top_esc_line(errf, "invalid boolean value \"%s\" for -%s: parse error", val, d->name);
            return -EINVAL;
        }
        if (strcmp(d->name, "dummy") == 0)
            o->dummy = b;
        else
            o->self = b;
        return 0;
    }
    if (d->type == FLAG_DURATION) {
        int64_t ns;
        int rc = top_duration_parse(val, &ns);
        if (rc < 0) {
            top_esc_line(errf, "invalid value \"%s\" for flag -%s: %s", val, d->name,
                         rc == -ERANGE ? "value out of range" : "parse error");
            return -EINVAL;
        }
        o->interval_ns = ns;
        return 0;
    }
    if (strcmp(d->name, "ports") == 0)
        o->ports = val;
    else if (strcmp(d->name, "vars") == 0)
        o->vars = val;
    else if (strcmp(d->name, "endpoint") == 0)
        o->endpoint = val;
    else
        o->csv = val[0] != '\0' ? val : NULL;
    return 0;
}

int top_flags_parse(int argc, char **argv, top_opts *o, FILE *errf)
{
    const char *prog = argc > 0 && argv[0] != NULL ? argv[0] : "cdebug-top";
    int i = 1;

    *o = (top_opts){
        .ports = "",
        .interval_ns = TOP_DEFAULT_INTERVAL,
        .vars = TOP_DEFAULT_VARS,
        .endpoint = TOP_DEFAULT_ENDPOINT,
    };

    while (i < argc) {
        const char *arg = argv[i];
        /* Like Go: "-" alone and anything without a dash end the flags. */
        if (arg[0] != '-' || arg[1] == '\0')
            break;
        i++;
        const char *name = arg + 1;
        if (name[0] == '-') {
            name++;
            if (name[0] == '\0')
                break; /* "--" terminates the flags */
        }
        if (name[0] == '-' || name[0] == '=') {
            top_esc_line(errf, "bad flag syntax: %s", arg);
            goto usage;
        }

        const char *eq = strchr(name, '=');
        size_t len = eq != NULL ? (size_t)(eq - name) : strlen(name);
        if ((len == 1 && name[0] == 'h') || (len == 4 && memcmp(name, "help", 4) == 0)) {
            top_flags_usage(errf, prog);
            return TOP_FLAGS_HELP;
        }
        const struct flag_def *d = find_flag(name, len);
        if (d == NULL) {
            top_esc_line(errf, "flag provided but not defined: -%.*s", (int)len, name);
            goto usage;
        }

        const char *val;
        if (eq != NULL) {
            val = eq + 1;
        } else if (d->type == FLAG_BOOL) {
            val = "true"; /* a bool never takes the next argument */
        } else if (i < argc) {
            val = argv[i++];
        } else {
            fprintf(errf, "flag needs an argument: -%s\n", d->name);
            goto usage;
        }
        if (set_flag(o, d, val, errf) < 0)
            goto usage;
    }

    if (i < argc) {
        /* Go would silently ignore these; a dashboard given "6060 6061"
         * without -ports would then monitor nothing useful. */
        top_esc_line(errf,
                     "unexpected argument \"%s\" (flags go before arguments; cdebug-top takes none)",
                     argv[i]);
        goto usage;
    }
    if (o->interval_ns <= 0) {
        fprintf(errf, "update interval is not valid. Valid examples: 5s, 1m, 1h30m\n");
        goto usage;
    }
    return 0;

usage:
    top_flags_usage(errf, prog);
    return -EINVAL;
}

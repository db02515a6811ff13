/* opts.c - cdebug-run's command line (see opts.h). */
#include "opts.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "esc.h"
#include "runtime/env.h"

const char *const run_set_names[RUN_SET_N] = {"http", "cpuprofile", "memprofile", "trace"};

void run_usage(FILE *f)
{
    fputs("Usage: cdebug-run [OPTIONS] [--] PROGRAM [ARGS...]\n"
          "\n"
          "Runs PROGRAM with libcdebug preloaded (LD_PRELOAD) and its settings in CDEBUG\n"
          "and CDTRACEBACK; a dynamically linked program needs no rebuild.\n"
          "\n"
          "Options:\n"
          "  --http=ADDR         serve /debug/pprof/, /debug/vars and /metrics on ADDR\n"
          "                      (host:port, e.g. 127.0.0.1:6060; port 0: any free port)\n"
          "  --cpuprofile=FILE   write a CPU profile to FILE at exit\n"
          "  --memprofile=FILE   write the allocs profile to FILE at exit\n"
          "  --trace=FILE        trace the whole run into FILE\n"
          "  --traceback=LEVEL   crash report detail: none, single, all, system or crash\n"
          "  --lib=PATH          the libcdebug.so to preload (default: $CDEBUG_RUN_LIB,\n"
          "                      else the library installed beside this program)\n"
          "  -h, --help          this text\n"
          "\n"
          "The options win over the same settings in an existing CDEBUG; its other\n"
          "settings are kept, and LD_PRELOAD's entries follow libcdebug.\n"
          "Exit status: PROGRAM's; 2 for a bad option or a program the loader will\n"
          "not preload into (statically linked, set-user-ID); 126 cannot execute;\n"
          "127 not found. Docs: docs/cdebug-run.md\n",
          f);
}

/* The "(want ...)" part of a library warning line, with its parentheses
 * balanced; the whole line when it has none. */
static void want_part(const char *line, const char **p, size_t *n)
{
    const char *w = strstr(line, "(want ");
    if (w == NULL) {
        *p = line;
        *n = strlen(line);
        return;
    }
    int depth = 0;
    const char *q = w;
    for (; *q != '\0'; q++) {
        if (*q == '(')
            depth++;
        else if (*q == ')' && --depth == 0)
            break;
    }
    *p = w;
    *n = (size_t)(q - w) + (*q != '\0');
}

typedef struct warned {
    char line[512];
    bool any;
} warned;

static void keep_warning(const char *line, void *ctx)
{
    warned *w = ctx;
    if (!w->any)
        snprintf(w->line, sizeof w->line, "%s", line);
    w->any = true;
}

/* Checks the value of --name with the library's parser. 0, or -EINVAL
 * with the line written. */
static int check_value(const char *name, const char *v, bool is_traceback, FILE *errf)
{
    if (v[0] == '\0') {
        top_esc_line(errf, "cdebug-run: --%s: empty value", name);
        return -EINVAL;
    }
    if (!is_traceback && strchr(v, ',') != NULL) {
        top_esc_line(errf,
                     "cdebug-run: --%s: \"%s\" contains a comma, which CDEBUG cannot carry "
                     "(commas separate its settings): choose a name without one",
                     name, v);
        return -EINVAL;
    }
    cd__config c;
    warned w = {.any = false};
    cd__config_defaults(&c);
    if (is_traceback) {
        (void)cd__env_parse_traceback(&c, v, keep_warning, &w);
    } else {
        char item[CD__PATH_MAX + 32];
        int len = snprintf(item, sizeof item, "%s=%s", name, v);
        if (len < 0 || (size_t)len >= sizeof item) {
            top_esc_line(errf, "cdebug-run: --%s: value too long (at most %d bytes)", name,
                         CD__PATH_MAX - 1);
            return -EINVAL;
        }
        (void)cd__env_parse_cdebug(&c, item, keep_warning, &w);
    }
    if (!w.any)
        return 0;
    const char *want;
    size_t n;
    want_part(w.line, &want, &n);
    top_esc_line(errf, "cdebug-run: --%s: bad value \"%s\" %.*s", name, v, (int)n, want);
    return -EINVAL;
}

static int usage_error(FILE *errf)
{
    run_usage(errf);
    return -EINVAL;
}

int run_opts_parse(int argc, char **argv, run_opts *o, FILE *errf)
{
    memset(o, 0, sizeof *o);
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == '\0')
            break; /* PROGRAM ("-" alone is a file name, as for a shell) */
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return RUN_OPTS_HELP;
        if (a[1] != '-') {
            top_esc_line(errf, "cdebug-run: unknown option \"%s\"", a);
            return usage_error(errf);
        }
        const char *name = a + 2;
        const char *eq = strchr(name, '=');
        size_t nlen = eq != NULL ? (size_t)(eq - name) : strlen(name);
        const char **slot = NULL;
        bool is_traceback = false;
        for (int s = 0; s < RUN_SET_N; s++)
            if (strlen(run_set_names[s]) == nlen && memcmp(run_set_names[s], name, nlen) == 0)
                slot = &o->set[s];
        if (nlen == 9 && memcmp(name, "traceback", 9) == 0) {
            slot = &o->traceback;
            is_traceback = true;
        } else if (nlen == 3 && memcmp(name, "lib", 3) == 0) {
            slot = &o->lib;
        }
        if (slot == NULL) {
            top_esc_line(errf, "cdebug-run: unknown option \"%.*s\"", (int)(nlen + 2), a);
            return usage_error(errf);
        }
        const char *v;
        if (eq != NULL) {
            v = eq + 1;
        } else if (i + 1 < argc) {
            v = argv[++i];
        } else {
            top_esc_line(errf, "cdebug-run: option \"%s\" needs a value", a);
            return usage_error(errf);
        }
        char oname[16];
        snprintf(oname, sizeof oname, "%.*s", (int)nlen, name);
        if (slot == &o->lib) {
            if (v[0] == '\0') {
                top_esc_line(errf, "cdebug-run: --lib: empty value");
                return usage_error(errf);
            }
        } else if (check_value(oname, v, is_traceback, errf) != 0) {
            return usage_error(errf);
        }
        *slot = v;
    }
    if (i >= argc) {
        top_esc_line(errf, "cdebug-run: no program to run");
        return usage_error(errf);
    }
    o->argi = i;
    return 0;
}

/* http/pprof_routes.c - net/http/pprof's Index, named-profile handler,
 * Cmdline and Symbol, on cdebug's route table.
 *
 *   /debug/pprof/              the HTML index (a prefix route: every other
 *                              /debug/pprof/NAME not registered exactly
 *                              lands here, as in Go's Index)
 *   /debug/pprof/NAME          a registered profile (prof/profiles.h):
 *                              ?debug=N text, ?gc=1 (heap) collect first,
 *                              ?seconds=N delta profile
 *   /debug/pprof/cmdline       the arguments, NUL-separated
 *   /debug/pprof/symbol        GET ?0x1+0x2 or POST body: "num_symbols: 1"
 *                              then "0x... name" per known address
 *
 * Statuses and texts are Go 1.19's (serveError: X-Go-Pprof: 1). Where Go
 * would wait without bound (seconds=1e12), cdebug answers 400 above
 * CD__HTTP_TRACE_MAX_SECONDS, like the trace route. Every profile is
 * rendered on a job thread (http/deferred.h): symbolizing, collecting
 * garbage (gc=1, which needs a thread bdwgc knows) and the delta's sleep
 * never hold one of the server's polling threads.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cdebug/runtime.h"
#include "http/deferred.h"
#include "http/pprof_common.h"
#include "http/pprof_routes.h"
#include "http/response.h"
#include "http/router.h"
#include "http/trace_route.h"
#include "prof/profiles.h"
#include "base/symbolize.h"
#include "vars/cmdline.h"
#include "vars/registry.h"

#define PREFIX "/debug/pprof/"

/* Profiles served by their own routes, listed on the index as Go lists
 * them (count 0). */
static const struct {
    const char *name, *desc;
} extra[] = {
    {"cmdline", "The command line invocation of the current program"},
    {"profile", "CPU profile. You can specify the duration in the seconds GET parameter. After "
                "you get the profile file, use the go tool pprof command to investigate the "
                "profile."},
    {"trace", "A trace of execution of the current program. You can specify the duration in the "
              "seconds GET parameter. After you get the trace file, use the go tool trace "
              "command to investigate the trace."},
};

/* ---- the index ------------------------------------------------------------------ */

static void put_html(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '&':
            fputs("&amp;", f);
            break;
        case '"':
            fputs("&#34;", f);
            break;
        case '\'':
            fputs("&#39;", f);
            break;
        default:
            putc(*s, f);
        }
    }
}

typedef struct entry {
    const char *name, *desc;
    int64_t count;
} entry;

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const entry *)a)->name, ((const entry *)b)->name);
}

static enum MHD_Result serve_index(const cd__http_req *req)
{
    const cd__profile *ps[CD__PROFILES_MAX];
    entry es[CD__PROFILES_MAX + sizeof extra / sizeof extra[0]];
    size_t n = cd__profile_list(ps, CD__PROFILES_MAX), k = 0;
    for (size_t i = 0; i < n; i++)
        es[k++] = (entry){ps[i]->name, ps[i]->desc, ps[i]->count ? ps[i]->count() : 0};
    for (size_t i = 0; i < sizeof extra / sizeof extra[0]; i++)
        if (cd__profile_lookup(extra[i].name) == NULL)
            es[k++] = (entry){extra[i].name, extra[i].desc, 0};
    qsort(es, k, sizeof *es, cmp_entry);

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return MHD_NO;
    fputs("<html>\n<head>\n<title>/debug/pprof/</title>\n<style>\n.profile-name{\n"
          "\tdisplay:inline-block;\n\twidth:6rem;\n}\n</style>\n</head>\n<body>\n"
          "/debug/pprof/\n<br>\n"
          "<p>Set debug=1 as a query parameter to export in legacy text format</p>\n<br>\n"
          "Types of profiles available:\n<table>\n"
          "<thead><td>Count</td><td>Profile</td></thead>\n",
          f);
    for (size_t i = 0; i < k; i++) {
        fprintf(f, "<tr><td>%" PRId64 "</td><td><a href='%s?debug=1'>",
                es[i].count < 0 ? 0 : es[i].count, es[i].name);
        put_html(f, es[i].name);
        fputs("</a></td></tr>\n", f);
    }
    fputs("</table>\n<a href=\"goroutine?debug=2\">full goroutine stack dump</a>\n<br>\n<p>\n"
          "Profile Descriptions:\n<ul>\n",
          f);
    for (size_t i = 0; i < k; i++) {
        fputs("<li><div class=profile-name>", f);
        put_html(f, es[i].name);
        fputs(": </div> ", f);
        put_html(f, es[i].desc);
        fputs("</li>\n", f);
    }
    fputs("</ul>\n</p>\n</body>\n</html>", f);
    if (fclose(f) != 0) {
        free(buf);
        return MHD_NO;
    }
    return cd__pprof_reply_typed(req, "text/html; charset=utf-8", buf, len);
}

/* ---- named profiles ------------------------------------------------------------- */

typedef struct job {
    const cd__profile *p;
    int debug;
    bool gc;
    int64_t seconds;
} job;

static int run_job(void *ctx, cd__http_jobctl *ctl, uint8_t **out, size_t *len)
{
    job *j = ctx;
    /* The wait ends early when the client leaves (Go: the request's
     * context is done); no profile is sent then. */
    if (j->seconds > 0)
        return cd__profile_render_delta(j->p, j->seconds, cd__http_job_sleep, ctl, out, len);
    if (j->gc)
        cd_gc(); /* this job thread is registered with bdwgc */
    return cd__profile_render(j->p, j->debug, out, len);
}

/* strconv.Atoi with the error ignored, as Go's handler reads debug and gc:
 * anything unparsable is 0. */
static int atoi0(const char *s)
{
    int64_t v;
    if (!cd__pprof_parse_int(s, &v) || v > INT32_MAX || v < INT32_MIN)
        return 0;
    return (int)v;
}

static enum MHD_Result serve_profile(const cd__http_req *req, const char *name)
{
    const cd__profile *p = cd__profile_lookup(name);
    if (p == NULL)
        return cd__pprof_error(req, MHD_HTTP_NOT_FOUND, "Unknown profile\n");
    job j = {.p = p, .debug = atoi0(cd__http_query(req, "debug"))};
    const char *sec = cd__http_query(req, "seconds");
    if (sec != NULL && *sec != '\0') {
        if (!cd__pprof_parse_int(sec, &j.seconds) || j.seconds <= 0)
            return cd__pprof_error(req, MHD_HTTP_BAD_REQUEST,
                                   "invalid value for \"seconds\" - must be a positive integer\n");
        if (!p->delta)
            return cd__pprof_error(
                req, MHD_HTTP_BAD_REQUEST,
                "\"seconds\" parameter is not supported for this profile type\n");
        if ((double)j.seconds > CD__HTTP_TRACE_MAX_SECONDS)
            return cd__pprof_error(
                req, MHD_HTTP_BAD_REQUEST,
                "profile duration exceeds the server's maximum of %.0f seconds\n",
                CD__HTTP_TRACE_MAX_SECONDS);
        if (j.debug != 0)
            return cd__pprof_error(req, MHD_HTTP_BAD_REQUEST,
                                   "seconds and debug params are incompatible\n");
    }
    j.gc = strcmp(name, "heap") == 0 && atoi0(cd__http_query(req, "gc")) > 0;
    job *heap_job = malloc(sizeof *heap_job);
    if (heap_job == NULL)
        return cd__pprof_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR, "failed to collect profile\n");
    *heap_job = j;
    char file[64];
    snprintf(file, sizeof file, j.seconds > 0 ? "%s-delta" : "%s", name);
    return cd__http_deferred(req, j.debug != 0 ? NULL : file, run_job, heap_job, free);
}

static enum MHD_Result serve_prefix(const cd__http_req *req, void *ctx)
{
    (void)ctx;
    const char *name = req->url + strlen(PREFIX);
    if (*name == '\0')
        return serve_index(req);
    return serve_profile(req, name);
}

/* ---- cmdline ------------------------------------------------------------------------ */

static enum MHD_Result serve_cmdline(const cd__http_req *req, void *ctx)
{
    (void)ctx;
    size_t n;
    bool hide;
    (void)cd__vars_init(); /* reads the arguments once */
    const char *args = cd__cmdline_shown(&n, &hide);
    /* Go joins os.Args with NULs: no NUL after the last one. With
     * cmdlineredact=1, argv[0] only. */
    size_t keep = n > 0 ? n - 1 : 0;
    if (hide)
        keep = strnlen(args, n);
    char *body = malloc(keep + 1);
    if (body == NULL)
        return MHD_NO;
    memcpy(body, args, keep);
    return cd__pprof_reply_typed(req, CD__HTTP_TEXT_PLAIN, body, keep);
}

/* ---- symbol ------------------------------------------------------------------------- */

/* strconv.ParseUint(word, 0, 64): decimal, 0x hex, 0 octal, 0b binary;
 * 0 for anything else (Go ignores the error, and 0 is skipped). */
static uint64_t parse_pc(const char *s, size_t n)
{
    char w[40];
    if (n == 0 || n >= sizeof w)
        return 0;
    memcpy(w, s, n);
    w[n] = '\0';
    int base = 10;
    const char *d = w;
    if (w[0] == '0' && (w[1] == 'x' || w[1] == 'X'))
        base = 16, d = w + 2;
    else if (w[0] == '0' && (w[1] == 'b' || w[1] == 'B'))
        base = 2, d = w + 2;
    else if (w[0] == '0' && w[1] == 'o')
        base = 8, d = w + 2;
    else if (w[0] == '0' && w[1] != '\0')
        base = 8, d = w + 1;
    if (*d == '\0')
        return 0;
    for (const char *q = d; *q; q++) {
        int v = *q >= '0' && *q <= '9'   ? *q - '0'
                : *q >= 'a' && *q <= 'f' ? *q - 'a' + 10
                : *q >= 'A' && *q <= 'F' ? *q - 'A' + 10
                                         : 99;
        if (v >= base)
            return 0;
    }
    errno = 0;
    char *end;
    unsigned long long v = strtoull(d, &end, base);
    return errno != 0 || *end != '\0' ? 0 : v;
}

typedef struct symjob {
    char *words; /* the '+'-separated addresses */
    size_t len;
} symjob;

static int run_symbol(void *ctx, cd__http_jobctl *ctl, uint8_t **out, size_t *len)
{
    (void)ctl;
    symjob *j = ctx;
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (f == NULL)
        return -ENOMEM;
    fputs("num_symbols: 1\n", f);
    cd__symctx *sym = NULL;
    int rc = cd__sym_begin(&sym);
    for (size_t i = 0; rc == 0 && i < j->len;) {
        const char *plus = memchr(j->words + i, '+', j->len - i);
        size_t wl = plus ? (size_t)(plus - (j->words + i)) : j->len - i;
        uint64_t pc = parse_pc(j->words + i, wl);
        if (pc != 0) {
            cd__sym s;
            cd__sym_lookup(sym, (uintptr_t)pc, &s);
            if (s.named) /* Go prints only known pcs */
                fprintf(f, "%#" PRIx64 " %s\n", pc, s.func);
        }
        i += wl + 1;
    }
    cd__sym_end(sym);
    if (fclose(f) != 0 && rc == 0)
        rc = -ENOMEM;
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *out = (uint8_t *)buf;
    *len = n;
    return 0;
}

static void free_symjob(void *ctx)
{
    symjob *j = ctx;
    free(j->words);
    free(j);
}

/* MHD_KeyValueIterator: appends one query argument to the '+'-separated
 * list. libmicrohttpd decoded '+' to ' ', so spaces become '+' again. */
static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key,
                               const char *value)
{
    (void)kind;
    FILE *f = cls;
    for (const char *s = key; s && *s; s++)
        putc(*s == ' ' ? '+' : *s, f);
    if (value != NULL) {
        putc('=', f);
        for (const char *s = value; *s; s++)
            putc(*s == ' ' ? '+' : *s, f);
    }
    putc('+', f);
    return MHD_YES;
}

static enum MHD_Result serve_symbol(const cd__http_req *req, void *ctx)
{
    (void)ctx;
    /* Go reads the raw query (GET) or the body (POST) and splits it at
     * '+'. libmicrohttpd gives the query only as parsed arguments: they are
     * joined back with '+' (add_arg). */
    symjob *j = calloc(1, sizeof *j);
    if (j == NULL)
        return MHD_NO;
    FILE *f = open_memstream(&j->words, &j->len);
    if (f == NULL) {
        free(j);
        return MHD_NO;
    }
    if (strcmp(req->method, "POST") == 0) {
        if (req->body_len > 0)
            fwrite(req->body, 1, req->body_len, f);
    } else {
        MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, add_arg, f);
    }
    if (fclose(f) != 0) {
        free(j->words);
        free(j);
        return MHD_NO;
    }
    return cd__http_deferred(req, NULL, run_symbol, j, free_symjob);
}

int cd__http_pprof_routes_register(void)
{
    int rc = cd__http_route(PREFIX, true, serve_prefix, NULL);
    if (rc == 0 || rc == -EEXIST)
        rc = cd__http_route("/debug/pprof/cmdline", false, serve_cmdline, NULL);
    if (rc == 0 || rc == -EEXIST)
        rc = cd__http_route_methods("/debug/pprof/symbol", false,
                                    CD__HTTP_GET | CD__HTTP_HEAD | CD__HTTP_POST, serve_symbol,
                                    NULL);
    return rc;
}

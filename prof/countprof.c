/* prof/countprof.c - Go's count-profile text; see countprof.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "prof/countprof.h"
#include "prof/tabwriter.h"
#include "base/dlhist.h"
#include "base/sigsafe.h"
#include "base/symbolize.h"

/* ---- printCountProfile ------------------------------------------------- */

void cd__countprof_quote(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char e[4];
        fwrite(e, 1, cd__quote_byte(*p, e), f);
    }
    fputc('"', f);
}

typedef struct group {
    char *key;    /* "@ 0x.. 0x..[\n# labels: {...}]" */
    size_t first; /* index of its first stack */
    size_t count;
} group;

static int by_key(const void *a, const void *b)
{
    const group *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (c != 0)
        return c;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* Go's keysByCount: higher counts first, ties by key. */
static int by_count(const void *a, const void *b)
{
    const group *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->key, y->key);
}

/* The key of s's first n frames. */
static char *make_key(const cd__countprof_stack *s, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return NULL;
    fputc('@', f);
    for (size_t i = 0; i < n; i++)
        fprintf(f, " 0x%lx", (unsigned long)s->pcs[i]);
    if (s->labels != NULL) {
        fputs("\n# labels: ", f);
        fputs(s->labels, f);
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    return buf;
}

void cd__countprof_frame(FILE *f, uintptr_t pc, const cd__sym *s)
{
    if (s->named)
        fprintf(f, "#\t0x%" PRIxPTR "\t%s+0x%" PRIxPTR "\t%s:%" PRId64 "\n", pc, s->func,
                s->start != 0 && s->start <= pc ? pc - s->start : (uintptr_t)0, s->file, s->line);
    else if (strcmp(s->func, "?") != 0)
        fprintf(f, "#\t0x%" PRIxPTR "\t%s\n", pc, s->func);
    else
        fprintf(f, "#\t0x%" PRIxPTR "\n", pc);
}

void cd__countprof_print_stack(FILE *f, cd__symctx *sym, const uintptr_t *pcs, size_t n,
                               uint32_t epoch)
{
    for (size_t i = 0; i < n; i++) {
        uintptr_t pc = pcs[i] > 0 ? pcs[i] - 1 : 0;
        cd__sym y;
        cd__sym_lookup_epoch(sym, pc, epoch, &y);
        cd__countprof_frame(f, pc, &y);
    }
    fputc('\n', f);
}

int cd__countprof_text(FILE *out, const char *name, const cd__countprof_stack *stacks, size_t n)
{
    int rc = -ENOMEM;
    group *g = calloc(n + 1, sizeof *g);
    size_t *depth = malloc((n + 1) * sizeof *depth);
    char *text = NULL;
    size_t textlen = 0, ng = 0;
    cd__symctx *sym = NULL;
    FILE *f = NULL;
    if (g == NULL || depth == NULL)
        goto out;
    if ((rc = cd__sym_begin(&sym)) < 0)
        goto out;
    rc = -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        /* Each stack ends before its first pc in no code, as in the proto
         * form (base/symbolize.h, cd__sym_cut); stacks equal once cut are
         * one group. */
        depth[i] = cd__sym_cut(sym, stacks[i].pcs, stacks[i].n, stacks[i].epoch, true);
        if ((g[i].key = make_key(&stacks[i], depth[i])) == NULL)
            goto out;
        g[i].first = i;
        g[i].count = 1;
    }
    /* Group equal keys: sort by key, fold runs into their first. */
    qsort(g, n, sizeof *g, by_key);
    for (size_t i = 0; i < n; i++) {
        if (ng > 0 && strcmp(g[ng - 1].key, g[i].key) == 0) {
            g[ng - 1].count++;
            free(g[i].key);
            g[i].key = NULL;
            continue;
        }
        group tmp = g[i];
        g[i].key = NULL;
        g[ng++] = tmp;
    }
    qsort(g, ng, sizeof *g, by_count);

    if ((f = open_memstream(&text, &textlen)) == NULL)
        goto out;
    fprintf(f, "%s profile: total %zu\n", name, n);
    for (size_t i = 0; i < ng; i++) {
        fprintf(f, "%zu %s\n", g[i].count, g[i].key);
        cd__countprof_print_stack(f, sym, stacks[g[i].first].pcs, depth[g[i].first],
                                  stacks[g[i].first].epoch);
    }
    if (fclose(f) != 0) {
        f = NULL;
        goto out;
    }
    f = NULL;
    rc = cd__tabwriter(out, text, textlen);
    if (rc == 0 && ferror(out))
        rc = -EIO;
out:
    if (f != NULL)
        fclose(f);
    free(text);
    if (sym != NULL)
        cd__sym_end(sym);
    if (g != NULL)
        for (size_t i = 0; i < n; i++)
            free(g[i].key);
    free(g);
    free(depth);
    return rc;
}

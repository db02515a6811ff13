/* prof/countprof.c - Go's count-profile text and the text/tabwriter subset
 * it uses; see countprof.h. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "prof/countprof.h"
#include "base/symbolize.h"

/* ---- text/tabwriter ------------------------------------------------------ */

/* printCountProfile's tabwriter.NewWriter(w, 1, 8, 1, '\t', 0). */
#define TW_MINWIDTH 1
#define TW_TABWIDTH 8
#define TW_PADDING  1

typedef struct tw_cell {
    const char *s;
    size_t size;  /* bytes */
    size_t width; /* runes, as Go counts them */
} tw_cell;

typedef struct tw_line {
    tw_cell *cells; /* the tab-terminated cells, then the trailing text */
    size_t ncells;
} tw_line;

typedef struct tw {
    FILE *f;
    tw_line *lines;
    size_t nlines;
} tw;

static size_t runes(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (((unsigned char)s[i] & 0xc0) != 0x80)
            w++;
    return w;
}

/* Go's writePadding with tab padding: the cell is widened to the next
 * multiple of the tab width and the gap filled with tabs. */
static void tw_pad(tw *t, size_t textw, size_t cellw)
{
    cellw = (cellw + TW_TABWIDTH - 1) / TW_TABWIDTH * TW_TABWIDTH;
    size_t n = cellw - textw;
    for (size_t k = (n + TW_TABWIDTH - 1) / TW_TABWIDTH; k > 0; k--)
        fputc('\t', t->f);
}

static void tw_write_lines(tw *t, size_t line0, size_t line1, const size_t *widths, size_t nw)
{
    for (size_t i = line0; i < line1; i++) {
        const tw_line *l = &t->lines[i];
        for (size_t j = 0; j < l->ncells; j++) {
            fwrite(l->cells[j].s, 1, l->cells[j].size, t->f);
            if (j < nw)
                tw_pad(t, l->cells[j].width, widths[j]);
        }
        fputc('\n', t->f);
    }
}

/* Go's Writer.format: column blocks are runs of consecutive lines that
 * have a cell in the column; each block's width is its widest cell plus
 * padding, and the columns to its right are formatted within it. */
static void tw_format(tw *t, size_t line0, size_t line1, size_t *widths, size_t nw)
{
    size_t column = nw;
    for (size_t this = line0; this < line1; this ++) {
        if (column + 1 >= t->lines[this].ncells)
            continue; /* no cell in this column (the last cell is not one) */
        tw_write_lines(t, line0, this, widths, nw);
        line0 = this;
        size_t width = TW_MINWIDTH;
        for (; this < line1; this ++) {
            const tw_line *l = &t->lines[this];
            if (column + 1 >= l->ncells)
                break;
            size_t w = l->cells[column].width + TW_PADDING;
            if (w > width)
                width = w;
        }
        widths[nw] = width;
        tw_format(t, line0, this, widths, nw + 1);
        line0 = this;
    }
    tw_write_lines(t, line0, line1, widths, nw);
}

int cd__tabwriter(FILE *f, const char *text, size_t len)
{
    tw t = {f, NULL, 0};
    size_t ncells_all = 0, maxcells = 0, nlines = 0;
    for (size_t i = 0; i < len; i++) {
        if (text[i] == '\n')
            nlines++;
        if (text[i] == '\t' || text[i] == '\n')
            ncells_all++;
    }
    int rc = -ENOMEM;
    tw_cell *cells = calloc(ncells_all + 1, sizeof *cells);
    t.lines = calloc(nlines + 1, sizeof *t.lines);
    if (cells == NULL || t.lines == NULL)
        goto out;
    size_t c = 0, start = 0;
    tw_line *cur = &t.lines[0];
    cur->cells = &cells[0];
    for (size_t i = 0; i < len; i++) {
        if (text[i] != '\t' && text[i] != '\n')
            continue;
        cells[c] = (tw_cell){text + start, i - start, runes(text + start, i - start)};
        c++;
        cur->ncells++;
        start = i + 1;
        if (text[i] == '\n') {
            if (cur->ncells > maxcells)
                maxcells = cur->ncells;
            t.nlines++;
            cur = &t.lines[t.nlines];
            cur->cells = &cells[c];
        }
    }
    size_t *widths = calloc(maxcells + 1, sizeof *widths);
    if (widths == NULL)
        goto out;
    tw_format(&t, 0, t.nlines, widths, 0);
    free(widths);
    rc = ferror(f) ? -EIO : 0;
out:
    free(cells);
    free(t.lines);
    return rc;
}

/* ---- printCountProfile ------------------------------------------------- */

void cd__countprof_quote(FILE *f, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        switch (*p) {
        case '"':
            fputs("\\\"", f);
            break;
        case '\\':
            fputs("\\\\", f);
            break;
        case '\n':
            fputs("\\n", f);
            break;
        case '\t':
            fputs("\\t", f);
            break;
        case '\r':
            fputs("\\r", f);
            break;
        default:
            if (*p >= 0x20 && *p < 0x7f) {
                fputc(*p, f);
            } else {
                fputs("\\x", f);
                fputc(hex[*p >> 4], f);
                fputc(hex[*p & 15], f);
            }
        }
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

static char *make_key(const cd__countprof_stack *s)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (f == NULL)
        return NULL;
    fputc('@', f);
    for (size_t i = 0; i < s->n; i++)
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

/* Go's printStackRecord (allFrames true: cdebug has no runtime frames to
 * hide). Unknown functions print their address only. */
static void print_stack(FILE *f, cd__symctx *sym, const cd__countprof_stack *s)
{
    for (size_t i = 0; i < s->n; i++) {
        uintptr_t pc = s->pcs[i] > 0 ? s->pcs[i] - 1 : 0;
        cd__sym y;
        cd__sym_lookup(sym, pc, &y);
        if (strcmp(y.func, "?") == 0) {
            fprintf(f, "#\t0x%lx\n", (unsigned long)pc);
            continue;
        }
        fprintf(f, "#\t0x%lx\t%s+0x%lx\t%s:%lld\n", (unsigned long)pc, y.func,
                (unsigned long)(pc - y.start), y.file, (long long)y.line);
    }
    fputc('\n', f);
}

int cd__countprof_text(FILE *out, const char *name, const cd__countprof_stack *stacks, size_t n)
{
    int rc = -ENOMEM;
    group *g = calloc(n + 1, sizeof *g);
    char *text = NULL;
    size_t textlen = 0, ng = 0;
    cd__symctx *sym = NULL;
    FILE *f = NULL;
    if (g == NULL)
        goto out;
    for (size_t i = 0; i < n; i++) {
        if ((g[i].key = make_key(&stacks[i])) == NULL)
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

    if ((rc = cd__sym_begin(&sym)) < 0)
        goto out;
    rc = -ENOMEM;
    if ((f = open_memstream(&text, &textlen)) == NULL)
        goto out;
    fprintf(f, "%s profile: total %zu\n", name, n);
    for (size_t i = 0; i < ng; i++) {
        fprintf(f, "%zu %s\n", g[i].count, g[i].key);
        print_stack(f, sym, &stacks[g[i].first]);
    }
    if (fclose(f) != 0) {
        f = NULL;
        goto out;
    }
    f = NULL;
    rc = cd__tabwriter(out, text, textlen);
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
    return rc;
}

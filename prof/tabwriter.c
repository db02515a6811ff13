/* prof/tabwriter.c - Go's text/tabwriter for the text profiles; see
 * tabwriter.h. The structure follows Go's Writer: lines of cells, then
 * format() recursing column by column over blocks of lines. */
#include <errno.h>
#include <stdlib.h>

#include "prof/tabwriter.h"

/* tabwriter.NewWriter(w, 1, 8, 1, '\t', 0): minwidth, tabwidth, padding. */
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

/* Go's utf8.RuneCount for valid UTF-8: the bytes that are not
 * continuation bytes. */
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

/* Go's writeLines: the cells of lines [line0, line1), the first nw of each
 * padded to widths[]. */
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
    rc = 0;
out:
    free(cells);
    free(t.lines);
    return rc;
}

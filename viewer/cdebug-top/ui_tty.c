/* ui_tty.c - the ncurses dashboard (see ui.h).
 *
 *  cdebug-top: 2 services every 1s, press q to quit             updated 15:04:05
 *  [ok] counter (127.0.0.1:6060)        [failed] 127.0.0.1:6061
 *  ./counter --addr=127.0.0.1:8080      connection refused
 *  +- memstats.Alloc -------------+     +- memstats.Alloc -------------+
 *  |1.2MB  max 1.5MB              |     |n/a  max 1.1MB                |
 *  |        ▂▃▅▇█▆▄▃▂▁▂▃▅▇█▆▄▃▂▁▂▃|     |▂▃▅▇█▆▄                       |
 *  +------------------------------+     +------------------------------+
 *
 * One column per service (side by side), one panel per var in each column,
 * newest sample at the right. The whole screen is redrawn from the model
 * each time and ncurses sends only the difference, so there is no widget
 * state to keep in sync. Sparklines use block elements in a UTF-8 locale and
 * an ASCII ramp otherwise.
 */
#define NCURSES_WIDECHAR 1
#include <curses.h>
#include <langinfo.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <wchar.h>

#include "duration.h"
#include "esc.h"
#include "format.h"
#include "ui.h"

#define MIN_COL_W 24 /* narrower columns cannot show a value and its max */

enum { C_OK = 1, C_FAIL, C_RESTART, C_MEM, C_DUR, C_STR, C_PLAIN, C_DIM };

static SCREEN *screen;
static bool utf8;
static bool colors;

/* Eighths of a cell, U+2581..U+2588. */
static const wchar_t spark_wide[9] = {L' ',      L'\u2581', L'\u2582', L'\u2583', L'\u2584',
                                      L'\u2585', L'\u2586', L'\u2587', L'\u2588'};
static const char spark_ascii[9] = {' ', '_', '_', '.', '-', '-', '=', '#', '#'};

int top_tty_init(char *err, size_t errlen)
{
    if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
        snprintf(err, errlen, "the dashboard needs a terminal (use -dummy for plain output)");
        return -1;
    }
    /* newterm, unlike initscr, reports an unknown $TERM instead of exiting. */
    screen = newterm(NULL, stdout, stdin);
    if (screen == NULL) {
        const char *t = getenv("TERM");
        snprintf(err, errlen, "cannot use terminal type \"%s\"", t != NULL ? t : "");
        return -1;
    }
    utf8 = strcmp(nl_langinfo(CODESET), "UTF-8") == 0;
    cbreak();
    noecho();
    nodelay(stdscr, TRUE);
    keypad(stdscr, TRUE);
    curs_set(0);
    colors = has_colors();
    if (colors) {
        start_color();
        use_default_colors();
        init_pair(C_OK, COLOR_GREEN, -1);
        init_pair(C_FAIL, COLOR_RED, -1);
        init_pair(C_RESTART, COLOR_YELLOW, -1);
        /* expvarmon's colours by kind */
        init_pair(C_MEM, COLOR_RED, -1);
        init_pair(C_DUR, COLOR_YELLOW, -1);
        init_pair(C_STR, COLOR_GREEN, -1);
        init_pair(C_PLAIN, COLOR_BLUE, -1);
        init_pair(C_DIM, COLOR_CYAN, -1);
    }
    return 0;
}

void top_tty_end(void)
{
    if (screen == NULL)
        return;
    endwin();
    delscreen(screen);
    screen = NULL;
}

void top_tty_resize(void)
{
    struct winsize ws;
    if (screen != NULL && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0 &&
        ws.ws_col > 0)
        resizeterm(ws.ws_row, ws.ws_col);
}

bool top_tty_input(void)
{
    int ch;
    while ((ch = getch()) != ERR) {
        if (ch == 'q' || ch == 'Q')
            return true;
    }
    return false;
}

static attr_t color(int pair, attr_t extra)
{
    return (colors ? COLOR_PAIR(pair) : 0) | extra;
}

/* Writes s at (y, x), at most w columns, and returns how many characters it
 * wrote. s is escaped first (esc.h), as every text output is: ncurses would
 * otherwise act on a CR or LF from a service (a fake line drawn anywhere on
 * the screen) and drop a whole string that is not valid UTF-8. Non-ASCII
 * text needs a UTF-8 locale; otherwise "µ" becomes "u" and other bytes "?",
 * so nothing misaligns. */
static int put(int y, int x, int w, const char *s, attr_t a)
{
    wchar_t ws[256];
    char esc[6 * 256];
    size_t n = 0;

    if (w <= 0)
        return 0;
    s = top_esc(s, esc, sizeof(esc));
    if (utf8) {
        mbstate_t st = {0};
        const char *src = s;
        n = mbsrtowcs(ws, &src, sizeof(ws) / sizeof(ws[0]) - 1, &st);
        if (n == (size_t)-1)
            n = 0; /* not reached: escaped text is valid UTF-8 */
    } else {
        for (const unsigned char *p = (const unsigned char *)s;
             *p != '\0' && n < sizeof(ws) / sizeof(ws[0]) - 1; p++) {
            if (p[0] == 0xC2 && p[1] == 0xB5) {
                ws[n++] = L'u';
                p++;
            } else {
                ws[n++] = *p < 0x80 && *p >= 0x20 ? (wchar_t)*p : L'?';
            }
        }
    }
    ws[n] = L'\0';
    attron(a);
    mvaddnwstr(y, x, ws, w);
    attroff(a);
    return (int)n < w ? (int)n : w;
}

static void box_at(int y, int x, int h, int w, attr_t a)
{
    attron(a);
    mvaddch(y, x, ACS_ULCORNER);
    mvhline(y, x + 1, ACS_HLINE, w - 2);
    mvaddch(y, x + w - 1, ACS_URCORNER);
    mvvline(y + 1, x, ACS_VLINE, h - 2);
    mvvline(y + 1, x + w - 1, ACS_VLINE, h - 2);
    mvaddch(y + h - 1, x, ACS_LLCORNER);
    mvhline(y + h - 1, x + 1, ACS_HLINE, w - 2);
    mvaddch(y + h - 1, x + w - 1, ACS_LRCORNER);
    attroff(a);
}

static int kind_pair(top_kind k)
{
    switch (k) {
    case TOP_KIND_MEM:
        return C_MEM;
    case TOP_KIND_DURATION:
        return C_DUR;
    case TOP_KIND_STR:
        return C_STR;
    default:
        return C_PLAIN;
    }
}

/* Draws the newest samples of r in rows [y, y+h) and columns [x, x+w),
 * right-aligned: each column is one sample, its height in eighths of a
 * cell spread over h rows. */
static void sparkline(const top_ring *r, int y, int x, int h, int w, attr_t a)
{
    double vals[TOP_RING_CAP];
    int lv[TOP_RING_CAP];

    if (w <= 0 || h <= 0)
        return;
    size_t n = top_ring_last(r, vals, w > TOP_RING_CAP ? TOP_RING_CAP : (size_t)w);
    top_spark_levels(vals, n, 8 * h, lv);
    int x0 = x + w - (int)n;
    attron(a);
    for (size_t i = 0; i < n; i++) {
        for (int row = 0; row < h; row++) {
            int e = lv[i] - 8 * row;
            e = e < 0 ? 0 : e > 8 ? 8 : e;
            if (utf8) {
                wchar_t c[2] = {spark_wide[e], L'\0'};
                mvaddwstr(y + h - 1 - row, x0 + (int)i, c);
            } else {
                mvaddch(y + h - 1 - row, x0 + (int)i, (chtype)spark_ascii[e]);
            }
        }
    }
    attroff(a);
}

/* Two header lines: status marker and name, then the reason or command. */
static void header(const top_service *s, int y, int x, int w)
{
    char title[160], line[400], when[16];
    const char *mark;
    attr_t a;

    top_service_title(s, title, sizeof(title));
    if (s->status == TOP_SVC_FAILED) {
        mark = "[failed]";
        a = color(C_FAIL, A_BOLD);
    } else if (s->status == TOP_SVC_WAITING) {
        mark = "[waiting]";
        a = color(C_DIM, 0);
    } else if (s->restarts > 0) {
        mark = "[restarted]";
        a = color(C_RESTART, A_BOLD);
    } else {
        mark = "[ok]";
        a = color(C_OK, A_BOLD);
    }
    snprintf(line, sizeof(line), "%s %s", mark, title);
    put(y, x, w - 2, line, a);

    if (s->status == TOP_SVC_FAILED) {
        put(y + 1, x, w - 2, s->err, color(C_FAIL, 0));
    } else if (s->restarts > 0) {
        struct tm tm;
        localtime_r(&s->restart_at.tv_sec, &tm);
        strftime(when, sizeof(when), "%H:%M:%S", &tm);
        snprintf(line, sizeof(line), "restarted %ux, last %s: %s", s->restarts, when,
                 s->restart_why);
        put(y + 1, x, w - 2, line, color(C_RESTART, 0));
    } else {
        put(y + 1, x, w - 2, s->cmdline[0] != '\0' ? s->cmdline : s->url, color(C_DIM, 0));
    }
}

/* One var on one service: a box titled with the var, the current and max
 * values on the first line and a sparkline filling the rest. With only one
 * inner line, the sparkline follows the values on that line. */
static void panel(const top_var *v, const top_series *ser, int y, int x, int h, int w)
{
    char cur[TOP_FMT_BUFSZ], max[TOP_FMT_BUFSZ], line[2 * TOP_FMT_BUFSZ + 16];
    attr_t ka = color(kind_pair(v->kind), A_BOLD);

    box_at(y, x, h, w, color(C_DIM, 0));
    snprintf(line, sizeof(line), " %s ", v->label);
    put(y, x + 2, w - 4, line, ka);

    top_fmt_value(&ser->cur, v->kind, cur, sizeof(cur));
    if (v->kind == TOP_KIND_STR || ser->max.type == TOP_V_NA)
        snprintf(line, sizeof(line), "%s", cur);
    else
        snprintf(line, sizeof(line), "%s  max %s", cur,
                 top_fmt_value(&ser->max, v->kind, max, sizeof(max)));
    int used = put(y + 1, x + 1, w - 2, line, ka) + 2;
    if (v->kind == TOP_KIND_STR)
        return; /* text has no sparkline */

    if (h > 3) {
        sparkline(&ser->hist, y + 2, x + 1, h - 3, w - 2, color(kind_pair(v->kind), 0));
    } else {
        if (used < w - 4)
            sparkline(&ser->hist, y + 1, x + 1 + used, 1, w - 2 - used,
                      color(kind_pair(v->kind), 0));
    }
}

void top_tty_draw(const top_app *app)
{
    int W = COLS, H = LINES;
    char line[256], dur[TOP_DURATION_BUFSZ];

    erase();
    if (H < 7 || W < MIN_COL_W) {
        put(0, 0, W, "terminal too small (q quits)", A_BOLD);
        refresh();
        return;
    }

    /* Title bar. */
    attron(A_REVERSE);
    mvhline(0, 0, ' ', W);
    attroff(A_REVERSE);
    snprintf(line, sizeof(line), "cdebug-top: %zu service%s every %s, press q to quit", app->nsvcs,
             app->nsvcs == 1 ? "" : "s", top_duration_format(app->opts.interval_ns, dur, sizeof(dur)));
    put(0, 1, W - 2, line, A_REVERSE | A_BOLD);
    if (app->rounds > 0) {
        struct tm tm;
        char when[32];
        localtime_r(&app->last_round.tv_sec, &tm);
        strftime(when, sizeof(when), "updated %H:%M:%S", &tm);
        int len = (int)strlen(when);
        if (W - len - 1 > (int)strlen(line) + 2)
            put(0, W - len - 1, len, when, A_REVERSE);
    }

    /* Columns: as many services as fit at MIN_COL_W. */
    size_t ncol = app->nsvcs;
    if ((size_t)(W / MIN_COL_W) < ncol)
        ncol = (size_t)(W / MIN_COL_W);
    int colw = W / (int)ncol;

    /* Panels: rows 3 .. H-2, row H-1 is the footer. */
    int avail = H - 4;
    size_t npan = app->nvars;
    int ph = avail / (int)npan;
    if (ph < 3) {
        ph = 3;
        npan = (size_t)(avail / 3);
    }

    for (size_t c = 0; c < ncol; c++) {
        const top_service *s = &app->svcs[c];
        int x = (int)c * colw;
        int w = c + 1 == ncol ? W - x : colw;
        header(s, 1, x, w);
        for (size_t v = 0; v < npan; v++)
            panel(&app->vars[v], &s->series[v], 3 + (int)v * ph, x, ph, w - 1);
    }

    /* Footer: what is hidden, and the recording. */
    line[0] = '\0';
    size_t used = 0;
    if (ncol < app->nsvcs)
        used += (size_t)snprintf(line + used, sizeof(line) - used, "+%zu services not shown  ",
                                 app->nsvcs - ncol);
    if (npan < app->nvars && used < sizeof(line))
        used += (size_t)snprintf(line + used, sizeof(line) - used, "+%zu vars not shown  ",
                                 app->nvars - npan);
    if (app->csv.f != NULL && used < sizeof(line)) {
        if (app->csv.err != 0)
            snprintf(line + used, sizeof(line) - used, "csv %s: write error: %s", app->opts.csv,
                     strerror(-app->csv.err));
        else
            snprintf(line + used, sizeof(line) - used, "csv %s: %llu rows", app->opts.csv,
                     (unsigned long long)app->csv.rows);
    }
    put(H - 1, 1, W - 2, line, app->csv.err != 0 ? color(C_FAIL, A_BOLD) : color(C_DIM, 0));
    refresh();
}

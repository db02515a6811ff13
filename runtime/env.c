/* runtime/env.c - the CDEBUG, CDMAXPROCS, CDGC and CDTRACEBACK environment
 * variables.
 *
 * Everything but cd__env_load() is a pure function over a cd__config: no
 * allocation, no I/O, no global state. That keeps the parsers testable with
 * any string and lets cd_init() run them before the collector exists.
 *
 * Warning lines are assembled with the small line builder below rather than
 * snprintf() so the "no allocation" promise does not depend on libc, and so
 * every piece of user text goes through one escaping routine.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "runtime/env.h"
#include "runtime/lineage.h"

cd__config cd__cfg;

/* Longest warning line: the prefix, one quoted user string of at most
 * QUOTE_MAX visible characters plus quotes and "...", a setting name from the
 * table and a description. 256 leaves ample room; the builder truncates
 * rather than overflows if a future table row makes it tighter. */
#define LINE_CAP 256

/* Visible characters of user text shown in a warning. A hostile CDEBUG of a
 * megabyte must not turn into a megabyte of stderr. */
#define QUOTE_MAX 64

/* ---- line builder ------------------------------------------------------ */

typedef struct line {
    char buf[LINE_CAP];
    size_t len; /* always < LINE_CAP, buf[len] == '\0' */
} line;

static void line_init(line *l)
{
    l->len = 0;
    l->buf[0] = '\0';
}

static void line_putn(line *l, const char *s, size_t n)
{
    size_t room = LINE_CAP - 1 - l->len;
    if (n > room)
        n = room;
    memcpy(l->buf + l->len, s, n);
    l->len += n;
    l->buf[l->len] = '\0';
}

static void line_puts(line *l, const char *s)
{
    line_putn(l, s, strlen(s));
}

static void line_putu(line *l, uint64_t v)
{
    char tmp[20]; /* UINT64_MAX has 20 digits */
    size_t i = sizeof(tmp);
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    line_putn(l, tmp + i, sizeof(tmp) - i);
}

/* Appends s[0..n) in double quotes. Printable ASCII is copied, '"' and '\\'
 * are backslash-escaped so the quoted text is unambiguous, and every other
 * byte (control characters, DEL, non-ASCII) becomes \xHH so a terminal never
 * sees raw escape sequences. At most QUOTE_MAX visible characters are shown;
 * an escape is never split, and "..." marks a cut. */
static void line_putq(line *l, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t shown = 0;
    size_t i;

    line_putn(l, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        char esc[4];
        size_t w;
        if (ch == '"' || ch == '\\') {
            esc[0] = '\\';
            esc[1] = (char)ch;
            w = 2;
        } else if (ch >= 0x20 && ch < 0x7f) {
            esc[0] = (char)ch;
            w = 1;
        } else {
            esc[0] = '\\';
            esc[1] = 'x';
            esc[2] = hex[ch >> 4];
            esc[3] = hex[ch & 0xf];
            w = 4;
        }
        if (shown + w > QUOTE_MAX)
            break;
        line_putn(l, esc, w);
        shown += w;
    }
    if (i < n)
        line_putn(l, "...", 3);
    line_putn(l, "\"", 1);
}

static int emit(line *l, cd__warn_fn warn, void *ctx)
{
    if (warn != NULL)
        warn(l->buf, ctx);
    return 1;
}

/* ---- integers ----------------------------------------------------------- */

/* The worker behind cd__parse_uint for items that are not NUL-terminated
 * (CDEBUG values are slices of the whole string). Syntax is checked before
 * magnitude so "99999999999999999999x" is -EINVAL, not -ERANGE. */
static int parse_uint_n(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (n == 0)
        return -EINVAL;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -EINVAL;
    }
    for (i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -ERANGE;
        v = v * 10 + d;
    }
    if (v > max)
        return -ERANGE;
    *out = v;
    return 0;
}

int cd__parse_uint(const char *s, uint64_t max, uint64_t *out)
{
    if (s == NULL)
        return -EINVAL;
    return parse_uint_n(s, strlen(s), max, out);
}

/* ---- CDEBUG ------------------------------------------------------------ */

struct setting;
typedef int (*setting_fn)(cd__config *c, const struct setting *st, const char *v, size_t n);

/* One row per CDEBUG name. A later setting (http, trace, memprofilerate...)
 * is one more row, with a new setter if its value is not a bounded integer.
 * Rows are added only when the feature exists: until then its name must
 * keep warning as unknown, or a user would believe it took effect. */
typedef struct setting {
    const char *name;
    setting_fn set;   /* 0, or -EINVAL / -ERANGE for a bad value */
    size_t offset;    /* of the int field in cd__config */
    int min, max;     /* bounds for set_int */
    const char *want; /* completes "(want ...)" in the warning */
} setting;

static int set_int(cd__config *c, const setting *st, const char *v, size_t n)
{
    uint64_t u;
    int rc = parse_uint_n(v, n, (uint64_t)st->max, &u);
    if (rc != 0)
        return rc;
    if (u < (uint64_t)st->min)
        return -ERANGE;
    *(int *)(void *)((char *)c + st->offset) = (int)u;
    return 0;
}

/* "host:port": host is empty (all interfaces, as in Go), a name or IPv4
 * literal of [A-Za-z0-9.-], or an IPv6 literal in brackets; port is a
 * strict decimal 0..65535 (0: pick a free port). Syntax only. */
static int set_addr(cd__config *c, const setting *st, const char *v, size_t n)
{
    (void)st;
    if (n == 0 || n >= CD__HTTP_ADDR_MAX)
        return -EINVAL;
    const char *colon = NULL;
    if (v[0] == '[') {
        const char *close = memchr(v, ']', n);
        if (close == NULL || close == v + 1 || (size_t)(close - v) + 1 >= n || close[1] != ':')
            return -EINVAL;
        for (const char *q = v + 1; q < close; q++)
            if (!(*q == ':' || *q == '.' || (*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') ||
                  (*q >= 'A' && *q <= 'F')))
                return -EINVAL;
        colon = close + 1;
    } else {
        for (size_t i = n; i > 0; i--)
            if (v[i - 1] == ':') {
                colon = v + i - 1;
                break;
            }
        if (colon == NULL)
            return -EINVAL;
        for (const char *q = v; q < colon; q++)
            if (!(*q == '.' || *q == '-' || (*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'z') ||
                  (*q >= 'A' && *q <= 'Z')))
                return -EINVAL;
    }
    uint64_t port;
    size_t plen = n - (size_t)(colon + 1 - v);
    int rc = parse_uint_n(colon + 1, plen, 65535, &port);
    if (rc != 0)
        return rc;
    memcpy(c->http_addr, v, n);
    c->http_addr[n] = '\0';
    return 0;
}

/* A file name: non-empty, shorter than CD__PATH_MAX, no comma (it would
 * have ended the item) and no control characters. */
static int set_path(cd__config *c, const setting *st, const char *v, size_t n)
{
    if (n == 0 || n >= CD__PATH_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f)
            return -EINVAL;
    memcpy((char *)c + st->offset, v, n);
    ((char *)c + st->offset)[n] = '\0';
    return 0;
}

#define STR_(x) #x
#define STR(x)  STR_(x)

static const setting settings[] = {
    /* Go documents gctrace=2 (repeat the summary); it is accepted and
     * behaves like 1, consumers test gctrace != 0. */
    {"gctrace", set_int, offsetof(cd__config, gctrace), 0, 2, "0, 1 or 2"},
    {"schedtrace", set_int, offsetof(cd__config, schedtrace_ms), 0, CD__SCHEDTRACE_MAX_MS,
     "milliseconds from 0 to " STR(CD__SCHEDTRACE_MAX_MS)},
    {"scheddetail", set_int, offsetof(cd__config, scheddetail), 0, 1, "0 or 1"},
    {"http", set_addr, 0, 0, 0, "host:port, e.g. 127.0.0.1:6060"},
    {"httpunsafe", set_int, offsetof(cd__config, httpunsafe), 0, 1, "0 or 1"},
    {"cmdlineredact", set_int, offsetof(cd__config, cmdlineredact), 0, 2, "0, 1 or 2"},
    {"trace", set_path, offsetof(cd__config, trace_path), 0, 0, "a file name"},
    {"flight", set_int, offsetof(cd__config, flight_s), 0, CD__FLIGHT_MAX_S,
     "seconds from 0 (off) to " STR(CD__FLIGHT_MAX_S)},
    {"cpuprofile", set_path, offsetof(cd__config, cpuprofile_path), 0, 0, "a file name"},
    {"cpuprofilerate", set_int, offsetof(cd__config, cpuprofilerate), 1, CD__CPUPROFILERATE_MAX,
     "samples per CPU-second from 1 to " STR(CD__CPUPROFILERATE_MAX)},
    {"memprofilerate", set_int, offsetof(cd__config, memprofilerate), 0, INT_MAX,
     "bytes from 0 (off) to 2147483647; 1 samples every allocation"},
    {"memprofile", set_path, offsetof(cd__config, memprofile_path), 0, 0, "a file name"},
    {"blockprofilerate", set_int, offsetof(cd__config, blockprofilerate), 0, INT_MAX,
     "nanoseconds from 0 (off) to 2147483647; 1 records every blocking event"},
    {"mutexprofilefraction", set_int, offsetof(cd__config, mutexprofilefraction), 0, INT_MAX,
     "from 0 (off) to 2147483647; N records 1 contention in N"},
    {"sigquit", set_int, offsetof(cd__config, sigquit), 0, 1, "0 or 1"},
};

static const setting *find_setting(const char *name, size_t n)
{
    for (size_t i = 0; i < sizeof(settings) / sizeof(settings[0]); i++) {
        if (strlen(settings[i].name) == n && memcmp(settings[i].name, name, n) == 0)
            return &settings[i];
    }
    return NULL;
}

/* Applies one non-empty item s[0..n). Returns the number of warnings (0/1). */
static int apply_item(cd__config *c, const char *s, size_t n, cd__warn_fn warn, void *ctx)
{
    const char *eq = memchr(s, '=', n);
    line l;

    line_init(&l);
    if (eq == NULL || eq == s) {
        line_puts(&l, "cdebug: CDEBUG: malformed item ");
        line_putq(&l, s, n);
        line_puts(&l, " ignored (want name=value)");
        return emit(&l, warn, ctx);
    }

    size_t name_len = (size_t)(eq - s);
    const char *val = eq + 1;
    size_t val_len = n - name_len - 1;
    const setting *st = find_setting(s, name_len);
    if (st == NULL) {
        line_puts(&l, "cdebug: CDEBUG: unknown setting ");
        line_putq(&l, s, name_len);
        line_puts(&l, " ignored");
        return emit(&l, warn, ctx);
    }
    /* A bad value leaves the field untouched: the default, or an earlier
     * valid occurrence of the same name. */
    if (st->set(c, st, val, val_len) != 0) {
        line_puts(&l, "cdebug: CDEBUG: bad value ");
        line_putq(&l, val, val_len);
        line_puts(&l, " for ");
        line_puts(&l, st->name);
        line_puts(&l, " ignored (want ");
        line_puts(&l, st->want);
        line_puts(&l, ")");
        return emit(&l, warn, ctx);
    }
    return 0;
}

int cd__env_parse_cdebug(cd__config *c, const char *s, cd__warn_fn warn, void *ctx)
{
    int nwarn = 0;

    if (s == NULL)
        return 0;
    /* Left to right, so a later occurrence of a name overwrites an earlier
     * one: GODEBUG's "last one wins". Empty items are skipped silently, as
     * Go does, so "gctrace=1," and ",,gctrace=1" are fine. */
    while (*s != '\0') {
        const char *end = strchr(s, ',');
        size_t n = end != NULL ? (size_t)(end - s) : strlen(s);
        if (n > 0)
            nwarn += apply_item(c, s, n, warn, ctx);
        if (end == NULL)
            break;
        s = end + 1;
    }
    return nwarn;
}

/* ---- CDMAXPROCS and CDGC ----------------------------------------------- */

int cd__env_parse_maxprocs(cd__config *c, const char *s, cd__warn_fn warn, void *ctx)
{
    uint64_t u;
    line l;

    /* CDMAXPROCS= (set but empty) means unset, as GOMAXPROCS= does in Go:
     * shells make it easy to produce and it is not a mistake worth a line. */
    if (s == NULL || *s == '\0')
        return 0;
    if (cd__parse_uint(s, CD__MAXPROCS_MAX, &u) == 0 && u >= 1) {
        c->maxprocs = (int)u;
        return 0;
    }
    line_init(&l);
    line_puts(&l, "cdebug: CDMAXPROCS: bad value ");
    line_putq(&l, s, strlen(s));
    line_puts(&l, " ignored (want an integer from 1 to " STR(CD__MAXPROCS_MAX) "); using ");
    line_putu(&l, (uint64_t)(c->maxprocs > 0 ? c->maxprocs : 1));
    return emit(&l, warn, ctx);
}

/* Above this percent the divisor is already 1, bdwgc's laziest setting. */
#define GC_PERCENT_EXPRESSIBLE 200

int cd__env_parse_gc(cd__config *c, const char *s, cd__warn_fn warn, void *ctx)
{
    uint64_t u;
    line l;

    if (s == NULL || *s == '\0')
        return 0;
    if (strcmp(s, "off") == 0) {
        c->gc_percent = -1;
        return 0;
    }
    line_init(&l);
    /* Go reads any negative GOGC as "off"; here "-1" is rejected by the strict
     * parse so that a typo never silently disables the collector. */
    if (cd__parse_uint(s, INT_MAX, &u) != 0) {
        line_puts(&l, "cdebug: CDGC: bad value ");
        line_putq(&l, s, strlen(s));
        line_puts(&l, " ignored (want \"off\" or a non-negative integer percent); using ");
        if (c->gc_percent < 0)
            line_puts(&l, "off");
        else
            line_putu(&l, (uint64_t)c->gc_percent);
        return emit(&l, warn, ctx);
    }
    /* The value is kept as given (reports show what the user asked for);
     * cd__gc_divisor() does the clamping. */
    c->gc_percent = (int)u;
    if (u > GC_PERCENT_EXPRESSIBLE) {
        line_puts(&l, "cdebug: CDGC: ");
        line_putu(&l, u);
        line_puts(&l,
                  " is above what bdwgc can express; behaves like " STR(GC_PERCENT_EXPRESSIBLE));
        return emit(&l, warn, ctx);
    }
    return 0;
}

/* ---- CDTRACEBACK --------------------------------------------------------- */

/* GOTRACEBACK's names, then its historical numbers (Go's runtime
 * documents 0, 1 and 2 as none, all and system). */
static const struct {
    const char *name;
    int level;
} tb_names[] = {
    {"none", CD__TB_NONE},     {"single", CD__TB_SINGLE}, {"all", CD__TB_ALL},
    {"system", CD__TB_SYSTEM}, {"crash", CD__TB_CRASH},   {"0", CD__TB_NONE},
    {"1", CD__TB_ALL},         {"2", CD__TB_SYSTEM},
};

int cd__env_parse_traceback(cd__config *c, const char *s, cd__warn_fn warn, void *ctx)
{
    line l;

    /* Set but empty: unset, as GOTRACEBACK= is in Go. */
    if (s == NULL || *s == '\0')
        return 0;
    for (size_t i = 0; i < sizeof tb_names / sizeof tb_names[0]; i++)
        if (strcmp(s, tb_names[i].name) == 0) {
            c->traceback = tb_names[i].level;
            return 0;
        }
    /* Go reads any other word as "all" with level 0; a typo here keeps
     * the level in force, with a word. */
    line_init(&l);
    line_puts(&l, "cdebug: CDTRACEBACK: bad value ");
    line_putq(&l, s, strlen(s));
    line_puts(&l, " ignored (want none, single, all, system or crash); using ");
    int in_force = c->traceback >= 0 && c->traceback <= CD__TB_CRASH ? c->traceback : 1;
    line_puts(&l, tb_names[in_force].name); /* the first five rows are in level order */
    return emit(&l, warn, ctx);
}

unsigned long cd__gc_divisor(int gc_percent)
{
    if (gc_percent < 0)
        return 0;
    if (gc_percent == 0)
        return 1000;
    /* round(200 / p) in integers: floor((400 + p) / 2p). 64-bit so that
     * 2 * INT_MAX cannot overflow. */
    uint64_t p = (uint64_t)gc_percent;
    uint64_t d = (400 + p) / (2 * p);
    if (d < 1)
        d = 1;
    if (d > 1000)
        d = 1000;
    return (unsigned long)d;
}

/* ---- defaults and loading ---------------------------------------------- */

void cd__config_defaults(cd__config *c)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1; /* sysconf failed: one worker still makes progress */
    if (n > CD__MAXPROCS_MAX)
        n = CD__MAXPROCS_MAX;
    memset(c, 0, sizeof *c); /* every later field defaults to 0 / "" */
    c->gctrace = 0;
    c->schedtrace_ms = 0;
    c->scheddetail = 0;
    c->maxprocs = (int)n;
    c->gc_percent = 100;
    c->memprofilerate = CD__MEMPROFILERATE;
    c->cpuprofilerate = CD__CPUPROFILERATE;
    c->cmdlineredact = 2; /* CD_CMDLINE_SECRETS: secure by default */
    c->sigquit = 1;       /* Go's: SIGQUIT dumps every goroutine */
    c->traceback = CD__TB_SINGLE;
}

/* Writes one warning line to stderr in a single write(2), so lines from
 * concurrent writers (gctrace, another process on the same terminal) never
 * interleave mid-line. No stdio: it may not be usable yet in a constructor
 * and its buffering would split or delay the line. */
static void warn_stderr(const char *msg, void *ctx)
{
    char buf[LINE_CAP + 1];
    size_t n = strlen(msg);
    size_t off = 0;

    (void)ctx;
    if (n > LINE_CAP - 1)
        n = LINE_CAP - 1;
    memcpy(buf, msg, n);
    buf[n++] = '\n';
    while (off < n) {
        ssize_t w = write(STDERR_FILENO, buf + off, n - off);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere to report a failing stderr */
        }
        off += (size_t)w;
    }
}

/* Every variable cdebug reads, for the secure-execution warning. */
static const char *const env_names[] = {
    "CDEBUG", "CDMAXPROCS", "CDGC", "CDEBUG_HTTP_TOKEN", "CDEBUG_FLIGHT_MAX_BYTES",
    "CDEBUG_TRACE_NO_TSC", "CDTRACEBACK",
};

const char *cd__getenv(const char *name)
{
    return secure_getenv(name);
}

/* In a secure-execution process (set-user-ID, set-group-ID, file
 * capabilities: the kernel's AT_SECURE) cd__getenv reads nothing, so
 * nothing cdebug does there comes from the environment of whoever started
 * it: no trace= overwriting a file the caller could not, no cpuprofile=
 * creating files owned by the program's user, no http= exposing the
 * privileged process. The settings that only print or tune go too: one
 * rule, as glibc's for its own tunables, rather than a list to keep right.
 * The caller is told once, naming what was set; getenv only tests
 * presence here, no value is read. */
static void warn_secure(void)
{
    if (getauxval(AT_SECURE) == 0)
        return;
    line l;
    line_init(&l);
    line_puts(&l, "cdebug: secure-execution process (set-user-ID, set-group-ID or file "
                  "capabilities): ");
    size_t named = 0;
    for (size_t i = 0; i < sizeof env_names / sizeof env_names[0]; i++) {
        if (getenv(env_names[i]) == NULL)
            continue;
        if (named++ > 0)
            line_puts(&l, ", ");
        line_puts(&l, env_names[i]);
    }
    if (named == 0)
        return;
    line_puts(&l, " ignored");
    warn_stderr(l.buf, NULL);
}

bool cd__env_http_port_zero(const char *addr)
{
    const char *colon = strrchr(addr, ':');
    return colon != NULL && strcmp(colon + 1, "0") == 0;
}

/* A child's warnings: its root printed the same ones (runtime/lineage.h). */
static void warn_none(const char *msg, void *ctx)
{
    (void)msg;
    (void)ctx;
}

void cd__env_load(cd__config *c)
{
    int saved = errno;

    cd__config_defaults(c);
    warn_secure();
    const char *cdebug = cd__getenv("CDEBUG");
    bool child = cd__lineage_start(cdebug);
    cd__warn_fn warn = child ? warn_none : warn_stderr;
    (void)cd__env_parse_cdebug(c, cdebug, warn, NULL);
    (void)cd__env_parse_maxprocs(c, cd__getenv("CDMAXPROCS"), warn, NULL);
    (void)cd__env_parse_gc(c, cd__getenv("CDGC"), warn, NULL);
    (void)cd__env_parse_traceback(c, cd__getenv("CDTRACEBACK"), warn, NULL);
    if (child) {
        cd__lineage_child_config(c, getpid());
        c->child = 1;
    }
    /* Runs from a constructor: do not leave a stray errno for main(). */
    errno = saved;
}

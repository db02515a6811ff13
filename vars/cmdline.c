/* vars/cmdline.c - the program's arguments for the cmdline var and
 * /debug/pprof/cmdline: read once, redacted once, published in the mode
 * CDEBUG=cmdlineredact or cd_vars_redact_cmdline() selects. See cmdline.h.
 *
 * The arguments are copied from /proc/self/cmdline when the vars registry
 * is created, and the redacted copy is made at the same time, so a render
 * only picks one of two immutable buffers: no allocation or parsing per
 * request, and a mode switch applies from the next render.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cdebug/vars.h"
#include "runtime/env.h"
#include "runtime/start.h"
#include "vars/cmdline.h"

/* What replaces a secret: Go's url.URL.Redacted() text. */
#define REDACTED     "xxxxx"
#define REDACTED_LEN (sizeof REDACTED - 1)

/* ---- the redaction (pure) --------------------------------------------------------- */

static const struct {
    const char *s;
    size_t n;
} keywords[] = {
    {"password", 8}, {"passwd", 6}, {"secret", 6}, {"token", 5}, {"key", 3}, {"credential", 10},
};

static unsigned char lower(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/* Whether s[0..n) contains a keyword, ASCII letters in any case. The
 * locale is not consulted: tolower() could fold other bytes, or Turkish
 * dotless i, differently from one machine to the next. */
static bool has_keyword(const char *s, size_t n)
{
    for (size_t k = 0; k < sizeof keywords / sizeof keywords[0]; k++) {
        size_t kn = keywords[k].n;
        for (size_t i = 0; i + kn <= n; i++) {
            size_t j = 0;
            while (j < kn && lower((unsigned char)s[i + j]) == (unsigned char)keywords[k].s[j])
                j++;
            if (j == kn)
                return true;
        }
    }
    return false;
}

/* A name of an environment-style assignment or a config key: letters,
 * digits, _ . - (PASSWORD, db.password, api-key). */
static bool is_name(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return false;
    }
    return true;
}

/* Appends s[0..n) with the password of every URL in it replaced. The
 * authority is split as Go's url.Parse does: it ends at the first / ? or
 * #, the user info is what precedes its last @, the password what follows
 * the user info's first :. The next "://" cannot start before the current
 * authority's end (its '/' would have ended it), so the copied pieces stay
 * in order. */
static void put_urls(cd__buf *out, const char *s, size_t n)
{
    size_t copied = 0, from = 0;
    for (;;) {
        const char *sep = n - from >= 3 ? memmem(s + from, n - from, "://", 3) : NULL;
        if (sep == NULL)
            break;
        size_t auth = (size_t)(sep - s) + 3, end = auth;
        while (end < n && s[end] != '/' && s[end] != '?' && s[end] != '#')
            end++;
        size_t at = end;
        while (at > auth && s[at - 1] != '@')
            at--;
        if (at > auth) {
            at--; /* the last '@' */
            const char *colon = memchr(s + auth, ':', at - auth);
            if (colon != NULL) {
                size_t pw = (size_t)(colon - s) + 1;
                cd__buf_put(out, s + copied, pw - copied);
                cd__buf_put(out, REDACTED, REDACTED_LEN);
                copied = at;
            }
        }
        from = auth;
    }
    cd__buf_put(out, s + copied, n - copied);
}

/* Appends an argument that is not a flag (or a flag's value that is not a
 * secret): NAME=VALUE with a secret NAME loses VALUE, else its URLs lose
 * their passwords. */
static void put_word(cd__buf *out, const char *s, size_t n)
{
    const char *eq = memchr(s, '=', n);
    if (eq != NULL) {
        size_t name = (size_t)(eq - s);
        if (name + 1 < n && is_name(s, name) && has_keyword(s, name)) {
            cd__buf_put(out, s, name + 1);
            cd__buf_put(out, REDACTED, REDACTED_LEN);
            return;
        }
    }
    put_urls(out, s, n);
}

void cd__cmdline_redact(const char *args, size_t len, cd__buf *out)
{
    bool value_next = false; /* the previous argument was a secret flag */
    for (size_t i = 0, argi = 0; i < len; argi++) {
        const char *a = args + i;
        size_t n = strnlen(a, len - i);
        i += n + 1; /* past the NUL, or past len for an unterminated last one */
        if (argi == 0) {
            cd__buf_put(out, a, n);
        } else if (value_next) {
            value_next = false;
            if (n > 0)
                cd__buf_put(out, REDACTED, REDACTED_LEN);
        } else if (n >= 2 && a[0] == '-' && !(n == 2 && a[1] == '-')) {
            size_t dashes = 1;
            while (dashes < n && a[dashes] == '-')
                dashes++;
            const char *eq = memchr(a, '=', n);
            size_t name_end = eq != NULL ? (size_t)(eq - a) : n;
            bool secret = has_keyword(a + dashes, name_end - dashes);
            if (eq == NULL) {
                value_next = secret;
                cd__buf_put(out, a, n);
            } else if (secret && name_end + 1 < n) {
                cd__buf_put(out, a, name_end + 1);
                cd__buf_put(out, REDACTED, REDACTED_LEN);
            } else {
                /* --set=db.password=x, --url=https://u:p@h */
                cd__buf_put(out, a, name_end + 1);
                put_word(out, a + name_end + 1, n - name_end - 1);
            }
        } else {
            put_word(out, a, n);
        }
        cd__buf_putc(out, '\0');
    }
}

/* ---- the arguments and the mode ------------------------------------------------- */

/* /proc/self/cmdline and its redacted copy, written once by
 * cd__cmdline_read before the cmdline var is published (the publication's
 * release orders them before any render). red is NULL when the copy could
 * not be made. */
static char *raw, *red;
static size_t rawlen, redlen;
/* cd_vars_redact_cmdline: -1 never called (CDEBUG decides), else the mode. */
static _Atomic int mode_api = -1;

int cd_vars_redact_cmdline(int mode)
{
    int rc = 0;
    if (mode != CD_CMDLINE_SHOW && mode != CD_CMDLINE_HIDE && mode != CD_CMDLINE_SECRETS) {
        /* Before the modes, any non-zero value hid the arguments: a caller
         * still passing one keeps that, and learns of the change. */
        mode = CD_CMDLINE_HIDE;
        rc = -EINVAL;
    }
    atomic_store_explicit(&mode_api, mode, memory_order_relaxed);
    return rc;
}

static int current_mode(void)
{
    int api = atomic_load_explicit(&mode_api, memory_order_relaxed);
    if (api >= 0)
        return api;
    /* cd__cfg is filled by cd_init; a render before it (another library's
     * constructor) must not leak what CDEBUG asked to hide. */
    cd__ensure_init();
    return cd__cfg.cmdlineredact;
}

/* Reads all of /proc/self/cmdline (its size is not known in advance).
 * On any failure nothing is kept: cmdline renders as an empty array. */
static void read_proc(void)
{
    int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    cd__buf b;
    cd__buf_init(&b, 4096);
    char *p;
    while ((p = cd__buf_room(&b, 4096)) != NULL) {
        ssize_t n = read(fd, p, 4096);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        b.len += (size_t)n;
    }
    close(fd);
    /* The last argument must end in NUL for the renderers; the kernel
     * leaves it off when a program rewrote its argv area. */
    if (b.len > 0 && b.p[b.len - 1] != '\0')
        cd__buf_putc(&b, '\0');
    rawlen = b.len;
    raw = cd__buf_finish(&b); /* NULL when a growth failed */
    if (raw == NULL)
        rawlen = 0;
}

void cd__cmdline_read(void)
{
    read_proc();
    cd__buf b;
    cd__buf_init(&b, rawlen + 64);
    cd__cmdline_redact(raw != NULL ? raw : "", rawlen, &b);
    redlen = b.len;
    red = cd__buf_finish(&b); /* NULL when a growth failed */
}

const char *cd__cmdline_shown(size_t *len, bool *hide_rest)
{
    int mode = current_mode();
    *hide_rest = mode == CD_CMDLINE_HIDE || (mode != CD_CMDLINE_SHOW && red == NULL);
    if (mode == CD_CMDLINE_SECRETS && red != NULL) {
        *len = redlen;
        return red;
    }
    *len = raw != NULL ? rawlen : 0;
    return raw != NULL ? raw : "";
}

/* json.Marshal(os.Args): ["prog","arg1",...]. */
void cd__cmdline_json(cd__buf *b)
{
    bool hide;
    size_t len;
    const char *args = cd__cmdline_shown(&len, &hide);
    cd__buf_putc(b, '[');
    size_t i = 0;
    for (int argi = 0; i < len; argi++) {
        size_t n = strlen(args + i);
        if (argi > 0)
            cd__buf_putc(b, ',');
        if (argi > 0 && hide)
            cd__buf_json_str(b, "<redacted>", 10);
        else
            cd__buf_json_str(b, args + i, n);
        i += n + 1;
    }
    cd__buf_putc(b, ']');
}

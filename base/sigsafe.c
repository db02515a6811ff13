/* base/sigsafe.c - see sigsafe.h. Nothing here may allocate, lock or call
 * stdio: it runs inside fatal-signal handlers. */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "base/io.h"
#include "base/sigsafe.h"

/* ---- text -------------------------------------------------------------- */

void cd__sigw_init(cd__sigw *w, int fd, char *mem, size_t cap)
{
    w->fd = fd;
    w->p = mem;
    w->len = 0;
    w->cap = cap;
}

void cd__sigw_flush(cd__sigw *w)
{
    if (w->len > 0)
        (void)cd__write_all(w->fd, w->p, w->len);
    w->len = 0;
}

void cd__sigw_putn(cd__sigw *w, const char *s, size_t n)
{
    while (n > 0) {
        if (w->len == w->cap)
            cd__sigw_flush(w);
        size_t k = w->cap - w->len < n ? w->cap - w->len : n;
        memcpy(w->p + w->len, s, k);
        w->len += k;
        s += k;
        n -= k;
    }
}

void cd__sigw_puts(cd__sigw *w, const char *s)
{
    cd__sigw_putn(w, s, strlen(s));
}

void cd__sigw_hex(cd__sigw *w, uint64_t v)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[18];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = digits[v & 15];
        v >>= 4;
    } while (v != 0);
    tmp[--i] = 'x';
    tmp[--i] = '0';
    cd__sigw_putn(w, tmp + i, sizeof tmp - i);
}

void cd__sigw_udec(cd__sigw *w, uint64_t v)
{
    char tmp[20]; /* UINT64_MAX has 20 digits */
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    cd__sigw_putn(w, tmp + i, sizeof tmp - i);
}

void cd__sigw_dec(cd__sigw *w, int64_t v)
{
    if (v < 0) {
        cd__sigw_putn(w, "-", 1);
        cd__sigw_udec(w, (uint64_t)0 - (uint64_t)v);
    } else {
        cd__sigw_udec(w, (uint64_t)v);
    }
}

size_t cd__quote_byte(unsigned char c, char out[4])
{
    static const char hex[] = "0123456789abcdef";
    const char *esc = NULL;
    switch (c) {
    case '"':
        esc = "\\\"";
        break;
    case '\\':
        esc = "\\\\";
        break;
    case '\n':
        esc = "\\n";
        break;
    case '\t':
        esc = "\\t";
        break;
    case '\r':
        esc = "\\r";
        break;
    default:
        if (c >= 0x20 && c < 0x7f) {
            out[0] = (char)c;
            return 1;
        }
        out[0] = '\\';
        out[1] = 'x';
        out[2] = hex[c >> 4];
        out[3] = hex[c & 15];
        return 4;
    }
    out[0] = esc[0];
    out[1] = esc[1];
    return 2;
}

void cd__sigw_quote(cd__sigw *w, const char *s, size_t max)
{
    cd__sigw_putn(w, "\"", 1);
    for (size_t i = 0; i < max && s[i] != '\0'; i++) {
        char e[4];
        cd__sigw_putn(w, e, cd__quote_byte((unsigned char)s[i], e));
    }
    cd__sigw_putn(w, "\"", 1);
}

/* ---- the file an address is in ------------------------------------------- */

/* A hex number at *s, advancing *s past it. */
static uintptr_t parse_hex(const char **s, const char *end)
{
    uintptr_t v = 0;
    for (; *s < end; (*s)++) {
        char c = **s;
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            break;
        v = v << 4 | (uintptr_t)d;
    }
    return v;
}

/* Skips spaces, then one field; returns its start (NULL at the line's end). */
static const char *next_field(const char **s, const char *end)
{
    while (*s < end && **s == ' ')
        (*s)++;
    if (*s == end)
        return NULL;
    const char *f = *s;
    while (*s < end && **s != ' ')
        (*s)++;
    return f;
}

/* One line of the maps file, "start-end perms offset dev inode path":
 * fills out[i] for every pc it holds. */
static void match_line(const char *s, const char *end, const uintptr_t *pcs, size_t n,
                       cd__sigmod *out)
{
    uintptr_t start = parse_hex(&s, end);
    if (s == end || *s != '-')
        return;
    s++;
    uintptr_t limit = parse_hex(&s, end);
    const char *perms = next_field(&s, end);
    const char *offs = next_field(&s, end);
    if (perms == NULL || offs == NULL || next_field(&s, end) == NULL || next_field(&s, end) == NULL)
        return;
    uintptr_t off = parse_hex(&offs, end);
    while (s < end && *s == ' ')
        s++;
    size_t plen = (size_t)(end - s);
    if (plen > CD__SIGMOD_PATH - 1)
        plen = CD__SIGMOD_PATH - 1;
    for (size_t i = 0; i < n; i++) {
        if (out[i].found || pcs[i] < start || pcs[i] >= limit)
            continue;
        out[i].found = true;
        out[i].exec = perms[2] == 'x';
        out[i].read = perms[0] == 'r';
        out[i].off = pcs[i] - start + off;
        memcpy(out[i].path, s, plen);
        out[i].path[plen] = '\0';
    }
}

int cd__sig_modules(const uintptr_t *pcs, size_t n, cd__sigmod *out, char *scratch, size_t cap)
{
    for (size_t i = 0; i < n; i++) {
        out[i].found = false;
        out[i].exec = false;
        out[i].read = false;
        out[i].off = 0;
        out[i].path[0] = '\0';
    }
    int fd;
    do
        fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0)
        return -errno;
    size_t have = 0;
    bool skipping = false; /* in a line longer than cap */
    for (;;) {
        ssize_t r = read(fd, scratch + have, cap - have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        have += (size_t)r;
        size_t at = 0;
        for (;;) {
            char *nl = memchr(scratch + at, '\n', have - at);
            if (nl == NULL)
                break;
            if (!skipping)
                match_line(scratch + at, nl, pcs, n, out);
            skipping = false;
            at = (size_t)(nl - scratch) + 1;
        }
        memmove(scratch, scratch + at, have - at);
        have -= at;
        if (have == cap) { /* a line longer than the buffer: drop it */
            have = 0;
            skipping = true;
        }
    }
    close(fd);
    return 0;
}

/* ---- chaining ------------------------------------------------------------- */

bool cd__sig_is_handler(const struct sigaction *sa)
{
    /* sa_handler and sa_sigaction share their storage: SIG_DFL (0) and
     * SIG_IGN read the same through either. */
    return sa->sa_handler != SIG_DFL && sa->sa_handler != SIG_IGN;
}

bool cd__sig_forward(const struct sigaction *sa, int sig, siginfo_t *si, void *uc)
{
    if (!cd__sig_is_handler(sa))
        return false;
    if ((sa->sa_flags & SA_SIGINFO) != 0)
        sa->sa_sigaction(sig, si, uc);
    else
        sa->sa_handler(sig);
    return true;
}

/* examples/freq/rss.c - the documents of examples/freq: generator, files,
 * parser and search; see rss.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cdebug/cdebug.h>

#include "rss.h"

_Noreturn void rss_die_oom(void)
{
    fprintf(stderr, "freq: out of memory\n");
    exit(1);
}

/* ---- The buffer (GC heap) ---------------------------------------------- */

static void sb_reserve(rss_buf *b, size_t more)
{
    if (b->len + more <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 16384;
    while (cap < b->len + more)
        cap *= 2;
    char *p = cd_realloc(b->p, cap);
    if (p == NULL)
        rss_die_oom();
    b->p = p;
    b->cap = cap;
}

static void sb_put(rss_buf *b, const char *s, size_t n)
{
    sb_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void sb_puts(rss_buf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* Appends v in decimal (the generator's only formatting: snprintf would
 * cost more than the rest of an item). */
static void sb_putu(rss_buf *b, uint64_t v)
{
    char tmp[20];
    size_t n = sizeof tmp;
    do {
        tmp[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    sb_put(b, tmp + n, sizeof tmp - n);
}

/* ---- The document generator --------------------------------------------- */

/* splitmix64: tiny, fast and good enough; seeded per document so that
 * document i is the same whatever the mode and whichever task makes it. */
typedef struct rng {
    uint64_t s;
} rng;

static uint64_t rng_next(rng *r)
{
    uint64_t z = (r->s += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* Uniform enough in [0, n) for small n (Lemire's multiply-shift). */
static uint32_t rng_below(rng *r, uint32_t n)
{
    return (uint32_t)(((rng_next(r) >> 32) * n) >> 32);
}

static const char *const vocab[] = {
    "the",       "a",         "of",        "and",       "to",      "in",       "on",
    "for",       "with",      "after",     "before",    "over",    "senate",   "house",
    "vote",      "budget",    "minister",  "economy",   "market",  "election", "campaign",
    "governor",  "court",     "ruling",    "policy",    "trade",   "talks",    "summit",
    "leader",    "party",     "bill",      "law",       "tax",     "health",   "energy",
    "climate",   "report",    "says",      "said",      "new",     "plan",     "deal",
    "week",      "year",      "city",      "state",     "nation",  "world",    "press",
    "office",    "official",  "officials", "spokesman", "aide",    "cabinet",  "reform",
    "crisis",    "strike",    "union",     "workers",   "prices",  "rates",    "bank",
    "chair",     "board",     "council",   "mayor",     "judge",   "panel",    "inquiry",
    "statement", "interview", "visit",     "speech",    "debate",  "poll",     "voters",
    "Senate",    "Congress",  "Monday",    "Tuesday",   "Friday",  "2020",     "U.S.",
    "Q&amp;A",   "&#x2014;",  "&quot;",    "it&apos;s", "preside", "resident", "dent",
    "precedent",
};
#define NVOCAB (sizeof vocab / sizeof vocab[0])

/* Tokens around the default topic, in XML source form: some are the word
 * "president" in other cases, after decoding, or next to punctuation (they
 * match); some only contain it (they do not). Outside CDATA their entities
 * are decoded; inside CDATA they stay literal text. */
static const char *const specials[] = {
    "president",      "President",
    "PRESIDENT",      "president&apos;s",
    "vice-president", "ex-President",
    "(president)",    "presid&#101;nt",
    "&#x50;resident", "&lt;b&gt;president&lt;/b&gt;",
    "co_president",   "presidents",
    "presidential",   "president2",
    "2president",     "presidentially",
    "pres-ident",     "vicepresident",
};
#define NSPECIALS      (sizeof specials / sizeof specials[0])
#define SPECIAL_ONE_IN 120

/* n space-separated tokens: vocabulary words, now and then a special. */
static void gen_words(rss_buf *b, rng *r, unsigned n)
{
    for (unsigned k = 0; k < n; k++) {
        if (k > 0)
            sb_put(b, " ", 1);
        if (rng_below(r, SPECIAL_ONE_IN) == 0)
            sb_puts(b, specials[rng_below(r, NSPECIALS)]);
        else
            sb_puts(b, vocab[rng_below(r, NVOCAB)]);
        if (rng_below(r, 12) == 0)
            sb_put(b, rng_below(r, 2) ? "," : ".", 1);
    }
}

/* Document i into b (b->len = 0 first). An RSS 2.0 feed of 20 to 60 items,
 * about 13 KB, with the XML features the parser must get right: a prolog,
 * attributes, a channel title and guids that mention the topic but are not
 * item titles or descriptions, descriptions in CDATA, with a comment or a
 * nested element inside (whose text is not the description's own: Go's
 * encoding/xml skips it too), empty and missing descriptions. */
void rss_gen_doc(size_t i, rss_buf *b)
{
    rng r = {0x5eed0000u ^ ((uint64_t)i * 0x9e3779b97f4a7c15u)};
    b->len = 0;
    sb_puts(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<rss version=\"2.0\">\n<channel>\n");
    sb_puts(b, "<title>President watch, feed ");
    sb_putu(b, i);
    sb_puts(b, "</title>\n<link>https://news.example/feeds/");
    sb_putu(b, i);
    sb_puts(b, "</link>\n<description>Daily coverage of the president</description>\n");
    unsigned nitems = 20 + rng_below(&r, 41);
    for (unsigned k = 0; k < nitems; k++) {
        sb_puts(b, "<item id=\"president-");
        sb_putu(b, k);
        sb_puts(b, "\">\n  <title>");
        gen_words(b, &r, 4 + rng_below(&r, 9));
        sb_puts(b, "</title>\n  <link>https://news.example/");
        sb_putu(b, i);
        sb_put(b, "/", 1);
        sb_putu(b, k);
        sb_puts(b, "</link>\n");
        if (rng_below(&r, 4) == 0) {
            sb_puts(b, "  <category>");
            gen_words(b, &r, 1);
            sb_puts(b, "</category>\n");
        }
        uint32_t kind = rng_below(&r, 32);
        if (kind == 0) {
            sb_puts(b, "  <description/>\n");
        } else if (kind == 1) {
            /* no description */
        } else if (kind < 10) {
            sb_puts(b, "  <description><![CDATA[<p>");
            gen_words(b, &r, 12 + rng_below(&r, 49));
            sb_puts(b, "</p>]]></description>\n");
        } else {
            sb_puts(b, "  <description>");
            gen_words(b, &r, 6 + rng_below(&r, 25));
            if (kind < 14)
                sb_puts(b, " <!-- president, see the wire copy -->");
            else if (kind < 16)
                sb_puts(b, " <em>President</em>");
            sb_put(b, " ", 1);
            gen_words(b, &r, 6 + rng_below(&r, 25));
            sb_puts(b, "</description>\n");
        }
        sb_puts(b, "  <guid isPermaLink=\"false\">urn:president:");
        sb_putu(b, i);
        sb_put(b, ":", 1);
        sb_putu(b, k);
        sb_puts(b, "</guid>\n</item>\n");
    }
    sb_puts(b, "</channel>\n</rss>\n");
}

/* ---- Documents on disk (--dir) ------------------------------------------ */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

long rss_list_dir(const char *dir, char ***out)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return -errno;
    char **v = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    long rc = 0;
    while ((errno = 0, e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len < 5 || strcmp(e->d_name + len - 4, ".xml") != 0)
            continue;
        size_t plen = strlen(dir) + 1 + len + 1;
        char *path = malloc(plen);
        if (path == NULL)
            rss_die_oom();
        snprintf(path, plen, "%s/%s", dir, e->d_name);
        struct stat st;
        if (stat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(path);
            continue;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            char **nv = realloc(v, cap * sizeof *v);
            if (nv == NULL)
                rss_die_oom();
            v = nv;
        }
        v[n++] = path;
    }
    if (errno != 0)
        rc = -errno;
    closedir(d);
    if (rc < 0) {
        for (size_t k = 0; k < n; k++)
            free(v[k]);
        free(v);
        return rc;
    }
    if (n > 0)
        qsort(v, n, sizeof *v, cmp_str);
    *out = v;
    return (long)n;
}

int rss_read_file(const char *path, rss_buf *b)
{
    int rc = 0;
    b->len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        goto out_close;
    }
    if ((uint64_t)st.st_size >= RSS_DOC_SIZE_MAX) {
        rc = -EFBIG;
        goto out_close;
    }
    sb_reserve(b, (size_t)st.st_size + 1);
    for (;;) {
        sb_reserve(b, 4096);
        ssize_t n = read(fd, b->p + b->len, b->cap - b->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0)
            break;
        b->len += (size_t)n;
        if (b->len >= RSS_DOC_SIZE_MAX) {
            rc = -EFBIG; /* grew while we read it */
            break;
        }
    }
out_close:
    close(fd);
    return rc;
}

/* ---- The parser --------------------------------------------------------- */

enum { EL_OTHER, EL_CHANNEL, EL_ITEM, EL_TITLE, EL_DESC };

#define DEPTH_MAX 64

/* A non-validating XML parser for what RSS needs. It rejects documents
 * that are not well-formed (mismatched or unclosed tags, bad or unknown
 * references, unquoted attributes, text outside the root...), except that
 * it does not check names against XML's character classes, UTF-8, duplicate
 * attributes or "--" inside comments; a DOCTYPE is skipped, its
 * declarations ignored. Items are the <item> children of the root's
 * <channel> children; an item's title and description are its first
 * <title> and <description> children. Their text is decoded in place:
 * references replaced, CDATA sections unwrapped. Only text directly inside
 * them counts, as with Go's encoding/xml (a nested element's text is
 * skipped).
 *
 * In place is safe because decoding never makes text longer: the write
 * position trails the read position. It never reaches the name of an open
 * element either (end tags are matched against those bytes): the field's
 * own start tag lies before the field, and text is written only at the
 * field's own depth, when every element opened inside it has closed. */
typedef struct parser {
    char *s;
    size_t len, pos;
    const char *err; /* static message; err_pos: byte offset */
    size_t err_pos;
    struct {
        uint32_t name_off, name_len;
        int kind;
    } stack[DEPTH_MAX];
    int depth; /* open elements */
    bool seen_root;
    int cap_depth; /* depth of the title/description being captured, or 0 */
    int cap_kind;
    size_t w;                 /* where captured text goes */
    size_t field_off;         /* where the captured field starts */
    bool has_title, has_desc; /* of the current item */
    rss_items *out;
} parser;

static int fail(parser *p, size_t at, const char *msg)
{
    p->err = msg;
    p->err_pos = at;
    return -1;
}

static bool starts(const parser *p, size_t at, const char *lit)
{
    size_t n = strlen(lit);
    return p->len - at >= n && memcmp(p->s + at, lit, n) == 0;
}

/* Offset of lit at or after from, or SIZE_MAX. */
static size_t find(const parser *p, size_t from, const char *lit)
{
    size_t n = strlen(lit);
    for (size_t i = from; i + n <= p->len; i++) {
        const char *c = memchr(p->s + i, lit[0], p->len - i - n + 1);
        if (c == NULL)
            break;
        i = (size_t)(c - p->s);
        if (memcmp(c, lit, n) == 0)
            return i;
    }
    return SIZE_MAX;
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static bool is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
           (unsigned char)c >= 0x80;
}

static bool is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

static size_t skip_space(const parser *p, size_t i)
{
    while (i < p->len && is_space(p->s[i]))
        i++;
    return i;
}

/* The name at *i, advancing *i past it; false when there is none. */
static bool name_at(const parser *p, size_t *i, uint32_t *off, uint32_t *len)
{
    size_t b = *i;
    if (b >= p->len || !is_name_start(p->s[b]))
        return false;
    size_t e = b + 1;
    while (e < p->len && is_name_char(p->s[e]))
        e++;
    *off = (uint32_t)b;
    *len = (uint32_t)(e - b);
    *i = e;
    return true;
}

static bool name_is(const parser *p, uint32_t off, uint32_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(p->s + off, lit, len) == 0;
}

/* The reference at s[*i] == '&' (up to end): its UTF-8 bytes into out[4],
 * *i past its ';'. Returns the byte count, or -1 (p->err set). */
static int entity(parser *p, size_t *i, size_t end, char out[4])
{
    size_t b = *i, semi = b + 1;
    while (semi < end && semi - b <= 12 && p->s[semi] != ';')
        semi++;
    if (semi >= end || p->s[semi] != ';')
        return fail(p, b, "'&' that does not start a reference");
    const char *r = p->s + b + 1;
    size_t rn = semi - b - 1;
    *i = semi + 1;
    static const struct {
        const char *name;
        char c;
    } named[] = {{"amp", '&'}, {"lt", '<'}, {"gt", '>'}, {"quot", '"'}, {"apos", '\''}};
    for (size_t k = 0; k < sizeof named / sizeof named[0]; k++)
        if (strlen(named[k].name) == rn && memcmp(r, named[k].name, rn) == 0) {
            out[0] = named[k].c;
            return 1;
        }
    if (rn < 2 || r[0] != '#')
        return fail(p, b, "unknown entity");
    uint32_t cp = 0;
    bool hex = r[1] == 'x';
    size_t k = hex ? 2 : 1;
    if (k == rn)
        return fail(p, b, "empty character reference");
    for (; k < rn; k++) {
        char c = r[k];
        uint32_t d;
        if (c >= '0' && c <= '9')
            d = (uint32_t)(c - '0');
        else if (hex && rss_lower(c) >= 'a' && rss_lower(c) <= 'f')
            d = (uint32_t)(rss_lower(c) - 'a' + 10);
        else
            return fail(p, b, "bad character reference");
        cp = cp * (hex ? 16 : 10) + d;
        if (cp > 0x10FFFF)
            return fail(p, b, "character reference out of range");
    }
    /* XML's Char production: no NUL or other C0 controls but tab, LF, CR;
     * no surrogates; no U+FFFE/U+FFFF. */
    if ((cp < 0x20 && cp != 0x9 && cp != 0xA && cp != 0xD) || (cp >= 0xD800 && cp <= 0xDFFF) ||
        cp == 0xFFFE || cp == 0xFFFF)
        return fail(p, b, "character reference to a character XML forbids");
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Whether text at this point belongs to the field being captured. */
static bool capturing(const parser *p)
{
    return p->cap_depth != 0 && p->depth == p->cap_depth;
}

/* Character data s[b, end): references checked everywhere, the decoded text
 * appended to the field when capturing. Outside the root only white space
 * is allowed. */
static int text(parser *p, size_t b, size_t end)
{
    if (p->depth == 0) {
        for (size_t i = b; i < end; i++)
            if (!is_space(p->s[i]))
                return fail(p, i, "text outside the root element");
        return 0;
    }
    bool keep = capturing(p);
    size_t i = b;
    while (i < end) {
        const char *amp = memchr(p->s + i, '&', end - i);
        size_t stop = amp ? (size_t)(amp - p->s) : end;
        if (keep && p->w != i)
            memmove(p->s + p->w, p->s + i, stop - i);
        if (keep)
            p->w += stop - i;
        i = stop;
        if (i == end)
            break;
        char u[4];
        int n = entity(p, &i, end, u); /* reads the whole reference first */
        if (n < 0)
            return -1;
        if (keep) {
            memcpy(p->s + p->w, u, (size_t)n);
            p->w += (size_t)n;
        }
    }
    return 0;
}

static int push_item(parser *p)
{
    rss_items *it = p->out;
    if (it->n == it->cap) {
        size_t cap = it->cap ? it->cap * 2 : 64;
        rss_item *v = cd_realloc(it->v, cap * sizeof *v);
        if (v == NULL)
            rss_die_oom();
        it->v = v;
        it->cap = cap;
    }
    it->v[it->n++] = (rss_item){0, 0, 0, 0};
    p->has_title = p->has_desc = false;
    return 0;
}

/* A start tag's name is known and the tag ended: push the element. */
static int open_element(parser *p, size_t at, uint32_t off, uint32_t len)
{
    if (p->depth == 0 && p->seen_root)
        return fail(p, at, "a second root element");
    if (p->depth == DEPTH_MAX)
        return fail(p, at, "elements nested too deeply");
    int parent = p->depth > 0 ? p->stack[p->depth - 1].kind : -1;
    int kind = EL_OTHER;
    if (p->depth == 1 && name_is(p, off, len, "channel"))
        kind = EL_CHANNEL;
    else if (parent == EL_CHANNEL && name_is(p, off, len, "item"))
        kind = EL_ITEM;
    else if (parent == EL_ITEM && !p->has_title && name_is(p, off, len, "title"))
        kind = EL_TITLE;
    else if (parent == EL_ITEM && !p->has_desc && name_is(p, off, len, "description"))
        kind = EL_DESC;
    p->stack[p->depth].name_off = off;
    p->stack[p->depth].name_len = len;
    p->stack[p->depth].kind = kind;
    p->depth++;
    p->seen_root = true;
    if (kind == EL_ITEM)
        return push_item(p);
    if (kind == EL_TITLE || kind == EL_DESC) {
        p->cap_depth = p->depth;
        p->cap_kind = kind;
        p->field_off = p->w = p->pos; /* just past the start tag */
    }
    return 0;
}

static void close_element(parser *p)
{
    p->depth--;
    if (p->cap_depth == 0 || p->depth + 1 != p->cap_depth)
        return;
    rss_item *it = &p->out->v[p->out->n - 1];
    uint32_t off = (uint32_t)p->field_off, len = (uint32_t)(p->w - p->field_off);
    if (p->cap_kind == EL_TITLE) {
        it->title_off = off;
        it->title_len = len;
        p->has_title = true;
    } else {
        it->desc_off = off;
        it->desc_len = len;
        p->has_desc = true;
    }
    p->cap_depth = 0;
}

/* <name attr="v" ...> or <name .../> at p->pos == '<'. */
static int start_tag(parser *p)
{
    size_t lt = p->pos, i = lt + 1;
    uint32_t off, len;
    if (!name_at(p, &i, &off, &len))
        return fail(p, lt, "'<' not followed by a name");
    for (;;) {
        size_t j = skip_space(p, i);
        if (j >= p->len)
            return fail(p, lt, "unterminated start tag");
        if (p->s[j] == '>' || (p->s[j] == '/' && j + 1 < p->len && p->s[j + 1] == '>')) {
            bool empty = p->s[j] == '/';
            p->pos = j + (empty ? 2 : 1);
            if (open_element(p, lt, off, len) != 0)
                return -1;
            if (empty)
                close_element(p);
            return 0;
        }
        if (j == i)
            return fail(p, j, "expected white space before an attribute");
        uint32_t aoff, alen;
        if (!name_at(p, &j, &aoff, &alen))
            return fail(p, j, "bad attribute name");
        j = skip_space(p, j);
        if (j >= p->len || p->s[j] != '=')
            return fail(p, j, "attribute without '='");
        j = skip_space(p, j + 1);
        if (j >= p->len || (p->s[j] != '"' && p->s[j] != '\''))
            return fail(p, j, "attribute value not quoted");
        char q = p->s[j];
        const char *e = memchr(p->s + j + 1, q, p->len - j - 1);
        if (e == NULL)
            return fail(p, j, "unterminated attribute value");
        size_t vend = (size_t)(e - p->s);
        if (memchr(p->s + j + 1, '<', vend - j - 1) != NULL)
            return fail(p, j, "'<' in an attribute value");
        for (size_t k = j + 1; k < vend; k++) /* check its references */
            if (p->s[k] == '&') {
                char u[4];
                if (entity(p, &k, vend, u) < 0)
                    return -1;
                k--;
            }
        i = vend + 1;
    }
}

/* </name> at p->pos. */
static int end_tag(parser *p)
{
    size_t lt = p->pos, i = lt + 2;
    uint32_t off, len;
    if (!name_at(p, &i, &off, &len))
        return fail(p, lt, "'</' not followed by a name");
    i = skip_space(p, i);
    if (i >= p->len || p->s[i] != '>')
        return fail(p, lt, "unterminated end tag");
    if (p->depth == 0)
        return fail(p, lt, "end tag without a start tag");
    uint32_t topoff = p->stack[p->depth - 1].name_off, toplen = p->stack[p->depth - 1].name_len;
    if (len != toplen || memcmp(p->s + off, p->s + topoff, len) != 0)
        return fail(p, lt, "end tag does not match the open element");
    p->pos = i + 1;
    close_element(p);
    return 0;
}

int rss_parse(char *s, size_t len, rss_items *out, const char **err, size_t *err_pos)
{
    parser p = {.s = s, .len = len, .out = out};
    out->n = 0;
    while (p.pos < p.len) {
        if (p.s[p.pos] != '<') {
            const char *lt = memchr(p.s + p.pos, '<', p.len - p.pos);
            size_t end = lt ? (size_t)(lt - p.s) : p.len;
            if (text(&p, p.pos, end) != 0)
                goto bad;
            p.pos = end;
            continue;
        }
        size_t at = p.pos, e;
        if (starts(&p, at, "<?")) {
            if ((e = find(&p, at + 2, "?>")) == SIZE_MAX) {
                fail(&p, at, "unterminated processing instruction");
                goto bad;
            }
            p.pos = e + 2;
        } else if (starts(&p, at, "<!--")) {
            if ((e = find(&p, at + 4, "-->")) == SIZE_MAX) {
                fail(&p, at, "unterminated comment");
                goto bad;
            }
            p.pos = e + 3;
        } else if (starts(&p, at, "<![CDATA[")) {
            if (p.depth == 0) {
                fail(&p, at, "CDATA outside the root element");
                goto bad;
            }
            if ((e = find(&p, at + 9, "]]>")) == SIZE_MAX) {
                fail(&p, at, "unterminated CDATA section");
                goto bad;
            }
            if (capturing(&p)) { /* literal text: no references inside */
                memmove(p.s + p.w, p.s + at + 9, e - at - 9);
                p.w += e - at - 9;
            }
            p.pos = e + 3;
        } else if (starts(&p, at, "<!DOCTYPE")) {
            if (p.seen_root) {
                fail(&p, at, "DOCTYPE after the root element");
                goto bad;
            }
            /* Skipped, internal subset included; its declarations (custom
             * entities) are not honoured: using one is an unknown entity. */
            int bracket = 0;
            for (e = at + 9; e < p.len; e++) {
                char c = p.s[e];
                if (c == '[')
                    bracket++;
                else if (c == ']')
                    bracket--;
                else if (c == '>' && bracket <= 0)
                    break;
            }
            if (e >= p.len) {
                fail(&p, at, "unterminated DOCTYPE");
                goto bad;
            }
            p.pos = e + 1;
        } else if (starts(&p, at, "</")) {
            if (end_tag(&p) != 0)
                goto bad;
        } else if (start_tag(&p) != 0) {
            goto bad;
        }
    }
    if (p.depth > 0) {
        fail(&p, p.len, "document ends inside an element");
        goto bad;
    }
    if (!p.seen_root) {
        fail(&p, p.len, "no root element");
        goto bad;
    }
    return 0;
bad:
    *err = p.err;
    *err_pos = p.err_pos;
    return -1;
}

/* ---- The search --------------------------------------------------------- */

/* Whether t[0, n) contains the (lowercase) word w[0, m) as a whole word: no
 * letter or digit right before or after it, ASCII case ignored. O(n * m). */
static bool has_word(const char *t, size_t n, const char *w, size_t m)
{
    for (size_t i = 0; i + m <= n; i++) {
        if (rss_lower(t[i]) != w[0] || (i > 0 && rss_is_word(t[i - 1])))
            continue;
        size_t k = 1;
        while (k < m && rss_lower(t[i + k]) == w[k])
            k++;
        if (k == m && (i + m == n || !rss_is_word(t[i + m])))
            return true;
    }
    return false;
}

/* The Go original's loop: an item counts once, title first. */
uint64_t rss_count(const char *s, const rss_items *it, const char *topic, size_t topic_len)
{
    uint64_t found = 0;
    for (size_t k = 0; k < it->n; k++) {
        const rss_item *x = &it->v[k];
        if (has_word(s + x->title_off, x->title_len, topic, topic_len) ||
            has_word(s + x->desc_off, x->desc_len, topic, topic_len))
            found++;
    }
    return found;
}

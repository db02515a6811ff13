/* examples/freq.c - the execution-tracing walkthrough's program, in C.
 *
 * The Go original (the seeds' "Execution Tracing" section) counts how many
 * items of 4000 RSS documents mention a topic: each document is read,
 * decoded with xml.Unmarshal, and every <item> whose title or description
 * contains the topic counts once. It is then made concurrent in several ways
 * and the traces of the variants are compared. This program does the same
 * on cdebug's task pool:
 *
 *     CDMAXPROCS=2 ./build/examples/freq --mode=serial
 *     Searching 4000 files, found president 29516 times.
 *     freq: mode=serial workers=2 tasks=1 elapsed=257.3ms
 *
 *     CDEBUG=trace=serial.trace CDMAXPROCS=2 ./build/examples/freq --mode=serial
 *     CDEBUG=trace=numcpu.trace CDMAXPROCS=2 ./build/examples/freq --mode=numcpu
 *     ./build/viewer/cdebug-trace dump numcpu.trace | grep 'REGION_BEGIN.*"parse"' | head
 *
 * Modes (--mode=), the seed's find functions:
 *
 *   serial   find: one task loops over every document. One worker is busy,
 *            the others idle: the trace shows every region on one thread.
 *   fanout   findConcurrent: one task per document, all spawned at once,
 *            joined with a waitgroup.
 *   bounded  findConcurrentSem: one task per document, at most CDMAXPROCS
 *            of them spawned and not yet finished at any time.
 *   numcpu   findNumCPU(Tasks): one task per worker, each taking a
 *            contiguous slice of the documents; per-task partial sums.
 *
 * The documents are generated in memory, deterministically (document i is a
 * function of i only), so the counts never change between runs or modes;
 * generating one stands for the seed's open-and-read of a file. --dump=DIR
 * writes them out as DIR/000000.xml ...; --dir=DIR searches the .xml files of
 * a directory instead (read inside the tasks, each read bracketed as a
 * blocking call).
 *
 * Each document goes through three steps, each a trace region: "load"
 * (generate or read), "parse" (a small XML parser: elements, attributes,
 * comments, CDATA, processing instructions, character and entity
 * references; malformed input is an error) and "search" (case-insensitive
 * whole-word match of the topic in each item's title, then description).
 * The run is a user task "freq" begun on main with a log of the mode; every
 * pool task opens a child user task "chunk", so the regions it records are
 * attributed to the run. docs/freq.md walks through the traces.
 *
 * Differences from the Go program, on purpose:
 *   - the topic matches as a word, ignoring ASCII case ("President" counts,
 *     "presidential" does not); Go's strings.Contains is case-sensitive and
 *     matches inside words;
 *   - a document that cannot be read or parsed is reported and the others
 *     are still counted (exit status 1); Go returns 0 at the first error.
 *
 * Usage: freq [--mode=M] [--docs=N] [--topic=WORD] [--dir=DIR] | --dump=DIR
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cdebug/cdebug.h>

#define TOPIC_MAX    64
#define DOCS_MAX     1000000
#define DOC_SIZE_MAX (64u << 20) /* item offsets are 32-bit; also a sanity bound */

/* ---- Options ------------------------------------------------------------ */

typedef enum mode { MODE_SERIAL, MODE_FANOUT, MODE_BOUNDED, MODE_NUMCPU } mode;
static const char *const mode_names[] = {"serial", "fanout", "bounded", "numcpu"};

typedef struct options {
    mode mode;
    uint64_t docs;
    const char *topic; /* as given, for the output */
    const char *dir;   /* --dir: search DIR's .xml files instead */
    const char *dump;  /* --dump: write the documents to DIR and exit */
} options;

static options opt = {
    .mode = MODE_SERIAL,
    .docs = 4000,
    .topic = "president",
};

/* ---- The run ------------------------------------------------------------ */

/* Shared by every task of the run. Tasks get a document index or a slice as
 * their argument and find the rest here; it is written by main before the
 * first task is spawned and read-only afterwards, except the counters. */
typedef struct run {
    char topic[TOPIC_MAX + 1]; /* lowercased */
    size_t topic_len;
    char **files; /* --dir: paths (malloc), sorted; NULL when generating */
    size_t ndocs;
    cd_trace_task_id task;       /* the "freq" user task */
    cd_waitgroup wg;             /* every mode: main waits for its tasks */
    sem_t slots;                 /* bounded: free in-flight slots */
    atomic_uint_fast64_t found;  /* fanout, bounded: items found */
    atomic_uint_fast64_t errors; /* documents that failed to load or parse */
} run;

static run R;

/* ---- Small helpers ------------------------------------------------------ */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ASCII only, independent of the locale: the match is defined on bytes. */
static inline char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static inline bool is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static _Noreturn void die_oom(void)
{
    fprintf(stderr, "freq: out of memory\n");
    exit(1);
}

/* ---- Growable byte buffer on the GC heap -------------------------------- */

/* Pointer-free GC memory, never freed by hand: a buffer is reused for the
 * documents of one chunk and is garbage once the chunk is done, so fanout
 * and bounded (a chunk per document) keep the collector busy, and its work
 * shows in the trace as in the seed's. Out of memory is fatal: a half-built
 * document cannot be searched. */
typedef struct sbuf {
    char *p;
    size_t len, cap;
} sbuf;

static void sb_reserve(sbuf *b, size_t more)
{
    if (b->len + more <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 16384;
    while (cap < b->len + more)
        cap *= 2;
    char *p = cd_realloc(b->p, cap);
    if (p == NULL)
        die_oom();
    b->p = p;
    b->cap = cap;
}

static void sb_put(sbuf *b, const char *s, size_t n)
{
    sb_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void sb_puts(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* Appends v in decimal (the generator's only formatting: snprintf would
 * cost more than the rest of an item). */
static void sb_putu(sbuf *b, uint64_t v)
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
static void gen_words(sbuf *b, rng *r, unsigned n)
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
static void gen_doc(size_t i, sbuf *b)
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

/* The regular files named *.xml in dir, sorted, as malloc'd paths. Returns
 * the count (0 included) or a negative errno. */
static long list_dir(const char *dir, char ***out)
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
            die_oom();
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
                die_oom();
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

/* Reads path into b. A file read is a blocking call: bracketing it lets the
 * worker run other tasks meanwhile, as Go's scheduler does around a read(2)
 * that takes long. Returns 0 or a negative errno (-EFBIG above DOC_SIZE_MAX). */
static int read_file(const char *path, sbuf *b)
{
    int rc = 0;
    b->len = 0;
    cd_block_begin("IO wait");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        rc = -errno;
        goto out_close;
    }
    if ((uint64_t)st.st_size >= DOC_SIZE_MAX) {
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
        if (b->len >= DOC_SIZE_MAX) {
            rc = -EFBIG; /* grew while we read it */
            break;
        }
    }
out_close:
    close(fd);
out:
    cd_block_end();
    return rc;
}

/* ---- The parser --------------------------------------------------------- */

/* What the search needs: each <item>'s title and description, as offsets
 * into the document's text, which the parser has decoded in place. */
typedef struct item {
    uint32_t title_off, title_len;
    uint32_t desc_off, desc_len;
} item;

typedef struct items {
    item *v; /* pointer-free GC memory */
    size_t n, cap;
} items;

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
    items *out;
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
        else if (hex && lower(c) >= 'a' && lower(c) <= 'f')
            d = (uint32_t)(lower(c) - 'a' + 10);
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
    items *it = p->out;
    if (it->n == it->cap) {
        size_t cap = it->cap ? it->cap * 2 : 64;
        item *v = cd_realloc(it->v, cap * sizeof *v);
        if (v == NULL)
            die_oom();
        it->v = v;
        it->cap = cap;
    }
    it->v[it->n++] = (item){0, 0, 0, 0};
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
    item *it = &p->out->v[p->out->n - 1];
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

/* Parses s[0, len) (modified in place) into out. Returns 0, or -1
 * with the message and byte offset in *err / *err_pos. O(len). */
static int parse_doc(char *s, size_t len, items *out, const char **err, size_t *err_pos)
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

/* Whether t[0, n) contains the (lowercase) topic as a whole word: no letter
 * or digit right before or after it, ASCII case ignored. O(n * topic). */
static bool has_word(const char *t, size_t n)
{
    const char *w = R.topic;
    size_t m = R.topic_len;
    for (size_t i = 0; i + m <= n; i++) {
        if (lower(t[i]) != w[0] || (i > 0 && is_word(t[i - 1])))
            continue;
        size_t k = 1;
        while (k < m && lower(t[i + k]) == w[k])
            k++;
        if (k == m && (i + m == n || !is_word(t[i + m])))
            return true;
    }
    return false;
}

/* The seed's loop: an item counts once, title first. */
static uint64_t search_items(const char *s, const items *it)
{
    uint64_t found = 0;
    for (size_t k = 0; k < it->n; k++) {
        const item *x = &it->v[k];
        if (has_word(s + x->title_off, x->title_len) || has_word(s + x->desc_off, x->desc_len))
            found++;
    }
    return found;
}

/* ---- One document, one chunk -------------------------------------------- */

/* Loads, parses and searches document i, one region per step. Returns the
 * items found, or -1 after reporting the error on stderr. Buffers are
 * reused across the documents of a chunk (caller-owned). */
static int64_t process_doc(size_t i, sbuf *b, items *it)
{
    int rc = 0;
    const char *err = NULL;
    size_t err_pos = 0;
    uint64_t found = 0;

    CD_TRACE_REGION("load")
    {
        if (R.files != NULL)
            rc = read_file(R.files[i], b);
        else
            gen_doc(i, b);
    }
    if (rc != 0) {
        fprintf(stderr, "freq: %s: %s\n", R.files[i], strerror(-rc));
        return -1;
    }
    CD_TRACE_REGION("parse")
    {
        rc = parse_doc(b->p, b->len, it, &err, &err_pos);
    }
    if (rc != 0) {
        if (R.files != NULL)
            fprintf(stderr, "freq: %s: byte %zu: %s\n", R.files[i], err_pos, err);
        else
            fprintf(stderr, "freq: document %zu: byte %zu: %s\n", i, err_pos, err);
        return -1;
    }
    CD_TRACE_REGION("search")
    {
        found = search_items(b->p, it);
    }
    return (int64_t)found;
}

/* Documents [begin, end) inside a user task "chunk", child of the run's:
 * regions are attributed to the thread's current user task, and on a pool
 * thread that is the one this task opens. */
static uint64_t run_chunk(size_t begin, size_t end)
{
    cd_trace_task_id t = cd_trace_task_begin(R.task, "chunk");
    sbuf b = {0};
    items it = {0};
    uint64_t found = 0;
    for (size_t i = begin; i < end; i++) {
        int64_t n = process_doc(i, &b, &it);
        if (n < 0)
            atomic_fetch_add_explicit(&R.errors, 1, memory_order_relaxed);
        else
            found += (uint64_t)n;
    }
    cd_trace_task_end(t);
    return found;
}

/* ---- The modes ---------------------------------------------------------- */

typedef struct slice {
    size_t begin, end;
    uint64_t found; /* written by its task, read by main after the wait */
} slice;

static void spawn(const char *name, void (*fn)(void *), void *arg)
{
    cd_wg_add(&R.wg, 1);
    int rc = cd_go_named(name, fn, arg);
    if (rc != 0) {
        fprintf(stderr, "freq: cd_go: %s\n", cd_strerror(rc));
        exit(1);
    }
}

static void slice_task(void *arg)
{
    slice *s = arg;
    s->found = run_chunk(s->begin, s->end);
    cd_wg_done(&R.wg);
}

static void doc_task(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    atomic_fetch_add_explicit(&R.found, run_chunk(i, i + 1), memory_order_relaxed);
    cd_wg_done(&R.wg);
}

/* bounded: release the slot before cd_wg_done, after which main may return
 * and destroy the semaphore. sem_post never blocks. */
static void bounded_task(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    atomic_fetch_add_explicit(&R.found, run_chunk(i, i + 1), memory_order_relaxed);
    sem_post(&R.slots);
    cd_wg_done(&R.wg);
}

/* numcpu (and serial, with one slice): contiguous slices, the first
 * ndocs % nslices of them one document longer. */
static uint64_t run_slices(size_t nslices, const char *name)
{
    slice *v = calloc(nslices, sizeof *v);
    if (v == NULL)
        die_oom();
    size_t q = R.ndocs / nslices, rem = R.ndocs % nslices, at = 0;
    for (size_t k = 0; k < nslices; k++) {
        v[k].begin = at;
        at += q + (k < rem);
        v[k].end = at;
        spawn(name, slice_task, &v[k]);
    }
    cd_wg_wait(&R.wg);
    uint64_t found = 0;
    for (size_t k = 0; k < nslices; k++)
        found += v[k].found;
    free(v);
    return found;
}

/* bounded: the seed's findConcurrentSem spawns every goroutine and has each
 * block on a buffered channel until a slot is free. Here a task that blocks
 * holds an OS thread (docs/scheduler.md: no stack switching), so thousands
 * of tasks waiting for a slot would be thousands of threads. The limit is
 * enforced on the spawning side instead: main, which is not a worker and
 * may block, takes a slot before each cd_go and the task gives it back when
 * it is done. At most limit tasks are queued or running at once, and no
 * task ever waits. */
static uint64_t run_bounded(size_t limit)
{
    if (sem_init(&R.slots, 0, (unsigned)limit) != 0) {
        fprintf(stderr, "freq: sem_init: %s\n", strerror(errno));
        exit(1);
    }
    for (size_t i = 0; i < R.ndocs; i++) {
        cd_block_begin("semacquire"); /* main: only records the state */
        while (sem_wait(&R.slots) != 0 && errno == EINTR)
            ;
        cd_block_end();
        spawn("freq.bounded", bounded_task, (void *)(uintptr_t)i);
    }
    cd_wg_wait(&R.wg);
    sem_destroy(&R.slots);
    return atomic_load(&R.found);
}

static uint64_t run_fanout(void)
{
    for (size_t i = 0; i < R.ndocs; i++)
        spawn("freq.fanout", doc_task, (void *)(uintptr_t)i);
    cd_wg_wait(&R.wg);
    return atomic_load(&R.found);
}

/* ---- --dump ------------------------------------------------------------- */

static int dump_docs(void)
{
    if (mkdir(opt.dump, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "freq: %s: %s\n", opt.dump, strerror(errno));
        return 1;
    }
    sbuf b = {0};
    size_t plen = strlen(opt.dump) + 32;
    char *path = malloc(plen);
    if (path == NULL)
        die_oom();
    for (size_t i = 0; i < opt.docs; i++) {
        gen_doc(i, &b);
        snprintf(path, plen, "%s/%06zu.xml", opt.dump, i);
        FILE *f = fopen(path, "w");
        bool ok = f != NULL && fwrite(b.p, 1, b.len, f) == b.len;
        if (f != NULL && fclose(f) != 0)
            ok = false;
        if (!ok) {
            fprintf(stderr, "freq: %s: %s\n", path, strerror(errno));
            free(path);
            return 1;
        }
    }
    free(path);
    printf("freq: wrote %" PRIu64 " documents to %s\n", opt.docs, opt.dump);
    return 0;
}

/* ---- Command line ------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: freq [--mode=MODE] [--docs=N] [--topic=WORD] [--dir=DIR]\n"
            "       freq --dump=DIR [--docs=N]\n"
            "Counts the items of N generated RSS documents whose title or description\n"
            "contains WORD (a whole word, any case), as the Go tracing walkthrough does.\n"
            "  --mode=MODE   serial: one task; fanout: a task per document; bounded: a\n"
            "                task per document, at most CDMAXPROCS at once; numcpu: a task\n"
            "                per worker, each on a slice (default serial)\n"
            "  --docs=N      documents to generate (1..%d, default 4000)\n"
            "  --topic=WORD  letters and digits, at most %d (default president)\n"
            "  --dir=DIR     search DIR/*.xml instead of generated documents\n"
            "  --dump=DIR    write the generated documents to DIR/NNNNNN.xml and exit\n"
            "Try: CDEBUG=trace=t.out CDMAXPROCS=2 freq --mode=numcpu; cdebug-trace dump t.out\n",
            DOCS_MAX, TOPIC_MAX);
}

/* Strict unsigned decimal in [min, max]: digits only, no sign or spaces. */
static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (*s == '\0')
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

static const char *flag_value(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

/* Returns -1 to run, else the exit status (0 after --help, 2 on misuse). */
static int parse_args(int argc, char **argv)
{
    bool set_docs = false, set_mode = false, set_topic = false;
    const char *v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if ((v = flag_value(a, "--mode")) != NULL) {
            size_t k;
            for (k = 0; k < sizeof mode_names / sizeof mode_names[0]; k++)
                if (strcmp(v, mode_names[k]) == 0)
                    break;
            if (k == sizeof mode_names / sizeof mode_names[0]) {
                fprintf(stderr,
                        "freq: invalid --mode \"%s\": want serial, fanout, bounded or "
                        "numcpu\n",
                        v);
                goto bad;
            }
            opt.mode = (mode)k;
            set_mode = true;
        } else if ((v = flag_value(a, "--docs")) != NULL) {
            if (!parse_u64(v, 1, DOCS_MAX, &opt.docs)) {
                fprintf(stderr, "freq: invalid --docs \"%s\": want an integer in [1, %d]\n", v,
                        DOCS_MAX);
                goto bad;
            }
            set_docs = true;
        } else if ((v = flag_value(a, "--topic")) != NULL) {
            size_t n = strlen(v);
            bool ok = n > 0 && n <= TOPIC_MAX;
            for (size_t k = 0; ok && k < n; k++)
                ok = is_word(v[k]);
            if (!ok) {
                fprintf(stderr,
                        "freq: invalid --topic \"%s\": want 1 to %d ASCII letters and digits\n", v,
                        TOPIC_MAX);
                goto bad;
            }
            opt.topic = v;
            set_topic = true;
        } else if ((v = flag_value(a, "--dir")) != NULL && *v != '\0') {
            opt.dir = v;
        } else if ((v = flag_value(a, "--dump")) != NULL && *v != '\0') {
            opt.dump = v;
        } else {
            fprintf(stderr, "freq: unknown or incomplete argument \"%s\"\n", a);
            goto bad;
        }
    }
    if (opt.dir != NULL && (set_docs || opt.dump != NULL)) {
        fprintf(stderr, "freq: --dir takes its documents from DIR: no --docs or --dump\n");
        goto bad;
    }
    if (opt.dump != NULL && (set_mode || set_topic)) {
        fprintf(stderr, "freq: --dump only writes documents: no --mode or --topic\n");
        goto bad;
    }
    return -1;
bad:
    usage(stderr);
    return 2;
}

int main(int argc, char **argv)
{
    int code = parse_args(argc, argv);
    if (code >= 0)
        return code;

    int rc = cd_init(); /* already done by the library constructor; 0 again */
    if (rc != 0) {
        fprintf(stderr, "freq: cd_init: %s\n", cd_strerror(rc));
        return 1;
    }
    if (opt.dump != NULL) {
        code = dump_docs();
        cd_shutdown();
        return code;
    }

    R.topic_len = strlen(opt.topic);
    for (size_t k = 0; k <= R.topic_len; k++)
        R.topic[k] = lower(opt.topic[k]);
    if (opt.dir != NULL) {
        long n = list_dir(opt.dir, &R.files);
        if (n < 0) {
            fprintf(stderr, "freq: %s: %s\n", opt.dir, strerror((int)-n));
            return 1;
        }
        if (n == 0) {
            fprintf(stderr, "freq: %s: no .xml files\n", opt.dir);
            return 1;
        }
        R.ndocs = (size_t)n;
    } else {
        R.ndocs = (size_t)opt.docs;
    }
    cd_wg_init(&R.wg);
    size_t workers = (size_t)cd_maxprocs();

    double t0 = now_ms();
    R.task = cd_trace_task_begin(0, "freq");
    cd_trace_log("mode", mode_names[opt.mode]);
    uint64_t found = 0;
    size_t tasks = 0;
    switch (opt.mode) {
    case MODE_SERIAL:
        found = run_slices(1, "freq.serial");
        tasks = 1;
        break;
    case MODE_FANOUT:
        found = run_fanout();
        tasks = R.ndocs;
        break;
    case MODE_BOUNDED:
        found = run_bounded(workers);
        tasks = R.ndocs;
        break;
    case MODE_NUMCPU:
        tasks = workers < R.ndocs ? workers : R.ndocs;
        found = run_slices(tasks, "freq.numcpu");
        break;
    }
    cd_trace_task_end(R.task);
    double elapsed = now_ms() - t0;

    printf("Searching %zu files, found %s %" PRIu64 " times.\n", R.ndocs, opt.topic, found);
    printf("freq: mode=%s workers=%zu tasks=%zu elapsed=%.1fms\n", mode_names[opt.mode], workers,
           tasks, elapsed);
    fflush(stdout);
    uint64_t errors = atomic_load(&R.errors);
    if (errors > 0)
        fprintf(stderr, "freq: %" PRIu64 " of %zu documents could not be read or parsed\n", errors,
                R.ndocs);
    if (R.files != NULL) {
        for (size_t k = 0; k < R.ndocs; k++)
            free(R.files[k]);
        free(R.files);
    }
    cd_shutdown();
    return errors > 0 ? 1 : 0;
}

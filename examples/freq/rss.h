/* examples/freq/rss.h - the documents of examples/freq, apart from the
 * tracing lesson in freq.c: RSS 2.0 feeds generated deterministically or
 * read from files, a small XML parser that finds each <item>'s title and
 * description, and the whole-word search of the topic in them.
 *
 * The helpers call no trace API: freq.c brackets each step in its regions
 * and the file reads in cd_block_begin/cd_block_end. Buffers are GC memory
 * (cd_realloc), so the collector's work shows in the traces as in the Go
 * program's. Out of memory is fatal (rss_die_oom). docs/freq.md describes
 * the documents and what the parser accepts.
 */
#ifndef CDEBUG_EXAMPLES_FREQ_RSS_H
#define CDEBUG_EXAMPLES_FREQ_RSS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RSS_DOC_SIZE_MAX (64u << 20) /* item offsets are 32-bit; also a sanity bound */

/* ASCII only, independent of the locale: the match is defined on bytes. */
static inline char rss_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

/* A letter or digit: what a topic is made of, and what may not touch it. */
static inline bool rss_is_word(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Prints "freq: out of memory" and exits 1. */
_Noreturn void rss_die_oom(void);

/* A growable byte buffer on the GC heap (pointer-free, never freed by
 * hand): a buffer is reused for the documents of one chunk and is garbage
 * once the chunk is done, so fanout and bounded (a chunk per document)
 * keep the collector busy. Start it zeroed: rss_buf b = {0}. */
typedef struct rss_buf {
    char *p;
    size_t len, cap;
} rss_buf;

/* Document i into b (b->len = 0 first): an RSS 2.0 feed of 20 to 60
 * items, about 13 KB, a function of i only, whatever the mode and task. */
void rss_gen_doc(size_t i, rss_buf *b);

/* The regular files named *.xml in dir, sorted, as malloc'd paths in
 * *out. Returns the count (0 included) or a negative errno. */
long rss_list_dir(const char *dir, char ***out);

/* Reads the file at path into b (b->len = 0 first). Returns 0 or a
 * negative errno (-EFBIG from RSS_DOC_SIZE_MAX up). Blocks in the file
 * system: the caller brackets it (cd_block_begin). */
int rss_read_file(const char *path, rss_buf *b);

/* What the search needs: each <item>'s title and description, as offsets
 * into the document's text, which the parser has decoded in place. */
typedef struct rss_item {
    uint32_t title_off, title_len;
    uint32_t desc_off, desc_len;
} rss_item;

typedef struct rss_items {
    rss_item *v; /* pointer-free GC memory */
    size_t n, cap;
} rss_items;

/* Parses s[0, len) (modified in place) into out (reused: out->n = 0
 * first). Returns 0, or -1 with a static message and the byte offset in
 * *err / *err_pos. O(len). */
int rss_parse(char *s, size_t len, rss_items *out, const char **err, size_t *err_pos);

/* The items of document s whose title, else description, contains topic
 * (lowercase, topic_len letters and digits) as a whole word, ASCII case
 * ignored: each counts once. O(text * topic). */
uint64_t rss_count(const char *s, const rss_items *it, const char *topic, size_t topic_len);

#endif /* CDEBUG_EXAMPLES_FREQ_RSS_H */

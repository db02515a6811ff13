/* esc.h - the one escaping of every text cdebug-top writes.
 *
 * Whatever a service sends (string values, its cmdline, text that an error
 * message quotes) and whatever the command line holds reaches a terminal or
 * a CSV file only through these functions, so a hostile /debug/vars cannot
 * write an OSC 52 clipboard sequence, clear the screen, fake a line with
 * CR/LF or reorder text. Characters that act on a terminal instead of
 * showing are written in the spelling of Go's strconv.Quote:
 *
 *   \a \b \f \n \r \t \v    BEL, BS, FF, LF, CR, TAB, VT
 *   \x1b \x7f               the other C0 controls and DEL
 *   \xff                    each byte that is not part of valid UTF-8
 *                           (Go's utf8.DecodeRune rules)
 *   \u0085                  C1 controls U+0080..U+009F; the line and
 *                           paragraph separators U+2028, U+2029; the
 *                           bidirectional formatting characters U+061C,
 *                           U+200E, U+200F, U+202A..U+202E, U+2066..U+2069
 *
 * Everything else, valid UTF-8 included, is copied unchanged, so ordinary
 * text (and "µs") reads as before. Unlike strconv.Quote there are no
 * surrounding quotes and a backslash stays single: the form is for reading,
 * not for decoding back (the text "\x1b" and an ESC byte look alike; neither
 * is a control any more).
 *
 * Thread-safe and allocation-free; top_esc_char and top_esc are pure,
 * top_esc_fputs locks f as stdio does.
 */
#ifndef CDEBUG_TOP_ESC_H
#define CDEBUG_TOP_ESC_H

#include <stddef.h>
#include <stdio.h>

/* Longest visible form of one character, with room for a NUL: "\u202e". */
#define TOP_ESC_MAX 8

/* Worst-case growth: one byte can become four ("\x1b"). A buffer of
 * TOP_ESC_GROWTH * strlen(s) + 1 bytes holds any escaped s. */
#define TOP_ESC_GROWTH 4

/* The visible form of the character starting at s[0] (n > 0 bytes left):
 * writes it to out (NUL-terminated, at most TOP_ESC_MAX - 1 bytes), stores
 * its length in *outlen and returns how many bytes of s it stands for
 * (1..4). O(1). */
size_t top_esc_char(const char *s, size_t n, char out[TOP_ESC_MAX], size_t *outlen);

/* Copies s escaped into buf (len > 0 bytes, always NUL-terminated). Text
 * that does not fit is cut before the first character whose visible form
 * would not fit whole, so a cut never leaves half an escape or half a UTF-8
 * sequence. Returns buf. O(strlen(s)). */
char *top_esc(const char *s, char *buf, size_t len);

/* Writes s escaped to f, without a length limit. Returns 0, or EOF when a
 * write failed (ferror(f) tells). O(strlen(s)). */
int top_esc_fputs(const char *s, FILE *f);

/* Formats like fprintf (at most TOP_ESC_LINE_MAX - 1 bytes of it), writes
 * the result escaped and a newline: the messages on stderr, which quote
 * the command line, a file name or $TERM. */
#define TOP_ESC_LINE_MAX 4096
void top_esc_line(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif

/* base/sigsafe.h - what a fatal-signal handler may use to report: text
 * built in a fixed buffer and written with write(2), the file and offset
 * of an address read from /proc/self/maps with open(2) and read(2), and
 * the call of the handler that was installed before.
 *
 * Everything here is async-signal-safe: no allocation, no lock, no stdio,
 * only the system calls named. The crash report (prof/crash.c) writes its
 * first part, the part that must never be lost, with these alone; the
 * CPU profiler and the stack requests chain to a previous handler with
 * the same call.
 */
#ifndef CDEBUG_BASE_SIGSAFE_H
#define CDEBUG_BASE_SIGSAFE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- text -------------------------------------------------------------- */

/* A line writer over caller-provided memory: full, it writes what it holds
 * to fd and goes on, so any length of text goes out in pieces of cap
 * bytes. Write errors are ignored (a report has nowhere else to go). */
typedef struct cd__sigw {
    int fd;
    char *p;
    size_t len, cap;
} cd__sigw;

/* Starts a writer to fd over mem[0..cap) (cap >= 32). O(1). */
void cd__sigw_init(cd__sigw *w, int fd, char *mem, size_t cap);
/* Appends s[0..n) / the string s. O(n). */
void cd__sigw_putn(cd__sigw *w, const char *s, size_t n);
void cd__sigw_puts(cd__sigw *w, const char *s);
/* Appends v as 0x-prefixed lower-case hex (Go's hex()), as unsigned decimal,
 * as signed decimal. O(1). */
void cd__sigw_hex(cd__sigw *w, uint64_t v);
void cd__sigw_udec(cd__sigw *w, uint64_t v);
void cd__sigw_dec(cd__sigw *w, int64_t v);
/* Appends s between double quotes, escaped as cd__quote_byte does, at most
 * max bytes of s. O(n). */
void cd__sigw_quote(cd__sigw *w, const char *s, size_t max);
/* Writes what the buffer holds (cd__write_all), empties it. */
void cd__sigw_flush(cd__sigw *w);

/* The escape of byte c inside a double-quoted name, as Go's text profiles
 * quote labels: printable ASCII as itself, \" \\ \n \t \r, any other byte
 * as \xHH. Writes 1 to 4 bytes to out, returns how many. Pure. */
size_t cd__quote_byte(unsigned char c, char out[4]);

/* ---- the file an address is in ------------------------------------------- */

#define CD__SIGMOD_PATH 256 /* bytes of a module's path kept (a longer one is cut) */

/* Where an address lies: a file mapping's path and the offset in that file
 * (the address minus the mapping's start plus its file offset: what
 * `addr2line -e PATH` takes for the usual ELF layouts, where a segment's
 * address and file offset are equal). */
typedef struct cd__sigmod {
    bool found;                 /* a mapping of /proc/self/maps holds it */
    bool exec;                  /* that mapping is executable (code) */
    bool read;                  /* that mapping is readable */
    uintptr_t off;              /* offset in the file (or in the mapping, for an anonymous one) */
    char path[CD__SIGMOD_PATH]; /* the file, "[stack]", ... ("" for an anonymous mapping) */
} cd__sigmod;

/* For each of pcs[0..n): its mapping, into out[i]. Reads /proc/self/maps
 * once, through scratch[0..cap) (a line longer than cap is skipped; 4 KiB
 * holds any real one). Returns 0, or -errno when the file cannot be read
 * (every out[i].found is false then). Async-signal-safe (open, read,
 * close). O(size of the maps file * n). */
int cd__sig_modules(const uintptr_t *pcs, size_t n, cd__sigmod *out, char *scratch, size_t cap);

/* ---- chaining ------------------------------------------------------------- */

/* Whether sa is a handler function (not SIG_DFL, not SIG_IGN). Pure. */
bool cd__sig_is_handler(const struct sigaction *sa);

/* Calls the handler sa describes for (sig, si, uc), as the kernel would
 * have: sa_sigaction with SA_SIGINFO, else sa_handler. Returns whether a
 * function was called (false for SIG_DFL and SIG_IGN: the caller decides
 * what the default means for it). Async-signal-safe as far as that
 * handler is. */
bool cd__sig_forward(const struct sigaction *sa, int sig, siginfo_t *si, void *uc);

#endif /* CDEBUG_BASE_SIGSAFE_H */

/* runtime/gctrace.c - CDEBUG=gctrace=1: one line per collection on stderr.
 *
 * The collection hook (gcevents.c) must not format or write while it holds
 * bdwgc's lock, so it publishes a record and wakes a kit thread, the
 * printer, which formats each record and writes it with one write(2) to fd 2,
 * in collection order. The printer is not registered with bdwgc (it never
 * touches GC memory), so stopping the world neither waits for it nor stops
 * it. cd__gctrace_stop prints what is pending, then joins the printer.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "runtime/env.h"
#include "runtime/gc.h"
#include "runtime/gcevents.h"
#include "runtime/gctrace.h"
#include "runtime/thread.h"

/* ---- formatting (pure) ------------------------------------------------- */

/* A bounded string builder: keeps counting past the end like snprintf.
 * Not base/buf.h's growable buffer: it fills the caller's fixed array
 * (cd__gctrace_format has snprintf's contract) and never allocates. */
typedef struct sbuf {
    char *buf;
    size_t cap;
    size_t len;
} sbuf;

/* Appends n bytes of s (truncating silently). Pure. */
static void sb_put(sbuf *b, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++, b->len++)
        if (b->len + 1 < b->cap)
            b->buf[b->len] = s[i];
}

/* Appends a NUL-terminated string. Pure. */
static void sb_puts(sbuf *b, const char *s)
{
    sb_put(b, s, strlen(s));
}

/* NUL-terminates at the last position that fits; returns the full length. */
static size_t sb_finish(sbuf *b)
{
    if (b->cap > 0)
        b->buf[b->len < b->cap ? b->len : b->cap - 1] = '\0';
    return b->len;
}

/* Writes Go's itoaDiv(val, dec) right-aligned in tmp[0..32); returns the
 * offset of its first character. 20 digits + '.' + leading "0" fit. */
static size_t itoa_div_tmp(char tmp[32], uint64_t val, int dec)
{
    /* Same output as Go's runtime itoaDiv: digits from the right, a '.' after
     * dec of them, and at least one digit before the point. */
    int i = 31;
    int idec = i - dec;
    while (val >= 10 || i >= idec) {
        tmp[i--] = (char)('0' + val % 10);
        if (i == idec)
            tmp[i--] = '.';
        val /= 10;
    }
    tmp[i] = (char)('0' + val);
    return (size_t)i;
}

/* Appends itoaDiv(val, dec). Pure. dec is 0..3 here. */
static void sb_itoa_div(sbuf *b, uint64_t val, int dec)
{
    char tmp[32];
    size_t at = itoa_div_tmp(tmp, val, dec);
    sb_put(b, tmp + at, 32 - at);
}

/* Appends val in decimal, as Go's print() of an integer. Pure. */
static void sb_uint(sbuf *b, uint64_t val)
{
    char tmp[20];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + val % 10);
        val /= 10;
    } while (val != 0);
    sb_put(b, tmp + i, sizeof tmp - i);
}

/* Appends Go's fmtNSAsMS(ns). Pure. */
static void sb_ns_as_ms(sbuf *b, uint64_t ns)
{
    if (ns >= 10000000) {
        /* Whole milliseconds; itoaDiv(x, 0) equals plain decimal for the
         * x >= 10 it is given here. */
        sb_uint(b, ns / 1000000);
        return;
    }
    /* Two digits of precision, at most three decimal places. */
    uint64_t x = ns / 1000;
    if (x == 0) {
        sb_put(b, "0", 1);
        return;
    }
    int dec = 3;
    while (x >= 100) {
        x /= 10;
        dec--;
    }
    sb_itoa_div(b, x, dec);
}

size_t cd__itoa_div(char *buf, size_t n, uint64_t val, int dec)
{
    sbuf b = {buf, n, 0};
    if (dec < 0)
        dec = 0;
    if (dec > 20)
        dec = 20;
    sb_itoa_div(&b, val, dec);
    return sb_finish(&b);
}

size_t cd__fmt_ns_as_ms(char *buf, size_t n, uint64_t ns)
{
    sbuf b = {buf, n, 0};
    sb_ns_as_ms(&b, ns);
    return sb_finish(&b);
}

size_t cd__gctrace_format(char *buf, size_t n, const cd__gc_record *r)
{
    sbuf b = {buf, n, 0};

    /* Go: util := int(memstats.gc_cpu_fraction * 100). Guard NaN and
     * absurd values so the conversion stays defined. */
    double pct = r->cpu_fraction * 100.0;
    uint64_t util = (pct >= 0.0 && pct < 1e15) ? (uint64_t)pct : 0;

    sb_puts(&b, "gc ");
    sb_uint(&b, r->num);
    sb_puts(&b, " @");
    sb_itoa_div(&b, r->start_ns / 1000000, 3);
    sb_puts(&b, "s ");
    sb_uint(&b, util);
    sb_puts(&b, "%: ");
    for (int i = 0; i < 3; i++) {
        if (i != 0)
            sb_puts(&b, "+");
        sb_ns_as_ms(&b, r->clock_ns[i]);
    }
    sb_puts(&b, " ms clock, ");
    for (int i = 0; i < 5; i++) {
        if (i == 2 || i == 3)
            sb_puts(&b, "/"); /* mark time: assist/background/idle */
        else if (i != 0)
            sb_puts(&b, "+");
        sb_ns_as_ms(&b, r->cpu_ns[i]);
    }
    sb_puts(&b, " ms cpu, ");
    sb_uint(&b, r->heap0 >> 20);
    sb_puts(&b, "->");
    sb_uint(&b, r->heap1 >> 20);
    sb_puts(&b, "->");
    sb_uint(&b, r->heap2 >> 20);
    sb_puts(&b, " MB, ");
    sb_uint(&b, r->goal >> 20);
    sb_puts(&b, " MB goal, ");
    sb_uint(&b, r->procs);
    sb_puts(&b, " P");
    if (r->forced)
        sb_puts(&b, " (forced)");
    return sb_finish(&b);
}

/* ---- the printer thread ------------------------------------------------ */

static pthread_mutex_t ctl_lock = PTHREAD_MUTEX_INITIALIZER; /* start/stop */
static bool running;                                         /* ctl_lock */
static pthread_t printer;
static _Atomic int stopping;

/* write(2) all of buf to fd 2, retrying on EINTR and short writes; errors
 * (closed stderr) are ignored, as Go ignores them. One call in practice. */
static void write_stderr(const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t w = write(2, buf, len);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return;
        }
        buf += w;
        len -= (size_t)w;
    }
}

/* Prints every published record, then the drop count if any. Only one
 * consumer at a time (the printer, or the stopper after joining it). */
static void drain(void)
{
    char line[CD__GCTRACE_LINE_MAX + 1];
    cd__gc_record r;
    while (cd__gcevents_pop(&r)) {
        size_t len = cd__gctrace_format(line, sizeof line - 1, &r);
        if (len > sizeof line - 2)
            len = sizeof line - 2;
        line[len++] = '\n';
        write_stderr(line, len);
    }
    uint64_t dropped = cd__gcevents_take_dropped();
    if (dropped > 0) {
        sbuf b = {line, sizeof line, 0};
        sb_puts(&b, "gc: ");
        sb_uint(&b, dropped);
        sb_puts(&b, " trace lines dropped\n");
        write_stderr(line, sb_finish(&b));
    }
}

/* Printer main loop: sleep until the hook publishes, drain, repeat; on stop,
 * drain once more and exit. */
static void *printer_main(void *arg)
{
    (void)arg;
    for (;;) {
        uint32_t seen = cd__gcevents_seq();
        drain();
        if (atomic_load_explicit(&stopping, memory_order_acquire)) {
            drain();
            return NULL;
        }
        cd__gcevents_wait(seen);
    }
}

int cd__gctrace_start(const cd__config *cfg)
{
    if (cfg->gctrace <= 0)
        return 0; /* off: no thread, the hook still feeds memstats */

    pthread_mutex_lock(&ctl_lock);
    int rc = 0;
    if (!running) {
        atomic_store_explicit(&stopping, 0, memory_order_relaxed);
        cd__gcevents_set_tracing(true);
        rc = cd__thread_spawn(&printer, "cd-gctrace", CD__THREAD_SYSTEM, false, printer_main, NULL);
        if (rc == 0)
            running = true;
        else
            cd__gcevents_set_tracing(false);
    }
    pthread_mutex_unlock(&ctl_lock);
    return rc;
}

void cd__gctrace_fork_child(void)
{
    /* The printer does not exist here: joining its pthread_t could wait
     * for a thread that reused its stack, or fault on a stack glibc
     * unmapped. A thread of the parent's may have held ctl_lock. */
    ctl_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    running = false;
    atomic_store_explicit(&stopping, 0, memory_order_relaxed);
    cd__gcevents_fork_child();
}

void cd__gctrace_stop(void)
{
    pthread_mutex_lock(&ctl_lock);
    if (running) {
        /* Under the allocation lock: once this returns no hook is half-way
         * through publishing, so the printer's last drain sees every line. */
        cd__gcevents_set_tracing(false);
        atomic_store_explicit(&stopping, 1, memory_order_release);
        cd__gcevents_kick();
        pthread_join(printer, NULL);
        running = false;
        drain(); /* nothing left in practice; we are the only consumer now */
    }
    pthread_mutex_unlock(&ctl_lock);
}

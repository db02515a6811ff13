/* runtime/gcwarn.c - bdwgc's warnings through cdebug (gcwarn.h). */
#include <gc/gc.h>
#include <stdatomic.h>
#include <string.h>

#include "base/clock.h"
#include "base/sigsafe.h"
#include "runtime/gcwarn.h"

/* One message's rate limit. msg is the key, claimed once (NULL: free) and
 * never released: bdwgc has a few dozen warnings, a program sees a handful. */
typedef struct slot {
    _Atomic(const char *) msg;
    _Atomic uint64_t last_ns; /* when its last line was written, 0: never */
    _Atomic uint64_t suppressed;
} slot;

#define SLOTS 16
static slot slots[SLOTS];

/* msg's slot: the one that holds it, else a free one claimed for it, else
 * the last (shared by the messages that found none). Lock-free. */
static slot *slot_for(const char *msg)
{
    for (size_t i = 0; i < SLOTS; i++) {
        const char *cur = atomic_load_explicit(&slots[i].msg, memory_order_acquire);
        if (cur == NULL && (atomic_compare_exchange_strong(&slots[i].msg, &cur, msg) || cur == msg))
            return &slots[i];
        if (cur == msg)
            return &slots[i];
    }
    return &slots[SLOTS - 1];
}

/* Appends msg, its one conversion given arg, with "\n" and "\t" as single
 * spaces (none at the end). */
static void put_message(cd__sigw *w, const char *msg, uintptr_t arg)
{
    static const char prefix[] = "GC Warning: ";
    if (strncmp(msg, prefix, sizeof prefix - 1) == 0)
        msg += sizeof prefix - 1;
    bool used = false, space = false;
    for (const char *s = msg; *s != '\0'; s++) {
        if (*s == '\n' || *s == '\t') {
            space = true;
            continue;
        }
        if (space) {
            cd__sigw_putn(w, " ", 1);
            space = false;
        }
        if (*s != '%' || s[1] == '\0') {
            cd__sigw_putn(w, s, 1);
            continue;
        }
        const char *c = s + 1;
        while (*c == 'l' || *c == 'z')
            c++;
        if (*c == '%') {
            cd__sigw_putn(w, "%", 1);
        } else if (used || strchr("diuxps", *c) == NULL || *c == '\0') {
            cd__sigw_putn(w, s, (size_t)(c - s) + (*c != '\0')); /* as written */
        } else {
            used = true;
            if (*c == 'd' || *c == 'i')
                cd__sigw_dec(w, (int64_t)(intptr_t)arg);
            else if (*c == 'u')
                cd__sigw_udec(w, arg);
            else if (*c == 'x' || *c == 'p')
                cd__sigw_hex(w, arg);
            else {
                const char *str = (const char *)arg;
                if (str == NULL)
                    cd__sigw_puts(w, "(null)");
                else
                    cd__sigw_putn(w, str, strnlen(str, 200));
            }
        }
        if (*c == '\0')
            break;
        s = c;
    }
}

bool cd__gcwarn_emit(int fd, const char *msg, uintptr_t arg, uint64_t now_ns)
{
    if (msg == NULL)
        return false;
    slot *sl = slot_for(msg);
    uint64_t last = atomic_load_explicit(&sl->last_ns, memory_order_relaxed);
    if (last != 0 && now_ns - last < CD__GCWARN_INTERVAL_NS) {
        atomic_fetch_add_explicit(&sl->suppressed, 1, memory_order_relaxed);
        return false;
    }
    atomic_store_explicit(&sl->last_ns, now_ns != 0 ? now_ns : 1, memory_order_relaxed);
    uint64_t left_out = atomic_exchange_explicit(&sl->suppressed, 0, memory_order_relaxed);

    char mem[512];
    cd__sigw w;
    cd__sigw_init(&w, fd, mem, sizeof mem);
    cd__sigw_puts(&w, "cdebug: gc: ");
    put_message(&w, msg, arg);
    if (left_out > 0) {
        cd__sigw_puts(&w, " (");
        cd__sigw_udec(&w, left_out);
        cd__sigw_puts(&w, " more suppressed since the last such line)");
    }
    cd__sigw_putn(&w, "\n", 1);
    cd__sigw_flush(&w);
    return true;
}

/* bdwgc's GC_warn_proc: called with bdwgc's allocation lock held, on any
 * thread that allocates or collects (cd__gcwarn_emit's contract). */
static void GC_CALLBACK warn_proc(char *msg, GC_word arg)
{
    cd__gcwarn_emit(2, msg, (uintptr_t)arg, cd__nanotime());
}

void cd__gcwarn_install(void)
{
    GC_set_warn_proc(warn_proc);
}

/* reader/reader_merge.c - held events and their merge into one stream.
 *
 * Each thread with held events has a source: a FIFO of its batches, kept
 * encoded (a few bytes per event rather than a decoded struct), and its
 * next SRC_CHUNK events decoded ahead into a small array whose first
 * undelivered one is the "head" (decoding a run of events in one loop costs
 * a fraction of decoding them one call at a time; the array is bounded, so
 * a 64 MiB batch never becomes gigabytes of decoded events). A binary
 * min-heap orders the sources by their head's (ts, thread, kind), so the
 * least held event is always at the top: a k-way merge, O(log T) per event
 * for T sources, and two comparisons while the top source stays the least
 * (its head strictly below both children of the root, the least of the
 * others). cd__tr_merge_take copies such a run out in one loop and steps
 * the heap once for it.
 * Within one thread the file's order is kept, which is the format's
 * "position" tie-break.
 *
 * Synthetic CD_TR_LOST events have their own source (one FIFO for all
 * threads; their timestamps, the last frontier, never decrease).
 *
 * A source whose last batch is consumed is freed and leaves the thread map,
 * so memory is bounded by the held batches, not by the number of thread ids
 * a file mentions. `held` counts every byte of it for the reader's cap.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "reader/reader_int.h"

typedef struct batch {
    struct batch *next;
    uint64_t base_ts, base_ids[3];
    size_t len;
    uint8_t data[];
} batch;

typedef struct lost_item {
    struct lost_item *next;
    cd__tr_raw ev;
} lost_item;

enum { SRC_THREAD = 0, SRC_LOST = 1 };

enum { SRC_CHUNK = 16 }; /* events decoded ahead per source */

struct cd__tr_src {
    uint64_t hts;    /* the head's timestamp (the heap key, with thread and kind) */
    uint64_t thread; /* SRC_THREAD: its thread */
    int kind;
    unsigned ci, cn; /* the head is ev[ci]; ci < cn while the source has one */
    /* SRC_THREAD: batches, the cursor in the first one and its chain state */
    batch *first, *last;
    const uint8_t *p, *end;
    uint64_t ts;     /* timestamp of the last decoded event: the base of the next delta */
    uint64_t ids[3]; /* last task, parent and user ids: the next bases */
    /* SRC_LOST */
    lost_item *lfirst, *llast;
    cd__tr_raw ev[SRC_CHUNK];
};

static void held_add(cd__tr_merge *m, size_t n)
{
    m->held += n;
    if (m->held > m->peak)
        m->peak = m->held;
}

void cd__tr_merge_init(cd__tr_merge *m)
{
    memset(m, 0, sizeof(*m));
}

static void src_free(cd__tr_src *s)
{
    batch *b = s->first;
    while (b != NULL) {
        batch *next = b->next;
        free(b);
        b = next;
    }
    lost_item *l = s->lfirst;
    while (l != NULL) {
        lost_item *next = l->next;
        free(l);
        l = next;
    }
    free(s);
}

void cd__tr_merge_free(cd__tr_merge *m)
{
    if (m->threads.vals != NULL)
        for (size_t i = 0; i <= m->threads.mask; i++)
            if (m->threads.vals[i] != NULL)
                src_free(m->threads.vals[i]);
    if (m->lost != NULL)
        src_free(m->lost);
    cd__tr_map_free(&m->threads);
    free(m->heap);
    memset(m, 0, sizeof(*m));
}

/* ---- heap --------------------------------------------------------------- */

static bool less(const cd__tr_heapent *a, const cd__tr_heapent *b)
{
    if (a->ts != b->ts)
        return a->ts < b->ts;
    if (a->thread != b->thread)
        return a->thread < b->thread;
    return a->kind < b->kind;
}

static cd__tr_heapent key_of(cd__tr_src *s)
{
    return (cd__tr_heapent){.ts = s->hts, .thread = s->thread, .kind = s->kind, .s = s};
}

static void sift_down(cd__tr_merge *m, size_t i)
{
    cd__tr_heapent *h = m->heap;
    size_t n = m->nheap;
    cd__tr_heapent x = h[i];
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && less(&h[c + 1], &h[c]))
            c++;
        if (!less(&h[c], &x))
            break;
        h[i] = h[c];
        i = c;
    }
    h[i] = x;
}

static int heap_push(cd__tr_merge *m, cd__tr_src *s)
{
    if (m->nheap == m->heap_cap) {
        size_t ncap = m->heap_cap == 0 ? 16 : m->heap_cap * 2;
        cd__tr_heapent *nh = realloc(m->heap, ncap * sizeof(*nh));
        if (nh == NULL)
            return -ENOMEM;
        held_add(m, (ncap - m->heap_cap) * sizeof(*nh));
        m->heap = nh;
        m->heap_cap = ncap;
    }
    cd__tr_heapent x = key_of(s);
    size_t i = m->nheap++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!less(&x, &m->heap[parent]))
            break;
        m->heap[i] = m->heap[parent];
        i = parent;
    }
    m->heap[i] = x;
    return 0;
}

/* With nothing held, give back the containers too: held returns to 0, and
 * a burst of threads does not pin its map and heap until close. */
static void release_empty(cd__tr_merge *m)
{
    m->held -= cd__tr_map_bytes(&m->threads) + m->heap_cap * sizeof(*m->heap);
    cd__tr_map_free(&m->threads);
    free(m->heap);
    m->heap = NULL;
    m->heap_cap = 0;
    if (m->lost != NULL) {
        m->held -= sizeof(*m->lost);
        src_free(m->lost);
        m->lost = NULL;
    }
}

static void heap_remove_top(cd__tr_merge *m)
{
    m->heap[0] = m->heap[--m->nheap];
    if (m->nheap > 0)
        sift_down(m, 0);
}

/* ---- thread sources ----------------------------------------------------- */

/* Makes s's next event the head: the next one decoded ahead, else the
 * next SRC_CHUNK of its batch, else of its next batch (freeing the
 * finished one). Returns false when s has no event left. */
static bool thread_advance(cd__tr_merge *m, cd__tr_src *s)
{
    if (++s->ci < s->cn) {
        s->hts = s->ev[s->ci].ts;
        return true;
    }
    for (;;) {
        if (s->p != NULL && s->p < s->end) {
            s->cn = (unsigned)cd__tr_decode_events(&m->dec, &s->p, s->end, &s->ts, s->ids,
                                                   s->thread, s->ev, SRC_CHUNK);
            s->ci = 0;
            if (s->cn > 0) {
                s->hts = s->ev[0].ts;
                return true;
            }
        }
        batch *b = s->first;
        if (b == NULL)
            return false;
        if (s->p != NULL) { /* finished with b (p is NULL before the first) */
            s->first = b->next;
            if (s->first == NULL)
                s->last = NULL;
            m->held -= sizeof(*b) + b->len;
            free(b);
            b = s->first;
            if (b == NULL) {
                s->p = s->end = NULL;
                return false;
            }
        }
        s->p = b->data;
        s->end = b->data + b->len;
        s->ts = b->base_ts;
        memcpy(s->ids, b->base_ids, sizeof s->ids);
    }
}

int cd__tr_merge_add_batch(cd__tr_merge *m, uint64_t thread, uint64_t base_ts,
                           const uint64_t base_ids[3], const uint8_t *ev, size_t len)
{
    if (len == 0)
        return 0;
    cd__tr_src *s = cd__tr_map_get(&m->threads, thread);
    bool fresh = s == NULL;
    if (fresh) {
        s = malloc(sizeof(*s)); /* not the events array: thread_advance fills it */
        if (s == NULL)
            return -ENOMEM;
        memset(s, 0, offsetof(cd__tr_src, ev));
        s->kind = SRC_THREAD;
        s->thread = thread;
        size_t grew;
        if (cd__tr_map_put(&m->threads, thread, s, &grew) < 0) {
            free(s);
            return -ENOMEM;
        }
        held_add(m, sizeof(*s) + grew);
    }
    batch *b = malloc(sizeof(*b) + len);
    if (b == NULL)
        goto fail;
    b->next = NULL;
    b->base_ts = base_ts;
    memcpy(b->base_ids, base_ids, sizeof b->base_ids);
    b->len = len;
    memcpy(b->data, ev, len);
    held_add(m, sizeof(*b) + len);
    if (s->last != NULL)
        s->last->next = b;
    else
        s->first = b;
    s->last = b;
    if (fresh) {
        if (!thread_advance(m, s)) /* cannot happen: len > 0 and checked */
            goto fail_src;
        if (heap_push(m, s) < 0)
            goto fail_src;
    }
    return 0;

fail_src:
    cd__tr_map_del(&m->threads, thread);
    m->held -= sizeof(*s);
    for (batch *x = s->first; x != NULL; x = x->next)
        m->held -= sizeof(*x) + x->len;
    src_free(s);
    return -ENOMEM;
fail:
    if (fresh) {
        cd__tr_map_del(&m->threads, thread);
        m->held -= sizeof(*s);
        src_free(s);
    }
    return -ENOMEM;
}

/* ---- lost events -------------------------------------------------------- */

int cd__tr_merge_add_lost(cd__tr_merge *m, uint64_t ts, uint64_t thread, uint64_t events,
                          uint64_t batches)
{
    if (m->lost == NULL) {
        m->lost = calloc(1, sizeof(*m->lost));
        if (m->lost == NULL)
            return -ENOMEM;
        m->lost->kind = SRC_LOST;
        held_add(m, sizeof(*m->lost));
    }
    lost_item *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return -ENOMEM;
    l->ev.type = CD_TR_LOST;
    l->ev.nargs = 2;
    l->ev.ts = ts;
    l->ev.thread = thread;
    l->ev.args[0] = events;
    l->ev.args[1] = batches;
    held_add(m, sizeof(*l));
    cd__tr_src *s = m->lost;
    bool was_empty = s->lfirst == NULL;
    if (s->llast != NULL)
        s->llast->next = l;
    else
        s->lfirst = l;
    s->llast = l;
    if (was_empty) {
        s->ev[0] = l->ev;
        s->ci = 0;
        s->cn = 1;
        s->hts = l->ev.ts;
        s->thread = l->ev.thread; /* ordered as the thread's own events */
        if (heap_push(m, s) < 0) {
            s->lfirst = s->llast = NULL;
            m->held -= sizeof(*l);
            free(l);
            return -ENOMEM;
        }
    }
    return 0;
}

/* ---- merge -------------------------------------------------------------- */

const cd__tr_raw *cd__tr_merge_top(const cd__tr_merge *m)
{
    if (m->nheap == 0)
        return NULL;
    const cd__tr_src *s = m->heap[0].s;
    return &s->ev[s->ci];
}

void cd__tr_merge_drop(cd__tr_merge *m)
{
    cd__tr_src *s = m->heap[0].s;
    if (s->kind == SRC_LOST) {
        lost_item *l = s->lfirst;
        s->lfirst = l->next;
        if (s->lfirst == NULL)
            s->llast = NULL;
        m->held -= sizeof(*l);
        free(l);
        if (s->lfirst != NULL) {
            s->ev[0] = s->lfirst->ev;
            s->hts = s->ev[0].ts;
            s->thread = s->ev[0].thread;
            m->heap[0] = key_of(s);
            sift_down(m, 0);
        } else {
            heap_remove_top(m);
            if (m->nheap == 0)
                release_empty(m);
        }
        return;
    }
    if (thread_advance(m, s)) {
        cd__tr_heapent *h = m->heap;
        size_t n = m->nheap;
        h[0].ts = s->hts;
        /* Strictly below both children: still the least, no sift. In a
         * merged trace one thread's events come in runs (about 3 in a row
         * in a scheduler trace), so this is the usual case. */
        if ((n < 2 || h[0].ts < h[1].ts) && (n < 3 || h[0].ts < h[2].ts))
            return;
        sift_down(m, 0);
        return;
    }
    heap_remove_top(m);
    cd__tr_map_del(&m->threads, s->thread);
    m->held -= sizeof(*s);
    src_free(s);
    if (m->nheap == 0)
        release_empty(m);
}

size_t cd__tr_merge_take(cd__tr_merge *m, uint64_t below, cd__tr_raw *out, size_t max)
{
    size_t k = 0;
    while (k < max && m->nheap > 0) {
        const cd__tr_heapent *h = m->heap;
        cd__tr_src *s = h[0].s;
        if (s->ev[s->ci].ts >= below)
            break;
        /* A run: the top source's decoded events strictly below every
         * other source's head (the least of them is a child of the root)
         * and below `below` go out without a heap step each; the last one
         * taken is then dropped as usual, which advances the source and
         * restores the heap. Equal timestamps take the one-event path,
         * where the heap's tie-break decides. */
        uint64_t lim = below;
        if (m->nheap > 1 && h[1].ts < lim)
            lim = h[1].ts;
        if (m->nheap > 2 && h[2].ts < lim)
            lim = h[2].ts;
        size_t run = 0;
        if (s->kind == SRC_THREAD)
            while (k + run < max && s->ci + run < s->cn && s->ev[s->ci + run].ts < lim) {
                out[k + run] = s->ev[s->ci + run];
                run++;
            }
        if (run == 0) {
            out[k] = s->ev[s->ci];
            run = 1;
        }
        s->ci += (unsigned)run - 1;
        k += run;
        cd__tr_merge_drop(m);
    }
    return k;
}

/* viewer/cdebug-trace/map.h - a hash map from 64-bit ids to pointers, for
 * the model's threads, tasks and user tasks.
 *
 * Open addressing with linear probing and backward-shift deletion (no
 * tombstones, so a map that sees millions of inserts and deletes of
 * short-lived tasks never degrades). The table doubles at 50% load and
 * never shrinks: memory is proportional to the most entries ever live at
 * once. Any key is allowed (the empty slot is marked by a NULL value, so a
 * value must not be NULL).
 *
 * Not thread-safe; not async-signal-safe.
 */
#ifndef CDEBUG_VIEWER_MAP_H
#define CDEBUG_VIEWER_MAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct cdt_map_slot {
    uint64_t key;
    void *val; /* NULL: empty */
} cdt_map_slot;

typedef struct cdt_map {
    cdt_map_slot *slots;
    size_t cap; /* power of two, or 0 */
    size_t len;
} cdt_map;

/* The value for key, or NULL. O(1) expected. */
void *cdt_map_get(const cdt_map *m, uint64_t key);

/* Sets key to val (not NULL), replacing any previous value. Returns 0 or
 * -ENOMEM (the map is unchanged). O(1) amortized. */
int cdt_map_put(cdt_map *m, uint64_t key, void *val);

/* Removes key; returns its value, or NULL if absent. O(1) expected. */
void *cdt_map_del(cdt_map *m, uint64_t key);

/* Iteration: for (size_t i = 0; i < m->cap; i++) if (m->slots[i].val) ...
 * Frees the table (not the values). */
void cdt_map_free(cdt_map *m);

#endif /* CDEBUG_VIEWER_MAP_H */

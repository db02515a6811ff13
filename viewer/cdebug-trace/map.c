/* viewer/cdebug-trace/map.c - see map.h. */
#include <errno.h>
#include <stdlib.h>

#include "map.h"

/* Fibonacci hashing: task ids are dense small integers, so the multiply
 * spreads consecutive ids over the table. */
static size_t slot_of(uint64_t key, size_t cap)
{
    return (size_t)((key * 0x9E3779B97F4A7C15ull) >> 32) & (cap - 1);
}

void *cdt_map_get(const cdt_map *m, uint64_t key)
{
    if (m->cap == 0)
        return NULL;
    for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
        if (m->slots[i].val == NULL)
            return NULL;
        if (m->slots[i].key == key)
            return m->slots[i].val;
    }
}

static void insert(cdt_map_slot *slots, size_t cap, uint64_t key, void *val)
{
    size_t i = slot_of(key, cap);
    while (slots[i].val != NULL && slots[i].key != key)
        i = (i + 1) & (cap - 1);
    slots[i].key = key;
    slots[i].val = val;
}

static int grow(cdt_map *m)
{
    size_t cap = m->cap ? m->cap * 2 : 64;
    cdt_map_slot *slots = calloc(cap, sizeof *slots);
    if (slots == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < m->cap; i++)
        if (m->slots[i].val != NULL)
            insert(slots, cap, m->slots[i].key, m->slots[i].val);
    free(m->slots);
    m->slots = slots;
    m->cap = cap;
    return 0;
}

int cdt_map_put(cdt_map *m, uint64_t key, void *val)
{
    if ((m->len + 1) * 2 > m->cap && grow(m) < 0)
        return -ENOMEM;
    size_t i = slot_of(key, m->cap);
    while (m->slots[i].val != NULL && m->slots[i].key != key)
        i = (i + 1) & (m->cap - 1);
    if (m->slots[i].val == NULL)
        m->len++;
    m->slots[i].key = key;
    m->slots[i].val = val;
    return 0;
}

void *cdt_map_del(cdt_map *m, uint64_t key)
{
    if (m->cap == 0)
        return NULL;
    size_t mask = m->cap - 1, i = slot_of(key, m->cap);
    while (m->slots[i].val != NULL && m->slots[i].key != key)
        i = (i + 1) & mask;
    void *val = m->slots[i].val;
    if (val == NULL)
        return NULL;
    /* Backward shift: move later entries of the probe run into the hole
     * when their home slot is not between the hole and them. */
    size_t hole = i;
    for (size_t j = (i + 1) & mask; m->slots[j].val != NULL; j = (j + 1) & mask) {
        size_t home = slot_of(m->slots[j].key, m->cap);
        if (((j - home) & mask) >= ((j - hole) & mask)) {
            m->slots[hole] = m->slots[j];
            hole = j;
        }
    }
    m->slots[hole].val = NULL;
    m->len--;
    return val;
}

void cdt_map_free(cdt_map *m)
{
    free(m->slots);
    m->slots = NULL;
    m->cap = m->len = 0;
}

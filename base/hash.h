/* base/hash.h - the one integer mixer of cdebug's hash tables.
 *
 * Keys in cdebug are often dense (ids 1, 2, 3, ...) or aligned (addresses,
 * pcs), so the low bits a power-of-two table indexes by would collide
 * without mixing. splitmix64's finalizer spreads every input bit over the
 * whole word in five instructions. Pure, thread-safe and async-signal-safe.
 * (Fibonacci hashing, key * 2^64/phi taken from the top bits, is used
 * inline where one multiply is enough.) */
#ifndef CDEBUG_BASE_HASH_H
#define CDEBUG_BASE_HASH_H

#include <stddef.h>
#include <stdint.h>

static inline uint64_t cd__mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

/* The one hash of byte strings: FNV-1a with a final avalanche, so that
 * the low bits a table indexes by are well mixed even for short keys.
 * Pure, O(n). */
static inline uint64_t cd__hash_bytes(const void *s, size_t n)
{
    const unsigned char *p = s;
    uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a offset basis and prime */
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 0x100000001b3ull;
    }
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h;
}

#endif

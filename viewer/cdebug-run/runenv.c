/* runenv.c - CDEBUG and LD_PRELOAD merging (see runenv.h). */
#include "runenv.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Appends s[0..n) to *out (room already counted), with sep before it
 * unless *out is empty. */
static void put(char *out, size_t *len, char sep, const char *s, size_t n)
{
    if (*len > 0)
        out[(*len)++] = sep;
    memcpy(out + *len, s, n);
    *len += n;
    out[*len] = '\0';
}

char *run_cdebug_merge(const char *old, const char *const names[], const char *const values[],
                       size_t n)
{
    size_t cap = (old != NULL ? strlen(old) : 0) + 1;
    for (size_t i = 0; i < n; i++)
        if (values[i] != NULL)
            cap += strlen(names[i]) + strlen(values[i]) + 2;
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    size_t len = 0;
    out[0] = '\0';
    for (const char *s = old; s != NULL && *s != '\0';) {
        const char *end = strchr(s, ',');
        size_t ilen = end != NULL ? (size_t)(end - s) : strlen(s);
        const char *eq = memchr(s, '=', ilen);
        size_t nlen = eq != NULL ? (size_t)(eq - s) : ilen;
        bool overridden = false;
        for (size_t i = 0; i < n; i++)
            if (values[i] != NULL && strlen(names[i]) == nlen && memcmp(names[i], s, nlen) == 0)
                overridden = true;
        if (ilen > 0 && !overridden)
            put(out, &len, ',', s, ilen);
        if (end == NULL)
            break;
        s = end + 1;
    }
    for (size_t i = 0; i < n; i++) {
        if (values[i] == NULL)
            continue;
        size_t nl = strlen(names[i]), vl = strlen(values[i]);
        if (len > 0)
            out[len++] = ',';
        memcpy(out + len, names[i], nl);
        out[len + nl] = '=';
        memcpy(out + len + nl + 1, values[i], vl);
        len += nl + 1 + vl;
        out[len] = '\0';
    }
    return out;
}

/* A sanitizer runtime's file name: libasan.so.8, libtsan.so.2,
 * libclang_rt.asan-x86_64.so... */
static bool is_sanitizer(const char *e, size_t n)
{
    const char *base = e;
    for (size_t i = 0; i < n; i++)
        if (e[i] == '/')
            base = e + i + 1;
    size_t bn = n - (size_t)(base - e);
    if (bn < 3 || memcmp(base, "lib", 3) != 0)
        return false;
    for (size_t i = 0; i + 4 <= bn; i++)
        if (memcmp(base + i, "san", 3) == 0 && (base[i + 3] == '.' || base[i + 3] == '-'))
            return true;
    return false;
}

char *run_preload_merge(const char *old, const char *lib)
{
    size_t lib_len = strlen(lib);
    size_t cap = (old != NULL ? strlen(old) : 0) + lib_len + 2;
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    size_t len = 0;
    out[0] = '\0';
    bool lib_put = false;
    for (const char *s = old; s != NULL && *s != '\0';) {
        size_t elen = strcspn(s, " :");
        if (elen > 0) {
            if (!lib_put && !is_sanitizer(s, elen)) {
                put(out, &len, ':', lib, lib_len);
                lib_put = true;
            }
            if (!(elen == lib_len && memcmp(s, lib, lib_len) == 0))
                put(out, &len, ':', s, elen);
        }
        if (s[elen] == '\0')
            break;
        s += elen + 1;
    }
    if (!lib_put)
        put(out, &len, ':', lib, lib_len);
    return out;
}

/* format.c - value display and raw recording (see format.h). */
#include "format.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "duration.h"

char *top_fmt_bytes(int64_t n, char *buf, size_t len)
{
    static const char *const sym[] = {"B", "KB", "MB", "GB", "TB", "PB", "EB"};
    uint64_t u = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    const char *sign = n < 0 ? "-" : "";

    if (u < 10) {
        snprintf(buf, len, "%s%lluB", sign, (unsigned long long)u);
        return buf;
    }
    /* Integer steps pick the unit exactly; a logarithm (what byten uses)
     * can land just below an exact power of 1024. */
    int i = 0;
    uint64_t unit = 1;
    while (i < 6 && u / unit >= 1024) {
        unit *= 1024;
        i++;
    }
    double size = (double)u / (double)unit;
    snprintf(buf, len, size < 10 ? "%s%.1f%s" : "%s%.0f%s", sign, size, sym[i]);
    return buf;
}

char *top_fmt_value(const top_value *v, top_kind kind, char *buf, size_t len)
{
    if (v->type == TOP_V_NA) {
        snprintf(buf, len, "n/a");
        return buf;
    }
    if (v->type == TOP_V_STR) {
        snprintf(buf, len, "%s", v->s);
        return buf;
    }
    if (v->type == TOP_V_BOOL) {
        snprintf(buf, len, "%s", v->i ? "true" : "false");
        return buf;
    }

    /* Reals are truncated toward zero for byte and duration kinds, as
     * expvarmon's int64 conversion does. */
    int64_t iv = v->i;
    if (v->type == TOP_V_REAL && (kind == TOP_KIND_MEM || kind == TOP_KIND_DURATION)) {
        if (!(fabs(v->r) < 9.2e18)) {
            snprintf(buf, len, "%g", v->r); /* NaN, Inf or out of int64 */
            return buf;
        }
        iv = (int64_t)v->r;
    }
    switch (kind) {
    case TOP_KIND_MEM:
        return top_fmt_bytes(iv, buf, len);
    case TOP_KIND_DURATION: {
        char d[TOP_DURATION_BUFSZ];
        snprintf(buf, len, "%s", top_duration_format(top_duration_round(iv), d, sizeof(d)));
        return buf;
    }
    default:
        /* expvarmon's "%.2f", except that small fractions (latencies in
         * seconds, say) keep three significant digits instead of "0.00". */
        if (v->type == TOP_V_REAL)
            snprintf(buf, len, v->r == 0 || fabs(v->r) >= 0.01 ? "%.2f" : "%.3g", v->r);
        else
            snprintf(buf, len, "%lld", (long long)v->i);
        return buf;
    }
}

char *top_fmt_raw(const top_value *v, char *buf, size_t len)
{
    switch (v->type) {
    case TOP_V_INT:
        snprintf(buf, len, "%lld", (long long)v->i);
        break;
    case TOP_V_BOOL:
        snprintf(buf, len, "%s", v->i ? "true" : "false");
        break;
    case TOP_V_STR:
        snprintf(buf, len, "%s", v->s);
        break;
    case TOP_V_REAL:
        /* Shortest "%.*g" that round-trips: 0.1 stays "0.1", not
         * "0.10000000000000001". */
        for (int prec = 1; prec <= 17; prec++) {
            snprintf(buf, len, "%.*g", prec, v->r);
            if (strtod(buf, NULL) == v->r)
                break;
        }
        break;
    default:
        if (len > 0)
            buf[0] = '\0';
        break;
    }
    return buf;
}

/* vars/gofloat.c - Go's float formatting (strconv 'g' -1 and encoding/json).
 * See gofloat.h.
 */
#include <float.h>
#include <stdbool.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vars/gofloat.h"

/* A power of two has a rounding interval half as wide below it as above,
 * so the closest 16-digit decimal (below x) may miss it while the next one
 * up reads back: Go prints that one. buf holds x's %.15e form; on success
 * it is replaced by the decimal one unit higher and true is returned. */
static bool pow2_up16(double x, char *buf)
{
    int e;
    if (frexp(x, &e) != 0.5)
        return false;
    char up[40];
    memcpy(up, buf, 40);
    int i = 16; /* "D.DDDDDDDDDDDDDDDe+XX": 16 digits, the last at index 16 */
    while (i >= 0 && (up[i] == '9' || up[i] == '.')) {
        if (up[i] == '9')
            up[i] = '0';
        i--;
    }
    if (i < 0)
        return false; /* 9.999...e+XX + 1 unit changes the exponent: never a closer fit */
    up[i]++;
    if (strtod(up, NULL) != x)
        return false;
    memcpy(buf, up, 40);
    return true;
}

/* Shortest round-trip decimal digits of |x|: writes nd digits (no dot, no
 * trailing zeros, at most 17) to d and returns nd; |x| = 0.d[0]d[1]... x
 * 10^*dp. x == 0 gives nd = 0, *dp = 0. x must be finite. */
static int float_shortest(double x, char d[18], int *dp)
{
    if (x < 0)
        x = -x;
    if (x == 0) {
        *dp = 0;
        return 0;
    }
    /* Integral values below 2^53 are their own shortest form: two integers
     * in that range are distinct doubles, so no shorter digit string can
     * read back to x. Counters kept in floats hit this path. */
    if (x < 9007199254740992.0 && x == (double)(uint64_t)x) {
        *dp = 0;
        uint64_t v = (uint64_t)x; /* > 0 */
        while (v % 10 == 0) { /* trailing zeros are not digits */
            v /= 10;
            (*dp)++;
        }
        char tmp[20];
        int nd = 0;
        for (; v > 0; v /= 10)
            tmp[nd++] = (char)('0' + v % 10);
        *dp += nd;
        for (int i = 0; i < nd; i++)
            d[i] = tmp[nd - 1 - i];
        return nd;
    }

    char buf[40];
    int p;
    if (x < DBL_MIN) {
        /* Subnormals carry fewer than 53 bits, so the argument below fails
         * (5e-324 reads back, its 15-digit form is 4.94065645841247e-324):
         * binary search for the shortest correctly rounded form instead,
         * valid because a p-digit rounding that reads back implies every
         * longer one does. */
        int lo = 1, hi = 17;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            snprintf(buf, sizeof buf, "%.*e", mid - 1, x);
            if (strtod(buf, NULL) == x)
                hi = mid;
            else
                lo = mid + 1;
        }
        p = lo;
        snprintf(buf, sizeof buf, "%.*e", p - 1, x);
    } else {
        /* A normal double is within 2^-53 (relative) of any decimal that
         * reads back as it, less than half a unit in the 15th digit; so if
         * some decimal of at most 15 digits reads back as x, it is x
         * correctly rounded to 15 digits (printf's %.14e), and that form
         * less its trailing zeros is the shortest. Otherwise 16 digits, the
         * closest such decimal as Go picks it, or 17, which always read
         * back. At most three printf and two strtod calls. */
        p = 15;
        snprintf(buf, sizeof buf, "%.14e", x);
        if (strtod(buf, NULL) != x) {
            p = 16;
            snprintf(buf, sizeof buf, "%.15e", x);
            if (strtod(buf, NULL) != x && !pow2_up16(x, buf)) {
                p = 17;
                snprintf(buf, sizeof buf, "%.16e", x);
            }
        }
    }
    /* buf is "D[.DDD...]e[+-]XX" with p digits. */
    d[0] = buf[0];
    if (p > 1)
        memcpy(d + 1, buf + 2, (size_t)p - 1);
    int nd = p;
    while (nd > 1 && d[nd - 1] == '0')
        nd--;
    *dp = atoi(buf + (p > 1 ? p + 2 : 2)) + 1;
    return nd;
}

/* Go's fmtE: d[0] '.' d[1..nd) 'e' sign at-least-two-digit exponent. */
static size_t fmt_e(char *o, const char *d, int nd, int dp)
{
    size_t n = 0;
    o[n++] = nd > 0 ? d[0] : '0';
    if (nd > 1) {
        o[n++] = '.';
        memcpy(o + n, d + 1, (size_t)nd - 1);
        n += (size_t)nd - 1;
    }
    o[n++] = 'e';
    int exp = nd == 0 ? 0 : dp - 1;
    if (exp < 0) {
        o[n++] = '-';
        exp = -exp;
    } else {
        o[n++] = '+';
    }
    if (exp < 10) {
        o[n++] = '0';
        o[n++] = (char)('0' + exp);
    } else if (exp < 100) {
        o[n++] = (char)('0' + exp / 10);
        o[n++] = (char)('0' + exp % 10);
    } else {
        o[n++] = (char)('0' + exp / 100);
        o[n++] = (char)('0' + exp / 10 % 10);
        o[n++] = (char)('0' + exp % 10);
    }
    return n;
}

/* Go's fmtF with prec = max(nd - dp, 0): every digit, no exponent. */
static size_t fmt_f(char *o, const char *d, int nd, int dp)
{
    size_t n = 0;
    if (dp > 0) {
        for (int i = 0; i < dp; i++)
            o[n++] = i < nd ? d[i] : '0';
    } else {
        o[n++] = '0';
    }
    int prec = nd - dp;
    if (prec > 0) {
        o[n++] = '.';
        for (int i = 1; i <= prec; i++) {
            int j = dp + i - 1;
            o[n++] = j >= 0 && j < nd ? d[j] : '0';
        }
    }
    return n;
}

size_t cd__fmt_go_g(char out[CD__FLOAT_BUF], double x)
{
    if (isnan(x))
        return (size_t)snprintf(out, CD__FLOAT_BUF, "NaN");
    if (isinf(x))
        return (size_t)snprintf(out, CD__FLOAT_BUF, x > 0 ? "+Inf" : "-Inf");
    char d[18];
    int dp;
    int nd = float_shortest(x, d, &dp);
    size_t n = 0;
    if (signbit(x))
        out[n++] = '-';
    /* Go, shortest 'g': %e when the exponent is < -4 or >= 6 (eprec is
     * forced to 6 in shortest mode), %f otherwise. */
    int exp = dp - 1;
    if (nd > 0 && (exp < -4 || exp >= 6))
        n += fmt_e(out + n, d, nd, dp);
    else
        n += fmt_f(out + n, d, nd, dp);
    out[n] = '\0';
    return n;
}

size_t cd__fmt_go_json(char out[CD__FLOAT_BUF], double x)
{
    if (!isfinite(x))
        return (size_t)snprintf(out, CD__FLOAT_BUF, "null");
    char d[18];
    int dp;
    int nd = float_shortest(x, d, &dp);
    size_t n = 0;
    if (signbit(x))
        out[n++] = '-';
    double a = fabs(x);
    if (a != 0 && (a < 1e-6 || a >= 1e21)) {
        n += fmt_e(out + n, d, nd, dp);
        /* encoding/json shortens a two-digit negative exponent "e-07" to
         * "e-7" (but keeps "e+21"). */
        if (n >= 4 && out[n - 4] == 'e' && out[n - 3] == '-' && out[n - 2] == '0') {
            out[n - 2] = out[n - 1];
            n--;
        }
    } else {
        n += fmt_f(out + n, d, nd, dp);
    }
    out[n] = '\0';
    return n;
}

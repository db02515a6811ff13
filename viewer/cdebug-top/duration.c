/* duration.c - Go time.Duration text (see duration.h). */
#include "duration.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define NS_US 1000ULL
#define NS_MS 1000000ULL
#define NS_S  1000000000ULL
/* 1 << 63: the magnitude of INT64_MIN, the largest a duration may reach
 * before the sign is applied. */
#define MAG_MAX 9223372036854775808ULL

struct unit {
    const char *name;
    uint64_t ns;
};

/* Longest names first is unnecessary: matching is on the whole unit token. */
static const struct unit units[] = {
    {"ns", 1},
    {"us", NS_US},
    {"\xc2\xb5s", NS_US}, /* U+00B5 micro sign, what Go prints */
    {"\xce\xbcs", NS_US}, /* U+03BC Greek mu, also accepted by Go */
    {"ms", NS_MS},
    {"s", NS_S},
    {"m", 60 * NS_S},
    {"h", 3600 * NS_S},
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

int top_duration_parse(const char *s, int64_t *out)
{
    bool neg = false;
    uint64_t total = 0;

    if (s == NULL)
        return -EINVAL;
    if (*s == '-' || *s == '+') {
        neg = *s == '-';
        s++;
    }
    if (strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    if (*s == '\0')
        return -EINVAL;

    while (*s != '\0') {
        uint64_t whole = 0, frac = 0;
        double scale = 1;
        bool digits = false;

        /* The integer part must fit; Go reports overflow, so do we. */
        while (is_digit(*s)) {
            uint64_t d = (uint64_t)(*s - '0');
            if (whole > (MAG_MAX - d) / 10)
                return -ERANGE;
            whole = whole * 10 + d;
            digits = true;
            s++;
        }
        /* Fraction digits beyond what 63 bits can hold are dropped rather
         * than rejected: they are far below a nanosecond anyway. */
        if (*s == '.') {
            bool full = false;
            s++;
            while (is_digit(*s)) {
                if (!full && frac <= (MAG_MAX / 10 - 9)) {
                    frac = frac * 10 + (uint64_t)(*s - '0');
                    scale *= 10;
                } else {
                    full = true;
                }
                digits = true;
                s++;
            }
        }
        if (!digits)
            return -EINVAL;

        const char *u = s;
        while (*s != '\0' && *s != '.' && !is_digit(*s))
            s++;
        size_t ulen = (size_t)(s - u);
        const struct unit *unit = NULL;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            if (strlen(units[i].name) == ulen && memcmp(units[i].name, u, ulen) == 0) {
                unit = &units[i];
                break;
            }
        }
        if (unit == NULL)
            return -EINVAL; /* missing or unknown unit */

        if (whole > MAG_MAX / unit->ns)
            return -ERANGE;
        uint64_t v = whole * unit->ns;
        if (frac > 0) {
            /* Same arithmetic as Go, so "1.1s" gives the same nanoseconds. */
            v += (uint64_t)((double)frac * ((double)unit->ns / scale));
            if (v > MAG_MAX)
                return -ERANGE;
        }
        if (v > MAG_MAX - total)
            return -ERANGE;
        total += v;
    }

    if (neg) {
        *out = total == MAG_MAX ? INT64_MIN : -(int64_t)total;
    } else {
        if (total > (uint64_t)INT64_MAX)
            return -ERANGE;
        *out = (int64_t)total;
    }
    return 0;
}

/* Writes "W[.F]" where F is the low `prec` decimal digits of v without
 * trailing zeros (omitted with its dot when all zero). */
static int put_fixed(char *buf, size_t len, uint64_t v, int prec)
{
    uint64_t pow10 = 1;
    for (int i = 0; i < prec; i++)
        pow10 *= 10;
    uint64_t w = v / pow10, f = v % pow10;
    if (f == 0)
        return snprintf(buf, len, "%llu", (unsigned long long)w);

    char digits[24];
    snprintf(digits, sizeof(digits), "%0*llu", prec, (unsigned long long)f);
    size_t n = strlen(digits);
    while (n > 0 && digits[n - 1] == '0')
        n--;
    digits[n] = '\0';
    return snprintf(buf, len, "%llu.%s", (unsigned long long)w, digits);
}

char *top_duration_format(int64_t ns, char *buf, size_t len)
{
    /* Work on the magnitude as unsigned so INT64_MIN needs no special case. */
    uint64_t u = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    const char *sign = ns < 0 ? "-" : "";
    char num[TOP_DURATION_BUFSZ];

    if (len == 0)
        return buf;
    if (u == 0) {
        snprintf(buf, len, "0s");
    } else if (u < NS_US) {
        snprintf(buf, len, "%s%lluns", sign, (unsigned long long)u);
    } else if (u < NS_MS) {
        put_fixed(num, sizeof(num), u, 3);
        snprintf(buf, len, "%s%s\xc2\xb5s", sign, num);
    } else if (u < NS_S) {
        put_fixed(num, sizeof(num), u, 6);
        snprintf(buf, len, "%s%sms", sign, num);
    } else {
        uint64_t secs = u / NS_S;
        uint64_t h = secs / 3600, m = secs / 60 % 60;
        put_fixed(num, sizeof(num), secs % 60 * NS_S + u % NS_S, 9);
        if (h > 0)
            snprintf(buf, len, "%s%lluh%llum%ss", sign, (unsigned long long)h,
                     (unsigned long long)m, num);
        else if (m > 0)
            snprintf(buf, len, "%s%llum%ss", sign, (unsigned long long)m, num);
        else
            snprintf(buf, len, "%s%ss", sign, num);
    }
    return buf;
}

int64_t top_duration_round(int64_t ns)
{
    uint64_t u = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    uint64_t r;

    if (u >= NS_S)
        r = NS_S;
    else if (u >= NS_MS)
        r = NS_MS;
    else if (u >= NS_US)
        r = NS_US;
    else
        return ns;

    uint64_t m = u % r;
    if (m + m < r) {
        u -= m;
    } else if (u <= (uint64_t)INT64_MAX - (r - m)) {
        u += r - m;
    } else {
        u -= m; /* rounding up would overflow: stay below */
    }
    if (u > (uint64_t)INT64_MAX)
        return INT64_MIN;
    return ns < 0 ? -(int64_t)u : (int64_t)u;
}

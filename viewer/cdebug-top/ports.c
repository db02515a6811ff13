/* ports.c - expvarmon's -ports syntax (see ports.h). */
#include "ports.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Parses "N" or "N-M" (1..65535, N <= M) exactly. */
static int parse_range(const char *s, size_t len, long *lo, long *hi)
{
    long v[2] = {0, 0};
    int which = 0;
    bool digit = false;

    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') {
            v[which] = v[which] * 10 + (c - '0');
            if (v[which] > 65535)
                return -EINVAL;
            digit = true;
        } else if (c == '-' && which == 0 && digit) {
            which = 1;
            digit = false;
        } else {
            return -EINVAL;
        }
    }
    if (!digit)
        return -EINVAL;
    if (which == 0)
        v[1] = v[0];
    if (v[0] < 1 || v[1] < v[0])
        return -EINVAL;
    *lo = v[0];
    *hi = v[1];
    return 0;
}

static int add_target(top_target **t, size_t *n, size_t *cap, const char *scheme,
                      const char *user, size_t userlen, const char *host, size_t hostlen,
                      long port, const char *path)
{
    char name[300], url[2048];

    if (*n >= TOP_MAX_SERVICES)
        return -E2BIG;
    if (port > 0)
        snprintf(name, sizeof(name), "%.*s:%ld", (int)hostlen, host, port);
    else
        snprintf(name, sizeof(name), "%.*s", (int)hostlen, host);
    int w = snprintf(url, sizeof(url), "%s://%.*s%s%s%s%s", scheme, (int)userlen, user,
                     userlen > 0 ? "@" : "", name, path[0] == '/' ? "" : "/", path);
    if (w < 0 || (size_t)w >= sizeof(url))
        return -EINVAL;

    if (*n == *cap) {
        size_t ncap = *cap == 0 ? 4 : *cap * 2;
        top_target *nt = realloc(*t, ncap * sizeof(*nt));
        if (nt == NULL)
            return -ENOMEM;
        *t = nt;
        *cap = ncap;
    }
    top_target *tg = &(*t)[*n];
    tg->name = strdup(name);
    tg->url = strdup(url);
    if (tg->name == NULL || tg->url == NULL) {
        free(tg->name);
        free(tg->url);
        return -ENOMEM;
    }
    (*n)++;
    return 0;
}

/* Expands one field; see ports.h for the accepted forms. */
static int parse_field(const char *f, size_t flen, const char *endpoint, top_target **t,
                       size_t *n, size_t *cap, char *err, size_t errlen)
{
    const char *scheme = "http";
    const char *p = f, *end = f + flen;
    const char *user = "";
    size_t userlen = 0;

    const char *sep = NULL;
    for (const char *q = p; q + 2 < end; q++) {
        if (q[0] == ':' && q[1] == '/' && q[2] == '/') {
            sep = q;
            break;
        }
    }
    if (sep != NULL) {
        size_t slen = (size_t)(sep - p);
        if (slen == 4 && strncasecmp(p, "http", 4) == 0) {
            scheme = "http";
        } else if (slen == 5 && strncasecmp(p, "https", 5) == 0) {
            scheme = "https";
        } else {
            snprintf(err, errlen, "unsupported scheme in \"%.*s\" (use http or https)", (int)flen, f);
            return -EINVAL;
        }
        p = sep + 3;
    }

    /* Authority ends at the first '/'; the rest is the path. */
    const char *slash = memchr(p, '/', (size_t)(end - p));
    const char *aend = slash != NULL ? slash : end;
    char path[1024];
    if (slash != NULL)
        snprintf(path, sizeof(path), "%.*s", (int)(end - slash), slash);
    else
        snprintf(path, sizeof(path), "%s", endpoint);

    for (const char *q = aend; q > p; q--) {
        if (q[-1] == '@') {
            user = p;
            userlen = (size_t)(q - 1 - p);
            p = q;
            break;
        }
    }

    const char *host = p, *ports = NULL;
    size_t hostlen;
    if (sep == NULL && slash == NULL && userlen == 0 && memchr(p, ':', (size_t)(aend - p)) == NULL) {
        /* A bare port or range: localhost, as expvarmon does. */
        host = "localhost";
        hostlen = strlen(host);
        ports = p;
    } else if (p < aend && *p == '[') {
        const char *rb = memchr(p, ']', (size_t)(aend - p));
        if (rb == NULL) {
            snprintf(err, errlen, "missing ']' in \"%.*s\"", (int)flen, f);
            return -EINVAL;
        }
        hostlen = (size_t)(rb + 1 - p);
        if (rb + 1 < aend) {
            if (rb[1] != ':') {
                snprintf(err, errlen, "bad host in \"%.*s\"", (int)flen, f);
                return -EINVAL;
            }
            ports = rb + 2;
        }
    } else {
        const char *colon = NULL;
        int colons = 0;
        for (const char *q = p; q < aend; q++) {
            if (*q == ':' && colons++ == 0)
                colon = q;
        }
        if (colons > 1) {
            snprintf(err, errlen, "bad host in \"%.*s\" (write IPv6 addresses as [::1]:port)",
                     (int)flen, f);
            return -EINVAL;
        }
        hostlen = colon != NULL ? (size_t)(colon - p) : (size_t)(aend - p);
        if (colon != NULL)
            ports = colon + 1;
        if (hostlen == 0) {
            host = "localhost";
            hostlen = strlen(host);
        }
    }

    if (ports == NULL) {
        /* A URL without a port uses its scheme's default port. */
        if (sep == NULL) {
            snprintf(err, errlen, "missing port in \"%.*s\"", (int)flen, f);
            return -EINVAL;
        }
        return add_target(t, n, cap, scheme, user, userlen, host, hostlen, 0, path);
    }

    long lo, hi;
    if (parse_range(ports, (size_t)(aend - ports), &lo, &hi) < 0) {
        snprintf(err, errlen, "bad port or range \"%.*s\" in \"%.*s\" (want 1-65535 or N-M)",
                 (int)(aend - ports), ports, (int)flen, f);
        return -EINVAL;
    }
    if (hi - lo >= TOP_MAX_SERVICES) {
        snprintf(err, errlen, "too many services (at most %d)", TOP_MAX_SERVICES);
        return -E2BIG;
    }
    for (long port = lo; port <= hi; port++) {
        int rc = add_target(t, n, cap, scheme, user, userlen, host, hostlen, port, path);
        if (rc == -E2BIG)
            snprintf(err, errlen, "too many services (at most %d)", TOP_MAX_SERVICES);
        else if (rc < 0)
            snprintf(err, errlen, "cannot add \"%.*s\": %s", (int)flen, f, strerror(-rc));
        if (rc < 0)
            return rc;
    }
    return 0;
}

int top_ports_parse(const char *spec, const char *endpoint, top_target **out, size_t *n, char *err,
                    size_t errlen)
{
    top_target *t = NULL;
    size_t cnt = 0, cap = 0;
    char ep[1024];
    int rc = 0;

    snprintf(ep, sizeof(ep), "%s%s", endpoint == NULL || endpoint[0] != '/' ? "/" : "",
             endpoint == NULL ? "debug/vars" : endpoint);

    for (const char *p = spec == NULL ? "" : spec; *p != '\0';) {
        size_t len = strcspn(p, ",");
        /* Empty fields and surrounding blanks are skipped, as
         * strings.FieldsFunc does in expvarmon. */
        const char *s = p, *e = p + len;
        while (s < e && (*s == ' ' || *s == '\t'))
            s++;
        while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
            e--;
        if (e > s) {
            rc = parse_field(s, (size_t)(e - s), ep, &t, &cnt, &cap, err, errlen);
            if (rc < 0)
                goto fail;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    if (cnt == 0) {
        snprintf(err, errlen, "no ports specified. Use -ports arg to specify ports of apps to monitor");
        rc = -EINVAL;
        goto fail;
    }
    *out = t;
    *n = cnt;
    return 0;

fail:
    top_targets_free(t, cnt);
    return rc;
}

void top_targets_free(top_target *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(t[i].name);
        free(t[i].url);
    }
    free(t);
}

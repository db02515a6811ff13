/* http/addr.c - parsing, resolving and classifying "host:port" addresses.
 *
 * The parser is strict on purpose: an address that is only almost right
 * ("127.0.0.1:+80", "::1:6060", "1.2.3:80") is refused rather than guessed,
 * because a guess could bind a wider interface than the user meant.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "http/addr.h"

/* Strict port: one or more decimal digits, value <= 65535. Pure. */
static int parse_port(const char *s, uint16_t *out)
{
    uint32_t v = 0;
    if (*s == '\0')
        return -EINVAL;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        v = v * 10 + (uint32_t)(*s - '0');
        if (v > 65535)
            return -EINVAL;
    }
    *out = (uint16_t)v;
    return 0;
}

/* A DNS name: labels of [A-Za-z0-9-] (1..63 bytes, no leading or trailing
 * '-') separated by single dots, an optional final dot, 253 bytes at most.
 * Pure. */
static bool valid_name(const char *h, size_t n)
{
    if (n == 0 || n > 254 || (n == 254 && h[253] != '.'))
        return false;
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        char c = h[i];
        if (c == '.') {
            if (label == 0 || h[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!alnum && !(c == '-' && label > 0))
            return false;
        if (++label > 63)
            return false;
    }
    return h[n - 1] != '-';
}

/* True when h is made of digits and dots only: then it must be an IPv4
 * literal, never a name (getaddrinfo would read "1.2.3" as 1.2.0.3). */
static bool looks_numeric(const char *h)
{
    for (; *h != '\0'; h++)
        if (*h != '.' && (*h < '0' || *h > '9'))
            return false;
    return true;
}

int cd__http_addr_parse(const char *s, cd__http_hostport *out)
{
    if (s == NULL || out == NULL)
        return -EINVAL;
    size_t n = strnlen(s, CD__HTTP_ADDR_TEXT_MAX + 1);
    if (n == 0 || n > CD__HTTP_ADDR_TEXT_MAX)
        return -EINVAL;

    const char *port;
    size_t hlen;
    memset(out, 0, sizeof *out);
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':')
            return -EINVAL;
        hlen = (size_t)(close - s) - 1;
        memcpy(out->host, s + 1, hlen);
        out->host[hlen] = '\0';
        struct in6_addr a6;
        if (hlen == 0 || inet_pton(AF_INET6, out->host, &a6) != 1)
            return -EINVAL;
        out->kind = CD__HTTP_HOST_IPV6;
        port = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (colon == NULL)
            return -EINVAL;
        hlen = (size_t)(colon - s);
        if (memchr(s, ':', hlen) != NULL)
            return -EINVAL; /* an IPv6 literal needs brackets */
        memcpy(out->host, s, hlen);
        out->host[hlen] = '\0';
        if (hlen == 0) {
            out->kind = CD__HTTP_HOST_ANY;
        } else if (looks_numeric(out->host)) {
            struct in_addr a4;
            if (inet_pton(AF_INET, out->host, &a4) != 1)
                return -EINVAL;
            out->kind = CD__HTTP_HOST_IPV4;
        } else if (valid_name(out->host, hlen)) {
            out->kind = CD__HTTP_HOST_NAME;
        } else {
            return -EINVAL;
        }
        port = colon + 1;
    }
    return parse_port(port, &out->port);
}

bool cd__http_addr_is_loopback(const struct sockaddr *sa)
{
    if (sa == NULL)
        return false;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr;
        if (IN6_IS_ADDR_LOOPBACK(a))
            return true;
        return IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127;
    }
    return false;
}

bool cd__http_host_is_loopback(const char *h)
{
    if (h == NULL)
        return false;
    size_t n = strnlen(h, 256);
    const char *host = h, *port = NULL;
    size_t hlen;
    if (h[0] == '[') {
        const char *close = memchr(h, ']', n);
        if (close == NULL)
            return false;
        host = h + 1;
        hlen = (size_t)(close - host);
        if (close[1] == ':')
            port = close + 2;
        else if (close[1] != '\0')
            return false;
    } else {
        const char *colon = memchr(h, ':', n);
        hlen = colon != NULL ? (size_t)(colon - h) : n;
        if (colon != NULL)
            port = colon + 1;
    }
    if (port != NULL) { /* digits, possibly none ("host:" is valid URI syntax) */
        size_t k = 0;
        for (; port[k] >= '0' && port[k] <= '9'; k++)
            ;
        if (port[k] != '\0' || k > 5)
            return false;
    }
    char text[INET6_ADDRSTRLEN];
    if (hlen == 0 || hlen >= sizeof text)
        return false;
    memcpy(text, host, hlen);
    text[hlen] = '\0';
    if (h[0] == '[') {
        struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
        return inet_pton(AF_INET6, text, &in6.sin6_addr) == 1 &&
               cd__http_addr_is_loopback((const struct sockaddr *)&in6);
    }
    if (strcasecmp(text, "localhost") == 0)
        return true;
    struct sockaddr_in in = {.sin_family = AF_INET};
    return inet_pton(AF_INET, text, &in.sin_addr) == 1 &&
           cd__http_addr_is_loopback((const struct sockaddr *)&in);
}

/* Fills out from a sockaddr of a known family and the port. */
static void set_sockaddr(cd__http_sockaddr *out, const struct sockaddr *sa, socklen_t len,
                         uint16_t port)
{
    memset(out, 0, sizeof *out);
    memcpy(&out->ss, sa, len);
    out->len = len;
    out->family = sa->sa_family;
    if (out->family == AF_INET)
        ((struct sockaddr_in *)(void *)&out->ss)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)(void *)&out->ss)->sin6_port = htons(port);
    out->loopback = cd__http_addr_is_loopback((const struct sockaddr *)&out->ss);
}

/* Resolves a name: the first IPv4 answer, else the first IPv6 one. */
static int resolve_name(const char *host, uint16_t port, cd__http_sockaddr *out, char *why,
                        size_t whylen)
{
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(host, NULL, &hints, &res);
    if (rc != 0) {
        if (why != NULL && whylen > 0)
            snprintf(why, whylen, "cannot resolve \"%s\": %s", host, gai_strerror(rc));
        return rc == EAI_MEMORY ? -ENOMEM : -EADDRNOTAVAIL;
    }
    const struct addrinfo *pick = NULL;
    for (const struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        if (ai->ai_family == AF_INET) {
            pick = ai;
            break;
        }
        if (ai->ai_family == AF_INET6 && pick == NULL)
            pick = ai;
    }
    rc = 0;
    if (pick == NULL) {
        if (why != NULL && whylen > 0)
            snprintf(why, whylen, "cannot resolve \"%s\": no IPv4 or IPv6 address", host);
        rc = -EADDRNOTAVAIL;
    } else {
        set_sockaddr(out, pick->ai_addr, pick->ai_addrlen, port);
    }
    freeaddrinfo(res);
    return rc;
}

int cd__http_addr_resolve(const char *s, cd__http_sockaddr *out, char *why, size_t whylen)
{
    cd__http_hostport hp;
    int rc = cd__http_addr_parse(s, &hp);
    if (rc != 0) {
        if (why != NULL && whylen > 0)
            snprintf(why, whylen, "malformed address (want host:port, e.g. 127.0.0.1:6060)");
        return rc;
    }
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
    switch (hp.kind) {
    case CD__HTTP_HOST_ANY:
    case CD__HTTP_HOST_IPV4:
        memset(&in, 0, sizeof in);
        in.sin_family = AF_INET;
        in.sin_addr.s_addr = htonl(INADDR_ANY);
        if (hp.kind == CD__HTTP_HOST_IPV4)
            (void)inet_pton(AF_INET, hp.host, &in.sin_addr);
        set_sockaddr(out, (const struct sockaddr *)&in, sizeof in, hp.port);
        return 0;
    case CD__HTTP_HOST_IPV6:
        memset(&in6, 0, sizeof in6);
        in6.sin6_family = AF_INET6;
        (void)inet_pton(AF_INET6, hp.host, &in6.sin6_addr);
        set_sockaddr(out, (const struct sockaddr *)&in6, sizeof in6, hp.port);
        return 0;
    case CD__HTTP_HOST_NAME:
        return resolve_name(hp.host, hp.port, out, why, whylen);
    }
    return -EINVAL;
}

int cd__http_addr_format(const struct sockaddr *sa, char *buf, size_t n)
{
    char host[INET6_ADDRSTRLEN];
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        inet_ntop(AF_INET, &in->sin_addr, host, sizeof host);
        return snprintf(buf, n, "%s:%u", host, (unsigned)ntohs(in->sin_port));
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof host);
        return snprintf(buf, n, "[%s]:%u", host, (unsigned)ntohs(in6->sin6_port));
    }
    return snprintf(buf, n, "(unknown address family %d)", (int)sa->sa_family);
}

/* http/addr.h - "host:port" addresses of the debug server.
 *
 * The grammar is Go's net.Listen address with the hosts cdebug can bind:
 *
 *   127.0.0.1:6060     an IPv4 literal (dotted quad, four decimal parts)
 *   localhost:6060     a name of [A-Za-z0-9.-], resolved with getaddrinfo
 *   [::1]:6060         an IPv6 literal in brackets (no zone)
 *   :6060              empty host: every interface (0.0.0.0), as in Go
 *
 * The port is strict decimal 0..65535 (leading zeros allowed, no sign, no
 * spaces); 0 asks the kernel for a free port. Parsing is pure; resolving a
 * name may block on the resolver (/etc/hosts, DNS).
 *
 * Security: the server binds loopback only unless the caller allows others,
 * so the loopback test lives here too. A loopback address is 127.0.0.0/8,
 * ::1 or an IPv4-mapped 127.x (::ffff:127.0.0.1); "every interface" is not.
 */
#ifndef CDEBUG_HTTP_ADDR_H
#define CDEBUG_HTTP_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest accepted address text, NUL excluded (a DNS name is at most 253
 * bytes, plus brackets, colon and port). */
#define CD__HTTP_ADDR_TEXT_MAX 270

/* Kinds of host in a parsed address. */
typedef enum cd__http_host_kind {
    CD__HTTP_HOST_ANY,  /* empty host: every interface */
    CD__HTTP_HOST_IPV4, /* IPv4 literal */
    CD__HTTP_HOST_IPV6, /* bracketed IPv6 literal */
    CD__HTTP_HOST_NAME, /* a name to resolve */
} cd__http_host_kind;

/* An address split into its parts (host without brackets). */
typedef struct cd__http_hostport {
    cd__http_host_kind kind;
    char host[CD__HTTP_ADDR_TEXT_MAX + 1];
    uint16_t port;
} cd__http_hostport;

/* A resolved address, ready for socket()/bind(). */
typedef struct cd__http_sockaddr {
    struct sockaddr_storage ss;
    socklen_t len;
    int family;    /* AF_INET or AF_INET6 */
    bool loopback; /* cd__http_addr_is_loopback(ss) */
} cd__http_sockaddr;

/* Splits s into host and port and classifies the host. Returns 0 or
 * -EINVAL (NULL, empty, too long, no colon, bad host, bad or missing port,
 * an IPv6 literal without brackets). Pure; thread-safe; async-signal-safe;
 * O(strlen(s)). */
int cd__http_addr_parse(const char *s, cd__http_hostport *out);

/* Parses and resolves s. A name resolves with getaddrinfo(); the first IPv4
 * answer is preferred (Go's "localhost" also listens on 127.0.0.1), else
 * the first IPv6 one. Returns 0, -EINVAL (syntax), -EADDRNOTAVAIL (the
 * name does not resolve; gai_strerror text in why when why != NULL) or
 * -ENOMEM. Does not check loopback: see out->loopback. Thread-safe; not
 * async-signal-safe; may block on the resolver for a name. */
int cd__http_addr_resolve(const char *s, cd__http_sockaddr *out, char *why, size_t whylen);

/* True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104. Pure; thread-safe;
 * async-signal-safe; O(1). */
bool cd__http_addr_is_loopback(const struct sockaddr *sa);

/* True when h, the value of an HTTP Host header ("host" or "host:port"),
 * names a loopback host: "localhost" (any case), an IPv4 literal in
 * 127.0.0.0/8 (dotted quad), or a bracketed IPv6 literal that
 * cd__http_addr_is_loopback accepts ("[::1]", "[::ffff:127.0.0.1]"). Any
 * other name is false, "*.localhost" included: a name is what DNS
 * rebinding controls. NULL is false (the caller decides what an absent
 * header means). Pure; thread-safe; O(strlen(h)). */
bool cd__http_host_is_loopback(const char *h);

/* Formats sa as "127.0.0.1:6060" or "[::1]:6060" into buf (snprintf
 * contract). Thread-safe; not async-signal-safe (inet_ntop); O(1). */
int cd__http_addr_format(const struct sockaddr *sa, char *buf, size_t n);

#endif /* CDEBUG_HTTP_ADDR_H */

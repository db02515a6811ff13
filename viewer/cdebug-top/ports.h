/* ports.h - expands expvarmon's -ports syntax into the URLs to poll.
 *
 * Each comma-separated field is one of
 *   6060                      http://localhost:6060<endpoint>
 *   6060-6062                 three services on localhost
 *   host:6060, :6060          a host ("" is localhost); host may be [v6]
 *   host:6060-6062            a range on that host
 *   http(s)://[user:pw@]host[:port[-port]][/path]
 *                             a full URL; its path, when present, replaces
 *                             the -endpoint path
 * A service's display name is "host:port" (never the credentials).
 */
#ifndef CDEBUG_TOP_PORTS_H
#define CDEBUG_TOP_PORTS_H

#include <stddef.h>

/* More services than this would not fit any screen; a typo such as
 * "1-65535" is refused instead of opening 65535 connections. */
#define TOP_MAX_SERVICES 64

typedef struct top_target {
    char *name; /* "host:port", malloc'd */
    char *url;  /* full URL to GET, malloc'd */
} top_target;

/* Parses spec into a malloc'd array of *n targets (*out, freed with
 * top_targets_free). endpoint is the default path (a leading '/' is added
 * when missing). Returns 0, -EINVAL with a message in err (bad port, bad
 * range, unsupported scheme, empty spec), -E2BIG beyond TOP_MAX_SERVICES or
 * -ENOMEM. Pure, thread-safe. */
int top_ports_parse(const char *spec, const char *endpoint, top_target **out, size_t *n, char *err,
                    size_t errlen);

void top_targets_free(top_target *t, size_t n);

#endif

/* vars/prom.h - Prometheus text exposition (format 0.0.4) of the vars and
 * the runtime metrics: cd_vars_prometheus. docs/vars.md gives the rules.
 */
#ifndef CDEBUG_VARS_PROM_H
#define CDEBUG_VARS_PROM_H

#include <stddef.h>

/* Writes the snake_case form of a var name into out (room for 2 * n + 4
 * bytes) and returns its length: ASCII letters lowercased, with '_'
 * inserted at camelCase boundaries ("requestsTotal" -> "requests_total",
 * "HTTPServer" -> "http_server"); digits kept; every other byte (':' '.'
 * '-', spaces, quotes, control and non-ASCII bytes) becomes '_'; runs of
 * '_' collapse to one; '_' at either end is dropped; an empty result is
 * "var". The result matches [a-z0-9][a-z0-9_]* and, behind "cdebug_", is a
 * valid metric name free of promtool's colon and camelCase lint. Pure,
 * O(n). */
size_t cd__prom_sanitise(const char *s, size_t n, char *out);

#endif /* CDEBUG_VARS_PROM_H */

/* runtime/lineage.c - the children rule. See lineage.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/hash.h"
#include "runtime/lineage.h"

static uint64_t value_hash(const char *cdebug)
{
    return cd__hash_bytes(cdebug, strlen(cdebug));
}

size_t cd__lineage_marker(char *buf, size_t len, const char *cdebug, pid_t self)
{
    int n = snprintf(buf, len, "%ld:%016" PRIx64, (long)self, value_hash(cdebug));
    return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

bool cd__lineage_is_child(const char *marker, const char *cdebug, pid_t self)
{
    if (marker == NULL || cdebug == NULL)
        return false;
    /* PID:HASH, decimal then 16 hex digits; anything else is no marker. */
    char *end;
    errno = 0;
    long pid = strtol(marker, &end, 10);
    if (errno != 0 || end == marker || *end != ':' || pid <= 0 || marker[0] == '-' ||
        marker[0] == '+')
        return false;
    const char *h = end + 1;
    if (strlen(h) != 16 || strspn(h, "0123456789abcdef") != 16)
        return false;
    char want[17];
    snprintf(want, sizeof want, "%016" PRIx64, value_hash(cdebug));
    return pid != (long)self && memcmp(h, want, 16) == 0;
}

/* path becomes path.PID, or "" when that does not fit. */
static void per_process(char *path, size_t cap, pid_t pid)
{
    if (path[0] == '\0')
        return;
    size_t n = strlen(path);
    int w = snprintf(path + n, cap - n, ".%ld", (long)pid);
    if (w < 0 || (size_t)w >= cap - n)
        path[0] = '\0';
}

void cd__lineage_child_config(cd__config *c, pid_t pid)
{
    if (c->http_addr[0] != '\0' && !cd__env_http_port_zero(c->http_addr))
        c->http_addr[0] = '\0';
    per_process(c->cpuprofile_path, sizeof c->cpuprofile_path, pid);
    per_process(c->trace_path, sizeof c->trace_path, pid);
    per_process(c->memprofile_path, sizeof c->memprofile_path, pid);
}

bool cd__lineage_start(const char *cdebug)
{
    if (cdebug == NULL || cdebug[0] == '\0')
        return false;
    pid_t self = getpid();
    if (cd__lineage_is_child(getenv(CD__LINEAGE_ENV), cdebug, self))
        return true;
    char m[64];
    if (cd__lineage_marker(m, sizeof m, cdebug, self) > 0)
        (void)setenv(CD__LINEAGE_ENV, m, 1);
    return false;
}

/* prof/profiles.h - the named profiles of /debug/pprof/NAME, Go's
 * pprof.Lookup table: each module (heap sampling, tasks, threads) registers
 * its profile once at init; the HTTP routes (http/pprof_routes.c), the
 * index page and the public cd_*prof_write functions find them here.
 *
 * A profile has two renderings, as in Go: debug=0 fills a profile.proto
 * builder (prof/pprof.h), written gzipped; debug>0 prints text.
 */
#ifndef CDEBUG_PROF_PROFILES_H
#define CDEBUG_PROF_PROFILES_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "prof/pprof.h"

#define CD__PROFILES_MAX 16

typedef struct cd__profile {
    const char *name; /* "heap", "allocs", "goroutine", "threadcreate" */
    const char *desc; /* the index page's description (Go's wording) */
    bool delta;       /* accepts ?seconds=N (Go's profileSupportsDelta) */
    /* The count on the index page; -1 when the profile has none.
     * Thread-safe; may be called from any thread (no GC memory). */
    int64_t (*count)(void);
    /* debug=0: adds sample types, samples, period... to p. Returns 0 or a
     * negative errno. Thread-safe. */
    int (*build)(cd__pprof *p);
    /* debug>0: writes Go's text form to f (debug 1, or 2 where the profile
     * has one; a profile without a debug=2 form prints debug=1). Returns 0
     * or a negative errno. Thread-safe. */
    int (*text)(FILE *f, int debug);
} cd__profile;

/* Registers *p (static storage: kept by pointer). Idempotent for the same
 * pointer. Returns 0, -EEXIST (another profile has the name) or -ENOSPC.
 * Thread-safe; O(profiles). */
int cd__profile_register(const cd__profile *p);

/* The profile of that name, or NULL. Thread-safe; lock-free; O(profiles). */
const cd__profile *cd__profile_lookup(const char *name);

/* Up to max registered profiles in *out, sorted by name; returns how many.
 * Thread-safe. */
size_t cd__profile_list(const cd__profile **out, size_t max);

/* Renders profile p: debug 0 gzipped profile.proto, else text. The result
 * is malloc'ed in *out, *len. Returns 0 or a negative errno. */
int cd__profile_render(const cd__profile *p, int debug, uint8_t **out, size_t *len);

/* Renders p as cd__profile_render does and writes it all to fd: the body
 * of the public cd_*prof_write functions. Returns 0, -EBADF (fd not open
 * for writing), -EINVAL (debug < 0), a rendering's error or write(2)'s.
 * Thread-safe; not async-signal-safe; allocates the whole rendering. */
int cd__profile_write_fd(const cd__profile *p, int fd, int debug);

/* Waits `seconds` for a delta profile: returns 0 when the time is up, or a
 * negative errno (-ECANCELED) when whoever asked is gone. */
typedef int (*cd__profile_wait_fn)(void *arg, int64_t seconds);

/* The delta profile over `seconds` (Go's serveDeltaProfile): builds p,
 * waits (wait(arg, seconds), or sleeps when wait is NULL), builds again,
 * and keeps the difference (second minus first, samples whose values all
 * cancel dropped), with time and duration of the interval. Only for
 * p->delta profiles. gzipped profile.proto in *out. Returns 0, or a
 * negative errno (wait's own when it gave up: then no profile). */
int cd__profile_render_delta(const cd__profile *p, int64_t seconds, cd__profile_wait_fn wait,
                             void *arg, uint8_t **out, size_t *len);

#endif /* CDEBUG_PROF_PROFILES_H */

/* prof/profiles.c - the named-profile table and its renderings; see
 * profiles.h. The table is append-only, like the HTTP route table: a
 * registration takes a mutex and publishes the entry with a release store
 * of the count, lookups never lock. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "prof/profiles.h"
#include "runtime/mprof.h"
#include "base/clock.h"
#include "base/io.h"

static const cd__profile *table[CD__PROFILES_MAX];
static atomic_size_t count;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

int cd__profile_register(const cd__profile *p)
{
    int rc = 0;
    pthread_mutex_lock(&lock);
    size_t n = atomic_load_explicit(&count, memory_order_relaxed);
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i]->name, p->name) == 0) {
            rc = table[i] == p ? 0 : -EEXIST;
            goto out;
        }
    if (n == CD__PROFILES_MAX) {
        rc = -ENOSPC;
        goto out;
    }
    table[n] = p;
    atomic_store_explicit(&count, n + 1, memory_order_release);
out:
    pthread_mutex_unlock(&lock);
    return rc;
}

const cd__profile *cd__profile_lookup(const char *name)
{
    size_t n = atomic_load_explicit(&count, memory_order_acquire);
    for (size_t i = 0; i < n; i++)
        if (strcmp(table[i]->name, name) == 0)
            return table[i];
    return NULL;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp((*(const cd__profile *const *)a)->name, (*(const cd__profile *const *)b)->name);
}

size_t cd__profile_list(const cd__profile **out, size_t max)
{
    size_t n = atomic_load_explicit(&count, memory_order_acquire);
    if (n > max)
        n = max;
    memcpy(out, table, n * sizeof *out);
    qsort(out, n, sizeof *out, cmp_name);
    return n;
}

static int render_text(const cd__profile *p, int debug, uint8_t **out, size_t *len)
{
    char *buf = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&buf, &n);
    if (f == NULL)
        return -ENOMEM;
    int rc = p->text(f, debug);
    if (fclose(f) != 0 && rc == 0)
        rc = -ENOMEM;
    if (rc < 0) {
        free(buf);
        return rc;
    }
    *out = (uint8_t *)buf;
    *len = n;
    return 0;
}

static int render(const cd__profile *p, int debug, uint8_t **out, size_t *len)
{
    if (debug > 0)
        return render_text(p, debug, out, len);
    cd__pprof *b = cd__pprof_new();
    if (b == NULL)
        return -ENOMEM;
    int rc = p->build(b);
    if (rc == 0)
        rc = cd__pprof_encode(b, out, len);
    cd__pprof_free(b);
    return rc;
}

int cd__profile_render(const cd__profile *p, int debug, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    /* The render's mallocs are the tool's, not the program's. */
    cd__mprof_quiet++;
    int rc = render(p, debug, out, len);
    cd__mprof_quiet--;
    return rc;
}

int cd__profile_write_fd(const cd__profile *p, int fd, int debug)
{
    int rc = cd__fd_writable(fd);
    if (rc != 0)
        return rc;
    if (debug < 0)
        return -EINVAL;
    uint8_t *buf;
    size_t len;
    rc = cd__profile_render(p, debug, &buf, &len);
    if (rc == 0)
        rc = cd__write_all(fd, buf, len);
    free(buf);
    return rc;
}

int cd__profile_render_delta(const cd__profile *p, int64_t seconds, cd__profile_wait_fn wait,
                             void *arg, uint8_t **out, size_t *len)
{
    *out = NULL;
    *len = 0;
    if (!p->delta || seconds <= 0)
        return -EINVAL;
    cd__mprof_quiet++; /* the tool's mallocs, as in cd__profile_render */
    cd__pprof *b0 = cd__pprof_new(), *b1 = cd__pprof_new();
    int rc = -ENOMEM;
    if (b0 == NULL || b1 == NULL)
        goto out;
    uint64_t t0 = cd__walltime();
    if ((rc = p->build(b0)) < 0)
        goto out;
    if (wait != NULL) {
        if ((rc = wait(arg, seconds)) < 0)
            goto out;
    } else {
        struct timespec ts = {(time_t)seconds, 0};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        }
    }
    uint64_t t1 = cd__walltime();
    if ((rc = p->build(b1)) < 0 || (rc = cd__pprof_subtract(b1, b0)) < 0)
        goto out;
    /* Go keeps the second profile's time and the interval as duration. */
    cd__pprof_time(b1, (int64_t)t1, (int64_t)(t1 - t0));
    rc = cd__pprof_encode(b1, out, len);
out:
    cd__pprof_free(b0);
    cd__pprof_free(b1);
    cd__mprof_quiet--;
    return rc;
}

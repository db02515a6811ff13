/* bench/forward_malloc.c - the least any malloc interposer adds: a
 * preloadable malloc and free that only forward to glibc's, with no
 * sampling, no countdown, no filter. bench/run_malloc runs bench_malloc
 * with it preloaded, next to cdebug's, so the table shows what the
 * forwarding itself costs (one more jump through a pointer per call) and
 * what cdebug adds on top of it.
 *
 * Built with -fno-plt: each function is a single jump through the GOT, as
 * cdebug's forwarding is a single jump through its pointer. glibc's
 * __libc_malloc and __libc_free are the allocator itself, so nothing has
 * to be looked up first (no bootstrap) and calloc, realloc and the rest,
 * not interposed here, stay consistent with it.
 */
#include <stddef.h>

extern void *__libc_malloc(size_t n);
extern void __libc_free(void *p);

__attribute__((visibility("default"))) void *malloc(size_t n)
{
    return __libc_malloc(n);
}

__attribute__((visibility("default"))) void free(void *p)
{
    __libc_free(p);
}

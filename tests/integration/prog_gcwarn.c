/* tests/integration/prog_gcwarn.c - makes bdwgc warn, for test_gcwarn.sh.
 *
 * Usage: prog_gcwarn [BLOCKS [MIB]]
 *
 * Allocates BLOCKS (default 24) blocks of MIB MiB (default 256) with
 * cd_alloc, keeping the last 4 reachable and touching each: large blocks
 * that may hold pointers, whose pages bdwgc must take even where it
 * blacklisted some, which is what makes it warn "Repeated allocation of
 * very large block" (every GC_LARGE_ALLOC_WARN_INTERVAL-th such block;
 * the test sets it to 1). Prints "allocated BLOCKS blocks of MIB MiB" on
 * stdout; exit status 0, 1 when an allocation fails, 2 for bad arguments.
 */
#include <stdio.h>
#include <stdlib.h>

#include <cdebug/cdebug.h>

/* The last blocks, reachable: a root, the collector scans global data. */
void *prog_gcwarn_keep[4];

int main(int argc, char **argv)
{
    long blocks = argc > 1 ? atol(argv[1]) : 24, mib = argc > 2 ? atol(argv[2]) : 256;
    if (argc > 3 || blocks < 1 || mib < 1 || mib > 4096) {
        fprintf(stderr, "usage: %s [BLOCKS [MIB]]\n", argv[0]);
        return 2;
    }
    for (long i = 0; i < blocks; i++) {
        char *p = cd_alloc((size_t)mib << 20);
        if (p == NULL) {
            fprintf(stderr, "prog_gcwarn: cd_alloc(%ld MiB) failed at block %ld\n", mib, i);
            return 1;
        }
        p[0] = 1;
        prog_gcwarn_keep[i % 4] = p;
    }
    printf("allocated %ld blocks of %ld MiB\n", blocks, mib);
    fflush(stdout);
    cd_shutdown();
    return 0;
}

/* tests/integration/prog_pprof_encode.c - writes profiles with the
 * library's profile.proto encoder (prof/pprof.h) from samples of known
 * shape, for test_pprof_encode.sh, which reads them with the real
 * `go tool pprof`.
 *
 *   prog_pprof_encode cpu FILE    100 samples: 70 in hot_a, 30 in hot_b,
 *                                 both called from caller_main; the hot_b
 *                                 samples carry the label task=search
 *   prog_pprof_encode heap FILE   Go's four heap sample types, two sites
 *
 * The stacks are real addresses of this program's functions, so the
 * encoder's in-process symbolization (libdw) must name them.
 */
#include <stdio.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "prof/pprof.h"

/* noinline and distinct bodies: each function keeps its own address. */
__attribute__((noinline)) int hot_a(int x)
{
    return x * 3 + 1;
}

__attribute__((noinline)) int hot_b(int x)
{
    return x * 5 + 2;
}

__attribute__((noinline)) int caller_main(int x)
{
    return hot_a(x) + hot_b(x) + 1;
}

static int cpu(cd__pprof *p)
{
    /* A pc inside each function (its first byte + 1), and a return address
     * inside caller_main. */
    uintptr_t a = (uintptr_t)&hot_a + 1, b = (uintptr_t)&hot_b + 1;
    uintptr_t ret = (uintptr_t)&caller_main + 2;
    cd__pprof_sample_type(p, "samples", "count");
    cd__pprof_sample_type(p, "cpu", "nanoseconds");
    cd__pprof_period(p, "cpu", "nanoseconds", 10000000);
    cd__pprof_time(p, 1700000000000000000, 1000000000);
    int64_t v[2] = {1, 10000000};
    cd__pprof_label task = {.key = "task", .str = "search"};
    for (int i = 0; i < 100; i++) {
        uintptr_t stack[2] = {i < 70 ? a : b, ret};
        if (cd__pprof_sample(p, stack, 2, true, v, i < 70 ? NULL : &task, i < 70 ? 0 : 1) < 0)
            return -1;
    }
    return 0;
}

static int heap(cd__pprof *p)
{
    uintptr_t ret = (uintptr_t)&caller_main + 2;
    cd__pprof_sample_type(p, "alloc_objects", "count");
    cd__pprof_sample_type(p, "alloc_space", "bytes");
    cd__pprof_sample_type(p, "inuse_objects", "count");
    cd__pprof_sample_type(p, "inuse_space", "bytes");
    cd__pprof_period(p, "space", "bytes", 524288);
    cd__pprof_default_type(p, "inuse_space");
    uintptr_t s1[2] = {(uintptr_t)&hot_a + 2, ret}, s2[2] = {(uintptr_t)&hot_b + 2, ret};
    int64_t v1[4] = {10, 10 << 20, 5, 5 << 20}, v2[4] = {100, 1 << 20, 0, 0};
    cd__pprof_label bytes = {.key = "bytes", .num = 1048576};
    if (cd__pprof_sample(p, s1, 2, false, v1, &bytes, 1) < 0 ||
        cd__pprof_sample(p, s2, 2, false, v2, NULL, 0) < 0)
        return -1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc != 3 || (strcmp(argv[1], "cpu") != 0 && strcmp(argv[1], "heap") != 0)) {
        fprintf(stderr, "usage: prog_pprof_encode cpu|heap FILE\n");
        return 2;
    }
    cd__pprof *p = cd__pprof_new();
    if (p == NULL || (argv[1][0] == 'c' ? cpu(p) : heap(p)) < 0) {
        fprintf(stderr, "prog_pprof_encode: out of memory\n");
        return 1;
    }
    int fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int rc = fd < 0 ? -1 : cd__pprof_write(p, fd);
    if (fd >= 0)
        close(fd);
    cd__pprof_free(p);
    if (rc < 0) {
        fprintf(stderr, "prog_pprof_encode: writing %s failed (%d)\n", argv[2], rc);
        return 1;
    }
    return caller_main(argc) > 0 ? 0 : 0;
}

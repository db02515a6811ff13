/* tests/integration/consumer_app.c - the program test_install.sh and
 * test_add_subdirectory.sh build against cdebug the way a user would: the
 * umbrella header, the pool, the allocator, a collection, memstats. Prints
 * "n=100 numgc=N" with N >= 1.
 */
#include <cdebug/cdebug.h>
#include <stdio.h>

static _Atomic int n;
static cd_waitgroup wg;

static void work(void *arg)
{
    int *v = arg;
    n += *v;
    cd_wg_done(&wg);
}

int main(void)
{
    cd_wg_init(&wg);
    for (int i = 0; i < 100; i++) {
        int *v = cd_alloc(sizeof *v);
        *v = 1;
        cd_wg_add(&wg, 1);
        cd_go(work, v);
    }
    cd_wg_wait(&wg);
    cd_gc();
    cd_memstats m;
    cd_read_memstats(&m);
    printf("n=%d numgc=%u\n", (int)n, m.NumGC);
    cd_shutdown();
    return 0;
}

/* tests/integration/srcview_lib.c - the shared library of
 * test_pprof_source.sh, which builds it three times (with -g: linked by GNU
 * ld, linked by lld; and without symbols: linked by GNU ld, then stripped),
 * each with its own VARIANT prefix (-DVARIANT=bfd_, lld_, strip_) so the
 * three copies' functions have distinct names. prog_srcview dlopens them.
 *
 * Each copy exports three entry points that call a static function, which
 * is where the work is: a stripped copy has no name for it (its .dynsym
 * keeps only the exported ones).
 *   srcview_VARIANT_burn_entry(n)   n rounds of a multiply-add chain (CPU)
 *   srcview_VARIANT_alloc_entry(n)  one cd_alloc of n bytes (heap)
 *   srcview_VARIANT_park_entry(wg)  a task body: waits on the wait group
 * The marker comments name the lines the test looks for in pprof's
 * source views.
 */
#include <stddef.h>
#include <stdint.h>

#include <cdebug/runtime.h>
#include <cdebug/sched.h>

#define SV_CAT2(a, b) a##b
#define SV_CAT(a, b)  SV_CAT2(a, b)
#define SV(name)      SV_CAT(SV_CAT(srcview_, VARIANT), name)

/* No inlining, cloning or merging: each function keeps its own code. */
#if defined(__clang__)
#define KEEP __attribute__((noinline))
#else
#define KEEP __attribute__((noipa))
#endif

static KEEP uint64_t SV(burn)(uint64_t n)
{
    uint64_t x = n | 1;
    for (uint64_t i = 0; i < n; i++)
        x = x * 6364136223846793005u + (x >> 29); /* srcview hot line of the library */
    return x;
}

static KEEP void *SV(alloc)(size_t n)
{
    void *p = cd_alloc(n); /* srcview allocation of the library */
    __asm__ volatile("" ::"r"(p) : "memory");
    return p;
}

static KEEP void SV(park)(cd_waitgroup *wg)
{
    cd_wg_wait(wg);
    __asm__ volatile(""); /* no tail call: park stays on the stack */
}

uint64_t SV(burn_entry)(uint64_t n)
{
    uint64_t x = SV(burn)(n);
    __asm__ volatile("" ::"r"(x));
    return x + 1;
}

void *SV(alloc_entry)(size_t n)
{
    void *p = SV(alloc)(n);
    __asm__ volatile("" ::"r"(p) : "memory");
    return p;
}

void SV(park_entry)(void *wg)
{
    SV(park)(wg);
    __asm__ volatile("");
}

/* tests/integration/dlclose_lib.c - the shared libraries of
 * test_dlclose.sh, which builds this file twice (-DVARIANT=a_ and
 * -DVARIANT=b_): two different files with the same layout, so a function
 * of one lies at the same offset as its namesake in the other. prog_dlclose
 * loads them in turn, one at a time: the loader puts the second where the
 * first was, and a profile that resolved the first one's addresses with
 * whatever is mapped there when it is written would name the second one's
 * functions.
 *
 * Each entry point calls a static function, which is where the work is:
 *   dlclose_V_burn(ns)         a multiply-add chain for ns of thread CPU
 *   dlclose_V_alloc(out, n, z) n malloc(z) and n cd_alloc(z), kept by the
 *                              caller past the library's dlclose
 *   dlclose_V_lock(mu)         takes and releases mu, which another
 *                              thread holds (the mutex and block profiles)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#include <cdebug/runtime.h>

#define DL_CAT2(a, b) a##b
#define DL_CAT(a, b)  DL_CAT2(a, b)
#define DL(name)      DL_CAT(DL_CAT(dlclose_, VARIANT), name)

/* No inlining, cloning or merging: each function keeps its own code. */
#if defined(__clang__)
#define KEEP __attribute__((noinline))
#else
#define KEEP __attribute__((noipa))
#endif

static int64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static KEEP uint64_t DL(spin)(int64_t ns)
{
    uint64_t x = 1;
    int64_t t0 = cpu_ns();
    while (cpu_ns() - t0 < ns)
        for (int i = 0; i < 20000; i++)
            x = x * 6364136223846793005u + (x >> 29);
    return x;
}

static KEEP void DL(fill)(void **out, int n, size_t size)
{
    for (int i = 0; i < n; i++) {
        out[2 * i] = malloc(size);
        out[2 * i + 1] = cd_alloc(size);
    }
    __asm__ volatile("" ::"r"(out) : "memory");
}

static KEEP void DL(take)(pthread_mutex_t *mu)
{
    pthread_mutex_lock(mu);
    pthread_mutex_unlock(mu);
    __asm__ volatile(""); /* no tail call: take stays on the stack */
}

uint64_t DL(burn)(int64_t ns)
{
    uint64_t x = DL(spin)(ns);
    __asm__ volatile("" ::"r"(x));
    return x + 1;
}

void DL(alloc)(void **out, int n, size_t size)
{
    DL(fill)(out, n, size);
    __asm__ volatile("");
}

void DL(lock)(pthread_mutex_t *mu)
{
    DL(take)(mu);
    __asm__ volatile("");
}

/* tests/unit/test_cpuprof.c - the CPU profiler's internal API
 * (prof/cpuprof.h), the `seconds` rule of /debug/pprof/profile and the
 * CDEBUG cpuprofile setting. The profiles themselves are read with the
 * real `go tool pprof` in tests/integration/test_cpuprof.sh.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cdebug/prof.h"
#include "cdebug/sched.h"
#include "http/pprof_profile_route.h"
#include "prof/cpuprof.h"
#include "runtime/env.h"

/* ---- seconds: Go's strconv.ParseInt, then "bad or <= 0 means 30" ------- */

static void test_seconds(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int64_t want;
    } cases[] = {
        {"5", 5},   {"+5", 5},    {"600", 600}, {"601", 601}, /* capped by the route */
        {"1", 1},   {NULL, 30},   {"", 30},     {"abc", 30},  {"-1", 30},
        {"0", 30},  {"-0", 30},   {"1e3", 30},  {"1.5", 30},  {" 5", 30},
        {"5 ", 30}, {"0x10", 30}, {"+", 30},    {"-", 30},    {"99999999999999999999", 30},
        {"007", 7}, {"5s", 30},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int64_t got = cd__http_profile_seconds(cases[i].in);
        if (got != cases[i].want)
            fail_msg("seconds=\"%s\": %lld, want %lld", cases[i].in ? cases[i].in : "(absent)",
                     (long long)got, (long long)cases[i].want);
    }
}

/* ---- CDEBUG=cpuprofile=FILE --------------------------------------------- */

static void count(const char *line, void *ctx)
{
    (void)line;
    ++*(int *)ctx;
}

static void test_env(void **state)
{
    (void)state;
    cd__config c;
    int warns = 0;
    cd__config_defaults(&c);
    assert_string_equal(c.cpuprofile_path, "");
    assert_int_equal(cd__env_parse_cdebug(&c, "cpuprofile=/tmp/cpu.pb.gz", count, &warns), 0);
    assert_string_equal(c.cpuprofile_path, "/tmp/cpu.pb.gz");
    /* Bad values keep the previous one and warn. */
    assert_int_equal(cd__env_parse_cdebug(&c, "cpuprofile=", count, &warns), 1);
    assert_int_equal(cd__env_parse_cdebug(&c,
                                          "cpuprofile=a\x01"
                                          "b",
                                          count, &warns),
                     1);
    assert_string_equal(c.cpuprofile_path, "/tmp/cpu.pb.gz");
    assert_int_equal(warns, 2);

    /* cpuprofilerate: 1..1000, default 100; bad values keep the last. */
    assert_int_equal(c.cpuprofilerate, 100);
    assert_int_equal(cd__env_parse_cdebug(&c, "cpuprofilerate=1000", count, &warns), 0);
    assert_int_equal(c.cpuprofilerate, 1000);
    assert_int_equal(cd__env_parse_cdebug(&c, "cpuprofilerate=1", count, &warns), 0);
    assert_int_equal(c.cpuprofilerate, 1);
    static const char *const bad[] = {"cpuprofilerate=0",  "cpuprofilerate=1001",
                                      "cpuprofilerate=-5", "cpuprofilerate=abc",
                                      "cpuprofilerate=",   "cpuprofilerate=50hz"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(cd__env_parse_cdebug(&c, bad[i], count, &warns), 1);
    assert_int_equal(c.cpuprofilerate, 1);
    assert_int_equal(warns, 2 + 6);
}

/* ---- start, stop, ownership -------------------------------------------- */

typedef struct result {
    int calls, err;
    uint8_t *buf;
    size_t len;
} result;

static void done(void *ctx, int err, uint8_t *buf, size_t len)
{
    result *r = ctx;
    r->calls++;
    r->err = err;
    free(r->buf);
    r->buf = buf;
    r->len = len;
}

static void burn_cpu_ms(int ms)
{
    struct timespec t0, t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
    volatile uint64_t x = 1;
    do {
        for (int i = 0; i < 100000; i++)
            x = x * 6364136223846793005ull + 1;
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    } while ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000 < ms);
}

static void test_owner(void **state)
{
    (void)state;
    result a = {0}, b = {0};
    assert_int_equal(cd__cpuprof_start_cb(-1, done, &a), -EINVAL);
    assert_int_equal(cd__cpuprof_start_cb(CD__CPUPROF_MAX_HZ + 1, done, &a), -EINVAL);
    assert_int_equal(cd__cpuprof_start_cb(0, NULL, &a), -EINVAL);
    assert_false(cd__cpuprof_running());

    cd__cpuprof_stats s0, s1;
    cd__cpuprof_read_stats(&s0);
    assert_int_equal(cd__cpuprof_start_cb(1000, done, &a), 0);
    assert_true(cd__cpuprof_running());
    assert_int_equal(cd__cpuprof_start_cb(0, done, &b), -EBUSY);
    assert_int_equal(cd_cpuprof_start(1, 0), -EBUSY); /* public API too */
    burn_cpu_ms(200); /* this thread (main, registered by cd_init) is sampled */
    assert_int_equal(cd__cpuprof_stop_owner(&b), -ENOENT); /* not b's profile */
    assert_int_equal(a.calls, 0);
    assert_int_equal(cd__cpuprof_stop_owner(&a), 0);
    assert_false(cd__cpuprof_running());
    assert_int_equal(a.calls, 1); /* delivered before stop returned */
    assert_int_equal(a.err, 0);
    assert_non_null(a.buf);
    assert_true(a.len > 20);
    assert_int_equal(a.buf[0], 0x1f); /* gzip */
    assert_int_equal(a.buf[1], 0x8b);
    assert_int_equal(cd__cpuprof_stop_owner(&a), -ENOENT);
    assert_int_equal(b.calls, 0);

    /* 200 ms of CPU at 1000 Hz is about 200 samples; a tenth is plenty
     * of margin for a test that must not depend on timing. */
    cd__cpuprof_read_stats(&s1);
    assert_true(s1.samples - s0.samples >= 20);
    assert_int_equal(s1.profiles, s0.profiles + 1);
    assert_true(s1.slots >= 1);

    /* cd_cpuprof_stop stops whoever's profile, and delivers it to them. */
    assert_int_equal(cd__cpuprof_start_cb(0, done, &b), 0);
    assert_int_equal(cd_cpuprof_stop(), 0);
    assert_int_equal(b.calls, 1);
    assert_int_equal(cd_cpuprof_stop(), -ENOENT);
    free(a.buf);
    free(b.buf);
}

/* Threads that start while a profile runs are sampled; the slots of
 * threads that exit are reused. */
static void *burner(void *arg)
{
    (void)arg;
    cd_thread_register();
    burn_cpu_ms(50);
    cd_thread_unregister();
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    result a = {0};
    cd__cpuprof_stats s0, s1;
    cd__cpuprof_read_stats(&s0);
    assert_int_equal(cd__cpuprof_start_cb(1000, done, &a), 0);
    for (int round = 0; round < 20; round++) {
        pthread_t t[4];
        for (int i = 0; i < 4; i++)
            assert_int_equal(pthread_create(&t[i], NULL, burner, NULL), 0);
        for (int i = 0; i < 4; i++)
            pthread_join(t[i], NULL);
    }
    assert_int_equal(cd__cpuprof_stop_owner(&a), 0);
    cd__cpuprof_read_stats(&s1);
    /* 80 threads x 50 ms at 1000 Hz: thousands of samples. */
    assert_true(s1.samples - s0.samples >= 400);
    /* At most 4 burners, the main thread, the aggregator and the pool at
     * once: slots are reused, not one per thread ever created. */
    assert_true(s1.slots <= s0.slots + 4 + 8 + 2);
    assert_int_equal(s1.untracked, s0.untracked);
    free(a.buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_seconds),
        cmocka_unit_test(test_env),
        cmocka_unit_test(test_owner),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

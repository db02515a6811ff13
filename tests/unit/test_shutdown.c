/* tests/unit/test_shutdown.c - cd_shutdown drains every accepted task
 * (including tasks spawned while draining) and refuses new ones. Separate
 * from test_sched because shutdown is final for the process. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <time.h>

#include <cmocka.h>

#include "cdebug/cdebug.h"

static _Atomic long ran;

static void leaf(void *arg)
{
    (void)arg;
    struct timespec ts = {0, 100000}; /* 0.1 ms: still running at shutdown */
    nanosleep(&ts, NULL);
    atomic_fetch_add(&ran, 1);
}

static void parent(void *arg)
{
    (void)arg;
    for (int i = 0; i < 10; i++)
        assert_int_equal(cd_go(leaf, NULL), 0);
    atomic_fetch_add(&ran, 1);
}

static void test_shutdown_drains_then_refuses(void **state)
{
    (void)state;
    for (int i = 0; i < 2000; i++)
        assert_int_equal(cd_go(parent, NULL), 0);
    cd_shutdown(); /* no waitgroup: shutdown itself must wait for all */
    assert_int_equal(atomic_load(&ran), 2000 * 11);

    cd_schedstats s;
    cd_read_schedstats(&s);
    assert_int_equal(cd_go(leaf, NULL), -ESHUTDOWN);
    assert_int_equal(cd_go_named("late", leaf, NULL), -ESHUTDOWN);
    cd_shutdown(); /* idempotent */
    assert_int_equal(cd_init(), 0); /* no-op after shutdown, no restart */
    assert_int_equal(cd_go(leaf, NULL), -ESHUTDOWN);
    /* The heap stays usable. */
    char *s2 = cd_strdup("still here");
    assert_string_equal(s2, "still here");
    assert_string_equal(cd_strerror(-ESHUTDOWN), "cdebug has been shut down");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shutdown_drains_then_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

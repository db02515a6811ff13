/* tests/unit/test_trace_reserve.c - the recorder's shared spares
 * (CD__TRACE_RESERVE): a thread that fills more buffers than its own
 * spares before the writer can give it more takes shared ones and loses
 * nothing.
 *
 * The writer is kept out by holding the list lock of the thread states
 * (cd__trace_states_lock), which every sweep takes before it hands out
 * spares: while the test holds it, the main thread has exactly its own
 * CD__TRACE_SPARES_MIN spares and the reserve. It then writes 10 buffers'
 * worth of events, twice what its own spares hold and less than both
 * together. Without the reserve this test loses events every time.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "cdebug/cdebug.h"
#include "cdebug/trace.h"
#include "cdebug/trace_reader.h"
#include "runtime/trace_recorder.h"

/* Region pairs in 10 buffers: a pair of back-to-back events is 6 bytes
 * (type, one-byte delta, the name's id). */
#define PAIRS (10 * CD__TBUF_SIZE / 6)

static void test_burst_uses_reserve(void **state)
{
    (void)state;
    char path[] = "/tmp/cdebug-reserve-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(cd_trace_start(fd), 0);

    /* The main thread's state and first spares exist after one event. */
    cd_trace_log("test", "start");
    cd__tstate *st = cd__trace_self(false);
    assert_non_null(st);
    uint64_t lost_before = atomic_load(&st->lost_events);

    cd__trace_states_lock(); /* no sweep, so no spare, from here on */
    for (long i = 0; i < PAIRS; i++) {
        cd_trace_region_begin("burst");
        cd_trace_region_end();
    }
    uint64_t lost = atomic_load(&st->lost_events) - lost_before;
    cd__trace_states_unlock();
    assert_int_equal(lost, 0);

    assert_int_equal(cd_trace_stop(), 0);
    close(fd);

    /* Every event is in the file and no LOST record. */
    cd_trace_reader *r;
    assert_int_equal(cd_trace_reader_open(&r, path, NULL), 0);
    cd_tr_event ev;
    long begins = 0, ends = 0;
    int rc;
    while ((rc = cd_trace_reader_next(r, &ev)) == 1) {
        begins += ev.type == CD_TR_REGION_BEGIN;
        ends += ev.type == CD_TR_REGION_END;
    }
    assert_int_equal(rc, 0);
    cd_tr_stats s;
    cd_trace_reader_stats(r, &s);
    cd_trace_reader_close(r);
    unlink(path);
    assert_int_equal(s.lost_events, 0);
    assert_int_equal(begins, PAIRS);
    assert_int_equal(ends, PAIRS);
}

int main(void)
{
    if (cd_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_uses_reserve),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    cd_shutdown();
    return rc;
}

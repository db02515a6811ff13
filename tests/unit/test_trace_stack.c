/* tests/unit/test_trace_stack.c - the tracer's creation-stack walk
 * (cd__trace_stack), compared with itself under different tails:
 *   - in a task, a walk that stops at the scheduler's frames and copies
 *     them (task_base) interns the same stack as the full walk;
 *   - the tail is really copied, not walked: a tail that starts with the
 *     right pc but goes on differently gives another stack;
 *   - a tail whose first pc is not on the stack changes nothing;
 *   - a frame outside the thread's stack gives 0, not a fault.
 * Ids are compared within one trace session: equal stacks intern to one id.
 * Not run under TSan (make test-tsan): there, the last "frame" below the
 * thread's start is a word of the sanitizer's own frame, not a return
 * address, and it changes from walk to walk, so a full walk and the
 * task_base recorded earlier differ in that word.
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
#include "runtime/sched_priv.h"
#include "runtime/trace_recorder.h"

typedef struct probe {
    uint32_t full, tail, wrong_tail, absent_tail, outside;
    size_t nbase;
    cd_waitgroup wg;
} probe;

/* Walks from its own frame, so every walk below starts at the same pc. */
static void __attribute__((noinline)) walk_all(probe *pr)
{
    const void *frame = __builtin_frame_address(0);
    uintptr_t base[CD__SCHED_BASE_MAX];
    pr->nbase = cd__sched_task_base(base, CD__SCHED_BASE_MAX);
    pr->full = cd__trace_stack(frame, NULL, 0);
    pr->tail = cd__trace_stack(frame, base, pr->nbase);
    /* The right first pc, then a frame no real stack has. */
    uintptr_t wrong[2] = {base[0], 0x1234};
    pr->wrong_tail = cd__trace_stack(frame, wrong, 2);
    uintptr_t absent[1] = {0x1234};
    pr->absent_tail = cd__trace_stack(frame, absent, 1);
    static uintptr_t not_a_stack[4];
    pr->outside = cd__trace_stack(not_a_stack, NULL, 0);
    __asm__ volatile("" ::: "memory"); /* no tail call: walk_all's frame stays */
}

static void task(void *arg)
{
    probe *pr = arg;
    walk_all(pr);
    cd_wg_done(&pr->wg);
}

static void test_tail_matches_full_walk(void **state)
{
    (void)state;
    char path[] = "/tmp/cdebug-stack-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(cd_trace_start(fd), 0);

    /* The first task records task_base; the second walks with it. */
    probe pr[2] = {0};
    for (int i = 0; i < 2; i++) {
        cd_wg_init(&pr[i].wg);
        cd_wg_add(&pr[i].wg, 1);
        assert_int_equal(cd_go(task, &pr[i]), 0);
        cd_wg_wait(&pr[i].wg);
    }
    assert_int_equal(cd_trace_stop(), 0);
    close(fd);
    unlink(path);

    probe *p = &pr[1];
    assert_true(p->nbase > 0);
    assert_int_not_equal(p->full, 0);
    assert_int_equal(p->tail, p->full);
    assert_int_not_equal(p->wrong_tail, 0);
    assert_int_not_equal(p->wrong_tail, p->full);
    assert_int_equal(p->absent_tail, p->full);
    assert_int_equal(p->outside, 0);
}

int main(void)
{
    if (cd_init() != 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tail_matches_full_walk),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    cd_shutdown();
    return rc;
}

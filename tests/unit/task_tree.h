/* tests/unit/task_tree.h - a tree of tasks that wait for their children,
 * shared by test_sched.c and test_fork.c: every task spawns four children
 * from inside the pool (local queues, steals) and waits for them with
 * cd_wg_wait, a blocking call with hand-off that must never deadlock.
 *
 * The includer defines TREE_CHECK(cond): cmocka's assert_true in the test
 * process, a check that exits in a forked child. */
#ifndef CDEBUG_TESTS_TASK_TREE_H
#define CDEBUG_TESTS_TASK_TREE_H

#include <stdatomic.h>

#include "cdebug/cdebug.h"

struct node {
    int depth;
    _Atomic long *visits;
    cd_waitgroup *parent_wg;
};

static void tree_task(void *arg)
{
    struct node *n = arg;
    atomic_fetch_add(n->visits, 1);
    if (n->depth > 0) {
        cd_waitgroup wg;
        cd_wg_init(&wg);
        struct node *kids = cd_alloc(4 * sizeof *kids);
        TREE_CHECK(kids != NULL);
        for (int i = 0; i < 4; i++) {
            kids[i] = (struct node){n->depth - 1, n->visits, &wg};
            cd_wg_add(&wg, 1);
            TREE_CHECK(cd_go_named("tree", tree_task, &kids[i]) == 0);
        }
        cd_wg_wait(&wg); /* a blocking call with hand-off: must not deadlock */
    }
    cd_wg_done(n->parent_wg);
}

/* Tasks in a tree of depth d: 1 + 4 + ... + 4^d. */
static inline long tree_size(int d)
{
    long n = 0, level = 1;
    for (int i = 0; i <= d; i++, level *= 4)
        n += level;
    return n;
}

#endif /* CDEBUG_TESTS_TASK_TREE_H */

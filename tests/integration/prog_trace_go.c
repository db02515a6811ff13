/* tests/integration/prog_trace_go.c - a trace with every kind of blocking
 * call that `cdebug-trace export --format=go` maps to its own Go event:
 *   prog_trace_go FILE
 * traces into FILE with cd_trace_start. A task "waiter" waits (cd_wg_wait:
 * GoBlockSync) for 5 rounds of 5 tasks, one per kind of blocking call:
 * "reader" (IO wait: GoBlockNet), "sleeper" (sleep: GoSleep), "caller"
 * (waitpid: a syscall), "locker" (sync.Mutex.Lock: GoBlockSync), "waiter2"
 * (sync.Cond.Wait: GoBlockCond), each 2 ms long; each task records a region
 * "work" in a user task "job" and one log; then one forced collection.
 * 26 tasks in all. Prints "ok". */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cdebug/cdebug.h>
#include <cdebug/trace.h>

static const char *const names[5] = {"reader", "sleeper", "caller", "locker", "waiter2"};
static const char *const reasons[5] = {"IO wait", "sleep", "waitpid", "sync.Mutex.Lock",
                                       "sync.Cond.Wait"};
static cd_waitgroup inner, outer;

static void blocker(void *arg)
{
    long k = (long)arg;
    cd_trace_task_id t = cd_trace_task_begin(0, "job");
    cd_trace_region_begin("work");
    cd_block_begin(reasons[k]);
    usleep(2000);
    cd_block_end();
    cd_trace_log("kind", names[k]);
    cd_trace_region_end();
    cd_trace_task_end(t);
    cd_wg_done(&inner);
}

static void waiter(void *arg)
{
    (void)arg;
    for (int round = 0; round < 5; round++) {
        cd_wg_add(&inner, 5);
        for (long k = 0; k < 5; k++)
            cd_go_named(names[k], blocker, (void *)k);
        cd_wg_wait(&inner);
    }
    cd_wg_done(&outer);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: prog_trace_go FILE\n");
        return 2;
    }
    int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0 || cd_trace_start(fd) != 0) {
        fprintf(stderr, "prog_trace_go: cannot trace to %s\n", argv[1]);
        return 1;
    }
    cd_wg_init(&inner);
    cd_wg_init(&outer);
    cd_wg_add(&outer, 1);
    cd_go_named("waiter", waiter, NULL);
    cd_wg_wait(&outer);
    cd_gc();
    /* every TASK_END recorded before the trace stops (as in prog_trace) */
    static cd_schedstats ss;
    for (int i = 0; i < 10000; i++) {
        cd_read_schedstats(&ss);
        if (ss.tasks_done == ss.tasks_created)
            break;
        usleep(1000);
    }
    if (cd_trace_stop() != 0) {
        fprintf(stderr, "prog_trace_go: cd_trace_stop failed\n");
        return 1;
    }
    close(fd);
    printf("ok\n");
    return 0;
}

/* tests/integration/prog_trace.c - a program of known structure for the
 * tracer tests:
 *   prog_trace FILE     traces into FILE with cd_trace_start (FILE "-":
 *                       rely on CDEBUG=trace=... instead)
 * It runs exactly 1000 tasks in 10 named groups, 3 forced collections,
 * 5 regions (one nested), 2 user tasks, 4 log messages and 20 blocking
 * calls, one registered thread that starts and stops, then stops the trace
 * and prints "ok". */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cdebug/cdebug.h>
#include <cdebug/trace.h>

static const char *const groups[10] = {"group0", "group1", "group2", "group3", "group4",
                                       "group5", "group6", "group7", "group8", "group9"};
static cd_waitgroup wg;

static void work(void *arg)
{
    long i = (long)arg;
    volatile long x = 0;
    for (long k = 0; k < 2000; k++)
        x += k;
    if (i % 50 == 0) {
        cd_block_begin("IO wait");
        usleep(1000);
        cd_block_end();
    }
    cd_wg_done(&wg);
}

/* A plain pthread that registers with cdebug and leaves: THREAD_START and
 * THREAD_STOP in the trace. */
static void *visitor(void *arg)
{
    (void)arg;
    if (cd_thread_register() != 0)
        return (void *)1;
    cd_thread_unregister();
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: prog_trace FILE|-\n");
        return 2;
    }
    int fd = -1;
    if (strcmp(argv[1], "-") != 0) {
        fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd < 0 || cd_trace_start(fd) != 0) {
            fprintf(stderr, "prog_trace: cannot trace to %s\n", argv[1]);
            return 1;
        }
        /* A second trace is refused while one runs. */
        if (cd_trace_start(fd) != -EBUSY) {
            fprintf(stderr, "prog_trace: second cd_trace_start was not refused\n");
            return 1;
        }
    }
    pthread_t th;
    void *th_rc = (void *)1;
    if (pthread_create(&th, NULL, visitor, NULL) != 0 || pthread_join(th, &th_rc) != 0 ||
        th_rc != NULL) {
        fprintf(stderr, "prog_trace: the visitor thread failed\n");
        return 1;
    }
    cd_trace_task_id req = cd_trace_task_begin(0, "request");
    cd_trace_log("phase", "spawning");
    CD_TRACE_REGION("spawn")
    {
        cd_wg_init(&wg);
        for (long i = 0; i < 1000; i++) {
            cd_wg_add(&wg, 1);
            cd_go_named(groups[i % 10], work, (void *)i);
        }
        CD_TRACE_REGION("wait")
        {
            cd_wg_wait(&wg);
        }
    }
    cd_trace_task_id gc = cd_trace_task_begin(req, "collect");
    for (int i = 0; i < 3; i++) {
        cd_trace_region_begin("gc");
        cd_gc();
        cd_trace_region_end();
    }
    char msg[64];
    for (int i = 0; i < 3; i++) {
        snprintf(msg, sizeof msg, "collection %d done", i); /* reused buffer */
        cd_trace_log("gc", msg);
    }
    cd_trace_task_end(gc);
    cd_trace_task_end(req);
    /* A task's TASK_END is recorded after its body returns, so after its
     * cd_wg_done: a trace stopped right after cd_wg_wait could miss the
     * last one (Go has the same race between wg.Wait and trace.Stop).
     * The counts below must be exact, so wait until the pool has
     * finished every task (tasks_done counts after TASK_END). */
    static cd_schedstats ss;
    for (int i = 0; i < 10000; i++) {
        cd_read_schedstats(&ss);
        if (ss.tasks_done == ss.tasks_created)
            break;
        usleep(1000);
    }
    if (fd >= 0) {
        int rc = cd_trace_stop();
        if (rc != 0) {
            fprintf(stderr, "prog_trace: cd_trace_stop: %s\n", cd_strerror(rc));
            return 1;
        }
        if (cd_trace_stop() != -ENOENT) {
            fprintf(stderr, "prog_trace: second cd_trace_stop did not say ENOENT\n");
            return 1;
        }
        close(fd);
    }
    printf("ok\n");
    return 0;
}

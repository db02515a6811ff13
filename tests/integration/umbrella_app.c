/* tests/integration/umbrella_app.c - a program that uses every part of
 * cdebug (pool, vars, tracing and its annotations, the flight recorder's
 * query, profiles, the debug server, the trace reader, errors) through
 * <cdebug/cdebug.h> alone. test_umbrella.sh compiles it by hand against the
 * build, as a user would, and checks what it serves.
 *
 *     umbrella_app TRACE HEAP STOPFILE
 *
 * Writes a trace to TRACE and reads it back, the heap profile (debug=1) to
 * HEAP, starts the server on 127.0.0.1:0, prints "port N", and serves until
 * STOPFILE exists (30 s at most). Exit 0 when every call did what it says.
 */
#define _POSIX_C_SOURCE 200809L /* nanosleep, with -std=c11 */

#include <cdebug/cdebug.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c)) {                                                                                \
            fprintf(stderr, "umbrella_app:%d: check failed: %s\n", __LINE__, #c);                  \
            return 1;                                                                              \
        }                                                                                          \
    } while (0)

static cd_waitgroup wg;
static cd_int *requests;

static void work(void *arg)
{
    cd_trace_task_id parent = *(cd_trace_task_id *)arg;
    cd_trace_task_id t = cd_trace_task_begin(parent, "umbrella.work");
    CD_TRACE_REGION("umbrella.step")
    {
        cd_int_add(requests, 1);
        cd_trace_log("umbrella", "one step");
    }
    cd_trace_task_end(t);
    cd_wg_done(&wg);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: umbrella_app TRACE HEAP STOPFILE\n");
        return 2;
    }
    /* Errors: the rule of runtime.h, and the names of uv_err_name. */
    CHECK(strcmp(cd_err_name(-EBADF), "EBADF") == 0);
    CHECK(strcmp(cd_strerror(-EBADF), "unknown error") != 0);
    CHECK(cd_trace_start(-1) == -EBADF);

    /* Vars. */
    requests = cd_int_new("umbrella_requests");
    CHECK(requests != NULL);
    cd_map *m = cd_map_new("umbrella_map");
    CHECK(m != NULL);
    cd_map_add(m, "k", 7);

    /* A trace with a user task, regions and logs, written by pool tasks. */
    int tfd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(tfd >= 0);
    CHECK(cd_trace_start(tfd) == 0);
    CHECK(cd_trace_enabled());
    CHECK(!cd_flight_enabled());
    cd_trace_task_id root = cd_trace_task_begin(0, "umbrella");
    cd_wg_init(&wg);
    for (int i = 0; i < 3; i++) {
        cd_wg_add(&wg, 1);
        CHECK(cd_go_named("umbrella.task", work, &root) == 0);
    }
    cd_wg_wait(&wg);
    cd_trace_region_begin("umbrella.tail");
    cd_trace_region_end();
    cd_trace_task_end(root);
    CHECK(cd_trace_stop() == 0);
    CHECK(close(tfd) == 0);

    /* Read it back. */
    cd_trace_reader *r;
    int rc = cd_trace_reader_open(&r, argv[1], NULL);
    CHECK(rc == 0);
    cd_tr_event ev;
    int tasks = 0, regions = 0, logs = 0;
    while ((rc = cd_trace_reader_next(r, &ev)) == 1) {
        tasks += ev.type == CD_TR_USER_TASK_BEGIN;
        regions += ev.type == CD_TR_REGION_BEGIN;
        logs += ev.type == CD_TR_LOG;
    }
    cd_trace_reader_close(r);
    CHECK(rc == 0);
    CHECK(tasks == 4 && regions == 4 && logs == 3);

    /* Profiles. */
    int hfd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    CHECK(hfd >= 0);
    CHECK(cd_heapprof_write(hfd, 1) == 0);
    CHECK(close(hfd) == 0);

    /* The server. */
    CHECK(cd_http_is_route("/debug/vars"));
    CHECK(cd_http_start("127.0.0.1:0") == 0);
    printf("port %d\n", cd_http_port());
    fflush(stdout);
    for (int i = 0; i < 3000 && access(argv[3], F_OK) != 0; i++)
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    cd_http_stop();

    cd_memstats ms;
    cd_read_memstats(&ms);
    cd_schedstats ss;
    cd_read_schedstats(&ss);
    CHECK(ss.tasks_created >= 3);
    cd_shutdown();
    return 0;
}

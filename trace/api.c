/* trace/api.c - cd_trace_start/stop, annotations, CDEBUG=trace=FILE. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/io.h"
#include "cdebug/trace.h"
#include "runtime/fdguard.h"
#include "runtime/start.h"
#include "runtime/hooks.h"
#include "trace/flight.h"
#include "runtime/trace_recorder.h"
#include "trace/trace_int.h"
#include "trace/writer.h"

static cd__tsink fd_sink = {.write = cd__tsink_fd_write, .fd = -1};
/* Serialises cd_trace_start's use of fd_sink. Lock order (written whole
 * at trace/writer.c's ctl): taken with no lock of the recorder held,
 * never together with trace/flight.c's ctl; trace/writer.c's ctl is taken
 * under it. */
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;

int cd_trace_start(int fd)
{
    int rc = cd__fd_writable(fd);
    if (rc != 0)
        return rc;
    cd__ensure_init();
    /* Only one trace: the sink is shared, so refuse before touching it. */
    if (__atomic_load_n(&cd_trace_active, __ATOMIC_SEQ_CST))
        return -EBUSY;
    pthread_mutex_lock(&start_lock);
    fd_sink.fd = fd;
    rc = cd__writer_start(&fd_sink, 0);
    pthread_mutex_unlock(&start_lock);
    return rc;
}

int cd_trace_stop(void)
{
    return cd__writer_stop_sink(&fd_sink);
}

bool cd_trace_enabled(void)
{
    return __atomic_load_n(&cd_trace_active, __ATOMIC_RELAXED);
}

/* ---- annotations ---------------------------------------------------------
 * Per-thread: the current user task (innermost cd_trace_task_begin not ended on
 * this thread) and the stack of open region names. */

#define REGION_MAX 64

#define TASK_NEST_MAX 16

/* initial-exec: a plain %fs-relative access instead of a __tls_get_addr
 * call; the annotations are the hot path of a program that traces. (It
 * uses about 700 bytes of the static TLS surplus if libcdebug is ever
 * dlopen'ed.) */
#define TLS __thread __attribute__((tls_model("initial-exec")))

static _Atomic uint64_t next_user_task = 1;
static TLS cd_trace_task_id cur_user_task;
/* The user tasks begun on this thread and not ended, innermost last, so
 * that ending one makes the one it interrupted current again. Deeper
 * nesting is not remembered: ending such a task leaves no current task. */
static TLS cd_trace_task_id task_stack[TASK_NEST_MAX];
static TLS int task_depth;
/* The open regions' string ids (interned at begin, reused by the end). */
static TLS uint32_t regions[REGION_MAX];
static TLS int region_depth; /* may exceed REGION_MAX: not recorded */
/* The string literal whose id regions[d] holds (cd_trace_region_begin_lit), or
 * NULL: a region begun in a loop then costs no intern lookup. */
static TLS const char *region_lit[REGION_MAX];

cd_trace_task_id cd_trace_task_begin(cd_trace_task_id parent, const char *type)
{
    cd_trace_task_id id = atomic_fetch_add_explicit(&next_user_task, 1, memory_order_relaxed);
    if (task_depth < TASK_NEST_MAX)
        task_stack[task_depth++] = id;
    cur_user_task = id;
    if (CD__TRACING())
        cd__trace_ev3(CD__EV_USER_TASK_BEGIN, id, parent, cd__trace_string(type));
    return id;
}

void cd_trace_task_end(cd_trace_task_id id)
{
    if (task_depth > 0 && task_stack[task_depth - 1] == id) {
        task_depth--;
        cur_user_task = task_depth > 0 ? task_stack[task_depth - 1] : 0;
    } else if (cur_user_task == id) {
        cur_user_task = 0;
    }
    if (CD__TRACING())
        cd__trace_ev1(CD__EV_USER_TASK_END, id);
}

/* The region stack belongs to one trace session: a region begun in an
 * earlier session (its end skipped while no trace ran) must not be closed
 * by this session's ends. */
static TLS uint32_t region_session;

/* cd_trace_region_begin with the name's id from intern (by address and text, or
 * by address alone for a literal). */
static inline __attribute__((always_inline)) void region_begin(const char *name, bool literal)
{
    uint32_t session = atomic_load_explicit(&cd__trace_session, memory_order_relaxed);
    if (__builtin_expect(region_session != session, 0)) {
        region_session = session;
        region_depth = 0;
        memset(region_lit, 0, sizeof region_lit); /* ids of the last session */
    }
    int d = region_depth++;
    if (d >= REGION_MAX)
        return;
    if (!CD__TRACING()) {
        regions[d] = 0;
        region_lit[d] = NULL;
        return;
    }
    uint32_t id;
    if (literal && name != NULL && region_lit[d] == name) {
        id = regions[d]; /* a loop's region: the literal interned here last time */
    } else {
        id = literal ? cd__trace_string_lit(name) : cd__trace_string(name);
        regions[d] = id;
        region_lit[d] = literal && id != 0 ? name : NULL;
    }
    cd__trace_ev2(CD__EV_REGION_BEGIN, cur_user_task, id);
}

void(cd_trace_region_begin)(const char *name)
{
    region_begin(name, false);
}

void cd_trace_region_begin_lit(const char *name)
{
    region_begin(name, true);
}

void(cd_trace_region_end)(void)
{
    if (region_depth == 0 ||
        region_session != atomic_load_explicit(&cd__trace_session, memory_order_relaxed))
        return; /* unbalanced, or begun in another session: ignored */
    int d = --region_depth;
    if (d < REGION_MAX && CD__TRACING())
        cd__trace_ev2(CD__EV_REGION_END, cur_user_task, regions[d]);
}

void(cd_trace_log)(const char *category, const char *message)
{
    if (!CD__TRACING())
        return;
    /* Categories are constants, like names; messages are usually
     * formatted into reused buffers, so they are interned by content. */
    cd__trace_ev3(CD__EV_LOG, cur_user_task, cd__trace_string(category),
                  cd__trace_string_content(message));
}

/* The literal a log site passed last, per argument: a log in a loop
 * passes the same two literals every time, and then costs no intern
 * lookup (the ids stay valid for the session they were made in). */
typedef struct lit_memo {
    const char *s;
    uint32_t id;
    uint32_t session;
} lit_memo;
static TLS lit_memo log_category, log_message;

static inline uint32_t lit_id(lit_memo *m, const char *s)
{
    uint32_t session = atomic_load_explicit(&cd__trace_session, memory_order_relaxed);
    if (m->s == s && m->session == session)
        return m->id;
    uint32_t id = cd__trace_string_lit(s);
    if (id != 0) /* 0: not interned (out of memory), tried again next time */
        *m = (lit_memo){s, id, session};
    return id;
}

void cd_trace_log_lit(const char *category, const char *message, int lits)
{
    if (!CD__TRACING())
        return;
    cd__trace_ev3(CD__EV_LOG, cur_user_task,
                  lits & 1 ? lit_id(&log_category, category) : cd__trace_string(category),
                  lits & 2 ? lit_id(&log_message, message) : cd__trace_string_content(message));
}

/* ---- CDEBUG=trace=FILE ------------------------------------------------- */

static int run_fd = -1;

int cd__trace_file_start(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        int e = errno;
        fprintf(stderr, "cdebug: trace: cannot create %s: %s\n", path, strerror(e));
        return -e;
    }
    int rc = cd_trace_start(fd);
    if (rc != 0) {
        fprintf(stderr, "cdebug: trace: cannot start tracing to %s: %s\n", path, cd_strerror(rc));
        close(fd);
        return rc;
    }
    run_fd = fd;
    /* A daemonizing program's close of every descriptor must not take
     * the trace (runtime/fdguard.h). */
    (void)cd__fd_guard(fd, "the trace= file");
    return 0;
}

void cd__trace_file_stop(void)
{
    if (run_fd < 0)
        return;
    int rc = cd_trace_stop();
    if (rc != 0 && rc != -ENOENT)
        fprintf(stderr, "cdebug: trace: writing the trace failed: %s\n", cd_strerror(rc));
    cd__fd_unguard(run_fd);
    close(run_fd);
    run_fd = -1;
}

/* ---- fork ---------------------------------------------------------------- */

/* The fork-child hook (runtime/hooks.h): the runtime has already turned
 * tracing off and forgotten the recorder's states and the intern tables;
 * here the writer, the flight recorder and this file's own session. */
static void fork_child(void)
{
    cd__writer_fork_child();
    cd__flight_fork_child();
    start_lock = (pthread_mutex_t)PTHREAD_MUTEX_INITIALIZER;
    fd_sink.fd = -1;
    run_fd = -1; /* the parent's file: left open, never written or closed here */
}

int cd__trace_init(void)
{
    int rc = cd__hooks_fork_child(fork_child);
    return rc == -EEXIST ? 0 : rc;
}

/* http/deferred.c - see deferred.h. The response, the job thread and the
 * libmicrohttpd reader share one `dstate`; the last of the response (freed
 * by libmicrohttpd) and the job thread to let go frees it. The suspend and
 * resume protocol is the trace route's (http/trace_route.c): the reader
 * suspends with the lock held, the job resumes after unlocking. A job's
 * handle (cd__http_jobctl) is its dstate. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/deferred.h"
#include "http/pprof_common.h"
#include "http/response.h"
#include "http/stream.h"
#include "runtime/thread.h"

typedef struct cd__http_jobctl {
    struct cd__http_jobctl *prev, *next; /* the list of answers still waiting (all_lock) */
    bool listed;
    pthread_mutex_t lock;
    struct MHD_Connection *conn;
    int sock; /* the connection's socket, watched for a hang-up while waiting */
    cd__http_job job;
    void *ctx;
    void (*ctx_free)(void *);
    uint8_t *body;
    size_t len, off;
    bool done, failed, suspended, closed;
    int refs;
} dstate;

/* Jobs running (threads started and not yet ended): at most
 * CD__HTTP_JOBS_MAX. */
static atomic_int running;

/* Answers whose job has not ended: cd__http_deferred_shutdown ends them. */
static pthread_mutex_t all_lock = PTHREAD_MUTEX_INITIALIZER;
static dstate *all;

static void unlist(dstate *d)
{
    pthread_mutex_lock(&all_lock);
    if (d->listed) {
        if (d->prev != NULL)
            d->prev->next = d->next;
        else
            all = d->next;
        if (d->next != NULL)
            d->next->prev = d->prev;
        d->listed = false;
    }
    pthread_mutex_unlock(&all_lock);
}

static void unref(dstate *d)
{
    pthread_mutex_lock(&d->lock);
    int left = --d->refs;
    pthread_mutex_unlock(&d->lock);
    if (left > 0)
        return;
    pthread_mutex_destroy(&d->lock);
    free(d->body);
    free(d);
}

/* True when nobody waits for d's answer any more: the server stops, the
 * response was closed, or (within wait_ms) the client hung up. */
static bool job_gone(dstate *d, int wait_ms)
{
    pthread_mutex_lock(&d->lock);
    bool gone = d->done || d->closed;
    pthread_mutex_unlock(&d->lock);
    return gone || cd__hstream_peer_gone(d->sock, wait_ms);
}

static void *run(void *arg)
{
    dstate *d = arg;
    uint8_t *body = NULL;
    size_t len = 0;
    /* A client gone before its job starts (it asked and left at once)
     * costs no profile: under a storm of such requests the renders would
     * take the CPU the server thread needs. */
    int rc = job_gone(d, 0) ? -ECANCELED : d->job(d->ctx, d, &body, &len);
    if (d->ctx_free != NULL)
        d->ctx_free(d->ctx);
    unlist(d);
    pthread_mutex_lock(&d->lock);
    if (d->done) { /* ended by cd__http_deferred_shutdown: nobody reads */
        pthread_mutex_unlock(&d->lock);
        free(body);
        unref(d);
        return NULL;
    }
    d->body = body;
    d->len = len;
    d->failed = rc < 0;
    d->done = true;
    bool resume = d->suspended && !d->closed;
    d->suspended = false;
    pthread_mutex_unlock(&d->lock);
    if (resume)
        MHD_resume_connection(d->conn);
    unref(d);
    atomic_fetch_sub(&running, 1);
    return NULL;
}

#define JOB_POLL_MS 100 /* hang-up and shutdown checks while a job waits */

int cd__http_job_sleep(void *ctl, int64_t seconds)
{
    dstate *d = ctl;
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)seconds;
    for (;;) {
        int64_t left = cd__hstream_ms_until(&until);
        if (left <= 0)
            return 0;
        if (job_gone(d, left < JOB_POLL_MS ? (int)left : JOB_POLL_MS))
            return -ECANCELED;
    }
}

/* libmicrohttpd's content reader, on the server thread: never waits. */
static ssize_t reader(void *cls, uint64_t pos, char *buf, size_t max)
{
    (void)pos;
    dstate *d = cls;
    pthread_mutex_lock(&d->lock);
    if (!d->done) {
        d->suspended = true;
        MHD_suspend_connection(d->conn);
        pthread_mutex_unlock(&d->lock);
        return 0;
    }
    ssize_t n;
    if (d->failed) {
        n = MHD_CONTENT_READER_END_WITH_ERROR;
    } else if (d->off == d->len) {
        n = MHD_CONTENT_READER_END_OF_STREAM;
    } else {
        size_t k = d->len - d->off < max ? d->len - d->off : max;
        memcpy(buf, d->body + d->off, k);
        d->off += k;
        n = (ssize_t)k;
    }
    pthread_mutex_unlock(&d->lock);
    return n;
}

static void response_free(void *cls)
{
    dstate *d = cls;
    pthread_mutex_lock(&d->lock);
    d->closed = true;
    d->suspended = false;
    pthread_mutex_unlock(&d->lock);
    unref(d);
}

/* The 503 beyond CD__HTTP_JOBS_MAX: Go's error form (X-Go-Pprof, so go
 * tool pprof prints the text) and a hint to retry. */
static enum MHD_Result busy_reply(const cd__http_req *req)
{
    return cd__pprof_error_hdr(req, MHD_HTTP_SERVICE_UNAVAILABLE, "Retry-After", "1",
                               "%d profiles are being rendered, the most at once; try again "
                               "later\n",
                               CD__HTTP_JOBS_MAX);
}

enum MHD_Result cd__http_deferred(const cd__http_req *req, const char *filename, cd__http_job job,
                                  void *ctx, void (*ctx_free)(void *))
{
    dstate *d = calloc(1, sizeof *d);
    if (d == NULL) {
        if (ctx_free != NULL)
            ctx_free(ctx);
        return MHD_NO;
    }
    if (atomic_fetch_add(&running, 1) >= CD__HTTP_JOBS_MAX) {
        atomic_fetch_sub(&running, 1);
        free(d);
        if (ctx_free != NULL)
            ctx_free(ctx);
        return busy_reply(req);
    }
    pthread_mutex_init(&d->lock, NULL);
    d->conn = req->conn;
    d->sock = cd__hstream_socket(req->conn);
    d->job = job;
    d->ctx = ctx;
    d->ctx_free = ctx_free;
    d->refs = 2; /* the response and the job thread */
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 64 * 1024, reader, d, response_free);
    if (r == NULL) {
        if (ctx_free != NULL)
            ctx_free(ctx);
        pthread_mutex_destroy(&d->lock);
        free(d);
        atomic_fetch_sub(&running, 1);
        return MHD_NO;
    }
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (filename == NULL) {
        MHD_add_response_header(r, "Content-Type", CD__HTTP_TEXT_PLAIN);
    } else {
        char disp[160];
        snprintf(disp, sizeof disp, "attachment; filename=\"%s\"", filename);
        MHD_add_response_header(r, "Content-Type", "application/octet-stream");
        MHD_add_response_header(r, "Content-Disposition", disp);
    }
    pthread_mutex_lock(&all_lock);
    d->next = all;
    if (all != NULL)
        all->prev = d;
    all = d;
    d->listed = true;
    pthread_mutex_unlock(&all_lock);
    pthread_t t;
    if (cd__thread_spawn(&t, "cd-http-job", CD__THREAD_SYSTEM, true, run, d) != 0) {
        unlist(d);
        /* No thread: the job never runs; the response ends at once. */
        d->done = d->failed = true;
        d->refs = 1;
        if (ctx_free != NULL)
            ctx_free(ctx);
        atomic_fetch_sub(&running, 1);
    } else {
        pthread_detach(t);
    }
    enum MHD_Result rc = MHD_queue_response(req->conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

void cd__http_deferred_shutdown(void)
{
    pthread_mutex_lock(&all_lock);
    for (dstate *d = all; d != NULL; d = d->next) {
        pthread_mutex_lock(&d->lock);
        bool resume = !d->done && d->suspended && !d->closed;
        d->done = d->failed = true; /* the reader ends the response */
        d->suspended = false;
        pthread_mutex_unlock(&d->lock);
        if (resume)
            MHD_resume_connection(d->conn);
    }
    pthread_mutex_unlock(&all_lock);
}

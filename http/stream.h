/* http/stream.h - a response whose body another thread produces while a
 * controller thread decides when it ends: the shared part of
 * GET /debug/pprof/trace (http/trace_route.c) and GET /debug/pprof/profile
 * (http/pprof_profile_route.c).
 *
 * The debug server has one polling thread for every connection, which must
 * never wait for body bytes. So the route's content reader suspends the
 * connection when it has nothing to send (cd__hstream_suspend_locked) and
 * whoever produces bytes, or ends the body, resumes it (cd__hstream_wake).
 * A controller thread, started by cd__hstream_serve, ends the production
 * at the deadline, when the response is closed (the client went away) or
 * when the server stops (cancel).
 *
 * Lifetime: a stream is shared by the response (libmicrohttpd frees it
 * through the response's free callback) and the controller thread; the last
 * reference calls the route's destroy hook. One stream at a time per route
 * is "active" in the route's slot, so that cd_http_stop can cancel it and
 * wait for it (cd__hstream_slot_shutdown).
 *
 * Locking: the stream's mutex guards every field below and the route's
 * own; libmicrohttpd's suspend is called with it held (so "suspended" is
 * never seen before the suspension is done) and its resume without it
 * (libmicrohttpd takes its own locks there; holding ours could deadlock
 * with its thread).
 */
#ifndef CDEBUG_HTTP_STREAM_H
#define CDEBUG_HTTP_STREAM_H

#include <pthread.h>
#include <stdbool.h>
#include <time.h>

#include "http/router.h"

typedef struct cd__hstream {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC: close, cancel, and the route's own events */
    struct MHD_Connection *conn;
    bool suspended; /* the reader suspended the connection */
    bool closed;    /* the response was destroyed: nobody reads */
    bool cancel;    /* end now (the server stops) */
    bool abandoned; /* the server stops and would not wait longer: never suspend again */
    int refs;
    struct timespec deadline;               /* CLOCK_MONOTONIC */
    void (*destroy)(struct cd__hstream *s); /* frees s (the route's struct holding it) */
} cd__hstream;

/* Sets up s for req's connection with a deadline `seconds` from now and
 * two references (the response and the controller). destroy(s) runs when
 * the last reference goes. Cannot fail. Handler thread. */
void cd__hstream_init(cd__hstream *s, struct MHD_Connection *conn, double seconds,
                      void (*destroy)(cd__hstream *s));

/* Drops a reference; the last one destroys the stream. Any thread. */
void cd__hstream_unref(cd__hstream *s);

/* Destroys a stream no response or controller has taken yet (its
 * production failed to start). Handler thread. */
void cd__hstream_discard(cd__hstream *s);

/* The content reader has nothing to send: suspends the connection until
 * cd__hstream_wake and returns true; or, once the stream is abandoned (the
 * server stops), returns false without suspending: the reader then ends
 * the response (MHD_CONTENT_READER_END_WITH_ERROR), since libmicrohttpd
 * refuses to stop with a connection suspended. Lock held; server thread. */
bool cd__hstream_suspend_locked(cd__hstream *s);

/* Lock held: if the reader suspended the connection, marks it resumed and
 * returns true; the caller then unlocks and calls MHD_resume_connection. */
bool cd__hstream_take_suspended(cd__hstream *s);

/* Resumes the connection if the reader suspended it (there are bytes, or
 * the body has ended). Lock not held; any thread. */
void cd__hstream_wake(cd__hstream *s);

/* A route's one active stream. */
typedef struct cd__hstream_slot {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* the active stream left */
    cd__hstream *active;
} cd__hstream_slot;
#define CD__HSTREAM_SLOT_INIT                                                                      \
    {                                                                                              \
        PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL                                  \
    }

/* What cd__hstream_serve needs of a route. */
typedef struct cd__hstream_route {
    cd__hstream_slot *slot;
    MHD_ContentReaderCallback read;         /* the content reader; cls is the stream */
    void (*headers)(struct MHD_Response *); /* adds the route's headers */
    void *(*control)(void *s);              /* the controller thread's body; ends with
                                               cd__hstream_slot_leave and an unref */
    void (*stop)(cd__hstream *s);           /* ends production (when serving fails) */
    const char *error_prefix;               /* "Could not enable tracing" */
} cd__hstream_route;

/* Answers req with a 200 streamed from s, production already started:
 * creates the response, makes s the slot's active stream, starts the
 * controller thread and queues the response. On failure production is
 * stopped, s released, and a 500 "<prefix>: cannot start a thread" (or
 * MHD_NO) returned. Handler thread. */
enum MHD_Result cd__hstream_serve(const cd__http_req *req, cd__hstream *s,
                                  const cd__hstream_route *route);

/* The controller is done with s: s is no longer the slot's active stream.
 * Controller thread. */
void cd__hstream_slot_leave(cd__hstream_slot *slot, cd__hstream *s);

/* True while a stream is the slot's active one (its controller has not
 * left). Any thread. */
bool cd__hstream_slot_busy(cd__hstream_slot *slot);

/* cd_http_stop: cancels the slot's active stream (if any), waits up to
 * 2 s for its response to be closed (sent or abandoned) and up to 2 s more
 * for its controller to leave. Any thread but the server's. */
void cd__hstream_slot_shutdown(cd__hstream_slot *slot);

/* ms from now until t (CLOCK_MONOTONIC), negative once past. */
int64_t cd__hstream_ms_until(const struct timespec *t);

/* The socket of c's connection, or -1. Any thread while c is open. */
int cd__hstream_socket(struct MHD_Connection *c);

/* Waits up to ms for sock's client to hang up: true as soon as it has
 * (end of its stream, reset, or a socket no longer open), false after ms.
 * A suspended connection is not watched by libmicrohttpd, so a thread that
 * works for one calls this to notice, as Go's request context does, that
 * nobody waits for the answer. A pipelined request is not a hang-up
 * (POLLIN is not asked for). sock < 0: sleeps ms, false. Any thread;
 * blocks up to ms. */
bool cd__hstream_peer_gone(int sock, int ms);

#endif /* CDEBUG_HTTP_STREAM_H */

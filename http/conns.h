/* http/conns.h - who holds the debug server's connection slots.
 *
 * libmicrohttpd counts connections and, at its limit, stops accepting:
 * every newcomer waits in the listen backlog until a connection closes.
 * A connection closes after the idle timeout (30 s) without traffic, but
 * a client that sends one header byte now and then is never idle, so 256
 * such "tricklers" (slowloris) locked every other client out for as long
 * as they trickled.
 *
 * The table here tracks every connection of the built-in server and
 * admits newcomers itself (the accepting thread asks it, acceptor.h):
 *
 * - A connection is *waiting* from its start, and again from the end of
 *   each request, until its next request is complete (headers and body);
 *   it is *busy* while a request is answered (a handler, a deferred
 *   profile, a streamed trace).
 * - Below `soft` (the configured limit, 256 by default) every newcomer is
 *   admitted.
 * - At `soft` or above, each newcomer first closes the connection that has
 *   waited longest, if that is at least CD__HTTP_EVICT_AFTER_MS; one with
 *   unread bytes queued (a keep-alive client's next request, just in) is
 *   spared while another qualifies. Tricklers and idle keep-alive
 *   connections make room; a client whose request is in hand never does.
 * - At `hard` (twice `soft`) with nobody to close, the newcomer is refused
 *   (its connection closed at once) rather than left in the backlog behind
 *   a wall of tricklers; this lasts at most CD__HTTP_EVICT_AFTER_MS, after
 *   which the oldest tricklers can be closed.
 *
 * Closing is shutdown(2) on the connection's socket: libmicrohttpd sees the
 * end of the stream at its next poll and closes the connection itself, so
 * its bookkeeping stays its own.
 *
 * Threads: the daemon runs a small pool of threads (server.c), each with
 * its own connections, and libmicrohttpd's callbacks below run on any of
 * them, so they hold the table's lock; a worker may close a connection
 * another worker serves (shutdown(2) is safe from any thread). The table
 * functions without libmicrohttpd (add, remove, set_busy, admit_one) take
 * no lock: their caller holds it or is the only thread (the unit test).
 */
#ifndef CDEBUG_HTTP_CONNS_H
#define CDEBUG_HTTP_CONNS_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <microhttpd.h>

/* How long a connection must have waited for its request before a
 * newcomer may close it. Longer than any real client takes to send a
 * request it has ready; short enough that a newcomer refused at the hard
 * limit can retry within a second. */
#define CD__HTTP_EVICT_AFTER_MS 1000

/* How long an admitted connection may wait for libmicrohttpd to start it
 * before the table forgets it (libmicrohttpd closed it on one of its
 * threads without telling: at its own limit, or without memory). One it
 * starts later is counted again then. */
#define CD__HTTP_START_WITHIN_MS 1000

typedef struct cd__http_conn cd__http_conn;

typedef struct cd__http_conns {
    pthread_mutex_t lock; /* held by the libmicrohttpd callbacks below */
    cd__http_conn *head;  /* every connection admitted and not yet closed */
    unsigned live;        /* of those, the ones not being closed */
    unsigned soft, hard;
    uint64_t evict_after_ns;  /* CD__HTTP_EVICT_AFTER_MS, in ns */
    uint64_t start_within_ns; /* CD__HTTP_START_WITHIN_MS, in ns */
    uint64_t evicted;         /* connections closed to admit others, in all */
    uint64_t refused;         /* newcomers refused at the hard limit, in all */
    uint64_t unstarted;       /* admitted, never started, forgotten, in all */
} cd__http_conns;

/* Prepares an empty table for a server whose connection limit is soft
 * (>= 1). O(1). */
void cd__http_conns_init(cd__http_conns *t, unsigned soft);

/* Frees what is left of the table (after the daemon stopped) and its
 * lock. O(connections). */
void cd__http_conns_destroy(cd__http_conns *t);

/* The limit to give libmicrohttpd (MHD_OPTION_CONNECTION_LIMIT) for a
 * daemon of `threads` threads: above the table's own in every thread
 * (libmicrohttpd divides the limit among them), so that libmicrohttpd
 * never stops accepting and the table decides. Pure; O(1). */
unsigned cd__http_conns_mhd_limit(const cd__http_conns *t, unsigned threads);

/* The table itself, without libmicrohttpd (what the callbacks below do,
 * and what the unit test drives with socket pairs). */

/* Adds an admitted connection on socket fd, waiting from now and not yet
 * started: counted, never closed by the table (its socket may not be
 * libmicrohttpd's yet, or may already be closed). NULL without memory.
 * O(1). */
cd__http_conn *cd__http_conns_add(cd__http_conns *t, int fd);

/* libmicrohttpd started the connection on fd: the newest unstarted record
 * of fd is started (it still waits from its admission), or a started one
 * is added if there is none (forgotten, see CD__HTTP_START_WITHIN_MS).
 * NULL without memory. O(connections). */
cd__http_conn *cd__http_conns_start(cd__http_conns *t, int fd);

/* Removes and frees k (its connection closed). O(1). */
void cd__http_conns_remove(cd__http_conns *t, cd__http_conn *k);

/* Marks k busy, or waiting again from now. O(1). */
void cd__http_conn_set_busy(cd__http_conn *k, bool busy);

/* Decides on a newcomer as described above: true to admit it (having
 * closed the longest waiter if the table is at `soft` or above), false to
 * refuse it. At `soft` or above it first forgets the connections
 * libmicrohttpd has not started within start_within_ns. Only started
 * connections are ever closed. O(connections) at the limit, O(1) below
 * it. */
bool cd__http_conns_admit_one(cd__http_conns *t);

/* The accepting thread's question (acceptor.h) about a newcomer on socket
 * fd, before it hands fd to libmicrohttpd: decides as above and, when
 * admitted, adds it unstarted, so that it counts from now (libmicrohttpd
 * starts a connection handed in on one of its own threads, later: a burst
 * counted only then would all be admitted, past `hard`). Returns the
 * record, or NULL to refuse fd (or without memory). Only the accepting
 * thread admits: the unstarted records are its own until started. Locks;
 * O(connections) at the limit, O(1) below it. */
cd__http_conn *cd__http_conns_admit(cd__http_conns *t, int fd);

/* Removes k under the table's lock: a closed connection (the notify
 * callback below), or one libmicrohttpd refused when the accepting thread
 * handed it in (it closed the socket; k is still unstarted then). Any
 * thread (locks); O(1). */
void cd__http_conns_drop(cd__http_conns *t, cd__http_conn *k);

/* MHD_NotifyConnectionCallback (cls: the table): starts a connection
 * (cd__http_conns_start; its record in *socket_context; without memory
 * the connection is closed at once) and removes a closed one. Any daemon
 * thread, or the thread stopping the daemon (locks). */
void cd__http_conns_notify(void *cls, struct MHD_Connection *c, void **socket_context,
                           enum MHD_ConnectionNotificationCode toe);

/* Marks c's connection busy (a request is answered) or waiting again (the
 * request completed). Any daemon thread (locks); O(1). */
void cd__http_conns_busy(cd__http_conns *t, struct MHD_Connection *c, bool busy);

#endif /* CDEBUG_HTTP_CONNS_H */

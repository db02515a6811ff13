/* http/acceptor.h - the debug server's accepting thread.
 *
 * Why not libmicrohttpd's own accept. In its thread pool each thread
 * accepts from the shared listening socket for itself, so whichever
 * wakes first takes a burst of newcomers: with wrk's 16 connections, all
 * sixteen landed on one of the two threads in about half the runs, and
 * the server then ran at the speed of one (docs/bench.md, vars).
 * Connections handed in with MHD_add_connection are spread by
 * libmicrohttpd over its threads by descriptor number, which a burst of
 * consecutive descriptors fills evenly.
 *
 * The thread polls the listening socket and a wake-up eventfd, accepts
 * every pending connection, asks the connection table (conns.h) whether
 * to admit each (libmicrohttpd's own accept policy is not used: the
 * table decides once), and hands it over. A failing accept that is not
 * about one connection (out of descriptors or memory) backs off from
 * 5 ms to 1 s, as Go's net/http does, rather than spin.
 */
#ifndef CDEBUG_HTTP_ACCEPTOR_H
#define CDEBUG_HTTP_ACCEPTOR_H

#include <microhttpd.h>

#include "http/conns.h"

typedef struct cd__http_acceptor cd__http_acceptor;

/* Starts accepting on lfd (a listening socket, non-blocking or not; the
 * acceptor owns it from now and closes it when stopped) for daemon d,
 * started with MHD_USE_NO_LISTEN_SOCKET and MHD_USE_ITC, admitting by
 * table t. The thread inherits the caller's signal mask, plus the kit's
 * (runtime/thread.h). Returns 0 and *out, or a negative errno (lfd is
 * then still the caller's). Not async-signal-safe. Cost: an eventfd and
 * a thread. */
int cd__http_acceptor_start(cd__http_acceptor **out, int lfd, struct MHD_Daemon *d,
                            cd__http_conns *t);

/* Stops accepting: wakes and joins the thread, closes the listening
 * socket and the eventfd, frees a. NULL: nothing. Call before
 * MHD_stop_daemon (no connection may be handed to a stopping daemon).
 * Not async-signal-safe; not from the acceptor's own thread. */
void cd__http_acceptor_stop(cd__http_acceptor *a);

#endif /* CDEBUG_HTTP_ACCEPTOR_H */

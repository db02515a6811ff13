/* http/trace_route.h - GET /debug/pprof/trace: Go's net/http/pprof Trace
 * handler, streaming a cdebug trace (docs/trace-format.md), and ?flight=1
 * for the flight recorder's window. docs/http.md, "Execution traces". */
#ifndef CDEBUG_HTTP_TRACE_ROUTE_H
#define CDEBUG_HTTP_TRACE_ROUTE_H

/* Longest trace a request may ask for, in seconds (Go has no limit unless
 * the server has a WriteTimeout; longer requests get a 400). */
#define CD__HTTP_TRACE_MAX_SECONDS 600.0

/* Bytes of trace queued for a slow client before the recorder is made to
 * wait (and, past its spare buffers, to drop whole batches, counted). */
#define CD__HTTP_TRACE_QUEUE_MAX (8u << 20)

/* format=go: bytes of cdebug trace recorded before the conversion (a
 * busier program's recording ends there; docs/http.md gives the whole
 * memory bound). */
#define CD__HTTP_TRACE_GO_RECORD_MAX ((size_t)64 << 20)
/* format=go: the reader's held events while converting. */
#define CD__HTTP_TRACE_GO_HELD_MAX ((size_t)16 << 20)

/* Adds the route to the table. Called once by init/ (its explicit
 * registration). Returns 0 or the first failing cd__http_route result
 * (-EEXIST when already added). Thread-safe; not async-signal-safe. */
int cd__http_trace_route_register(void);

/* Ends a streaming trace, if one runs, and waits (2 s at most) until its
 * connection is no longer suspended: libmicrohttpd must not be stopped
 * with a suspended connection. Called by cd_http_stop before the daemon
 * stops. Thread-safe; not async-signal-safe. */
void cd__http_trace_shutdown(void);

#endif /* CDEBUG_HTTP_TRACE_ROUTE_H */

/* trace/flight.h - the flight recorder's memory sink (trace/flight.c). */
#ifndef CDEBUG_TRACE_FLIGHT_H
#define CDEBUG_TRACE_FLIGHT_H

#include <stddef.h>
#include <stdint.h>

/* Bytes of event records the ring keeps at most (tables and the
 * recorder's own buffers come on top; docs/trace-format.md, "Flight
 * recorder"). */
#define CD__FLIGHT_MAX_BYTES (64u << 20)

/* Longest window cd_flight_start accepts, in seconds. */
#define CD__FLIGHT_MAX_SECONDS 3600.0

/* cd_flight_write into memory: *out is a malloc'd self-contained trace of
 * the window (free() it). Same waits, returns and thread-safety as
 * cd_flight_write. */
int cd__flight_copy(uint8_t **out, size_t *outlen);

/* In a child of fork(), from the trace fork-child hook (trace/api.c): no flight recorder
 * runs (its ring is the parent's; forgotten, not freed). Plain stores. */
void cd__flight_fork_child(void);

/* CDEBUG=flight=SECONDS: start at init (errors reported on stderr). */
void cd__flight_env_start(double seconds);

#endif /* CDEBUG_TRACE_FLIGHT_H */

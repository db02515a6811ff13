/* trace/trace_int.h - what the rest of the runtime sees of the tracer. */
#ifndef CDEBUG_TRACE_TRACE_INT_H
#define CDEBUG_TRACE_TRACE_INT_H

#include <stdint.h>

/* CDEBUG=trace=FILE: start at init, stop (and flush) at cd_shutdown/exit. */
int cd__trace_file_start(const char *path);
void cd__trace_file_stop(void);

/* Interns a string by content only (messages built in reused buffers). */
uint32_t cd__trace_string_content(const char *s);

#endif /* CDEBUG_TRACE_TRACE_INT_H */

/* base/symbolize.h - program counters to function, file and line, in
 * process, and the process's executable mappings, for profiles that
 * `go tool pprof` reads without the binary.
 *
 * Built on elfutils' libdwfl: the modules are the ELF files of
 * /proc/self/maps; names come from the symbol tables (static functions
 * included) and lines from DWARF when the file has it (line 0 and file ""
 * otherwise). A context is a snapshot of the mappings when it was made: a
 * library loaded later is unknown to it ("?" names).
 *
 * Not async-signal-safe (allocates, opens files). A context is used by one
 * thread at a time; distinct contexts are independent.
 */
#ifndef CDEBUG_BASE_SYMBOLIZE_H
#define CDEBUG_BASE_SYMBOLIZE_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

typedef struct cd__symctx cd__symctx;

typedef struct cd__sym {
    const char *func; /* "?" when unknown; valid until cd__sym_end */
    const char *file; /* "" when unknown */
    int64_t line;     /* 0 when unknown */
    uintptr_t start;  /* the function's first address, 0 when unknown */
} cd__sym;

/* An executable mapping of /proc/self/maps. */
typedef struct cd__mapping {
    uintptr_t start, limit, offset;
    const char *file;     /* path; valid until cd__sym_end */
    const char *build_id; /* hex GNU build id, "" if none */
} cd__mapping;

/* New context over the current mappings. Returns 0 or -ENOMEM / -EIO.
 * Cost: reads /proc/self/maps and opens each mapped ELF file lazily. */
int cd__sym_begin(cd__symctx **ctx);

/* Symbolizes pc (an exact instruction address: callers pass a return
 * address minus 1). Always fills *out (with "?" when unknown). O(log
 * symbols) after the module's first use. */
void cd__sym_lookup(cd__symctx *ctx, uintptr_t pc, cd__sym *out);

/* cd__sym_lookup, but with local set, file and line only from a module
 * whose own file has a line table: a module whose DWARF is in a separate
 * debug file (Debian's -dbg packages) gets its function name only. Why: the first line lookup in
 * such a file decompresses its DWARF, about 100 ms of CPU for libc, too much for the trace writer,
 * which runs beside the program it traces. */
void cd__sym_lookup_local(cd__symctx *ctx, uintptr_t pc, cd__sym *out, bool local);

/* The executable mappings, in address order. */
size_t cd__sym_mappings(cd__symctx *ctx, const cd__mapping **maps);

void cd__sym_end(cd__symctx *ctx);

#endif /* CDEBUG_BASE_SYMBOLIZE_H */

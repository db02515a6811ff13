/* base/symbolize.h - program counters to function, file and line, in
 * process, and the process's executable mappings, for profiles that
 * `go tool pprof` reads without the binary.
 *
 * Built on elfutils' libdwfl: the modules are the ELF files of
 * /proc/self/maps; names come from the symbol tables (static functions
 * included) and lines from DWARF when the file has it (line 0 and file ""
 * otherwise). A context is a snapshot of the mappings when it was made: a
 * library loaded later is unknown to it ("?" names). It also knows the
 * libraries unloaded before it was made (base/dlhist.h): a pc sampled
 * while one of them was loaded (cd__sym_which, from the sample's epoch) is
 * looked up in that library's file at its old address, whatever is mapped
 * there now.
 *
 * A pc in a file that has no symbol for it (a stripped library's static
 * function) is named after the file and the pc's address in it,
 * "libz.so.1.2.13+0x3f3c": never a bare "?", which is left for a pc in no
 * mapped file. Addresses "in the file" are its own (link-time, ELF
 * virtual) addresses, the pc less the file's load bias: what addr2line,
 * objdump and gdb take for that file, the same in every run whatever
 * address randomization did.
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
    /* The function's name; "FILE+0xADDR" (the file's base name, objaddr
     * below) when the pc's file has no symbol for it; "?" only for a pc in
     * no mapped file. Valid until cd__sym_end. */
    const char *func;
    const char *file; /* "" when unknown */
    int64_t line;     /* 0 when unknown */
    uintptr_t start;  /* the function's first address, 0 when unknown */
    bool named;       /* func is a symbol's name (not FILE+0xADDR nor "?") */
    /* The pc in its file's own addresses (pc less the file's load bias);
     * the pc itself when it lies in no file whose ELF headers could be
     * read. */
    uintptr_t objaddr;
    /* 1 + the index of the pc's mapping in cd__sym_mappings' array; 0 for
     * a pc in none (the vdso, or nothing). */
    size_t mapping;
} cd__sym;

/* An executable mapping of /proc/self/maps: start, limit and offset as the
 * kernel shows them (the process's addresses); obj_start, obj_limit and
 * obj_offset the same range in the file's own addresses, as pprof's
 * object tools want them (see read_maps in symbolize.c). */
typedef struct cd__mapping {
    uintptr_t start, limit, offset;
    uintptr_t obj_start, obj_limit, obj_offset;
    const char *file;     /* path; valid until cd__sym_end */
    const char *build_id; /* hex GNU build id, "" if none */
} cd__mapping;

/* New context over the current mappings. Returns 0 or -ENOMEM / -EIO.
 * Cost: reads /proc/self/maps and opens each mapped ELF file lazily. */
int cd__sym_begin(cd__symctx **ctx);

/* Symbolizes pc (an exact instruction address: callers pass a return
 * address minus 1). Always fills *out (FILE+0xADDR or "?" when the name is
 * unknown, see cd__sym). O(log symbols) after the module's first use; a
 * FILE+0xADDR name allocates (freed by cd__sym_end; "?" when that fails). */
void cd__sym_lookup(cd__symctx *ctx, uintptr_t pc, cd__sym *out);

/* cd__sym_lookup, but with local set, file and line only from a module
 * whose own file has a line table: a module whose DWARF is in a separate
 * debug file (Debian's -dbg packages) gets its function name only. Why: the first line lookup in
 * such a file decompresses its DWARF, about 100 ms of CPU for libc, too much for the trace writer,
 * which runs beside the program it traces. */
void cd__sym_lookup_local(cd__symctx *ctx, uintptr_t pc, cd__sym *out, bool local);

/* Which library pc, sampled in epoch (cd__dl_epoch when the sample was
 * taken), lies in: 0 for what is mapped now, else 1 + the index of the
 * first unload after epoch whose code covered pc, or rather of the first
 * unload of that same file's segment at the same address (a library
 * loaded and unloaded many times at one place is one Mapping). Pass it to
 * cd__sym_lookup_in. O(unloads). */
uint32_t cd__sym_which(cd__symctx *ctx, uintptr_t pc, uint32_t epoch);

/* cd__sym_lookup, in the library `which` names (cd__sym_which): 0 is
 * cd__sym_lookup; otherwise the unloaded library's file, opened at its old
 * load bias on first use, and a Mapping for it (as it was mapped). A file
 * that cannot be read any more gives "FILE+0xADDR", never a name of what is
 * mapped at pc now. */
void cd__sym_lookup_in(cd__symctx *ctx, uintptr_t pc, uint32_t which, cd__sym *out);

/* cd__sym_lookup_in(ctx, pc, cd__sym_which(ctx, pc, epoch), out). */
void cd__sym_lookup_epoch(cd__symctx *ctx, uintptr_t pc, uint32_t epoch, cd__sym *out);

/* How many of the stack pcs[0..n) to keep: all up to the first pc,
 * pcs[1] on, that lies in no executable mapping of the process when the
 * context was made (a file's, an anonymous one, the vdso) nor in a library
 * unloaded after `epoch` (cd__sym_which). ret: pcs[1..n) are return
 * addresses, tested as the call before them (pc - 1); else they are
 * already such addresses (cd__pprof's). pcs[0] stays: it is where the
 * stack was taken (the interrupted pc, or the return address of a call
 * that the sampled function's own frame recorded), mapped or not.
 *
 * Why: code built without frame pointers may keep data in rbp (Debian's
 * redis-server does), and a frame-pointer walk through it takes a word of
 * that data for the next return address (a heap pointer, an unmapped low
 * address, a non-canonical value): `go tool pprof` would show an
 * <unknown> frame, and every frame past it is as false. The walk cannot
 * tell in a malloc interposer or a signal handler without a table of its
 * own; the profile writer has every mapping here, so every profile is cut
 * in one place, when it is written. A library mapped and unmapped
 * between the sample and the write, without the program's dlclose
 * (base/dlhist.h), cuts a true frame of its: the stack ends there.
 * O(n log mappings), plus O(unloads) per pc in no live mapping. */
size_t cd__sym_cut(cd__symctx *ctx, const uintptr_t *pcs, size_t n, uint32_t epoch, bool ret);

/* The mappings: the executable mappings of /proc/self/maps in address
 * order, then those of unloaded libraries that lookups used so far (call
 * it after the lookups; the array moves when a lookup adds one). */
size_t cd__sym_mappings(cd__symctx *ctx, const cd__mapping **maps);

void cd__sym_end(cd__symctx *ctx);

#endif /* CDEBUG_BASE_SYMBOLIZE_H */

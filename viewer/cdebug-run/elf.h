/* elf.h - what cdebug-run needs to know of an ELF file before it execs it:
 * is it an executable or a shared object, and does it name a program
 * interpreter (PT_INTERP)?
 *
 * LD_PRELOAD is read by the dynamic loader, and the kernel starts the
 * loader only for an executable with a PT_INTERP program header. A
 * statically linked executable (static-pie included: ET_DYN without
 * PT_INTERP) never runs it, so preloading cannot work there, and saying so
 * before the exec beats a run that silently has no cdebug.
 *
 * The file is read with pread(2) only, every offset and size checked
 * against the file's length before use (overflow included), so a
 * truncated or hostile file gives an error text, never a read out of
 * bounds. The dynamic section is read for DT_FLAGS_1 only (a PIE and a
 * shared library are both ET_DYN; the loader tells them apart by DF_1_PIE).
 * Both classes (32- and 64-bit) and both byte orders are read; the
 * kernel, not this file, decides whether the machine matches.
 */
#ifndef CDEBUG_RUN_ELF_H
#define CDEBUG_RUN_ELF_H

#include <stdbool.h>
#include <stddef.h>

typedef struct run_elf_info {
    unsigned type;   /* e_type: ET_EXEC (2), ET_DYN (3)... */
    bool has_interp; /* a PT_INTERP header, its path inside the file and NUL-terminated */
    bool pie;        /* DF_1_PIE in DT_FLAGS_1: an executable, which the loader
                      * refuses to load as a library */
} run_elf_info;

/* Longest error text run_elf_read writes, with its NUL. */
#define RUN_ELF_WHY_MAX 160

/* Reads the ELF header and program headers of the open file fd. Returns 0
 * with *info filled, -ENOEXEC when fd does not start with the ELF magic
 * (why untouched), or -EINVAL with a text in why (e.g. "truncated ELF file:
 * program headers end past its 812 bytes") for a file that starts like an
 * ELF file but cannot be one the kernel runs, or another negative errno
 * from fstat/pread (why set). Thread-safe (pread only); O(e_phnum). */
int run_elf_read(int fd, run_elf_info *info, char why[RUN_ELF_WHY_MAX]);

#endif

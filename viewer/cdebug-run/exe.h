/* exe.h - PROGRAM as execvp(3) finds it, and whether the dynamic loader
 * will preload a library into it.
 *
 * cdebug-run checks before it execs, because afterwards it is too late to
 * say anything: a program the loader does not preload into simply runs
 * without cdebug. Two kinds of program are refused, with their reason:
 *
 *   - statically linked (no PT_INTERP, elf.h): the loader never runs;
 *   - secure execution (set-user-ID or set-group-ID to someone else, file
 *     capabilities for a user other than root): the kernel sets AT_SECURE
 *     and the loader then ignores LD_PRELOAD (and cdebug, built in or not,
 *     reads none of its variables: docs/cdebug.md).
 *
 * A #! script is fine: its interpreter, which the kernel starts, is
 * dynamically linked as a rule, and is preloaded like any program.
 */
#ifndef CDEBUG_RUN_EXE_H
#define CDEBUG_RUN_EXE_H

#include <stddef.h>

/* Longest message run_exe_find/run_exe_check write, with its NUL. */
#define RUN_EXE_MSG_MAX 4600

/* Finds name as execvp does: a name with a '/' is itself; otherwise each
 * directory of PATH (confstr(_CS_PATH), "/bin:/usr/bin", when PATH is
 * unset; an empty entry is the current directory), the first regular file
 * there with execute permission. Returns 0 with the path in out (outlen
 * bytes), or the shell's status with a message in msg: 127 not found
 * ("command not found", or the errno text for a name with a '/'), 126 found
 * but not executable (a directory, no permission). Reads the file system;
 * thread-safe; O(length of PATH). */
int run_exe_find(const char *name, char *out, size_t outlen, char msg[RUN_EXE_MSG_MAX]);

/* Checks the program at path before it is exec'd. Returns 0 (run it), or
 * a status with a message in msg: 2 when the loader would not preload into
 * it (statically linked, secure execution; the message says which and
 * why), 126 when it cannot be run or read (no permission, neither ELF nor
 * #!, a truncated or corrupt ELF file). Never reads past what the file
 * holds (elf.h). Thread-safe; O(its program headers). */
int run_exe_check(const char *path, char msg[RUN_EXE_MSG_MAX]);

/* Checks that path is an ELF shared object cdebug-run may put in
 * LD_PRELOAD: readable, ELF type ET_DYN but not a PIE (elf.h), no space or colon in its name
 * (LD_PRELOAD's separators). 0, or -EINVAL with a message in msg. */
int run_exe_check_lib(const char *path, char msg[RUN_EXE_MSG_MAX]);

#endif

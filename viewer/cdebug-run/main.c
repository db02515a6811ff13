/* main.c - cdebug-run: runs a program with libcdebug preloaded.
 *
 *   cdebug-run --http=127.0.0.1:6060 -- ./server --port 8080
 *   cdebug-run --cpuprofile=cpu.pprof --memprofile=mem.pprof make -j4
 *
 * In the spirit of heaptrack and ltrace, for a program that was never
 * built with cdebug: sets CDEBUG and CDTRACEBACK from the options (merged
 * with the caller's, runenv.h), puts libcdebug first in LD_PRELOAD, and
 * execs PROGRAM, found on PATH as execvp finds it. It execs rather than
 * forks: PROGRAM keeps cdebug-run's process ID, parent, terminal and
 * signals, and nothing of cdebug-run stays behind.
 *
 * Before the exec it refuses, with the reason, what would run without
 * cdebug: a statically linked program, a set-user-ID one (exe.h), a
 * library it cannot find or that is not a shared object.
 *
 * Exit status: PROGRAM's own once it runs; 0 for --help; 2 for a bad
 * command line, a missing library or a program the loader will not
 * preload into; 126 and 127 as a shell: found but not executable, not
 * found.
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "esc.h"
#include "exe.h"
#include "opts.h"
#include "runenv.h"

#ifndef RUN_LIB_RELATIVE
#error                                                                                             \
    "RUN_LIB_RELATIVE (the library's path relative to the executable's directory) is set by CMake"
#endif

/* The library to preload, into out: --lib, else $CDEBUG_RUN_LIB, else the
 * installed one at RUN_LIB_RELATIVE from the directory of this executable
 * (/proc/self/exe, so a symbolic link to cdebug-run finds it too). Made
 * absolute, so PROGRAM changing directory does not matter. 0, or 2 with
 * the message written. */
static int find_lib(const char *opt, char *out)
{
    const char *from = "--lib";
    const char *p = opt;
    char guess[PATH_MAX];
    if (p == NULL && (p = getenv("CDEBUG_RUN_LIB")) != NULL && p[0] != '\0') {
        from = "CDEBUG_RUN_LIB";
    } else if (p == NULL) {
        from = NULL;
        char self[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0) {
            top_esc_line(stderr,
                         "cdebug-run: cannot find libcdebug: /proc/self/exe: %s (use --lib=PATH)",
                         n < 0 ? strerror(errno) : "empty");
            return 2;
        }
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash == NULL) { /* the kernel gives an absolute path; never trust it blindly */
            top_esc_line(
                stderr,
                "cdebug-run: cannot find libcdebug: /proc/self/exe is \"%s\" (use --lib=PATH)",
                self);
            return 2;
        }
        *slash = '\0';
        int len = snprintf(guess, sizeof guess, "%s/%s", self, RUN_LIB_RELATIVE);
        if (len < 0 || (size_t)len >= sizeof guess) {
            top_esc_line(stderr,
                         "cdebug-run: cannot find libcdebug: path too long (use --lib=PATH)");
            return 2;
        }
        p = guess;
    }
    if (realpath(p, out) == NULL) {
        int e = errno;
        if (from != NULL)
            top_esc_line(stderr, "cdebug-run: %s=%s: %s", from, p, strerror(e));
        else
            top_esc_line(stderr,
                         "cdebug-run: cannot find libcdebug: %s: %s (not installed beside "
                         "cdebug-run? use --lib=PATH or CDEBUG_RUN_LIB)",
                         p, strerror(e));
        return 2;
    }
    char msg[RUN_EXE_MSG_MAX];
    if (run_exe_check_lib(out, msg) != 0) {
        top_esc_line(stderr, "cdebug-run: %s", msg);
        return 2;
    }
    return 0;
}

static int set(const char *name, char *value)
{
    if (value == NULL || setenv(name, value, 1) != 0) {
        top_esc_line(stderr, "cdebug-run: cannot set %s: %s", name, strerror(ENOMEM));
        free(value);
        return -ENOMEM;
    }
    free(value);
    return 0;
}

int main(int argc, char **argv)
{
    run_opts o;
    int rc = run_opts_parse(argc, argv, &o, stderr);
    if (rc == RUN_OPTS_HELP) {
        run_usage(stdout);
        return fflush(stdout) == 0 ? 0 : 1;
    }
    if (rc != 0)
        return 2;

    char lib[PATH_MAX];
    if ((rc = find_lib(o.lib, lib)) != 0)
        return rc;

    char path[PATH_MAX];
    char msg[RUN_EXE_MSG_MAX];
    const char *prog = argv[o.argi];
    if ((rc = run_exe_find(prog, path, sizeof path, msg)) != 0 ||
        (rc = run_exe_check(path, msg)) != 0) {
        top_esc_line(stderr, "cdebug-run: %s", msg);
        return rc;
    }

    bool any = false;
    for (int i = 0; i < RUN_SET_N; i++)
        any = any || o.set[i] != NULL;
    if (any &&
        set("CDEBUG", run_cdebug_merge(getenv("CDEBUG"), run_set_names, o.set, RUN_SET_N)) != 0)
        return 2;
    if (o.traceback != NULL && setenv("CDTRACEBACK", o.traceback, 1) != 0) {
        top_esc_line(stderr, "cdebug-run: cannot set CDTRACEBACK: %s", strerror(errno));
        return 2;
    }
    if (set("LD_PRELOAD", run_preload_merge(getenv("LD_PRELOAD"), lib)) != 0)
        return 2;

    /* argv[0] stays as given, as execvp passes it. */
    execv(path, argv + o.argi);
    int e = errno;
    top_esc_line(stderr, "cdebug-run: %s: cannot execute: %s", path, strerror(e));
    return e == ENOENT ? 127 : 126;
}

/* exe.c - finding PROGRAM and checking it before exec (see exe.h). */
#include "exe.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "elf.h"

#define ET_EXEC 2
#define ET_DYN  3

/* The status and text a shell gives for a file it cannot execute. */
static int cannot_exec(const char *path, int err, char *msg)
{
    snprintf(msg, RUN_EXE_MSG_MAX, "%s: %s", path, strerror(err));
    return err == ENOENT ? 127 : 126;
}

/* 0 when path is a regular file with execute permission, else the errno
 * execve would give (ENOENT, EACCES; EACCES for a directory). */
static int executable(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errno;
    if (!S_ISREG(st.st_mode))
        return EACCES;
    return access(path, X_OK) == 0 ? 0 : errno;
}

int run_exe_find(const char *name, char *out, size_t outlen, char msg[RUN_EXE_MSG_MAX])
{
    if (name[0] == '\0') {
        snprintf(msg, RUN_EXE_MSG_MAX, "\"\": command not found");
        return 127;
    }
    if (strchr(name, '/') != NULL) {
        int e = executable(name);
        if (e != 0) {
            struct stat st;
            if (e == EACCES && stat(name, &st) == 0 && S_ISDIR(st.st_mode))
                e = EISDIR; /* what a shell says; execve says EACCES */
            return cannot_exec(name, e, msg);
        }
        if (strlen(name) >= outlen)
            return cannot_exec(name, ENAMETOOLONG, msg);
        strcpy(out, name);
        return 0;
    }
    char defpath[256];
    const char *path = getenv("PATH");
    if (path == NULL) {
        size_t n = confstr(_CS_PATH, defpath, sizeof defpath);
        path = n > 0 && n <= sizeof defpath ? defpath : "/bin:/usr/bin";
    }
    bool denied = false;
    char denied_at[PATH_MAX] = "";
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t dlen = end != NULL ? (size_t)(end - p) : strlen(p);
        int n = dlen == 0 ? snprintf(out, outlen, "%s", name)
                          : snprintf(out, outlen, "%.*s/%s", (int)dlen, p, name);
        if (n >= 0 && (size_t)n < outlen) {
            int e = executable(out);
            if (e == 0)
                return 0;
            /* execvp goes on after EACCES and reports it only when no
             * later directory has the program. */
            if (e == EACCES && !denied) {
                denied = true;
                snprintf(denied_at, sizeof denied_at, "%s", out);
            }
        }
        if (end == NULL)
            break;
        p = end;
    }
    if (denied)
        return cannot_exec(denied_at, EACCES, msg);
    snprintf(msg, RUN_EXE_MSG_MAX, "%s: command not found", name);
    return 127;
}

/* Whether running path starts a secure-execution process (AT_SECURE),
 * in which the loader ignores LD_PRELOAD: writes the reason to why. */
static bool secure_exec(const char *path, const struct stat *st, char *why, size_t n)
{
    struct statvfs vfs;
    if (statvfs(path, &vfs) == 0 && (vfs.f_flag & ST_NOSUID) != 0)
        return false; /* the kernel ignores the bits and capabilities there */
    /* The kernel's rule: the new effective IDs differ from the real ones. */
    if ((st->st_mode & S_ISUID) != 0 && st->st_uid != getuid()) {
        snprintf(why, n, "set-user-ID (owner uid %u)", (unsigned)st->st_uid);
        return true;
    }
    if ((st->st_mode & (S_ISGID | S_IXGRP)) == (S_ISGID | S_IXGRP) && st->st_gid != getgid()) {
        snprintf(why, n, "set-group-ID (group gid %u)", (unsigned)st->st_gid);
        return true;
    }
    /* File capabilities make a secure execution unless the real user is
     * root (the kernel's cap_bprm_secureexec). */
    if (getuid() != 0 && getxattr(path, "security.capability", NULL, 0) >= 0) {
        snprintf(why, n, "has file capabilities");
        return true;
    }
    return false;
}

int run_exe_check(const char *path, char msg[RUN_EXE_MSG_MAX])
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        snprintf(msg, RUN_EXE_MSG_MAX,
                 "%s: cannot read it to check that the loader will preload into it: %s", path,
                 strerror(e));
        return 126;
    }
    int status = 0;
    struct stat st;
    char head[2];
    if (fstat(fd, &st) != 0) {
        status = cannot_exec(path, errno, msg);
        goto cleanup;
    }
    /* A script: its interpreter is the program the loader starts. Linux
     * ignores the set-user-ID and set-group-ID bits of a script. */
    if (pread(fd, head, 2, 0) == 2 && head[0] == '#' && head[1] == '!')
        goto cleanup;

    run_elf_info info;
    char why[RUN_ELF_WHY_MAX];
    int rc = run_elf_read(fd, &info, why);
    if (rc == -ENOEXEC) {
        snprintf(msg, RUN_EXE_MSG_MAX,
                 "%s: cannot execute: neither an ELF executable nor a script starting with #!",
                 path);
        status = 126;
        goto cleanup;
    }
    if (rc != 0) {
        snprintf(msg, RUN_EXE_MSG_MAX, "%s: cannot execute: %s", path, why);
        status = 126;
        goto cleanup;
    }
    if (info.type != ET_EXEC && info.type != ET_DYN) {
        snprintf(msg, RUN_EXE_MSG_MAX,
                 "%s: cannot execute: an ELF file of type %u, not an executable", path, info.type);
        status = 126;
        goto cleanup;
    }
    if (!info.has_interp) {
        snprintf(msg, RUN_EXE_MSG_MAX,
                 "%s: statically linked (no program interpreter): the dynamic loader, which "
                 "reads LD_PRELOAD, never runs for it, so cdebug cannot be preloaded; nothing run",
                 path);
        status = 2;
        goto cleanup;
    }
    char swhy[64];
    if (secure_exec(path, &st, swhy, sizeof swhy)) {
        snprintf(msg, RUN_EXE_MSG_MAX,
                 "%s: %s: it runs in secure-execution mode, where the dynamic loader ignores "
                 "LD_PRELOAD, so cdebug cannot be preloaded; nothing run",
                 path, swhy);
        status = 2;
    }
cleanup:
    close(fd);
    return status;
}

int run_exe_check_lib(const char *path, char msg[RUN_EXE_MSG_MAX])
{
    if (strpbrk(path, " :") != NULL) {
        snprintf(msg, RUN_EXE_MSG_MAX,
                 "%s: a library whose path has a space or a colon cannot be preloaded "
                 "(LD_PRELOAD separates its entries with them)",
                 path);
        return -EINVAL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(msg, RUN_EXE_MSG_MAX, "%s: %s", path, strerror(errno));
        return -EINVAL;
    }
    run_elf_info info;
    char why[RUN_ELF_WHY_MAX];
    int rc = run_elf_read(fd, &info, why);
    close(fd);
    if (rc == -ENOEXEC || (rc == 0 && (info.type != ET_DYN || info.pie))) {
        snprintf(msg, RUN_EXE_MSG_MAX, "%s: not an ELF shared library", path);
        return -EINVAL;
    }
    if (rc != 0) {
        snprintf(msg, RUN_EXE_MSG_MAX, "%s: %s", path, why);
        return -EINVAL;
    }
    return 0;
}

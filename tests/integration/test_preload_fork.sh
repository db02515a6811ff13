#!/usr/bin/env bash
# A preloaded program that forks and creates threads in the child, while
# the parent runs cdebug's debug server (its serving and accepting threads
# exist in the parent only): the child's threads start and end normally,
# and its exit status is 0. Built here without cdebug, as a program
# nobody here wrote.
#
# Under ASan this is where a stale stack shows: glibc gives the child's new
# thread a stack cached from a thread that vanished at the fork, and
# cdebug's thread start, which runs before ASan's own, once found that
# stack still marked with the vanished thread's frames ("stack-buffer-
# underflow" in runtime/pthread_create.c; nginx's workers hit it). The
# program lets the parent's threads settle before forking: ASan's
# allocator is not fork-safe, and a fork while one of them allocates
# would hang the child for a reason that is not cdebug's.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/preload_lib.sh"
cc=${CC:-cc}

cat >"$tmp/forkthreads.c" <<'C'
#include <pthread.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static void *work(void *arg)
{
    volatile char buf[4096];
    for (int i = 0; i < (int)sizeof buf; i++)
        buf[i] = (char)i;
    return arg;
}

int main(void)
{
    usleep(300 * 1000); /* the parent's threads settle */
    pid_t pid = fork();
    if (pid < 0)
        return 2;
    if (pid == 0) {
        for (int round = 0; round < 4; round++) {
            pthread_t t[4];
            for (int i = 0; i < 4; i++)
                if (pthread_create(&t[i], NULL, work, NULL) != 0)
                    _exit(3);
            for (int i = 0; i < 4; i++)
                pthread_join(t[i], NULL);
        }
        _exit(0);
    }
    int st;
    if (waitpid(pid, &st, 0) != pid)
        return 4;
    printf("child status %d\n", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
    return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1;
}
C
"$cc" -O1 -pthread -o "$tmp/forkthreads" "$tmp/forkthreads.c" || fail "building forkthreads"

dport=$(free_port)
preloaded fork "http=127.0.0.1:$dport" "$tmp/forkthreads"
rc=0
wait "$pid" || rc=$?
[[ $rc == 0 ]] || {
    show "$tmp/fork.out"
    head -n 12 "$tmp/fork.err" >&2 # a sanitizer's report starts with what and where
    fail "forkthreads exited with $rc, want 0"
}
grep -qx 'child status 0' "$tmp/fork.out" || { show "$tmp/fork.out"; fail "the child's threads did not end normally"; }
! grep -q 'ERROR: AddressSanitizer' "$tmp/fork.err" || { show "$tmp/fork.err"; fail "a sanitizer report"; }
ok "a forked child of a preloaded program with a debug server creates and joins 16 threads; status 0"

/* prog_lazy.c - the collector starts on first use, from any thread, and
 * every thread that uses it afterwards is scanned.
 *
 * Linked with cdebug, but main makes no cdebug call before it prints its
 * first line: the collector has not started (no SIGPWR handler, no
 * marker thread). A pthread then makes the first cd_alloc, which starts
 * the collector from that thread; it builds and checks a list through
 * many collections and ends. Main then uses the collector for the first
 * time itself: its only reference to its own list is on its stack, so a
 * main thread the collector did not scan would see its list reclaimed
 * and cleared (bdwgc clears what it hands out again) and print BAD.
 *
 * Prints:
 *   before: threads=N sigpwr=0|1
 *   thread: ok
 *   after: sigpwr=0|1
 *   main: ok            (or "main: BAD ..." and status 1)
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <dirent.h>

#include "cdebug/cdebug.h"

struct node {
    struct node *next;
    long v;
};

static int thread_count(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    if (d == NULL)
        return -1;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Whether a handler (not SIG_DFL/SIG_IGN) is installed for SIGPWR, which
 * bdwgc uses to stop the world. */
static int sigpwr_handled(void)
{
    struct sigaction sa;
    if (sigaction(SIGPWR, NULL, &sa) != 0)
        return -1;
    return sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN;
}

/* Builds a list of n nodes, then churns the heap with garbage and forced
 * collections; returns the number of nodes whose value is wrong. The
 * list's head lives only in this frame. */
static long churn(const char *who, int n, int rounds)
{
    struct node *volatile head = NULL;
    for (int i = 0; i < n; i++) {
        struct node *x = cd_alloc(sizeof *x);
        if (x == NULL) {
            printf("%s: out of memory\n", who);
            exit(1);
        }
        x->v = i;
        x->next = head;
        head = x;
    }
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < 20000; i++)
            (void)cd_alloc(sizeof(struct node));
        cd_gc();
    }
    long bad = 0, expect = n - 1, seen = 0;
    for (struct node *x = head; x != NULL; x = x->next, expect--, seen++)
        bad += x->v != expect;
    return bad + (seen != n);
}

static void *first_user(void *arg)
{
    (void)arg;
    long bad = churn("thread", 5000, 10);
    printf("thread: %s\n", bad == 0 ? "ok" : "BAD");
    return NULL;
}

int main(void)
{
    printf("before: threads=%d sigpwr=%d\n", thread_count(), sigpwr_handled());
    fflush(stdout);
    pthread_t t;
    if (pthread_create(&t, NULL, first_user, NULL) != 0)
        return 1;
    pthread_join(t, NULL);
    printf("after: sigpwr=%d\n", sigpwr_handled());
    long bad = churn("main", 5000, 10);
    if (bad != 0) {
        printf("main: BAD (%ld nodes wrong)\n", bad);
        return 1;
    }
    printf("main: ok\n");
    return 0;
}

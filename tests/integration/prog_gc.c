/* tests/integration/prog_gc.c - garbage for test_gctrace.sh.
 *
 * Usage: prog_gc [ITERATIONS [FORCE_EVERY [TASKS]]]
 *
 * Allocates ITERATIONS rounds of short-lived lists (garbage) while keeping a
 * small live set, calls cd_gc() every FORCE_EVERY rounds (0: never), and
 * optionally runs the same loop in TASKS scheduler tasks at once so
 * collections happen on several threads. Then it calls cd_shutdown(), which
 * flushes the gctrace lines, and prints "NumGC NumForcedGC forced_calls" on
 * stdout. Exit status 0, or 2 for bad arguments.
 *
 * With PROG_GC_DONE=PATH in the environment it creates PATH once every
 * collection is done, before cd_shutdown(): test_gctrace.sh keeps stderr
 * unread until then, so the stall it tests does not depend on timing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cdebug/cdebug.h>

struct cell {
    struct cell *next;
    char *text;
    long n;
};

static long iterations = 400, force_every = 50;

/* One round: a 1000-cell list that becomes garbage at once, and one cell
 * that joins the live ring (bounded at 1000 cells). */
static struct cell *round_of_garbage(struct cell *live, long i)
{
    struct cell *tmp = NULL;
    for (int k = 0; k < 1000; k++) {
        struct cell *c = cd_alloc(sizeof *c);
        c->text = cd_alloc_atomic(48);
        memset(c->text, 'g', 47);
        c->n = k;
        c->next = tmp;
        tmp = c;
    }
    struct cell *keep = cd_alloc(sizeof *keep);
    keep->n = i;
    keep->text = cd_strdup("live");
    keep->next = (i % 1000 == 0) ? NULL : live;
    return keep;
}

/* A task: the same garbage loop, then done on the waitgroup in arg. */
static void work(void *arg)
{
    struct cell *live = NULL;
    for (long i = 0; i < iterations; i++)
        live = round_of_garbage(live, i);
    (void)live;
    cd_wg_done(arg);
}

/* A non-negative decimal argument, or exit(2). */
static long parse(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v < 0) {
        fprintf(stderr, "prog_gc: bad number '%s'\n", s);
        exit(2);
    }
    return v;
}

int main(int argc, char **argv)
{
    long tasks = 0, forced_calls = 0;
    if (argc > 1)
        iterations = parse(argv[1]);
    if (argc > 2)
        force_every = parse(argv[2]);
    if (argc > 3)
        tasks = parse(argv[3]);

    cd_waitgroup wg;
    cd_wg_init(&wg);
    for (long t = 0; t < tasks; t++) {
        cd_wg_add(&wg, 1);
        if (cd_go(work, &wg) != 0)
            return 1;
    }

    struct cell *live = NULL;
    for (long i = 0; i < iterations; i++) {
        live = round_of_garbage(live, i);
        if (force_every > 0 && i % force_every == force_every - 1) {
            cd_gc();
            forced_calls++;
        }
    }
    (void)live;
    cd_wg_wait(&wg);

    const char *done = getenv("PROG_GC_DONE");
    if (done != NULL) {
        FILE *f = fopen(done, "w");
        if (f == NULL || fclose(f) != 0) {
            perror(done);
            return 1;
        }
    }
    cd_shutdown();
    cd_memstats *m = malloc(sizeof *m);
    if (m == NULL)
        return 1;
    cd_read_memstats(m);
    printf("%u %u %ld\n", m->NumGC, m->NumForcedGC, forced_calls);
    free(m);
    return 0;
}

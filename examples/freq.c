/* examples/freq.c - the execution-tracing walkthrough's program, in C.
 *
 * The Go original (the Go tutorial's "Execution Tracing" section) counts how many
 * items of 4000 RSS documents mention a topic: each document is read,
 * decoded with xml.Unmarshal, and every <item> whose title or description
 * contains the topic counts once. It is then made concurrent in several ways
 * and the traces of the variants are compared. This program does the same
 * on cdebug's task pool:
 *
 *     CDMAXPROCS=2 ./build/examples/freq --mode=serial
 *     Searching 4000 files, found president 29516 times.
 *     freq: mode=serial workers=2 tasks=1 elapsed=257.3ms
 *
 *     CDEBUG=trace=serial.trace CDMAXPROCS=2 ./build/examples/freq --mode=serial
 *     CDEBUG=trace=numcpu.trace CDMAXPROCS=2 ./build/examples/freq --mode=numcpu
 *     ./build/viewer/cdebug-trace dump numcpu.trace | grep 'REGION_BEGIN.*"parse"' | head
 *
 * Modes (--mode=), the Go original's find functions:
 *
 *   serial   find: one task loops over every document. One worker is busy,
 *            the others idle: the trace shows every region on one thread.
 *   fanout   findConcurrent: one task per document, all spawned at once,
 *            joined with a waitgroup.
 *   bounded  findConcurrentSem: one task per document, at most CDMAXPROCS
 *            of them spawned and not yet finished at any time.
 *   numcpu   findNumCPU(Tasks): one task per worker, each taking a
 *            contiguous slice of the documents; per-task partial sums.
 *
 * The documents are generated in memory, deterministically (document i is a
 * function of i only), so the counts never change between runs or modes;
 * generating one stands for the Go original's open-and-read of a file. --dump=DIR
 * writes them out as DIR/000000.xml ...; --dir=DIR searches the .xml files of
 * a directory instead (read inside the tasks, each read bracketed as a
 * blocking call).
 *
 * Each document goes through three steps, each a trace region: "load"
 * (generate or read), "parse" (a small XML parser: elements, attributes,
 * comments, CDATA, processing instructions, character and entity
 * references; malformed input is an error) and "search" (case-insensitive
 * whole-word match of the topic in each item's title, then description).
 * The run is a user task "freq" begun on main with a log of the mode; every
 * pool task opens a child user task "chunk", so the regions it records are
 * attributed to the run. docs/freq.md walks through the traces.
 *
 * This file is the tracing: the modes, the tasks, the user tasks, regions,
 * log and blocking calls. The documents themselves (generator, file
 * reading, XML parser, search) are in freq/rss.c, which calls no trace API.
 *
 * Differences from the Go program, on purpose:
 *   - the topic matches as a word, ignoring ASCII case ("President" counts,
 *     "presidential" does not); Go's strings.Contains is case-sensitive and
 *     matches inside words;
 *   - a document that cannot be read or parsed is reported and the others
 *     are still counted (exit status 1); Go returns 0 at the first error.
 *
 * Usage: freq [--mode=M] [--docs=N] [--topic=WORD] [--dir=DIR] | --dump=DIR
 */
#include <errno.h>
#include <inttypes.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <cdebug/cdebug.h>

#include "freq/rss.h"

#define TOPIC_MAX 64
#define DOCS_MAX  1000000

/* ---- Options ------------------------------------------------------------ */

typedef enum mode { MODE_SERIAL, MODE_FANOUT, MODE_BOUNDED, MODE_NUMCPU } mode;
static const char *const mode_names[] = {"serial", "fanout", "bounded", "numcpu"};

typedef struct options {
    mode mode;
    uint64_t docs;
    const char *topic; /* as given, for the output */
    const char *dir;   /* --dir: search DIR's .xml files instead */
    const char *dump;  /* --dump: write the documents to DIR and exit */
} options;

static options opt = {
    .mode = MODE_SERIAL,
    .docs = 4000,
    .topic = "president",
};

/* ---- The run ------------------------------------------------------------ */

/* Shared by every task of the run. Tasks get a document index or a slice as
 * their argument and find the rest here; it is written by main before the
 * first task is spawned and read-only afterwards, except the counters. */
typedef struct run {
    char topic[TOPIC_MAX + 1]; /* lowercased */
    size_t topic_len;
    char **files; /* --dir: paths (malloc), sorted; NULL when generating */
    size_t ndocs;
    cd_trace_task_id task;       /* the "freq" user task */
    cd_waitgroup wg;             /* every mode: main waits for its tasks */
    sem_t slots;                 /* bounded: free in-flight slots */
    atomic_uint_fast64_t found;  /* fanout, bounded: items found */
    atomic_uint_fast64_t errors; /* documents that failed to load or parse */
} run;

static run R;

/* ---- Small helpers ------------------------------------------------------ */

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* ---- One document, one chunk -------------------------------------------- */

/* Loads, parses and searches document i, one region per step. Returns the
 * items found, or -1 after reporting the error on stderr. Buffers are
 * reused across the documents of a chunk (caller-owned). */
static int64_t process_doc(size_t i, rss_buf *b, rss_items *it)
{
    int rc = 0;
    const char *err = NULL;
    size_t err_pos = 0;
    uint64_t found = 0;

    CD_TRACE_REGION("load")
    {
        if (R.files != NULL) {
            /* A file read is a blocking call: bracketing it lets the
             * worker run other tasks meanwhile, as Go's scheduler does
             * around a read(2) that takes long. */
            cd_block_begin("IO wait");
            rc = rss_read_file(R.files[i], b);
            cd_block_end();
        } else {
            rss_gen_doc(i, b);
        }
    }
    if (rc != 0) {
        fprintf(stderr, "freq: %s: %s\n", R.files[i], strerror(-rc));
        return -1;
    }
    CD_TRACE_REGION("parse")
    {
        rc = rss_parse(b->p, b->len, it, &err, &err_pos);
    }
    if (rc != 0) {
        if (R.files != NULL)
            fprintf(stderr, "freq: %s: byte %zu: %s\n", R.files[i], err_pos, err);
        else
            fprintf(stderr, "freq: document %zu: byte %zu: %s\n", i, err_pos, err);
        return -1;
    }
    CD_TRACE_REGION("search")
    {
        found = rss_count(b->p, it, R.topic, R.topic_len);
    }
    return (int64_t)found;
}

/* Documents [begin, end) inside a user task "chunk", child of the run's:
 * regions are attributed to the thread's current user task, and on a pool
 * thread that is the one this task opens. */
static uint64_t run_chunk(size_t begin, size_t end)
{
    cd_trace_task_id t = cd_trace_task_begin(R.task, "chunk");
    rss_buf b = {0};
    rss_items it = {0};
    uint64_t found = 0;
    for (size_t i = begin; i < end; i++) {
        int64_t n = process_doc(i, &b, &it);
        if (n < 0)
            atomic_fetch_add_explicit(&R.errors, 1, memory_order_relaxed);
        else
            found += (uint64_t)n;
    }
    cd_trace_task_end(t);
    return found;
}

/* ---- The modes ---------------------------------------------------------- */

typedef struct slice {
    size_t begin, end;
    uint64_t found; /* written by its task, read by main after the wait */
} slice;

static void spawn(const char *name, void (*fn)(void *), void *arg)
{
    cd_wg_add(&R.wg, 1);
    int rc = cd_go_named(name, fn, arg);
    if (rc != 0) {
        fprintf(stderr, "freq: cd_go: %s\n", cd_strerror(rc));
        exit(1);
    }
}

static void slice_task(void *arg)
{
    slice *s = arg;
    s->found = run_chunk(s->begin, s->end);
    cd_wg_done(&R.wg);
}

static void doc_task(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    atomic_fetch_add_explicit(&R.found, run_chunk(i, i + 1), memory_order_relaxed);
    cd_wg_done(&R.wg);
}

/* bounded: release the slot before cd_wg_done, after which main may return
 * and destroy the semaphore. sem_post never blocks. */
static void bounded_task(void *arg)
{
    size_t i = (size_t)(uintptr_t)arg;
    atomic_fetch_add_explicit(&R.found, run_chunk(i, i + 1), memory_order_relaxed);
    sem_post(&R.slots);
    cd_wg_done(&R.wg);
}

/* numcpu (and serial, with one slice): contiguous slices, the first
 * ndocs % nslices of them one document longer. */
static uint64_t run_slices(size_t nslices, const char *name)
{
    slice *v = calloc(nslices, sizeof *v);
    if (v == NULL)
        rss_die_oom();
    size_t q = R.ndocs / nslices, rem = R.ndocs % nslices, at = 0;
    for (size_t k = 0; k < nslices; k++) {
        v[k].begin = at;
        at += q + (k < rem);
        v[k].end = at;
        spawn(name, slice_task, &v[k]);
    }
    cd_wg_wait(&R.wg);
    uint64_t found = 0;
    for (size_t k = 0; k < nslices; k++)
        found += v[k].found;
    free(v);
    return found;
}

/* bounded: the Go original's findConcurrentSem spawns every goroutine and has each
 * block on a buffered channel until a slot is free. Here a task that blocks
 * holds an OS thread (docs/scheduler.md: no stack switching), so thousands
 * of tasks waiting for a slot would be thousands of threads. The limit is
 * enforced on the spawning side instead: main, which is not a worker and
 * may block, takes a slot before each cd_go and the task gives it back when
 * it is done. At most limit tasks are queued or running at once, and no
 * task ever waits. */
static uint64_t run_bounded(size_t limit)
{
    if (sem_init(&R.slots, 0, (unsigned)limit) != 0) {
        fprintf(stderr, "freq: sem_init: %s\n", strerror(errno));
        exit(1);
    }
    for (size_t i = 0; i < R.ndocs; i++) {
        cd_block_begin("semacquire"); /* main: only records the state */
        while (sem_wait(&R.slots) != 0 && errno == EINTR)
            ;
        cd_block_end();
        spawn("freq.bounded", bounded_task, (void *)(uintptr_t)i);
    }
    cd_wg_wait(&R.wg);
    sem_destroy(&R.slots);
    return atomic_load(&R.found);
}

static uint64_t run_fanout(void)
{
    for (size_t i = 0; i < R.ndocs; i++)
        spawn("freq.fanout", doc_task, (void *)(uintptr_t)i);
    cd_wg_wait(&R.wg);
    return atomic_load(&R.found);
}

/* ---- --dump ------------------------------------------------------------- */

static int dump_docs(void)
{
    if (mkdir(opt.dump, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "freq: %s: %s\n", opt.dump, strerror(errno));
        return 1;
    }
    rss_buf b = {0};
    size_t plen = strlen(opt.dump) + 32;
    char *path = malloc(plen);
    if (path == NULL)
        rss_die_oom();
    for (size_t i = 0; i < opt.docs; i++) {
        rss_gen_doc(i, &b);
        snprintf(path, plen, "%s/%06zu.xml", opt.dump, i);
        FILE *f = fopen(path, "w");
        bool ok = f != NULL && fwrite(b.p, 1, b.len, f) == b.len;
        if (f != NULL && fclose(f) != 0)
            ok = false;
        if (!ok) {
            fprintf(stderr, "freq: %s: %s\n", path, strerror(errno));
            free(path);
            return 1;
        }
    }
    free(path);
    printf("freq: wrote %" PRIu64 " documents to %s\n", opt.docs, opt.dump);
    return 0;
}

/* ---- Command line ------------------------------------------------------- */

static void usage(FILE *f)
{
    fprintf(f,
            "usage: freq [--mode=MODE] [--docs=N] [--topic=WORD] [--dir=DIR]\n"
            "       freq --dump=DIR [--docs=N]\n"
            "Counts the items of N generated RSS documents whose title or description\n"
            "contains WORD (a whole word, any case), as the Go tracing walkthrough does.\n"
            "  --mode=MODE   serial: one task; fanout: a task per document; bounded: a\n"
            "                task per document, at most CDMAXPROCS at once; numcpu: a task\n"
            "                per worker, each on a slice (default serial)\n"
            "  --docs=N      documents to generate (1..%d, default 4000)\n"
            "  --topic=WORD  letters and digits, at most %d (default president)\n"
            "  --dir=DIR     search DIR/*.xml instead of generated documents\n"
            "  --dump=DIR    write the generated documents to DIR/NNNNNN.xml and exit\n"
            "Try: CDEBUG=trace=t.out CDMAXPROCS=2 freq --mode=numcpu; cdebug-trace dump t.out\n",
            DOCS_MAX, TOPIC_MAX);
}

/* Strict unsigned decimal in [min, max]: digits only, no sign or spaces. */
static bool parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (*s == '\0')
        return false;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return false;
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v < min || v > max)
        return false;
    *out = v;
    return true;
}

static const char *flag_value(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && arg[n] == '=' ? arg + n + 1 : NULL;
}

/* Returns -1 to run, else the exit status (0 after --help, 2 on misuse). */
static int parse_args(int argc, char **argv)
{
    bool set_docs = false, set_mode = false, set_topic = false;
    const char *v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if ((v = flag_value(a, "--mode")) != NULL) {
            size_t k;
            for (k = 0; k < sizeof mode_names / sizeof mode_names[0]; k++)
                if (strcmp(v, mode_names[k]) == 0)
                    break;
            if (k == sizeof mode_names / sizeof mode_names[0]) {
                fprintf(stderr,
                        "freq: invalid --mode \"%s\": want serial, fanout, bounded or "
                        "numcpu\n",
                        v);
                goto bad;
            }
            opt.mode = (mode)k;
            set_mode = true;
        } else if ((v = flag_value(a, "--docs")) != NULL) {
            if (!parse_u64(v, 1, DOCS_MAX, &opt.docs)) {
                fprintf(stderr, "freq: invalid --docs \"%s\": want an integer in [1, %d]\n", v,
                        DOCS_MAX);
                goto bad;
            }
            set_docs = true;
        } else if ((v = flag_value(a, "--topic")) != NULL) {
            size_t n = strlen(v);
            bool ok = n > 0 && n <= TOPIC_MAX;
            for (size_t k = 0; ok && k < n; k++)
                ok = rss_is_word(v[k]);
            if (!ok) {
                fprintf(stderr,
                        "freq: invalid --topic \"%s\": want 1 to %d ASCII letters and digits\n", v,
                        TOPIC_MAX);
                goto bad;
            }
            opt.topic = v;
            set_topic = true;
        } else if ((v = flag_value(a, "--dir")) != NULL && *v != '\0') {
            opt.dir = v;
        } else if ((v = flag_value(a, "--dump")) != NULL && *v != '\0') {
            opt.dump = v;
        } else {
            fprintf(stderr, "freq: unknown or incomplete argument \"%s\"\n", a);
            goto bad;
        }
    }
    if (opt.dir != NULL && (set_docs || opt.dump != NULL)) {
        fprintf(stderr, "freq: --dir takes its documents from DIR: no --docs or --dump\n");
        goto bad;
    }
    if (opt.dump != NULL && (set_mode || set_topic)) {
        fprintf(stderr, "freq: --dump only writes documents: no --mode or --topic\n");
        goto bad;
    }
    return -1;
bad:
    usage(stderr);
    return 2;
}

int main(int argc, char **argv)
{
    int code = parse_args(argc, argv);
    if (code >= 0)
        return code;

    int rc = cd_init(); /* already done by the library constructor; 0 again */
    if (rc != 0) {
        fprintf(stderr, "freq: cd_init: %s\n", cd_strerror(rc));
        return 1;
    }
    if (opt.dump != NULL) {
        code = dump_docs();
        cd_shutdown();
        return code;
    }

    R.topic_len = strlen(opt.topic);
    for (size_t k = 0; k <= R.topic_len; k++)
        R.topic[k] = rss_lower(opt.topic[k]);
    if (opt.dir != NULL) {
        long n = rss_list_dir(opt.dir, &R.files);
        if (n < 0) {
            fprintf(stderr, "freq: %s: %s\n", opt.dir, strerror((int)-n));
            return 1;
        }
        if (n == 0) {
            fprintf(stderr, "freq: %s: no .xml files\n", opt.dir);
            return 1;
        }
        R.ndocs = (size_t)n;
    } else {
        R.ndocs = (size_t)opt.docs;
    }
    cd_wg_init(&R.wg);
    size_t workers = (size_t)cd_maxprocs();

    double t0 = now_ms();
    R.task = cd_trace_task_begin(0, "freq");
    cd_trace_log("mode", mode_names[opt.mode]);
    uint64_t found = 0;
    size_t tasks = 0;
    switch (opt.mode) {
    case MODE_SERIAL:
        found = run_slices(1, "freq.serial");
        tasks = 1;
        break;
    case MODE_FANOUT:
        found = run_fanout();
        tasks = R.ndocs;
        break;
    case MODE_BOUNDED:
        found = run_bounded(workers);
        tasks = R.ndocs;
        break;
    case MODE_NUMCPU:
        tasks = workers < R.ndocs ? workers : R.ndocs;
        found = run_slices(tasks, "freq.numcpu");
        break;
    }
    cd_trace_task_end(R.task);
    double elapsed = now_ms() - t0;

    printf("Searching %zu files, found %s %" PRIu64 " times.\n", R.ndocs, opt.topic, found);
    printf("freq: mode=%s workers=%zu tasks=%zu elapsed=%.1fms\n", mode_names[opt.mode], workers,
           tasks, elapsed);
    fflush(stdout);
    uint64_t errors = atomic_load(&R.errors);
    if (errors > 0)
        fprintf(stderr, "freq: %" PRIu64 " of %zu documents could not be read or parsed\n", errors,
                R.ndocs);
    if (R.files != NULL) {
        for (size_t k = 0; k < R.ndocs; k++)
            free(R.files[k]);
        free(R.files);
    }
    cd_shutdown();
    return errors > 0 ? 1 : 0;
}

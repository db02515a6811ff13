/* examples/leak.c - the "memory leak example" of the GODEBUG walkthrough, in C.
 *
 * The Go original starts a goroutine that stores m[i] = i into a map forever
 * and lets main wait for Ctrl-C:
 *
 *     go func() {
 *         m := make(map[int]int)
 *         for i := 0; ; i++ {
 *             m[i] = i
 *         }
 *     }()
 *     sig := make(chan os.Signal, 1)
 *     signal.Notify(sig)
 *     <-sig
 *
 * This program does the same with a cdebug task and a small open-addressing
 * int64 -> int64 hash map whose arrays live on the collected heap. Like a Go
 * map, the table doubles when it gets too full: new arrays are allocated, the
 * entries are rehashed into them and the old arrays simply become garbage for
 * the collector to reclaim. Run it with the collector trace on:
 *
 *     CDEBUG=gctrace=1 ./build/examples/leak > /dev/null
 *
 *     gc 1 @0.009s 0%: 0.070+0.066+0.078 ms clock, 0.024+0/0.066/0+0.031 ms cpu,
 *         0->0->0 MB, 0 MB goal, 2 P
 *     ...
 *     gc 9 @0.383s 0%: 0.13+0.12+0.11 ms clock, 0.068+0/0.12/0+0.081 ms cpu,
 *         51->51->35 MB, 70 MB goal, 2 P
 *     gc 10 @0.776s 0%: 0.10+0.061+0.13 ms clock, 0.057+0/0.061/0+0.10 ms cpu,
 *         103->103->70 MB, 140 MB goal, 2 P
 *     gc 11 @1.463s 0%: 0.12+0.17+0.24 ms clock, 0.061+0/0.17/0+0.21 ms cpu,
 *         206->206->140 MB, 280 MB goal, 2 P
 *
 * (each line is wrapped here; the program prints it as one line on stderr)
 *
 * What to look for, as in the walkthrough:
 *
 *   - The "A->B->C MB" figures (heap at the start of the collection, at the
 *     end, live after marking) only go up: every collection finds more live
 *     memory than the last. That is the signature of a leak; in a healthy
 *     program the live heap (the third figure) levels off.
 *   - "goal" doubles with the live heap: the collector grows the heap rather
 *     than reclaiming anything, and collections get further apart in time
 *     (the "@" figures).
 *   - The heap at the start of a collection is larger than the live heap
 *     after it (206 -> 140 MB above): the difference is the map's previous,
 *     half-size table, which the collector did reclaim. The garbage is
 *     collected; the map itself is the leak.
 *   - The mark phase (middle "ms clock" figure) stays around a tenth of a
 *     millisecond however big the map gets, because its arrays are
 *     pointer-free and never scanned (see intmap_alloc). Allocate the slots
 *     with cd_alloc instead and the mark time grows with the heap: about
 *     16 ms at 206 MB on the machine this was written on.
 *
 * Press Ctrl-C (or send SIGTERM): main stops the task, prints how many
 * entries the map reached and exits with status 0. --duration=N (seconds)
 * does the same after N seconds, for scripts and `make demo`, which would
 * otherwise have to interrupt it and report the interrupt as a failure.
 *
 * Usage: leak [-h|--help] [--duration=SECONDS]
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cdebug/cdebug.h>

/* ---- A minimal int64 -> int64 hash map on the GC heap ------------------- */

/* Linear probing over a power-of-two table. Keys and values sit in one array
 * of slots and a parallel byte array says which slots are in use, so any
 * int64 (including 0 and -1) can be a key. */
typedef struct slot {
    int64_t key;
    int64_t val;
} slot;

typedef struct intmap {
    slot *slots;    /* cap entries */
    uint8_t *used;  /* cap flags, 1 = slot holds an entry */
    size_t cap;     /* power of two */
    size_t count;   /* entries stored */
    unsigned shift; /* 64 - log2(cap), for Fibonacci hashing */
} intmap;

/* Both arrays hold only integers, so they come from cd_alloc_atomic: the
 * collector never scans them (Go's map[int]int buckets are "noscan" for the
 * same reason). Scanning hundreds of megabytes of integers would make every
 * mark slower and could mistake an integer for a pointer. cd_alloc_atomic
 * does not zero memory, hence the memset of the flags. */
static int intmap_alloc(intmap *m, size_t cap)
{
    slot *slots = cd_alloc_atomic(cap * sizeof(slot));
    uint8_t *used = cd_alloc_atomic(cap);
    if (slots == NULL || used == NULL)
        return -ENOMEM;
    memset(used, 0, cap);
    m->slots = slots;
    m->used = used;
    m->cap = cap;
    m->count = 0;
    m->shift = 64 - (unsigned)__builtin_ctzll(cap);
    return 0;
}

/* Fibonacci hashing: multiply by 2^64/phi and keep the top bits. Sequential
 * keys, which this program inserts, spread evenly over the table. */
static size_t intmap_index(const intmap *m, int64_t key)
{
    return (size_t)(((uint64_t)key * UINT64_C(0x9e3779b97f4a7c15)) >> m->shift);
}

/* Stores key -> val in a table known to have a free slot. */
static void intmap_put_nogrow(intmap *m, int64_t key, int64_t val)
{
    size_t mask = m->cap - 1;
    size_t i = intmap_index(m, key);
    while (m->used[i]) {
        if (m->slots[i].key == key) {
            m->slots[i].val = val;
            return;
        }
        i = (i + 1) & mask;
    }
    m->used[i] = 1;
    m->slots[i].key = key;
    m->slots[i].val = val;
    m->count++;
}

/* Doubles the table. The old arrays are not freed: like a Go map's old
 * buckets they become unreachable and the collector reclaims them, which is
 * what makes the gctrace lines interesting (heap at start > live heap).
 *
 * Rehashing tens of millions of entries is a cache miss per entry and takes
 * seconds, so the copy polls *cancel and gives up (keeping the old table)
 * when it is set: Ctrl-C should not wait for a rehash to finish. */
static int intmap_grow(intmap *m, atomic_bool *cancel)
{
    intmap bigger;
    int rc = intmap_alloc(&bigger, m->cap * 2);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < m->cap; i++) {
        if ((i & 65535) == 65535 && atomic_load_explicit(cancel, memory_order_relaxed))
            return -ECANCELED; /* bigger becomes garbage, m is untouched */
        if (m->used[i])
            intmap_put_nogrow(&bigger, m->slots[i].key, m->slots[i].val);
    }
    *m = bigger;
    return 0;
}

/* m[key] = val. Grows at a 3/4 load factor (Go's maps grow at 6.5/8).
 * Returns 0, -ENOMEM, or -ECANCELED when *cancel was set during a growth
 * (the entry is then not stored). */
static int intmap_put(intmap *m, int64_t key, int64_t val, atomic_bool *cancel)
{
    if ((m->count + 1) * 4 > m->cap * 3) {
        int rc = intmap_grow(m, cancel);
        if (rc != 0)
            return rc;
    }
    intmap_put_nogrow(m, key, val);
    return 0;
}

/* ---- The leaking task ---------------------------------------------------- */

static atomic_bool stop_requested;
static atomic_size_t final_count;
static atomic_int task_error;
static cd_waitgroup task_done;

/* The goroutine of the Go program. The map is a local of the task, as in Go:
 * its header lives on this task's stack, which the collector scans, so the
 * current arrays stay reachable and the old ones do not. The stop flag is
 * not in the Go version (its goroutine dies with the process); it lets main
 * read the final size without racing with the writer. */
static void leak_task(void *arg)
{
    (void)arg;
    intmap m;
    int rc = intmap_alloc(&m, 8);

    for (int64_t i = 0; rc == 0; i++) {
        rc = intmap_put(&m, i, i, &stop_requested);
        /* A relaxed load every 1024 inserts costs nothing measurable and
         * still stops the task within microseconds (growths poll too). */
        if ((i & 1023) == 0 && atomic_load_explicit(&stop_requested, memory_order_relaxed))
            break;
    }
    if (rc == -ECANCELED)
        rc = 0; /* stopped in the middle of a growth: m is still whole */
    if (rc != 0)
        atomic_store(&task_error, rc);
    atomic_store(&final_count, rc == 0 ? m.count : 0);
    cd_wg_done(&task_done);
}

/* ---- Waiting for Ctrl-C ------------------------------------------------- */

/* Self-pipe: the handler may run on any thread that does not block the
 * signal (cdebug's own threads block SIGINT and SIGTERM, but the program
 * should not depend on which thread is picked), and write(2) is
 * async-signal-safe. main sleeps in read(2) on the other end. */
static int sig_pipe[2] = {-1, -1};
static volatile sig_atomic_t signals_seen;

static void on_signal(int sig)
{
    int saved = errno;
    if (signals_seen++ > 0)
        _exit(128 + sig); /* a second Ctrl-C: the user wants out now */
    unsigned char b = (unsigned char)sig;
    ssize_t n = write(sig_pipe[1], &b, 1);
    (void)n; /* nothing useful to do about a full pipe in a handler */
    errno = saved;
}

static int install_signals(void)
{
    if (pipe2(sig_pipe, O_CLOEXEC) != 0)
        return -errno;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    /* sigaction also replaces SIG_IGN, which a non-interactive shell sets
     * for SIGINT on background jobs. */
    if (sigaction(SIGINT, &sa, NULL) != 0 || sigaction(SIGTERM, &sa, NULL) != 0)
        return -errno;
    return 0;
}

/* The signal that arrived, 0 when timeout_ms (-1: none) passed first, -1 on
 * a read error. The timeout is not restarted after EINTR: a signal that
 * interrupts poll writes to the pipe, which the next poll sees at once. */
static int wait_signal(int timeout_ms)
{
    unsigned char b;
    ssize_t n = -1;
    struct pollfd p = {.fd = sig_pipe[0], .events = POLLIN};
    /* Outside a task cd_block_begin only records why main is waiting, so
     * scheddetail shows it like a goroutine parked on a channel. */
    cd_block_begin("chan receive");
    int r;
    do {
        r = poll(&p, 1, timeout_ms);
    } while (r < 0 && errno == EINTR);
    if (r > 0) {
        do {
            n = read(sig_pipe[0], &b, 1);
        } while (n < 0 && errno == EINTR);
    }
    cd_block_end();
    if (r == 0)
        return 0;
    return n == 1 ? b : -1;
}

/* --duration=N: N whole seconds, 1..86400, into *seconds; false otherwise. */
static bool parse_duration(const char *arg, int *seconds)
{
    static const char flag[] = "--duration=";
    if (strncmp(arg, flag, sizeof flag - 1) != 0)
        return false;
    const char *v = arg + sizeof flag - 1;
    char *end;
    errno = 0;
    long n = strtol(v, &end, 10);
    if (end == v || *end != '\0' || errno != 0 || n < 1 || n > 86400 || *v < '0' || *v > '9')
        return false;
    *seconds = (int)n;
    return true;
}

int main(int argc, char **argv)
{
    int duration = -1; /* seconds; -1: until a signal */
    if (argc > 2 || (argc == 2 && !parse_duration(argv[1], &duration))) {
        int help = strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0;
        fprintf(help ? stdout : stderr,
                "usage: %s [--duration=SECONDS]\n"
                "Fills a map forever in a task; Ctrl-C prints its size and exits.\n"
                "  --duration  stop by itself after SECONDS (1..86400), as Ctrl-C would\n"
                "Try: CDEBUG=gctrace=1 %s > /dev/null\n",
                argv[0], argv[0]);
        return help ? 0 : 2;
    }

    int rc = cd_init(); /* already done by the library constructor; 0 again */
    if (rc != 0) {
        fprintf(stderr, "leak: cd_init: %s\n", cd_strerror(rc));
        return 1;
    }
    if ((rc = install_signals()) != 0) {
        fprintf(stderr, "leak: installing signal handlers: %s\n", strerror(-rc));
        return 1;
    }

    cd_wg_init(&task_done);
    cd_wg_add(&task_done, 1);
    if ((rc = cd_go_named("leak", leak_task, NULL)) != 0) {
        fprintf(stderr, "leak: cd_go_named: %s\n", cd_strerror(rc));
        return 1;
    }
    if (duration > 0)
        fprintf(stderr, "leak: filling a map in a task for %d s; press Ctrl-C to stop sooner\n",
                duration);
    else
        fprintf(stderr, "leak: filling a map in a task; press Ctrl-C to stop\n");

    int sig = wait_signal(duration > 0 ? duration * 1000 : -1);
    atomic_store(&stop_requested, true);
    cd_wg_wait(&task_done);

    if ((rc = atomic_load(&task_error)) != 0) {
        fprintf(stderr, "leak: map insert failed: %s\n", cd_strerror(rc));
        return 1;
    }
    if (sig == 0)
        printf("leak: stopped after %d s, map has %zu entries\n", duration,
               atomic_load(&final_count));
    else
        printf("leak: stopped by %s, map has %zu entries\n", sig > 0 ? strsignal(sig) : "EOF",
               atomic_load(&final_count));
    fflush(stdout);
    /* Flushes the gctrace lines still queued, then stops the workers (the
     * task has finished, so this returns at once). */
    cd_shutdown();
    return 0;
}

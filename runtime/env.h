/* runtime/env.h - the CDEBUG, CDMAXPROCS, CDGC and CDTRACEBACK environment
 * variables.
 *
 * CDEBUG follows GODEBUG's grammar: comma-separated name=value pairs,
 * case-sensitive, the last occurrence of a name wins, empty items are skipped.
 * Unlike Go, every unknown name, malformed item or bad value produces one
 * warning line and is ignored (the setting keeps its default). Integers are
 * parsed strictly: decimal digits only, no sign, no spaces, no overflow.
 *
 * The parsers are pure functions over a cd__config so tests can drive them
 * with any string; cd__env_load() applies them to the real environment and
 * prints the warnings on stderr (one write(2) per line).
 */
#ifndef CDEBUG_RUNTIME_ENV_H
#define CDEBUG_RUNTIME_ENV_H

#include <stdbool.h>
#include <stdint.h>

/* Upper bounds, documented in docs/cdebug.md. */
#define CD__MAXPROCS_MAX       1024    /* Go capped GOMAXPROCS at 1024 until 1.9 */
#define CD__SCHEDTRACE_MAX_MS  3600000 /* one hour */
#define CD__HTTP_ADDR_MAX      128     /* bytes of a CDEBUG http address, with NUL */
#define CD__PATH_MAX           1024    /* bytes of a CDEBUG file name, with NUL */
#define CD__FLIGHT_MAX_S       3600    /* longest flight-recorder window */
#define CD__MEMPROFILERATE     524288  /* Go's default runtime.MemProfileRate, 512 KiB */
#define CD__CPUPROFILERATE     100     /* Go's runtime/pprof rate, samples per CPU-second */
#define CD__CPUPROFILERATE_MAX 1000    /* = CD__CPUPROF_MAX_HZ (prof/cpuprof.h) */

typedef struct cd__config {
    int gctrace;       /* CDEBUG gctrace: 0 off, 1 one line per collection; 2 (Go's
                        * repeat mode) is accepted and means 1: test != 0 */
    int schedtrace_ms; /* CDEBUG schedtrace: period in ms, 0 = off */
    int scheddetail;   /* CDEBUG scheddetail: 0/1, detail lines with schedtrace */
    int maxprocs;      /* CDMAXPROCS, default: online CPUs (at least 1) */
    int gc_percent;    /* CDGC: GOGC analogue, default 100, -1 = off */
    /* CDEBUG http: debug server address "host:port" ("" = no server). The
     * parser checks the syntax only; http/ resolves it and refuses a
     * non-loopback address unless httpunsafe is 1. */
    char http_addr[CD__HTTP_ADDR_MAX];
    int httpunsafe;                /* CDEBUG httpunsafe: 0/1 */
    int cmdlineredact;             /* CDEBUG cmdlineredact: a CD_CMDLINE_* mode, default 2 */
    char trace_path[CD__PATH_MAX]; /* CDEBUG trace: trace the whole run into it */
    int flight_s;                  /* CDEBUG flight: flight-recorder window in seconds, 0 = off */
    char cpuprofile_path[CD__PATH_MAX]; /* CDEBUG cpuprofile: CPU profile written at exit */
    int cpuprofilerate;                 /* CDEBUG cpuprofilerate: its samples per CPU-second */
    int memprofilerate;                 /* CDEBUG memprofilerate: bytes per heap sample, 0 = off */
    char memprofile_path[CD__PATH_MAX]; /* CDEBUG memprofile: allocs profile written at exit */
    int blockprofilerate;     /* CDEBUG blockprofilerate: Go's SetBlockProfileRate, 0 = off */
    int mutexprofilefraction; /* CDEBUG mutexprofilefraction: Go's SetMutexProfileFraction */
    int sigquit;                        /* CDEBUG sigquit: 0/1 (default 1), SIGQUIT dumps tasks
                                         * and exits 2 */
    int traceback;                      /* CDTRACEBACK: a CD__TB_* level, default single */
    int child; /* 1: CDEBUG was inherited from the process that started with it
                * (runtime/lineage.h): http= and the file names follow the rule */
} cd__config;

/* CDTRACEBACK levels, GOTRACEBACK's (prof/crash.h says what each prints). */
enum { CD__TB_NONE, CD__TB_SINGLE, CD__TB_ALL, CD__TB_SYSTEM, CD__TB_CRASH };

/* Receives one warning line (no trailing newline). */
typedef void (*cd__warn_fn)(const char *line, void *ctx);

/* Whether an http address that passed the CDEBUG syntax check ("host:port"
 * or "[v6]:port") names port 0: the port follows the last colon. Pure. */
bool cd__env_http_port_zero(const char *addr);

/* Sets every field to its default (maxprocs from sysconf). Thread-safe. */
void cd__config_defaults(cd__config *c);

/* Applies a CDEBUG string to c. Calls warn once per rejected item with a line
 * such as `cdebug: CDEBUG: unknown setting "gctrce" ignored`. s may be NULL
 * (no-op). Returns the number of warnings. Pure: no I/O, no allocation. */
int cd__env_parse_cdebug(cd__config *c, const char *s, cd__warn_fn warn, void *ctx);

/* Applies a CDMAXPROCS value (1..CD__MAXPROCS_MAX). Returns warnings count. */
int cd__env_parse_maxprocs(cd__config *c, const char *s, cd__warn_fn warn, void *ctx);

/* Applies a CDGC value ("off" or 0..INT_MAX percent). Returns warnings count. */
int cd__env_parse_gc(cd__config *c, const char *s, cd__warn_fn warn, void *ctx);

/* Applies a CDTRACEBACK value: none, single, all, system or crash, or
 * Go's numeric synonyms 0 (none), 1 (all) and 2 (system); empty means
 * unset. Returns the number of warnings (a bad value: one, the level in
 * force kept). Pure. */
int cd__env_parse_traceback(cd__config *c, const char *s, cd__warn_fn warn, void *ctx);

/* Strict unsigned decimal parse: [0-9]+ only, value <= max. 0 or -EINVAL
 * (empty, other characters) or -ERANGE (> max). Pure. */
int cd__parse_uint(const char *s, uint64_t max, uint64_t *out);

/* The bdwgc free-space divisor for a CDGC percent (see docs/cdebug.md):
 * bdwgc collects after allocating about 2*live/divisor bytes, Go after
 * live*GOGC/100, so divisor = round(200/percent) clamped to [1, 1000].
 * percent < 0 (off) returns 0 (caller disables collection). Pure. */
unsigned long cd__gc_divisor(int gc_percent);

/* Reads one of cdebug's environment variables: secure_getenv(name), so a
 * secure-execution process (set-user-ID, set-group-ID, file capabilities)
 * reads nothing and takes no setting from whoever started it. Every
 * variable of the kit is read through it. Thread-safe (as getenv: the
 * environment must not change meanwhile); not async-signal-safe; O(environ). */
const char *cd__getenv(const char *name);

/* Reads CDEBUG, CDMAXPROCS, CDGC and CDTRACEBACK from the environment into c, writing
 * warnings to stderr; in a secure-execution process it reads none of them
 * and writes one line naming the cdebug variables that were set. Called
 * once by cd_init. */
void cd__env_load(cd__config *c);

/* The configuration in force, written once by cd_init before any thread of
 * the kit starts, read-only afterwards. */
extern cd__config cd__cfg;

#endif /* CDEBUG_RUNTIME_ENV_H */

/* examples/search.c - the profiling walkthrough's RSS search service, in C.
 *
 * The Go original (the Go tutorial's "Macro Level Optimization" section) is a web
 * service that searches the RSS feeds of CNN, BBC and NYT for a term. Under
 * load, `go tool pprof -alloc_space .../debug/pprof/allocs` shows most
 * bytes allocated by strings.ToLower inside rssSearch: every request
 * lower-cases every item's description. The fix lower-cases once, when the
 * feed is loaded. This program is the same service on cdebug:
 *
 *     ./build/examples/search &                      # http://127.0.0.1:5000/search
 *     CDEBUG=gctrace=1 ./build/examples/search > /dev/null &
 *     wrk -t2 -c16 -d10s 'http://127.0.0.1:5000/search?term=covid-19&cnn=on&bbc=on&nyt=on'
 *     go tool pprof -alloc_space -top http://127.0.0.1:5000/debug/pprof/allocs
 *     go tool pprof -list rss_search http://127.0.0.1:5000/debug/pprof/allocs
 *     go tool pprof -top 'http://127.0.0.1:5000/debug/pprof/profile?seconds=10'
 *     ./build/examples/search --fixed &              # the fix: far fewer bytes, fewer GCs
 *
 * As with Go's `import _ "net/http/pprof"`, the debug routes (/debug/vars,
 * /debug/pprof/...) are served by the service's own server on the same
 * port, through cd_http_handle_body: a POST's body reaches
 * /debug/pprof/symbol, where go tool pprof sends addresses. /debug/vars
 * has the tutorial's `requests` (requests the service answered; the debug
 * routes are not counted) and `goroutines` (tasks alive now, Go's
 * runtime.NumGoroutine()), so
 *
 *     ./build/viewer/cdebug-top -ports=5000 -vars="requests,goroutines,mem:memstats.Alloc"
 *
 * (expvarmon's command line) shows the load as it comes.
 *
 * The feeds are generated in memory at start (deterministically: item i of
 * a feed is a function of i), so the service needs no network. They live
 * on the collected heap, as the Go service's cache does on Go's: gctrace's
 * live heap is the feeds (a few MB), and each search's garbage grows the
 * heap above it until the next collection. Each search
 * runs one task per selected feed, named "search" (pprof label task=search),
 * joined with a waitgroup; results are counted and the first ten titles
 * returned as HTML.
 *
 * libmicrohttpd's pool threads allocate with cd_alloc (the results), so each
 * registers itself with cdebug on its first request and unregisters when it
 * exits (a pthread key destructor).
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include <cdebug/cdebug.h>
#include <cdebug/http_mhd.h>
#include <cdebug/vars_json.h>

#define DEFAULT_ADDR "127.0.0.1:5000"
#define NFEEDS       3

typedef struct item {
    char *title, *link, *description;
    char *lower; /* --fixed: the description lower-cased at load */
} item;

typedef struct feed {
    const char *engine; /* "CNN", "BBC", "NYT" */
    const char *param;  /* its form field: "cnn", ... */
    item *items;
    size_t n;
} feed;

/* A root of the collected heap (bdwgc scans the program's data): the items
 * and their strings are cd_alloc'd. */
static feed feeds[NFEEDS] = {
    {"CNN", "cnn", NULL, 0}, {"BBC", "bbc", NULL, 0}, {"NYT", "nyt", NULL, 0}};
static bool fixed;
static cd_int *requests; /* the tutorial's expvar "requests" */

/* ---- the feeds ------------------------------------------------------------ */

static const char *words[] = {
    "President", "Covid-19",   "vaccine",   "Politics", "election", "Senate",   "economy",
    "markets",   "Hospitals",  "climate",   "storm",    "football", "Minister", "Parliament",
    "Trade",     "technology", "Science",   "health",   "Europe",   "Asia",     "report",
    "Officials", "said",       "on",        "Tuesday",  "the",      "new",      "rules",
    "in",        "a",          "statement", "after",    "weeks",    "of",       "talks",
};

static uint64_t mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    return x ^ (x >> 33);
}

/* Text of `nwords` words chosen from seed, on the collected heap (pointer
 * free: never scanned), like a Go string in the service's cache. */
static char *text(uint64_t seed, int nwords)
{
    size_t cap = (size_t)nwords * 12 + 1, len = 0;
    char *s = cd_alloc_atomic(cap);
    if (s == NULL)
        return NULL;
    for (int i = 0; i < nwords; i++) {
        const char *w = words[mix(seed + (uint64_t)i) % (sizeof words / sizeof words[0])];
        int n = snprintf(s + len, cap - len, "%s%s", i ? " " : "", w);
        if (n < 0 || (size_t)n >= cap - len)
            break;
        len += (size_t)n;
    }
    return s;
}

/* strings.ToLower: a new string on the collected heap for every call. */
static char *to_lower(const char *s)
{
    size_t n = strlen(s);
    char *l = cd_alloc_atomic(n + 1);
    if (l == NULL)
        return NULL;
    for (size_t i = 0; i <= n; i++)
        l[i] = (char)tolower((unsigned char)s[i]);
    return l;
}

static char *copy(const char *s)
{
    size_t n = strlen(s) + 1;
    char *c = cd_alloc_atomic(n);
    return c != NULL ? memcpy(c, s, n) : NULL;
}

static int load_feeds(size_t per_feed)
{
    for (int f = 0; f < NFEEDS; f++) {
        /* cd_alloc: the items point to their strings, so they are scanned. */
        feeds[f].items = cd_alloc(per_feed * sizeof(item));
        if (feeds[f].items == NULL)
            return -ENOMEM;
        for (size_t i = 0; i < per_feed; i++) {
            uint64_t seed = mix(((uint64_t)f << 32) | i);
            item *it = &feeds[f].items[i];
            char link[96];
            snprintf(link, sizeof link, "https://%s.example/news/%zu", feeds[f].param, i);
            it->title = text(seed, 8);
            it->link = copy(link);
            it->description = text(seed ^ 0x5bd1e995, 60 + (int)(seed % 60));
            /* The fix: lower-case once, when the feed is loaded. */
            it->lower = fixed && it->description ? to_lower(it->description) : NULL;
            if (it->title == NULL || it->link == NULL || it->description == NULL ||
                (fixed && it->lower == NULL))
                return -ENOMEM;
            feeds[f].n++;
        }
    }
    return 0;
}

/* ---- the search ----------------------------------------------------------- */

typedef struct result {
    const char *engine, *title, *link;
    struct result *next;
} result;

/* The Go original's rssSearch: every item's description lower-cased for every
 * request (unless --fixed), then searched for the lower-cased term. */
__attribute__((noinline)) static result *rss_search(const feed *f, const char *term, size_t *count)
{
    result *head = NULL;
    char *lterm = to_lower(term);
    if (lterm == NULL)
        return NULL; /* out of memory: no results */
    for (size_t i = 0; i < f->n; i++) {
        const item *it = &f->items[i];
        const char *desc = fixed ? it->lower : to_lower(it->description);
        if (desc != NULL && strstr(desc, lterm) != NULL) {
            result *r = cd_alloc(sizeof *r);
            if (r == NULL)
                break;
            *r = (result){f->engine, it->title, it->link, head};
            head = r;
            (*count)++;
        }
    }
    return head;
}

typedef struct search_job {
    const feed *f;
    const char *term;
    result *results;
    size_t count;
    cd_waitgroup *wg;
} search_job;

static void search_task(void *arg)
{
    search_job *j = arg;
    j->results = rss_search(j->f, j->term, &j->count);
    cd_wg_done(j->wg);
}

/* ---- the service ---------------------------------------------------------- */

static pthread_key_t registered;

static void unregister_thread(void *v)
{
    (void)v;
    cd_thread_unregister();
}

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *type,
                             char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", type);
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result form(struct MHD_Connection *c)
{
    static const char page[] =
        "<html><body><form action=\"/search\" method=\"POST\">"
        "<input name=\"term\"> <label><input type=\"checkbox\" name=\"cnn\" checked>CNN</label>"
        "<label><input type=\"checkbox\" name=\"bbc\" checked>BBC</label>"
        "<label><input type=\"checkbox\" name=\"nyt\" checked>NYT</label>"
        "<input type=\"submit\" value=\"Search\"></form></body></html>\n";
    return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", strdup(page), sizeof page - 1);
}

static enum MHD_Result search(struct MHD_Connection *c)
{
    const char *term = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "term");
    if (term == NULL || *term == '\0')
        return form(c);
    cd_waitgroup wg;
    cd_wg_init(&wg);
    search_job jobs[NFEEDS];
    int n = 0;
    for (int f = 0; f < NFEEDS; f++) {
        const char *on = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, feeds[f].param);
        if (on == NULL || strcmp(on, "on") != 0)
            continue;
        jobs[n] = (search_job){.f = &feeds[f], .term = term, .wg = &wg};
        cd_wg_add(&wg, 1);
        if (cd_go_named("search", search_task, &jobs[n]) != 0) {
            cd_wg_done(&wg);
            continue;
        }
        n++;
    }
    cd_wg_wait(&wg);
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += jobs[i].count;
    char *body = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&body, &len);
    if (out == NULL)
        return MHD_NO;
    fprintf(out, "<html><body><p>%zu results for \"", total);
    for (const char *p = term; *p; p++)
        fprintf(out, isalnum((unsigned char)*p) || *p == '-' || *p == ' ' ? "%c" : "&#%d;",
                isalnum((unsigned char)*p) || *p == '-' || *p == ' ' ? *p : (int)(unsigned char)*p);
    fputs("\"</p><ul>\n", out);
    int shown = 0;
    for (int i = 0; i < n; i++)
        for (result *r = jobs[i].results; r != NULL && shown < 10; r = r->next, shown++)
            fprintf(out, "<li>%s: <a href=\"%s\">%s</a></li>\n", r->engine, r->link, r->title);
    fputs("</ul></body></html>\n", out);
    if (fclose(out) != 0) {
        free(body);
        return MHD_NO;
    }
    return reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", body, len);
}

/* A POST's body for a debug route (/debug/pprof/symbol reads its addresses
 * there): its first CD_HTTP_BODY_MAX bytes, and its whole length. */
typedef struct debug_body {
    char buf[CD_HTTP_BODY_MAX];
    size_t len;
} debug_body;

static char seen; /* *req_cls of a request whose body is not kept */

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **req_cls)
{
    (void)cls, (void)version;
    if (*req_cls == NULL) { /* headers in: answer on a later call (keep-alive) */
        *req_cls = &seen;
        if (strcmp(method, "POST") == 0 && cd_http_is_route(url)) {
            debug_body *b = malloc(sizeof *b);
            if (b == NULL)
                return MHD_NO;
            b->len = 0;
            *req_cls = b;
        }
        return MHD_YES;
    }
    debug_body *b = *req_cls == &seen ? NULL : *req_cls;
    if (*upload_size != 0) { /* a body: the search form's fields come in the query */
        if (b != NULL) {
            if (b->len < sizeof b->buf) {
                size_t room = sizeof b->buf - b->len;
                memcpy(b->buf + b->len, upload, *upload_size < room ? *upload_size : room);
            }
            b->len += *upload_size;
        }
        *upload_size = 0;
        return MHD_YES;
    }
    if (cd_http_is_route(url)) /* /debug/...: Go's import _ "net/http/pprof" */
        return cd_http_handle_body(c, url, method, b != NULL ? b->buf : NULL,
                                   b != NULL ? b->len : 0);
    if (pthread_getspecific(registered) == NULL && cd_thread_register() == 0)
        pthread_setspecific(registered, &seen);
    cd_int_add(requests, 1);
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0 && strcmp(method, "HEAD") != 0)
        return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", strdup("Method Not Allowed\n"),
                     19);
    if (strcmp(url, "/search") == 0)
        return search(c);
    if (strcmp(url, "/") == 0)
        return form(c);
    return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", strdup("404 page not found\n"), 19);
}

/* MHD_RequestCompletedCallback: frees a debug route's body. */
static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls, (void)c, (void)toe;
    if (*req_cls != NULL && *req_cls != &seen)
        free(*req_cls);
    *req_cls = NULL;
}

/* Go's runtime.NumGoroutine() for the tutorial's expvar "goroutines": the
 * tasks alive now (main and the server's threads are not tasks). */
static json_t *goroutines(void *arg)
{
    (void)arg;
    static cd_schedstats s; /* 4 KiB of run queues: not on a server thread's stack */
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&lock);
    cd_read_schedstats(&s);
    uint64_t live = s.tasks_created - s.tasks_done - s.tasks_dropped;
    pthread_mutex_unlock(&lock);
    return json_integer((json_int_t)live);
}

/* ---- main ------------------------------------------------------------------- */

static int usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--addr=HOST:PORT] [--items=N] [--threads=N] [--fixed]\n"
            "The profiling walkthrough's RSS search service (docs/profiling.md).\n"
            "  --addr     where it listens (default " DEFAULT_ADDR "; port 0: any free port)\n"
            "  --items    items per feed (default 1000)\n"
            "  --threads  server threads (default 4)\n"
            "  --fixed    lower-case descriptions once at load (the Go original's fix)\n",
            argv0);
    return 2;
}

static int parse_size(const char *s, size_t *out, size_t max)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*s < '0' || *s > '9' || *end != '\0' || errno != 0 || v == 0 || v > max)
        return -1;
    *out = (size_t)v;
    return 0;
}

int main(int argc, char **argv)
{
    const char *addr = DEFAULT_ADDR;
    size_t items = 1000, threads = 4;
    for (int i = 1; i < argc; i++) {
        if (strncmp(argv[i], "--addr=", 7) == 0)
            addr = argv[i] + 7;
        else if (strncmp(argv[i], "--items=", 8) == 0 &&
                 parse_size(argv[i] + 8, &items, 1000000) == 0)
            ;
        else if (strncmp(argv[i], "--threads=", 10) == 0 &&
                 parse_size(argv[i] + 10, &threads, 64) == 0)
            ;
        else if (strcmp(argv[i], "--fixed") == 0)
            fixed = true;
        else
            return usage(argv[0]);
    }
    char host[256];
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || (size_t)(colon - addr) >= sizeof host)
        return usage(argv[0]);
    memcpy(host, addr, (size_t)(colon - addr));
    host[colon - addr] = '\0';
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV}, *ai;
    if (getaddrinfo(host, colon + 1, &hints, &ai) != 0) {
        fprintf(stderr, "search: bad address %s\n", addr);
        return 2;
    }
    if (load_feeds(items) != 0) {
        fprintf(stderr, "search: out of memory loading the feeds\n");
        return 1;
    }
    pthread_key_create(&registered, unregister_thread);
    requests = cd_int_new("requests");
    int rc = requests != NULL ? cd_func_new("goroutines", goroutines, NULL) : -errno;
    if (rc != 0) {
        fprintf(stderr, "search: publishing requests and goroutines: %s\n", cd_strerror(rc));
        return 1;
    }

    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);

    /* Suspend/resume: the debug routes' streaming responses need it. */
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_SUSPEND_RESUME | (ai->ai_family == AF_INET6 ? MHD_USE_IPv6 : 0);
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)threads, MHD_OPTION_CONNECTION_LIMIT, 1000u,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (d == NULL) {
        fprintf(stderr, "search: cannot listen on %s: %s\n", addr, strerror(errno));
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("search: %zu items per feed%s; open http://%s:%u/search\n", items,
           fixed ? " (fixed: lower-cased at load)" : "", host, info ? info->port : 0);
    fflush(stdout);
    int sig;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    printf("search: stopped by %s\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    return 0;
}

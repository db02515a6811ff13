/* examples/counter.c - a small HTTP service that counts its requests in
 * published variables, with the debug server on another port: the C
 * version of the expvar walkthrough's Go program.
 *
 *     CDEBUG=http=127.0.0.1:6060 ./build/examples/counter &
 *     curl -s localhost:8080/                  # hello from counter: request 1
 *     curl -s localhost:6060/debug/vars | jq '{requests, status, latency_seconds, last_path}'
 *     curl -s localhost:6060/metrics | grep requests
 *     ./build/viewer/cdebug-top -ports=6060 -vars='requests,mem:memstats.Alloc'
 *
 * or, instead of CDEBUG, --debug-addr=127.0.0.1:6060. The service itself
 * is an ordinary libmicrohttpd server (its own daemon and port); every
 * request it completes updates four vars:
 *
 *   requests          cd_int: requests answered
 *   status            cd_map: requests by HTTP status ("200", "404", ...)
 *   latency_seconds   cd_hist: from the request's headers to the end of its
 *                     response, with buckets from 50 us to 1 s
 *   last_path         cd_string: path of the last request
 *
 * Routes: "/" answers with a short text; everything else is 404; methods
 * other than GET and HEAD get 405. Ctrl-C (or SIGTERM) stops both servers
 * and prints how many requests were served.
 *
 * The daemon's threads are libmicrohttpd's, unknown to the collector: the
 * vars they update are malloc'd by cdebug, so that is safe; they must not
 * use cd_alloc'd memory.
 */
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

#include <cdebug/cdebug.h>

#define DEFAULT_ADDR "127.0.0.1:8080"

static cd_int *requests;
static cd_map *status;
static cd_hist *latency;
static cd_string *last_path;

/* Per request, from the first call of the access handler to completion. */
typedef struct request {
    struct timespec start;
    unsigned status;
} request;

static double seconds_since(const struct timespec *t)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t->tv_sec) + (double)(now.tv_nsec - t->tv_nsec) / 1e9;
}

static enum MHD_Result reply(struct MHD_Connection *c, request *rq, unsigned code,
                             const char *body, enum MHD_ResponseMemoryMode mode)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(strlen(body), (void *)body, mode);
    if (r == NULL)
        return MHD_NO;
    enum MHD_Result rc = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                                 "text/plain; charset=utf-8");
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED && rc == MHD_YES)
        rc = MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    if (rc == MHD_YES)
        rc = MHD_queue_response(c, code, r);
    MHD_destroy_response(r);
    if (rc == MHD_YES)
        rq->status = code;
    return rc;
}

/* The service's access handler: answers on the last call (after any
 * body, which is dropped). */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    (void)cls;
    (void)version;
    (void)upload_data;
    request *rq = *req_cls;
    if (rq == NULL) {
        if ((rq = calloc(1, sizeof *rq)) == NULL)
            return MHD_NO;
        clock_gettime(CLOCK_MONOTONIC, &rq->start);
        *req_cls = rq;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    cd_string_set(last_path, url);
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return reply(c, rq, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n",
                     MHD_RESPMEM_PERSISTENT);
    if (strcmp(url, "/") != 0)
        return reply(c, rq, MHD_HTTP_NOT_FOUND, "not found\n", MHD_RESPMEM_PERSISTENT);
    char body[96];
    snprintf(body, sizeof body, "hello from counter: request %" PRId64 "\n",
             cd_int_value(requests) + 1);
    return reply(c, rq, MHD_HTTP_OK, body, MHD_RESPMEM_MUST_COPY);
}

/* MHD_RequestCompletedCallback: the request is over (answered, or the
 * client went away); count it once. */
static void on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)c;
    request *rq = *req_cls;
    if (rq == NULL)
        return;
    *req_cls = NULL;
    if (toe == MHD_REQUEST_TERMINATED_COMPLETED_OK && rq->status != 0) {
        char key[16];
        snprintf(key, sizeof key, "%u", rq->status);
        cd_int_add(requests, 1);
        cd_map_add(status, key, 1);
        cd_hist_observe(latency, seconds_since(&rq->start));
    }
    free(rq);
}

static int usage(FILE *f, const char *argv0, int code)
{
    fprintf(f,
            "usage: %s [--addr=HOST:PORT] [--debug-addr=HOST:PORT]\n"
            "A small HTTP service that counts its requests in cdebug vars.\n"
            "  --addr        where the service listens (default %s; port 0: any free port)\n"
            "  --debug-addr  start the debug server there (loopback only), like\n"
            "                CDEBUG=http=HOST:PORT\n"
            "Try: CDEBUG=http=127.0.0.1:6060 %s & curl localhost:8080/; "
            "curl localhost:6060/debug/vars\n",
            argv0, DEFAULT_ADDR, argv0);
    return code;
}

/* "HOST:PORT" for the service: a numeric or resolvable host, a strict
 * decimal port. Returns 0 and fills *out (a getaddrinfo result to free),
 * or -1 with a message on stderr. */
static int resolve(const char *addr, struct addrinfo **out)
{
    const char *colon = strrchr(addr, ':');
    if (colon == NULL || colon == addr || colon[1] == '\0' ||
        strspn(colon + 1, "0123456789") != strlen(colon + 1) || strlen(colon + 1) > 5 ||
        atoi(colon + 1) > 65535) {
        fprintf(stderr, "counter: bad address \"%s\" (want host:port, e.g. %s)\n", addr,
                DEFAULT_ADDR);
        return -1;
    }
    char host[256];
    size_t hlen = (size_t)(colon - addr);
    if (addr[0] == '[' && hlen >= 2 && addr[hlen - 1] == ']') {
        addr++;
        hlen -= 2;
    }
    if (hlen >= sizeof host) {
        fprintf(stderr, "counter: host too long in \"%s\"\n", addr);
        return -1;
    }
    memcpy(host, addr, hlen);
    host[hlen] = '\0';
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    int rc = getaddrinfo(host, colon + 1, &hints, out);
    if (rc != 0) {
        fprintf(stderr, "counter: cannot resolve \"%s\": %s\n", host, gai_strerror(rc));
        return -1;
    }
    return 0;
}

int main(int argc, char **argv)
{
    const char *addr = DEFAULT_ADDR, *debug_addr = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return usage(stdout, argv[0], 0);
        if (strncmp(a, "--addr=", 7) == 0 && a[7] != '\0')
            addr = a + 7;
        else if (strncmp(a, "--debug-addr=", 13) == 0 && a[13] != '\0')
            debug_addr = a + 13;
        else if (strcmp(a, "--addr") == 0 && i + 1 < argc && argv[i + 1][0] != '\0')
            addr = argv[++i];
        else if (strcmp(a, "--debug-addr") == 0 && i + 1 < argc && argv[i + 1][0] != '\0')
            debug_addr = argv[++i];
        else {
            fprintf(stderr, "counter: bad argument \"%s\"\n", a);
            return usage(stderr, argv[0], 2);
        }
    }

    struct addrinfo *ai;
    if (resolve(addr, &ai) != 0)
        return 2;

    /* Block the stop signals before any thread of ours exists, so that
     * libmicrohttpd's threads inherit the mask and sigwait gets them. */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);

    static const double bounds[] = {50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3,
                                    5e-3,  10e-3,  25e-3,  50e-3,  0.1,  0.25,
                                    0.5,   1};
    requests = cd_int_new("requests");
    status = cd_map_new("status");
    latency = cd_hist_new("latency_seconds", bounds, sizeof bounds / sizeof bounds[0]);
    last_path = cd_string_new("last_path");
    if (requests == NULL || status == NULL || latency == NULL || last_path == NULL) {
        fprintf(stderr, "counter: cannot publish the vars: %s\n", strerror(errno));
        return 1;
    }

    if (debug_addr != NULL) {
        int rc = cd_http_start(debug_addr);
        if (rc != 0) {
            fprintf(stderr, "counter: debug server on %s: %s\n", debug_addr, cd_strerror(rc));
            freeaddrinfo(ai);
            return rc == -EINVAL || rc == -EPERM ? 2 : 1;
        }
    }

    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD;
    if (ai->ai_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    struct MHD_Daemon *d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, NULL, MHD_OPTION_SOCK_ADDR, ai->ai_addr,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)30, MHD_OPTION_END);
    freeaddrinfo(ai);
    if (d == NULL) {
        fprintf(stderr, "counter: cannot listen on %s\n", addr);
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    const char *colon = strrchr(addr, ':');
    printf("counter: serving on http://%.*s:%u/\n", (int)(colon - addr), addr,
           info != NULL ? (unsigned)info->port : 0u);
    if (cd_http_port() > 0)
        printf("counter: debug server on port %d: /debug/vars, /metrics\n", cd_http_port());
    else
        printf("counter: no debug server (use --debug-addr or CDEBUG=http=HOST:PORT)\n");
    fflush(stdout);

    int sig = 0;
    sigwait(&stop, &sig);
    MHD_stop_daemon(d);
    cd_http_stop();
    printf("counter: stopped by %s after %" PRId64 " requests\n",
           sig == SIGINT ? "SIGINT" : "SIGTERM", cd_int_value(requests));
    return 0;
}

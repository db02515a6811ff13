/* tests/integration/prog_http_embed.c - an application with its own
 * libmicrohttpd server that mounts cdebug's debug routes, the C analogue
 * of Go's
 *
 *     mux.Handle("/debug/vars", expvar.Handler())
 *     mux.HandleFunc("/", appHandler)
 *
 * Its daemon listens on 127.0.0.1:0 (with --any: 0.0.0.0:0, every
 * interface; own thread, select/poll chosen by libmicrohttpd), prints
 * "listening on PORT" and serves until SIGTERM.
 * Its own routes: "/" answers "app root\n"; any other path that is not a
 * debug route gets the application's 404 ("app: not found\n"), so the test
 * can tell who answered.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <microhttpd.h>

#include <cdebug/cdebug.h>
#include <cdebug/http_mhd.h>

static enum MHD_Result reply(struct MHD_Connection *c, unsigned status, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain");
    enum MHD_Result rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

/* Answers on the last call for the request (after any body), as most
 * libmicrohttpd applications do; cd_http_handle works there too. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **req_cls)
{
    static char seen;
    (void)cls;
    (void)version;
    (void)upload_data;
    if (*req_cls == NULL) {
        *req_cls = &seen;
        return MHD_YES;
    }
    if (*upload_data_size != 0) {
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (cd_http_is_route(url))
        return cd_http_handle(c, url, method);
    if (strcmp(url, "/") == 0)
        return reply(c, MHD_HTTP_OK, "app root\n");
    return reply(c, MHD_HTTP_NOT_FOUND, "app: not found\n");
}

int main(int argc, char **argv)
{
    bool any = argc == 2 && strcmp(argv[1], "--any") == 0;
    if (argc != 1 && !any) {
        fprintf(stderr, "usage: prog_http_embed [--any]\n");
        return 2;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* the daemon's thread inherits it */

    struct sockaddr_in a = {.sin_family = AF_INET};
    a.sin_addr.s_addr = htonl(any ? INADDR_ANY : INADDR_LOOPBACK);
    struct MHD_Daemon *d =
        MHD_start_daemon(MHD_USE_AUTO_INTERNAL_THREAD, 0, NULL, NULL, on_request, NULL,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&a, MHD_OPTION_END);
    if (d == NULL) {
        fprintf(stderr, "prog_http_embed: MHD_start_daemon failed\n");
        return 1;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    printf("listening on %u\n", info != NULL ? (unsigned)info->port : 0u);
    fflush(stdout);

    int sig;
    sigwait(&set, &sig);
    MHD_stop_daemon(d);
    printf("stopped\n");
    return 0;
}

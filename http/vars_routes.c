/* http/vars_routes.c - the /debug/vars and /metrics handlers.
 *
 * They run on libmicrohttpd's threads, which bdwgc does not know: the
 * renderers only use malloc'd memory and cd_read_memstats (no GC
 * allocation), which is what makes calling them here safe.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cdebug/vars.h"
#include "http/response.h"
#include "http/router.h"
#include "http/vars_routes.h"

/* Queues a rendered document, or 500 when the renderer ran out of memory. */
static enum MHD_Result reply_rendered(const cd__http_req *req, char *doc, const char *type)
{
    if (doc == NULL)
        return cd__http_reply_text(req->conn, MHD_HTTP_INTERNAL_SERVER_ERROR,
                                   "Internal Server Error: out of memory\n");
    return cd__http_reply_owned(req->conn, MHD_HTTP_OK, type, doc, strlen(doc));
}

/* GET/HEAD /debug/vars. HEAD renders too, so Content-Length is exact. */
static enum MHD_Result serve_vars(const cd__http_req *req, void *ctx)
{
    (void)ctx;
    return reply_rendered(req, cd_vars_json(), CD__HTTP_JSON_TYPE);
}

/* GET/HEAD /metrics. */
static enum MHD_Result serve_metrics(const cd__http_req *req, void *ctx)
{
    (void)ctx;
    return reply_rendered(req, cd_vars_prometheus(), CD__HTTP_PROM_TYPE);
}

int cd__http_vars_routes_register(void)
{
    int rc = cd__http_route("/debug/vars", false, serve_vars, NULL);
    if (rc == 0 || rc == -EEXIST)
        rc = cd__http_route("/metrics", false, serve_metrics, NULL);
    return rc;
}

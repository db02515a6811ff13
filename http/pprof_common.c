/* http/pprof_common.c - see pprof_common.h. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/pprof_common.h"
#include "http/response.h"

/* cd__pprof_error with one more header (hdr NULL: none). */
static enum MHD_Result verror(const cd__http_req *req, unsigned status, const char *hdr,
                              const char *value, const char *fmt, va_list ap)
{
    char text[256];
    int n = vsnprintf(text, sizeof text, fmt, ap);
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof text)
        n = (int)sizeof text - 1;
    char *body = malloc((size_t)n + 1);
    if (body == NULL)
        return MHD_NO;
    memcpy(body, text, (size_t)n + 1);
    struct MHD_Response *r =
        MHD_create_response_from_buffer((size_t)n, body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", CD__HTTP_TEXT_PLAIN);
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "X-Go-Pprof", "1");
    if (hdr != NULL)
        MHD_add_response_header(r, hdr, value);
    enum MHD_Result rc = MHD_queue_response(req->conn, status, r);
    MHD_destroy_response(r);
    return rc;
}

enum MHD_Result cd__pprof_error(const cd__http_req *req, unsigned status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum MHD_Result rc = verror(req, status, NULL, NULL, fmt, ap);
    va_end(ap);
    return rc;
}

enum MHD_Result cd__pprof_error_hdr(const cd__http_req *req, unsigned status, const char *hdr,
                                    const char *value, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    enum MHD_Result rc = verror(req, status, hdr, value, fmt, ap);
    va_end(ap);
    return rc;
}

enum MHD_Result cd__pprof_reply_typed(const cd__http_req *req, const char *content_type, char *body,
                                      size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(r, "Content-Type", content_type);
    enum MHD_Result rc = MHD_queue_response(req->conn, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return rc;
}

bool cd__pprof_parse_int(const char *s, int64_t *out)
{
    if (s == NULL || *s == '\0')
        return false;
    const char *p = s + (*s == '+' || *s == '-');
    if (*p == '\0')
        return false;
    for (const char *q = p; *q; q++)
        if (*q < '0' || *q > '9')
            return false;
    errno = 0;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return false;
    *out = v;
    return true;
}

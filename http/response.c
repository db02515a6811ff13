/* http/response.c - response helpers shared by every route.
 *
 * Each response is built, queued and released at once: libmicrohttpd keeps
 * its own reference until the connection is done with it, so a client that
 * disconnects half-way through still frees the body exactly once.
 */
#include <stdlib.h>
#include <string.h>

#include "http/response.h"

enum MHD_Result cd__http_reply_owned(struct MHD_Connection *c, unsigned status,
                                     const char *content_type, char *buf, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer_with_free_callback(len, buf, free);
    if (r == NULL) {
        free(buf);
        return MHD_NO;
    }
    enum MHD_Result rc = MHD_YES;
    if (content_type != NULL)
        rc = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    if (rc == MHD_YES)
        rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r); /* frees buf now, or when the connection is done */
    return rc;
}

enum MHD_Result cd__http_reply_text_hdr(struct MHD_Connection *c, unsigned status,
                                        const char *text, const char *name, const char *value)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    enum MHD_Result rc = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                                                 CD__HTTP_TEXT_PLAIN);
    if (rc == MHD_YES)
        rc = MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
    if (rc == MHD_YES && name != NULL)
        rc = MHD_add_response_header(r, name, value);
    if (rc == MHD_YES)
        rc = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return rc;
}

enum MHD_Result cd__http_reply_text(struct MHD_Connection *c, unsigned status, const char *text)
{
    return cd__http_reply_text_hdr(c, status, text, NULL, NULL);
}

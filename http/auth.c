/* http/auth.c - who the debug routes answer: see auth.h.
 *
 * The comparison must not tell an attacker how many leading bytes were
 * right, so it touches every byte of the presented token and folds the
 * differences into one value; its duration depends on the presented
 * length only, never on the secret's content.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/addr.h"
#include "http/auth.h"
#include "http/response.h"
#include "runtime/env.h"

bool cd__http_token_valid(const char *token)
{
    if (token == NULL || token[0] == '\0')
        return false;
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)token; *p != '\0'; p++, n++)
        if (*p < 0x21 || *p > 0x7e || n >= CD__HTTP_TOKEN_MAX)
            return false;
    return true;
}

static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static char env_buf[CD__HTTP_TOKEN_MAX + 2];
static const char *env_token;

/* Copies CDEBUG_HTTP_TOKEN once, into static storage so that no
 * allocation failure can turn a configured token into "no token". One byte
 * more than the limit is kept, so an over-long value stays invalid.
 * cd__getenv (secure_getenv): a set-user-ID program does not take its
 * token from whoever started it. */
static void read_env_token(void)
{
    const char *v = cd__getenv("CDEBUG_HTTP_TOKEN");
    if (v != NULL && v[0] != '\0') {
        strncpy(env_buf, v, sizeof env_buf - 1);
        env_token = env_buf;
    }
}

const char *cd__http_env_token(void)
{
    pthread_once(&env_once, read_env_token);
    return env_token;
}

/* given[0..gn) equals want, in time that depends only on gn. Pure. */
static bool token_equal(const char *given, size_t gn, const char *want)
{
    size_t wn = strlen(want);
    if (wn == 0)
        return false;
    unsigned diff = gn != wn;
    for (size_t i = 0; i < gn; i++)
        diff |= (unsigned char)given[i] ^ (unsigned char)want[i % wn];
    return diff == 0;
}

/* True when the Authorization header of c carries token. A token that is
 * not cd__http_token_valid never matches (fail closed). */
static bool auth_ok(struct MHD_Connection *c, const char *token)
{
    if (!cd__http_token_valid(token))
        return false;
    const char *h = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    if (h == NULL || strncasecmp(h, "Bearer", 6) != 0 || (h[6] != ' ' && h[6] != '\t'))
        return false;
    h += 6;
    while (*h == ' ' || *h == '\t')
        h++;
    size_t n = strlen(h);
    while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
        n--;
    return n > 0 && token_equal(h, n, token);
}

/* The 401 with WWW-Authenticate, as Go's http.Error would write it. */
static enum MHD_Result auth_reject(struct MHD_Connection *c)
{
    return cd__http_reply_text_hdr(c, MHD_HTTP_UNAUTHORIZED, "Unauthorized\n",
                                   MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"cdebug\"");
}

bool cd__http_guard(struct MHD_Connection *c, const char *token, enum MHD_Result *res)
{
    if (token != NULL) {
        if (auth_ok(c, token))
            return true;
        *res = auth_reject(c);
        return false;
    }
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci == NULL || !cd__http_addr_is_loopback(ci->client_addr)) {
        *res = cd__http_reply_text(c, MHD_HTTP_FORBIDDEN,
                                   "Forbidden: the debug routes answer loopback clients only "
                                   "unless CDEBUG_HTTP_TOKEN is set\n");
        return false;
    }
    const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    if (host != NULL && !cd__http_host_is_loopback(host)) {
        *res = cd__http_reply_text(c, MHD_HTTP_FORBIDDEN,
                                   "Forbidden: the Host header is not a loopback name; the debug "
                                   "routes answer loopback host names only unless "
                                   "CDEBUG_HTTP_TOKEN is set\n");
        return false;
    }
    return true;
}

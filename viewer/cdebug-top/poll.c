/* poll.c - libcurl multi fetching of expvar documents (see poll.h). */
#include "poll.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "duration.h"

#ifndef TOP_VERSION
#define TOP_VERSION "0"
#endif

#define MAX_EXTRA_FDS 4

/* One service's transfer: the easy handle is reused across rounds so the
 * HTTP connection stays open. */
typedef struct xfer {
    CURL *easy;
    char *body;
    size_t len, cap;
    bool active;
    bool too_big;
    char errbuf[CURL_ERROR_SIZE];
} xfer;

struct top_poll {
    CURLM *multi;
    top_service *svcs;
    size_t n;
    const top_var *vars;
    size_t nvars;
    int64_t timeout_ns;
    size_t active;
    struct curl_slist *headers;
    xfer *x;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *userp)
{
    xfer *x = userp;
    size_t n = size * nmemb;

    if (n > TOP_MAX_BODY - x->len) {
        x->too_big = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (x->len + n + 1 > x->cap) {
        size_t cap = x->cap == 0 ? 16384 : x->cap;
        while (cap < x->len + n + 1)
            cap *= 2;
        char *b = realloc(x->body, cap);
        if (b == NULL)
            return 0;
        x->body = b;
        x->cap = cap;
    }
    memcpy(x->body + x->len, data, n);
    x->len += n;
    return n;
}

int top_poll_new(top_poll **out, top_service *svcs, size_t n, const top_var *vars, size_t nvars,
                 int64_t timeout_ns, char *err, size_t errlen)
{
    top_poll *p = calloc(1, sizeof(*p));
    if (p == NULL)
        goto nomem;
    p->svcs = svcs;
    p->n = n;
    p->vars = vars;
    p->nvars = nvars;
    p->timeout_ns = timeout_ns;
    p->x = calloc(n, sizeof(*p->x));
    p->multi = curl_multi_init();
    if (p->x == NULL || p->multi == NULL)
        goto nomem;

    p->headers = curl_slist_append(NULL, "Accept: application/json");
    if (p->headers == NULL)
        goto nomem;
    const char *token = getenv("CDEBUG_HTTP_TOKEN");
    if (token != NULL && token[0] != '\0') {
        size_t len = strlen(token) + 32;
        char *h = malloc(len);
        if (h == NULL)
            goto nomem;
        snprintf(h, len, "Authorization: Bearer %s", token);
        struct curl_slist *l = curl_slist_append(p->headers, h);
        free(h);
        if (l == NULL)
            goto nomem;
        p->headers = l;
    }
    const char *user = getenv("HTTP_USER"), *pass = getenv("HTTP_PASSWORD");

    long total_ms = (long)(timeout_ns / 1000000);
    long connect_ms = total_ms < 3000 ? total_ms : 3000;
    for (size_t i = 0; i < n; i++) {
        CURL *e = curl_easy_init();
        if (e == NULL)
            goto nomem;
        p->x[i].easy = e;
        curl_easy_setopt(e, CURLOPT_URL, svcs[i].url);
        curl_easy_setopt(e, CURLOPT_PRIVATE, &p->x[i]);
        curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
        curl_easy_setopt(e, CURLOPT_WRITEDATA, &p->x[i]);
        curl_easy_setopt(e, CURLOPT_ERRORBUFFER, p->x[i].errbuf);
        curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L); /* no SIGALRM for DNS timeouts */
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, connect_ms);
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, total_ms);
        curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L); /* as Go's http.Get */
        curl_easy_setopt(e, CURLOPT_MAXREDIRS, 5L);
#if LIBCURL_VERSION_NUM >= 0x075500
        curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#endif
        curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
        curl_easy_setopt(e, CURLOPT_USERAGENT, "cdebug-top/" TOP_VERSION);
        curl_easy_setopt(e, CURLOPT_HTTPHEADER, p->headers);
        if (user != NULL && user[0] != '\0' && pass != NULL && pass[0] != '\0') {
            curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
            curl_easy_setopt(e, CURLOPT_USERNAME, user);
            curl_easy_setopt(e, CURLOPT_PASSWORD, pass);
        }
    }
    *out = p;
    return 0;

nomem:
    snprintf(err, errlen, "cannot initialise libcurl (out of memory)");
    top_poll_free(p);
    return -ENOMEM;
}

void top_poll_free(top_poll *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; p->x != NULL && i < p->n; i++) {
        if (p->x[i].easy != NULL) {
            if (p->x[i].active)
                curl_multi_remove_handle(p->multi, p->x[i].easy);
            curl_easy_cleanup(p->x[i].easy);
        }
        free(p->x[i].body);
    }
    if (p->multi != NULL)
        curl_multi_cleanup(p->multi);
    curl_slist_free_all(p->headers);
    free(p->x);
    free(p);
}

void top_poll_start_round(top_poll *p)
{
    if (p->active > 0)
        return;
    for (size_t i = 0; i < p->n; i++) {
        xfer *x = &p->x[i];
        x->len = 0;
        x->too_big = false;
        x->errbuf[0] = '\0';
        if (curl_multi_add_handle(p->multi, x->easy) == CURLM_OK) {
            x->active = true;
            p->active++;
        } else {
            struct timespec now;
            clock_gettime(CLOCK_REALTIME, &now);
            top_service_fail(&p->svcs[i], &now, "cannot start request to %s", p->svcs[i].url);
        }
    }
}

bool top_poll_busy(const top_poll *p)
{
    return p->active > 0;
}

/* Lower-cases the first letter, the convention of Go error strings, which
 * expvarmon users see ("connection refused"). */
static void lower_first(char *s)
{
    if (s[0] != '\0' && !(s[1] != '\0' && isupper((unsigned char)s[1])))
        s[0] = (char)tolower((unsigned char)s[0]);
}

static void fail_transfer(top_poll *p, size_t i, CURLcode rc, const struct timespec *now)
{
    xfer *x = &p->x[i];
    top_service *s = &p->svcs[i];
    char msg[CURL_ERROR_SIZE + 64];

    switch (rc) {
    case CURLE_COULDNT_CONNECT: {
        long oserr = 0;
        curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &oserr);
        snprintf(msg, sizeof(msg), "%s", oserr != 0 ? strerror((int)oserr) : "cannot connect");
        break;
    }
    case CURLE_OPERATION_TIMEDOUT: {
        char d[TOP_DURATION_BUFSZ];
        snprintf(msg, sizeof(msg), "timeout after %s",
                 top_duration_format(p->timeout_ns, d, sizeof(d)));
        break;
    }
    case CURLE_COULDNT_RESOLVE_HOST:
        snprintf(msg, sizeof(msg), "cannot resolve host of %s", s->url);
        break;
    case CURLE_WRITE_ERROR:
        if (x->too_big) {
            snprintf(msg, sizeof(msg), "response from %s larger than %u MiB", s->url,
                     TOP_MAX_BODY >> 20);
            break;
        }
        /* fall through */
    default:
        snprintf(msg, sizeof(msg), "%s", x->errbuf[0] != '\0' ? x->errbuf : curl_easy_strerror(rc));
        break;
    }
    lower_first(msg);
    top_service_fail(s, now, "%s", msg);
}

static void finish(top_poll *p, CURL *easy, CURLcode rc, top_poll_done_fn done, void *arg)
{
    xfer *x = NULL;
    struct timespec now;

    curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
    size_t i = (size_t)(x - p->x);
    curl_multi_remove_handle(p->multi, easy);
    x->active = false;
    p->active--;

    clock_gettime(CLOCK_REALTIME, &now);
    if (rc == CURLE_OK) {
        long status = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        top_service_apply_body(&p->svcs[i], &now, status, x->body != NULL ? x->body : "", x->len,
                               p->vars, p->nvars);
    } else {
        fail_transfer(p, i, rc, &now);
    }
    /* A 16 MiB answer should not pin 16 MiB until exit. */
    if (x->cap > (1u << 20)) {
        free(x->body);
        x->body = NULL;
        x->cap = 0;
    }
    x->len = 0;
    if (done != NULL)
        done(arg, i);
}

int top_poll_wait(top_poll *p, const int *fds, bool *ready, unsigned nfds, int timeout_ms,
                  top_poll_done_fn done, void *arg)
{
    struct curl_waitfd w[MAX_EXTRA_FDS];
    int running = 0, numfds = 0;

    if (nfds > MAX_EXTRA_FDS)
        nfds = MAX_EXTRA_FDS;
    for (unsigned i = 0; i < nfds; i++)
        w[i] = (struct curl_waitfd){.fd = fds[i], .events = CURL_WAIT_POLLIN};

    /* curl_multi_poll shortens the wait to libcurl's own next timer, so
     * request timeouts fire on time even with a long timeout_ms. */
    if (curl_multi_poll(p->multi, w, nfds, timeout_ms, &numfds) != CURLM_OK)
        return -EIO;
    for (unsigned i = 0; i < nfds; i++)
        ready[i] = (w[i].revents & (CURL_WAIT_POLLIN | CURL_WAIT_POLLPRI)) != 0;

    if (curl_multi_perform(p->multi, &running) != CURLM_OK)
        return -EIO;
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(p->multi, &left)) != NULL) {
        if (m->msg == CURLMSG_DONE)
            finish(p, m->easy_handle, m->data.result, done, arg);
    }
    return 0;
}

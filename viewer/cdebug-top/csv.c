/* csv.c - sample recording (see csv.h). */
#include "csv.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "esc.h"

static void note_error(top_csv *c)
{
    if (c->err == 0)
        c->err = errno != 0 ? -errno : -EIO;
}

int top_csv_attach(top_csv *c, FILE *f)
{
    *c = (top_csv){.f = f};
    errno = 0;
    if (fputs("timestamp,service,var,value\n", f) == EOF)
        note_error(c);
    return c->err;
}

int top_csv_open(top_csv *c, const char *path)
{
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        *c = (top_csv){0};
        return -errno;
    }
    int rc = top_csv_attach(c, f);
    if (rc < 0) {
        fclose(f);
        c->f = NULL;
    }
    return rc;
}

bool top_csv_is_number(const char *s)
{
    const char *p = s + (*s == '+' || *s == '-');
    size_t digits = 0;

    for (; *p >= '0' && *p <= '9'; p++)
        digits++;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            digits++;
    if (digits == 0)
        return false;
    if (*p == 'e' || *p == 'E') {
        p += p[1] == '+' || p[1] == '-' ? 2 : 1;
        if (*p < '0' || *p > '9')
            return false;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    return *p == '\0';
}

bool top_csv_is_formula(const char *s)
{
    const char *p = s + strspn(s, " ");
    return *p != '\0' && strchr("=+-@", *p) != NULL && !top_csv_is_number(s);
}

void top_csv_field(FILE *f, const char *s)
{
    size_t n = strlen(s);
    /* Escaping leaves commas, quotes and spaces where they are and turns CR
     * and LF into text, so the raw string decides the quoting. */
    bool quote = strpbrk(s, ",\"") != NULL || (n > 0 && (s[0] == ' ' || s[n - 1] == ' '));

    if (quote)
        fputc('"', f);
    if (top_csv_is_formula(s))
        fputc('\'', f);
    while (n > 0) {
        char e[TOP_ESC_MAX];
        size_t elen, k = top_esc_char(s, n, e, &elen);
        if (e[0] == '"')
            fputc('"', f);
        fwrite(e, 1, elen, f);
        s += k;
        n -= k;
    }
    if (quote)
        fputc('"', f);
}

char *top_csv_timestamp(const struct timespec *ts, char *buf, size_t len)
{
    struct tm tm;
    char sec[32];
    gmtime_r(&ts->tv_sec, &tm);
    strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf, len, "%s.%03ldZ", sec, ts->tv_nsec / 1000000);
    return buf;
}

void top_csv_row(top_csv *c, const struct timespec *ts, const char *service, const char *var,
                 const char *value)
{
    char t[40];
    if (c->f == NULL || c->err != 0)
        return;
    errno = 0;
    fputs(top_csv_timestamp(ts, t, sizeof(t)), c->f);
    fputc(',', c->f);
    top_csv_field(c->f, service);
    fputc(',', c->f);
    top_csv_field(c->f, var);
    fputc(',', c->f);
    top_csv_field(c->f, value);
    if (fputc('\n', c->f) == EOF || ferror(c->f))
        note_error(c);
    else
        c->rows++;
}

int top_csv_flush(top_csv *c)
{
    errno = 0;
    if (c->f != NULL && c->err == 0 && fflush(c->f) == EOF)
        note_error(c);
    return c->err;
}

int top_csv_close(top_csv *c)
{
    int rc = top_csv_flush(c);
    if (c->f != NULL) {
        errno = 0;
        if (fclose(c->f) == EOF && rc == 0)
            rc = errno != 0 ? -errno : -EIO;
        c->f = NULL;
    }
    return rc;
}

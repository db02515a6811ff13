/* csv.c - sample recording (see csv.h). */
#include "csv.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

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

void top_csv_field(FILE *f, const char *s)
{
    size_t n = strlen(s);
    bool quote = strpbrk(s, ",\"\r\n") != NULL || (n > 0 && (s[0] == ' ' || s[n - 1] == ' '));
    if (!quote) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s != '\0'; s++) {
        if (*s == '"')
            fputc('"', f);
        fputc(*s, f);
    }
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

/* vars_path.c - -vars specs, JSON paths and sampled values (see vars_path.h). */
#include "vars_path.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct kind_prefix {
    const char *prefix;
    top_kind kind;
};

static const struct kind_prefix prefixes[] = {
    {"mem:", TOP_KIND_MEM},
    {"duration:", TOP_KIND_DURATION},
    {"str:", TOP_KIND_STR},
};

void top_var_free(top_var *v)
{
    for (size_t i = 0; i < v->depth; i++)
        free(v->keys[i]);
    free(v->spec);
    *v = (top_var){0};
}

int top_var_parse(const char *s, size_t len, top_var *v, char *err, size_t errlen)
{
    *v = (top_var){0};
    v->spec = strndup(s, len);
    if (v->spec == NULL)
        return -ENOMEM;
    v->label = v->spec;
    for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
        size_t plen = strlen(prefixes[i].prefix);
        if (strncmp(v->spec, prefixes[i].prefix, plen) == 0) {
            v->kind = prefixes[i].kind;
            v->label = v->spec + plen;
            break;
        }
    }

    /* Split on unescaped dots. Each segment is at most as long as the label,
     * so one scratch buffer of that size suffices. */
    size_t llen = strlen(v->label);
    char *seg = malloc(llen + 1);
    if (seg == NULL)
        goto nomem;
    size_t n = 0;
    for (const char *p = v->label;; p++) {
        if (*p == '\\' && (p[1] == '.' || p[1] == ',' || p[1] == '\\')) {
            seg[n++] = *++p;
            continue;
        }
        if (*p != '.' && *p != '\0') {
            seg[n++] = *p;
            continue;
        }
        /* Empty segments ("a..b", a leading dot) are skipped, as in
         * expvarmon. */
        if (n > 0) {
            if (v->depth == TOP_MAX_DEPTH) {
                free(seg);
                snprintf(err, errlen, "var \"%s\": path deeper than %d keys", v->spec,
                         TOP_MAX_DEPTH);
                top_var_free(v);
                return -EINVAL;
            }
            v->keys[v->depth] = strndup(seg, n);
            if (v->keys[v->depth] == NULL) {
                free(seg);
                goto nomem;
            }
            v->depth++;
            n = 0;
        }
        if (*p == '\0')
            break;
    }
    free(seg);
    if (v->depth == 0) {
        snprintf(err, errlen, "var \"%s\": empty name", v->spec);
        top_var_free(v);
        return -EINVAL;
    }
    return 0;

nomem:
    snprintf(err, errlen, "out of memory");
    top_var_free(v);
    return -ENOMEM;
}

void top_vars_free(top_var *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        top_var_free(&v[i]);
    free(v);
}

int top_vars_parse_list(const char *list, top_var **out, size_t *n, char *err, size_t errlen)
{
    top_var *vars = calloc(TOP_MAX_VARS, sizeof(*vars));
    size_t cnt = 0;
    int rc;

    if (vars == NULL)
        return -ENOMEM;
    for (const char *p = list == NULL ? "" : list; *p != '\0';) {
        const char *e = p;
        while (*e != '\0' && *e != ',') {
            if (*e == '\\' && e[1] != '\0')
                e++;
            e++;
        }
        const char *s = p, *t = e;
        while (s < t && (*s == ' ' || *s == '\t'))
            s++;
        while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
            t--;
        if (t > s) {
            if (cnt == TOP_MAX_VARS) {
                snprintf(err, errlen, "too many vars (at most %d)", TOP_MAX_VARS);
                rc = -E2BIG;
                goto fail;
            }
            rc = top_var_parse(s, (size_t)(t - s), &vars[cnt], err, errlen);
            if (rc < 0)
                goto fail;
            cnt++;
        }
        p = *e == ',' ? e + 1 : e;
    }
    if (cnt == 0) {
        snprintf(err, errlen, "no vars specified");
        rc = -EINVAL;
        goto fail;
    }
    *out = vars;
    *n = cnt;
    return 0;

fail:
    top_vars_free(vars, cnt);
    return rc;
}

static bool parse_index(const char *s, size_t *out)
{
    size_t v = 0;
    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (SIZE_MAX - 9) / 10)
            return false;
        v = v * 10 + (size_t)(*s - '0');
    }
    *out = v;
    return true;
}

const json_t *top_var_lookup(const top_var *v, const json_t *doc)
{
    const json_t *j = doc;
    for (size_t i = 0; i < v->depth && j != NULL; i++) {
        size_t idx;
        if (json_is_object(j))
            j = json_object_get(j, v->keys[i]);
        else if (json_is_array(j) && parse_index(v->keys[i], &idx))
            j = json_array_get(j, idx);
        else
            j = NULL;
    }
    return j;
}

/* Copies at most TOP_STR_MAX-1 bytes, cutting before a UTF-8 continuation
 * byte so the UI never prints half a character. */
static void copy_str(char *dst, const char *src)
{
    size_t n = strlen(src);
    if (n >= TOP_STR_MAX) {
        n = TOP_STR_MAX - 1;
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Joins the array's strings (other elements as "?") into out->s. */
static void join_array(const json_t *j, top_value *out)
{
    char buf[TOP_STR_MAX * 2];
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < json_array_size(j) && used < sizeof(buf) - 1; i++) {
        const char *e = json_string_value(json_array_get(j, i));
        int w = snprintf(buf + used, sizeof(buf) - used, "%s%s", i > 0 ? " " : "",
                         e != NULL ? e : "?");
        if (w < 0)
            break;
        used += (size_t)w;
    }
    out->type = TOP_V_STR;
    copy_str(out->s, buf);
}

void top_value_from_json(const json_t *j, top_value *out)
{
    out->type = TOP_V_NA;
    out->i = 0;
    out->r = 0;
    out->s[0] = '\0';

    if (json_is_integer(j)) {
        out->type = TOP_V_INT;
        out->i = json_integer_value(j);
    } else if (json_is_real(j)) {
        out->type = TOP_V_REAL;
        out->r = json_real_value(j);
    } else if (json_is_boolean(j)) {
        out->type = TOP_V_BOOL;
        out->i = json_is_true(j);
    } else if (json_is_string(j)) {
        out->type = TOP_V_STR;
        copy_str(out->s, json_string_value(j));
    } else if (json_is_array(j)) {
        size_t n = json_array_size(j);
        /* An array with text in it (Go's cmdline) reads as its elements
         * joined by spaces. */
        for (size_t i = 0; i < n; i++) {
            if (!json_is_number(json_array_get(j, i))) {
                join_array(j, out);
                return;
            }
        }
        /* Trailing zeros are slots a ring has not filled yet. */
        while (n > 0 && json_number_value(json_array_get(j, n - 1)) == 0)
            n--;
        double sum = 0;
        bool all_int = true;
        for (size_t i = 0; i < n; i++) {
            const json_t *e = json_array_get(j, i);
            sum += json_number_value(e); /* 0 for non-numbers */
            all_int = all_int && !json_is_real(e);
        }
        double mean = n > 0 ? sum / (double)n : 0;
        if (all_int && fabs(mean) < 9.2e18) {
            out->type = TOP_V_INT;
            out->i = (int64_t)mean;
        } else {
            out->type = TOP_V_REAL;
            out->r = mean;
        }
    }
}

double top_value_number(const top_value *v)
{
    switch (v->type) {
    case TOP_V_INT:
    case TOP_V_BOOL:
        return (double)v->i;
    case TOP_V_REAL:
        return v->r;
    default:
        return NAN;
    }
}

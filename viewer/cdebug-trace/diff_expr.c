/* viewer/cdebug-trace/diff_expr.c - the --fail-if expressions of
 * `cdebug-trace diff`: METRIC(SUBJECT) OP THRESHOLD parsed into a cond
 * (diff.h), every malformed part reported with its reason; diff.c
 * evaluates them. docs/cdebug-trace-diff.md is the grammar.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "cdt.h"
#include "diff.h"

/* p past spaces and tabs. */
static const char *skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Parses the unit suffix u (possibly empty) of a threshold for a metric of
 * unit mu into a multiplier. Returns false, with why in err, when it does
 * not fit: durations and sizes need a unit, so that "5" is never silently
 * nanoseconds. */
static bool parse_unit(const char *u, unit mu, double *mult, const char **err)
{
    static const struct {
        const char *s;
        unit u;
        double mult;
    } units[] = {
        {"ns", U_NS, 1},
        {"us", U_NS, 1e3},
        {"\xc2\xb5s", U_NS, 1e3},
        {"ms", U_NS, 1e6},
        {"s", U_NS, 1e9},
        {"B", U_BYTES, 1},
        {"KB", U_BYTES, 1024.0},
        {"KiB", U_BYTES, 1024.0},
        {"MB", U_BYTES, 1024.0 * 1024},
        {"MiB", U_BYTES, 1024.0 * 1024},
        {"GB", U_BYTES, 1024.0 * 1024 * 1024},
        {"GiB", U_BYTES, 1024.0 * 1024 * 1024},
    };
    if (*u == '\0') {
        if (mu == U_NS) {
            *err = "is a duration: give a unit (ns, us, ms, s) or a relative change (+10%)";
            return false;
        }
        if (mu == U_BYTES) {
            *err = "is a size: give a unit (B, KB, MB, GB) or a relative change (+10%)";
            return false;
        }
        *mult = 1;
        return true;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcmp(u, units[i].s) == 0) {
            if (units[i].u != mu) {
                *err = mu == U_NS      ? "is a duration: its unit is ns, us, ms or s"
                       : mu == U_BYTES ? "is a size: its unit is B, KB, MB or GB"
                                       : "has no unit";
                return false;
            }
            *mult = units[i].mult;
            return true;
        }
    *err = "has an unknown unit (ns us ms s, B KB MB GB, or % for a relative change)";
    return false;
}

/* The metric named name[0..len), NULL if none. O(metrics). */
static const metric *find_metric(const char *name, size_t len)
{
    for (size_t i = 0; i < cdt_diff_nmetrics; i++)
        if (strlen(cdt_diff_metrics[i].name) == len &&
            memcmp(cdt_diff_metrics[i].name, name, len) == 0)
            return &cdt_diff_metrics[i];
    return NULL;
}

int cdt_diff_parse_cond(const char *text, cond *c)
{
    memset(c, 0, sizeof(*c));
    c->text = text;
    const char *p = skip_ws(text), *why = NULL;
    const char *open = strchr(p, '(');
    /* The name may hold anything, parentheses included: the subject ends
     * at the last ')', and no threshold has one. */
    const char *close = strrchr(p, ')');
    if (open == NULL || close == NULL || close < open) {
        why = "expected METRIC(SUBJECT) OP THRESHOLD, e.g. 'p99(task:search) > +10%'";
        goto bad;
    }
    const char *mend = open;
    while (mend > p && (mend[-1] == ' ' || mend[-1] == '\t'))
        mend--;
    c->m = find_metric(p, (size_t)(mend - p));
    if (c->m == NULL) {
        cdt_error("diff: --fail-if '%s': unknown metric \"%.*s\" (see cdebug-trace diff --help)",
                  text, (int)(mend - p), p);
        return -1;
    }
    /* SUBJECT */
    const char *s = open + 1;
    const char *colon = memchr(s, ':', (size_t)(close - s));
    size_t klen = (size_t)((colon != NULL ? colon : close) - s);
    int kind = -1;
    for (int k = 0; k < SUBJ_NKINDS; k++)
        if (strlen(cdt_diff_kind_names[k]) == klen && memcmp(cdt_diff_kind_names[k], s, klen) == 0)
            kind = k;
    if (kind < 0) {
        why = "the subject is trace, gc, task:NAME, region:NAME or usertask:NAME";
        goto bad;
    }
    c->kind = (subject_kind)kind;
    bool named = kind == SUBJ_TASK || kind == SUBJ_REGION || kind == SUBJ_USERTASK;
    if (named != (colon != NULL) || (named && colon + 1 == close)) {
        why = named ? "task, region and usertask need a name: task:NAME"
                    : "trace and gc take no name";
        goto bad;
    }
    if (named) {
        size_t n = (size_t)(close - colon - 1);
        c->name = malloc(n + 1);
        if (c->name == NULL) {
            cdt_error("diff: out of memory");
            return -1;
        }
        memcpy(c->name, colon + 1, n);
        c->name[n] = '\0';
    }
    if (!(c->m->kinds & K(kind))) {
        cdt_error("diff: --fail-if '%s': %s does not apply to %s (see cdebug-trace diff --help)",
                  text, c->m->name, cdt_diff_kind_names[kind]);
        return -1;
    }
    /* OP */
    p = skip_ws(close + 1);
    if (p[0] == '>' || p[0] == '<') {
        bool eq = p[1] == '=';
        c->op = p[0] == '>' ? (eq ? OP_GE : OP_GT) : (eq ? OP_LE : OP_LT);
        p = skip_ws(p + (eq ? 2 : 1));
    } else {
        why = "expected an operator (>, <, >= or <=) after the subject";
        goto bad;
    }
    /* THRESHOLD */
    bool sign = *p == '+' || *p == '-';
    const char *digits = sign ? p + 1 : p;
    if (*digits == '.')
        digits++;
    if (!(*digits >= '0' && *digits <= '9')) {
        why = "expected a threshold: +10% (relative change), +5ms (change) or 5ms (value)";
        goto bad;
    }
    char *end;
    errno = 0;
    double t = strtod(p, &end);
    if (errno != 0 || !isfinite(t) || end == p) {
        why = "the threshold is not a number";
        goto bad;
    }
    /* strtod also takes hexadecimal and exponents: only plain decimals. */
    for (const char *q = p; q < end; q++)
        if (!((*q >= '0' && *q <= '9') || *q == '.' || (q == p && sign))) {
            why = "the threshold is not a plain decimal number";
            goto bad;
        }
    char u[16];
    const char *ue = end;
    while (*ue != '\0' && *ue != ' ' && *ue != '\t')
        ue++;
    if ((size_t)(ue - end) >= sizeof(u)) {
        why = "unknown unit";
        goto bad;
    }
    memcpy(u, end, (size_t)(ue - end));
    u[ue - end] = '\0';
    if (*skip_ws(ue) != '\0') {
        why = "unexpected text after the threshold";
        goto bad;
    }
    if (strcmp(u, "%") == 0 && (sign || c->m->unit != U_PCT)) {
        if (!sign) {
            why = "a relative change has a sign: +10% or -10% (an unsigned value is the "
                  "after trace's value, with a unit)";
            goto bad;
        }
        c->tk = T_RELATIVE;
        c->threshold = t;
        return 0;
    }
    double mult = 1;
    const char *uerr = NULL;
    if (strcmp(u, "%") != 0 && !parse_unit(u, c->m->unit, &mult, &uerr)) {
        cdt_error("diff: --fail-if '%s': %s %s", text, c->m->name, uerr);
        return -1;
    }
    c->tk = sign ? T_DELTA : T_ABSOLUTE;
    c->threshold = t * mult;
    return 0;
bad:
    cdt_error("diff: --fail-if '%s': %s", text, why);
    return -1;
}

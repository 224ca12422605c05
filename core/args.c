#include "core/args.h"

#include <ctype.h>
#include <errno.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

int cl_parse_int(const char *opt, const char *text, long min, long max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end) return cl_fail("%s: expected a whole number, got '%s'", opt, cl_quote(text));
    /* a number too large for a long is out of range too, not "not a number" */
    if (errno == ERANGE || v < min || v > max)
        return cl_fail("%s: expected a whole number from %ld to %ld, got '%s'", opt, min, max, cl_quote(text));
    *out = (int)v;
    return 0;
}

int cl_parse_u64(const char *opt, const char *text, unsigned long long *out)
{
    char *end;
    errno = 0;
    /* strtoull skips leading blanks and then accepts a minus sign, wrapping " -1" to 2^64 - 1: only digits */
    if (!isdigit((unsigned char)text[0]))
        return cl_fail("%s: expected a non-negative whole number, got '%s'", opt, cl_quote(text));
    unsigned long long v = strtoull(text, &end, 10);
    if (*end) return cl_fail("%s: expected a non-negative whole number, got '%s'", opt, cl_quote(text));
    if (errno == ERANGE)
        return cl_fail("%s: expected a whole number from 0 to %llu, got '%s'", opt, (unsigned long long)ULLONG_MAX,
                       cl_quote(text));
    *out = v;
    return 0;
}

int cl_parse_float(const char *opt, const char *text, double min, double max, int min_exclusive, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || !isfinite(v) || (errno == ERANGE && fabs(v) > DBL_MIN))
        return cl_fail("%s: expected a finite number, got '%s'", opt, cl_quote(text));
    /* underflow (1e-400) is a number, 0 or nearly: the range check below decides */
    if ((min_exclusive ? v <= min : v < min) || v > max) {
        if (isinf(max))
            return cl_fail("%s: expected a number %s %g, got %g", opt, min_exclusive ? ">" : ">=", min, v);
        return cl_fail("%s: expected a number in %s%g, %g], got %g", opt, min_exclusive ? "(" : "[", min, max, v);
    }
    *out = (float)v;
    return 0;
}

int cl_parse_bool(const char *opt, const char *text, int *out)
{
    if (!text || !strcmp(text, "yes") || !strcmp(text, "true") || !strcmp(text, "1") || !strcmp(text, "on")) *out = 1;
    else if (!strcmp(text, "no") || !strcmp(text, "false") || !strcmp(text, "0") || !strcmp(text, "off")) *out = 0;
    else return cl_fail("%s: expected yes or no, got '%s'", opt, cl_quote(text));
    return 0;
}

int cl_parse_int_list(const char *opt, const char *text, int *out, int cap, int *n)
{
    *n = 0;
    const char *p = text;
    while (isspace((unsigned char)*p)) p++;
    if (strcmp(p, "none") == 0) return 0;
    /* an empty value is refused: an empty --hidden "" (a shell variable that was never set) would otherwise
     * build a linear model without a word; a linear model is asked for by name */
    if (!*p) return cl_fail("%s: expected hidden layer widths such as 400,400, or none for a linear model, got an "
                            "empty value", opt);
    for (;;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v <= 0 || v > 1 << 20)
            return cl_fail("%s: expected a comma list of whole numbers from 1 to %d (e.g. 400,400), got '%s'", opt,
                           1 << 20, cl_quote(text));
        if (*n == cap) return cl_fail("%s: at most %d entries, got '%s'", opt, cap, cl_quote(text));
        out[(*n)++] = (int)v;
        while (isspace((unsigned char)*end)) end++;
        if (*end == ',') {
            p = end + 1;
            continue;
        }
        if (*end)
            return cl_fail("%s: expected a comma list of whole numbers from 1 to %d (e.g. 400,400), got '%s'", opt,
                           1 << 20, cl_quote(text));
        return 0;
    }
}

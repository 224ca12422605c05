#include "core/args.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

int cl_parse_int(const char *opt, const char *text, long min, long max, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end || errno)
        return cl_fail("%s: expected a whole number, got '%.*s'", opt, CL_SHOW, text);
    if (v < min || v > max) return cl_fail("%s: expected a whole number from %ld to %ld, got %ld", opt, min, max, v);
    *out = (int)v;
    return 0;
}

int cl_parse_u64(const char *opt, const char *text, unsigned long long *out)
{
    char *end;
    errno = 0;
    if (text[0] == '-') return cl_fail("%s: expected a non-negative whole number, got '%.*s'", opt, CL_SHOW, text);
    unsigned long long v = strtoull(text, &end, 10);
    if (end == text || *end || errno)
        return cl_fail("%s: expected a non-negative whole number, got '%.*s'", opt, CL_SHOW, text);
    *out = v;
    return 0;
}

int cl_parse_float(const char *opt, const char *text, double min, double max, int min_exclusive, float *out)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || *end || errno || !isfinite(v))
        return cl_fail("%s: expected a finite number, got '%.*s'", opt, CL_SHOW, text);
    if ((min_exclusive ? v <= min : v < min) || v > max) {
        if (isinf(max))
            return cl_fail("%s: expected a number %s %g, got %g", opt, min_exclusive ? ">" : ">=", min, v);
        return cl_fail("%s: expected a number in %s%g, %g], got %g", opt, min_exclusive ? "(" : "[", min, max, v);
    }
    *out = (float)v;
    return 0;
}

int cl_parse_int_list(const char *opt, const char *text, int *out, int cap, int *n)
{
    *n = 0;
    if (!*text || strcmp(text, "none") == 0) return 0;
    const char *p = text;
    for (;;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v <= 0 || v > 1 << 20)
            return cl_fail("%s: expected a comma list of positive whole numbers (e.g. 400,400), got '%.*s'", opt,
                           CL_SHOW, text);
        if (*n == cap) return cl_fail("%s: at most %d entries, got '%.*s'", opt, cap, CL_SHOW, text);
        out[(*n)++] = (int)v;
        if (*end == ',') {
            p = end + 1;
            continue;
        }
        if (*end)
            return cl_fail("%s: expected a comma list of positive whole numbers (e.g. 400,400), got '%.*s'", opt,
                           CL_SHOW, text);
        return 0;
    }
}

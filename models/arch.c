#include "models/arch.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/names.h"
#include "core/quote.h"

static const struct {
    const char *name, *text;
} presets[] = {
    {"mlp", "dense400, dense400"},
    {"zenke-cifar", "conv32k3p1, conv32k3p1, maxpool2, conv64k3p1, conv64k3p1, maxpool2, dense512"},
};
#define NPRESETS (int)(sizeof presets / sizeof presets[0])

static const char *const forms = "conv<C>k<K>[s<S>][p<P>], maxpool<K>[s<S>], avgpool<K>[s<S>], dense<N>, "
                                 "dropout<P> or flatten";

/* A whole number of at most 7 digits at *p (advanced past it); -1 when there is none. */
static long number(const char **p)
{
    const char *s = *p;
    long v = 0;
    int digits = 0;
    while (isdigit((unsigned char)*s) && digits < 8) v = v * 10 + (*s++ - '0'), digits++;
    if (!digits || digits > 7) return -1;
    *p = s;
    return v;
}

/* One item, its text in t (trimmed, NUL-terminated). 0, or -1 (the caller says where). */
static int parse_item(cl_arch_item *it, const char *t, char *why, size_t wn)
{
    memset(it, 0, sizeof *it);
    const char *p;
    long v;
    if (!strcmp(t, "flatten")) {
        it->kind = CL_ARCH_FLATTEN;
        return 0;
    }
    if (!strncmp(t, "dropout", 7)) {
        char *end;
        double x = strtod(t + 7, &end);
        if (end == t + 7 || *end || !(x > 0 && x < 1)) {
            snprintf(why, wn, "dropout<P> with P in (0, 1), e.g. dropout0.5");
            return -1;
        }
        it->kind = CL_ARCH_DROPOUT;
        it->p = (float)x;
        return 0;
    }
    if (!strncmp(t, "dense", 5)) {
        p = t + 5;
        if ((v = number(&p)) < 1 || *p) {
            snprintf(why, wn, "dense<N> with N from 1 to 9999999 units, e.g. dense512");
            return -1;
        }
        it->kind = CL_ARCH_DENSE;
        it->units = (int)v;
        return 0;
    }
    if (!strncmp(t, "conv", 4)) {
        p = t + 4;
        it->kind = CL_ARCH_CONV;
        it->stride = 1;
        if ((v = number(&p)) < 1 || *p != 'k') goto bad_conv;
        it->units = (int)v;
        p++;
        if ((v = number(&p)) < 1) goto bad_conv;
        it->k = (int)v;
        if (*p == 's') {
            p++;
            if ((v = number(&p)) < 1) goto bad_conv;
            it->stride = (int)v;
        }
        if (*p == 'p') {
            p++;
            if ((v = number(&p)) < 0) goto bad_conv;
            it->pad = (int)v;
        }
        if (*p) goto bad_conv;
        if (it->pad >= it->k) {
            snprintf(why, wn, "a padding below the kernel size (%d), e.g. conv32k3p1", it->k);
            return -1;
        }
        return 0;
    bad_conv:
        snprintf(why, wn, "conv<C>k<K>[s<S>][p<P>]: C channels, a K x K kernel, stride S (default 1), padding P "
                          "(default 0), e.g. conv32k3p1");
        return -1;
    }
    int mx = !strncmp(t, "maxpool", 7), av = !strncmp(t, "avgpool", 7);
    if (mx || av) {
        p = t + 7;
        it->kind = mx ? CL_ARCH_MAXPOOL : CL_ARCH_AVGPOOL;
        if ((v = number(&p)) < 1) goto bad_pool;
        it->k = it->stride = (int)v;
        if (*p == 's') {
            p++;
            if ((v = number(&p)) < 1) goto bad_pool;
            it->stride = (int)v;
        }
        if (*p) goto bad_pool;
        return 0;
    bad_pool:
        snprintf(why, wn, "%s<K>[s<S>]: K x K windows, stride S (default K), e.g. %s2", mx ? "maxpool" : "avgpool",
                 mx ? "maxpool" : "avgpool");
        return -1;
    }
    /* a misspelt kind: suggest by the letters before the numbers */
    char word[32];
    size_t n = 0;
    while (t[n] && isalpha((unsigned char)t[n]) && n + 1 < sizeof word) n++;
    memcpy(word, t, n);
    word[n] = 0;
    static const char *const kinds[] = {"conv", "maxpool", "avgpool", "dense", "dropout", "flatten", NULL};
    const char *near = n ? cl_closest_name(word, kinds) : NULL;
    if (near) snprintf(why, wn, "%s (did you mean %s?)", forms, near);
    else snprintf(why, wn, "%s", forms);
    return -1;
}

int cl_arch_parse(cl_arch *a, const char *text, const char *what)
{
    memset(a, 0, sizeof *a);
    char q[200];
    for (int i = 0; i < NPRESETS; i++)
        if (!strcmp(text, presets[i].name)) return cl_arch_parse(a, presets[i].text, what);
    size_t len = strlen(text);
    if (len > 4096) return cl_fail("%s: %zu characters: longer than any architecture", what, len);
    char *copy = cl_strdup(text);
    int pos = 0, rc = 0, items = 1;
    for (char *s = copy; *s; s++) items += *s == ',';
    if (items > CL_ARCH_MAX) {
        free(copy);
        return cl_fail("%s: %d items: at most %d", what, items, CL_ARCH_MAX);
    }
    /* split at every comma by hand: strtok would skip an empty item and misnumber the ones after it */
    for (char *tok = copy, *next; tok && !rc; tok = next) {
        next = strchr(tok, ',');
        if (next) *next++ = 0;
        while (isspace((unsigned char)*tok)) tok++;
        char *e = tok + strlen(tok);
        while (e > tok && isspace((unsigned char)e[-1])) *--e = 0;
        pos++;
        char why[300];
        if (!*tok) {
            if (items == 1) rc = cl_fail("%s: empty: expected items such as %s, or a preset (mlp, zenke-cifar)", what, forms);
            else rc = cl_fail("%s: item %d is empty (two commas, or a comma at either end)", what, pos);
        } else if (parse_item(&a->item[a->n], tok, why, sizeof why)) {
            /* a single unknown word may be a misspelt preset */
            const char *names[NPRESETS + 1];
            for (int i = 0; i < NPRESETS; i++) names[i] = presets[i].name;
            names[NPRESETS] = NULL;
            const char *near = items == 1 ? cl_closest_name(tok, names) : NULL;
            if (near)
                rc = cl_fail("%s: '%s' is not a preset or an item; did you mean the preset %s?", what,
                             cl_quote_n(q, sizeof q, tok, 40), near);
            else rc = cl_fail("%s: item %d '%s': expected %s", what, pos, cl_quote_n(q, sizeof q, tok, 40), why);
        } else a->n++;
    }
    free(copy);
    return rc;
}

void cl_arch_from_hidden(cl_arch *a, const int *hidden, int nhidden)
{
    memset(a, 0, sizeof *a);
    for (int i = 0; i < nhidden && i < CL_ARCH_MAX; i++)
        a->item[a->n++] = (cl_arch_item){.kind = CL_ARCH_DENSE, .units = hidden[i]};
}

void cl_arch_describe(const cl_arch *a, char *out, size_t n)
{
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < a->n && len < n; i++) {
        const cl_arch_item *it = &a->item[i];
        char t[64];
        switch (it->kind) {
        case CL_ARCH_CONV:
            snprintf(t, sizeof t, "conv%dk%d", it->units, it->k);
            if (it->stride != 1) snprintf(t + strlen(t), sizeof t - strlen(t), "s%d", it->stride);
            if (it->pad) snprintf(t + strlen(t), sizeof t - strlen(t), "p%d", it->pad);
            break;
        case CL_ARCH_MAXPOOL:
        case CL_ARCH_AVGPOOL:
            snprintf(t, sizeof t, "%s%d", it->kind == CL_ARCH_MAXPOOL ? "maxpool" : "avgpool", it->k);
            if (it->stride != it->k) snprintf(t + strlen(t), sizeof t - strlen(t), "s%d", it->stride);
            break;
        case CL_ARCH_DENSE: snprintf(t, sizeof t, "dense%d", it->units); break;
        case CL_ARCH_DROPOUT: snprintf(t, sizeof t, "dropout%g", (double)it->p); break;
        case CL_ARCH_FLATTEN: snprintf(t, sizeof t, "flatten"); break;
        }
        len += (size_t)snprintf(out + len, n - len, "%s%s", i ? ", " : "", t);
    }
}

int cl_arch_shapes(const cl_arch *a, int c, int h, int w, cl_arch_shape *shape, size_t *nparams, const char *what)
{
    size_t params = 0;
    int flat = 0, dropped = 0; /* dropped: the item whose dropout acts on the current output (1-based) */
    char t[64];
    for (int i = 0; i < a->n; i++) {
        const cl_arch_item *it = &a->item[i];
        cl_arch one = {.n = 1, .item = {*it}};
        cl_arch_describe(&one, t, sizeof t);
        switch (it->kind) {
        case CL_ARCH_CONV:
        case CL_ARCH_MAXPOOL:
        case CL_ARCH_AVGPOOL: {
            if (flat)
                return cl_fail("%s: item %d '%s' after a dense layer or flatten: its input is no longer an image", what,
                               i + 1, t);
            int pad = it->kind == CL_ARCH_CONV ? it->pad : 0;
            if (h + 2 * pad < it->k || w + 2 * pad < it->k)
                return cl_fail("%s: item %d '%s': a %dx%d window on a %dx%d input%s", what, i + 1, t, it->k, it->k,
                               h + 2 * pad, w + 2 * pad, pad ? " (padded)" : "");
            int ho = (h + 2 * pad - it->k) / it->stride + 1, wo = (w + 2 * pad - it->k) / it->stride + 1;
            if (it->kind == CL_ARCH_CONV) {
                params += (size_t)it->units * c * it->k * it->k + (size_t)it->units;
                c = it->units;
            }
            h = ho, w = wo;
            dropped = 0;
            break;
        }
        case CL_ARCH_DENSE: {
            size_t in = (size_t)c * h * w;
            params += (size_t)it->units * in + (size_t)it->units;
            c = it->units, h = w = 1, flat = 1, dropped = 0;
            break;
        }
        case CL_ARCH_FLATTEN: c = c * h * w, h = w = 1, flat = 1; break;
        case CL_ARCH_DROPOUT:
            /* Two dropouts in a row would be one dropout of 1 - (1-p)(1-q), written twice: refused, so an
             * architecture has one reading. */
            if (dropped)
                return cl_fail("%s: item %d '%s': a second dropout on the output item %d already drops; use one "
                               "dropout<P>", what, i + 1, t, dropped);
            dropped = i + 1;
            break;
        }
        if ((size_t)c * h * w > CL_ARCH_MAX_FEATURES)
            return cl_fail("%s: item %d '%s' gives %zu features per sample: at most %d", what, i + 1, t,
                           (size_t)c * h * w, CL_ARCH_MAX_FEATURES);
        if (shape) shape[i] = (cl_arch_shape){c, h, w};
    }
    if (nparams) *nparams = params;
    return 0;
}

void cl_arch_costs(const cl_arch *a, int c, int h, int w, uint64_t *macs, uint64_t *weights, int *features)
{
    uint64_t m = 0, wt = 0;
    for (int i = 0; i < a->n; i++) {
        const cl_arch_item *it = &a->item[i];
        switch (it->kind) {
        case CL_ARCH_CONV:
        case CL_ARCH_MAXPOOL:
        case CL_ARCH_AVGPOOL: {
            int pad = it->kind == CL_ARCH_CONV ? it->pad : 0;
            int ho = (h + 2 * pad - it->k) / it->stride + 1, wo = (w + 2 * pad - it->k) / it->stride + 1;
            if (ho < 1 || wo < 1) break; /* cl_arch_shapes refuses it */
            uint64_t window = (uint64_t)it->k * it->k;
            if (it->kind == CL_ARCH_CONV) {
                m += (uint64_t)it->units * ho * wo * c * window;
                wt += (uint64_t)it->units * c * window;
                c = it->units;
            } else {
                m += (uint64_t)c * ho * wo * window; /* a compare or an add per window element */
            }
            h = ho, w = wo;
            break;
        }
        case CL_ARCH_DENSE: {
            uint64_t in = (uint64_t)c * h * w;
            m += in * (uint64_t)it->units;
            wt += in * (uint64_t)it->units;
            c = it->units, h = w = 1;
            break;
        }
        case CL_ARCH_FLATTEN: c = c * h * w, h = w = 1; break;
        case CL_ARCH_DROPOUT: break;
        }
    }
    *macs = m;
    *weights = wt;
    *features = c * h * w;
}

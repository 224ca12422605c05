#include "experiments/grid.h"
#include "experiments/train.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>
#include <zlib.h>

#include "core/args.h"
#include "core/error.h"
#include "core/names.h"
#include "core/rng.h"

/* ---- small string helpers ------------------------------------------------------------------------------ */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s)) s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1])) *--e = 0;
    return s;
}

/* Split "a, b ,c" into trimmed items; an empty item, or one longer than any valid value, is an error. */
static int split_list(const char *text, char ***items, int *n)
{
    if (!*text) return cl_fail("expected a value");
    char *copy = cl_strdup(text);
    int cap = 4, k = 0;
    char **out = cl_malloc(cap * sizeof *out);
    int rc = 0;
    /* strtok_r would merge empty fields; walk the commas by hand to catch "1,,2" */
    char *p = copy;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = 0;
        char *item = trim(p);
        if (!*item) {
            rc = cl_fail("empty item in the list '%s'", cl_quote(text));
            break;
        }
        /* No valid value (a number, a choice's name) comes near this; a longer one would only be cut in the
         * messages and buffers downstream. */
        if (strlen(item) > CL_GRID_MAX_VALUE) {
            rc = cl_fail("value '%s' is longer than %d characters", cl_quote(item), CL_GRID_MAX_VALUE);
            break;
        }
        if (k == cap) out = cl_realloc(out, (cap *= 2) * sizeof *out);
        out[k++] = cl_strdup(item);
        if (!comma) break;
        p = comma + 1;
    }
    free(copy);
    if (rc) {
        for (int i = 0; i < k; i++) free(out[i]);
        free(out);
        return -1;
    }
    *items = out;
    *n = k;
    return 0;
}

static void free_list(char **items, int n)
{
    for (int i = 0; i < n; i++) free(items[i]);
    free(items);
}

/* A name that becomes a file or directory name: letters, digits, '.', '_' and '-', starting with a letter
 * or digit (so never "..", a hidden file or an option), at most max characters. */
static int plain_name(const char *s, size_t max)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || !isalnum((unsigned char)s[0])) return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-') return 0;
    return 1;
}

/* ---- distinct values ----------------------------------------------------------------------------------- */

/* Two values of a list are the same when the method would see the same thing, or the results could not
 * tell them apart: numbers by value ("1", "1.0" and "1e0" are one value; floats as the float the method
 * reads; lambda as the 6 significant digits runs.csv carries it with, which is what groups the summaries),
 * anything else by its text. Listing a value twice would run its cells twice and count them twice. */
typedef struct canon {
    char key[48];
    int index;
} canon;

static void canonical(const char *key, const char *v, char *out, size_t n)
{
    char *end;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end) {
        snprintf(out, n, "s:%s", v);
        return;
    }
    errno = 0;
    long l = strtol(v, &end, 10);
    if (strcmp(key, "lambda") && !*end && !errno && (l >= (1L << 24) || l <= -(1L << 24)))
        snprintf(out, n, "i:%ld", l); /* an integer past float precision: only an int parameter takes it */
    else
        snprintf(out, n, "n:%.*g", strcmp(key, "lambda") ? 9 : 6, (double)(float)d);
    if (!strcmp(out, "n:-0")) snprintf(out, n, "n:0");
}

static int cmp_canon(const void *a, const void *b)
{
    const canon *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : x->index - y->index;
}

static int check_distinct(const char *key, char **items, int n)
{
    if (n < 2) return 0;
    canon *c = cl_malloc(sizeof *c * n);
    for (int i = 0; i < n; i++) {
        canonical(key, items[i], c[i].key, sizeof c[i].key);
        c[i].index = i;
    }
    qsort(c, n, sizeof *c, cmp_canon);
    int rc = 0;
    for (int i = 1; i < n && !rc; i++)
        if (!strcmp(c[i].key, c[i - 1].key)) {
            const char *a = items[c[i - 1].index], *b = items[c[i].index];
            if (!strcmp(a, b))
                rc = cl_fail("%s: '%s' is listed twice (items %d and %d); each value makes its own cells, so a "
                             "repeat would run and count them twice", key, cl_quote(a), c[i - 1].index + 1,
                             c[i].index + 1);
            else
                rc = cl_fail("%s: '%s' and '%s' are the same value (items %d and %d); each value makes its own "
                             "cells, so a repeat would run and count them twice", key, cl_quote(a), cl_quote(b),
                             c[i - 1].index + 1, c[i].index + 1);
        }
    free(c);
    return rc;
}

/* ---- the [experiment] keys ------------------------------------------------------------------------------ */

/* The keys only a grid has; the others are the settings table's (settings.h). */
static const char *const grid_keys[] = {"name", "seeds", "orders", "importance_samples", "eval", "curve_steps",
                                        "save_state", "blas_threads", NULL};
#define MAX_EXPERIMENT_KEYS 64

/* Explicit orders are lists of task numbers ("1 2 3 | 3 2 1"); a single number is a count of orders. */
static int orders_explicit(const char *v) { return strpbrk(v, " \t,|") != NULL; }

static int set_experiment(cl_grid *g, const char *key, const char *v)
{
    if (!strcmp(key, "name")) {
        if (!plain_name(v, CL_GRID_MAX_NAME))
            return cl_fail("name: expected a plain file name (letters, digits, '.', '_' and '-', starting with a "
                           "letter or digit, at most %d characters): it names the directory under results/, got "
                           "'%s'", CL_GRID_MAX_NAME, cl_quote(v));
        free(g->name);
        g->name = cl_strdup(v);
        g->named = 1;
        return 0;
    }
    const cl_setting *e = cl_setting_find(key, 0);
    if (e) return cl_settings_set(&g->set, e, v, key);
    if (!strcmp(key, "importance_samples")) return cl_parse_int("importance_samples", v, 0, 1 << 30, &g->importance_samples);
    if (!strcmp(key, "curve_steps")) return cl_parse_int("curve_steps", v, 0, 1 << 30, &g->curve_steps);
    if (!strcmp(key, "save_state")) {
        if (!strcmp(v, "first")) return g->save_state = 2, 0; /* after the first task only */
        if (cl_parse_bool(key, v, &g->save_state))
            return cl_fail("save_state: expected yes, no or first, got '%s'", cl_quote(v));
        return 0;
    }
    if (!strcmp(key, "blas_threads")) {
        if (!strcmp(v, "auto")) return g->blas_threads = 0, 0;
        return cl_parse_int("blas_threads", v, 1, 256, &g->blas_threads) ? cl_fail_prefix("(or auto)") : 0;
    }
    if (!strcmp(key, "eval")) {
        if (!strcmp(v, "task")) g->eval_epochs = 0;
        else if (!strcmp(v, "epoch")) g->eval_epochs = 1;
        else
            return cl_fail("eval: expected task (after each task) or epoch (also after each epoch), got '%s'",
                           cl_quote(v));
        return 0;
    }
    if (!strcmp(key, "seeds")) {
        char **items;
        int n;
        if (split_list(v, &items, &n)) return cl_fail_prefix("seeds");
        free(g->seeds);
        g->seeds = NULL;
        g->nseeds = 0;
        int count;
        if (n == 1) {
            if (cl_parse_int("seeds", items[0], 1, 100000, &count)) {
                free_list(items, n);
                return cl_fail("seeds: expected a count from 1 to 100000 (e.g. 3 for seeds 1..3) or a list of two "
                               "or more seeds, got '%s'", cl_quote(v));
            }
            /* a single number is a count: seeds 1..count */
            g->nseeds = count;
            g->seeds = cl_malloc(sizeof(uint64_t) * count);
            for (int i = 0; i < count; i++) g->seeds[i] = (uint64_t)i + 1;
            free_list(items, n);
            return 0;
        }
        g->seeds = cl_malloc(sizeof(uint64_t) * n);
        for (int i = 0; i < n; i++, g->nseeds++) {
            unsigned long long s;
            if (cl_parse_u64("seeds", items[i], &s)) {
                free_list(items, n);
                return -1;
            }
            for (int j = 0; j < i; j++)
                if (g->seeds[j] == s) {
                    free_list(items, n);
                    return cl_fail("seeds: %llu is listed twice (items %d and %d); each seed makes its own cells, "
                                   "so a repeat would run and count them twice", s, j + 1, i + 1);
                }
            g->seeds[i] = s;
        }
        free_list(items, n);
        return 0;
    }
    if (!strcmp(key, "orders")) {
        free(g->orders_text);
        g->orders_text = NULL;
        if (orders_explicit(v)) {
            /* explicit lists: checked once the number of tasks is known; counted now for the cell count */
            g->orders_text = cl_strdup(v);
            g->norders_explicit = 1;
            for (const char *c = v; *c; c++) g->norders_explicit += *c == '|';
            return 0;
        }
        return cl_parse_int("orders", v, 1, 100000, &g->norders_random);
    }
    return -2; /* not an experiment key */
}

/* ---- reading the file ------------------------------------------------------------------------------------ */

/* The file's bytes, read once: a pipe (clreg run <(...)) can be read only once, and everything after (the
 * checks, the parser, the copy in the results directory) works on these bytes. */
static int read_file(cl_grid *g, const char *path, size_t *len)
{
    const char *shown = g->shown;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cl_fail("%s: cannot open: %s", shown, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return cl_fail("%s: cannot read: %s", shown, strerror(e));
    }
    if (S_ISDIR(st.st_mode)) {
        close(fd);
        return cl_fail("%s: is a directory, expected a grid file (e.g. experiments/quick.ini)", shown);
    }
    g->regular = S_ISREG(st.st_mode);
    if (g->regular && st.st_size > CL_GRID_MAX_BYTES) {
        close(fd);
        return cl_fail("%s: %lld bytes, more than a grid file holds (at most %d); is it a grid?", shown,
                       (long long)st.st_size, CL_GRID_MAX_BYTES);
    }
    size_t cap = 4096, n = 0;
    char *t = cl_malloc(cap);
    for (;;) {
        if (n + 1 == cap) t = cl_realloc(t, cap *= 2);
        ssize_t r = read(fd, t + n, cap - n - 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) {
            int e = errno;
            free(t);
            close(fd);
            return cl_fail("%s: cannot read: %s", shown, strerror(e));
        }
        if (r == 0) break;
        n += (size_t)r;
        if (n > CL_GRID_MAX_BYTES) { /* /dev/zero and the like: stop instead of reading forever */
            free(t);
            close(fd);
            return cl_fail("%s: more than %d bytes, more than a grid file holds; is it a grid?", shown,
                           CL_GRID_MAX_BYTES);
        }
    }
    close(fd);
    t[n] = 0;
    g->text = t;
    *len = n;
    return 0;
}

/* Length of a UTF-8 sequence starting at s (n bytes left), or 0 when it is not valid UTF-8 (overlong
 * forms, surrogates and code points past U+10FFFF included). */
static int utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    int k;
    unsigned char lo = 0x80, hi = 0xbf; /* allowed range of the second byte */
    if (c >= 0xc2 && c <= 0xdf) k = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        k = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        k = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else return 0;
    if ((size_t)k > n || s[1] < lo || s[1] > hi) return 0;
    for (int i = 2; i < k; i++)
        if (s[i] < 0x80 || s[i] > 0xbf) return 0;
    return k;
}

/* Check the bytes are text and make the copy the parser reads: without a UTF-8 byte order mark (editors on
 * Windows write one), every line ending (\n, \r\n, a lone \r) as \n, and a final \n. Refused with the line:
 * NUL and other control bytes, bytes that are not UTF-8 ("binary data"), lines over CL_GRID_MAX_LINE. */
static int normalize(const cl_grid *g, size_t n, char **out)
{
    const unsigned char *t = (const unsigned char *)g->text;
    size_t i = 0, o = 0;
    if (n >= 3 && t[0] == 0xef && t[1] == 0xbb && t[2] == 0xbf) i = 3;
    char *s = cl_malloc(n + 2);
    int line = 1;
    size_t start = i; /* where the current line starts in t */
    while (i < n) {
        unsigned char c = t[i];
        if (c == '\n' || c == '\r') {
            if (c == '\r' && i + 1 < n && t[i + 1] == '\n') i++;
            s[o++] = '\n';
            i++;
            line++;
            start = i;
            continue;
        }
        int k = 1;
        if (c >= 0x80) k = utf8_len(t + i, n - i);
        if (k == 0 || (c < 0x20 && c != '\t') || c == 0x7f) {
            free(s);
            return cl_fail("%s:%d: binary data (byte 0x%02x at column %zu): a grid file is UTF-8 text", g->shown,
                           line, c, i - start + 1);
        }
        if (i - start + (size_t)k > CL_GRID_MAX_LINE) { /* the parser's buffer holds the longest line whole */
            size_t end = i;
            while (end < n && t[end] != '\n' && t[end] != '\r') end++;
            free(s);
            return cl_fail("%s:%d: line too long (%zu bytes; a line holds at most %d)", g->shown, line, end - start,
                           CL_GRID_MAX_LINE);
        }
        memcpy(s + o, t + i, (size_t)k);
        o += (size_t)k;
        i += (size_t)k;
    }
    if (o > 0 && s[o - 1] != '\n') s[o++] = '\n';
    s[o] = 0;
    *out = s;
    return 0;
}

/* ---- parsing ----------------------------------------------------------------------------------------- */

typedef struct gparse {
    cl_grid *g;
    const char *pos;  /* the next byte of the normalized text */
    int line;         /* the line being parsed */
    int at_line_start;
    int section;      /* -1: [experiment], >= 0: method section, -2: none yet */
    int failed;
    int seen[MAX_EXPERIMENT_KEYS]; /* line where each experiment key was given, 0: not yet */
    cl_mlp *probe;    /* a tiny model to validate method parameters against */
    int cap;          /* of g->sections */
    int *labels;      /* open addressing over section indices by lower-case label (-1: empty), so a file of
                         tens of thousands of sections is checked for repeats in linear time */
    size_t lmask;
} gparse;

static size_t label_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++) h = (h ^ (unsigned char)tolower((unsigned char)*s)) * 1099511628211ull;
    return (size_t)h;
}

/* The section with this label but for case, or -1 after recording section k under it. */
static int label_add(gparse *p, const char *label, int k)
{
    if ((size_t)(k + 1) * 2 > p->lmask) { /* keep the table at most half full */
        size_t cap = p->lmask ? 2 * (p->lmask + 1) : 64;
        int *t = cl_malloc(sizeof(int) * cap);
        for (size_t i = 0; i < cap; i++) t[i] = -1;
        for (size_t i = 0; p->labels && i <= p->lmask; i++)
            if (p->labels[i] >= 0) {
                size_t j = label_hash(p->g->sections[p->labels[i]].label) & (cap - 1);
                while (t[j] >= 0) j = (j + 1) & (cap - 1);
                t[j] = p->labels[i];
            }
        free(p->labels);
        p->labels = t;
        p->lmask = cap - 1;
    }
    size_t i = label_hash(label) & p->lmask;
    for (; p->labels[i] >= 0; i = (i + 1) & p->lmask)
        if (!strcasecmp(p->g->sections[p->labels[i]].label, label)) return p->labels[i];
    p->labels[i] = k;
    return -1;
}

static int fail_at(gparse *p, int line)
{
    p->failed = 1;
    return cl_fail_prefix("%s:%d", p->g->shown, line);
}

static void start_section(gparse *p, char *name)
{
    cl_grid *g = p->g;
    if (!strcmp(name, "experiment")) {
        if (g->experiment_line) {
            cl_fail("[experiment] appears twice (first on line %d)", g->experiment_line);
            fail_at(p, p->line);
            return;
        }
        g->experiment_line = p->line;
        p->section = -1;
        return;
    }
    /* "[ewc online]" or "[ewc:online]": method ewc, label "ewc_online" */
    char method[64];
    size_t n = strcspn(name, " :\t,");
    if (n >= sizeof method) n = sizeof method - 1;
    memcpy(method, name, n);
    method[n] = 0;
    const cl_reg_method *m = cl_reg_find(method);
    if (!m) {
        const char *names[40];
        int k = 0;
        names[k++] = "experiment";
        for (int i = 0; cl_reg_method_at(i) && k < 39; i++) names[k++] = cl_reg_method_name(cl_reg_method_at(i));
        names[k] = NULL;
        const char *near = cl_closest_name(method, names);
        if (near)
            cl_fail("unknown section [%s]; did you mean [%s]? (sections: [experiment] and one per method: see clreg "
                    "list)", cl_quote(name), near);
        else
            cl_fail("unknown section [%s] (sections: [experiment] and one per method: see clreg list)", cl_quote(name));
        fail_at(p, p->line);
        return;
    }
    /* The label names the method's rows in every results file and its figures' files (matrix_<label>.png):
     * the same characters as a grid's name. */
    char *label = cl_strdup(name);
    for (char *c = label; *c; c++)
        if (*c == ' ' || *c == ':' || *c == '\t' || *c == ',') *c = '_';
    if (!plain_name(label, CL_GRID_MAX_LABEL)) {
        cl_fail("section [%s]: a label after the method's name may hold letters, digits, '.', '_' and '-' (spaces "
                "and ':' become '_'), at most %d characters in all: it names files of the results",
                cl_quote(name), CL_GRID_MAX_LABEL);
        free(label);
        fail_at(p, p->line);
        return;
    }
    if (g->nsections == p->cap) g->sections = cl_realloc(g->sections, sizeof *g->sections * (p->cap = 2 * p->cap + 8));
    cl_grid_section *s = &g->sections[g->nsections];
    memset(s, 0, sizeof *s);
    s->label = label;
    s->method = m;
    s->line = p->line;
    int i = label_add(p, label, g->nsections);
    if (i >= 0) {
        /* by case too: on a case-insensitive file system the two would share their figures' files */
        if (!strcmp(g->sections[i].label, label))
            cl_fail("section [%s] appears twice (first on line %d); give the second a label, e.g. [%s variant]",
                    cl_quote(name), g->sections[i].line, method);
        else
            cl_fail("section [%s] has the label of the section on line %d, but for case; labels must differ by "
                    "more than case", cl_quote(name), g->sections[i].line);
        free(label);
        fail_at(p, p->line);
        return;
    }
    p->section = g->nsections++;
}

/* A section header line, seen whole (inih reports sections only through their keys, and an empty [none]
 * section has none). */
static void section_line(gparse *p, const char *t, size_t len)
{
    char *line = cl_malloc(len + 1);
    memcpy(line, t, len);
    line[len] = 0;
    char *s = trim(line);
    char *end = strchr(s, ']');
    if (!end) {
        cl_fail("expected ']' to close the section name");
        fail_at(p, p->line);
    } else {
        /* inih would drop whatever follows the ']' without a word: only a comment may */
        char *rest = end + 1;
        while (isspace((unsigned char)*rest)) rest++;
        *end = 0;
        if (*rest && *rest != ';' && *rest != '#') {
            cl_fail("unexpected '%s' after the section header [%s]; put keys on lines of their own", cl_quote(rest),
                    cl_quote(trim(s + 1)));
            fail_at(p, p->line);
        } else {
            start_section(p, trim(s + 1));
        }
    }
    free(line);
}

/* inih reads lines through this reader, as through fgets, from the normalized text. */
static char *read_line(char *str, int num, void *stream)
{
    gparse *p = stream;
    if (!*p->pos || num < 2) return NULL;
    const char *nl = strchr(p->pos, '\n'); /* normalize() ends every line with one */
    if (p->at_line_start) {
        p->line++;
        const char *t = p->pos;
        while (*t == ' ' || *t == '\t') t++;
        if (*t == '[' && !p->failed) section_line(p, p->pos, (size_t)(nl - p->pos));
    }
    size_t n = (size_t)(nl + 1 - p->pos);
    if (n > (size_t)num - 1) n = (size_t)num - 1;
    memcpy(str, p->pos, n);
    str[n] = 0;
    p->pos += n;
    p->at_line_start = str[n - 1] == '\n';
    return str;
}


/* An [experiment] key's index (the settings table's first, then grid_keys), or -1. */
static int experiment_key(const char *name)
{
    const cl_setting *e = cl_setting_find(name, 0);
    if (e) return (int)(e - cl_settings_table);
    for (int i = 0; grid_keys[i]; i++)
        if (!strcmp(grid_keys[i], name)) return cl_settings_count + i;
    return -1;
}

/* The closest [experiment] key to a misspelt one, of both lists. */
static const char *closest_experiment_key(const char *name)
{
    const char *keys[MAX_EXPERIMENT_KEYS + 1];
    int n = 0;
    for (int i = 0; i < cl_settings_count && n < MAX_EXPERIMENT_KEYS; i++) keys[n++] = cl_settings_table[i].key;
    for (int i = 0; grid_keys[i] && n < MAX_EXPERIMENT_KEYS; i++) keys[n++] = grid_keys[i];
    keys[n] = NULL;
    return cl_closest_name(name, keys);
}

static int on_value(void *user, const char *section, const char *name, const char *value)
{
    gparse *p = user;
    cl_grid *g = p->g;
    (void)section;
    if (p->failed) return 0;
    if (p->section == -2) {
        cl_fail("'%s' is outside any section; put it under [experiment] or a method section", cl_quote(name));
        return fail_at(p, p->line), 0;
    }
    if (p->section == -1) {
        int k = experiment_key(name), rc = -2;
        if (k >= 0 && p->seen[k]) {
            cl_fail("[experiment]: '%s' given twice (first on line %d)", name, p->seen[k]);
            return fail_at(p, p->line), 0;
        }
        if (k >= 0) rc = set_experiment(g, name, value);
        if (rc == -2) {
            const char *near = closest_experiment_key(name);
            if (near) cl_fail("[experiment]: unknown key '%s'; did you mean '%s'?", cl_quote(name), near);
            else cl_fail("[experiment]: unknown key '%s' (keys: see experiments/README.md)", cl_quote(name));
            return fail_at(p, p->line), 0;
        }
        if (rc) {
            cl_fail_prefix("[experiment]");
            return fail_at(p, p->line), 0;
        }
        p->seen[k] = p->line;
        if (!strcmp(name, "orders")) g->orders_line = p->line;
        if (!strcmp(name, "seeds")) g->seeds_line = p->line;
        return 1;
    }
    cl_grid_section *s = &g->sections[p->section];
    for (int i = 0; i < s->nkeys; i++)
        if (!strcmp(s->keys[i], name)) {
            cl_fail("[%s]: '%s' given twice (first on line %d)", s->label, name, s->keyline[i]);
            return fail_at(p, p->line), 0;
        }
    /* the key on its own first, before it is put together with its values, so the message can quote a key
     * of any length */
    if (cl_reg_check_param(s->method, name)) {
        cl_fail_prefix("[%s]", s->label);
        return fail_at(p, p->line), 0;
    }
    if (s->nkeys == CL_GRID_MAX_KEYS) {
        cl_fail("[%s]: more than %d keys", s->label, CL_GRID_MAX_KEYS);
        return fail_at(p, p->line), 0;
    }
    char **items;
    int n;
    if (split_list(value, &items, &n)) {
        cl_fail_prefix("[%s]: %s", s->label, cl_quote(name));
        return fail_at(p, p->line), 0;
    }
    /* each value on its own, so the message points at this line */
    for (int i = 0; i < n; i++) {
        char kv[CL_GRID_MAX_VALUE + 64];
        snprintf(kv, sizeof kv, "%s=%s", name, items[i]);
        const char *one[1] = {kv};
        cl_reg *r = cl_reg_create(cl_reg_method_name(s->method), one, 1, p->probe);
        if (!r) {
            free_list(items, n);
            cl_fail_prefix("[%.*s]", CL_SHOW, s->label);
            return fail_at(p, p->line), 0;
        }
        cl_reg_free(r);
    }
    if (check_distinct(name, items, n)) {
        free_list(items, n);
        cl_fail_prefix("[%s]", s->label);
        return fail_at(p, p->line), 0;
    }
    int k = s->nkeys++;
    s->keys[k] = cl_strdup(name);
    s->keyline[k] = p->line;
    s->vals[k] = items;
    s->nvals[k] = n;
    return 1;
}

/* ---- counting cells ----------------------------------------------------------------------------------- */

static uint64_t mul_sat(uint64_t a, uint64_t b)
{
    uint64_t r;
    return __builtin_mul_overflow(a, b, &r) ? UINT64_MAX : r;
}

/* Cells the grid expands to, counted without expanding them and saturating instead of wrapping: three
 * lists of a thousand values are 10^9 combinations, and seeds x orders alone can pass 2^31. */
static uint64_t count_cells(const cl_grid *g, int norders, uint64_t *combos)
{
    uint64_t c = 0;
    for (int i = 0; i < g->nsections; i++) {
        uint64_t s = 1;
        for (int k = 0; k < g->sections[i].nkeys; k++) s = mul_sat(s, (uint64_t)g->sections[i].nvals[k]);
        c = c + s < c ? UINT64_MAX : c + s;
    }
    if (combos) *combos = c;
    return mul_sat(mul_sat(c, (uint64_t)norders), (uint64_t)g->nseeds);
}

static int check_cell_count(const cl_grid *g, int norders)
{
    uint64_t combos, n = count_cells(g, norders, &combos);
    if (n <= CL_GRID_MAX_CELLS) return 0;
    char total[64], comb[64];
    if (n == UINT64_MAX) snprintf(total, sizeof total, "more than 10^19");
    else snprintf(total, sizeof total, "%llu", (unsigned long long)n);
    if (combos == UINT64_MAX) snprintf(comb, sizeof comb, "more than 10^19");
    else snprintf(comb, sizeof comb, "%llu", (unsigned long long)combos);
    return cl_fail("%s: %s cells (%s parameter combinations over %d method sections x %d orders x %d seeds); a "
                   "grid holds at most %d cells: split the study into several grids", g->shown, total, comb,
                   g->nsections, norders, g->nseeds, CL_GRID_MAX_CELLS);
}

/* ---- loading ------------------------------------------------------------------------------------------- */

int cl_grid_load(cl_grid *g, const char *path)
{
    memset(g, 0, sizeof *g);
    g->path = cl_strdup(path);
    g->shown = cl_strdup(cl_quote_path(path));
    cl_settings_init(&g->set);
    g->norders_random = 1;
    g->eval_epochs = 1;
    g->blas_threads = 0; /* auto */
    g->nseeds = 1;
    g->seeds = cl_malloc(sizeof(uint64_t));
    g->seeds[0] = 1;

    size_t len = 0;
    if (read_file(g, path, &len)) return -1;
    char *text = NULL;
    if (normalize(g, len, &text)) return -1;

    /* The grid's name, unless `name =` gives one: the file name without directory and extension, with any
     * character a directory name should not have made '_'. A pipe or other non-regular file (clreg run
     * <(...), /dev/stdin) has no file name worth the name: its results go to grid-<crc32 of its bytes>, so
     * the same grid piped again resumes into the same directory. */
    if (g->regular) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        char *name = cl_strdup(base);
        char *dot = strrchr(name, '.');
        if (dot && dot != name) *dot = 0;
        if (strlen(name) > CL_GRID_MAX_NAME) name[CL_GRID_MAX_NAME] = 0;
        for (char *c = name; *c; c++)
            if (!isalnum((unsigned char)*c) && *c != '.' && *c != '-') *c = '_';
        if (!isalnum((unsigned char)name[0])) name[0] = '_';
        g->name = name;
    } else {
        char name[32];
        snprintf(name, sizeof name, "grid-%08lx", crc32(0L, (const Bytef *)g->text, (uInt)len));
        g->name = cl_strdup(name);
    }

    ini_allow_multiline = 0;   /* an indented line is an error, not a silent continuation */
    ini_stop_on_first_error = 1;
    ini_use_stack = 0;
    ini_allow_realloc = 1;
    ini_max_line = CL_GRID_MAX_LINE + 2; /* the longest line normalize() lets through, its \n and NUL */
    int hidden[1] = {1}, heads[1] = {2};
    gparse p = {.g = g, .pos = text, .at_line_start = 1, .section = -2};
    p.probe = cl_mlp_create(1, hidden, 1, heads, 1, 1);
    int rc = ini_parse_stream(read_line, &p, on_value, &p);
    cl_mlp_free(p.probe);
    free(p.labels);
    free(text);
    if (p.failed) return -1;
    if (rc > 0) return cl_fail("%s:%d: expected [section] or key = value", g->shown, rc);
    if (rc < 0) return cl_fail("%s: cannot parse: out of memory", g->shown);
    cl_settings_finish(&g->set);
    if (g->nsections == 0)
        return cl_fail("%s: no method sections; add at least one, e.g. [none] and [ewc] (see clreg list)", g->shown);
    return check_cell_count(g, g->orders_text ? g->norders_explicit : g->norders_random);
}

/* ---- preparing the cells ------------------------------------------------------------------------------ */

/* The orders seen so far, for refusing (explicit) or redrawing (random) a repeat: open addressing over
 * order indices, keyed by a hash of the permutation. */
typedef struct order_set {
    int *slot; /* -1: empty */
    size_t mask;
    int **orders;
    int T;
} order_set;

static void order_set_init(order_set *s, int **orders, int T, int n)
{
    size_t cap = 16;
    while (cap < 2 * (size_t)n) cap *= 2;
    s->slot = cl_malloc(sizeof(int) * cap);
    for (size_t i = 0; i < cap; i++) s->slot[i] = -1;
    s->mask = cap - 1;
    s->orders = orders;
    s->T = T;
}

static size_t order_hash(const int *o, int T)
{
    uint64_t h = 1469598103934665603ull;
    for (int t = 0; t < T; t++) h = (h ^ (uint64_t)(unsigned)o[t]) * 1099511628211ull;
    return (size_t)h;
}

/* The index of an earlier order equal to orders[k], or -1 after adding k. */
static int order_set_add(order_set *s, int k)
{
    size_t i = order_hash(s->orders[k], s->T) & s->mask;
    for (; s->slot[i] >= 0; i = (i + 1) & s->mask)
        if (!memcmp(s->orders[s->slot[i]], s->orders[k], sizeof(int) * s->T)) return s->slot[i];
    s->slot[i] = k;
    return -1;
}

static int parse_orders(cl_grid *g, int T)
{
    int n = 0, rc = 0, cap = g->norders_explicit;
    int **orders = cl_calloc(cap, sizeof *orders);
    order_set set;
    order_set_init(&set, orders, T, cap);
    const char *p = g->orders_text;
    for (;;) {
        const char *bar = strchr(p, '|');
        size_t plen = bar ? (size_t)(bar - p) : strlen(p);
        char *part = cl_malloc(plen + 1), *save = NULL;
        memcpy(part, p, plen);
        part[plen] = 0;
        int *o = cl_malloc(sizeof(int) * T), k = 0, *seen = cl_calloc(T, sizeof(int));
        for (char *tok = strtok_r(part, " \t,", &save); tok && !rc; tok = strtok_r(NULL, " \t,", &save)) {
            int v;
            if (cl_parse_int("orders", tok, 1, T, &v)) rc = -1;
            else if (k == T) rc = cl_fail("orders: order %d lists more than %d tasks", n + 1, T);
            else if (seen[v - 1]) rc = cl_fail("orders: order %d lists task %d twice", n + 1, v);
            else {
                seen[v - 1] = 1;
                o[k++] = v - 1;
            }
        }
        if (!rc && k == 0) rc = cl_fail("orders: order %d is empty (orders are separated by '|')", n + 1);
        else if (!rc && k != T)
            rc = cl_fail("orders: order %d lists %d tasks, expected all %d (numbered 1..%d)", n + 1, k, T, T);
        free(seen);
        free(part);
        if (rc) {
            free(o);
            break;
        }
        orders[n] = o;
        int prev = order_set_add(&set, n);
        n++;
        if (prev >= 0) {
            rc = cl_fail("orders: order %d repeats order %d; each order makes its own cells, so a repeat would run "
                         "and count them twice", n, prev + 1);
            break;
        }
        if (!bar) break;
        p = bar + 1;
    }
    free(set.slot);
    if (rc) {
        for (int i = 0; i < n; i++) free(orders[i]);
        free(orders);
        return cl_fail_prefix("%s:%d: [experiment]", g->shown, g->orders_line);
    }
    g->orders = orders;
    g->norders = n;
    return 0;
}

/* T! as far as it matters (a count of orders is at most 100000). */
static long distinct_orders(int T)
{
    long f = 1;
    for (int t = 2; t <= T && f <= 100000; t++) f *= t;
    return f;
}

/* Order 0 is the natural order; order k > 0 a permutation drawn from a stream keyed by k alone, so it is the
 * same order under every seed and in every grid. A draw equal to an earlier order is drawn again from the
 * same stream: the orders of a grid are distinct (a repeat would run its cells twice), and a grid whose
 * orders were distinct at the first draw keeps exactly those orders. */
static int random_orders(cl_grid *g, int T)
{
    int n = g->norders_random;
    long possible = distinct_orders(T);
    if (n > possible)
        return cl_fail("%s:%d: [experiment]: orders = %d, but %d task%s ha%s only %ld distinct order%s; each order "
                       "makes its own cells, so a repeat would run and count them twice", g->shown, g->orders_line,
                       n, T, T == 1 ? "" : "s", T == 1 ? "s" : "ve", possible, possible == 1 ? "" : "s");
    g->norders = n;
    g->orders = cl_calloc(n, sizeof(int *));
    order_set set;
    order_set_init(&set, g->orders, T, n);
    for (int k = 0; k < n; k++) {
        g->orders[k] = cl_malloc(sizeof(int) * T);
        cl_rng r;
        cl_rng_seed(&r, 0, cl_hash_mix(cl_hash_str("order"), (uint64_t)k));
        do {
            for (int t = 0; t < T; t++) g->orders[k][t] = t;
            if (k > 0) cl_rng_shuffle(&r, g->orders[k], T);
        } while (order_set_add(&set, k) >= 0);
    }
    free(set.slot);
    return 0;
}

static void add_cell(cl_grid *g, int section, const int *choice, int order, uint64_t seed)
{
    const cl_grid_section *s = &g->sections[section];
    cl_grid_cell *c = &g->cells[g->ncells];
    memset(c, 0, sizeof *c);
    c->run = ++g->ncells;
    c->section = section;
    c->order = order;
    c->seed = seed;
    int has_samples = 0;
    for (int k = 0; k < s->nkeys; k++) {
        char kv[CL_GRID_MAX_VALUE + 64];
        snprintf(kv, sizeof kv, "%s=%s", s->keys[k], s->vals[k][choice[k]]);
        c->params[c->nparams++] = cl_strdup(kv);
        has_samples |= !strcmp(s->keys[k], "samples");
    }
    int takes_samples = 0;
    takes_samples = cl_reg_method_takes(s->method, "samples");
    if (takes_samples && !has_samples && g->importance_samples > 0) {
        char kv[64];
        snprintf(kv, sizeof kv, "samples=%d", g->importance_samples);
        c->params[c->nparams++] = cl_strdup(kv);
    }
}

int cl_grid_prepare(cl_grid *g, const cl_data *d)
{
    g->set.stream.order = NULL;
    cl_stream s;
    if (cl_stream_create(&s, d, &g->set.stream))
        return cl_fail_prefix("%s:%d: [experiment]", g->shown, g->experiment_line ? g->experiment_line : 1);
    int T = g->ntasks = s.ntasks;
    /* the network against the inputs: a kernel larger than its image, a conv on flat CSV features */
    int bad = cl_model_check(&g->set.arch, &s, g->set.arch_key ? g->set.arch_key : "arch");
    cl_stream_free(&s);
    if (bad) return cl_fail_prefix("%s:%d: [experiment]", g->shown, g->experiment_line ? g->experiment_line : 1);

    if (g->orders_text ? parse_orders(g, T) : random_orders(g, T)) return -1;
    if (check_cell_count(g, g->norders)) return -1;
    g->cells = cl_calloc((size_t)count_cells(g, g->norders, NULL), sizeof *g->cells);

    int hidden[1] = {1}, heads[1] = {2};
    cl_mlp *probe = cl_mlp_create(1, hidden, 1, heads, 1, 1);
    int rc = 0;
    for (int si = 0; si < g->nsections && !rc; si++) {
        const cl_grid_section *sec = &g->sections[si];
        int choice[CL_GRID_MAX_KEYS] = {0};
        for (;;) {
            int first = g->ncells;
            for (int o = 0; o < g->norders; o++)
                for (int k = 0; k < g->nseeds; k++) add_cell(g, si, choice, o, g->seeds[k]);
            /* the combination as a whole (e.g. ewc fisher=empirical with data=test) */
            cl_reg *r = cl_reg_create(cl_reg_method_name(sec->method), (const char *const *)g->cells[first].params,
                                      g->cells[first].nparams, probe);
            if (!r) {
                rc = cl_fail_prefix("%s:%d: [%s]", g->shown, sec->line, sec->label);
                break;
            }
            cl_reg_free(r);
            /* next combination: an odometer over the keys' lists, the last key fastest */
            int k = sec->nkeys - 1;
            while (k >= 0 && ++choice[k] == sec->nvals[k]) choice[k--] = 0;
            if (k < 0) break;
        }
    }
    cl_mlp_free(probe);
    return rc;
}

void cl_grid_free(cl_grid *g)
{
    for (int i = 0; i < g->nsections; i++) {
        cl_grid_section *s = &g->sections[i];
        for (int k = 0; k < s->nkeys; k++) {
            free(s->keys[k]);
            free_list(s->vals[k], s->nvals[k]);
        }
        free(s->label);
    }
    free(g->sections);
    for (int c = 0; c < g->ncells; c++)
        for (int k = 0; k < g->cells[c].nparams; k++) free(g->cells[c].params[k]);
    free(g->cells);
    for (int o = 0; o < g->norders && g->orders; o++) free(g->orders[o]);
    free(g->orders);
    free(g->seeds);
    free(g->orders_text);
    cl_settings_free(&g->set);
    free(g->path);
    free(g->shown);
    free(g->name);
    free(g->text);
    memset(g, 0, sizeof *g);
}

const char *cl_grid_cell_value(const cl_grid_cell *c, const char *key)
{
    size_t n = strlen(key);
    for (int i = 0; i < c->nparams; i++)
        if (!strncmp(c->params[i], key, n) && c->params[i][n] == '=') return c->params[i] + n + 1;
    return NULL;
}

int cl_grid_stream(const cl_grid *g, const cl_data *d, cl_stream *s)
{
    cl_stream_cfg sc = g->set.stream;
    sc.order = NULL;
    return cl_stream_create(s, d, &sc) ? cl_fail_prefix("%s", g->shown) : 0;
}

#include "experiments/grid.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ini.h>

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

/* Split "a, b ,c" into trimmed items; an empty item is an error. */
static int split_list(const char *text, char ***items, int *n)
{
    char *copy = cl_strdup(text);
    int cap = 4, k = 0;
    char **out = cl_malloc(cap * sizeof *out);
    char *save = NULL;
    int rc = 0;
    /* strtok_r would merge empty fields; walk the commas by hand to catch "1,,2" */
    char *p = copy;
    for (;;) {
        char *comma = strchr(p, ',');
        if (comma) *comma = 0;
        char *item = trim(p);
        if (!*item) {
            rc = cl_fail("empty item in the list '%.*s'", CL_SHOW, text);
            break;
        }
        if (k == cap) out = cl_realloc(out, (cap *= 2) * sizeof *out);
        out[k++] = cl_strdup(item);
        if (!comma) break;
        p = comma + 1;
    }
    (void)save;
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

static int parse_bool(const char *key, const char *v, int *out)
{
    if (!strcmp(v, "yes") || !strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "on")) *out = 1;
    else if (!strcmp(v, "no") || !strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "off")) *out = 0;
    else return cl_fail("%s: expected yes or no, got '%.*s'", key, CL_SHOW, v);
    return 0;
}

/* ---- the [experiment] keys ------------------------------------------------------------------------------ */

static const char *const experiment_keys[] = {
    "name", "dataset", "data_path", "stream", "scenario", "tasks", "groups", "angles", "angle_step",
    "permute_first", "pad", "scale", "hidden", "optimizer", "lr", "momentum", "epochs", "batch",
    "reset_optim", "seeds", "orders", "importance_samples", "eval", "curve_steps", "save_state", "blas_threads",
    NULL};

static int set_experiment(cl_grid *g, const char *key, const char *v)
{
    if (!strcmp(key, "name")) {
        free(g->name);
        g->name = cl_strdup(v);
        return *v ? 0 : cl_fail("name: expected a name");
    }
    if (!strcmp(key, "dataset")) return free(g->dataset), g->dataset = cl_strdup(v), 0;
    if (!strcmp(key, "data_path")) return free(g->data_path), g->data_path = *v ? cl_strdup(v) : NULL, 0;
    if (!strcmp(key, "stream")) return cl_stream_kind_parse(v, &g->stream.kind) ? cl_fail_prefix("stream") : 0;
    if (!strcmp(key, "scenario")) return cl_scenario_parse(v, &g->stream.scenario) ? cl_fail_prefix("scenario") : 0;
    if (!strcmp(key, "tasks")) return cl_parse_int("tasks", v, 1, 1000, &g->stream.ntasks);
    if (!strcmp(key, "groups")) return free(g->groups), g->groups = cl_strdup(v), 0;
    if (!strcmp(key, "angles")) return free(g->angles), g->angles = cl_strdup(v), 0;
    if (!strcmp(key, "angle_step")) return cl_parse_float("angle_step", v, -360, 360, 0, &g->stream.angle_step);
    if (!strcmp(key, "permute_first")) return parse_bool(key, v, &g->stream.permute_first);
    if (!strcmp(key, "pad")) return cl_parse_int("pad", v, 0, 64, &g->stream.pad);
    if (!strcmp(key, "scale")) return parse_bool(key, v, &g->stream.scale01);
    if (!strcmp(key, "hidden")) return cl_parse_int_list("hidden", v, g->hidden, CL_GRID_MAX_HIDDEN, &g->nhidden);
    if (!strcmp(key, "optimizer")) {
        if (!strcmp(v, "adam")) g->opt.kind = CL_OPT_ADAM;
        else if (!strcmp(v, "sgd")) g->opt.kind = CL_OPT_SGD;
        else return cl_fail("optimizer: expected adam or sgd, got '%.*s'", CL_SHOW, v);
        return 0;
    }
    /* lr and momentum are applied over the optimizer's defaults once the whole file is read */
    if (!strcmp(key, "lr")) return cl_parse_float("lr", v, 0, 1e6, 1, &g->lr);
    if (!strcmp(key, "momentum")) return cl_parse_float("momentum", v, 0, 0.9999, 0, &g->momentum);
    if (!strcmp(key, "epochs")) return cl_parse_int("epochs", v, 1, 100000, &g->epochs);
    if (!strcmp(key, "batch")) return cl_parse_int("batch", v, 1, 1 << 20, &g->batch);
    if (!strcmp(key, "reset_optim")) return parse_bool(key, v, &g->reset_optim);
    if (!strcmp(key, "importance_samples")) return cl_parse_int("importance_samples", v, 0, 1 << 30, &g->importance_samples);
    if (!strcmp(key, "curve_steps")) return cl_parse_int("curve_steps", v, 0, 1 << 30, &g->curve_steps);
    if (!strcmp(key, "save_state")) {
        if (!strcmp(v, "first")) return g->save_state = 2, 0; /* after the first task only */
        return parse_bool(key, v, &g->save_state) ? cl_fail("save_state: expected yes, no or first, got '%.*s'", CL_SHOW, v) : 0;
    }
    if (!strcmp(key, "blas_threads")) {
        if (!strcmp(v, "auto")) return g->blas_threads = 0, 0;
        return cl_parse_int("blas_threads", v, 1, 256, &g->blas_threads) ? cl_fail_prefix("(or auto)") : 0;
    }
    if (!strcmp(key, "eval")) {
        if (!strcmp(v, "task")) g->eval_epochs = 0;
        else if (!strcmp(v, "epoch")) g->eval_epochs = 1;
        else return cl_fail("eval: expected task (after each task) or epoch (also after each epoch), got '%.*s'", CL_SHOW, v);
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
                return cl_fail("seeds: expected a count (e.g. 3 for seeds 1..3) or a list of two or more seeds, "
                               "got '%.*s'", CL_SHOW, v);
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
                    return cl_fail("seeds: %llu appears twice", s);
                }
            g->seeds[i] = s;
        }
        free_list(items, n);
        return 0;
    }
    if (!strcmp(key, "orders")) {
        free(g->orders_text);
        g->orders_text = NULL;
        if (strchr(v, ' ') || strchr(v, '|')) {
            g->orders_text = cl_strdup(v); /* explicit lists: checked once the number of tasks is known */
            return 0;
        }
        return cl_parse_int("orders", v, 1, 100000, &g->norders_random);
    }
    return -2; /* not an experiment key */
}

/* ---- parsing ----------------------------------------------------------------------------------------- */

typedef struct gparse {
    cl_grid *g;
    FILE *f;
    int completed;    /* lines read completely */
    int line;         /* the line being parsed */
    int at_line_start;
    int section;      /* -1: [experiment], >= 0: method section, -2: none yet */
    int failed;
    char seen[64][48];/* experiment keys given (for duplicates) */
    int nseen;
    cl_mlp *probe;    /* a tiny model to validate method parameters against */
} gparse;

static int fail_at(gparse *p, int line)
{
    p->failed = 1;
    return cl_fail_prefix("%s:%d", p->g->path, line);
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
    char method[128];
    size_t n = strcspn(name, " :\t");
    if (n >= sizeof method) n = sizeof method - 1;
    memcpy(method, name, n);
    method[n] = 0;
    const cl_reg_method *m = cl_reg_find(method);
    if (!m) {
        const char *names[40];
        int k = 0;
        names[k++] = "experiment";
        for (int i = 0; cl_reg_methods[i] && k < 39; i++) names[k++] = cl_reg_methods[i]->name;
        names[k] = NULL;
        const char *near = cl_closest_name(method, names);
        if (near) cl_fail("unknown section [%.*s]; did you mean [%s]? (sections: [experiment] and one per method: see clreg list)", CL_SHOW, name, near);
        else cl_fail("unknown section [%.*s] (sections: [experiment] and one per method: see clreg list)", CL_SHOW, name);
        fail_at(p, p->line);
        return;
    }
    char *label = cl_strdup(name);
    for (char *c = label; *c; c++)
        if (*c == ' ' || *c == ':' || *c == '\t' || *c == ',') *c = '_';
    for (int i = 0; i < g->nsections; i++)
        if (!strcmp(g->sections[i].label, label)) {
            cl_fail("section [%.*s] appears twice (first on line %d); give the second a label, e.g. [%.*s variant]",
                    CL_SHOW, name, g->sections[i].line, CL_SHOW, method);
            free(label);
            fail_at(p, p->line);
            return;
        }
    g->sections = cl_realloc(g->sections, sizeof *g->sections * (g->nsections + 1));
    cl_grid_section *s = &g->sections[g->nsections];
    memset(s, 0, sizeof *s);
    s->label = label;
    s->method = m;
    s->line = p->line;
    p->section = g->nsections++;
}

/* inih asks for lines through this reader: count them, and see section headers ourselves, since inih
 * reports a section only through its keys and an empty [none] section has none. */
static char *read_line(char *str, int num, void *stream)
{
    gparse *p = stream;
    char *r = fgets(str, num, p->f);
    if (!r) return NULL;
    int starts = p->at_line_start;
    p->line = p->completed + 1;
    size_t len = strlen(r);
    p->at_line_start = len > 0 && r[len - 1] == '\n';
    if (p->at_line_start) p->completed++;
    if (starts && !p->failed) {
        char buf[512];
        snprintf(buf, sizeof buf, "%s", r);
        char *t = trim(buf);
        if (*t == '[') {
            char *end = strchr(t, ']');
            if (!end) {
                cl_fail("expected ']' to close the section name");
                fail_at(p, p->line);
            } else {
                *end = 0;
                start_section(p, trim(t + 1));
            }
        }
    }
    return r;
}

static int on_value(void *user, const char *section, const char *name, const char *value)
{
    gparse *p = user;
    cl_grid *g = p->g;
    (void)section;
    if (p->failed) return 0;
    if (p->section == -2) {
        cl_fail("'%.*s' is outside any section; put it under [experiment] or a method section", CL_SHOW, name);
        return fail_at(p, p->line), 0;
    }
    if (p->section == -1) {
        for (int i = 0; i < p->nseen; i++)
            if (!strcmp(p->seen[i], name)) {
                cl_fail("[experiment]: '%.*s' given twice", CL_SHOW, name);
                return fail_at(p, p->line), 0;
            }
        if (p->nseen < 64) snprintf(p->seen[p->nseen++], sizeof p->seen[0], "%s", name);
        int rc = set_experiment(g, name, value);
        if (rc == -2) {
            const char *near = cl_closest_name(name, experiment_keys);
            if (near) cl_fail("[experiment]: unknown key '%.*s'; did you mean '%s'?", CL_SHOW, name, near);
            else cl_fail("[experiment]: unknown key '%.*s' (keys: see experiments/README.md)", CL_SHOW, name);
            return fail_at(p, p->line), 0;
        }
        if (rc) {
            cl_fail_prefix("[experiment]");
            return fail_at(p, p->line), 0;
        }
        if (!strcmp(name, "orders")) g->orders_line = p->line;
        return 1;
    }
    cl_grid_section *s = &g->sections[p->section];
    for (int i = 0; i < s->nkeys; i++)
        if (!strcmp(s->keys[i], name)) {
            cl_fail("[%.*s]: '%.*s' given twice", CL_SHOW, s->label, CL_SHOW, name);
            return fail_at(p, p->line), 0;
        }
    if (s->nkeys == CL_GRID_MAX_KEYS) {
        cl_fail("[%.*s]: too many keys", CL_SHOW, s->label);
        return fail_at(p, p->line), 0;
    }
    char **items;
    int n;
    if (split_list(value, &items, &n)) {
        cl_fail_prefix("[%.*s]: %.*s", CL_SHOW, s->label, CL_SHOW, name);
        return fail_at(p, p->line), 0;
    }
    /* each value on its own, so the message points at this line */
    for (int i = 0; i < n; i++) {
        char kv[512];
        snprintf(kv, sizeof kv, "%s=%s", name, items[i]);
        const char *one[1] = {kv};
        cl_reg *r = cl_reg_create(s->method->name, one, 1, p->probe);
        if (!r) {
            free_list(items, n);
            cl_fail_prefix("[%.*s]", CL_SHOW, s->label);
            return fail_at(p, p->line), 0;
        }
        cl_reg_free(r);
    }
    int k = s->nkeys++;
    s->keys[k] = cl_strdup(name);
    s->keyline[k] = p->line;
    s->vals[k] = items;
    s->nvals[k] = n;
    return 1;
}

int cl_grid_load(cl_grid *g, const char *path)
{
    memset(g, 0, sizeof *g);
    g->path = cl_strdup(path);
    g->dataset = cl_strdup("fashion-mnist");
    g->stream = cl_stream_defaults();
    g->hidden[0] = g->hidden[1] = 400;
    g->nhidden = 2;
    g->opt = cl_optim_defaults(CL_OPT_ADAM);
    g->momentum = -1;
    g->epochs = 1;
    g->batch = 128;
    g->norders_random = 1;
    g->eval_epochs = 1;
    g->blas_threads = 0; /* auto */
    g->nseeds = 1;
    g->seeds = cl_malloc(sizeof(uint64_t));
    g->seeds[0] = 1;
    /* the grid's name: the file name without directory and .ini */
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    g->name = cl_strdup(base);
    char *dot = strrchr(g->name, '.');
    if (dot && dot != g->name) *dot = 0;

    FILE *f = fopen(path, "rb");
    if (!f) return cl_fail("%s: cannot open: %s", path, strerror(errno));
    size_t cap = 4096, len = 0, n;
    g->text = cl_malloc(cap);
    while ((n = fread(g->text + len, 1, cap - len - 1, f)) > 0) {
        len += n;
        if (len + 1 == cap) g->text = cl_realloc(g->text, cap *= 2);
    }
    g->text[len] = 0;
    rewind(f);

    ini_allow_multiline = 0;   /* an indented line is an error, not a silent continuation */
    ini_stop_on_first_error = 1;
    ini_use_stack = 0;         /* lines of any reasonable length */
    ini_allow_realloc = 1;
    ini_max_line = 1 << 16;
    int hidden[1] = {1}, heads[1] = {2};
    gparse p = {.g = g, .f = f, .at_line_start = 1, .section = -2};
    p.probe = cl_mlp_create(1, hidden, 1, heads, 1, 1);
    int rc = ini_parse_stream(read_line, &p, on_value, &p);
    fclose(f);
    cl_mlp_free(p.probe);
    if (p.failed) return -1;
    if (rc > 0) return cl_fail("%s:%d: expected [section] or key = value", path, rc);
    if (rc < 0) return cl_fail("%s: cannot read", path);
    cl_optim_cfg o = cl_optim_defaults(g->opt.kind);
    if (g->lr > 0) o.lr = g->lr;
    if (g->momentum >= 0) o.momentum = g->momentum;
    g->opt = o;
    if (g->nsections == 0)
        return cl_fail("%s: no method sections; add at least one, e.g. [none] and [ewc] (see clreg list)", path);
    return 0;
}

/* ---- preparing the cells ------------------------------------------------------------------------------ */

static int parse_orders(cl_grid *g, int T)
{
    char *copy = cl_strdup(g->orders_text), *save = NULL;
    int cap = 4, n = 0, rc = 0;
    int **orders = cl_malloc(cap * sizeof *orders);
    for (char *part = strtok_r(copy, "|", &save); part && !rc; part = strtok_r(NULL, "|", &save)) {
        int *o = cl_malloc(sizeof(int) * T), k = 0, *seen = cl_calloc(T, sizeof(int));
        char *save2 = NULL;
        for (char *tok = strtok_r(part, " \t,", &save2); tok && !rc; tok = strtok_r(NULL, " \t,", &save2)) {
            int v;
            if (cl_parse_int("orders", tok, 1, T, &v)) rc = -1;
            else if (k == T) rc = cl_fail("orders: order %d lists more than %d tasks", n + 1, T);
            else if (seen[v - 1]) rc = cl_fail("orders: order %d lists task %d twice", n + 1, v);
            else {
                seen[v - 1] = 1;
                o[k++] = v - 1;
            }
        }
        if (!rc && k != T) rc = cl_fail("orders: order %d lists %d tasks, expected all %d (numbered 1..%d)", n + 1, k, T, T);
        free(seen);
        if (rc) {
            free(o);
            break;
        }
        if (n == cap) orders = cl_realloc(orders, (cap *= 2) * sizeof *orders);
        orders[n++] = o;
    }
    free(copy);
    if (rc) {
        for (int i = 0; i < n; i++) free(orders[i]);
        free(orders);
        return cl_fail_prefix("%s:%d", g->path, g->orders_line);
    }
    g->orders = orders;
    g->norders = n;
    return 0;
}

static void add_cell(cl_grid *g, int section, const int *choice, int order, uint64_t seed)
{
    const cl_grid_section *s = &g->sections[section];
    g->cells = cl_realloc(g->cells, sizeof *g->cells * (g->ncells + 1));
    cl_grid_cell *c = &g->cells[g->ncells];
    memset(c, 0, sizeof *c);
    c->run = ++g->ncells;
    c->section = section;
    c->order = order;
    c->seed = seed;
    int has_samples = 0;
    for (int k = 0; k < s->nkeys; k++) {
        char kv[600];
        snprintf(kv, sizeof kv, "%s=%s", s->keys[k], s->vals[k][choice[k]]);
        c->params[c->nparams++] = cl_strdup(kv);
        has_samples |= !strcmp(s->keys[k], "samples");
    }
    int takes_samples = 0;
    for (const cl_reg_param *p = s->method->params; p && p->name; p++) takes_samples |= !strcmp(p->name, "samples");
    if (takes_samples && !has_samples && g->importance_samples > 0) {
        char kv[64];
        snprintf(kv, sizeof kv, "samples=%d", g->importance_samples);
        c->params[c->nparams++] = cl_strdup(kv);
    }
}

int cl_grid_prepare(cl_grid *g, const cl_data *d)
{
    g->stream.groups = g->groups;
    g->stream.angles = g->angles;
    g->stream.order = NULL;
    cl_stream s;
    if (cl_stream_create(&s, d, &g->stream))
        return cl_fail_prefix("%s:%d: [experiment]", g->path, g->experiment_line ? g->experiment_line : 1);
    int T = g->ntasks = s.ntasks;
    cl_stream_free(&s);

    if (g->orders_text) {
        if (parse_orders(g, T)) return -1;
    } else {
        g->norders = g->norders_random;
        g->orders = cl_malloc(sizeof(int *) * g->norders);
        for (int k = 0; k < g->norders; k++) {
            g->orders[k] = cl_malloc(sizeof(int) * T);
            for (int t = 0; t < T; t++) g->orders[k][t] = t;
            /* order k's permutation depends on k only, so it is the same order under every seed */
            cl_rng r;
            cl_rng_seed(&r, 0, cl_hash_mix(cl_hash_str("order"), (uint64_t)k));
            if (k > 0) cl_rng_shuffle(&r, g->orders[k], T);
        }
    }

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
            cl_reg *r = cl_reg_create(sec->method->name, (const char *const *)g->cells[first].params,
                                      g->cells[first].nparams, probe);
            if (!r) {
                rc = cl_fail_prefix("%s:%d: [%.*s]", g->path, sec->line, CL_SHOW, sec->label);
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
    free(g->groups);
    free(g->angles);
    free(g->dataset);
    free(g->data_path);
    free(g->path);
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

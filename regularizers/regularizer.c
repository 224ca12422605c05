/* Creating regularizers by name, their parameters, and the hooks as the training loop calls them. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/names.h"
#include "regularizers/regint.h"

extern const cl_reg_method *const cl_reg_methods[]; /* registry.c */

int cl_reg_method_count(void)
{
    int n = 0;
    while (cl_reg_methods[n]) n++;
    return n;
}

const cl_reg_method *cl_reg_method_at(int i) { return i >= 0 && i < cl_reg_method_count() ? cl_reg_methods[i] : NULL; }
const char *cl_reg_method_name(const cl_reg_method *m) { return m->name; }
const char *cl_reg_method_summary(const cl_reg_method *m) { return m->summary; }
const cl_reg_param *cl_reg_method_params(const cl_reg_method *m) { return m->params; }
int cl_reg_method_joint(const cl_reg_method *m) { return m->joint; }
int cl_reg_method_has_penalty(const cl_reg_method *m) { return m->penalty != NULL || m->batch_loss != NULL; }
int cl_reg_method_has_importance(const cl_reg_method *m) { return m->penalty == cl_reg_quad_penalty; }
int cl_reg_method_has_after_step(const cl_reg_method *m) { return m->after_step != NULL; }
int cl_reg_method_has_end_task(const cl_reg_method *m) { return m->end_task != NULL; }
const cl_reg_style *cl_reg_method_style(const cl_reg_method *m) { return &m->style; }
const cl_reg_memory *cl_reg_method_memory(const cl_reg_method *m) { return &m->memory; }

const cl_reg_method *cl_reg_find(const char *name)
{
    for (int i = 0; cl_reg_methods[i]; i++)
        if (strcmp(cl_reg_methods[i]->name, name) == 0) return cl_reg_methods[i];
    return NULL;
}

static const char *method_names[32];

static const char *const *all_method_names(void)
{
    int i = 0;
    for (; cl_reg_methods[i] && i < 31; i++) method_names[i] = cl_reg_methods[i]->name;
    method_names[i] = NULL;
    return method_names;
}

void cl_reg_list(FILE *f)
{
    for (int i = 0; cl_reg_methods[i]; i++) {
        const cl_reg_method *m = cl_reg_methods[i];
        fprintf(f, "%-10s %s\n", m->name, m->summary);
        for (const cl_reg_param *p = m->params; p && p->name; p++)
            fprintf(f, "    %-9s = %-10s %s\n", p->name, p->def, p->help);
    }
}

void cl_reg_names(char *buf, size_t n)
{
    size_t len = 0;
    if (n) buf[0] = 0;
    for (int i = 0; cl_reg_methods[i]; i++)
        len += (size_t)snprintf(buf + len, len < n ? n - len : 0, "%s%s", i ? ", " : "", cl_reg_methods[i]->name);
}

static const cl_reg_param *find_param(const cl_reg_method *m, const char *key)
{
    for (const cl_reg_param *p = m->params; p && p->name; p++)
        if (strcmp(p->name, key) == 0) return p;
    return NULL;
}

int cl_reg_method_takes(const cl_reg_method *m, const char *param) { return find_param(m, param) != NULL; }

int cl_reg_check_param(const cl_reg_method *m, const char *key)
{
    if (find_param(m, key)) return 0;
    const char *names[CL_REG_MAX_PARAMS + 1];
    int n = 0;
    char list[512] = "";
    size_t len = 0;
    for (const cl_reg_param *p = m->params; p && p->name && n < CL_REG_MAX_PARAMS; p++) {
        names[n++] = p->name;
        len += (size_t)snprintf(list + len, len < sizeof list ? sizeof list - len : 0, "%s%s", n > 1 ? ", " : "", p->name);
    }
    names[n] = NULL;
    const char *near = cl_closest_name(key, names);
    if (!n) return cl_fail("%s: takes no parameters, got '%s'", m->name, cl_quote(key));
    if (near)
        return cl_fail("%s: unknown parameter '%s'; did you mean '%s'? (parameters: %s)", m->name, cl_quote(key), near,
                       list);
    return cl_fail("%s: unknown parameter '%s' (parameters: %s)", m->name, cl_quote(key), list);
}

const char *cl_reg_get(const cl_reg *r, const char *key)
{
    for (int i = 0; i < r->nset; i++)
        if (strcmp(r->keys[i], key) == 0) return r->vals[i];
    const cl_reg_param *p = find_param(r->method, key);
    return p ? p->def : NULL;
}

int cl_reg_get_float(const cl_reg *r, const char *key, double min, double max, float *out)
{
    const char *v = cl_reg_get(r, key);
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(x))
        return cl_fail("%s: %s: expected a finite number, got '%.*s'", r->method->name, key, CL_SHOW, v);
    if (x < min || x > max) return cl_fail("%s: %s: expected a number in [%g, %g], got %g", r->method->name, key, min, max, x);
    *out = (float)x;
    return 0;
}

int cl_reg_get_int(const cl_reg *r, const char *key, long min, long max, int *out)
{
    const char *v = cl_reg_get(r, key);
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (end == v || *end || errno)
        return cl_fail("%s: %s: expected a whole number, got '%.*s'", r->method->name, key, CL_SHOW, v);
    if (x < min || x > max) return cl_fail("%s: %s: expected a whole number from %ld to %ld, got %ld", r->method->name, key, min, max, x);
    *out = (int)x;
    return 0;
}

int cl_reg_get_choice(const cl_reg *r, const char *key, const char *const *choices, int *out)
{
    const char *v = cl_reg_get(r, key);
    char list[256] = "";
    size_t len = 0;
    for (int i = 0; choices[i]; i++) {
        if (strcmp(v, choices[i]) == 0) {
            *out = i;
            return 0;
        }
        len += (size_t)snprintf(list + len, len < sizeof list ? sizeof list - len : 0, "%s%s", i ? ", " : "", choices[i]);
    }
    const char *near = cl_closest_name(v, choices);
    if (near)
        return cl_fail("%s: %s: unknown value '%.*s'; did you mean '%s'? (one of: %s)", r->method->name, key, CL_SHOW, v,
                       near, list);
    return cl_fail("%s: %s: unknown value '%.*s' (one of: %s)", r->method->name, key, CL_SHOW, v, list);
}

cl_reg *cl_reg_create(const char *name, const char *const *params, int nparams, const cl_mlp *m)
{
    const cl_reg_method *method = cl_reg_find(name);
    if (!method) {
        const char *near = cl_closest_name(name, all_method_names());
        char list[512];
        cl_reg_names(list, sizeof list);
        if (near) cl_fail("unknown regularizer '%.*s'; did you mean '%s'? (one of: %s)", CL_SHOW, name, near, list);
        else cl_fail("unknown regularizer '%.*s' (one of: %s)", CL_SHOW, name, list);
        return NULL;
    }
    return cl_reg_create_method(method, params, nparams, m);
}

cl_reg *cl_reg_create_method(const cl_reg_method *method, const char *const *params, int nparams, const cl_mlp *m)
{
    const char *name = method->name;
    if (nparams > CL_REG_MAX_PARAMS) {
        cl_fail("%s: at most %d parameters", name, CL_REG_MAX_PARAMS);
        return NULL;
    }
    cl_reg *r = cl_calloc(1, sizeof *r);
    r->method = method;
    cl_quad_init(&r->quad, m->nparams);
    for (int i = 0; i < nparams; i++) {
        const char *eq = strchr(params[i], '=');
        if (!eq || eq == params[i]) {
            cl_fail("%s: expected key=value, got '%.*s'", name, CL_SHOW, params[i]);
            goto fail;
        }
        char *key = cl_malloc((size_t)(eq - params[i]) + 1);
        memcpy(key, params[i], (size_t)(eq - params[i]));
        key[eq - params[i]] = 0;
        if (cl_reg_check_param(method, key)) {
            free(key);
            goto fail;
        }
        for (int j = 0; j < r->nset; j++)
            if (strcmp(r->keys[j], key) == 0) {
                cl_fail("%s: parameter '%.*s' given twice", name, CL_SHOW, key);
                free(key);
                goto fail;
            }
        r->keys[r->nset] = key;
        r->vals[r->nset++] = cl_strdup(eq + 1);
    }
    /* lambda and the importance-data options are common to many methods; read them here once */
    if (find_param(method, "lambda") && cl_reg_get_float(r, "lambda", 0.0, 1e12, &r->lambda)) goto fail;
    if (find_param(method, "samples") && cl_reg_get_int(r, "samples", 0, 1 << 30, &r->samples)) goto fail;
    if (find_param(method, "data")) {
        static const char *const where[] = {"train", "test", NULL};
        if (cl_reg_get_choice(r, "data", where, &r->on_test)) goto fail;
    }
    if (method->create && method->create(r, m)) goto fail;
    return r;
fail:
    cl_reg_free(r);
    return NULL;
}

void cl_reg_free(cl_reg *r)
{
    if (!r) return;
    if (r->method->destroy) r->method->destroy(r);
    free(r->state);
    cl_mlp_free(r->previous);
    cl_quad_free(&r->quad);
    for (int i = 0; i < r->nset; i++) {
        free(r->keys[i]);
        free(r->vals[i]);
    }
    free(r);
}

void cl_reg_describe(const cl_reg *r, char *buf, size_t n)
{
    size_t len = (size_t)snprintf(buf, n, "%s", r->method->name);
    for (const cl_reg_param *p = r->method->params; p && p->name; p++)
        len += (size_t)snprintf(buf + len, len < n ? n - len : 0, " %s=%s", p->name, cl_reg_get(r, p->name));
}

void cl_reg_begin_task(cl_reg *r, const cl_mlp *m, int task)
{
    if (r && r->method->begin_task) r->method->begin_task(r, m, task);
}

int cl_reg_has_after_step(const cl_reg *r) { return r && r->method->after_step; }

void cl_reg_after_step(cl_reg *r, const cl_mlp *m, const cl_step *step)
{
    if (r && r->method->after_step) r->method->after_step(r, m, step);
}

int cl_reg_has_batch_loss(const cl_reg *r) { return r && r->method->batch_loss; }

double cl_reg_batch_loss(cl_reg *r, const cl_batch *b)
{
    return r && r->method->batch_loss ? r->method->batch_loss(r, b) : 0.0;
}

cl_mlp *cl_reg_previous(const cl_reg *r) { return r ? r->previous : NULL; }

/* The frozen copy is taken after the method's own end_task, so a method that reads it there sees the
 * previous task's model, and the next task's batches see this one's. Its batch size is the model's. */
int cl_reg_end_task(cl_reg *r, cl_mlp *m, const cl_task_view *v)
{
    if (!r) return 0;
    int rc = r->method->end_task ? r->method->end_task(r, m, v) : 0;
    if (rc == 0 && r->method->previous) {
        if (!r->previous) r->previous = cl_mlp_clone(m, m->bmax);
        memcpy(r->previous->params, m->params, m->nparams * sizeof(float));
    }
    return rc;
}

double cl_reg_penalty(const cl_reg *r, const cl_mlp *m)
{
    return r && r->method->penalty ? r->method->penalty(r, m) : 0.0;
}

void cl_reg_add_penalty_grad(const cl_reg *r, const cl_mlp *m, float *grad)
{
    if (r && r->method->add_penalty_grad) r->method->add_penalty_grad(r, m, grad);
}

const cl_reg_method *cl_reg_method_of(const cl_reg *r) { return r->method; }
float cl_reg_lambda(const cl_reg *r) { return r->lambda; }
int cl_reg_samples(const cl_reg *r) { return r ? r->samples : 0; }
int cl_reg_on_test(const cl_reg *r) { return r ? r->on_test : 0; }
int cl_reg_signed(const cl_reg *r) { return r->signed_importance; }

int cl_reg_importance_cost(const cl_reg *r, int nclasses)
{
    const cl_reg_method *m = r->method;
    return m->importance_cost ? m->importance_cost(r, nclasses) : m->end_task ? 1000 : 0;
}

int cl_reg_cost_no_data(const cl_reg *r, int nclasses)
{
    (void)r, (void)nclasses;
    return 0;
}

int cl_reg_step_cost(const cl_reg *r, int old_heads)
{
    return r->method->step_cost ? r->method->step_cost(r, old_heads) : 0;
}

int cl_reg_importance(const cl_reg *r, float *out)
{
    if (!r || !cl_reg_method_has_importance(r->method)) return -1;
    cl_quad_total_omega(&r->quad, out);
    return 0;
}

double cl_reg_quad_penalty(const cl_reg *r, const cl_mlp *m) { return cl_quad_penalty(&r->quad, r->lambda, m->params); }

void cl_reg_quad_add_grad(const cl_reg *r, const cl_mlp *m, float *grad)
{
    if (r->lambda != 0.0f) cl_quad_add_grad(&r->quad, r->lambda, m->params, grad);
}

#include "experiments/shard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/paths.h"
#include "core/quote.h"
#include "experiments/table.h"
#include "experiments/train.h"

/* ---- which shard ---------------------------------------------------------------------------------------- */

/* A whole number in [lo, hi] spelled in plain digits (no sign, no spaces, no 0x). */
static int plain_int(const char *s, long lo, long hi, long *v)
{
    if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 9) return -1;
    *v = strtol(s, NULL, 10);
    return *v < lo || *v > hi ? -1 : 0;
}

static int slurm_var(const char *opt, const char *name, long lo, long *v)
{
    const char *s = getenv(name);
    char q[200];
    if (!s)
        return cl_fail("%s slurm: %s is not set: --shard slurm takes the shard from a SLURM job array's environment "
                       "(sbatch --array); outside one, give --shard I/N", opt, name);
    if (plain_int(s, lo, 1L << 30, v))
        return cl_fail("%s slurm: %s is '%s', expected a whole number from %ld", opt, name, cl_quote_n(q, sizeof q, s, 40),
                       lo);
    return 0;
}

int cl_shard_parse(const char *opt, const char *text, cl_shard *out)
{
    char q[200];
    memset(out, 0, sizeof *out);
    if (!strcmp(text, "slurm")) {
        long id, min, count;
        if (slurm_var(opt, "SLURM_ARRAY_TASK_ID", 0, &id) || slurm_var(opt, "SLURM_ARRAY_TASK_MIN", 0, &min) ||
            slurm_var(opt, "SLURM_ARRAY_TASK_COUNT", 1, &count))
            return -1;
        /* An array 0-9:2 or 1,5,9 has IDs that are not MIN..MIN+COUNT-1: its shards would not cover the grid. */
        if (id < min || id - min >= count)
            return cl_fail("%s slurm: SLURM_ARRAY_TASK_ID %ld is outside %ld..%ld (SLURM_ARRAY_TASK_MIN %ld, "
                           "SLURM_ARRAY_TASK_COUNT %ld): the array's IDs must be consecutive, e.g. "
                           "--array=0-%ld or 1-%ld", opt, id, min, min + count - 1, min, count, count - 1, count);
        if (count > CL_SHARD_MAX)
            return cl_fail("%s slurm: SLURM_ARRAY_TASK_COUNT %ld: at most %d shards", opt, count, CL_SHARD_MAX);
        out->index = (int)(id - min);
        out->count = (int)count;
        return 0;
    }
    const char *slash = strchr(text, '/');
    char a[32];
    long i, n;
    if (!slash || (size_t)(slash - text) >= sizeof a)
        return cl_fail("%s: expected I/N (shard I of N, counting from 0, e.g. 0/4) or slurm, got '%s'", opt,
                       cl_quote_n(q, sizeof q, text, 40));
    memcpy(a, text, (size_t)(slash - text));
    a[slash - text] = 0;
    if (plain_int(slash + 1, 1, CL_SHARD_MAX, &n))
        return cl_fail("%s: '%s': expected the number of shards N from 1 to %d after the '/'", opt,
                       cl_quote_n(q, sizeof q, text, 40), CL_SHARD_MAX);
    if (plain_int(a, 0, n - 1, &i))
        return cl_fail("%s: '%s': expected the shard I from 0 to %ld (shards count from 0) before the '/'", opt,
                       cl_quote_n(q, sizeof q, text, 40), n - 1);
    out->index = (int)i;
    out->count = (int)n;
    return 0;
}

void cl_shard_dirname(const cl_shard *s, char *out, size_t n)
{
    snprintf(out, n, "shard-%d-of-%d", s->index, s->count);
}

/* ---- the cost of a cell --------------------------------------------------------------------------------- */

uint64_t cl_shard_forward_cost(const cl_grid *g, const cl_stream *s, int head)
{
    uint64_t macs, weights;
    int features;
    cl_arch_costs(&g->set.arch, s->channels, s->in_rows, s->in_cols, &macs, &weights, &features);
    return macs + (uint64_t)features * (uint64_t)s->head_out[head];
}

int cl_shard_costs(const cl_grid *g, const cl_data *d, uint64_t *cost)
{
    uint64_t *eval = cl_malloc(sizeof(uint64_t) * (size_t)(g->ncells ? g->ncells : 1));
    int rc = cl_shard_cost_parts(g, d, cost, eval);
    for (int c = 0; c < g->ncells && !rc; c++) cost[c] += eval[c];
    free(eval);
    return rc;
}

int cl_shard_cost_parts(const cl_grid *g, const cl_data *d, uint64_t *cost, uint64_t *evals)
{
    cl_stream s;
    if (cl_grid_stream(g, d, &s)) return -1; /* natural order: task k is id k; cells permute them below */
    int T = s.ntasks, rc = 0;
    /* per task (natural order): forward cost per sample, and the evaluation of one row (test and validation) */
    /* and the weights a per-parameter pass visits (the penalty's cost per step) */
    uint64_t *fwd = cl_malloc(sizeof(uint64_t) * (size_t)T), eval_row = 0;
    uint64_t *wts = cl_malloc(sizeof(uint64_t) * (size_t)T), macs, weights;
    int features;
    cl_arch_costs(&g->set.arch, s.channels, s.in_rows, s.in_cols, &macs, &weights, &features);
    for (int t = 0; t < T; t++) {
        uint64_t head = (uint64_t)features * (uint64_t)s.head_out[s.task[t].head];
        fwd[t] = macs + head;
        wts[t] = weights + head;
        eval_row += fwd[t] * (uint64_t)(s.task[t].ntest + s.task[t].nval);
    }
    int hidden[1] = {1}, heads[1] = {2};
    cl_mlp *probe = cl_mlp_create(1, hidden, 1, heads, 1, 1);
    int nclasses = 0;
    for (int h = 0; h < s.nheads; h++) nclasses = s.head_out[h] > nclasses ? s.head_out[h] : nclasses;
    /* the cells of one parameter combination (its orders x seeds) are consecutive and share a regularizer */
    int block = g->norders * g->nseeds > 0 ? g->norders * g->nseeds : 1;
    uint64_t imp_permille = 0, *step_permille = cl_calloc((size_t)T + 1, sizeof(uint64_t));
    int has_penalty = 0, nsamples = 0, on_test = 0, joint = 0;
    for (int c = 0; c < g->ncells; c++) {
        const cl_grid_cell *cell = &g->cells[c];
        const cl_reg_method *m = g->sections[cell->section].method;
        if (c % block == 0) {
            cl_reg *reg = cl_reg_create(cl_reg_method_name(m), (const char *const *)cell->params, cell->nparams, probe);
            if (!reg) {
                rc = cl_fail_prefix("%s: [%s]", g->shown, g->sections[cell->section].label);
                break;
            }
            imp_permille = (uint64_t)cl_reg_importance_cost(reg, nclasses);
            for (int h = 0; h <= T; h++) step_permille[h] = (uint64_t)cl_reg_step_cost(reg, h);
            has_penalty = cl_reg_method_has_penalty(m);
            nsamples = cl_reg_samples(reg);
            on_test = cl_reg_on_test(reg);
            joint = cl_reg_method_joint(m);
            cl_reg_free(reg);
        }
        const int *order = g->orders[cell->order];
        uint64_t total = 0, eval = eval_row * (uint64_t)(T + 1), union_n = 0, union_cost = 0;
        int old_heads = 0;
        for (int p = 0; p < T; p++) {
            const cl_task *tk = &s.task[order[p]];
            if (p > 0) { /* the distinct heads of the tasks before this one */
                int seen = 0, h = s.task[order[p - 1]].head;
                for (int q = 0; q < p - 1; q++) seen |= s.task[order[q]].head == h;
                old_heads += !seen;
            }
            uint64_t n = (uint64_t)tk->ntrain, tc = fwd[order[p]] * n;
            union_n += n;
            union_cost += tc;
            uint64_t trained = joint ? union_n : n, trained_cost = joint ? union_cost : tc;
            uint64_t spe = (trained + (uint64_t)g->set.batch - 1) / (uint64_t)g->set.batch, steps = spe * (uint64_t)g->set.epochs;
            total += 3 * trained_cost * (uint64_t)g->set.epochs;
            total += 3 * trained_cost * (uint64_t)g->set.epochs * step_permille[old_heads] / 1000;
            if (has_penalty) total += steps * 16 * wts[order[p]];
            /* curve points inside the task, as the runner makes them: after each epoch but the last (the task's
             * end is its matrix row), and every curve_steps steps except where an epoch ends */
            uint64_t points = g->eval_epochs ? (uint64_t)(g->set.epochs - 1) : 0;
            if (g->curve_steps > 0) {
                uint64_t k = (uint64_t)g->curve_steps, a = k, b = spe ? spe : 1;
                while (b) { /* gcd, for the steps that are both a curve step and an epoch's end */
                    uint64_t t = a % b;
                    a = b;
                    b = t;
                }
                points += steps / k - steps / (k / a * (spe ? spe : 1));
            }
            eval += points * eval_row;
            if (imp_permille) {
                uint64_t avail = (uint64_t)(on_test ? tk->ntest : tk->ntrain);
                uint64_t k = nsamples > 0 && (uint64_t)nsamples < avail ? (uint64_t)nsamples : avail;
                total += 3 * k * fwd[order[p]] * imp_permille / 1000;
            }
        }
        cost[c] = total;
        evals[c] = eval;
    }
    cl_mlp_free(probe);
    free(step_permille);
    free(fwd);
    free(wts);
    cl_stream_free(&s);
    return rc;
}

/* ---- the assignment ------------------------------------------------------------------------------------- */

static const uint64_t *sort_cost;
static int by_cost(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    if (sort_cost[x] != sort_cost[y]) return sort_cost[x] > sort_cost[y] ? -1 : 1;
    return x - y;
}

void cl_shard_assign(int ncells, const uint64_t *cost, int nshards, int *shard_of)
{
    int *idx = cl_malloc(sizeof(int) * (size_t)(ncells ? ncells : 1));
    for (int c = 0; c < ncells; c++) idx[c] = c;
    sort_cost = cost; /* qsort has no context argument; this runs once, before any thread starts */
    qsort(idx, (size_t)ncells, sizeof *idx, by_cost);
    /* The least-loaded shard, found by a scan: N is at most the cell count that matters (a shard beyond it
     * gets nothing), and ncells x N stays small next to running one cell. */
    int n = nshards < ncells ? nshards : ncells;
    uint64_t *load = cl_calloc((size_t)(n ? n : 1), sizeof *load);
    for (int k = 0; k < ncells; k++) {
        int best = 0;
        for (int s = 1; s < n; s++)
            if (load[s] < load[best]) best = s;
        shard_of[idx[k]] = best;
        load[best] += cost[idx[k]] ? cost[idx[k]] : 1;
    }
    free(load);
    free(idx);
}

/* ---- shard.txt ------------------------------------------------------------------------------------------ */

int cl_shard_write(const char *dir, const cl_shard *s, int ncells, const int *shard_of)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, CL_SHARD_FILE);
    cl_buf b = {0};
    int k = 0;
    for (int c = 0; c < ncells; c++) k += shard_of[c] == s->index;
    cl_buf_printf(&b, "shard: %d/%d\ncells: %d of the grid's %d\nruns:", s->index, s->count, k, ncells);
    for (int c = 0; c < ncells; c++)
        if (shard_of[c] == s->index) cl_buf_printf(&b, " %d", c + 1);
    cl_buf_printf(&b, "\n");
    int rc = cl_write_file_atomic(path, b.s, b.len);
    cl_buf_free(&b);
    return rc;
}

int cl_shard_read(const char *dir, cl_shard *s, int *ncells, unsigned char **runs)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, CL_SHARD_FILE);
    if (runs) *runs = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        if (errno == ENOENT) return 1;
        return cl_fail("%s: cannot read: %s", path, strerror(errno));
    }
    /* three lines; the runs line holds up to CL_GRID_MAX_CELLS numbers of 6 digits */
    size_t cap = (size_t)CL_GRID_MAX_CELLS * 8 + 4096;
    char *text = cl_malloc(cap + 1);
    size_t len = fread(text, 1, cap + 1, f);
    fclose(f);
    int rc = -1;
    long I, N, K, M;
    unsigned char *mask = NULL;
    char *l2 = NULL, *l3 = NULL, *end = NULL;
    if (len > cap) {
        cl_fail("%s: larger than a shard file can be (edited by hand?)", path);
        goto out;
    }
    text[len] = 0;
    if (memchr(text, 0, len)) {
        cl_fail("%s: holds binary data (edited by hand?)", path);
        goto out;
    }
    if (sscanf(text, "shard: %ld/%ld\n", &I, &N) != 2 || N < 1 || N > CL_SHARD_MAX || I < 0 || I >= N) {
        cl_fail("%s:1: expected 'shard: I/N' with 0 <= I < N <= %d", path, CL_SHARD_MAX);
        goto out;
    }
    l2 = strchr(text, '\n');
    if (!l2 || sscanf(l2 + 1, "cells: %ld of the grid's %ld\n", &K, &M) != 2 || M < 1 || M > CL_GRID_MAX_CELLS ||
        K < 0 || K > M) {
        cl_fail("%s:2: expected 'cells: K of the grid's M' with 0 <= K <= M <= %d", path, CL_GRID_MAX_CELLS);
        goto out;
    }
    if (*ncells && M != *ncells) {
        cl_fail("%s:2: the shard says the grid has %ld cells, the grid has %d: not this grid's shard", path, M, *ncells);
        goto out;
    }
    l3 = strchr(l2 + 1, '\n');
    if (!l3 || strncmp(l3 + 1, "runs:", 5) != 0) {
        cl_fail("%s:3: expected 'runs:' and the shard's run numbers", path);
        goto out;
    }
    mask = cl_calloc((size_t)M + 1, 1);
    char *p = l3 + 6;
    long seen = 0, last = 0;
    while (*p == ' ') {
        long r = strtol(p + 1, &end, 10);
        if (end == p + 1 || r <= last || r > M) {
            cl_fail("%s:3: expected increasing run numbers from 1 to %ld", path, M);
            goto out;
        }
        mask[r] = 1;
        last = r;
        seen++;
        p = end;
    }
    if (strcmp(p, "\n") != 0 || seen != K) {
        cl_fail("%s:3: expected %ld run numbers and the end of the line (a file cut short?)", path, K);
        goto out;
    }
    s->index = (int)I;
    s->count = (int)N;
    *ncells = (int)M;
    if (runs) {
        *runs = mask;
        mask = NULL;
    }
    rc = 0;
out:
    free(mask);
    free(text);
    return rc;
}

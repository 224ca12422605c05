#include "experiments/budget.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cblas.h>

#include "core/error.h"
#include "experiments/train.h"

/* ---- one cell ------------------------------------------------------------------------------------------ */

size_t cl_budget_nparams(int ninput, const int *hidden, int nhidden, const int *head_out, int nheads)
{
    size_t off = 0;
    int in = ninput;
    for (int l = 0; l < nhidden + nheads; l++) {
        size_t out = (size_t)(l < nhidden ? hidden[l] : head_out[l - nhidden]);
        size_t lin = (size_t)(l < nhidden ? in : (nhidden ? hidden[nhidden - 1] : ninput));
        off = (off + out * lin + 15) / 16 * 16;
        off = (off + out + 15) / 16 * 16;
        if (l < nhidden) in = (int)out;
    }
    return off;
}

static double dmax(double a, double b) { return a > b ? a : b; }
static double dmin(double a, double b) { return a < b ? a : b; }

/* The network of an architecture over the stream's inputs, as models/mlp.c builds it: the stem's conv and
 * pooling items, then the dense layers on nfeat features. */
typedef struct net_shape {
    int nhidden, hidden[CL_ARCH_MAX];
    int nfeat;              /* inputs of the first dense layer */
    double stem_params;     /* the conv weights and biases, padded as in the flat buffer */
    double stem_floats;     /* per sample: every stem item's output and backward signal */
    double stem_ints;       /* per sample: max pooling's winners */
    double col;             /* the im2col workspace: the largest conv's */
    double conv_w;          /* the largest conv weight tensor: per-sample gradients' workspace */
    double drop_bytes;      /* per sample: dropout's masks (models/mlp.c) */
    int nconv;
    cl_conv_shape conv[CL_ARCH_MAX];
} net_shape;

static void net_shape_of(net_shape *n, const cl_arch *a, const cl_stream *s)
{
    memset(n, 0, sizeof *n);
    cl_arch_shape shape[CL_ARCH_MAX];
    int c = s->channels, h = s->in_rows, w = s->in_cols;
    n->nfeat = s->input_dim;
    int seen_layer = 0;
    if (cl_arch_shapes(a, c, h, w, shape, NULL, "arch")) return; /* checked with the grid: not reached */
    for (int i = 0; i < a->n; i++) {
        const cl_arch_item *it = &a->item[i];
        double out = (double)shape[i].c * shape[i].h * shape[i].w;
        if (it->kind == CL_ARCH_CONV) {
            cl_conv_shape *cs = &n->conv[n->nconv++];
            cl_conv_shape_init(cs, c, h, w, it->units, it->k, it->stride, it->pad);
            double wsz = (double)it->units * c * it->k * it->k;
            n->stem_params += ceil(wsz / 16) * 16 + ceil(it->units / 16.0) * 16;
            n->col = dmax(n->col, (double)cl_conv_col_size(cs));
            n->conv_w = dmax(n->conv_w, wsz);
        }
        if (it->kind == CL_ARCH_CONV || it->kind == CL_ARCH_MAXPOOL || it->kind == CL_ARCH_AVGPOOL) {
            n->stem_floats += 2 * out;
            if (it->kind == CL_ARCH_MAXPOOL) n->stem_ints += out;
            n->nfeat = (int)out;
        }
        if (it->kind == CL_ARCH_DENSE) n->hidden[n->nhidden++] = it->units;
        /* dropout: a byte of mask per unit it drops; on the input, a float copy of the dropped input instead */
        if (it->kind == CL_ARCH_DROPOUT) n->drop_bytes += seen_layer ? out : 4 * out;
        seen_layer |= it->kind != CL_ARCH_DROPOUT && it->kind != CL_ARCH_FLATTEN;
        if (it->kind != CL_ARCH_DENSE && it->kind != CL_ARCH_FLATTEN && it->kind != CL_ARCH_DROPOUT)
            c = shape[i].c, h = shape[i].h, w = shape[i].w;
    }
}

/* OpenBLAS runs at most the threads it was built for ("MAX_THREADS=64" in Debian's build), however many it
 * is asked for: --threads 1024 has 64 threads' buffers, not 1024. */
static int blas_threads_used(int n)
{
    const char *cfg = openblas_get_config(), *m = cfg ? strstr(cfg, "MAX_THREADS=") : NULL;
    int max = m ? atoi(m + 12) : 0;
    if (n < 1) n = 1;
    return max > 0 && n > max ? max : n;
}

/* OpenBLAS's sgemm C[M][N] = A[M][K] B[K][N] packs a block of A of up to 768 x 384 and a panel of B of up
 * to 384 x N (N up to its buffer of 128 MB divided by the panel's depth: about 86,000) into a per-thread
 * buffer: the pages it touches are what stays resident. */
static double gemm_buffer(double M, double N, double K)
{
    return 4 * (dmin(M, 768) * dmin(K, 384) + dmin(K, 384) * dmin(N, 86000));
}

/* The largest packing of the products of a model: forward (batch x in times in x out), the weight
 * gradient (out x batch times batch x in) and the input signal (batch x out times out x in), for the
 * training batch and the evaluation and importance batch. */
static double blas_buffer(const net_shape *n, int ninput, const int *hidden, int nhidden, double maxout,
                          double batch, double bmax)
{
    double best = 0, in = ninput;
    /* a conv's gemms run one sample at a time: forward (cout x positions x its kernel's inputs), the weight
     * gradient and the input signal */
    for (int i = 0; i < n->nconv; i++) {
        const cl_conv_shape *c = &n->conv[i];
        double KK = (double)c->cin * c->k * c->k, Q = (double)c->ho * c->wo;
        best = dmax(best, gemm_buffer(c->cout, Q, KK));
        best = dmax(best, gemm_buffer(c->cout, KK, Q));
        best = dmax(best, gemm_buffer(KK, Q, c->cout));
    }
    for (int l = 0; l <= nhidden; l++) {
        double out = l < nhidden ? hidden[l] : maxout;
        best = dmax(best, gemm_buffer(bmax, out, in));
        best = dmax(best, gemm_buffer(out, in, dmax(batch, bmax)));
        best = dmax(best, gemm_buffer(batch, in, out));
        in = out;
    }
    return best;
}

void cl_budget_cell_estimate(const cl_budget_run *r, cl_budget_cell *out)
{
    memset(out, 0, sizeof *out);
    const cl_stream *s = r->stream;
    net_shape net;
    net_shape_of(&net, r->arch, s);
    const int *hidden = net.hidden;
    /* in: the model's input per sample; f: the dense layers' first input (the stem's output, or in) */
    int T = s->ntasks, nh = net.nhidden, in = s->input_dim, f = net.nfeat;
    double P = net.stem_params + (double)cl_budget_nparams(f, hidden, nh, s->head_out, s->nheads);
    double B = r->batch > r->eval_batch ? r->batch : r->eval_batch;
    double H = 0, widest = f, maxout = 0;
    for (int l = 0; l < nh; l++) {
        H += hidden[l];
        widest = dmax(widest, hidden[l]);
    }
    for (int h = 0; h < s->nheads; h++) maxout = dmax(maxout, s->head_out[h]);
    widest = dmax(widest, maxout);

    out->model = 4 * (2 * P + B * (2 * H + maxout)) + 4 * B * (net.stem_floats + net.stem_ints) + 4 * net.col +
                 B * net.drop_bytes;
    out->optim = 4 * P * (r->opt == CL_OPT_ADAM ? 2 : 1);

    /* the regularizer */
    /* what the method keeps beyond the shared anchor machinery: its registry entry's memory (regularizer.h) */
    const cl_reg_method *m = r->reg ? cl_reg_method_of(r->reg) : NULL;
    cl_reg_memory mm = {0};
    int joint = m && cl_reg_method_joint(m), per_task = 0;
    if (m) {
        mm = *cl_reg_method_memory(m);
        double terms = 0;
        if (cl_reg_method_has_importance(m)) {
            terms = 1;
            const char *mode = mm.per_task ? cl_reg_get(r->reg, "mode") : NULL;
            /* one term per task: T - 1 of them while the last task trains; its own joins at its end,
             * counted with the end-of-task buffers below */
            if (mode && !strcmp(mode, "separate")) terms = T - 1, per_task = 1;
        }
        out->reg = 4 * P * (2 * terms + mm.state + (cl_reg_method_has_after_step(m) ? 2 : 0));
        /* a frozen copy of the model: its parameters and a batch's workspace */
        if (mm.model_copy) out->reg += 4 * (P + B * (2 * H + maxout)) + 4 * B * (net.stem_floats + net.stem_ints);
    }

    /* the transient buffers of evaluation, importance, saving and probing: one at a time */
    double eval = 4 * B * in + 8 * B;
    double imp = 0;
    if (m && mm.imp == 1) {
        double Bi = B;
        const char *est = cl_reg_get(r->reg, "estimate"), *eb = cl_reg_get(r->reg, "batch");
        if (est && !strcmp(est, "batch") && eb && atof(eb) > 0 && atof(eb) < Bi) Bi = atof(eb);
        double layers = 0, biggest = (double)f * (nh ? hidden[0] : maxout);
        int prev = f;
        for (int l = 0; l <= nh; l++) {
            int o = l < nh ? hidden[l] : (int)maxout;
            layers += prev + o;
            biggest = dmax(biggest, (double)prev * o);
            prev = o;
        }
        imp = 4 * Bi * (in + maxout + layers) + 8 * Bi;
        if (est && !strcmp(est, "batch")) imp += 4 * (biggest + widest);
        imp += 4 * net.conv_w; /* a sample's conv weight gradient, in either estimate */
        /* EWC's Fisher lives through the pass and past it, while a new per-task term takes its copy */
        imp = dmax(imp, per_task ? 8 * P : 0) + 4 * P * mm.imp_extra;
    } else if (m && mm.imp == 2) {
        imp = 4 * B * (in + 2 * widest) + 8 * B + 4 * net.conv_w;
    }
    double save = r->save_state ? 4 * P : 0;
    double probe = r->probe ? 21 * P + eval : 0;
    /* the evaluation batch is the model's once it has evaluated (cl_evaluate keeps it): there from the first
     * evaluation to the end, beside whatever else is transient */
    out->model += eval;
    out->transient = dmax(imp, dmax(save, probe));

    /* training buffers */
    double maxn = 0, union_n = 0;
    for (int t = 0; t < T; t++) {
        maxn = dmax(maxn, s->task[t].ntrain);
        union_n += s->task[t].ntrain;
    }
    out->train = 4 * r->batch * (in + maxout) + 4 * r->batch + 4 * (joint ? union_n : maxn);
    if (joint) out->train += 8 * union_n + 8 * r->batch;

    /* the stream's task views, and the accuracy matrix */
    double C = s->data ? s->data->train.nclasses : maxout;
    for (int t = 0; t < T; t++) {
        const cl_task *k = &s->task[t];
        out->stream += 4 * (C + k->nclasses) + (k->train_idx ? 4.0 * (k->ntrain + k->ntest) : 0);
        if (k->src) out->stream += 4.0 * in;
        if (k->bsrc) out->stream += 32.0 * in;
    }
    out->stream += 4.0 * (T + 1) * T + 4.0 * T;
    if (s->norm_mean) out->stream += 8.0 * s->channels; /* per-channel mean and std */

    /* results rows held until the cell ends: matrix rows (about 20 bytes) and curve rows (about 40), the
     * per-epoch curve rows twice (collected during training, then copied in order) */
    if (r->keep_results) {
        double rows = T, held = T; /* before training */
        for (int t = 0; t < T; t++) {
            double n = 0;
            for (int j = joint ? 0 : t; j <= t; j++) n += s->task[j].ntrain;
            double steps = ceil(n / r->batch) * r->epochs;
            double extra = (r->eval_epochs ? r->epochs - 1 : 0) + (r->curve_steps > 0 ? steps / r->curve_steps : 0);
            rows += T * (1 + extra);
            held += T * (1 + 2 * extra);
        }
        out->curve_rows = rows;
        out->matrix_rows = (double)(T + 1) * T;
        out->results = 40 * held + 20 * out->matrix_rows + 1024;
    }

    /* A product split over several threads packs its shared operand once and each thread its own strip of
     * the other: measured on this project's shapes, every thread past the first adds about a twentieth of
     * the first one's buffer (1, 8 and 64 threads: 25.5, 26.3 and 31.1 MB for the same run). */
    double buf = blas_buffer(&net, f, hidden, nh, maxout, r->batch, B);
    out->blas = buf * (1 + (blas_threads_used(r->blas_threads) - 1) / 16.0);
    out->total = out->model + out->optim + out->reg + out->transient + out->train + out->stream + out->results +
                 out->blas;
}

/* ---- the process now ------------------------------------------------------------------------------------ */

/* VmRSS, VmSize and VmData of this process, in bytes (0 where /proc is not there). */
static void process_sizes(double *rss, double *size, double *data)
{
    *rss = *size = *data = 0;
    FILE *f = fopen("/proc/self/status", "r");
    if (!f) return;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        double kb;
        if (sscanf(line, "VmRSS: %lf", &kb) == 1) *rss = kb * 1024;
        else if (sscanf(line, "VmSize: %lf", &kb) == 1) *size = kb * 1024;
        else if (sscanf(line, "VmData: %lf", &kb) == 1) *data = kb * 1024;
    }
    fclose(f);
}

static double dataset_bytes(const cl_dataset *d)
{
    double elem = d->pix ? 1 : 4;
    return (double)d->n * d->dim * elem + 4.0 * d->n;
}

static void finish(cl_budget *b, const cl_data *d)
{
    process_sizes(&b->resident, &b->vm_size, &b->vm_data);
    b->data = d ? dataset_bytes(&d->train) + dataset_bytes(&d->test) : 0;
    if (b->resident < b->data) b->resident = b->data; /* no /proc: at least the data */
    b->total = b->resident + dmax(b->parallel * b->cell.total, b->finalize);
}

void cl_budget_single(cl_budget *b, const cl_data *d, const cl_budget_run *r)
{
    memset(b, 0, sizeof *b);
    cl_budget_cell_estimate(r, &b->cell);
    b->parallel = 1;
    b->threads = blas_threads_used(r->blas_threads) - 1;
    finish(b, d);
}

int cl_budget_grid(cl_budget *b, const cl_grid *g, const cl_data *d, int threads)
{
    memset(b, 0, sizeof *b);
    cl_stream s;
    if (cl_grid_stream(g, d, &s)) return -1;
    /* the runner's rule (runner.c): BLAS threads per cell from the grid, cells at once from -j unless a
     * cell has several BLAS threads */
    int procs = omp_get_num_procs();
    int bt = g->blas_threads > 0 ? g->blas_threads : (g->ncells == 1 ? procs : 1);
    int par = bt > 1 ? 1 : (threads > 0 ? threads : procs);
    if (par > g->ncells) par = g->ncells;
    if (par < 1) par = 1;
    b->parallel = par;
    b->threads = (par > blas_threads_used(bt) ? par : blas_threads_used(bt)) - 1;

    int hidden[1] = {1}, heads[1] = {2};
    cl_mlp *probe = cl_mlp_create(1, hidden, 1, heads, 1, 1);
    cl_budget_run r = {.stream = &s, .arch = &g->set.arch, .batch = g->set.batch,
                       .eval_batch = cl_eval_batch(&g->set.arch, g->set.batch), .opt = g->set.opt.kind, .epochs = g->set.epochs, .eval_epochs = g->eval_epochs,
                       .curve_steps = g->curve_steps, .keep_results = 1, .save_state = g->save_state,
                       .blas_threads = bt};
    int rc = 0;
    /* the cells of one parameter combination (its orders x seeds) are consecutive and alike */
    int block = g->norders * g->nseeds;
    for (int c = 0; c < g->ncells && !rc; c += block > 0 ? block : 1) {
        const cl_grid_cell *cell = &g->cells[c];
        cl_reg *reg = cl_reg_create(cl_reg_method_name(g->sections[cell->section].method), (const char *const *)cell->params,
                                    cell->nparams, probe);
        if (!reg) {
            rc = cl_fail_prefix("%s: [%s]", g->shown, g->sections[cell->section].label);
            break;
        }
        r.reg = reg;
        cl_budget_cell one;
        cl_budget_cell_estimate(&r, &one);
        if (one.total > b->cell.total) b->cell = one;
        cl_reg_free(reg);
    }
    cl_mlp_free(probe);

    /* Reading the results back at the end (experiments/summary.c): every field of runs, matrix and curves
     * as its own small allocation with its pointer, about 40 bytes, plus the file's text twice. */
    b->finalize = g->ncells * (27 * 40.0 + 300 + b->cell.matrix_rows * (4 * 40 + 40 + 4 * (g->ntasks + 1)) +
                               b->cell.curve_rows * (7 * 40 + 80));
    cl_stream_free(&s);
    if (!rc) finish(b, d);
    return rc;
}

/* ---- limits ------------------------------------------------------------------------------------------------ */

/* Address space each further thread takes, measured on Debian 12 (glibc 2.36, OpenBLAS 0.3.21): a malloc
 * arena reserves 64 MiB, a thread stack RLIMIT_STACK (8 MiB), and OpenBLAS maps a 128 MiB buffer for each
 * thread inside a gemm. Of that, the arena is reserved without write access, so it does not count against
 * RLIMIT_DATA. */
#define THREAD_VM_SIZE (210.0 * 1048576)
#define THREAD_VM_DATA (145.0 * 1048576)

typedef struct limit {
    double bytes;
    const char *noun;  /* what it limits: memory, address space, data segment */
    const char *what;  /* "of physical memory", "ulimit -v allows (RLIMIT_AS)", ... */
    double need;       /* the estimate in this limit's terms */
} limit;

static double read_number(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char buf[64] = "";
    double v = 0;
    if (fgets(buf, sizeof buf, f) && strncmp(buf, "max", 3) != 0) v = strtod(buf, NULL);
    fclose(f);
    return v;
}

/* The smallest memory limit of the cgroups this process is in and their parents: v2's memory.max, v1's
 * memory.limit_in_bytes (no limit reads as "max", or as a number near 2^63). */
static double cgroup_limit(void)
{
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f) return 0;
    double best = 0;
    char line[4096];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2) continue;
        *c2 = 0;
        const char *ctrl = c1 + 1, *path = c2 + 1;
        const char *root, *file;
        if (!*ctrl) root = "/sys/fs/cgroup", file = "memory.max"; /* v2 */
        else if (strstr(ctrl, "memory")) root = "/sys/fs/cgroup/memory", file = "memory.limit_in_bytes";
        else continue;
        char dir[4096];
        snprintf(dir, sizeof dir, "%s%s", root, strcmp(path, "/") ? path : "");
        for (;;) {
            char p[4200];
            snprintf(p, sizeof p, "%s/%s", dir, file);
            double v = read_number(p);
            if (v > 0 && v < 4e18 && (best == 0 || v < best)) best = v;
            char *slash = strrchr(dir, '/');
            if (strlen(dir) <= strlen(root) || !slash) break;
            *slash = 0;
        }
    }
    fclose(f);
    return best;
}

static int limits(const cl_budget *b, limit *out)
{
    int n = 0;
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    if (pages > 0 && psize > 0) out[n++] = (limit){(double)pages * psize, "memory", "of physical memory", b->total};
    double cg = cgroup_limit();
    if (cg > 0) out[n++] = (limit){cg, "memory", "the cgroup allows (memory.max)", b->total};
    double more = b->total - b->resident; /* what the run adds to the process */
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && b->vm_size > 0)
        out[n++] = (limit){(double)rl.rlim_cur, "address space", "ulimit -v allows (RLIMIT_AS)",
                           b->vm_size + more + b->threads * THREAD_VM_SIZE};
    if (getrlimit(RLIMIT_DATA, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY && b->vm_data > 0)
        out[n++] = (limit){(double)rl.rlim_cur, "data segment", "ulimit -d allows (RLIMIT_DATA)",
                           b->vm_data + more + b->threads * THREAD_VM_DATA};
    return n;
}

static const char *fmt_bytes(char *buf, double v)
{
    if (v >= 1e12) sprintf(buf, "%.1f TB", v / 1e12);
    else if (v >= 1e9) sprintf(buf, "%.1f GB", v / 1e9);
    else if (v >= 1e6) sprintf(buf, "%.1f MB", v / 1e6);
    else sprintf(buf, "%.0f kB", v / 1e3);
    return buf;
}

/* "resident 60.1 MB, of it the data 54.9 MB; 2 cells at once x 19.2 MB (model 7.7 MB, optimizer 3.8 MB, ...)" */
static void parts(const cl_budget *b, char *buf, size_t n)
{
    char x[6][32];
    const cl_budget_cell *c = &b->cell;
    struct {
        const char *name;
        double v;
    } p[] = {{"model", c->model},   {"optimizer", c->optim},     {"regularizer", c->reg},
             {"batches", c->transient + c->train}, {"task views", c->stream}, {"results rows", c->results},
             {"BLAS", c->blas}};
    /* the three largest parts of a cell, largest first */
    int idx[7] = {0, 1, 2, 3, 4, 5, 6};
    for (int i = 0; i < 7; i++)
        for (int j = i + 1; j < 7; j++)
            if (p[idx[j]].v > p[idx[i]].v) {
                int t = idx[i];
                idx[i] = idx[j];
                idx[j] = t;
            }
    size_t len = (size_t)snprintf(buf, n, "resident %s, of it the data %s; %d cell%s at once x %s (%s %s, %s %s, "
                                  "%s %s)", fmt_bytes(x[0], b->resident), fmt_bytes(x[1], b->data), b->parallel,
                                  b->parallel == 1 ? "" : "s", fmt_bytes(x[2], c->total), p[idx[0]].name,
                                  fmt_bytes(x[3], p[idx[0]].v), p[idx[1]].name, fmt_bytes(x[4], p[idx[1]].v),
                                  p[idx[2]].name, fmt_bytes(x[5], p[idx[2]].v));
    if (b->finalize > b->parallel * c->total && len < n)
        snprintf(buf + len, n - len, "; reading the results back %s", fmt_bytes(x[0], b->finalize));
}

int cl_budget_check(const cl_budget *b, const char *hint)
{
    limit l[4];
    int n = limits(b, l);
    for (int i = 0; i < n; i++)
        if (l[i].need > l[i].bytes) {
            char p[512], need[32], lim[32];
            parts(b, p, sizeof p);
            return cl_fail("the run needs an estimated %s of %s (%s), more than the %s %s%s%s",
                           fmt_bytes(need, l[i].need), l[i].noun, p, fmt_bytes(lim, l[i].bytes), l[i].what,
                           hint ? ": " : "", hint ? hint : "");
        }
    return 0;
}

void cl_budget_describe(const cl_budget *b, char *buf, size_t n)
{
    limit l[4];
    int k = limits(b, l), tight = -1;
    for (int i = 0; i < k; i++)
        if (tight < 0 || l[i].bytes - l[i].need < l[tight].bytes - l[tight].need) tight = i;
    char p[512], total[32], lim[32], need[32];
    parts(b, p, sizeof p);
    if (tight >= 0)
        snprintf(buf, n, "estimated peak memory %s (%s); the tightest limit is the %s %s (%s of %s needed)",
                 fmt_bytes(total, b->total), p, fmt_bytes(lim, l[tight].bytes), l[tight].what,
                 fmt_bytes(need, l[tight].need), l[tight].noun);
    else
        snprintf(buf, n, "estimated peak memory %s (%s)", fmt_bytes(total, b->total), p);
}

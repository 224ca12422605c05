#include "datasets/stream.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/rng.h"
#include "datasets/dataint.h"

#define SHOW 40 /* characters of user text quoted in messages */

cl_stream_cfg cl_stream_defaults(void)
{
    cl_stream_cfg c = {.kind = CL_STREAM_PERMUTED, .scenario = CL_SCEN_DOMAIN, .ntasks = 0, .pad = 0,
                       .scale01 = CL_SCALE_AUTO, .normalize = CL_NORM_AUTO, .permute_first = 0, .groups = NULL, .angles = NULL,
                       .angle_step = 30.0f, .seed = 1, .order = NULL};
    return c;
}

static const char *const kind_names[] = {"permuted", "split", "rotated"};
static const char *const scen_names[] = {"task", "domain", "class"};

const char *cl_stream_kind_name(cl_stream_kind k) { return kind_names[k]; }
const char *cl_scenario_name(cl_scenario s) { return scen_names[s]; }

int cl_stream_kind_parse(const char *s, cl_stream_kind *out)
{
    for (int i = 0; i < 3; i++)
        if (strcmp(s, kind_names[i]) == 0) {
            *out = (cl_stream_kind)i;
            return 0;
        }
    return cl_fail("unknown stream '%.*s', expected permuted, split or rotated", CL_SHOW, s);
}

int cl_scenario_parse(const char *s, cl_scenario *out)
{
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(scen_names[i]);
        if (strcmp(s, scen_names[i]) == 0 ||
            (strncmp(s, scen_names[i], n) == 0 && strcmp(s + n, "-incremental") == 0)) {
            *out = (cl_scenario)i;
            return 0;
        }
    }
    return cl_fail("unknown scenario '%.*s', expected task, domain or class (-incremental)", CL_SHOW, s);
}

int cl_scale_parse(const char *s, cl_scale_mode *out)
{
    static const char *const on[] = {"255", "yes", "true", "on", "1", NULL}, *const off[] = {"none", "no", "false",
                                                                                          "off", "0", NULL};
    for (int i = 0; on[i]; i++)
        if (!strcmp(s, on[i])) return *out = CL_SCALE_255, 0;
    for (int i = 0; off[i]; i++)
        if (!strcmp(s, off[i])) return *out = CL_SCALE_NONE, 0;
    if (!strcmp(s, "auto")) return *out = CL_SCALE_AUTO, 0;
    char shown[SHOW * 4 + 4];
    cl_data_show(shown, s, SHOW);
    return cl_fail("expected 255 (divide inputs by 255), none (use them as given) or auto (255 for pixel data), "
                   "got '%s'", shown);
}

int cl_norm_parse(const char *s, cl_norm_mode *out)
{
    if (!strcmp(s, "none")) return *out = CL_NORM_NONE, 0;
    if (!strcmp(s, "channel")) return *out = CL_NORM_CHANNEL, 0;
    if (!strcmp(s, "train")) return *out = CL_NORM_TRAIN, 0;
    if (!strcmp(s, "auto")) return *out = CL_NORM_AUTO, 0;
    char shown[SHOW * 4 + 4];
    cl_data_show(shown, s, SHOW);
    return cl_fail("expected none (no normalization), channel (each channel to mean 0 and standard deviation 1 "
                   "over the training split), train (one mean and standard deviation over the training split), "
                   "auto (channel for CIFAR, none otherwise) or values MEAN,STD (per channel M1,M2,M3/S1,S2,S3), "
                   "got '%s'", shown);
}

/* A comma list of up to CL_NORM_MAX_CHANNELS finite numbers; stds (positive) when positive is set. */
static int norm_list(const char *s, size_t len, float *out, int *n, int positive)
{
    char buf[512];
    if (len >= sizeof buf) return -1;
    memcpy(buf, s, len);
    buf[len] = 0;
    *n = 0;
    char *p = buf;
    for (;;) {
        char *end;
        errno = 0;
        double v = strtod(p, &end);
        if (end == p || errno || !isfinite(v) || (positive && !(v > 0)) || *n == CL_NORM_MAX_CHANNELS) return -1;
        out[(*n)++] = (float)v;
        while (isspace((unsigned char)*end)) end++;
        if (!*end) return 0;
        if (*end != ',') return -1;
        p = end + 1;
    }
}

int cl_stream_normalize_parse(const char *s, cl_stream_cfg *cfg)
{
    cl_norm_mode m;
    const char *slash = strchr(s, '/');
    if (!slash && !strchr(s, ',')) {
        if (cl_norm_parse(s, &m)) return -1;
        cfg->normalize = m;
        cfg->norm_n = 0;
        return 0;
    }
    float v[CL_NORM_MAX_CHANNELS], sd[CL_NORM_MAX_CHANNELS];
    int n = 0, k = 0;
    char shown[SHOW * 4 + 4];
    cl_data_show(shown, s, SHOW);
    if (slash) { /* per channel: means / stds */
        if (norm_list(s, (size_t)(slash - s), v, &n, 0) || norm_list(slash + 1, strlen(slash + 1), sd, &k, 1) || n != k)
            return cl_fail("expected per-channel means and standard deviations M1,M2,M3/S1,S2,S3 (as many of each, "
                           "at most %d, the deviations > 0), got '%s'", CL_NORM_MAX_CHANNELS, shown);
    } else {
        if (norm_list(s, strlen(s), v, &n, 0) || n != 2 || !(v[1] > 0))
            return cl_fail("expected MEAN,STD (a mean and a standard deviation > 0 for every channel, in the scaled "
                           "unit, e.g. 0.2860,0.3530), got '%s'", shown);
        sd[0] = v[1];
        n = 1;
    }
    cfg->normalize = CL_NORM_GIVEN;
    cfg->norm_n = n;
    memcpy(cfg->norm_mean, v, sizeof(float) * (size_t)n);
    memcpy(cfg->norm_std, sd, sizeof(float) * (size_t)n);
    return 0;
}

void cl_stream_norm_desc(const cl_stream *s, char *buf, size_t cap)
{
    const char *why = s->cfg.normalize == CL_NORM_AUTO
                          ? (s->norm_mean ? "normalize auto: CIFAR" : "normalize auto")
                          : s->cfg.normalize == CL_NORM_TRAIN ? "normalize train: all channels pooled"
                          : s->cfg.normalize == CL_NORM_GIVEN ? "normalize given"
                          : (s->norm_mean ? "normalize channel" : "normalize none");
    if (!s->norm_mean) {
        snprintf(buf, cap, "no normalization (%s)", why);
        return;
    }
    size_t len = (size_t)snprintf(buf, cap, "per channel (x%s - mean_c) / std_c %s (%s); mean",
                                  s->scale != 1.0f ? "/255" : "",
                                  s->cfg.normalize == CL_NORM_GIVEN ? "as given" : "over the training split", why);
    for (int c = 0; c < s->channels && len < cap; c++)
        len += (size_t)snprintf(buf + len, cap - len, "%s %.4f", c ? "," : "", s->norm_mean[c]);
    if (len < cap) len += (size_t)snprintf(buf + len, cap - len, ", std");
    for (int c = 0; c < s->channels && len < cap; c++)
        len += (size_t)snprintf(buf + len, cap - len, "%s %.4f", c ? "," : "", s->norm_std[c]);
}

/* Pixel data: images, or features that are all whole numbers in 0..255 in both splits. */
static int pixel_data(const cl_data *d)
{
    return (d->train.pix || d->train.byte_valued) && (d->test.pix || d->test.byte_valued);
}

/* Told from the factor actually applied, so that the header line cannot say one thing while the batches
 * do another. */
const char *cl_stream_scale_desc(const cl_stream *s)
{
    int by255 = s->scale != 1.0f;
    if (s->cfg.scale01 == CL_SCALE_NONE || s->cfg.scale01 == CL_SCALE_255)
        return by255 ? "inputs / 255 (scale 255)" : "inputs as given (scale none)";
    if (s->data->train.pix) return by255 ? "inputs / 255 (scale auto: images)" : "inputs as given (scale auto)";
    return by255 ? "inputs / 255 (scale auto: every feature is a whole number in 0..255)"
                 : "inputs as given (scale auto: features are not all whole numbers in 0..255)";
}

/* ---- parsing the group and angle lists ------------------------------------------------------------- */

/* "0,1/2,3" -> groups; every number a class of the data, none twice. */
static int parse_groups(const char *text, int nclasses, int ***groups, int **sizes, int *ngroups)
{
    int cap = 8, n = 0;
    int **g = cl_calloc(cap, sizeof *g);
    int *sz = cl_calloc(cap, sizeof *sz);
    int *seen = cl_calloc(nclasses, sizeof *seen);
    const char *p = text;
    int rc = 0;
    char shown[SHOW * 4 + 4], at[SHOW * 4 + 4];
    cl_data_show(shown, text, SHOW);
    while (rc == 0) {
        if (n == cap) {
            cap *= 2;
            g = cl_realloc(g, cap * sizeof *g);
            sz = cl_realloc(sz, cap * sizeof *sz);
        }
        g[n] = cl_malloc(sizeof(int) * nclasses);
        sz[n] = 0;
        for (;;) {
            char *end;
            errno = 0;
            long v = strtol(p, &end, 10);
            if (end == p || errno) {
                cl_data_show(at, p, 12);
                rc = cl_fail("class groups '%s': expected a class number at '%s' (format: 0,1/2,3/...)", shown, at);
                break;
            }
            if (v < 0 || v >= nclasses) {
                rc = cl_fail("class groups '%s': class %ld is not in the data (classes 0..%d)", shown, v,
                             nclasses - 1);
                break;
            }
            if (seen[v]) {
                rc = cl_fail("class groups '%s': class %ld appears twice", shown, v);
                break;
            }
            seen[v] = 1;
            g[n][sz[n]++] = (int)v;
            p = end;
            while (*p == ' ') p++;
            if (*p == ',') {
                p++;
                continue;
            }
            break;
        }
        n++;
        if (rc) break;
        if (*p == '/') {
            p++;
            continue;
        }
        if (*p) {
            cl_data_show(at, p, 12);
            rc = cl_fail("class groups '%s': unexpected '%s' (format: 0,1/2,3/...)", shown, at);
        }
        break;
    }
    free(seen);
    if (rc) {
        for (int i = 0; i < n; i++) free(g[i]);
        free(g);
        free(sz);
        return -1;
    }
    *groups = g;
    *sizes = sz;
    *ngroups = n;
    return 0;
}

static int parse_angles(const char *text, float **angles, int *n)
{
    int cap = 8, k = 0;
    float *a = cl_malloc(cap * sizeof *a);
    const char *p = text;
    char shown[SHOW * 4 + 4], at[SHOW * 4 + 4];
    cl_data_show(shown, text, SHOW);
    for (;;) {
        char *end;
        float v = strtof(p, &end);
        if (end == p || !isfinite(v)) {
            free(a);
            cl_data_show(at, p, 12);
            return cl_fail("rotation angles '%s': expected a number of degrees at '%s'", shown, at);
        }
        if (k == cap) a = cl_realloc(a, (cap *= 2) * sizeof *a);
        a[k++] = v;
        p = end;
        while (*p == ' ') p++;
        if (*p == ',') {
            p++;
            continue;
        }
        if (*p) {
            free(a);
            cl_data_show(at, p, 12);
            return cl_fail("rotation angles '%s': unexpected '%s'", shown, at);
        }
        break;
    }
    *angles = a;
    *n = k;
    return 0;
}

/* ---- input maps ------------------------------------------------------------------------------------ */

/* Source pixel of padded-grid pixel (r, c), or -1 in the border. */
static int pad_source(int r, int c, int pad, int rows, int cols)
{
    r -= pad;
    c -= pad;
    if (r < 0 || c < 0 || r >= rows || c >= cols) return -1;
    return r * cols + c;
}

/* The rotation of one plane, then the same map for every further channel (its pixels offset by a plane):
 * each colour plane turns the same way, so a pixel keeps its colour. */
static void build_rotation(cl_task *t, float degrees, int pad, int channels, int rows, int cols)
{
    int R = rows + 2 * pad, C = cols + 2 * pad, n = R * C;
    t->bsrc = cl_malloc(sizeof(int) * 4 * n * channels);
    t->bw = cl_malloc(sizeof(float) * 4 * n * channels);
    double th = degrees * 3.14159265358979323846 / 180.0, cs = cos(th), sn = sin(th);
    double cy = (R - 1) / 2.0, cx = (C - 1) / 2.0;
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            /* Rotating the image by +theta means each output pixel samples the input at the inverse
             * rotation of its own position. */
            double dx = c - cx, dy = r - cy;
            double sx = cs * dx - sn * dy + cx, sy = sn * dx + cs * dy + cy;
            int x0 = (int)floor(sx), y0 = (int)floor(sy);
            double fx = sx - x0, fy = sy - y0;
            int p = r * C + c;
            int xs[4] = {x0, x0 + 1, x0, x0 + 1}, ys[4] = {y0, y0, y0 + 1, y0 + 1};
            double ws[4] = {(1 - fx) * (1 - fy), fx * (1 - fy), (1 - fx) * fy, fx * fy};
            for (int q = 0; q < 4; q++) {
                int inside = xs[q] >= 0 && ys[q] >= 0 && xs[q] < C && ys[q] < R;
                t->bsrc[4 * p + q] = inside ? pad_source(ys[q], xs[q], pad, rows, cols) : -1;
                t->bw[4 * p + q] = (float)ws[q];
            }
        }
    for (int ch = 1; ch < channels; ch++)
        for (int k = 0; k < 4 * n; k++) {
            int src = t->bsrc[k];
            t->bsrc[(size_t)ch * 4 * n + k] = src >= 0 ? src + ch * rows * cols : -1;
            t->bw[(size_t)ch * 4 * n + k] = t->bw[k];
        }
}

/* ---- building the stream ---------------------------------------------------------------------------- */

/* Each channel's mean and (population) standard deviation over every pixel of that channel of every training
 * image, on the scaled inputs. Pixels are summed exactly in integers (a channel of CIFAR's 50,000 images sums
 * squares to about 3e12, far inside 64 bits), features in two passes. A constant channel carries nothing; its
 * standard deviation is taken as 1 so that it becomes 0 rather than a division by zero. */
static void channel_stats(cl_stream *s, const cl_dataset *tr, int pooled)
{
    int nch = s->channels;
    size_t plane = (size_t)tr->rows * tr->cols, count = (size_t)tr->n * plane;
    s->norm_mean = cl_malloc(sizeof(float) * nch);
    s->norm_std = cl_malloc(sizeof(float) * nch);
    double *mean_c = cl_malloc(sizeof(double) * nch), *var_c = cl_malloc(sizeof(double) * nch);
    for (int c = 0; c < nch; c++) {
        double mean = 0, var = 0;
        if (tr->pix) {
            uint64_t sum = 0, sq = 0;
            for (int i = 0; i < tr->n; i++) {
                const uint8_t *p = tr->pix + (size_t)i * tr->dim + (size_t)c * plane;
                for (size_t q = 0; q < plane; q++) sum += p[q], sq += (uint64_t)p[q] * p[q];
            }
            mean = (double)sum / count;
            var = ((double)sq - (double)sum * mean) / count;
        } else {
            for (int i = 0; i < tr->n; i++)
                for (size_t q = 0; q < plane; q++) mean += tr->feat[(size_t)i * tr->dim + c * plane + q];
            mean /= count;
            for (int i = 0; i < tr->n; i++)
                for (size_t q = 0; q < plane; q++) {
                    double v = tr->feat[(size_t)i * tr->dim + c * plane + q] - mean;
                    var += v * v;
                }
            var /= count;
        }
        mean_c[c] = mean;
        var_c[c] = var;
    }
    /* pooled: every channel has as many inputs, so the pooled mean is the channels' mean, and the pooled
     * variance the mean of (var_c + mean_c^2) less its square */
    double pm = 0, pv = 0;
    for (int c = 0; c < nch; c++) pm += mean_c[c] / nch;
    for (int c = 0; c < nch; c++) pv += (var_c[c] + mean_c[c] * mean_c[c]) / nch;
    pv -= pm * pm;
    for (int c = 0; c < nch; c++) {
        double mean = pooled ? pm : mean_c[c], var = pooled ? pv : var_c[c];
        double sd = var > 0 ? sqrt(var) : 0;
        s->norm_mean[c] = (float)(mean * s->scale);
        s->norm_std[c] = sd > 0 ? (float)(sd * s->scale) : 1.0f;
    }
    free(mean_c);
    free(var_c);
}

static int *index_of_classes(const cl_dataset *d, const int *label_map, int *count)
{
    int n = 0;
    for (int i = 0; i < d->n; i++) n += label_map[d->labels[i]] >= 0;
    int *idx = cl_malloc(sizeof(int) * (n ? n : 1));
    n = 0;
    for (int i = 0; i < d->n; i++)
        if (label_map[d->labels[i]] >= 0) idx[n++] = i;
    *count = n;
    return idx;
}

/* The held-out validation samples of the training split: per class, round(fraction * n_c) of its samples,
 * drawn from (seed, "validation", class). Keyed by the class alone (not the task, the order or the method),
 * so every cell of a seed holds out the same samples, and a permuted stream's tasks, which all read the
 * whole split, hold out the same images under their different permutations: nothing held out is trained
 * on by any task. NULL when no fraction is asked for. */
static unsigned char *validation_mask(const cl_dataset *tr, int C, float fraction, uint64_t seed)
{
    if (fraction <= 0) return NULL;
    unsigned char *held = cl_calloc((size_t)tr->n ? (size_t)tr->n : 1, 1);
    int *idx = cl_malloc(sizeof(int) * (tr->n ? tr->n : 1));
    for (int c = 0; c < C; c++) {
        int n = 0;
        for (int i = 0; i < tr->n; i++)
            if (tr->labels[i] == c) idx[n++] = i;
        cl_rng r;
        cl_rng_seed(&r, seed, cl_hash_mix(cl_hash_str("validation"), (uint64_t)c));
        cl_rng_shuffle(&r, idx, n);
        int k = (int)lround((double)fraction * n);
        for (int q = 0; q < k; q++) held[idx[q]] = 1;
    }
    free(idx);
    return held;
}

/* Split a task's training samples (ids idx[0..n), or every sample when idx is NULL) into the kept and the
 * held-out ones, both in the dataset's order. */
static void split_validation(cl_task *t, const cl_dataset *tr, const unsigned char *held)
{
    int n = t->train_idx ? t->ntrain : tr->n, nk = 0, nv = 0;
    int *keep = cl_malloc(sizeof(int) * (n ? n : 1)), *val = cl_malloc(sizeof(int) * (n ? n : 1));
    for (int k = 0; k < n; k++) {
        int i = t->train_idx ? t->train_idx[k] : k;
        if (held[i]) val[nv++] = i;
        else keep[nk++] = i;
    }
    free(t->train_idx);
    t->train_idx = keep;
    t->ntrain = nk;
    t->val_idx = val;
    t->nval = nv;
}

int cl_validation_parse(const char *s, float *out)
{
    char *end;
    errno = 0;
    double v = s && *s ? strtod(s, &end) : NAN;
    int pct = 0;
    if (s && *s && end != s && *end == '%') pct = 1, end++;
    if (!s || !*s || end == s || *end || errno || !isfinite(v) || v < 0 || (pct ? v >= 100 : v >= 1))
        return cl_fail("expected the fraction F of each task's training data to hold out, 0 <= F < 1 (0.1, or "
                       "10%%; 0: none), got '%s'", s ? s : "");
    *out = (float)(pct ? v / 100 : v);
    return 0;
}

int cl_stream_part_n(const cl_stream *s, int t, int part)
{
    const cl_task *k = &s->task[t];
    return part == CL_PART_TEST ? k->ntest : part == CL_PART_VAL ? k->nval : k->ntrain;
}

static int check_order(const int *order, int T)
{
    int *seen = cl_calloc(T, sizeof *seen);
    int rc = 0;
    for (int p = 0; p < T && rc == 0; p++) {
        if (order[p] < 0 || order[p] >= T || seen[order[p]])
            rc = cl_fail("task order: entry %d is %d, expected a permutation of 0..%d", p + 1, order[p], T - 1);
        else
            seen[order[p]] = 1;
    }
    free(seen);
    return rc;
}

int cl_stream_create(cl_stream *s, const cl_data *d, const cl_stream_cfg *cfg)
{
    memset(s, 0, sizeof *s);
    const cl_dataset *tr = &d->train;
    int C = tr->nclasses;
    int is_image = tr->pix != NULL; /* CSV rows have no geometry, even when they hold pixels */
    if (cfg->pad < 0 || cfg->pad > 64) return cl_fail("padding %d: expected 0..64 pixels", cfg->pad);
    if (cfg->pad && !is_image) return cl_fail("padding needs image data; '%s' is tabular", tr->name);
    /* 0 is a dataset filled in field by field without the channels: one plane, as before channels existed */
    int nch = tr->channels > 0 ? tr->channels : 1;
    if ((long long)nch * tr->rows * tr->cols != tr->dim)
        return cl_fail("%s: %d channels of %dx%d do not make its %d inputs per sample", tr->name, nch, tr->rows,
                       tr->cols, tr->dim);
    long long padded = nch * ((long long)tr->rows + 2 * cfg->pad) * ((long long)tr->cols + 2 * cfg->pad);
    if (padded > CL_MAX_INPUT_DIM)
        return cl_fail("padding %d: %dx%dx%d images become %dx%lldx%lld = %lld inputs, more than the limit of %d",
                       cfg->pad, nch, tr->rows, tr->cols, nch, (long long)tr->rows + 2 * cfg->pad,
                       (long long)tr->cols + 2 * cfg->pad, padded, CL_MAX_INPUT_DIM);
    if (cfg->normalize < CL_NORM_AUTO || cfg->normalize > CL_NORM_GIVEN)
        return cl_fail("normalize mode %d: expected none, channel, train, auto or given values", cfg->normalize);
    if (cfg->normalize == CL_NORM_GIVEN) {
        int planes = tr->channels > 0 ? tr->channels : 1;
        if (cfg->norm_n != 1 && cfg->norm_n != planes)
            return cl_fail("normalize: %d means and standard deviations for %s's %d channel%s: give one pair for "
                           "every channel, or one per channel", cfg->norm_n, tr->name, planes, planes == 1 ? "" : "s");
        for (int c = 0; c < cfg->norm_n; c++)
            if (!isfinite(cfg->norm_mean[c]) || !(cfg->norm_std[c] > 0) || !isfinite(cfg->norm_std[c]))
                return cl_fail("normalize: channel %d: expected a finite mean and a standard deviation > 0", c + 1);
    }
    if ((unsigned)cfg->kind > CL_STREAM_ROTATED)
        return cl_fail("stream kind %d: expected permuted, split or rotated", (int)cfg->kind);
    if ((unsigned)cfg->scenario > CL_SCEN_CLASS)
        return cl_fail("scenario %d: expected task, domain or class", (int)cfg->scenario);
    if (cfg->scale01 != CL_SCALE_NONE && cfg->scale01 != CL_SCALE_255 && cfg->scale01 != CL_SCALE_AUTO)
        return cl_fail("scale mode %d: expected none, 255 or auto", cfg->scale01);
    if (cfg->kind == CL_STREAM_ROTATED && !is_image)
        return cl_fail("a rotated stream needs image data; '%s' is tabular", tr->name);
    if (d->test.nclasses > C || d->test.dim != tr->dim)
        /* Test labels the train split lacks would index past the label maps. */
        return cl_fail("%s has %d classes and %d features, but %s has %d and %d", d->test.name,
                       d->test.nclasses, d->test.dim, tr->name, C, tr->dim);
    if (cfg->ntasks < 0) return cl_fail("number of tasks %d: expected a positive number", cfg->ntasks);

    /* The natural tasks: class groups (split) or one task per permutation/angle. */
    int **groups = NULL, *gsize = NULL, ngroups = 0;
    float *angles = NULL;
    int nangles = 0;
    int T = cfg->ntasks;
    if (cfg->kind == CL_STREAM_SPLIT) {
        if (cfg->groups) {
            if (parse_groups(cfg->groups, C, &groups, &gsize, &ngroups)) return -1;
        } else {
            if (C < 2) return cl_fail("split stream: the data has %d class, expected at least 2", C);
            /* K tasks asked for: K groups of C/K consecutive classes (split CIFAR-100 in 10 tasks is 10 tasks
             * of 10 classes); otherwise consecutive pairs. Groups have at least 2 classes, so more tasks than
             * C/2 are refused below as before; the last C mod K classes are left out. */
            int size = T > 0 && C / T >= 2 ? C / T : 2;
            ngroups = C / size;
            groups = cl_calloc(ngroups, sizeof *groups);
            gsize = cl_calloc(ngroups, sizeof *gsize);
            for (int g = 0; g < ngroups; g++) {
                groups[g] = cl_malloc(size * sizeof(int));
                for (int k = 0; k < size; k++) groups[g][k] = size * g + k;
                gsize[g] = size;
            }
        }
        if (T == 0) T = ngroups;
        if (T > ngroups) {
            cl_fail("split stream: %d tasks asked for, but there are only %d class groups (%d classes)", T,
                    ngroups, C);
            goto fail;
        }
        if (cfg->scenario == CL_SCEN_DOMAIN)
            for (int g = 1; g < T; g++)
                if (gsize[g] != gsize[0]) {
                    cl_fail("split stream, domain-incremental: class groups must have equal sizes (group 1 has "
                            "%d classes, group %d has %d)", gsize[0], g + 1, gsize[g]);
                    goto fail;
                }
        /* Under one head per task, or one shared head, a one-class task has a single output unit: it is
         * always right and measures nothing. (Class-incremental tasks of one class are meaningful.) */
        if (cfg->scenario != CL_SCEN_CLASS)
            for (int g = 0; g < T; g++) /* an order permutes the first T groups: they are the tasks */
                if (gsize[g] < 2) {
                    cl_fail("split stream, %s-incremental: class group %d has one class (%d), so its task would "
                            "be trivially right; give each group 2 or more classes, or use the class-incremental "
                            "scenario", cl_scenario_name(cfg->scenario), g + 1, groups[g][0]);
                    goto fail;
                }
    } else {
        if (cfg->kind == CL_STREAM_ROTATED && cfg->angles) {
            if (parse_angles(cfg->angles, &angles, &nangles)) return -1;
            if (T == 0) T = nangles;
            if (T > nangles) {
                cl_fail("rotated stream: %d tasks asked for, but only %d angles given", T, nangles);
                goto fail;
            }
        }
        if (T == 0) T = 5;
    }
    if (cfg->order && check_order(cfg->order, T)) goto fail;
    if (!(cfg->validation >= 0 && cfg->validation < 1)) {
        cl_fail("validation %g: expected a fraction 0 <= v < 1 of each task's training data", (double)cfg->validation);
        goto fail;
    }

    s->cfg = *cfg;
    s->cfg.groups = s->cfg.angles = NULL; /* the caller's strings are not kept */
    s->cfg.order = NULL;
    s->data = d;
    s->ntasks = T;
    s->channels = nch;
    s->in_rows = tr->rows + 2 * cfg->pad;
    s->in_cols = tr->cols + 2 * cfg->pad;
    s->input_dim = nch * s->in_rows * s->in_cols;
    int by255 = cfg->scale01 == CL_SCALE_255 || (cfg->scale01 == CL_SCALE_AUTO && pixel_data(d));
    s->scale = by255 ? 1.0f / 255.0f : 1.0f;
    s->task = cl_calloc(T, sizeof *s->task);

    /* Heads. Class-incremental numbers the output units by first appearance along the training order. */
    int per_task = cfg->kind == CL_STREAM_SPLIT ? 0 : C;
    int total = 0;
    for (int p = 0; p < T; p++) {
        int id = cfg->order ? cfg->order[p] : p;
        total += cfg->kind == CL_STREAM_SPLIT ? gsize[id] : per_task;
    }
    s->nheads = cfg->scenario == CL_SCEN_TASK ? T : 1;
    s->head_out = cl_calloc(s->nheads, sizeof(int));

    unsigned char *held = validation_mask(tr, C, cfg->validation, cfg->seed);
    int seen = 0;
    for (int p = 0; p < T; p++) {
        cl_task *t = &s->task[p];
        int id = cfg->order ? cfg->order[p] : p;
        t->id = id;
        t->label_map = cl_malloc(sizeof(int) * C);
        for (int c = 0; c < C; c++) t->label_map[c] = -1;
        if (cfg->kind == CL_STREAM_SPLIT) {
            t->nclasses = gsize[id];
            t->classes = cl_malloc(sizeof(int) * gsize[id]);
            memcpy(t->classes, groups[id], sizeof(int) * gsize[id]);
            int len = snprintf(t->desc, sizeof t->desc, "classes ");
            for (int k = 0; k < t->nclasses && len < (int)sizeof t->desc; k++)
                len += snprintf(t->desc + len, sizeof t->desc - len, k ? ",%d" : "%d", t->classes[k]);
        } else {
            t->nclasses = C;
            t->classes = cl_malloc(sizeof(int) * C);
            for (int c = 0; c < C; c++) t->classes[c] = c;
        }
        for (int k = 0; k < t->nclasses; k++)
            t->label_map[t->classes[k]] = cfg->scenario == CL_SCEN_CLASS ? seen + k : k;
        seen += t->nclasses;
        switch (cfg->scenario) {
        case CL_SCEN_TASK:
            t->head = p;
            s->head_out[p] = t->nclasses;
            t->active = t->nclasses;
            break;
        case CL_SCEN_DOMAIN:
            t->head = 0;
            s->head_out[0] = t->nclasses;
            t->active = t->nclasses;
            break;
        case CL_SCEN_CLASS:
            t->head = 0;
            s->head_out[0] = total;
            t->active = seen;
            break;
        }

        if (cfg->kind == CL_STREAM_SPLIT) {
            t->train_idx = index_of_classes(&d->train, t->label_map, &t->ntrain);
            t->test_idx = index_of_classes(&d->test, t->label_map, &t->ntest);
        } else {
            t->ntrain = d->train.n;
            t->ntest = d->test.n;
        }
        if (held) split_validation(t, tr, held);
        /* Refused here, before anything trains: a task without training data cannot be learned (and
         * importances over no samples fail at its end), one without test data scores nan, and so would one
         * without validation data when a fraction is held out. */
        if (t->ntrain == 0 || t->ntest == 0 || (held && t->nval == 0)) {
            if (held && t->ntrain && t->ntest)
                cl_fail("task %d (%s): validation %g holds out no sample of %s; raise the fraction or use more "
                        "data", p + 1, cfg->kind == CL_STREAM_SPLIT ? t->desc : "all classes",
                        (double)cfg->validation, tr->name);
            else
                cl_fail("task %d (%s) has no %s samples in %s: every task needs both training and test data", p + 1,
                        cfg->kind == CL_STREAM_SPLIT ? t->desc : "all classes", t->ntrain ? "test" : "training",
                        t->ntrain ? d->test.name : tr->name);
            free(held);
            cl_stream_free(s);
            goto fail;
        }

        if (cfg->kind == CL_STREAM_ROTATED) {
            float deg = angles ? angles[id] : id * cfg->angle_step;
            snprintf(t->desc, sizeof t->desc, "rotation %g deg", deg);
            build_rotation(t, deg, cfg->pad, nch, tr->rows, tr->cols);
        } else {
            int permute = cfg->kind == CL_STREAM_PERMUTED && (id > 0 || cfg->permute_first);
            if (cfg->kind == CL_STREAM_PERMUTED) snprintf(t->desc, sizeof t->desc, "permutation %d", id);
            if (permute || cfg->pad) {
                /* One permutation of the pixel positions of a plane, the same in every channel: a pixel's
                 * colour stays together (its red, green and blue move as one), as when a colour image is
                 * permuted. For one-channel data this is the permutation it always was. */
                int n = s->in_rows * s->in_cols, plane = tr->rows * tr->cols;
                int *perm = cl_malloc(sizeof(int) * n);
                for (int q = 0; q < n; q++) perm[q] = q;
                if (permute) {
                    /* Keyed by the natural task id, so a task is the same permutation in every order. */
                    cl_rng r;
                    cl_rng_seed(&r, cfg->seed, cl_hash_mix(cl_hash_str("permutation"), (uint64_t)id));
                    cl_rng_shuffle(&r, perm, n);
                }
                t->src = cl_malloc(sizeof(int) * (size_t)s->input_dim);
                for (int q = 0; q < n; q++) {
                    int src = pad_source(perm[q] / s->in_cols, perm[q] % s->in_cols, cfg->pad, tr->rows, tr->cols);
                    for (int ch = 0; ch < nch; ch++) t->src[ch * n + q] = src >= 0 ? src + ch * plane : -1;
                }
                free(perm);
            }
        }
    }
    if (cfg->normalize == CL_NORM_CHANNEL || cfg->normalize == CL_NORM_TRAIN ||
        (cfg->normalize == CL_NORM_AUTO && d->channel_norm))
        channel_stats(s, tr, cfg->normalize == CL_NORM_TRAIN);
    free(held);
    if (cfg->normalize == CL_NORM_GIVEN) {
        s->norm_mean = cl_malloc(sizeof(float) * s->channels);
        s->norm_std = cl_malloc(sizeof(float) * s->channels);
        for (int c = 0; c < s->channels; c++) {
            s->norm_mean[c] = cfg->norm_mean[cfg->norm_n == 1 ? 0 : c];
            s->norm_std[c] = cfg->norm_std[cfg->norm_n == 1 ? 0 : c];
        }
    }
    for (int g = 0; g < ngroups; g++) free(groups[g]);
    free(groups);
    free(gsize);
    free(angles);
    return 0;

fail:
    for (int g = 0; g < ngroups; g++) free(groups[g]);
    free(groups);
    free(gsize);
    free(angles);
    return -1;
}

void cl_stream_free(cl_stream *s)
{
    for (int p = 0; p < s->ntasks && s->task; p++) {
        cl_task *t = &s->task[p];
        free(t->classes);
        free(t->label_map);
        free(t->train_idx);
        free(t->test_idx);
        free(t->val_idx);
        free(t->src);
        free(t->bsrc);
        free(t->bw);
    }
    free(s->task);
    free(s->head_out);
    free(s->norm_mean);
    free(s->norm_std);
    memset(s, 0, sizeof *s);
}

void cl_stream_batch(const cl_stream *s, int t, int part, const int *pos, int B, float *X, int *y)
{
    const cl_task *tk = &s->task[t];
    const cl_dataset *d = part == CL_PART_TEST ? &s->data->test : &s->data->train;
    const int *idx = part == CL_PART_TEST ? tk->test_idx : part == CL_PART_VAL ? tk->val_idx : tk->train_idx;
    int n = s->input_dim, dim = d->dim;
    float sc = s->scale;
    for (int k = 0; k < B; k++) {
        int i = idx ? idx[pos[k]] : pos[k];
        float *x = X + (size_t)k * n;
        y[k] = tk->label_map[d->labels[i]];
        if (d->pix) {
            const uint8_t *px = d->pix + (size_t)i * dim;
            if (tk->bsrc) {
                for (int q = 0; q < n; q++) {
                    const int *bs = tk->bsrc + 4 * q;
                    const float *bw = tk->bw + 4 * q;
                    float v = 0.0f;
                    for (int c = 0; c < 4; c++)
                        if (bs[c] >= 0) v += bw[c] * px[bs[c]];
                    x[q] = v * sc;
                }
            } else if (tk->src) {
                for (int q = 0; q < n; q++) x[q] = tk->src[q] >= 0 ? px[tk->src[q]] * sc : 0.0f;
            } else {
                for (int q = 0; q < n; q++) x[q] = px[q] * sc;
            }
        } else {
            const float *fx = d->feat + (size_t)i * dim;
            if (tk->src) {
                for (int q = 0; q < n; q++) x[q] = tk->src[q] >= 0 ? fx[tk->src[q]] * sc : 0.0f;
            } else {
                for (int q = 0; q < n; q++) x[q] = fx[q] * sc;
            }
        }
        /* After the input map: a padded border and a rotation's corners are black pixels (0), normalized like
         * any other, as when an image is padded or rotated before it is normalized. */
        if (s->norm_mean) {
            int plane = n / s->channels;
            for (int c = 0; c < s->channels; c++) {
                float m = s->norm_mean[c], inv = 1.0f / s->norm_std[c];
                float *xc = x + (size_t)c * plane;
                for (int q = 0; q < plane; q++) xc[q] = (xc[q] - m) * inv;
            }
        }
    }
}

int cl_stream_eval_active(const cl_stream *s, int i, int j)
{
    if (s->cfg.scenario != CL_SCEN_CLASS) return s->task[j].active;
    return s->task[i > j ? i : j].active;
}

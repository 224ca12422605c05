#include "experiments/settings.h"

#include <stdlib.h>
#include <string.h>

#include "core/args.h"
#include "core/error.h"
#include "core/paths.h"

/* ---- TEXT values ---------------------------------------------------------------------------------------- */

static void replace(char **field, const char *v)
{
    free(*field);
    *field = v ? cl_strdup(v) : NULL;
}

static int set_dataset(cl_settings *s, const char *v, const char *what)
{
    if (cl_data_check_name(v)) return cl_fail_prefix("%s", what);
    replace(&s->dataset, v);
    return 0;
}

static int set_data_path(cl_settings *s, const char *v, const char *what)
{
    /* empty would mean the dataset's default location without a word, like an empty hidden */
    if (!*v) return cl_fail("%s: expected a path, got an empty value (leave it out for the dataset's default)", what);
    replace(&s->data_path, v);
    return 0;
}

static int set_labels(cl_settings *s, const char *v, const char *what)
{
    return cl_labels_mode_parse(v, &s->data_opts.labels) ? cl_fail_prefix("%s", what) : 0;
}

static int set_label_column(cl_settings *s, const char *v, const char *what)
{
    (void)what; /* checked with the dataset (cl_data_check_opts): an empty one too, as a wrong name */
    replace(&s->label_column, v);
    s->data_opts.label_column = s->label_column;
    return 0;
}

static int set_stream(cl_settings *s, const char *v, const char *what)
{
    return cl_stream_kind_parse(v, &s->stream.kind) ? cl_fail_prefix("%s", what) : 0;
}

static int set_scenario(cl_settings *s, const char *v, const char *what)
{
    return cl_scenario_parse(v, &s->stream.scenario) ? cl_fail_prefix("%s", what) : 0;
}

static int set_groups(cl_settings *s, const char *v, const char *what)
{
    if (!*v) return cl_fail("%s: expected class groups such as 0,1/2,3/4,5", what);
    replace(&s->groups, v);
    return 0;
}

static int set_angles(cl_settings *s, const char *v, const char *what)
{
    if (!*v) return cl_fail("%s: expected degrees per task such as 0, 45, 90", what);
    replace(&s->angles, v);
    return 0;
}

static int set_scale(cl_settings *s, const char *v, const char *what)
{
    cl_scale_mode m;
    if (cl_scale_parse(v, &m)) return cl_fail_prefix("%s", what);
    s->stream.scale01 = m;
    return 0;
}

static int set_normalize(cl_settings *s, const char *v, const char *what)
{
    return cl_stream_normalize_parse(v, &s->stream) ? cl_fail_prefix("%s", what) : 0;
}

static int set_validation(cl_settings *s, const char *v, const char *what)
{
    return cl_validation_parse(v, &s->stream.validation) ? cl_fail_prefix("%s", what) : 0;
}

/* arch and hidden both say what the network is: given both, which one was meant is a guess, so it is
 * refused (also the same one twice on a command line is fine: the last wins, as for every option). */
static int model_key(cl_settings *s, const char *key, const char *what)
{
    if (s->arch_key && strcmp(s->arch_key, key))
        return cl_fail("%s: the network is already given by %s; give either arch or hidden, not both", what,
                       s->arch_key);
    s->arch_key = key;
    return 0;
}

static int set_arch(cl_settings *s, const char *v, const char *what)
{
    cl_arch a;
    if (cl_arch_parse(&a, v, what) || model_key(s, "arch", what)) return -1;
    s->arch = a;
    return 0;
}

static int set_hidden(cl_settings *s, const char *v, const char *what)
{
    int hidden[CL_ARCH_MAX], n;
    if (cl_parse_int_list(what, v, hidden, CL_ARCH_MAX, &n) || model_key(s, "hidden", what)) return -1;
    cl_arch_from_hidden(&s->arch, hidden, n);
    return 0;
}

static int set_optimizer(cl_settings *s, const char *v, const char *what)
{
    if (!strcmp(v, "adam")) s->optimizer = CL_OPT_ADAM;
    else if (!strcmp(v, "sgd")) s->optimizer = CL_OPT_SGD;
    else return cl_fail("%s: expected adam or sgd, got '%s'", what, cl_quote(v));
    return 0;
}

/* ---- the table ------------------------------------------------------------------------------------------ */

#define TEXT(key, sec, arg, fn, help) {key, sec, CL_SETTING_TEXT, arg, 0, 0, 0, 0, help, fn}
#define INT(key, sec, arg, lo, hi, field, help)                                                                     \
    {key, sec, CL_SETTING_INT, arg, lo, hi, 0, offsetof(cl_settings, field), help, NULL}
#define FLOAT(key, sec, arg, lo, hi, excl, field, help)                                                             \
    {key, sec, CL_SETTING_FLOAT, arg, lo, hi, excl, offsetof(cl_settings, field), help, NULL}
#define BOOL(key, sec, field, help) {key, sec, CL_SETTING_BOOL, NULL, 0, 1, 0, offsetof(cl_settings, field), help, NULL}

static const char DATA[] = "data", STREAM[] = "task stream", MODEL[] = "model and training";

const cl_setting cl_settings_table[] = {
    TEXT("dataset", DATA, "NAME", set_dataset,
         "fashion-mnist (default), mnist, kmnist, emnist, idx, cifar10, cifar100,\n"
         "cifar100-coarse (the 20 superclasses), csv, synthetic"),
    TEXT("data_path", DATA, "PATH", set_data_path,
         "where the data is: a directory of IDX files (train-images-idx3-ubyte[.gz],\n"
         "train-labels-idx1-ubyte[.gz], t10k-...), or a file prefix such as\n"
         ".../emnist-balanced- ; for csv: TRAIN.csv,TEST.csv; for cifar10: the\n"
         "directory of data_batch_1..5.bin and test_batch.bin, for cifar100: of\n"
         "train.bin and test.bin (binary version; required, each raw or .bin.gz)\n"
         "(fashion-mnist defaults to " CL_FASHION_MNIST_DIR ")"),
    TEXT("labels", DATA, "MODE", set_labels,
         "idx, emnist, csv: index (default): the labels are the classes 0..K-1, each\n"
         "with training samples; remap: number the distinct labels 0..K-1 in\n"
         "increasing order (EMNIST letters' labels are 1..26)"),
    TEXT("label_column", DATA, "C", set_label_column,
         "csv: the label column's header name or 0-based index (default: the\n"
         "column named 'label'; column 0 when the file has no header)"),
    TEXT("stream", STREAM, "KIND", set_stream,
         "permuted (default): each task permutes the pixels (task 1 plain)\n"
         "split: each task is a group of classes\n"
         "rotated: each task rotates the images (bilinear)"),
    TEXT("scenario", STREAM, "S", set_scenario,
         "task | domain (default) | class  (-incremental, van de Ven & Tolias 2019):\n"
         "one head per task / one shared head / one head over all classes seen"),
    INT("tasks", STREAM, "N", 1, 1000, stream.ntasks,
        "number of tasks (default: 5; split: every class group; split without\n"
        "groups: N tasks of C/N consecutive classes, e.g. 10 tasks of 10 on\n"
        "cifar100)"),
    TEXT("groups", STREAM, "G", set_groups, "split: class groups, e.g. 0,1/2,3/4,5 (default: consecutive pairs)"),
    TEXT("angles", STREAM, "A", set_angles, "rotated: degrees per task, e.g. 0,45,90 (default: task t at t * step)"),
    FLOAT("angle_step", STREAM, "D", -360, 360, 0, stream.angle_step, "rotated: degrees between tasks (default 30)"),
    BOOL("permute_first", STREAM, stream.permute_first, "permuted: permute task 1 too"),
    INT("pad", STREAM, "N", 0, 64, stream.pad, "zero border of N pixels (2 makes 28x28 into 32x32; default 0)"),
    TEXT("scale", STREAM, "S", set_scale,
         "255: divide inputs by 255; none: use them as given; auto (default): 255 for\n"
         "images and for CSV features that are all whole numbers in 0..255"),
    TEXT("normalize", STREAM, "N", set_normalize,
         "channel: each channel to (x/255 - mean_c) / std_c, mean and std over the\n"
         "training split; train: one mean and std over the training split, all\n"
         "channels pooled; MEAN,STD: those (in the scaled unit, e.g. 0.2860,0.3530),\n"
         "or per channel M1,M2,M3/S1,S2,S3; none: no normalization; auto (default):\n"
         "channel for the cifar datasets, none for the others"),
    TEXT("validation", STREAM, "F", set_validation,
         "hold out a fraction F of each task's training data (0.1 or 10%), per\n"
         "class, the same samples for every cell of a seed; never trained on. Each\n"
         "run is evaluated on it too, and grids choose lambda by its ACC (default 0:\n"
         "none, and lambda is then chosen on the test data, which flatters)"),
    TEXT("arch", MODEL, "A", set_arch,
         "the network before its heads, items separated by commas (ReLU after each\n"
         "conv and dense): conv<C>k<K>[s<S>][p<P>], maxpool<K>[s<S>], avgpool<K>[s<S>],\n"
         "dense<N>, dropout<P>, flatten; or a preset: mlp (dense400, dense400, the\n"
         "default) or zenke-cifar (conv32k3p1, conv32k3p1, maxpool2, conv64k3p1,\n"
         "conv64k3p1, maxpool2, dense512)"),
    TEXT("hidden", MODEL, "L", set_hidden,
         "hidden layer widths, e.g. 400,400 (the same as arch dense400, dense400);\n"
         "'none' for a linear model"),
    TEXT("optimizer", MODEL, "O", set_optimizer, "adam (default) or sgd (with momentum)"),
    FLOAT("lr", MODEL, "X", 0, 1e6, 1, lr, "learning rate (default: adam 0.001, sgd 0.1)"),
    FLOAT("momentum", MODEL, "X", 0, 0.9999, 0, momentum, "sgd momentum (default 0.9)"),
    INT("epochs", MODEL, "N", 1, 100000, epochs, "epochs per task (default 1)"),
    INT("batch", MODEL, "N", 1, 1 << 20, batch, "minibatch size (default 128)"),
    BOOL("reset_optim", MODEL, reset_optim, "reset the optimizer state at every task boundary"),
};
const int cl_settings_count = (int)(sizeof cl_settings_table / sizeof *cl_settings_table);

void cl_settings_init(cl_settings *s)
{
    memset(s, 0, sizeof *s);
    s->dataset = cl_strdup("fashion-mnist");
    s->data_opts.labels = CL_LABELS_INDEX;
    s->stream = cl_stream_defaults();
    int hidden[2] = {400, 400};
    cl_arch_from_hidden(&s->arch, hidden, 2);
    s->optimizer = CL_OPT_ADAM;
    s->momentum = -1;
    s->epochs = 1;
    s->batch = 128;
    cl_settings_finish(s);
}

void cl_settings_free(cl_settings *s)
{
    free(s->dataset);
    free(s->data_path);
    free(s->label_column);
    free(s->groups);
    free(s->angles);
    memset(s, 0, sizeof *s);
}

const cl_setting *cl_setting_find(const char *name, int option)
{
    for (int i = 0; i < cl_settings_count; i++) {
        const char *k = cl_settings_table[i].key, *n = name;
        for (; *k && *n; k++, n++)
            if (*n != (option && *k == '_' ? '-' : *k)) break;
        if (!*k && !*n) return &cl_settings_table[i];
    }
    return NULL;
}

void cl_setting_option(const cl_setting *e, char *out, size_t n)
{
    snprintf(out, n, "%s", e->key);
    for (char *c = out; *c; c++)
        if (*c == '_') *c = '-';
}

int cl_settings_set(cl_settings *s, const cl_setting *e, const char *value, const char *what)
{
    char *field = (char *)s + e->offset;
    switch (e->type) {
    case CL_SETTING_TEXT: return e->set(s, value, what);
    case CL_SETTING_INT: return cl_parse_int(what, value, (long)e->min, (long)e->max, (int *)(void *)field);
    case CL_SETTING_FLOAT:
        return cl_parse_float(what, value, e->min, e->max, e->min_exclusive, (float *)(void *)field);
    case CL_SETTING_BOOL: return cl_parse_bool(what, value, (int *)(void *)field);
    }
    return -1;
}

void cl_settings_finish(cl_settings *s)
{
    cl_optim_cfg o = cl_optim_defaults(s->optimizer);
    if (s->lr > 0) o.lr = s->lr;
    if (s->momentum >= 0) o.momentum = s->momentum;
    s->opt = o;
    s->stream.groups = s->groups;
    s->stream.angles = s->angles;
}

void cl_settings_help(FILE *f, const char *section)
{
    for (int i = 0; i < cl_settings_count; i++) {
        const cl_setting *e = &cl_settings_table[i];
        if (strcmp(e->section, section)) continue;
        char name[48], opt[64];
        cl_setting_option(e, name, sizeof name);
        snprintf(opt, sizeof opt, "  --%s%s%s", name, e->arg ? " " : "", e->arg ? e->arg : "");
        /* the help's lines, the first beside the option (or below it when the option is long) */
        const char *h = e->help;
        int first = 1;
        while (*h) {
            const char *nl = strchr(h, '\n');
            int len = nl ? (int)(nl - h) : (int)strlen(h);
            if (first && strlen(opt) < 22) fprintf(f, "%-22s%.*s\n", opt, len, h);
            else {
                if (first) fprintf(f, "%s\n", opt);
                fprintf(f, "%-22s%.*s\n", "", len, h);
            }
            first = 0;
            h += len + (nl != NULL);
        }
    }
}

void cl_settings_model_text(const cl_arch *a, char *out, size_t n)
{
    int dense_only = 1;
    for (int i = 0; i < a->n; i++) dense_only &= a->item[i].kind == CL_ARCH_DENSE;
    if (!dense_only) {
        cl_arch_describe(a, out, n);
        return;
    }
    size_t len = 0;
    out[0] = 0; /* a linear model: empty, as runs.csv has always had it */
    for (int i = 0; i < a->n && len < n; i++)
        len += (size_t)snprintf(out + len, n - len, "%s%d", i ? " " : "", a->item[i].units);
}

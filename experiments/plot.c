#include "experiments/plot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "core/quote.h"
#include "core/npy.h"
#include "experiments/runner.h"
#include "experiments/table.h"
#include "regularizers/regularizer.h"

extern char **environ;

static int exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* ---- what gnuplot reads -----------------------------------------------------------------------------------
 * gnuplot's CSV reading is not CSV: it cuts a quoted field at an embedded "" or line break (the rest of the
 * row shifts into the next one), drops backslashes, trims leading blanks and skips a row that starts with
 * '#'. Its word lists (the `labels` variable) split at blanks and keep quoted text together, and a label is
 * part of a file name (matrix_LABEL.png). So the scripts never read the results files themselves: cl_plot
 * writes copies for them into a private temporary directory, in which
 *   - each label is a token: its ASCII letters, digits and "._+-" and its UTF-8 characters beyond ASCII,
 *     every other byte (blanks too, as the grid does) '_', at most TOKEN_MAX bytes; a label that is not
 *     its own token gets "_2", "_3", ... when its token is taken. A label a grid accepts is its own token
 *     unless it holds quotes, backslashes, '#', '/' or the like;
 *   - every other text field has its control bytes, commas, quotes, backslashes, invalid UTF-8 and a
 *     leading '#' replaced by '_' (numbers are unchanged: C writes them with %.6g or as nan).
 * The figures and the matrix file names show the tokens. Label text reaches gnuplot's command line only as
 * tokens in single-quoted strings, where gnuplot expands nothing (no backquotes, no @macros). */

enum { TOKEN_MAX = 64 };

/* s with the bytes gnuplot could misread replaced by '_' (see above), token rules when token, at most max
 * bytes (whole characters), into out (max + 1 bytes). */
static void gp_clean(char *out, size_t max, const char *s, int token)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t k = 0;
    while (*p && k < max) {
        int n = cl_utf8_len(p);
        if (n > 1) {
            if (k + (size_t)n > max) break;
            memcpy(out + k, p, (size_t)n);
            k += (size_t)n;
            p += n;
            continue;
        }
        unsigned char c = *p++;
        int ok;
        if (n == 0) ok = 0;
        else if (token) ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                             c == '_' || c == '+' || c == '-';
        else ok = c >= 0x20 && c < 0x7f && c != ',' && c != '"' && c != '\\' && !(k == 0 && c == '#');
        out[k++] = ok ? (char)c : '_';
    }
    out[k] = 0;
}

/* The labels of a results directory, their tokens and their methods (runs.csv's regularizer column; NULL
 * when no row names one). Rows come grouped by label, so the last label found is remembered: a file of many
 * rows costs one comparison per row. */
typedef struct label_map {
    int n, last;
    char **label, **token, **method;
} label_map;

static int lm_find(label_map *m, const char *label)
{
    if (m->last < m->n && !strcmp(m->label[m->last], label)) return m->last;
    for (int i = 0; i < m->n; i++)
        if (!strcmp(m->label[i], label)) return m->last = i;
    return -1;
}

static const char *lm_token(label_map *m, const char *label)
{
    int i = lm_find(m, label);
    return i < 0 ? NULL : m->token[i];
}

static int lm_taken(const label_map *m, const char *token)
{
    for (int i = 0; i < m->n; i++)
        if (m->token[i] && !strcmp(m->token[i], token)) return 1;
    return 0;
}

static void lm_add(label_map *m, const char *label)
{
    if (lm_find(m, label) >= 0) return;
    m->label = cl_realloc(m->label, sizeof(char *) * (size_t)(m->n + 1));
    m->token = cl_realloc(m->token, sizeof(char *) * (size_t)(m->n + 1));
    m->method = cl_realloc(m->method, sizeof(char *) * (size_t)(m->n + 1));
    m->label[m->n] = cl_strdup(label);
    m->token[m->n] = NULL;
    m->method[m->n] = NULL;
    m->n++;
}

/* Tokens for the labels added so far that have none: the labels that are their own token first, so that a
 * label of the grid never loses its name to another label's token. */
static void lm_assign(label_map *m)
{
    char t[TOKEN_MAX + 1], cand[TOKEN_MAX + 16];
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < m->n; i++) {
            if (m->token[i]) continue;
            gp_clean(t, TOKEN_MAX, m->label[i], 1);
            int own = t[0] && !strcmp(t, m->label[i]);
            if (pass == 0 && !own) continue;
            if (!t[0]) snprintf(t, sizeof t, "_");
            snprintf(cand, sizeof cand, "%s", t);
            for (int k = 2; lm_taken(m, cand); k++) snprintf(cand, sizeof cand, "%s_%d", t, k);
            m->token[i] = cl_strdup(cand);
        }
}

static void lm_free(label_map *m)
{
    for (int i = 0; i < m->n; i++) free(m->label[i]), free(m->token[i]), free(m->method[i]);
    free(m->label);
    free(m->token);
    free(m->method);
    memset(m, 0, sizeof *m);
}

/* Write path: t as gnuplot is to read it (see above), at most maxrows rows (all when negative). */
static int write_copy(const cl_table *t, label_map *m, const char *path, int maxrows)
{
    int cl = cl_table_col(t, "label");
    cl_buf b = {0};
    for (int c = 0; c < t->ncols; c++) {
        char *v = cl_malloc(strlen(t->cols[c]) + 1);
        gp_clean(v, strlen(t->cols[c]), t->cols[c], 0);
        cl_buf_str(&b, v);
        free(v);
    }
    cl_buf_endrow(&b);
    int rows = maxrows < 0 || maxrows > t->nrows ? t->nrows : maxrows;
    for (int r = 0; r < rows; r++) {
        for (int c = 0; c < t->ncols; c++) {
            const char *s = t->cells[r][c];
            if (c == cl) {
                const char *tok = lm_token(m, s);
                cl_buf_str(&b, tok ? tok : "_");
                continue;
            }
            char *v = cl_malloc(strlen(s) + 1);
            gp_clean(v, strlen(s), s, 0);
            cl_buf_str(&b, v);
            free(v);
        }
        cl_buf_endrow(&b);
    }
    int rc = 0;
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(b.s, 1, b.len, f) != b.len) rc = cl_fail("%s: cannot write: %s", path, strerror(errno));
    if (f && fclose(f) && !rc) rc = cl_fail("%s: cannot write: %s", path, strerror(errno));
    cl_buf_free(&b);
    return rc;
}

/* A temporary directory of our own, and its removal (it holds only files, all ours). */
static int make_tmpdir(char *buf, size_t n)
{
    const char *tmp = getenv("TMPDIR");
    if (!tmp || !*tmp) tmp = "/tmp";
    snprintf(buf, n, "%s/clreg-plot-XXXXXX", tmp);
    if (!mkdtemp(buf)) return cl_fail("cannot create a temporary directory in %s: %s", tmp, strerror(errno));
    return 0;
}

static void remove_tmpdir(const char *d)
{
    DIR *dp = opendir(d);
    if (dp) {
        struct dirent *e;
        char path[4800];
        while ((e = readdir(dp)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                snprintf(path, sizeof path, "%s/%s", d, e->d_name);
                unlink(path);
            }
        closedir(dp);
    }
    rmdir(d);
}

/* ---- how each label is drawn -----------------------------------------------------------------------------
 * A method's look is fixed in its registry entry (cl_reg_style), so that a method is drawn the same in every
 * figure of every grid, whatever else the grid holds. A label equal to its method's name gets that style. Any
 * other label of a method is a variant of it ("[ewc online]" is the label ewc_online of ewc): it keeps the
 * method's colour, so that a reader sees the family, and takes the dash and point types of the k-th
 * combination of VARIANT_DASH x VARIANT_POINT, k its rank among the method's variants sorted by label, the
 * method's own combination skipped. The rank counts only the method's own labels, so a variant looks the
 * same whichever other methods a grid has. A method this clreg does not know (results of another version)
 * gets a colour of OTHER_COLOR by the rank of its name among such methods, and its labels are its variants.
 * clreg plot writes the map it draws with as DIR/plots/styles.csv (label token, method, color, dash, point,
 * note), which every script reads through common.gp. */
static const int VARIANT_DASH[] = {2, 4, 5, 3};
static const int VARIANT_POINT[] = {8, 10, 12, 14, 1, 2, 3}; /* 4 x 7, coprime: 28 distinct combinations */
static const char *const OTHER_COLOR[] = {"#9467bd", "#17becf", "#e377c2", "#bcbd22", "#393b79", "#8c6d31"};

enum { NVDASH = sizeof VARIANT_DASH / sizeof *VARIANT_DASH, NVPOINT = sizeof VARIANT_POINT / sizeof *VARIANT_POINT,
       NOTHER = sizeof OTHER_COLOR / sizeof *OTHER_COLOR };

/* The style of label i of m, and the registry's note on its method for legends ("upper bound" for the
 * joint flag, "no penalty" for a method without one, else ""). */
static void label_style(const label_map *m, int i, cl_reg_style *st, const char **note)
{
    const char *meth = m->method[i] ? m->method[i] : "";
    const cl_reg_method *r = cl_reg_find(meth);
    *note = "";
    if (r) {
        *st = *cl_reg_method_style(r);
        *note = cl_reg_method_joint(r) ? "upper bound" : !cl_reg_method_has_penalty(r) ? "no penalty" : "";
    } else {
        /* rank of this unknown method among the distinct unknown methods of the grid, by name */
        int u = 0;
        for (int j = 0; j < m->n; j++) {
            const char *o = m->method[j] ? m->method[j] : "";
            if (cl_reg_find(o) || strcmp(o, meth) >= 0) continue;
            int first = 1;
            for (int q = 0; q < j && first; q++) first = strcmp(m->method[q] ? m->method[q] : "", o) != 0;
            u += first;
        }
        *st = (cl_reg_style){OTHER_COLOR[u % NOTHER], 1, 7};
    }
    if (!strcmp(m->label[i], meth)) return;
    int k = 0, ncomb = NVDASH * NVPOINT; /* rank among the method's variants; combinations other than its own */
    for (int j = 0; j < m->n; j++)
        if (j != i && !strcmp(m->method[j] ? m->method[j] : "", meth) && strcmp(m->label[j], meth) &&
            strcmp(m->label[j], m->label[i]) < 0)
            k++;
    for (int c = 0; c < NVDASH * NVPOINT; c++)
        ncomb -= VARIANT_DASH[c % NVDASH] == st->dash && VARIANT_POINT[c % NVPOINT] == st->point;
    for (int c = 0, seen = 0;; c++) {
        int d = VARIANT_DASH[c % NVDASH], p = VARIANT_POINT[c % NVPOINT];
        if (d == st->dash && p == st->point) continue;
        if (seen++ == k % ncomb) {
            st->dash = d, st->point = p;
            return;
        }
    }
}

/* path: the style map of every label of m (see above), one row per label in m's order. */
static int write_styles(const label_map *m, const char *path)
{
    cl_buf b = {0};
    cl_buf_printf(&b, "label,method,color,dash,point,note\n");
    for (int i = 0; i < m->n; i++) {
        cl_reg_style st;
        const char *note;
        char meth[TOKEN_MAX + 1];
        label_style(m, i, &st, &note);
        gp_clean(meth, TOKEN_MAX, m->method[i] ? m->method[i] : "", 1);
        cl_buf_str(&b, m->token[i]);
        cl_buf_str(&b, meth);
        cl_buf_str(&b, st.color);
        cl_buf_int(&b, st.dash);
        cl_buf_int(&b, st.point);
        cl_buf_str(&b, note);
        cl_buf_endrow(&b);
    }
    int rc = cl_write_file_atomic(path, b.s, b.len);
    cl_buf_free(&b);
    return rc;
}

/* ---- running gnuplot -------------------------------------------------------------------------------------- */

/* What every script of one `clreg plot` is given. */
typedef struct gp_job {
    const char *plotdir; /* the scripts */
    const char *in;      /* the temporary directory of copies the scripts read */
    const char *dir;     /* the results directory as the user named it, for messages */
    const char *outdir;  /* DIR/plots */
    const char *labels;  /* tokens, in summary order, space-separated */
    const char *diverged; /* the tokens of the labels every run of which diverged */
    const char *selected_on; /* how the drawn groups were chosen, for the figures' notes */
    const char *styles;  /* the style map written into outdir */
} gp_job;

/* A path as gnuplot is to open it: gnuplot runs a command for `set output '|...'` and `load '<...'`, and
 * takes an argument starting with '-' for an option, so a relative path gets "./" in front. */
static char *gp_path(const char *p)
{
    size_t n = strlen(p);
    char *s = cl_malloc(n + 3);
    snprintf(s, n + 3, "%s%s", p[0] == '/' ? "" : "./", p);
    return s;
}

/* Append name='value' to a gnuplot command: in single quotes only '' is special (no backquote
 * substitution, no escapes, no @macros). */
static void gp_assign(cl_buf *b, const char *name, const char *value)
{
    cl_buf_printf(b, "%s%s='", b->len ? "; " : "", name);
    for (const char *s = value; *s; s++) cl_buf_printf(b, *s == '\'' ? "''" : "%c", *s);
    cl_buf_printf(b, "'");
}

/* Append s to out (k bytes used, n in all) with control bytes escaped, at most up to byte cap. */
static size_t put_escaped(char *out, size_t k, size_t n, size_t cap, const char *s, size_t len)
{
    for (size_t i = 0; i < len && k + 5 < n && k < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) k += (size_t)snprintf(out + k, n - k, "\\x%02x", c);
        else out[k++] = (char)c;
    }
    out[k] = 0;
    return k;
}

/* One line of gnuplot's error output for a message: the temporary directory named as the results
 * directory, control bytes escaped, at most about 300 bytes. */
static void tidy_line(char *out, size_t n, const char *line, const char *tmp, const char *dir)
{
    size_t k = 0, tl = strlen(tmp);
    out[0] = 0;
    for (const char *s = line; *s && k < 300;) {
        const char *at = tl ? strstr(s, tmp) : NULL;
        size_t len = at ? (size_t)(at - s) : strlen(s);
        k = put_escaped(out, k, n, 300, s, len);
        if (!at) break;
        k = put_escaped(out, k, n, 300, dir, strlen(dir) < 80 ? strlen(dir) : 80);
        s = at + tl;
    }
}

/* Run one script; 0, or -1 with the script name and gnuplot's first error line. name: the output file
 * without extension (in DIR/plots); label: the token matrix.gp draws, or NULL. */
static int run_gnuplot(const gp_job *j, const char *script, const char *name, const char *term, const char *label)
{
    char errpath[4400], spath[4400];
    cl_buf vars = {0}, out = {0};
    cl_buf_printf(&out, "%s/%s", j->outdir, name);
    gp_assign(&vars, "dir", j->in);
    gp_assign(&vars, "out", out.s);
    gp_assign(&vars, "term", term);
    gp_assign(&vars, "plotdir", j->plotdir);
    gp_assign(&vars, "labels", j->labels);
    gp_assign(&vars, "diverged", j->diverged);
    gp_assign(&vars, "selected_on", j->selected_on);
    gp_assign(&vars, "styles", j->styles);
    if (label) gp_assign(&vars, "label", label);
    snprintf(spath, sizeof spath, "%s/%s", j->plotdir, script);
    snprintf(errpath, sizeof errpath, "%s/gnuplot-stderr", j->in);
    int efd = open(errpath, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (efd < 0) {
        cl_buf_free(&vars), cl_buf_free(&out);
        return cl_fail("%s: cannot create: %s", errpath, strerror(errno));
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, efd, 2);
    posix_spawn_file_actions_adddup2(&fa, efd, 1);
    char *argv[] = {"gnuplot", "-e", vars.s, spath, NULL};
    pid_t pid;
    int rc = posix_spawnp(&pid, "gnuplot", &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0) {
        close(efd);
        cl_buf_free(&vars), cl_buf_free(&out);
        return cl_fail("cannot run gnuplot: %s (install it with make deps)", strerror(rc));
    }
    int st = 0;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    char msg[600] = "";
    FILE *ef = fdopen(efd, "r");
    if (ef) {
        rewind(ef);
        char line[600];
        /* gnuplot's error report: the line that names the script position, then the message */
        while (fgets(line, sizeof line, ef))
            if (strstr(line, "line ") || strstr(line, "rror")) {
                line[strcspn(line, "\n")] = 0;
                tidy_line(msg, sizeof msg, line, j->in, j->dir);
                break;
            }
        fclose(ef);
    } else {
        close(efd);
    }
    cl_buf_printf(&out, ".%s", term);
    struct stat fs;
    rc = 0;
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0 || stat(out.s, &fs) != 0 || fs.st_size == 0)
        rc = cl_fail("gnuplot %s (%s) failed%s%s", spath, term, msg[0] ? ": " : "", msg);
    cl_buf_free(&vars), cl_buf_free(&out);
    return rc;
}

static const char *find_plotdir(char *buf, size_t n)
{
    const char *env = getenv("CLREG_PLOTS");
    if (env && *env) return env;
    char exe[4096];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len > 0) {
        exe[len] = 0;
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = 0;
            /* ./clreg at the top of the repository, or build/asan/clreg two levels down */
            const char *ups[] = {"", "/../..", NULL};
            for (int i = 0; ups[i]; i++) {
                snprintf(buf, n, "%s%s/plots/common.gp", exe, ups[i]);
                if (exists(buf)) {
                    snprintf(buf, n, "%s%s/plots", exe, ups[i]);
                    return buf;
                }
            }
        }
    }
    return "plots";
}

/* The copies of every file a script reads (see above) into tmp; the label map covers summary.csv's labels
 * and those of importance_hist.csv, with each label's method from runs.csv. */
static int write_copies(const char *dir, const char *tmp, int imp, label_map *m)
{
    static const char *const files[] = {"summary.csv", "summary_tasks.csv", "summary_matrix.csv", "summary_curves.csv",
                                        "runs.csv", "importance_hist.csv", "importance_scatter.csv", NULL};
    enum { RUNS = 4 }; /* files[RUNS]: runs.csv, the one copy that keeps run numbers and names methods */
    cl_table t[7];
    int nread = 0, rc = 0;
    for (int i = 0; files[i] && !rc; i++) {
        if (i >= 5 && imp <= 0) break;
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (i >= 5 && !exists(path)) break;
        if (cl_table_read(&t[i], path, NULL)) {
            rc = -1;
            break;
        }
        nread = i + 1;
        int cl = cl_table_col(&t[i], "label"), cr = cl_table_col(&t[i], "regularizer");
        if (cl >= 0)
            for (int r = 0; r < t[i].nrows; r++) lm_add(m, t[i].cells[r][cl]);
        /* runs.csv names each label's method (the style map's source) */
        for (int r = 0; i == RUNS && cl >= 0 && cr >= 0 && r < t[i].nrows; r++) {
            int k = lm_find(m, t[i].cells[r][cl]);
            if (!m->method[k]) m->method[k] = cl_strdup(t[i].cells[r][cr]);
        }
    }
    lm_assign(m);
    for (int i = 0; i < nread && !rc; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", tmp, files[i]);
        /* runs.csv: the subtitle reads its first row only */
        rc = write_copy(&t[i], m, path, i == RUNS ? 1 : -1);
    }
    for (int i = 0; i < nread; i++) cl_table_free(&t[i]);
    return rc;
}

/* The tokens of the labels in summary.csv order (into order[], *n of them, borrowed from m) and, as two
 * space-separated lists, of all of them and of those whose every run diverged (n = 0 and diverged > 0 in
 * every group). */
static int label_lists(const char *dir, label_map *m, const char **order, int *n, cl_buf *labels,
                       cl_buf *diverged)
{
    char path[4400];
    cl_table st;
    static const char *const req[] = {"label", "n", "diverged", NULL};
    snprintf(path, sizeof path, "%s/summary.csv", dir);
    if (cl_table_read(&st, path, req)) return -1;
    int cl = cl_table_col(&st, "label"), cn = cl_table_col(&st, "n"), cd = cl_table_col(&st, "diverged");
    cl_buf_printf(labels, "%s", "");
    cl_buf_printf(diverged, "%s", "");
    int rc = 0;
    *n = 0;
    for (int r = 0; r < st.nrows && !rc; r++) {
        int first = 1;
        for (int q = 0; q < r; q++) first &= strcmp(st.cells[q][cl], st.cells[r][cl]) != 0;
        if (!first) continue;
        long nsum = 0, dsum = 0;
        for (int q = r; q < st.nrows && !rc; q++) {
            long gn, gd;
            if (strcmp(st.cells[q][cl], st.cells[r][cl])) continue;
            if (cl_table_int(&st, q, cn, &gn) || cl_table_int(&st, q, cd, &gd)) rc = -1;
            else nsum += gn, dsum += gd;
        }
        const char *tok = lm_token(m, st.cells[r][cl]);
        if (!tok) continue; /* not reached: the map holds summary.csv's labels */
        order[(*n)++] = tok;
        cl_buf_printf(labels, "%s%s", labels->len ? " " : "", tok);
        if (nsum == 0 && dsum > 0) cl_buf_printf(diverged, "%s%s", diverged->len ? " " : "", tok);
    }
    cl_table_free(&st);
    return rc;
}

int cl_plot(const char *dir, const cl_plot_opts *o)
{
    char path[4400], pdbuf[4200];
    snprintf(path, sizeof path, "%s/runs.csv", dir);
    if (!exists(dir)) return cl_fail("%s: no such results directory", dir);
    if (!exists(path)) return cl_fail("%s: no runs.csv: run a grid into it first (clreg run GRID.ini -o %s)", dir, dir);
    /* Summaries: recomputed (cheap) so a selection is always reflected; the aggregation is summary.c's, and
     * the raw results are left as they are (keep_raw): drawing never rewrites them. keep_summaries (the
     * report's figures) draws from the summaries as they are. */
    if (!o->keep_summaries) {
        cl_summarize_opts so = {.select = o->select, .nselect = o->nselect, .keep_raw = 1};
        cl_summarize_report sr;
        if (cl_results_summarize(dir, &so, &sr)) return -1;
    }
    const char *plotdir = o->plotdir ? o->plotdir : find_plotdir(pdbuf, sizeof pdbuf);
    snprintf(path, sizeof path, "%s/common.gp", plotdir);
    if (!exists(path)) return cl_fail("%s: the gnuplot scripts are missing (set CLREG_PLOTS to the plots/ directory)", path);
    snprintf(path, sizeof path, "%s/importance_hist.csv", dir);
    int imp = exists(path); /* written by the summaries when the grid saved state */

    /* every file a script reads, checked here so a problem is one clear message, not gnuplot's */
    static const char *const files[] = {"summary.csv", "summary_tasks.csv", "summary_matrix.csv", "summary_curves.csv", NULL};
    int rows[4], on[3] = {0, 0, 0}; /* selected groups chosen on validation ACC, on test ACC, by --select */
    for (int i = 0; files[i]; i++) {
        cl_table t;
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (cl_table_read(&t, path, NULL)) return -1;
        rows[i] = t.nrows;
        int cs = cl_table_col(&t, "selected"), co = cl_table_col(&t, "selected_on");
        for (int r = 0; i == 0 && cs >= 0 && co >= 0 && r < t.nrows; r++)
            if (!strcmp(t.cells[r][cs], "1"))
                on[!strcmp(t.cells[r][co], "val_acc") ? 0 : !strcmp(t.cells[r][co], "acc") ? 1 : 2]++;
        cl_table_free(&t);
    }
    /* what the figures say about the lambda they draw: an honest figure names the data it was chosen on */
    const char *selected_on = on[2] || (on[0] && on[1]) ? "as chosen per label"
                              : on[0]                   ? "by the best mean validation ACC"
                                                        : "by the best mean test ACC (no validation split)";
    char tmp[4200];
    if (make_tmpdir(tmp, sizeof tmp)) return -1;
    label_map m = {0};
    cl_buf labels = {0}, diverged = {0};
    int rc = write_copies(dir, tmp, imp, &m), nlab = 0;
    const char **order = cl_malloc(sizeof(char *) * (size_t)(m.n + 1));
    if (!rc) rc = label_lists(dir, &m, order, &nlab, &labels, &diverged);
    /* summary_curves.csv has no rows for a group whose every run diverged, so none at all when every label
     * diverged: the figures then say so. Any other file without rows is damaged. */
    for (int i = 0; files[i] && !rc; i++)
        if (rows[i] == 0 && !(i == 3 && !strcmp(labels.s, diverged.s) && labels.len))
            rc = cl_fail("%s/%s: no rows (did every cell diverge?)", dir, files[i]);
    if (o->outdir) snprintf(path, sizeof path, "%s", o->outdir);
    else snprintf(path, sizeof path, "%s/plots", dir);
    if (!rc) rc = cl_mkdirs(path);
    /* gnuplot opens every path it is given as "./..." when relative: a data file '<cmd' would be a command */
    char *pd = gp_path(plotdir), *od = gp_path(path), *in = gp_path(tmp);
    cl_buf styles = {0};
    cl_buf_printf(&styles, "%s/styles.csv", od);
    if (!rc) rc = write_styles(&m, styles.s);
    gp_job job = {pd, in, dir, od, labels.s, diverged.s, selected_on, styles.s};
    static const char *const figures[] = {"curves", "avg_acc", "lambda", "bars", NULL};
    const char *terms[2] = {"png", "svg"};
    for (int ti = 0; ti < 2 && !rc; ti++) {
        if ((ti == 0 && !o->png) || (ti == 1 && !o->svg)) continue;
        for (int f = 0; figures[f] && !rc; f++) {
            char script[64];
            snprintf(script, sizeof script, "%s.gp", figures[f]);
            rc = run_gnuplot(&job, script, figures[f], terms[ti], NULL);
        }
        for (int i = 0; i < nlab && !rc; i++) {
            char name[TOKEN_MAX + 32];
            snprintf(name, sizeof name, "matrix_%s", order[i]);
            rc = run_gnuplot(&job, "matrix.gp", name, terms[ti], order[i]);
        }
        if (!rc && imp > 0) rc = run_gnuplot(&job, "importance.gp", "importance", terms[ti], NULL);
        if (!rc && imp > 0) {
            snprintf(path, sizeof path, "%s/importance_scatter.csv", dir);
            struct stat fs;
            if (stat(path, &fs) == 0 && fs.st_size > 20)
                rc = run_gnuplot(&job, "importance_scatter.gp", "importance_scatter", terms[ti], NULL);
        }
    }
    free(pd);
    free(od);
    free(in);
    free(order);
    cl_buf_free(&styles);
    cl_buf_free(&labels);
    cl_buf_free(&diverged);
    lm_free(&m);
    remove_tmpdir(tmp);
    return rc;
}

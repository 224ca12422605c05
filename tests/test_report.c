/* clreg report: the three files it writes from a small results directory (a tiny grid run the way
 * tests/test_plots.c runs one, and fabricated directories from plots/sample_results.sh for hostile labels):
 *
 *   - report.md holds each selected group's row with the values of summary.csv, and no other group in that
 *     table; --out writes elsewhere and leaves the results directory as it was;
 *   - compare.csv absent and present: the comparison section, the dagger marks and their footnote, a stale
 *     compare.csv (another lambda) losing its marks, a malformed one refused in one line;
 *   - the summaries' newer columns (selected_on, <metric>_ci95, val_acc_*) used when present;
 *   - labels with HTML, Markdown and LaTeX specials escaped in each file, and no label markup live in the page;
 *   - report.html in headless Chromium (Debian's chromium, installed by make deps; the test fails, never
 *     skips, without it): every inline SVG figure laid out with a non-zero size (read from the DOM after the
 *     page's own check ran), and a screenshot that is a valid PNG and not blank; no browser process left;
 *   - tables.tex compiled with pdflatex when there is one, and always checked for its structure (balanced
 *     braces and math, booktabs rules, every row as many cells as its tabular has columns);
 *   - bad directories, a held lock and bad options: one message and a non-zero exit. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>

#include "tests/testutil.h"
#include "tests/testdata.h"
#include "tests/testresults.h"
#include "tests/pngcheck.h"
#include "experiments/dirlock.h"
#include "experiments/table.h"

static char out[1 << 16];
static char *dir;
static char results[4200];

/* Two tasks, two seeds: none, joint, ewc at two lambdas (one selected), mas. A few seconds. */
static const char *grid = "[experiment]\n"
                          "dataset = synthetic\n"
                          "stream = split\n"
                          "scenario = task\n"
                          "tasks = 2\n"
                          "hidden = 16\n"
                          "epochs = 2\n"
                          "batch = 64\n"
                          "seeds = 2\n"
                          "[none]\n[joint]\n[ewc]\nlambda = 1, 100\n[mas]\n";

static int setup(void **state)
{
    (void)state;
    dir = tu_mkdtemp();
    return tr_run_grid(dir, grid, results, sizeof results, out, sizeof out);
}

static int teardown(void **state)
{
    (void)state;
    tu_rmdir(dir);
    return 0;
}

static char *slurp(const char *d, const char *name)
{
    char path[9000];
    snprintf(path, sizeof path, "%s/%s", d, name);
    FILE *f = fopen(path, "rb");
    if (!f) fail_msg("%s: cannot open", path);
    char *t = NULL;
    size_t n = 0, cap = 0, r;
    do {
        if (n + 4096 + 1 > cap) t = realloc(t, cap = 2 * cap + 8192);
        r = fread(t + n, 1, 4096, f);
        n += r;
    } while (r > 0);
    fclose(f);
    t[n] = 0;
    return t;
}

static int exists_in(const char *d, const char *name)
{
    char path[9000];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", d, name);
    return stat(path, &st) == 0;
}

static void write_in(const char *d, const char *name, const char *text)
{
    char path[9000];
    snprintf(path, sizeof path, "%s/%s", d, name);
    td_write_text(path, text);
}

static void remove_in(const char *d, const char *name)
{
    char path[9000];
    snprintf(path, sizeof path, "%s/%s", d, name);
    unlink(path);
}

/* clreg report 'd' opts succeeds with its one line. */
static void report_ok(const char *d, const char *opts)
{
    char args[9000];
    snprintf(args, sizeof args, "report '%s' %s", d, opts);
    int rc = tu_run_clreg(args, out, sizeof out);
    if (rc != 0 || tu_count_lines(out) != 1 || !strstr(out, "report in")) fail_msg("clreg %s: exit %d:\n%s", args, rc, out);
}

/* clreg report ARGS fails with exit status want and one line holding each of the NULL-terminated words. */
static void report_fails(const char *args, int want, const char *const *words)
{
    char a[9000];
    snprintf(a, sizeof a, "report %s", args);
    int rc = tu_run_clreg(a, out, sizeof out);
    if (rc != want) fail_msg("clreg %s: exit %d, expected %d:\n%s", a, rc, want, out);
    if (tu_count_lines(out) != 1) fail_msg("clreg %s: expected one line:\n%s", a, out);
    for (int i = 0; words[i]; i++)
        if (!strstr(out, words[i])) fail_msg("clreg %s: the message does not say '%s':\n%s", a, words[i], out);
}

/* The text of a Markdown section: from its "## title" line to the next "## ". Freed by the caller. */
static char *md_section(const char *md, const char *title)
{
    char h[256];
    snprintf(h, sizeof h, "\n## %s\n", title);
    const char *s = strstr(md, h);
    if (!s) fail_msg("report.md has no section '%s'", title);
    s += strlen(h);
    const char *e = strstr(s, "\n## ");
    size_t n = e ? (size_t)(e - s) : strlen(s);
    char *r = malloc(n + 1);
    memcpy(r, s, n);
    r[n] = 0;
    return r;
}

/* The line of a Markdown table in text whose first cell is label (NULL when none), copied into buf. */
static const char *md_row(const char *text, const char *label, char *buf, size_t n)
{
    char start[300];
    snprintf(start, sizeof start, "| %s |", label);
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        if (!strncmp(l, start, strlen(start))) {
            size_t len = strcspn(l, "\n");
            snprintf(buf, n, "%.*s", (int)len, l);
            return buf;
        }
    return NULL;
}

static int count_rows(const char *text)
{
    int n = 0;
    for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)
        n += l[0] == '|';
    return n;
}

static size_t count_of(const char *s, const char *what)
{
    size_t n = 0;
    for (const char *p = strstr(s, what); p; p = strstr(p + 1, what)) n++;
    return n;
}

static double num(const cl_table *t, int r, const char *col)
{
    double v;
    int c = cl_table_col(t, col);
    if (c < 0 || cl_table_num(t, r, c, &v)) fail_msg("%s: column %s", t->path, col);
    return v;
}

/* ---- the files and their values ------------------------------------------------------------------------- */

static void test_every_file_and_selected_rows(void **state)
{
    (void)state;
    char other[4400], path[9000];
    /* --out first, while the results directory has no report: it must get none, and keep its summaries */
    snprintf(other, sizeof other, "%s/elsewhere/deep", dir);
    char *sum_before = slurp(results, "summary.csv");
    snprintf(path, sizeof path, "--out '%s'", other);
    report_ok(results, path);
    assert_true(exists_in(other, "report.md") && exists_in(other, "report.html") && exists_in(other, "tables.tex"));
    assert_false(exists_in(results, "report.md") || exists_in(results, "report.html") || exists_in(results, "tables.tex"));
    assert_false(exists_in(results, "plots")); /* the figures went through a temporary directory */
    char *sum_after = slurp(results, "summary.csv");
    assert_string_equal(sum_before, sum_after);
    free(sum_before), free(sum_after);

    report_ok(results, "");
    assert_true(exists_in(results, "report.md") && exists_in(results, "report.html") && exists_in(results, "tables.tex"));
    assert_false(exists_in(results, "report.md.tmp") || exists_in(results, "report.html.tmp") ||
                 exists_in(results, "tables.tex.tmp"));
    char *md = slurp(results, "report.md"), *html = slurp(results, "report.html"), *tex = slurp(results, "tables.tex");
    char *sel = md_section(md, "Methods at their selected lambda");
    char *sweep = md_section(md, "Lambda sweep");

    cl_table s;
    snprintf(path, sizeof path, "%s/summary.csv", results);
    assert_int_equal(cl_table_read(&s, path, NULL), 0);
    int cl = cl_table_col(&s, "label"), cp = cl_table_col(&s, "params"), cm = cl_table_col(&s, "lambda"),
        cs = cl_table_col(&s, "selected"), cn = cl_table_col(&s, "n");
    int nsel = 0, unselected = 0;
    for (int r = 0; r < s.nrows; r++) {
        /* the row as the report writes it: label | params | lambda | ACC | BWT | forgetting | intransigence | n */
        char row[2000], want[2000], got[2000];
        const char *lam = strcmp(s.cells[r][cm], "nan") ? s.cells[r][cm] : "";
        /* each metric as mean ± std [mean - ci95, mean + ci95] (the summaries' 95% interval) */
        char cellv[4][200];
        static const char *const mk[4] = {"acc", "bwt", "forgetting", "intransigence"};
        for (int k = 0; k < 4; k++) {
            char nm[64], ns[64], nc[64];
            snprintf(nm, sizeof nm, "%s_mean", mk[k]), snprintf(ns, sizeof ns, "%s_std", mk[k]);
            snprintf(nc, sizeof nc, "%s_ci95", mk[k]);
            double m = num(&s, r, nm), c = num(&s, r, nc);
            snprintf(cellv[k], sizeof cellv[k], "%.3f ± %.3f [%.3f, %.3f]", m, num(&s, r, ns), m - c, m + c);
        }
        snprintf(row, sizeof row, "| %s | %s | %s | %s | %s | %s | %s | %s |", s.cells[r][cl], s.cells[r][cp], lam,
                 cellv[0], cellv[1], cellv[2], cellv[3], s.cells[r][cn]);
        if (!strcmp(s.cells[r][cs], "1")) {
            nsel++;
            if (!md_row(sel, s.cells[r][cl], got, sizeof got) || strcmp(got, row))
                fail_msg("report.md, selected table: expected\n%s\ngot\n%s", row, md_row(sel, s.cells[r][cl], got, sizeof got) ? got : "(none)");
            /* the same values in the page and in LaTeX */
            snprintf(want, sizeof want, "%.3f&nbsp;&plusmn;&nbsp;%.3f", num(&s, r, "acc_mean"), num(&s, r, "acc_std"));
            if (!strstr(html, want)) fail_msg("report.html lacks %s", want);
            snprintf(want, sizeof want, "$%.3f \\pm %.3f$", num(&s, r, "acc_mean"), num(&s, r, "acc_std"));
            if (!strstr(tex, want)) fail_msg("tables.tex lacks %s", want);
        } else {
            unselected++;
            /* an unselected group appears in the sweep only */
            if (strstr(sel, row + 2 + strlen(s.cells[r][cl]))) fail_msg("an unselected group in the selected table:\n%s", row);
        }
        /* the sweep has every group: label | params | lambda | selected | ... */
        char head[600], accv[200];
        snprintf(head, sizeof head, "| %s | %s | %s | %s |", s.cells[r][cl], s.cells[r][cp], lam,
                 !strcmp(s.cells[r][cs], "1") ? "yes" : "");
        /* then the validation ACC (not recorded here: no validation split) and the test ACC with its interval */
        snprintf(accv, sizeof accv, " | %.3f ± %.3f [%.3f, %.3f] |", num(&s, r, "acc_mean"), num(&s, r, "acc_std"),
                 num(&s, r, "acc_mean") - num(&s, r, "acc_ci95"), num(&s, r, "acc_mean") + num(&s, r, "acc_ci95"));
        const char *at = strstr(sweep, head), *eol = at ? strchr(at, '\n') : NULL, *acc_at = at ? strstr(at, accv) : NULL;
        if (!at || !acc_at || (eol && acc_at > eol)) fail_msg("report.md, sweep: no row %s ...%s\n%s", head, accv, sweep);
    }
    assert_true(unselected >= 1);
    assert_int_equal(count_rows(sel), nsel + 2); /* the header and the rule */
    assert_int_equal(count_rows(sweep), s.nrows + 2);
    cl_table_free(&s);

    /* the protocol of a grid without a validation split: selected on test ACC, and said so; intervals */
    assert_non_null(strstr(md, "Selection: each method's lambda and parameters were selected by the highest mean "
                               "test ACC (acc): the grid has no validation split"));
    assert_non_null(strstr(md, "is the 95% confidence interval of the mean"));
    assert_non_null(strstr(md, "Validation metrics: not recorded"));
    /* the manifest: the version and the BLAS line of manifest.txt, the command */
    char *man = slurp(results, "manifest.txt");
    char blas[600];
    const char *b = strstr(man, "\nBLAS: ");
    assert_non_null(b);
    snprintf(blas, sizeof blas, "- BLAS: %.*s", (int)strcspn(b + 7, "\n"), b + 7);
    if (!strstr(md, blas)) fail_msg("report.md lacks '%s'", blas);
    assert_non_null(strstr(md, "- command: `"));
    assert_non_null(strstr(html, "<pre>clreg "));
    free(man);
    /* the page is self-contained: nothing it could fetch */
    assert_null(strstr(html, " src="));
    assert_null(strstr(html, "<link"));
    assert_null(strstr(html, "@import"));
    for (const char *h = strstr(html, "href="); h; h = strstr(h + 1, "href="))
        if (h[6] != '#') fail_msg("report.html: a reference out of the page: %.60s", h);
    free(sel), free(sweep), free(md), free(html), free(tex);
}

/* ---- compare.csv ---------------------------------------------------------------------------------------- */

static const char *const CMP_HEAD = "metric,label,lambda,against,against_lambda,n,mean_diff,t_low,t_high,boot_low,"
                                    "boot_high,p_t,p_wilcoxon,p_t_holm,p_wilcoxon_holm,significant\n";

/* The selected lambda of label (as written) and the label with the best selected mean ACC. */
static void selected_info(const char *label, char *lambda, size_t n, char *best, size_t bn)
{
    char path[4400];
    cl_table s;
    snprintf(path, sizeof path, "%s/summary.csv", results);
    assert_int_equal(cl_table_read(&s, path, NULL), 0);
    double bv = -1;
    for (int r = 0; r < s.nrows; r++) {
        if (strcmp(s.cells[r][cl_table_col(&s, "selected")], "1")) continue;
        if (!strcmp(s.cells[r][cl_table_col(&s, "label")], label)) snprintf(lambda, n, "%s", s.cells[r][cl_table_col(&s, "lambda")]);
        double v = num(&s, r, "acc_mean");
        if (v > bv) bv = v, snprintf(best, bn, "%s", s.cells[r][cl_table_col(&s, "label")]);
    }
    cl_table_free(&s);
}

/* compare.csv: ewc against none significant, mas against none not, none against the best significant;
 * ewc_lambda: the lambda the file says ewc was compared at. */
static void write_compare(const char *ewc_lambda, const char *best, const char *best_lambda, const char *mas_lambda)
{
    char text[4000];
    snprintf(text, sizeof text,
             "%s"
             "acc,ewc,%s,none,nan,4,0.05,0.01,0.09,0.02,0.08,0.004,0.03,0.012,0.045,1\n"
             "acc,mas,%s,none,nan,4,0.01,-0.02,0.04,-0.01,0.03,0.3,0.4,0.6,0.8,0\n"
             "acc,none,nan,%s,%s,4,-0.2,-0.3,-0.1,-0.28,-0.12,1e-05,0.001,3e-05,0.003,1\n",
             CMP_HEAD, ewc_lambda, mas_lambda, best, best_lambda);
    write_in(results, "compare.csv", text);
}

static void test_compare_marks(void **state)
{
    (void)state;
    char ewc_lam[64], mas_lam[64], best_lam[64], best[256], row[2000];
    selected_info("ewc", ewc_lam, sizeof ewc_lam, best, sizeof best);
    selected_info("mas", mas_lam, sizeof mas_lam, best, sizeof best);
    char best_label[256];
    snprintf(best_label, sizeof best_label, "%s", best);
    selected_info(best_label, best_lam, sizeof best_lam, best, sizeof best);
    assert_string_not_equal(best, "none"); /* fine-tuning is never the best of this grid (joint is there) */

    /* absent: the section names the command, and no row has a mark */
    remove_in(results, "compare.csv");
    report_ok(results, "");
    char *md = slurp(results, "report.md");
    char *cmp = md_section(md, "Paired comparisons"), *sel = md_section(md, "Methods at their selected lambda");
    assert_non_null(strstr(cmp, "Not computed"));
    assert_non_null(strstr(cmp, "clreg compare "));
    assert_int_equal(count_rows(cmp), 0);
    assert_non_null(md_row(sel, "ewc", row, sizeof row));
    assert_null(strstr(row, "†"));
    assert_non_null(strstr(sel, "compare.csv is absent"));
    free(md), free(cmp), free(sel);

    /* present: the table, the marks on the significant rows only, the footnote naming both methods */
    write_compare(ewc_lam, best, best_lam, mas_lam);
    report_ok(results, "");
    md = slurp(results, "report.md");
    cmp = md_section(md, "Paired comparisons");
    sel = md_section(md, "Methods at their selected lambda");
    assert_null(strstr(cmp, "Not computed"));
    assert_int_equal(count_rows(cmp), 3 + 2);
    assert_non_null(strstr(cmp, "| acc | ewc |"));
    assert_non_null(strstr(cmp, "| +0.050 | [+0.010, +0.090] | [+0.020, +0.080] | 0.012 (0.004) | 0.045 (0.03) | yes† |"));
    assert_non_null(strstr(cmp, "| no |"));
    assert_non_null(md_row(sel, "ewc", row, sizeof row));
    if (!strstr(row, "†") || strstr(row, "‡")) fail_msg("ewc's row should hold a dagger only:\n%s", row);
    assert_non_null(md_row(sel, "mas", row, sizeof row));
    if (strstr(row, "†") || strstr(row, "‡")) fail_msg("mas's difference is not significant:\n%s", row);
    assert_non_null(md_row(sel, "none", row, sizeof row));
    if (!strstr(row, "‡") || strstr(row, "†")) fail_msg("none differs from the best (%s):\n%s", best, row);
    char foot[600];
    snprintf(foot, sizeof foot, "the best method, %s (acc)", best);
    assert_non_null(strstr(sel, "the reference, none (acc)"));
    if (!strstr(sel, foot)) fail_msg("the footnote does not name the best method: %s\n%s", foot, sel);
    free(md), free(cmp), free(sel);
    /* the same marks in LaTeX and in the page */
    char *tex = slurp(results, "tables.tex"), *html = slurp(results, "report.html");
    assert_non_null(strstr(tex, "^{\\dagger}$"));
    assert_non_null(strstr(tex, "^{\\ddagger}$"));
    assert_non_null(strstr(tex, "\\label{tab:clreg-compare}"));
    assert_non_null(strstr(html, "<sup class=\"mark\">&dagger;</sup>"));
    assert_non_null(strstr(html, "<table id=\"compare\">"));
    free(tex), free(html);

    /* a compare.csv of another selection: ewc's marks are left out, and the report says why */
    write_compare("12345", best, best_lam, mas_lam);
    report_ok(results, "");
    md = slurp(results, "report.md");
    sel = md_section(md, "Methods at their selected lambda");
    assert_non_null(md_row(sel, "ewc", row, sizeof row));
    assert_null(strstr(row, "†"));
    assert_non_null(strstr(sel, "compare.csv is older than summary.csv's selection"));
    assert_non_null(strstr(sel, "it compared ewc at lambda 12345"));
    free(md), free(sel);

    /* compare.csv's role column decides which `against` is the reference and which the best, not the
     * summaries' means: here it says the opposite of what the means would, and the footnote follows it */
    char roled[4000];
    snprintf(roled, sizeof roled,
             "metric,label,lambda,against,role,against_lambda,n,mean_diff,t_low,t_high,boot_low,boot_high,p_t,"
             "p_wilcoxon,p_t_holm,p_wilcoxon_holm,significant\n"
             "acc,ewc,%s,none,best,nan,4,0.05,0.01,0.09,0.02,0.08,0.004,0.03,0.012,0.045,1\n"
             "acc,none,nan,%s,reference,%s,4,-0.2,-0.3,-0.1,-0.28,-0.12,1e-05,0.001,3e-05,0.003,1\n",
             ewc_lam, best, best_lam);
    write_in(results, "compare.csv", roled);
    report_ok(results, "");
    md = slurp(results, "report.md");
    sel = md_section(md, "Methods at their selected lambda");
    assert_non_null(strstr(sel, "the best method, none (acc)"));
    snprintf(foot, sizeof foot, "the reference, %s (acc)", best);
    if (!strstr(sel, foot)) fail_msg("the footnote does not follow the role column: %s\n%s", foot, sel);
    assert_non_null(md_row(sel, "ewc", row, sizeof row));
    if (!strstr(row, "‡") || strstr(row, "†")) fail_msg("ewc differs from the best by role (none):\n%s", row);
    free(md), free(sel);
    char badrole[4000];
    snprintf(badrole, sizeof badrole, "%s", roled);
    char *b0 = strstr(badrole, ",best,");
    memcpy(b0, ",good,", 6);
    write_in(results, "compare.csv", badrole);
    char args0[4400];
    snprintf(args0, sizeof args0, "'%s'", results);
    report_fails(args0, 1, (const char *const[]){"compare.csv:2", "column 'role'", "expected reference or best", NULL});

    /* malformed: one line naming the file and what is wrong; the report files stay as they were */
    char *before = slurp(results, "report.md");
    char args[4400];
    write_in(results, "compare.csv", "metric,label,lambda\nacc,ewc,1\n");
    snprintf(args, sizeof args, "'%s'", results);
    report_fails(args, 1, (const char *const[]){"compare.csv", "no column 'against'", NULL});
    char bad[4000];
    snprintf(bad, sizeof bad, "%sacc,ewc,%s,none,nan,4,0.05,0.01,0.09,0.02,0.08,0.004,0.03,0.012,0.045,2\n", CMP_HEAD, ewc_lam);
    write_in(results, "compare.csv", bad);
    report_fails(args, 1, (const char *const[]){"compare.csv:2", "significant", "expected 0 or 1", NULL});
    snprintf(bad, sizeof bad, "%sacc,ewc,%s,none,nan,4,big,0.01,0.09,0.02,0.08,0.004,0.03,0.012,0.045,1\n", CMP_HEAD, ewc_lam);
    write_in(results, "compare.csv", bad);
    report_fails(args, 1, (const char *const[]){"compare.csv:2", "mean_diff", "'big'", NULL});
    char *after = slurp(results, "report.md");
    assert_string_equal(before, after);
    free(before), free(after);
    remove_in(results, "compare.csv");
}

/* ---- newer summaries -------------------------------------------------------------------------------------- */

/* A copy of d's summary.csv with selected_on (the value so), <metric>_ci95 beside every <metric>_std (the
 * value 10 * std) and val_acc_mean/val_acc_std columns. */
static void add_columns(const char *d, const char *so)
{
    char path[4400];
    cl_table t;
    snprintf(path, sizeof path, "%s/summary.csv", d);
    assert_int_equal(cl_table_read(&t, path, NULL), 0);
    cl_buf b = {0};
    for (int c = 0; c < t.ncols; c++) {
        cl_buf_str(&b, t.cols[c]);
        size_t n = strlen(t.cols[c]);
        if (n > 4 && !strcmp(t.cols[c] + n - 4, "_std")) cl_buf_printf(&b, ",%.*s_ci95", (int)(n - 4), t.cols[c]);
        if (!strcmp(t.cols[c], "selected")) cl_buf_printf(&b, ",selected_on");
    }
    cl_buf_printf(&b, ",val_acc_mean,val_acc_std\n");
    for (int r = 0; r < t.nrows; r++) {
        for (int c = 0; c < t.ncols; c++) {
            cl_buf_str(&b, t.cells[r][c]);
            size_t n = strlen(t.cols[c]);
            if (n > 4 && !strcmp(t.cols[c] + n - 4, "_std")) cl_buf_num(&b, 10 * num(&t, r, t.cols[c]));
            if (!strcmp(t.cols[c], "selected")) cl_buf_str(&b, so);
        }
        cl_buf_num(&b, num(&t, r, "acc_mean") - 0.01);
        cl_buf_num(&b, 0.002);
        cl_buf_endrow(&b);
    }
    td_write_text(path, b.s);
    cl_buf_free(&b);
    cl_table_free(&t);
}

static const char *sample(const char *name, const char *groups)
{
    static char path[4300];
    char cmd[9000];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (groups) setenv("SAMPLE_GROUPS", groups, 1);
    snprintf(cmd, sizeof cmd, "sh plots/sample_results.sh '%s' 3", path);
    int rc = system(cmd);
    unsetenv("SAMPLE_GROUPS");
    if (rc != 0) fail_msg("plots/sample_results.sh %s failed", path);
    return path;
}

static void test_newer_summary_columns(void **state)
{
    (void)state;
    const char *d = sample("newer", NULL);
    add_columns(d, "val_acc");
    report_ok(d, "");
    char *md = slurp(d, "report.md");
    assert_non_null(strstr(md, "selected by the highest mean validation ACC"));
    assert_non_null(strstr(md, "\\[low, high\\] is the 95% confidence interval"));
    /* the interval of every selected ACC: mean -+ the ci95 column (10 x std here) */
    char path[4400];
    cl_table t;
    snprintf(path, sizeof path, "%s/summary.csv", d);
    assert_int_equal(cl_table_read(&t, path, NULL), 0);
    char *sel = md_section(md, "Methods at their selected lambda"), *sweep = md_section(md, "Lambda sweep");
    for (int r = 0; r < t.nrows; r++) {
        if (strcmp(t.cells[r][cl_table_col(&t, "selected")], "1")) continue;
        double m = num(&t, r, "acc_mean"), sd = num(&t, r, "acc_std"), ci = num(&t, r, "acc_ci95");
        char want[200], row[2000];
        snprintf(want, sizeof want, "| %.3f ± %.3f [%.3f, %.3f] |", m, sd, m - ci, m + ci);
        const char *label = t.cells[r][cl_table_col(&t, "label")];
        if (!md_row(sel, label, row, sizeof row) || !strstr(row, want)) fail_msg("%s: expected %s in\n%s", label, want, row);
    }
    assert_non_null(strstr(sweep, "| validation ACC |"));
    cl_table_free(&t);
    free(sel), free(sweep), free(md);

    /* selected on the test data: said plainly */
    d = sample("newer_test", NULL);
    add_columns(d, "acc");
    report_ok(d, "");
    md = slurp(d, "report.md");
    assert_non_null(strstr(md, "selected by the highest mean test ACC (acc): the grid has no validation split"));
    free(md);
}

/* ---- escaping ------------------------------------------------------------------------------------------- */

static void test_special_characters(void **state)
{
    (void)state;
    /* labels with markup, Markdown and every LaTeX special; params with a quote and an ampersand */
    const char *d = sample("hostile", "none\tnone\t\tnan\t0.3\t0.86\t0\n"
                                      "<b>x&y</b> $5_%#{}~^\\\\|*\tewc\tp=\"q\"&r\t1\t0.1\t0.85\t0\n"
                                      "<script>alert(1)</script>\tmas\t\t1\t0.1\t0.85\t0\n");
    report_ok(d, "");
    char *md = slurp(d, "report.md"), *html = slurp(d, "report.html"), *tex = slurp(d, "tables.tex");
    /* HTML: entities, the markup never live; one script element, the page's own */
    assert_non_null(strstr(html, "&lt;b&gt;x&amp;y&lt;/b&gt; $5_%#{}~^\\|*"));
    assert_non_null(strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(html, "p=&quot;q&quot;&amp;r"));
    assert_null(strstr(html, "<b>x"));
    assert_int_equal(count_of(html, "<script"), 1);
    /* Markdown: entities for markup, backslashes for its own specials (a | would split a table cell) */
    assert_non_null(strstr(md, "| &lt;b&gt;x&amp;y&lt;/b&gt; \\$5\\_%\\#{}\\~^\\\\\\|\\* |"));
    assert_null(strstr(md, "<script>"));
    assert_null(strstr(md, "<b>"));
    /* LaTeX: every special escaped */
    const char *want = "\\textless{}b\\textgreater{}x\\&y\\textless{}/b\\textgreater{} "
                       "\\$5\\_\\%\\#\\{\\}\\textasciitilde{}\\textasciicircum{}\\textbackslash{}\\textbar{}*";
    if (!strstr(tex, want)) fail_msg("tables.tex lacks the escaped label %s", want);
    assert_non_null(strstr(tex, "\\textless{}script\\textgreater{}alert(1)\\textless{}/script\\textgreater{}"));
    free(md), free(html), free(tex);
}

/* ---- tables.tex ----------------------------------------------------------------------------------------- */

/* The structure of a booktabs file: -1 with a message in err when braces or $ do not balance (escapes and
 * comments aside), a table or tabular is not closed, a tabular lacks a rule or has them out of order, or a
 * row has another number of cells than its column spec. */
static int tex_structure(const char *t, char *err, size_t n)
{
    int depth = 0, line = 1, dollars = 0, tables = 0, tabulars = 0;
    for (const char *p = t; *p; p++) {
        if (*p == '\n') {
            if (dollars % 2) return snprintf(err, n, "line %d: unbalanced $", line), -1;
            line++;
        } else if (*p == '%') {
            while (p[1] && p[1] != '\n') p++; /* a comment */
        } else if (*p == '\\') {
            if (p[1] && p[1] != '\n') p++; /* \{ \} \$ \% \& \\ ... */
        } else if (*p == '{') depth++;
        else if (*p == '}' && --depth < 0) return snprintf(err, n, "line %d: } without {", line), -1;
        else if (*p == '$') dollars++;
    }
    if (depth) return snprintf(err, n, "%d unclosed {", depth), -1;
    for (const char *p = strstr(t, "\\begin{table}"); p; p = strstr(p + 1, "\\begin{table}")) tables++;
    if (tables == 0 || tables != (int)count_of(t, "\\end{table}")) return snprintf(err, n, "unbalanced table environments"), -1;
    for (const char *p = strstr(t, "\\begin{tabular}{"); p; p = strstr(p + 1, "\\begin{tabular}{")) {
        tabulars++;
        const char *spec = p + strlen("\\begin{tabular}{");
        int cols = (int)strcspn(spec, "}");
        const char *end = strstr(p, "\\end{tabular}"), *top = strstr(p, "\\toprule"), *mid = strstr(p, "\\midrule"),
                   *bot = strstr(p, "\\bottomrule");
        if (!end || !top || !mid || !bot || !(top < mid && mid < bot && bot < end))
            return snprintf(err, n, "a tabular without \\toprule, \\midrule, \\bottomrule in order"), -1;
        /* every row from the header to the last: cells = unescaped & + 1 */
        for (const char *l = strchr(top, '\n') + 1; l < bot; l = strchr(l, '\n') + 1) {
            if (!strncmp(l, "\\midrule", 8)) continue;
            int amp = 0;
            const char *e = strchr(l, '\n');
            for (const char *q = l; q < e; q++) {
                if (*q == '\\') q++;
                else amp += *q == '&';
            }
            if (amp + 1 != cols) return snprintf(err, n, "a row of %d cells in a tabular of %d columns: %.80s", amp + 1, cols, l), -1;
            if (e - l < 3 || strncmp(e - 3, " \\\\", 3)) return snprintf(err, n, "a row not ended by \\\\: %.80s", l), -1;
        }
    }
    if (tabulars != tables || tabulars != (int)count_of(t, "\\end{tabular}"))
        return snprintf(err, n, "%d tables, %d tabulars", tables, tabulars), -1;
    return 0;
}

static int have_program(const char *name)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
    return system(cmd) == 0;
}

static void test_tables_tex(void **state)
{
    (void)state;
    char ewc_lam[64], mas_lam[64], best_lam[64], best[256], err[300];
    selected_info("ewc", ewc_lam, sizeof ewc_lam, best, sizeof best);
    selected_info("mas", mas_lam, sizeof mas_lam, best, sizeof best);
    char best_label[256];
    snprintf(best_label, sizeof best_label, "%s", best);
    selected_info(best_label, best_lam, sizeof best_lam, best, sizeof best);
    write_compare(ewc_lam, best, best_lam, mas_lam);
    report_ok(results, "");
    remove_in(results, "compare.csv");
    char *tex = slurp(results, "tables.tex");
    if (tex_structure(tex, err, sizeof err)) fail_msg("tables.tex: %s", err);
    assert_int_equal(count_of(tex, "\\begin{tabular}"), 4); /* selected, compare, sweep, data */
    assert_non_null(strstr(tex, "\\usepackage{booktabs}"));
    /* the checker itself: it must see a broken file */
    char *broken = strdup(tex);
    char *amp = strstr(broken, " & ");
    amp[1] = ' ';
    assert_int_equal(tex_structure(broken, err, sizeof err), -1);
    free(broken);
    free(tex);
    /* the hostile labels of the previous test, whose escapes are the ones that could break the structure */
    char hostile[4400];
    snprintf(hostile, sizeof hostile, "%s/hostile", dir);
    if (exists_in(hostile, "tables.tex")) {
        tex = slurp(hostile, "tables.tex");
        if (tex_structure(tex, err, sizeof err)) fail_msg("hostile/tables.tex: %s", err);
        free(tex);
    }
    /* a LaTeX where there is one: the tables must compile in a document with booktabs */
    if (have_program("pdflatex")) {
        const char *dirs[2] = {results, hostile};
        for (int i = 0; i < 2; i++) {
            if (!exists_in(dirs[i], "tables.tex")) continue;
            write_in(dirs[i], "doc.tex", "\\documentclass{article}\n\\usepackage[T1]{fontenc}\n\\usepackage{booktabs}\n"
                                         "\\begin{document}\n\\input{tables}\n\\end{document}\n");
            char cmd[9000];
            snprintf(cmd, sizeof cmd, "cd '%s' && pdflatex -interaction=nonstopmode -halt-on-error doc.tex >/dev/null 2>&1",
                     dirs[i]);
            if (system(cmd) != 0) fail_msg("pdflatex failed on %s/tables.tex (see %s/doc.log)", dirs[i], dirs[i]);
            assert_true(exists_in(dirs[i], "doc.pdf"));
        }
    }
}

/* ---- the page in a browser -------------------------------------------------------------------------------- */

/* 1 when a process's command line holds s (a browser process of ours: its --user-data-dir). */
static int process_with(const char *s)
{
    DIR *dp = opendir("/proc");
    int found = 0;
    struct dirent *e;
    while (dp && !found && (e = readdir(dp))) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
        char path[300], buf[8192];
        snprintf(path, sizeof path, "/proc/%s/cmdline", e->d_name);
        int fd = open(path, O_RDONLY);
        if (fd < 0) continue;
        ssize_t n = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (n <= 0) continue;
        for (ssize_t i = 0; i < n; i++)
            if (!buf[i]) buf[i] = ' ';
        buf[n] = 0;
        found = strstr(buf, s) != NULL;
    }
    if (dp) closedir(dp);
    return found;
}

/* Run headless Chromium on url with one more argument (--dump-dom or --screenshot=...), stdout into
 * stdout_path, in its own process group with its own profile directory. It runs as root in a container
 * (--no-sandbox), without a GPU or a large /dev/shm. Whatever it leaves running is killed by its group,
 * and the test fails if a process with its profile directory is still there. Returns its exit status. */
static int chromium(const char *url, const char *arg, const char *stdout_path)
{
    char profile[4400], log[4400];
    snprintf(profile, sizeof profile, "%s/chromium-profile", dir);
    snprintf(log, sizeof log, "%s/chromium.log", dir);
    mkdir(profile, 0700);
    char udd[4500];
    snprintf(udd, sizeof udd, "--user-data-dir=%s", profile);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        setpgid(0, 0);
        int o = open(stdout_path, O_WRONLY | O_CREAT | O_TRUNC, 0644), l = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (o < 0 || l < 0) _exit(126);
        dup2(o, 1), dup2(l, 2);
        execlp("chromium", "chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
               "--window-size=1200,2000", udd, arg, url, (char *)NULL);
        _exit(127);
    }
    setpgid(pid, pid);
    int st = 0;
    /* seconds normally; a hung browser fails the test after a minute instead of hanging the suite */
    for (int ms = 0;; ms += 50) {
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid) break;
        if (ms > 60000) {
            kill(-pid, SIGKILL);
            waitpid(pid, &st, 0);
            fail_msg("chromium did not finish within a minute (log: %s)", log);
        }
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    kill(-pid, SIGKILL); /* helpers of the browser that outlived it */
    int gone = 0;
    for (int i = 0; i < 100 && !gone; i++) {
        gone = !process_with(profile);
        if (!gone) {
            struct timespec ts = {0, 50 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    if (!gone) fail_msg("a chromium process with %s is still running", profile);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 127)
        fail_msg("chromium is not installed: make deps installs it (Debian package chromium)");
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_html_in_chromium(void **state)
{
    (void)state;
    report_ok(results, "");
    char url[4500], dom[4400], shot[4400], arg[4500];
    snprintf(url, sizeof url, "file://%s/report.html", results);
    /* the figures this grid gets: curves, avg_acc, lambda, bars and a matrix per label (none joint ewc mas) */
    const int want = 4 + 4;
    snprintf(dom, sizeof dom, "%s/dom.html", dir);
    int rc = chromium(url, "--dump-dom", dom);
    if (rc != 0) fail_msg("chromium --dump-dom: exit %d (log: %s/chromium.log)", rc, dir);
    char *d = slurp(dir, "dom.html");
    char attr[200];
    snprintf(attr, sizeof attr, "data-figures=\"%d\"", want);
    if (!strstr(d, attr)) fail_msg("the page's check did not run or found other figures than %d: %.300s", want, strstr(d, "<body") ? strstr(d, "<body") : d);
    snprintf(attr, sizeof attr, "data-figures-ok=\"%d\"", want);
    if (!strstr(d, attr)) fail_msg("not every figure rendered with a size: %.200s", strstr(d, "<body"));
    assert_int_equal(count_of(d, "data-rendered=\"1\""), want);
    assert_int_equal(count_of(d, "data-rendered=\"0\""), 0);
    assert_int_equal(count_of(d, "<svg"), want);
    /* the tables reached the DOM as tables */
    assert_non_null(strstr(d, "<table id=\"selected\">"));
    assert_non_null(strstr(d, "<table id=\"sweep\">"));
    free(d);

    snprintf(shot, sizeof shot, "%s/shot.png", dir);
    snprintf(arg, sizeof arg, "--screenshot=%s", shot);
    char sink[4400];
    snprintf(sink, sizeof sink, "%s/shot.out", dir);
    rc = chromium(url, arg, sink);
    if (rc != 0) fail_msg("chromium --screenshot: exit %d (log: %s/chromium.log)", rc, dir);
    int w = 0, h = 0;
    double drawn = 0;
    char err[512];
    if (png_check(shot, &w, &h, &drawn, err, sizeof err)) fail_msg("%s", err);
    assert_int_equal(w, 1200);
    assert_int_equal(h, 2000);
    /* text, tables and the first figures: far more than a blank page's nothing */
    if (drawn < 0.02) fail_msg("%s: only %.2f%% of the pixels differ from the background", shot, 100 * drawn);
}

/* ---- refusals ---------------------------------------------------------------------------------------------- */

static void test_bad_directories_and_options(void **state)
{
    (void)state;
    char args[9000], empty[4400];
    snprintf(args, sizeof args, "'%s/nothing-here'", dir);
    report_fails(args, 1, (const char *const[]){"nothing-here", "no such results directory", NULL});
    snprintf(empty, sizeof empty, "%s/empty", dir);
    mkdir(empty, 0755);
    snprintf(args, sizeof args, "'%s'", empty);
    report_fails(args, 1, (const char *const[]){"summary.csv", "not found", "clreg summarize", "clreg run", NULL});
    assert_false(exists_in(empty, "report.md"));
    /* a summary without a column the tables need */
    write_in(empty, "summary.csv", "label,params,lambda,selected,n,acc_std\nnone,,nan,1,2,0.1\n");
    report_fails(args, 1, (const char *const[]){"summary.csv", "acc_mean", NULL});
    write_in(empty, "summary.csv", "label,params,lambda,selected,n,acc_mean,acc_std\nnone,,nan,yes,2,0.5,0.1\n");
    report_fails(args, 1, (const char *const[]){"summary.csv:2", "selected", NULL});
    assert_false(exists_in(empty, "report.md") || exists_in(empty, "report.md.tmp"));

    /* a directory another clreg holds */
    cl_dirlock lock;
    assert_int_equal(cl_dirlock_take(&lock, results, "test_report holding the lock"), 0);
    snprintf(args, sizeof args, "'%s'", results);
    report_fails(args, 1, (const char *const[]){"test_report holding the lock", NULL});
    cl_dirlock_release(&lock);

    /* options */
    int rc = tu_run_clreg("report --help", out, sizeof out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "report.md"));
    assert_non_null(strstr(out, "report.html"));
    assert_non_null(strstr(out, "tables.tex"));
    assert_non_null(strstr(out, "compare.csv"));
    report_fails("", 2, (const char *const[]){"expected a results directory", NULL});
    report_fails("--bogus x", 2, (const char *const[]){"unknown option '--bogus'", NULL});
    snprintf(args, sizeof args, "'%s' --out", results);
    report_fails(args, 2, (const char *const[]){"--out needs a directory", NULL});
    rc = tu_run_clreg("--help", out, sizeof out);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "  report "));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_file_and_selected_rows),
        cmocka_unit_test(test_compare_marks),
        cmocka_unit_test(test_newer_summary_columns),
        cmocka_unit_test(test_special_characters),
        cmocka_unit_test(test_tables_tex),
        cmocka_unit_test(test_html_in_chromium),
        cmocka_unit_test(test_bad_directories_and_options),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}

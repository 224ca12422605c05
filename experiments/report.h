/* Reports: `clreg report DIR` turns a summarized results directory into three files a researcher hands on:
 *
 *   report.md    the protocol (what was selected on what), each method at its selected lambda, the paired
 *                comparisons of compare.csv (when `clreg compare` wrote one), the whole lambda sweep, the
 *                manifest (clreg version, BLAS kernel, data fingerprint, command)
 *   report.html  the same as one self-contained page: the figures as inline SVG (the gnuplot scripts of
 *                plots/ run with the svg terminal into a temporary directory), inline CSS, no network
 *   tables.tex   the tables as booktabs floats, mean ± std as $0.775 \pm 0.024$, for \input into a paper
 *
 * The three are built from one description of the document (report.c), so they cannot disagree. Every text
 * that comes from the results (labels, params, paths, the command) is user text and is escaped for the
 * format it lands in. Columns that newer summaries carry (selected_on, <metric>_ci95) and compare.csv are
 * optional: when absent, the report says "not recorded" or names the command that writes them. */
#ifndef CLREG_REPORT_H
#define CLREG_REPORT_H

typedef struct cl_report_opts {
    const char *outdir;  /* where the three files go (NULL: DIR); created when missing */
    const char *plotdir; /* the gnuplot scripts (NULL: found as clreg plot finds them) */
} cl_report_opts;

/* Returns 0 with the three files replaced together (each staged, then all renamed: a failure leaves the
 * old ones), or -1 with one message: a directory without summary.csv names the file and the commands that
 * write it; a malformed summary.csv or compare.csv names the file, line and column. Reads DIR and writes
 * nothing into it but the three files (when outdir is DIR). */
int cl_report(const char *dir, const cl_report_opts *o);

#endif

/* Figures: `clreg plot DIR` brings the summaries up to date (summary.c, which never rewrites the raw results
 * for it) and runs the gnuplot scripts of plots/ once per figure and format. All aggregation is summary.c's;
 * this file only prepares copies gnuplot can read and draws. */
#ifndef CLREG_PLOT_H
#define CLREG_PLOT_H

typedef struct cl_plot_opts {
    const char *const *select; /* "label=lambda": the group a label's figures draw */
    int nselect;
    int png, svg;              /* formats to write (gnuplot's pngcairo and svg terminals) */
    const char *plotdir;       /* where the scripts are (NULL: found next to the executable, or ./plots) */
    const char *outdir;        /* where the figures go (NULL: DIR/plots); created when missing */
    /* Draw from the summaries and importance summaries as they are, writing nothing into DIR: clreg report
     * draws figures that agree with the tables it reads, and leaves the results directory alone. Without
     * it, cl_plot recomputes the summaries first (clreg plot, --select). */
    int keep_summaries;
    int verbose;
} cl_plot_opts;

/* Returns 0 with every figure written under DIR/plots/ (or o->outdir), or -1 with one message (a missing or malformed
 * CSV names the file; a gnuplot failure names the script and gnuplot's first error line). */
int cl_plot(const char *dir, const cl_plot_opts *o);

#endif

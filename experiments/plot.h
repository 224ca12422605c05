/* Figures: `clreg plot DIR` checks the results, writes the importance summaries (when the grid saved
 * state), and runs the gnuplot scripts of plots/ once per figure and format. Aggregation happens here and
 * in summary.c; the scripts only draw. */
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

/* importance_hist.csv and importance_scatter.csv from DIR/state (see plot.c); 0 also when there is no
 * saved state (nothing to write), 1 when files were written. */
int cl_importance_summaries(const char *dir);

#endif

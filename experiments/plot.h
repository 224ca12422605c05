/* Figures: `clreg plot DIR` brings the summaries up to date (summary.c, which never rewrites the raw results
 * for it) and runs the gnuplot scripts of plots/ once per figure and format. All aggregation is summary.c's;
 * this file only prepares copies gnuplot can read and draws. */
#ifndef CLREG_PLOT_H
#define CLREG_PLOT_H

typedef struct cl_plot_opts {
    const char *const *select; /* "label=lambda": the group a label's figures draw */
    int nselect;
    int png, svg;              /* formats to write */
    const char *plotdir;       /* where the scripts are (NULL: found next to the executable, or ./plots) */
    int verbose;
} cl_plot_opts;

/* Returns 0 with every figure written under DIR/plots/, or -1 with one message (a missing or malformed
 * CSV names the file; a gnuplot failure names the script and gnuplot's first error line). */
int cl_plot(const char *dir, const cl_plot_opts *o);

#endif

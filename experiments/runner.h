/* Running a grid: cells in parallel under OpenMP, whole CSV rows as each cell ends, resume, progress.
 *
 * Determinism: a cell's random streams (initialization, shuffling, permutations, sampled labels) derive
 * from its seed and task order only, and the number of BLAS threads inside a cell is fixed by the grid
 * (blas_threads; auto: every core for a one-cell grid, else 1), so a cell's numbers are the same whatever
 * -j, the schedule, or how many cells a resumed run has left. The BLAS thread
 * count cannot follow -j: OpenBLAS's sgemm rounds differently with 1 and 2 threads, and even when the same
 * product is split by rows or columns (measured on this project's shapes: every split differs in the last
 * bits), and forgetting amplifies such differences into visibly different accuracies. With blas_threads > 1
 * the cells run one after another (OpenBLAS's OpenMP build is single-threaded inside a parallel region). Cells of the same seed and order share their
 * initialization and shuffling across methods: comparisons between methods are paired.
 *
 * One writer: the directory's lock (dirlock.h) is taken before anything in it is read or changed, and held
 * to the end, so a second run, summarize or plot into the same directory is refused with the holder named.
 *
 * Resume: a cell's rows are appended with one write(2) per file, its runs.csv row last; a write that fails
 * is cut back, so a file never ends inside a row that later rows would follow. A rerun into the same
 * directory checks what is there against the grid (results.h): complete runs are kept, everything else
 * (rows of a cell killed halfway, a row cut short, a run twice or incomplete) is dropped and runs again.
 * The data must be the data the directory's results came from (fingerprint.h). At the end every file is
 * rewritten sorted by run (so the files do not depend on the schedule), intransigence is filled in, and the
 * summaries are written.
 *
 * Stopping: when *stop becomes non-zero (a signal handler sets it to the signal's number), running cells
 * end at their next training step without writing anything, no new cell starts, and the manifest says the
 * run was interrupted and how many cells had finished. Rerunning resumes. */

#ifndef CLREG_RUNNER_H
#define CLREG_RUNNER_H

#include <signal.h>

#include "experiments/grid.h"
#include "experiments/shard.h"

typedef struct cl_runner_opts {
    int threads;          /* cells in parallel (default: all cores) */
    const char *outdir;   /* default results/<grid name> */
    int fresh;            /* discard earlier results in outdir */
    int progress;         /* -1: when stderr is a terminal, 0: never, 1: always */
    const char *command;  /* the command line, for the manifest and the lock */
    volatile sig_atomic_t *stop; /* optional: set to a signal number to stop (see above) */
    /* Optional: run one shard of the grid (shard.h), the cells with shard_of[cell] == shard.index, into
     * outdir (the shard's own directory). Its shard.txt records which; a resume must be the same shard, a
     * directory of another shard or of a whole grid is refused. A shard ends without summaries: they need
     * every cell (clreg merge writes them). */
    cl_shard shard;
    const int *shard_of;
} cl_runner_opts;

/* What a run did, for the command's messages. */
typedef struct cl_run_report {
    int ncells;           /* in the grid */
    int done_before;      /* complete when this invocation started */
    int done;             /* complete when it ended */
    int stopped;          /* the signal that stopped it, else 0 */
    int repaired;         /* damaged or incomplete runs dropped to run again */
    char repair[700];     /* the first problem found in them, with file and line */
    int adopted;          /* the directory had results but no data fingerprint (an older clreg's): this
                           * run's data were recorded as theirs */
    char other_kernel[64]; /* the BLAS kernel the cells already there were computed with, when not this
                           * run's (their numbers differ in the last bits), else "" */
} cl_run_report;

/* Run the grid (loaded and prepared with the data). Returns 0 when every cell has a row (diverged cells
 * included) or the run was stopped (report->stopped), -1 with a message otherwise. */
int cl_grid_run(const cl_grid *g, const cl_data *d, const cl_runner_opts *o, cl_run_report *report);

typedef struct cl_summarize_opts {
    const char *const *select; /* NULL, or "label=lambda" entries choosing the group a label's figures draw */
    int nselect;
    int ncells;           /* the grid's cell count; 0: from DIR/manifest.txt */
    int require_manifest; /* without a manifest (and ncells 0) refuse, as missing runs cannot be told */
    int partial;          /* summarize the complete runs only (report->note says what is not), instead of
                           * refusing results with missing or damaged runs */
    int keep_raw;         /* write the summaries only, never runs/matrix/curves (the figures' summaries) */
} cl_summarize_opts;

typedef struct cl_summarize_report {
    int ncells, ncomplete, nmissing, ndamaged;
    char note[910];       /* with partial: what was left out ("left out: ..."), else "" */
} cl_summarize_report;

/* Check DIR's results against the grid's cell count (results.h) and, when they are whole, rewrite
 * runs/matrix/curves sorted with intransigence filled in and write the summary files, all replaced together.
 * Damaged or missing runs are one message naming the file and line (or the runs) and how to repair them,
 * unless partial. The caller holds the directory's lock. */
int cl_results_summarize(const char *dir, const cl_summarize_opts *o, cl_summarize_report *report);

/* The check of cl_results_summarize alone, writing nothing. */
int cl_results_check(const char *dir, const cl_summarize_opts *o, cl_summarize_report *report);

/* importance_hist.csv and importance_scatter.csv from DIR/state (impsummary.c), part of the summaries; 0 also
 * when there is no saved state (nothing to write), 1 when files were written. */
int cl_importance_summaries(const char *dir);

/* cl_results_summarize with the cell count from the manifest when there is one. */
int cl_results_finalize(const char *dir, const char *const *select, int nselect);

#endif

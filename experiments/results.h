/* A grid's results files, their columns (defined here once, for the runner that writes them and every
 * reader), and the check that a directory holds exactly what its cells wrote.
 *
 *     runs.csv     one row per finished cell (written last, so a row means the cell's other rows are whole)
 *     matrix.csv   (tasks + 1) x tasks rows per run: the accuracy matrix
 *     curves.csv   curve_rows rows per run (the count is in its runs.csv row), whole points of `tasks` rows
 *     manifest.txt "cells: N in the grid": how many runs the directory must end with
 *
 * A run is complete when it has exactly one runs.csv row, every entry of its accuracy matrix once, and as
 * many curves rows as its runs.csv row says, none twice. Anything else is a problem the check names with
 * file and line: a row cut short (a write that did not finish), a run twice, an incomplete matrix, missing
 * or repeated curve rows, a run number the grid does not have. Rows of a run without its runs.csv row are
 * a cell killed before it finished: not a problem, the run is missing. Resuming keeps the complete runs
 * and runs the rest again; summarizing refuses anything but a complete directory (or, with --partial,
 * summarizes the complete runs and says what is not). */
#ifndef CLREG_RESULTS_H
#define CLREG_RESULTS_H

#include "experiments/grid.h"
#include "experiments/table.h"

/* Each file's columns in order (NULL-terminated); the runner writes its rows in this order. */
extern const char *const cl_runs_columns[];
extern const char *const cl_matrix_columns[];
extern const char *const cl_curves_columns[];
/* The header row of a file with these columns. */
void cl_results_header(cl_buf *b, const char *const *cols);

enum { CL_RUN_MISSING = 0, CL_RUN_COMPLETE = 1, CL_RUN_DAMAGED = 2 };

typedef struct cl_results {
    char dir[4096];
    cl_table runs, matrix, curves; /* as read; an absent file is an empty table (its has_ flag 0) */
    int has_runs, has_matrix, has_curves;
    int ncells;                    /* runs the grid promised (0: unknown) */
    int nslots;                    /* status and runs_row have nslots + 1 entries (run numbers 1..nslots) */
    unsigned char *status;         /* per run: CL_RUN_* */
    int *runs_row;                 /* per run: its row in runs (-1: none) */
    long *curve_rows;              /* per run: curves rows found */
    int ncomplete, nmissing, ndamaged;
    int nproblems;                 /* problems found, beyond missing runs */
    int foreign;                   /* rows a rerun cannot repair: runs the grid does not have, other keys */
    int old_runs;                  /* runs.csv lacks curve_rows (written by a clreg before it existed) */
    const unsigned char *want;     /* a shard's: want[run] for its cells (runs 1..ncells), else NULL: all */
    int nwant;                     /* the runs the directory must end with: the shard's cells, or ncells */
    int owns_want;                 /* cl_results_free frees want (set by a caller handing it over) */
    char problem[600];             /* the first problem, naming file and line */
} cl_results;

/* Read DIR's runs, matrix and curves and check them. ncells: the grid's cell count (0: unknown, then only
 * run numbers seen in runs.csv are tracked). g: when given (a resume), every runs.csv row must also carry
 * its cell's key (label, method, lambda, order, seed, tasks) or it is foreign. missing_ok: absent files
 * count as empty (a new directory); otherwise an absent file is an error. Returns 0 with the findings in r
 * (problems are findings, not failures), -1 with a message when a file cannot be read at all. */
int cl_results_load(cl_results *r, const char *dir, int ncells, const cl_grid *g, int missing_ok);
/* The same for a shard's directory (shard.h): only the runs with want[run] set belong there; a row of another
 * run is foreign, and only the shard's runs can be missing. want is borrowed: it must outlive r. */
int cl_results_load_shard(cl_results *r, const char *dir, int ncells, const cl_grid *g, int missing_ok,
                          const unsigned char *want);
void cl_results_free(cl_results *r);

/* One line: the first problem, how many more, and which runs are missing ("runs 5, 9-11 and 4 more").
 * Empty when the results are complete. */
void cl_results_describe(const cl_results *r, char *out, size_t n);

/* Rewrite runs, matrix and curves with the rows of complete runs only, in the current columns (runs.csv
 * gets curve_rows counted when it was written before that column existed). A file is rewritten only when
 * something changes. The runner calls this before resuming: the runs it dropped run again. A column clreg
 * does not write, or one missing, is an error (the rows could not be appended to consistently). */
int cl_results_prune(const cl_results *r);

/* From DIR/manifest.txt: the grid's cell count and the command that ran it (command may be NULL).
 * Returns 0, 1 when there is no manifest, -1 with a message when it has no "cells: N in the grid" line. */
int cl_results_manifest(const char *dir, int *ncells, char *command, size_t n);

#endif

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

/* Each file's columns, defined once here: X(name, kind, missing) gives the column's name, its C type in the
 * row struct (TEXT: const char *, INT: long, NUM: double, U64: unsigned long long, SEC: double seconds, written
 * to the hundredth) and, for a column an earlier clreg did not write, what such a file means by its absence
 * (NULL: the column is required). The rewrite before a resume, and a merge, write that text (runs.csv's
 * curve_rows is counted instead); a reader takes it as the value. The struct
 * a row reads into and writes from, the header, the writer and the reader all come from these lists; the
 * timing columns stay last (tests compare results without them). */
#define CL_RUNS_COLUMNS(X)                                                                                          \
    X(run, INT, NULL) X(label, TEXT, NULL) X(regularizer, TEXT, NULL) X(params, TEXT, NULL) X(lambda, NUM, NULL)                  \
    X(dataset, TEXT, NULL) X(stream, TEXT, NULL) X(scenario, TEXT, NULL) X(tasks, INT, NULL) X(hidden, TEXT, NULL)              \
    X(optimizer, TEXT, NULL) X(lr, NUM, NULL) X(epochs, INT, NULL) X(batch, INT, NULL) X(order, INT, NULL)                       \
    X(order_tasks, TEXT, NULL) X(seed, U64, NULL) X(validation, NUM, "0") X(acc, NUM, NULL) X(bwt, NUM, NULL) X(fwt, NUM, NULL)   \
    X(forgetting, NUM, NULL) X(learning, NUM, NULL) X(intransigence, NUM, NULL) X(val_acc, NUM, "nan") X(val_bwt, NUM, "nan")      \
    X(val_fwt, NUM, "nan") X(val_forgetting, NUM, "nan") X(val_learning, NUM, "nan") X(diverged, INT, NULL)                      \
    X(curve_rows, INT, "counted") X(train_sec, SEC, NULL) X(importance_sec, SEC, NULL) X(eval_sec, SEC, NULL)
#define CL_MATRIX_COLUMNS(X)                                                                                        \
    X(run, INT, NULL) X(trained_task, INT, NULL) X(eval_task, INT, NULL) X(accuracy, NUM, NULL) X(val_accuracy, NUM, "nan")
#define CL_CURVES_COLUMNS(X)                                                                                        \
    X(run, INT, NULL) X(trained_task, INT, NULL) X(epoch, INT, NULL) X(step, INT, NULL) X(x, NUM, NULL) X(eval_task, INT, NULL)     \
    X(accuracy, NUM, NULL)

#define CL_CTYPE_TEXT const char *
#define CL_CTYPE_INT long
#define CL_CTYPE_NUM double
#define CL_CTYPE_U64 unsigned long long
#define CL_CTYPE_SEC double
#define CL_ROW_FIELD(name, kind, opt) CL_CTYPE_##kind name;

/* One row of runs.csv. Read from a table, its strings point into the table's cells. */
typedef struct cl_run_row { CL_RUNS_COLUMNS(CL_ROW_FIELD) } cl_run_row;
/* One row of matrix.csv: accuracy on eval_task after trained_task (0: before training), on test and, when
 * the grid holds data out, on validation data. */
typedef struct cl_matrix_row { CL_MATRIX_COLUMNS(CL_ROW_FIELD) } cl_matrix_row;
/* One point of curves.csv: test accuracy on eval_task at (trained_task, epoch, step); x is the position on
 * the figures' axis (tasks trained, fractional within a task). */
typedef struct cl_curve_point { CL_CURVES_COLUMNS(CL_ROW_FIELD) } cl_curve_point;

typedef enum { CL_COL_TEXT, CL_COL_INT, CL_COL_NUM, CL_COL_U64, CL_COL_SEC } cl_col_kind;
typedef struct cl_column {
    const char *name;
    cl_col_kind kind;
    const char *missing; /* NULL: required; else the value of a column a file lacks */
    size_t offset;  /* of the field in the row struct */
} cl_column;

/* The schemas (terminated by a NULL name) and the column names alone (NULL-terminated). */
extern const cl_column cl_runs_schema[], cl_matrix_schema[], cl_curves_schema[];
extern const char *const cl_runs_columns[];
extern const char *const cl_matrix_columns[];
extern const char *const cl_curves_columns[];
/* The header row of a file with these columns. */
void cl_results_header(cl_buf *b, const char *const *cols);
/* Append one row (a struct of the schema's type) in the schema's columns. */
void cl_row_write(cl_buf *b, const cl_column *schema, const void *row);
/* Read table row `row` into the struct: every column the schema names and the table has, by name; an
 * optional column the table lacks reads as its `missing` value. -1 with a message naming file, line and column
 * when a required column is missing or a number is not one. */
int cl_row_read(const cl_table *t, int row, const cl_column *schema, void *out);

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

/* CSV tables: reading a whole file (libcsv) into rows of strings, and building rows to write.
 *
 * Results files are small enough (a row per cell, a few per matrix entry) to hold in memory, and every
 * reader wants random access by column name. Messages name the file, the line and the column. */
#ifndef CLREG_TABLE_H
#define CLREG_TABLE_H

#include <stddef.h>

typedef struct cl_table {
    char *path;
    int ncols;
    char **cols;     /* header names */
    int nrows;
    char ***cells;   /* cells[row][col] */
    int *lines;      /* line of each row in the file (1-based, the header is line 1) */
    int cut_line;    /* the line of a last row without its newline (a write cut short; not read), else 0 */
} cl_table;

/* Read path (header row, then rows with exactly as many fields). required: NULL-terminated column names
 * that must be present. A missing file is an error naming it; so are ragged rows, a missing column, an
 * empty file. A last line without its newline (a write cut short) is not read, and cut_line says where it
 * was: resuming drops it, summarizing reports it. A UTF-8 byte order mark (a spreadsheet's "CSV UTF-8")
 * is skipped. */
int cl_table_read(cl_table *t, const char *path, const char *const *required);
void cl_table_free(cl_table *t);
int cl_table_col(const cl_table *t, const char *name); /* index, or -1 */
/* Cell as a number: "nan" is NaN; anything else not a number is an error naming file, line and column. */
int cl_table_num(const cl_table *t, int row, int col, double *out);
int cl_table_int(const cl_table *t, int row, int col, long *out);

/* A growing text buffer for rows. Fields are separated by commas; strings are quoted only when needed. */
typedef struct cl_buf {
    char *s;
    size_t len, cap;
} cl_buf;

void cl_buf_free(cl_buf *b);
void cl_buf_printf(cl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Append a field (a comma first unless at the start of a line). */
void cl_buf_str(cl_buf *b, const char *s);
void cl_buf_int(cl_buf *b, long v);
/* %.6g, or "nan" for NaN/Inf (CSV readers, gnuplot included, read it back as missing/NaN) */
void cl_buf_num(cl_buf *b, double v);
void cl_buf_endrow(cl_buf *b);

/* Append the buffer to a file opened with O_APPEND in one write(2), so a killed process leaves whole rows
 * or nothing. */
int cl_write_all(int fd, const char *path, const cl_buf *b);
/* A whole file of at most max bytes as a NUL-terminated string (malloc'd). NULL with a message when it cannot
 * be read or is larger; with missing_ok, NULL without one when it does not exist (errno ENOENT). */
char *cl_read_file(const char *path, size_t max, int missing_ok);

/* Replace path by the buffer: written to path.tmp, flushed to disk, renamed over path. */
int cl_write_file_atomic(const char *path, const char *data, size_t len);

/* Files that must change together (a directory's summaries agree with each other and with runs.csv): each is
 * staged as path.tmp and flushed, and only when every one is written are they renamed over their paths. A
 * failure while staging (a full disk) leaves every old file as it was. */
typedef struct cl_replace {
    int n;
    char **paths;
} cl_replace;

/* Stage one file; on failure the staged ones are removed (as by cl_replace_abort) and -1 returned. A file
 * whose current contents are already these bytes is left alone (nothing to replace). */
int cl_replace_stage(cl_replace *r, const char *path, const char *data, size_t len);
/* Rename every staged file over its path and flush the directory; frees r. */
int cl_replace_commit(cl_replace *r);
/* Remove the staged files; frees r. */
void cl_replace_abort(cl_replace *r);

#endif

/* Error reporting for library code.
 *
 * Library functions never print and never exit: they record one message and return -1, and the caller
 * (the command line, a test) decides what to do with it. The message is thread-local so that grid cells
 * running under OpenMP cannot overwrite each other's errors. Messages name the file, line or field and
 * what was expected, e.g. "data/x.csv:12: column 3: expected a number, got 'abc'". */
#ifndef CLREG_ERROR_H
#define CLREG_ERROR_H

#include <stddef.h>

#include "core/quote.h"

/* Record a printf-style message and return -1, so call sites read `return cl_fail("...")`. Bytes that are not
 * printable UTF-8 (control characters, binary) are written as \n, \xNN and the like, so a message quoting
 * user text stays one printable line. */
int cl_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Characters of user text (a value, a name, a cell) a message quotes with printf("'%.*s'", CL_SHOW, text),
 * where cl_quote (core/quote.h) is not used: the message then keeps its reason however long the text, and
 * cl_fail's buffer (1023 characters) is never cut. The same length as cl_quote's. */
#define CL_SHOW CL_QUOTE_MAX

/* Prefix the current message with "prefix: " (adds context on the way up, e.g. the file name). */
int cl_fail_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The last recorded message of this thread ("" when none). */
const char *cl_errmsg(void);

/* cl_quote and cl_quote_path, for the user text a message quotes, are in core/quote.h. */

/* Checked allocation. Running out of memory is not an input error the program can recover from, and
 * checking every small allocation would bury the logic: a failed allocation prints one line naming the
 * size and exits with status 1 (not abort(): no core dump, and the results already written stand; a rerun
 * of a grid resumes). Commands estimate their memory before they start (experiments/budget.h), so this is
 * the last resort for limits that change underneath a run. */
void *cl_malloc(size_t n);
void *cl_calloc(size_t count, size_t size);
void *cl_realloc(void *p, size_t n);
char *cl_strdup(const char *s);

/* 64-byte aligned allocation for the parameter buffers and BLAS workspaces; free with free(). */
void *cl_aligned_calloc(size_t count, size_t size);

#endif

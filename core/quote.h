/* Quoting text from outside the program (file contents, paths, a command line read back from a file) into
 * a one-line message. Such text may hold newlines, escape sequences or a megabyte of anything; the message
 * must stay one line and keep its reason after the quoted part. */
#ifndef CLREG_QUOTE_H
#define CLREG_QUOTE_H

#include <stddef.h>

/* Copy at most `max` characters of s into out (size n, always terminated): control bytes and DEL as \xNN,
 * and "..." when s was longer. UTF-8 sequences are kept whole. Returns out, for use as a printf argument. */
char *cl_quote(char *out, size_t n, const char *s, size_t max);

#endif

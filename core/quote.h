/* Quoting text from outside the program (file contents, paths, option values, a command line read back
 * from a file) into a one-line message. Such text may hold newlines, escape sequences, invalid UTF-8 or a
 * megabyte of anything; the message must stay one line, never carry raw control bytes to the terminal, and
 * keep its reason after the quoted part.
 *
 * One escaping rule for everything, cl_fail's whole messages included: control characters (C0, DEL, C1)
 * become \n, \t, \r or \xNN, bytes that are not part of a valid UTF-8 sequence become \xNN, and valid UTF-8
 * characters are kept whole (a label or a path in another script reads as itself). */
#ifndef CLREG_QUOTE_H
#define CLREG_QUOTE_H

#include <stddef.h>

/* At most CL_QUOTE_MAX bytes of s, escaped; a longer s is cut and marked "... (N bytes)". Returns a
 * thread-local buffer, one of eight used in turn, so one message can quote several texts. */
#define CL_QUOTE_MAX 40
const char *cl_quote(const char *s);

/* A path made safe the same way; a long one is cut at the front ("...some/dir/grid.ini"), where the file
 * name survives. Same buffers as cl_quote. */
const char *cl_quote_path(const char *s);

/* Into a buffer of the caller's: at most `max` characters of s (a UTF-8 character counts one), escaped,
 * "..." when s was longer, always terminated within n bytes. Returns out, for use as a printf argument. */
char *cl_quote_n(char *out, size_t n, const char *s, size_t max);

/* Length of the valid UTF-8 character at s: 1 for ASCII, 2..4 for a character beyond it, 0 for a byte that
 * starts none (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF). Never reads past a NUL. */
int cl_utf8_len(const unsigned char *s);

/* The character at p as message text into out (room for 5 bytes): printable UTF-8 as it is, else \n, \t,
 * \r or \xNN for its first byte. Returns the bytes written; *used is set to the input bytes it stands for. */
size_t cl_escape_char(char *out, const unsigned char *p, size_t *used);

#endif

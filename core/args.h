/* Parsing command-line values with messages that name the option and say what was expected.
 * Each returns 0, or -1 with a message like "--lr: expected a number > 0, got 'abc'" (the text quoted with
 * cl_quote: escaped and cut, so the message stays one line). */
#ifndef CLREG_ARGS_H
#define CLREG_ARGS_H

int cl_parse_int(const char *opt, const char *text, long min, long max, int *out);
int cl_parse_u64(const char *opt, const char *text, unsigned long long *out);
/* A finite float in [min, max]; with min_exclusive, strictly above min. */
int cl_parse_float(const char *opt, const char *text, double min, double max, int min_exclusive, float *out);
/* yes/true/on/1 or no/false/off/0; text NULL (a flag without a value) means yes. */
int cl_parse_bool(const char *opt, const char *text, int *out);
/* "400,400" (blanks around the commas allowed) -> up to cap positive ints; "none" is the empty list, and an
 * empty text is an error. */
int cl_parse_int_list(const char *opt, const char *text, int *out, int cap, int *n);

#endif

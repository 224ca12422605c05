/* Closest-name suggestions for messages ("unknown key 'lamda'; did you mean 'lambda'?"). */
#ifndef CLREG_NAMES_H
#define CLREG_NAMES_H

/* Edit distance (insertions, deletions, substitutions), case-insensitive. */
int cl_edit_distance(const char *a, const char *b);
/* The candidate closest to `name` if it is close enough to be a likely misspelling (distance at most a
 * third of the longer name, and at least 1 for short names), else NULL. candidates is NULL-terminated. */
const char *cl_closest_name(const char *name, const char *const *candidates);

#endif

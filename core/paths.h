/* Output directories, checked before a command starts its work. */
#ifndef CLREG_PATHS_H
#define CLREG_PATHS_H

/* Create the directory a command will write into (and its parents, like mkdir -p) and check that a file can
 * be created in it, so a bad --save-state or -o is refused before training instead of after its first task
 * (a permission test is not enough: root passes every one of them, and /proc refuses by other means).
 * `opt` names the option in the message ("--save-state: /proc/x: cannot create directory: ..."). */
int cl_output_dir(const char *opt, const char *path);

#endif

#include "core/version.h"

#include "build/commit.h" /* CLREG_COMMIT, written by the Makefile (see there) */

const char *cl_version(void) { return CLREG_VERSION " (commit " CLREG_COMMIT ")"; }

/* What clreg is: the release and the commit it was built from.
 *
 * Results record both (manifest.txt), and clreg merge refuses shards whose builds differ: two builds can
 * compute different numbers for the same cell, so a merged table is one program's only when every shard
 * ran the same one. The commit comes from git at build time ("-modified" when the tree had changes then,
 * "unknown" outside a git checkout). */
#ifndef CLREG_VERSION_H
#define CLREG_VERSION_H

#define CLREG_VERSION "0.2.0"

/* "0.2.0 (commit 1a2b3c4d5e6f)" */
const char *cl_version(void);

#endif

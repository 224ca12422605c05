/* Merging the shards of a grid (shard.h) into one results directory.
 *
 * The shards must be of one grid run one way: the same grid file (their grid.ini byte for byte), the same
 * data (their data fingerprints), the same clreg build (the version and commit in their manifests) and the
 * same number of shards, each shard once. Every cell of the grid must be complete in exactly one of them: a
 * shard lists its cells (shard.txt), and a cell no present shard lists belongs to an absent shard. Anything
 * else is refused with a message naming the cells (run, label, order, seed) and the shards concerned, and
 * nothing is written; with partial, the complete cells are merged and the rest named.
 *
 * OUT receives grid.ini, data_fingerprint.csv, runs.csv, matrix.csv and curves.csv (the shards' rows, sorted by
 * run), a manifest naming the shards, then the summaries, exactly as a single process would have finalized
 * them: the merged files equal that run's byte for byte, timing columns aside. OUT is then an ordinary
 * results directory: clreg plot draws it, and after a partial merge `clreg run GRID -o OUT` runs the cells
 * that are missing. OUT may hold an earlier merge of the same grid (it is replaced), not a run's results.
 *
 * Every directory involved is locked while the merge reads or writes it (dirlock.h): a shard still running
 * is refused, named with its holder. */
#ifndef CLREG_MERGE_H
#define CLREG_MERGE_H

typedef struct cl_merge_opts {
    int partial;          /* merge the complete cells, say what is missing */
    const char *command;  /* for the manifest and the locks */
} cl_merge_opts;

typedef struct cl_merge_report {
    int nshards, nshards_expected; /* found, and the N they name */
    int ncells, nmerged;           /* in the grid, and merged */
    char missing[1024];            /* with partial: what is not merged and why, else "" */
    char kernels[256];             /* the BLAS kernels the shards ran on, when more than one ("" otherwise) */
} cl_merge_report;

/* Merge the shard directories dirs[0..n) into out. Each entry is a shard's directory (it has shard.txt) or a
 * directory holding shards (its shard-*-of-* subdirectories); n == 0 means out's own shard-*-of-*
 * subdirectories, where `clreg run --shard` puts them. Returns 0, or -1 with one message. */
int cl_merge(const char *out, const char *const *dirs, int n, const cl_merge_opts *o, cl_merge_report *rep);

#endif

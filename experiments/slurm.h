/* A grid on a SLURM cluster: an sbatch job array whose tasks are the grid's shards (shard.h), and a merge job
 * that runs when every one of them has succeeded (merge.h).
 *
 * clreg writes the scripts and leaves the scheduling to SLURM: the array's throttle (%K) bounds how many
 * shards run at once, a failed shard keeps the merge from starting (afterok), and a shard resubmitted by
 * hand resumes where it stopped. Into OUT/slurm/ go
 *
 *     GRID.ini        a copy of the grid: the jobs read this one, so an edit of the original after submitting
 *                     cannot give shards of two grids (merge would refuse them)
 *     array.sbatch    #SBATCH --array=0-(N-1)%K, --cpus-per-task=C, ...; OMP_NUM_THREADS from the CPUs SLURM
 *                     gives; clreg run GRID --shard slurm -o OUT -j C
 *     merge.sbatch    clreg merge OUT
 *     submit.sh       sbatch array.sbatch, then sbatch --dependency=afterok:ID merge.sbatch
 *     logs/           each task's output (shard-%a.out, merge.out)
 *
 * Every path in the scripts is absolute (jobs start wherever SLURM puts them), and the clreg binary is the
 * one that wrote them. */
#ifndef CLREG_SLURM_H
#define CLREG_SLURM_H

#include <stddef.h>

typedef struct cl_slurm_opts {
    const char *grid_path;   /* the grid file as given */
    const char *grid_text;   /* its bytes */
    const char *grid_name;   /* for the copy's file name and the job names */
    const char *outdir;      /* the grid's results directory (shards go under it) */
    const char *data_path;   /* --data-path to pass on, or NULL */
    int shards, parallel, cpus;
    const char *time, *partition, *account;
    const char *const *extra; /* further sbatch options, each a #SBATCH line in both scripts */
    int nextra;
    const char *command;     /* the command that wrote the scripts, for their comments */
} cl_slurm_opts;

typedef struct cl_slurm_files {
    char dir[4200];          /* OUT/slurm, absolute */
    char array[4300], merge[4300], submit[4300], grid[4300];
} cl_slurm_files;

/* Write the scripts (above). Returns 0, or -1 with a message. */
int cl_slurm_write(const cl_slurm_opts *o, cl_slurm_files *f);

/* Submit the array, then the merge depending on it, with sbatch (from PATH). On success the job ids are in
 * array_id and merge_id. -1 with a message naming the sbatch call that failed and what it printed. */
int cl_slurm_submit(const cl_slurm_files *f, char *array_id, char *merge_id, size_t n);

#endif

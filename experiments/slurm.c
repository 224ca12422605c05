#include "experiments/slurm.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/error.h"
#include "core/npy.h"
#include "core/quote.h"
#include "experiments/table.h"

/* A word for sh: single-quoted, with each ' as '\'' (the values were checked printable before). */
static void sh_word(cl_buf *b, const char *s)
{
    cl_buf_printf(b, "'");
    for (; *s; s++) {
        if (*s == '\'') cl_buf_printf(b, "'\\''");
        else cl_buf_printf(b, "%c", *s);
    }
    cl_buf_printf(b, "'");
}

static int absolute(const char *path, char *out, size_t n, int must_exist)
{
    char tmp[PATH_MAX];
    if (realpath(path, tmp)) {
        snprintf(out, n, "%s", tmp);
        return 0;
    }
    if (must_exist) return cl_fail("%s: %s", cl_quote_path(path), strerror(errno));
    if (path[0] == '/') {
        snprintf(out, n, "%s", path);
        return 0;
    }
    if (!getcwd(tmp, sizeof tmp)) return cl_fail("cannot tell the current directory: %s", strerror(errno));
    if (strlen(tmp) + strlen(path) + 2 > n) return cl_fail("%s: the path is too long", cl_quote_path(path));
    memcpy(out, tmp, strlen(tmp));
    out[strlen(tmp)] = '/';
    memcpy(out + strlen(tmp) + 1, path, strlen(path) + 1);
    return 0;
}

static int write_script(const char *path, const cl_buf *b)
{
    if (cl_write_file_atomic(path, b->s, b->len)) return -1;
    if (chmod(path, 0755) != 0) return cl_fail("%s: cannot make executable: %s", path, strerror(errno));
    return 0;
}

/* The #SBATCH lines both scripts share. */
static void common_lines(cl_buf *b, const cl_slurm_opts *o)
{
    /* jobs start where clreg slurm ran, so a grid's relative data_path means what it meant there */
    char cwd[4096];
    if (getcwd(cwd, sizeof cwd)) cl_buf_printf(b, "#SBATCH --chdir=%s\n", cwd);
    if (o->time) cl_buf_printf(b, "#SBATCH --time=%s\n", o->time);
    if (o->partition) cl_buf_printf(b, "#SBATCH --partition=%s\n", o->partition);
    if (o->account) cl_buf_printf(b, "#SBATCH --account=%s\n", o->account);
    for (int i = 0; i < o->nextra; i++) cl_buf_printf(b, "#SBATCH %s\n", o->extra[i]);
}

int cl_slurm_write(const cl_slurm_opts *o, cl_slurm_files *f)
{
    char out[4096], self[4096], data[4096] = "";
    memset(f, 0, sizeof *f);
    if (absolute(o->outdir, out, sizeof out, 0)) return -1;
    if (absolute("/proc/self/exe", self, sizeof self, 1)) return -1;
    if (o->data_path) {
        /* a comma list (csv's train,test) is resolved file by file */
        char *copy = cl_strdup(o->data_path), *save = NULL;
        size_t len = 0;
        for (char *p = strtok_r(copy, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
            char one[4096];
            if (absolute(p, one, sizeof one, 0)) {
                free(copy);
                return -1;
            }
            len += (size_t)snprintf(data + len, len < sizeof data ? sizeof data - len : 0, "%s%s", len ? "," : "", one);
        }
        free(copy);
    }
    snprintf(f->dir, sizeof f->dir, "%s/slurm", out);
    char logs[4300];
    snprintf(logs, sizeof logs, "%s/logs", f->dir);
    if (cl_mkdirs(logs)) return -1;
    snprintf(f->grid, sizeof f->grid, "%s/%s.ini", f->dir, o->grid_name);
    snprintf(f->array, sizeof f->array, "%s/array.sbatch", f->dir);
    snprintf(f->merge, sizeof f->merge, "%s/merge.sbatch", f->dir);
    snprintf(f->submit, sizeof f->submit, "%s/submit.sh", f->dir);
    if (cl_write_file_atomic(f->grid, o->grid_text, strlen(o->grid_text))) return -1;

    cl_buf b = {0};
    int rc = 0;
    /* the array: one task per shard */
    cl_buf_printf(&b, "#!/bin/sh\n# Shards of the grid %s, one per array task; written by: %s\n", o->grid_path,
                  o->command ? o->command : "clreg slurm");
    cl_buf_printf(&b, "#SBATCH --job-name=clreg-%s\n#SBATCH --array=0-%d", o->grid_name, o->shards - 1);
    if (o->parallel > 0 && o->parallel < o->shards) cl_buf_printf(&b, "%%%d", o->parallel);
    cl_buf_printf(&b, "\n#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=%d\n#SBATCH --output=%s/shard-%%a.out\n", o->cpus,
                  logs);
    common_lines(&b, o);
    cl_buf_printf(&b, "\n# cells in parallel and OpenMP's threads: the CPUs SLURM gave this task\n"
                      "export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-%d}\n", o->cpus);
    cl_buf_printf(&b, "# --shard slurm: this task's shard from SLURM_ARRAY_TASK_ID, _MIN and _COUNT; a shard that\n"
                      "# failed or timed out resumes where it stopped when its task is run again\n"
                      "exec ");
    sh_word(&b, self);
    cl_buf_printf(&b, " run ");
    sh_word(&b, f->grid);
    cl_buf_printf(&b, " --shard slurm -o ");
    sh_word(&b, out);
    if (data[0]) {
        cl_buf_printf(&b, " --data-path ");
        sh_word(&b, data);
    }
    cl_buf_printf(&b, " -j \"$OMP_NUM_THREADS\" --quiet\n");
    rc = write_script(f->array, &b);
    cl_buf_free(&b);

    /* the merge: after every task of the array succeeded (the dependency is given when submitting) */
    if (!rc) {
        cl_buf_printf(&b, "#!/bin/sh\n# Merges the shards of the grid %s into %s; written by: %s\n", o->grid_path, out,
                      o->command ? o->command : "clreg slurm");
        cl_buf_printf(&b, "#SBATCH --job-name=clreg-%s-merge\n#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=1\n"
                          "#SBATCH --output=%s/merge.out\n", o->grid_name, logs);
        common_lines(&b, o);
        cl_buf_printf(&b, "\nexport OMP_NUM_THREADS=1\nexec ");
        sh_word(&b, self);
        cl_buf_printf(&b, " merge ");
        sh_word(&b, out);
        cl_buf_printf(&b, "\n");
        rc = write_script(f->merge, &b);
        cl_buf_free(&b);
    }
    if (!rc) {
        cl_buf_printf(&b, "#!/bin/sh\n# Submits the shards' array, then the merge once every shard has succeeded.\n"
                          "set -e\narray=$(sbatch --parsable ");
        sh_word(&b, f->array);
        cl_buf_printf(&b, ")\narray=${array%%%%;*}  # --parsable prints ID or ID;CLUSTER\n"
                          "merge=$(sbatch --parsable --dependency=afterok:\"$array\" ");
        sh_word(&b, f->merge);
        cl_buf_printf(&b, ")\necho \"array job $array, merge job ${merge%%%%;*}; results in \"");
        sh_word(&b, out);
        cl_buf_printf(&b, "\n");
        rc = write_script(f->submit, &b);
        cl_buf_free(&b);
    }
    return rc;
}

/* Run sbatch with the arguments; its output (stdout and stderr) into out. Returns its exit status, or -1
 * when it could not be started. */
static int sbatch(const char *const *args, char *out, size_t n)
{
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        execvp("sbatch", (char *const *)args);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t r;
    char sink[256];
    while ((r = read(fds[0], len + 1 < n ? out + len : sink, len + 1 < n ? n - 1 - len : sizeof sink)) > 0 ||
           (r < 0 && errno == EINTR))
        if (r > 0 && len + 1 < n) len += (size_t)r;
    out[len] = 0;
    close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The job id from --parsable's "ID" or "ID;CLUSTER" */
static int job_id(const char *text, char *id, size_t n)
{
    size_t k = strspn(text, "0123456789");
    if (k == 0 || k >= n || (text[k] && text[k] != ';' && text[k] != '\n')) return -1;
    memcpy(id, text, k);
    id[k] = 0;
    return 0;
}

int cl_slurm_submit(const cl_slurm_files *f, char *array_id, char *merge_id, size_t n)
{
    char out[2048], dep[64], q[300];
    const char *a[] = {"sbatch", "--parsable", f->array, NULL};
    int st = sbatch(a, out, sizeof out);
    if (st == 127)
        return cl_fail("sbatch: not found (is this a SLURM login node?); the scripts are in %s: submit them there with "
                       "%s", f->dir, f->submit);
    if (st != 0 || job_id(out, array_id, n))
        return cl_fail("sbatch --parsable %s failed (exit %d): %s", f->array, st, cl_quote_n(q, sizeof q, out, 200));
    snprintf(dep, sizeof dep, "--dependency=afterok:%s", array_id);
    const char *b[] = {"sbatch", "--parsable", dep, f->merge, NULL};
    st = sbatch(b, out, sizeof out);
    if (st != 0 || job_id(out, merge_id, n))
        return cl_fail("the array is submitted as job %s, but sbatch %s %s failed (exit %d): %s; submit the merge by "
                       "hand: sbatch %s %s", array_id, dep, f->merge, st, cl_quote_n(q, sizeof q, out, 200), dep,
                       f->merge);
    return 0;
}

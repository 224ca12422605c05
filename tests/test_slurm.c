/* clreg slurm on a real SLURM cluster: a private single-node cluster (munged, slurmctld, slurmd) started on
 * this machine by tests/slurm/cluster.sh, the grid submitted as a job array and a merge job, the merged
 * results compared with a single-process run, the daemons stopped. A machine that cannot run the cluster
 * fails this test with the reason; it is never skipped. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testdata.h"
#include "testutil.h"
#include "testresults.h"

static char out[1 << 16];

typedef struct fixture {
    char *dir;
    char cluster[1100];
    int started;
} fixture;

/* A shell command's status and its output (stdout and stderr) in out. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
    char cmd[8192];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    strncat(cmd, " 2>&1", sizeof cmd - strlen(cmd) - 1);
    FILE *p = popen(cmd, "r");
    if (!p) return -1;
    size_t len = fread(out, 1, sizeof out - 1, p);
    out[len] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    f->dir = tu_mkdtemp();
    snprintf(f->cluster, sizeof f->cluster, "%s/cluster", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f->started && sh("tests/slurm/cluster.sh stop %s", f->cluster) != 0)
        fprintf(stderr, "warning: stopping the cluster: %s\n", out);
    tu_rmdir(f->dir);
    free(f);
    return 0;
}

static void start_cluster(fixture *f)
{
    int st = sh("tests/slurm/cluster.sh start %s", f->cluster);
    f->started = 1; /* a failed start may have left something to stop */
    if (st != 0) fail_msg("cannot start a SLURM cluster on this machine (make deps installs it): %s", out);
    char conf[1200];
    snprintf(conf, sizeof conf, "%s/slurm.conf", f->cluster);
    if (!strstr(out, conf)) fail_msg("cluster.sh start printed: %s", out);
    setenv("SLURM_CONF", conf, 1); /* for sbatch, run by clreg slurm --submit */
}

/* The number after `key` in out, as text. */
static void number_after(const char *key, char *id, size_t n)
{
    const char *p = strstr(out, key);
    if (!p) fail_msg("no '%s' in: %s", key, out);
    p += strlen(key);
    size_t k = strspn(p, "0123456789");
    if (!k || k >= n) fail_msg("no job id after '%s' in: %s", key, out);
    memcpy(id, p, k);
    id[k] = 0;
}

static void test_submit_array_and_merge(void **state)
{
    fixture *f = *state;
    char data[1200], grid[1200], args[8192];
    tr_mixed_setup(f->dir, data, grid, sizeof data);
    start_cluster(f);

    snprintf(args, sizeof args, "slurm %s --data-path %s --shards 3 --parallel 2 --cpus-per-task 1 -o %s/sl --submit "
                                "-- --job-name=clreg-test", grid, data, f->dir);
    if (tu_run_clreg(args, out, sizeof out) != 0) fail_msg("clreg %s: %s", args, out);
    char array[32], merge[32];
    number_after("array job ", array, sizeof array);
    number_after("merge job ", merge, sizeof merge);
    assert_non_null(strstr(out, "12 cells in 3 shards"));
    /* the scripts as SLURM saw them: the throttle, the CPUs, OMP_NUM_THREADS, the extra option */
    char p[1300];
    snprintf(p, sizeof p, "%s/sl/slurm/array.sbatch", f->dir);
    char *s = tr_slurp(p);
    assert_non_null(s);
    assert_non_null(strstr(s, "#SBATCH --array=0-2%2\n"));
    assert_non_null(strstr(s, "#SBATCH --cpus-per-task=1\n"));
    assert_non_null(strstr(s, "#SBATCH --job-name=clreg-test\n"));
    assert_non_null(strstr(s, "export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}"));
    assert_non_null(strstr(s, " --shard slurm "));
    free(s);

    /* the merge job runs after the array, and both succeed */
    if (sh("tests/slurm/cluster.sh wait-job %s %s 600", f->cluster, merge) != 0) {
        char logs[1300];
        snprintf(logs, sizeof logs, "%s/sl/slurm/logs", f->dir);
        char msg[4096];
        snprintf(msg, sizeof msg, "%.4000s", out);
        sh("tail -n 5 %s/*", logs);
        fail_msg("the merge job %s did not succeed: %s\nlogs:\n%s", merge, msg, out);
    }
    if (sh("tests/slurm/cluster.sh wait-job %s %s 60", f->cluster, array) != 0)
        fail_msg("the array job %s: %s", array, out);
    /* every shard ran as its own array task */
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s/sl/shard-%d-of-3/shard.txt", f->dir, i);
        assert_int_equal(access(p, F_OK), 0);
    }
    snprintf(p, sizeof p, "%s/sl/manifest.txt", f->dir);
    s = tr_slurp(p);
    assert_non_null(strstr(s, "merged: 3 of 3 shards, 12 of 12 cells"));
    free(s);

    /* the merged results are those of one process */
    snprintf(args, sizeof args, "run %s --data-path %s -o %s/single -j 1 --quiet", grid, data, f->dir);
    if (tu_run_clreg(args, out, sizeof out) != 0) fail_msg("clreg %s: %s", args, out);
    char a[1200], b[1200];
    snprintf(a, sizeof a, "%s/single", f->dir);
    snprintf(b, sizeof b, "%s/sl", f->dir);
    tr_assert_same_results(a, b);

    /* A shard that fails keeps the merge from running, and that is reported, not waited for forever: the
     * scripts written, then the data made unreadable before submitting them with submit.sh. */
    snprintf(args, sizeof args, "slurm %s --data-path %s --shards 2 -o %s/broken", grid, data, f->dir);
    if (tu_run_clreg(args, out, sizeof out) != 0) fail_msg("clreg %s: %s", args, out);
    assert_non_null(strstr(out, "submit with: "));
    assert_int_equal(sh("mv %s %s.away && %s/broken/slurm/submit.sh", data, data, f->dir), 0);
    number_after("merge job ", merge, sizeof merge);
    int st = sh("tests/slurm/cluster.sh wait-job %s %s 600", f->cluster, merge);
    int never = strstr(out, "DependencyNeverSatisfied") != NULL;
    if (st == 0 || !never) fail_msg("the merge after failed shards: %d: %s", st, out);
    assert_int_equal(sh("mv %s.away %s", data, data), 0);
    snprintf(p, sizeof p, "%s/broken/slurm/logs/shard-0.out", f->dir);
    s = tr_slurp(p);
    if (!s || !strstr(s, "clreg run: ")) fail_msg("%s: %s", p, s ? s : "(missing)");
    free(s);
    snprintf(p, sizeof p, "%s/broken/runs.csv", f->dir);
    assert_int_equal(access(p, F_OK), -1);
}

/* Without sbatch, --submit says where the scripts are; the scripts are written all the same. */
static void test_no_sbatch(void **state)
{
    fixture *f = *state;
    char data[1200], grid[1200], args[8192];
    tr_mixed_setup(f->dir, data, grid, sizeof data);
    snprintf(args, sizeof args, "slurm %s --data-path %s -o %s/sl --submit", grid, data, f->dir);
    assert_int_equal(tu_run_clreg_env("PATH=/nonexistent", args, out, sizeof out), 1);
    assert_non_null(strstr(out, "sbatch: not found"));
    assert_non_null(strstr(out, "/sl/slurm/submit.sh"));
    char p[1300];
    snprintf(p, sizeof p, "%s/sl/slurm/merge.sbatch", f->dir);
    assert_int_equal(access(p, X_OK), 0);
    /* bad values are refused before anything is written */
    snprintf(args, sizeof args, "slurm %s --data-path %s -o %s/x --shards 0", grid, data, f->dir);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 2);
    assert_non_null(strstr(out, "--shards"));
    snprintf(args, sizeof args, "slurm %s --data-path %s -o %s/x stray", grid, data, f->dir);
    assert_int_equal(tu_run_clreg(args, out, sizeof out), 2);
    assert_non_null(strstr(out, "'stray': expected one grid file, then sbatch options after --"));
    snprintf(p, sizeof p, "%s/x", f->dir);
    assert_int_equal(access(p, F_OK), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_no_sbatch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_submit_array_and_merge, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

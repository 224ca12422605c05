/* The memory check: the estimate against the measured peak of real runs (so it cannot drift from the code
 * unnoticed), runs that cannot fit refused before anything is created, under the machine's memory and under
 * ulimit -v / -d, and a failed allocation as one message and exit status 1.
 *
 * Runs under limits and peaks are measured with the optimized build only: AddressSanitizer reserves
 * terabytes of address space (it cannot start under ulimit -v) and its shadow memory and quarantine make
 * a resident size that says nothing about the program's own. */
#include "tests/testutil.h"
#include "tests/testdata.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include "core/error.h"
#include "experiments/budget.h"
#include "models/mlp.h"

#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#else
#define UNDER_ASAN 0
#endif

static char out[1 << 16];

static const char *bin(void) { return getenv("CLREG_BIN") ? getenv("CLREG_BIN") : "./clreg"; }

/* Run clreg with args (NULL-terminated, without the program), under `resource` limited to `limit` bytes
 * when resource >= 0. Output (stdout and stderr) into out; returns the exit status, -1 for a signal; the
 * child's own peak resident set in MB in *peak when given. A CPU-time limit ends a child that spins. */
static int run_child(const char *const *args, int resource, double limit, double *peak)
{
    char *argv[64];
    int n = 0;
    argv[n++] = (char *)bin();
    for (; *args && n < 63; args++) argv[n++] = (char *)*args;
    argv[n] = NULL;
    int fd[2];
    if (pipe(fd) != 0) abort();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        dup2(fd[1], 2);
        close(fd[0]);
        struct rlimit cpu = {300, 300};
        setrlimit(RLIMIT_CPU, &cpu);
        if (resource >= 0) {
            struct rlimit rl = {(rlim_t)limit, (rlim_t)limit};
            if (setrlimit(resource, &rl) != 0) _exit(126);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    close(fd[1]);
    size_t len = 0;
    ssize_t r;
    while ((r = read(fd[0], out + len, sizeof out - 1 - len)) > 0) len += (size_t)r;
    out[len] = 0;
    char sink[256];
    while (read(fd[0], sink, sizeof sink) > 0) {}
    close(fd[0]);
    int st;
    struct rusage ru;
    if (wait4(pid, &st, 0, &ru) != pid) abort();
    if (peak) *peak = ru.ru_maxrss * 1024.0 / 1e6;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* The estimate a command printed ("estimated peak memory 98.4 MB ..."), in MB. */
static double printed_estimate(const char *text)
{
    const char *p = strstr(text, "estimated peak memory ");
    if (!p) fail_msg("no estimate in:\n%s", text);
    double v;
    char unit[4];
    if (sscanf(p + 22, "%lf %3s", &v, unit) != 2) fail_msg("unreadable estimate in:\n%s", text);
    if (!strcmp(unit, "kB")) return v / 1e3;
    if (!strcmp(unit, "MB")) return v;
    if (!strcmp(unit, "GB")) return v * 1e3;
    fail_msg("unit %s in:\n%s", unit, text);
    return 0;
}

/* The virtual or data size of this process in bytes: the test links the same libraries as clreg, so a
 * child starts at about this size. */
static double own_size(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = 0;
    size_t n = strlen(field);
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, field, n)) kb = atof(line + n + 1);
    if (f) fclose(f);
    if (kb <= 0) fail_msg("no %s in /proc/self/status", field);
    return kb * 1024;
}

/* The parameter count the estimate uses is the model's own, padding included. */
static void test_nparams_matches_model(void **state)
{
    (void)state;
    static const struct {
        int in, nh, hidden[3], nheads, heads[3];
    } shapes[] = {{784, 2, {400, 400}, 1, {10}}, {784, 0, {0}, 1, {10}}, {13, 3, {7, 1, 33}, 3, {2, 5, 1}},
                  {1, 1, {1}, 1, {2}},            {1024, 1, {2000}, 2, {47, 3}}};
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        cl_mlp *m = cl_mlp_create(shapes[i].in, shapes[i].hidden, shapes[i].nh, shapes[i].heads, shapes[i].nheads, 4);
        assert_non_null(m);
        assert_int_equal(cl_budget_nparams(shapes[i].in, shapes[i].hidden, shapes[i].nh, shapes[i].heads,
                                           shapes[i].nheads),
                         m->nparams);
        cl_mlp_free(m);
    }
}

/* A grid file in dir. */
static void grid_file(const char *dir, const char *name, const char *text, char *path)
{
    snprintf(path, 4096, "%s/%s", dir, name);
    td_write_text(path, text);
}

/* Three runs whose memory is mostly their own state (wide models on a small dataset): the printed estimate
 * is within 0.75x..1.35x of the peak the kernel measured (it lands at 1.00-1.08x on this project's
 * machines; the slack is for other kernels' BLAS buffers and allocators). A regularizer that starts keeping
 * another copy of the parameters, or an estimate that forgets the optimizer's moments or EWC's terms per
 * task, fails this. */
static void test_estimate_follows_measured_peak(void **state)
{
    (void)state;
    if (UNDER_ASAN) skip();
    char *dir = tu_mkdtemp(), data[4200], grid[4096], res[4200];
    snprintf(data, sizeof data, "%s/", dir);
    td_write_mnist(dir, "", 300, 100, 28, 28, 10, TD_RAW);
    struct {
        const char *what;
        double estimate, peak;
    } m[4];

    /* 1. clreg train, EWC with a penalty term per task */
    const char *train[] = {"train", "--dataset", "idx", "--data-path", data, "--tasks", "6", "--hidden", "1500,1500",
                           "--reg", "ewc", "-p", "fisher=empirical", "--threads", "1", NULL};
    if (run_child(train, -1, 0, &m[0].peak) != 0) fail_msg("train failed:\n%s", out);
    m[0].what = "train, ewc separate";
    m[0].estimate = printed_estimate(out);

    /* 2. two different cells at once */
    grid_file(dir, "two.ini",
              "[experiment]\ndataset = idx\ntasks = 3\nhidden = 1200, 1200\ncurve_steps = 2\n[si]\n[mas]\n", grid);
    snprintf(res, sizeof res, "%s/two", dir);
    const char *dry2[] = {"run", grid, "--data-path", data, "-j", "2", "--dry-run", NULL};
    if (run_child(dry2, -1, 0, NULL) != 0) fail_msg("dry run failed:\n%s", out);
    m[1].what = "grid si + mas, -j 2";
    m[1].estimate = printed_estimate(out);
    const char *run2[] = {"run", grid, "--data-path", data, "-j", "2", "-o", res, NULL};
    if (run_child(run2, -1, 0, &m[1].peak) != 0) fail_msg("run failed:\n%s", out);

    /* 3. one cell with every core for its BLAS: joint training, class-incremental, saving its state */
    grid_file(dir, "one.ini",
              "[experiment]\ndataset = idx\nstream = split\nscenario = class\nhidden = 3000, 2000\nsave_state = yes\n"
              "[joint]\n", grid);
    snprintf(res, sizeof res, "%s/one", dir);
    const char *dry3[] = {"run", grid, "--data-path", data, "--dry-run", NULL};
    if (run_child(dry3, -1, 0, NULL) != 0) fail_msg("dry run failed:\n%s", out);
    m[2].what = "grid joint, one cell";
    m[2].estimate = printed_estimate(out);
    const char *run3[] = {"run", grid, "--data-path", data, "-o", res, NULL};
    if (run_child(run3, -1, 0, &m[2].peak) != 0) fail_msg("run failed:\n%s", out);

    /* 4. a CNN whose conv outputs and signals per sample of the batch are most of its memory, with MAS's
     * per-sample conv gradients at each task's end */
    const char *cnn[] = {"train", "--dataset", "idx", "--data-path", data, "--tasks", "2", "--arch",
                         "dropout0.1, conv64k3p1, dropout0.25, conv64k3p1, maxpool2, dense64, dropout0.5", "--batch", "256", "--reg", "mas",
                         "--threads", "1", NULL};
    if (run_child(cnn, -1, 0, &m[3].peak) != 0) fail_msg("train (cnn) failed:\n%s", out);
    m[3].what = "train cnn, mas";
    m[3].estimate = printed_estimate(out);

    for (int i = 0; i < 4; i++) {
        print_message("%-24s estimated %7.1f MB, measured %7.1f MB (%.2fx)\n", m[i].what, m[i].estimate, m[i].peak,
                      m[i].estimate / m[i].peak);
        /* the runs are sized so their own state dominates what every process holds */
        assert_true(m[i].peak > 80);
        if (m[i].estimate < 0.75 * m[i].peak || m[i].estimate > 1.35 * m[i].peak)
            fail_msg("%s: estimated %.1f MB, measured %.1f MB", m[i].what, m[i].estimate, m[i].peak);
    }
    tu_rmdir(dir);
}

/* A run far beyond any machine's memory: one line with the estimate and the limit, exit 2, and no results
 * directory. (hidden = 50000, 50000, 40 GB, is refused on a machine with less; the test takes the widest
 * model the options allow, which no machine holds.) */
static void test_refuses_what_cannot_fit(void **state)
{
    (void)state;
    char *dir = tu_mkdtemp(), grid[4096], res[4200];
    grid_file(dir, "huge.ini",
              "[experiment]\ndataset = synthetic\nhidden = 1048576, 1048576, 1048576\n[none]\n[ewc]\n", grid);
    snprintf(res, sizeof res, "%s/res", dir);
    const char *run[] = {"run", grid, "-o", res, NULL};
    int rc = run_child(run, -1, 0, NULL);
    if (rc != 2 || tu_count_lines(out) != 1 || !strstr(out, "huge.ini: the run needs an estimated") ||
        !strstr(out, "TB of memory") || !strstr(out, "physical memory") || !strstr(out, "model"))
        fail_msg("exit %d:\n%s", rc, out);
    if (access(res, F_OK) == 0) fail_msg("the results directory was created before the check");
    /* --dry-run checks the same */
    const char *dry[] = {"run", grid, "--dry-run", NULL};
    rc = run_child(dry, -1, 0, NULL);
    if (rc != 2 || !strstr(out, "physical memory")) fail_msg("dry run: exit %d:\n%s", rc, out);
    /* clreg train too, before it allocates the model */
    const char *train[] = {"train", "--dataset", "synthetic", "--hidden", "1048576,1048576,1048576", NULL};
    rc = run_child(train, -1, 0, NULL);
    if (rc != 2 || tu_count_lines(out) != 1 || !strstr(out, "clreg train: the run needs an estimated") ||
        !strstr(out, "physical memory"))
        fail_msg("train: exit %d:\n%s", rc, out);
    /* the per-cell state of separate-mode EWC grows with the tasks: 1000 tasks of a 2000-wide model */
    const char *tasks[] = {"train", "--dataset", "synthetic", "--tasks", "1000", "--hidden", "20000",
                           "--reg", "ewc", NULL};
    rc = run_child(tasks, -1, 0, NULL);
    if (rc != 2 || !strstr(out, "regularizer")) fail_msg("ewc over 1000 tasks: exit %d:\n%s", rc, out);
    tu_rmdir(dir);
}

/* Under ulimit -v and ulimit -d: a run that needs more address space (or data segment) than the limit is
 * refused with that limit named, before its results directory exists; a small one runs under the same
 * limit. Each child gets its own size at the start plus 300 MB, so the test does not depend on how much
 * OpenBLAS maps on this machine. */
static void test_refuses_under_rlimits(void **state)
{
    (void)state;
    if (UNDER_ASAN) skip();
    char *dir = tu_mkdtemp(), grid[4096], res[4200];
    static const struct {
        int resource;
        const char *field, *name;
    } lim[] = {{RLIMIT_AS, "VmSize:", "RLIMIT_AS"}, {RLIMIT_DATA, "VmData:", "RLIMIT_DATA"}};
    for (int i = 0; i < 2; i++) {
        double limit = own_size(lim[i].field) + 300e6;
        /* 4 x 17.8M parameters of model and Adam alone: 285 MB */
        grid_file(dir, "big.ini", "[experiment]\ndataset = synthetic\nhidden = 4000, 3500\n[none]\n", grid);
        snprintf(res, sizeof res, "%s/big", dir);
        const char *big[] = {"run", grid, "-o", res, "-j", "1", NULL};
        int rc = run_child(big, lim[i].resource, limit, NULL);
        if (rc != 2 || tu_count_lines(out) != 1 || !strstr(out, lim[i].name) || !strstr(out, "estimated"))
            fail_msg("%s: exit %d:\n%s", lim[i].name, rc, out);
        if (access(res, F_OK) == 0) fail_msg("%s: the results directory was created", lim[i].name);
        grid_file(dir, "small.ini", "[experiment]\ndataset = synthetic\ntasks = 2\nhidden = 64\n[none]\n[l2]\n", grid);
        snprintf(res, sizeof res, "%s/small%d", dir, i);
        const char *small[] = {"run", grid, "-o", res, "-j", "1", NULL};
        rc = run_child(small, lim[i].resource, limit, NULL);
        if (rc != 0) fail_msg("%s: a small run was refused: exit %d:\n%s", lim[i].name, rc, out);
    }
    tu_rmdir(dir);
}

/* A child of this test that allocates `bytes` with cl_malloc, under an address-space limit when given. */
static int alloc_child(double bytes, double limit, int aligned)
{
    int fd[2];
    if (pipe(fd) != 0) abort();
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 2);
        close(fd[0]);
        if (limit > 0) {
            struct rlimit rl = {(rlim_t)limit, (rlim_t)limit};
            setrlimit(RLIMIT_AS, &rl);
        }
        void *p = aligned ? cl_aligned_calloc((size_t)bytes, 4) : cl_malloc((size_t)bytes);
        free(p);
        _exit(0);
    }
    close(fd[1]);
    size_t len = 0;
    ssize_t r;
    while ((r = read(fd[0], out + len, sizeof out - 1 - len)) > 0) len += (size_t)r;
    out[len] = 0;
    close(fd[0]);
    int st;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Out of memory after the checks (a limit lowered underneath, another process taking the memory): one
 * line and exit status 1, not abort() and its core dump. */
static void test_out_of_memory_is_a_message(void **state)
{
    (void)state;
    /* a count whose size in bytes wraps size_t: refused before any allocator sees it */
    int rc = alloc_child((double)(SIZE_MAX / 2), 0, 1);
    if (rc != 1 || tu_count_lines(out) != 1 || !strstr(out, "clreg: out of memory")) fail_msg("exit %d:\n%s", rc, out);
    if (UNDER_ASAN) return; /* ASan reports allocations it cannot serve itself, and cannot run under ulimit -v */
    rc = alloc_child(1e9, own_size("VmSize:") + 100e6, 0);
    if (rc != 1 || tu_count_lines(out) != 1 || !strstr(out, "clreg: out of memory") || !strstr(out, "1000.0 MB"))
        fail_msg("exit %d:\n%s", rc, out);
    /* through the command line: data larger than the address space left (60,000 images of 28x28, 47 MB) */
    char *dir = tu_mkdtemp(), data[4200];
    snprintf(data, sizeof data, "%s/", dir);
    td_write_mnist(dir, "", 60000, 100, 28, 28, 10, TD_RAW);
    const char *train[] = {"train", "--dataset", "idx", "--data-path", data, "--threads", "1", "--quiet", NULL};
    rc = run_child(train, RLIMIT_AS, own_size("VmSize:") + 20e6, NULL);
    if (rc != 1 || tu_count_lines(out) != 1 || !strstr(out, "out of memory")) fail_msg("train: exit %d:\n%s", rc, out);
    tu_rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_nparams_matches_model),
        cmocka_unit_test(test_refuses_what_cannot_fit),
        cmocka_unit_test(test_out_of_memory_is_a_message),
        cmocka_unit_test(test_refuses_under_rlimits),
        cmocka_unit_test(test_estimate_follows_measured_peak),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

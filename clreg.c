/* clreg: the command line. It parses, validates and dispatches; the work lives in the modules. */
#include <getopt.h>
#include <malloc.h>
#include <omp.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/args.h"
#include "core/blas.h"
#include "core/error.h"
#include "core/paths.h"
#include "core/version.h"
#include "datasets/dataset.h"
#include "datasets/stream.h"
#include "experiments/budget.h"
#include "experiments/compare.h"
#include "experiments/dirlock.h"
#include "experiments/estimate.h"
#include "experiments/fingerprint.h"
#include "experiments/grid.h"
#include "experiments/merge.h"
#include "experiments/metrics.h"
#include "experiments/plot.h"
#include "experiments/runner.h"
#include "experiments/settings.h"
#include "experiments/shard.h"
#include "experiments/slurm.h"
#include "experiments/probe.h"
#include "experiments/report.h"
#include "experiments/results.h"
#include "experiments/train.h"
#include "models/mlp.h"
#include "regularizers/regularizer.h"

#define MAX_HIDDEN 16

static void usage_main(FILE *f)
{
    fprintf(f,
            "clreg %s: continual-learning regularizers (EWC, MAS, local Hebbian MAS, ...) compared on task streams\n"
            "\n"
            "usage: clreg <command> [options]\n"
            "\n"
            "commands:\n"
            "  run        run an experiment grid (INI file) in parallel and write CSV results\n"
            "  summarize  recompute the summaries of a results directory\n"
            "  compare    paired comparisons of the methods over seeds and orders: confidence intervals, tests, Holm\n"
            "  merge      merge the shards of a grid (run --shard I/N) into one results directory\n"
            "  slurm      write (and --submit) the sbatch scripts that run a grid as a SLURM job array\n"
            "  plot       draw the paper-style figures of a results directory with gnuplot\n"
            "  report     write report.md, report.html (figures inline) and tables.tex (booktabs) of a results\n"
            "             directory: the selection protocol, the tables, the paired comparisons, the manifest\n"
            "  train      train one network through one task stream and print its accuracy matrix\n"
            "  list       list the regularizers with their parameters and defaults\n"
            "  version    print the version and the BLAS library, build and kernel in use\n"
            "  help       this text; 'clreg <command> --help' explains a command\n"
            "\n"
            "Start with:  clreg run experiments/quick.ini     (or: clreg run --help, clreg train --help)\n",
            CLREG_VERSION);
}

/* What --reg trains when it is not given: fine-tuning, the lower bound every method is compared against. */
static const char *const DEFAULT_REG = "none";

/* The registry's method names, comma-separated, wrapped at 100 columns with the continuation lines indented
 * by `indent` (the first line continues the text already printed, `col` columns wide). Help lists the
 * methods from the table itself, so a method registered in regularizers/registry.c is in --help the day it
 * is added, and the default is marked wherever it is in the table. */
static void help_methods(FILE *f, int col, int indent)
{
    for (int i = 0; i < cl_reg_method_count(); i++) {
        const char *name = cl_reg_method_name(cl_reg_method_at(i));
        int last = i + 1 == cl_reg_method_count(), is_default = !strcmp(name, DEFAULT_REG);
        int len = (int)strlen(name) + (is_default ? 10 : 0) + (last ? 0 : 1);
        if (i > 0 && col + 1 + len > 100) {
            fprintf(f, "\n%*s", indent, "");
            col = indent;
        } else if (i > 0) {
            fputc(' ', f);
            col++;
        }
        fprintf(f, "%s%s%s", name, is_default ? " (default)" : "", last ? "" : ",");
        col += len;
    }
    fputc('\n', f);
}

static void usage_train(FILE *f)
{
    fprintf(f,
            "usage: clreg train [options]\n"
            "\n"
            "Trains a network (an MLP, or a CNN with --arch) through a stream of tasks and prints the accuracy\n"
            "matrix R[i][j] (test accuracy on task j after training tasks 1..i; the first row is before\n"
            "training) and its metrics. Every option of the data, stream, model and training sections is also a\n"
            "grid's [experiment] key, spelt with '_' (--data-path is data_path; a flag is key = yes).\n"
            "\n"
            "data:\n");
    cl_settings_help(f, "data");
    fprintf(f, "task stream:\n");
    cl_settings_help(f, "task stream");
    fprintf(f, "  --no-scale          the same as --scale none\n"
               "regularizer:\n"
               "  --reg NAME          one of these methods ('clreg list' explains each):\n"
               "                      ");
    help_methods(f, 22, 22);
    fprintf(f, "  --lambda X          penalty strength (each method has its own default)\n"
               "  -p, --param K=V     a method parameter, e.g. -p fisher=exact -p mode=online (repeatable)\n"
               "  --save-state DIR    after each task, write parameters and importances as .npy files under\n"
               "                      DIR/task<k>/params/ and DIR/task<k>/importance/\n"
               "  --probe K           after the run, put parameters back to their values after task K and\n"
               "                      test every task again: the least important 10/20/50%% and the most\n"
               "                      important 50%% by task K's importance, and the parameters of the\n"
               "                      dense units silent on all of task K's training data (every\n"
               "                      gradient-based importance scores them 0). Shows which weights carry\n"
               "                      the later tasks, and the forgetting.\n"
               "model and training:\n");
    cl_settings_help(f, "model and training");
    fprintf(f,
            "  --seed N            seed for initialization, shuffling and permutations (default 1)\n"
            "  --threads N         BLAS threads (default: all cores)\n"
            "  --quiet             no per-epoch progress on stderr\n"
            "\n"
            "The penalty is lambda * sum_i Omega_i (theta_i - theta*_i)^2 (no 1/2: the EWC paper's lambda is 2x).\n"
            "\n"
            "examples:\n"
            "  clreg train --stream split --scenario task --epochs 2\n"
            "  clreg train --reg ewc --lambda 100 -p fisher=empirical\n"
            "  clreg train --reg mas --lambda 1 -p data=test --save-state results/mas-state\n"
            "  clreg train --tasks 2 --reg mas --lambda 100 --probe 1\n"
            "  clreg train --arch 'conv16k5, maxpool2, conv32k5, maxpool2, dense128' --stream split --tasks 1\n"
            "  clreg train --dataset cifar10 --data-path ~/data/cifar-10-batches-bin --arch zenke-cifar \\\n"
            "              --stream split --scenario task\n");
}

static void usage_run(FILE *f)
{
    fprintf(f,
            "usage: clreg run GRID.ini [-j N] [-o DIR] [--fresh] [--quiet] [--data-path PATH] [--dry-run]\n"
            "                 [--shard I/N|slurm]\n"
            "\n"
            "Expands the grid into cells (method section x parameter combination x task order x seed), runs them\n"
            "in parallel and writes CSV results into DIR (default results/<grid name>/): runs.csv (one row per\n"
            "cell), matrix.csv, curves.csv, the summaries, a copy of the grid and a manifest. Rerunning the same\n"
            "grid into the same directory resumes: finished cells are kept, the rest run.\n"
            "\n"
            "  -j, --threads N   cells in parallel (default: all cores); results do not depend on it\n"
            "  -o, --out DIR     results directory\n"
            "  --fresh           discard earlier results in DIR and start over\n"
            "  --quiet           no progress line (it is shown only on a terminal anyway)\n"
            "  --dry-run         check the grid against the data and the memory it needs, list its cells with\n"
            "                    their estimated times, and print the grid's CPU time, its largest cell and\n"
            "                    the wall time at -j (calibrated in about a second on this machine), without\n"
            "                    running anything; with --shard, the shard's time and the largest shard's\n"
            "  --shard I/N       run only shard I of N (from 0) into DIR/shard-I-of-N/; cells are dealt to\n"
            "                    shards by their estimated cost; clreg merge DIR puts the shards together\n"
            "  --shard slurm     I and N from a SLURM job array (SLURM_ARRAY_TASK_ID, _MIN, _COUNT); see\n"
            "                    clreg slurm --help\n"
            "  --data-path PATH  where the grid's dataset is (overrides the grid's data_path), e.g. for\n"
            "                    experiments/mnist/*.ini: --data-path ~/data/mnist\n"
            "\n"
            "One clreg at a time writes a results directory: a second run, summarize or plot is refused. On\n"
            "SIGINT or SIGTERM (Ctrl-C) running cells stop and leave no rows, the manifest says interrupted, and\n"
            "the exit status is 130 or 143; rerunning resumes. A second signal ends clreg at once. A resume\n"
            "checks that the data are those the results came from (DIR/data_fingerprint.csv).\n"
            "\n"
            "Grid files: see experiments/README.md and the shipped experiments/*.ini. A grid may come from a pipe\n"
            "(clreg run <(...)); its results then go to results/grid-<crc32 of the grid>/ unless it has a name.\n"
            "example: clreg run experiments/quick.ini -j 2\n");
}

/* The option as the user typed it, for messages: "-j" for the short form, "--threads" for the long one (and
 * for an abbreviation, which getopt_long accepts). longindex is getopt_long's, set to -1 before each call. */
static const char *opt_typed(const struct option *opts, int longindex, int c)
{
    static char buf[64];
    if (longindex >= 0) snprintf(buf, sizeof buf, "--%s", opts[longindex].name);
    else snprintf(buf, sizeof buf, "-%c", c);
    return buf;
}

/* Values flow into messages of every module (data paths, regularizer names, class groups), which quote
 * them as they are: a control byte is refused where it is typed, so no message carries one to the terminal.
 * Returns 0, or -1 with a message naming the option. */
static int printable_value(const char *opt, const char *v)
{
    for (const unsigned char *c = (const unsigned char *)v; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return cl_fail("%s: the value '%s' holds a control byte (0x%02x); values are printable text", opt,
                           cl_quote(v), *c);
    return 0;
}

/* clreg run stops cleanly on SIGINT, SIGTERM or SIGHUP: the handler only records the signal, the runner
 * sees it between training steps (cells end without writing rows, the manifest says interrupted), and the
 * command exits 128 + the signal's number. A second signal ends the process at once, by that signal: the
 * user means it, and the results stay safe (rows are whole, the lock goes with the process). */
static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    if (stop_signal) {
        signal(sig, SIG_DFL); /* both are async-signal-safe */
        raise(sig);
        return;
    }
    stop_signal = sig;
}

static void catch_stop_signals(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        struct sigaction old, sa;
        /* a signal the shell set to be ignored (nohup, a background job) stays ignored */
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN) continue;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_stop_signal;
        sigemptyset(&sa.sa_mask);
        sa.sa_flags = SA_RESTART; /* file reads and writes go on as if nothing happened */
        sigaction(sigs[i], &sa, NULL);
    }
}

/* The command as typed, for the manifest and the directory's lock (getopt reorders argv). */
static void command_line(char *out, size_t n, const char *name, int argc, char **argv)
{
    snprintf(out, n, "clreg %s", name);
    for (int i = 1; i < argc; i++) {
        size_t len = strlen(out);
        if (len + 1 < n) snprintf(out + len, n - len, " %s", argv[i]);
    }
}

/* Take a results directory's lock for summarize or plot (they rewrite its files). */
static int lock_results(cl_dirlock *lock, const char *cmd, const char *dir, int argc, char **argv)
{
    struct stat st;
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "clreg %s: %s: no such results directory\n", cmd, dir);
        return -1;
    }
    char command[2048];
    command_line(command, sizeof command, cmd, argc, argv);
    if (cl_dirlock_take(lock, dir, command)) {
        fprintf(stderr, "clreg %s: %s\n", cmd, cl_errmsg());
        return -1;
    }
    return 0;
}

/* A grid file loaded, its data opened (data_path, when given, wins over the grid's) and the grid checked
 * against them, then the memory of running it with `threads` cells at once: every check before anything
 * is created. Returns 0 with g and data to free, or the exit status (2 for the grid or the memory, 1 for the
 * data) with the message printed as "clreg CMD: ...". */
static int open_grid(const char *cmd, const char *path, const char *data_path, int threads, const char *hint,
                     cl_grid *g, cl_data *data, cl_budget *budget)
{
    if (cl_grid_load(g, path)) {
        fprintf(stderr, "clreg %s: %s\n", cmd, cl_errmsg());
        cl_grid_free(g);
        return 2;
    }
    if (data_path) {
        free(g->set.data_path);
        g->set.data_path = strdup(data_path);
    }
    if ((g->set.data_opts.labels != CL_LABELS_INDEX || g->set.data_opts.label_column) &&
        cl_data_check_opts(g->set.dataset, &g->set.data_opts)) { /* e.g. labels = remap for mnist: a grid error */
        fprintf(stderr, "clreg %s: %s:%d: [experiment]: %s\n", cmd, g->path, g->experiment_line ? g->experiment_line : 1,
                cl_errmsg());
        cl_grid_free(g);
        return 2;
    }
    if (cl_data_open_opts(data, g->set.dataset, g->set.data_path, 1, &g->set.data_opts)) {
        fprintf(stderr, "clreg %s: %s: %s\n", cmd, g->shown, cl_errmsg());
        cl_grid_free(g);
        return 1;
    }
    if (cl_grid_prepare(g, data) || cl_budget_grid(budget, g, data, threads) || cl_budget_check(budget, hint)) {
        if (strncmp(cl_errmsg(), g->shown, strlen(g->shown))) cl_fail_prefix("%s", g->shown);
        fprintf(stderr, "clreg %s: %s\n", cmd, cl_errmsg());
        cl_data_free(data);
        cl_grid_free(g);
        return 2;
    }
    return 0;
}

static int cmd_run(int argc, char **argv)
{
    static const struct option opts[] = {{"threads", required_argument, 0, 'j'}, {"out", required_argument, 0, 'o'},
                                         {"fresh", no_argument, 0, 'F'},         {"quiet", no_argument, 0, 'q'},
                                         {"data-path", required_argument, 0, 'D'}, {"help", no_argument, 0, 'h'},
                                         {"dry-run", no_argument, 0, 'n'},       {"shard", required_argument, 0, 'S'},
                                         {0, 0, 0, 0}};
    int dry_run = 0;
    const char *shard_text = NULL;
    const char *data_path = NULL;
    cl_runner_opts ro = {.progress = -1};
    int c, rc = 0, li = -1;
    char out_opt[32] = "results directory"; /* how messages name the results directory */
    char command[2048];
    command_line(command, sizeof command, "run", argc, argv);
    ro.command = command;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":j:o:h", opts, &li)) != -1) {
        if (optarg && c != ':' && c != '?' && (rc = printable_value(opt_typed(opts, li, c), optarg))) break;
        switch (c) {
        case 'j': rc = cl_parse_int(opt_typed(opts, li, c), optarg, 1, 1024, &ro.threads); break;
        case 'o':
            ro.outdir = optarg;
            snprintf(out_opt, sizeof out_opt, "%s", opt_typed(opts, li, c));
            if (!*optarg) rc = cl_fail("%s: expected a directory, got an empty value", out_opt);
            break;
        case 'F': ro.fresh = 1; break;
        case 'q': ro.progress = 0; break;
        case 'D':
            data_path = optarg;
            if (!*optarg) rc = cl_fail("%s: expected a path, got an empty value", opt_typed(opts, li, c));
            break;
        case 'n': dry_run = 1; break;
        case 'S':
            shard_text = optarg;
            rc = cl_shard_parse(opt_typed(opts, li, c), optarg, &ro.shard);
            break;
        case 'h': usage_run(stdout); return 0;
        case ':': rc = cl_fail("option '%s' needs a value (see clreg run --help)", cl_quote(argv[optind - 1])); break;
        default: rc = cl_fail("unknown option '%s' (see clreg run --help)", cl_quote(argv[optind - 1]));
        }
        li = -1;
        if (rc) break;
    }
    if (!rc && optind != argc - 1) {
        if (optind >= argc) rc = cl_fail("expected a grid file, e.g. clreg run experiments/quick.ini");
        else rc = cl_fail("expected one grid file, got '%s' and '%s'", cl_quote_path(argv[optind]),
                          cl_quote(argv[optind + 1]));
    }
    if (!rc) rc = printable_value("the grid file's name", argv[optind]);
    if (rc) {
        fprintf(stderr, "clreg run: %s\n", cl_errmsg());
        return 2;
    }
    cl_grid g;
    cl_data data;
    cl_budget budget;
    int orc = open_grid("run", argv[optind], data_path, ro.threads,
                        "use smaller hidden layers or batch, or fewer cells at once (-j)", &g, &data, &budget);
    if (orc) return orc;
    /* A shard's cells: every shard process computes the same assignment from the grid and the data. */
    int *shard_of = NULL;
    if (shard_text) {
        uint64_t *cost = cl_malloc(sizeof(uint64_t) * (size_t)(g.ncells ? g.ncells : 1));
        if (cl_shard_costs(&g, &data, cost)) {
            fprintf(stderr, "clreg run: %s\n", cl_errmsg());
            free(cost);
            cl_data_free(&data);
            cl_grid_free(&g);
            return 2;
        }
        shard_of = cl_malloc(sizeof(int) * (size_t)(g.ncells ? g.ncells : 1));
        cl_shard_assign(g.ncells, cost, ro.shard.count, shard_of);
        free(cost);
        ro.shard_of = shard_of;
    }
    if (dry_run) {
        char mem[1024], t[32], t2[32], t3[32];
        cl_budget_describe(&budget, mem, sizeof mem);
        cl_estimate est;
        if (cl_estimate_grid(&est, &g, &data)) {
            fprintf(stderr, "clreg run: the calibration for the time estimate failed: %s\n", cl_errmsg());
            free(shard_of);
            cl_data_free(&data);
            cl_grid_free(&g);
            return 1;
        }
        /* the normalization, where it acts (CIFAR's default, or asked for): the one input transform a reader
         * of the grid cannot see from its scale line */
        char norm[300] = "";
        cl_stream ns;
        if (cl_grid_stream(&g, &data, &ns) == 0) {
            if (ns.norm_mean) {
                memcpy(norm, "; inputs ", 10);
                cl_stream_norm_desc(&ns, norm + 9, sizeof norm - 9);
            }
            cl_stream_free(&ns);
        }
        printf("%s: %d cells (%d method sections x their parameter combinations, %d orders, %d seeds), %d tasks%s\n",
               g.shown, g.ncells, g.nsections, g.norders, g.nseeds, g.ntasks, norm);
        for (int i = 0; i < g.ncells; i++) {
            const cl_grid_cell *cell = &g.cells[i];
            cl_estimate_time(t, sizeof t, est.cell_sec[i]);
            printf("  %4d  %-12s", cell->run, g.sections[cell->section].label);
            for (int k = 0; k < cell->nparams; k++) printf(" %s", cell->params[k]);
            printf("  order %d  seed %llu  ~%s", cell->order, (unsigned long long)cell->seed, t);
            if (shard_of) printf("  shard %d", shard_of[i]);
            printf("\n");
        }
        const cl_grid_cell *big = &g.cells[est.largest];
        int par = ro.threads > 0 ? ro.threads : omp_get_num_procs();
        if (par > g.ncells) par = g.ncells;
        cl_estimate_time(t, sizeof t, est.total_sec);
        cl_estimate_time(t2, sizeof t2, est.cell_sec[est.largest]);
        cl_estimate_time(t3, sizeof t3, est.total_sec / par > est.cell_sec[est.largest] ? est.total_sec / par
                                                                                       : est.cell_sec[est.largest]);
        printf("estimated CPU time %s for the %d cells, the largest cell %s (run %d: %s, order %d, seed %llu); "
               "wall time at -j %d about %s (calibrated on this machine's %s kernel: %.3g ns per multiply-add "
               "training, %.3g evaluating)\n", t, g.ncells, t2, big->run, g.sections[big->section].label, big->order,
               (unsigned long long)big->seed, par, t3, cl_blas_core(), est.train_rate * 1e9, est.eval_rate * 1e9);
        if (shard_of) {
            double *load = cl_calloc((size_t)ro.shard.count, sizeof *load);
            int *cells = cl_calloc((size_t)ro.shard.count, sizeof *cells);
            for (int i = 0; i < g.ncells; i++) load[shard_of[i]] += est.cell_sec[i], cells[shard_of[i]]++;
            double mx = 0;
            for (int k = 0; k < ro.shard.count; k++) mx = load[k] > mx ? load[k] : mx;
            cl_estimate_time(t, sizeof t, load[ro.shard.index]);
            cl_estimate_time(t2, sizeof t2, mx);
            printf("shard %d/%d: %d cells, CPU time about %s; the largest of the %d shards about %s (%.2fx their mean)\n",
                   ro.shard.index, ro.shard.count, cells[ro.shard.index], t, ro.shard.count, t2,
                   mx / (est.total_sec / ro.shard.count));
            free(load);
            free(cells);
        }
        printf("%s\n", mem);
        cl_estimate_free(&est);
        free(shard_of);
        cl_data_free(&data);
        cl_grid_free(&g);
        return 0;
    }
    char outdir[4096];
    snprintf(outdir, sizeof outdir, "%s", ro.outdir ? ro.outdir : "");
    if (!ro.outdir) snprintf(outdir, sizeof outdir, "results/%s", g.name);
    if (!ro.outdir && !g.regular && !g.named && ro.progress != 0)
        fprintf(stderr, "clreg run: %s is not a regular file, so its results go to %s (named by a checksum of the "
                        "grid: the same grid piped again resumes there); choose with name = ... under "
                        "[experiment] or -o DIR\n", g.shown, outdir);
    if (shard_text) { /* the shard's own directory under the grid's, where clreg merge finds it */
        char name[64];
        size_t l = strlen(outdir);
        while (l > 1 && outdir[l - 1] == '/') outdir[--l] = 0;
        cl_shard_dirname(&ro.shard, name, sizeof name);
        if (l + 1 + strlen(name) + 1 > sizeof outdir) {
            fprintf(stderr, "clreg run: %s: the path is too long for a shard directory under it\n", out_opt);
            free(shard_of);
            cl_data_free(&data);
            cl_grid_free(&g);
            return 2;
        }
        snprintf(outdir + l, sizeof outdir - l, "/%s", name);
    }
    ro.outdir = outdir;
    if (cl_output_dir(out_opt, outdir)) {
        fprintf(stderr, "clreg run: %s\n", cl_errmsg());
        free(shard_of);
        cl_data_free(&data);
        cl_grid_free(&g);
        return 1;
    }
    if (ro.progress != 0 && isatty(2))
        fprintf(stderr, "clreg run: %s: %d cells (%d method sections, %d seeds, %d orders, %d tasks) into %s\n",
                g.shown, g.ncells, g.nsections, g.nseeds, g.norders, g.ntasks, outdir);
    int status = 0;
    cl_run_report rep;
    catch_stop_signals();
    ro.stop = &stop_signal;
    int grc = cl_grid_run(&g, &data, &ro, &rep);
    if (rep.adopted)
        fprintf(stderr, "clreg run: note: %s had results but no data fingerprint (an older clreg's): they are taken to "
                        "come from this run's data, now recorded in %s/%s\n", outdir, outdir, CL_FINGERPRINT_FILE);
    if (rep.other_kernel[0])
        fprintf(stderr, "clreg run: note: the %d cells already in %s were computed with BLAS kernel %s, this run "
                        "uses %s: comparable, but not bit for bit the numbers of one uninterrupted run (the manifest "
                        "keeps this)\n", rep.done_before, outdir, rep.other_kernel, cl_blas_core());
    if (rep.repair[0])
        fprintf(stderr, "clreg run: note: %s had damaged results (%s); dropped, their cells run again\n",
                outdir, rep.repair);
    if (grc) {
        fprintf(stderr, "clreg run: %s\n", cl_errmsg());
        status = 1;
    } else if (rep.stopped) {
        fprintf(stderr, "clreg run: interrupted by %s: %d of %d cells done (%d by this run; the cells that were "
                        "running left no rows); results so far in %s/; rerun the same command to resume\n",
                rep.stopped == SIGINT ? "SIGINT" : rep.stopped == SIGTERM ? "SIGTERM" : "SIGHUP", rep.done, rep.ncells,
                rep.done - rep.done_before, outdir);
        status = 128 + rep.stopped;
    } else if (shard_text) {
        size_t l = strlen(outdir) - strlen(strrchr(outdir, '/'));
        printf("%s: shard %d/%d: %d cells of the grid's %d done; results in %s/; when every shard is done: clreg "
               "merge %.*s\n", g.name, ro.shard.index, ro.shard.count, rep.ncells, g.ncells, outdir, (int)l, outdir);
    } else {
        printf("%s: %d cells done; results in %s/ (runs.csv, summary.csv, ...)\n", g.name, g.ncells, outdir);
    }
    free(shard_of);
    cl_data_free(&data);
    cl_grid_free(&g);
    return status;
}

static void usage_merge(FILE *f)
{
    fprintf(f,
            "usage: clreg merge OUT [SHARD_DIR...] [--partial]\n"
            "\n"
            "Merges the shards of a grid (clreg run GRID --shard I/N) into one results directory OUT, with the\n"
            "summaries a single run would have written: its runs.csv, matrix.csv and curves.csv equal a\n"
            "single-process run's byte for byte, timing columns aside. Without SHARD_DIR, the shards are OUT's\n"
            "own shard-I-of-N directories, where clreg run --shard -o OUT puts them; a SHARD_DIR may also be a\n"
            "directory of shards.\n"
            "\n"
            "The shards must have run the same grid file, on the same data, with the same clreg build, split\n"
            "the same way, and every cell must be complete in exactly one of them; otherwise nothing is written\n"
            "and the message names the missing or duplicated cells and their shards. A shard still running is\n"
            "refused (its directory is locked).\n"
            "\n"
            "  --partial   merge the complete cells and say what is missing; rerunning the missing shards and\n"
            "              merging again completes OUT, and so does clreg run GRID -o OUT\n"
            "\n"
            "example: clreg run g.ini --shard 0/2 & clreg run g.ini --shard 1/2; wait; clreg merge results/g\n");
}

static int cmd_merge(int argc, char **argv)
{
    const char *out = NULL, **dirs = cl_calloc((size_t)argc, sizeof *dirs);
    int n = 0, rc = 0;
    cl_merge_opts mo = {0};
    char command[2048];
    command_line(command, sizeof command, "merge", argc, argv);
    mo.command = command;
    for (int i = 1; i < argc && !rc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage_merge(stdout);
            free(dirs);
            return 0;
        }
        if (!strcmp(argv[i], "--partial")) mo.partial = 1;
        else if (argv[i][0] == '-' && argv[i][1]) rc = cl_fail("unknown option '%s' (see clreg merge --help)", cl_quote(argv[i]));
        else if ((rc = printable_value("a directory's name", argv[i]))) break;
        else if (!out) out = argv[i];
        else dirs[n++] = argv[i];
    }
    if (!rc && !out) rc = cl_fail("expected the merged results directory, e.g. clreg merge results/g (see clreg merge --help)");
    if (rc) {
        fprintf(stderr, "clreg merge: %s\n", cl_errmsg());
        free(dirs);
        return 2;
    }
    cl_merge_report rep;
    rc = cl_merge(out, dirs, n, &mo, &rep);
    free(dirs);
    if (rc) {
        fprintf(stderr, "clreg merge: %s\n", cl_errmsg());
        return 1;
    }
    if (rep.missing[0]) fprintf(stderr, "clreg merge: partial: %s\n", rep.missing);
    if (rep.kernels[0])
        fprintf(stderr, "clreg merge: note: the shards ran on BLAS kernels %s: comparable, but not bit for bit the "
                        "numbers of one machine (the manifest keeps this)\n", rep.kernels);
    printf("merged %d shard%s of %d: %d of the grid's %d cells into %s/ (runs.csv, summary.csv, ...)\n", rep.nshards,
           rep.nshards == 1 ? "" : "s", rep.nshards_expected, rep.nmerged, rep.ncells, out);
    return 0;
}

static void usage_slurm(FILE *f)
{
    fprintf(f,
            "usage: clreg slurm GRID.ini [--shards N] [--parallel K] [--cpus-per-task C] [--time T]\n"
            "                  [--partition P] [--account A] [-o DIR] [--data-path PATH] [--submit]\n"
            "                  [-- SBATCH_OPTION...]\n"
            "\n"
            "Writes the sbatch scripts that run the grid on a SLURM cluster as a job array of N shards (clreg run\n"
            "--shard slurm), and a merge job that runs once every shard has succeeded (clreg merge DIR), into\n"
            "DIR/slurm/ (DIR default results/<grid name>). The grid is checked against the data first.\n"
            "\n"
            "  --shards N         array tasks (default: one per C cells, at most the cell count)\n"
            "  --parallel K       at most K shards at once (the array's %%K throttle; default: no limit)\n"
            "  --cpus-per-task C  CPUs per shard (default 1): its cells run C at once, OMP_NUM_THREADS=C\n"
            "  --time T           each shard's time limit, as sbatch takes it (e.g. 2:00:00); see\n"
            "                     clreg run GRID --dry-run --shard 0/N for the estimated time of a shard\n"
            "  --partition P, --account A   as sbatch's\n"
            "  --data-path PATH   where the grid's dataset is on the cluster (absolute in the scripts)\n"
            "  --submit           submit both with sbatch and print the job ids and where results go\n"
            "  -- OPTION...       further sbatch options, written as #SBATCH lines into both scripts,\n"
            "                     e.g. -- --mem=4G --qos=long\n"
            "\n"
            "Without --submit, DIR/slurm/submit.sh submits them later. A failed shard keeps the merge from\n"
            "running; resubmit its task (sbatch --array=I DIR/slurm/array.sbatch) and it resumes, then merge\n"
            "with clreg merge DIR.\n"
            "\n"
            "example: clreg slurm experiments/permuted.ini --shards 8 --time 1:00:00 --submit\n");
}

static int cmd_slurm(int argc, char **argv)
{
    static const struct option opts[] = {{"shards", required_argument, 0, 'N'},    {"parallel", required_argument, 0, 'K'},
                                         {"cpus-per-task", required_argument, 0, 'c'},
                                         {"time", required_argument, 0, 't'},      {"partition", required_argument, 0, 'p'},
                                         {"account", required_argument, 0, 'A'},   {"out", required_argument, 0, 'o'},
                                         {"data-path", required_argument, 0, 'D'}, {"submit", no_argument, 0, 'S'},
                                         {"help", no_argument, 0, 'h'},            {0, 0, 0, 0}};
    cl_slurm_opts so = {.cpus = 1};
    int c, li = -1, rc = 0, submit = 0;
    const char *out_opt = "-o";
    char command[2048];
    command_line(command, sizeof command, "slurm", argc, argv);
    so.command = command;
    opterr = 0;
    optind = 1;
    /* getopt_long moves the operands (the grid, then what follows "--") to the end, in their order */
    while ((c = getopt_long(argc, argv, ":o:h", opts, &li)) != -1) {
        if (optarg && c != ':' && c != '?' && (rc = printable_value(opt_typed(opts, li, c), optarg))) break;
        switch (c) {
        case 'N': rc = cl_parse_int(opt_typed(opts, li, c), optarg, 1, CL_SHARD_MAX, &so.shards); break;
        case 'K': rc = cl_parse_int(opt_typed(opts, li, c), optarg, 1, CL_SHARD_MAX, &so.parallel); break;
        case 'c': rc = cl_parse_int(opt_typed(opts, li, c), optarg, 1, 1024, &so.cpus); break;
        case 't': so.time = optarg; break;
        case 'p': so.partition = optarg; break;
        case 'A': so.account = optarg; break;
        case 'o':
            so.outdir = optarg;
            out_opt = opt_typed(opts, li, c);
            break;
        case 'D': so.data_path = optarg; break;
        case 'S': submit = 1; break;
        case 'h': usage_slurm(stdout); return 0;
        case ':': rc = cl_fail("option '%s' needs a value (see clreg slurm --help)", cl_quote(argv[optind - 1])); break;
        default: rc = cl_fail("unknown option '%s' (see clreg slurm --help)", cl_quote(argv[optind - 1]));
        }
        li = -1;
        if (rc) break;
        if ((c == 't' || c == 'p' || c == 'A' || c == 'o' || c == 'D') && !*optarg)
            rc = cl_fail("%s: expected a value, got an empty one", opt_typed(opts, li, c));
        if (rc) break;
    }
    /* operands: the grid, then (after --) sbatch options; getopt_long moved them to the end in order */
    const char *grid_path = NULL;
    if (!rc) {
        if (optind >= argc) rc = cl_fail("expected a grid file, e.g. clreg slurm experiments/quick.ini");
        else grid_path = argv[optind];
    }
    so.extra = (const char *const *)argv + optind + 1;
    so.nextra = grid_path ? argc - optind - 1 : 0;
    for (int i = 0; i < so.nextra && !rc; i++) {
        if (so.extra[i][0] != '-')
            rc = cl_fail("'%s': expected one grid file, then sbatch options after --, e.g. -- --mem=4G",
                         cl_quote(so.extra[i]));
        else rc = printable_value("an sbatch option", so.extra[i]);
    }
    if (!rc && grid_path) rc = printable_value("the grid file's name", grid_path);
    if (rc) {
        fprintf(stderr, "clreg slurm: %s\n", cl_errmsg());
        return 2;
    }
    /* the grid, checked against the data as clreg run would, so a bad grid fails here, not on the cluster */
    cl_grid g;
    cl_data data;
    cl_budget budget;
    int orc = open_grid("slurm", grid_path, so.data_path, so.cpus,
                        "use smaller hidden layers or batch, or fewer CPUs per task", &g, &data, &budget);
    if (orc) return orc;
    if (!so.shards) so.shards = (g.ncells + so.cpus - 1) / so.cpus;
    if (so.shards > g.ncells) so.shards = g.ncells; /* a shard beyond the cell count would run nothing */
    char outdir[4096];
    if (so.outdir) snprintf(outdir, sizeof outdir, "%s", so.outdir);
    else snprintf(outdir, sizeof outdir, "results/%s", g.name);
    so.outdir = outdir;
    so.grid_path = grid_path;
    so.grid_text = g.text;
    so.grid_name = g.name;
    cl_slurm_files f;
    rc = cl_output_dir(out_opt, outdir) || cl_slurm_write(&so, &f);
    if (!rc) {
        printf("%s: %d cells in %d shards of about %d cells, %d CPU%s each", g.name, g.ncells, so.shards,
               (g.ncells + so.shards - 1) / so.shards, so.cpus, so.cpus == 1 ? "" : "s");
        if (so.parallel && so.parallel < so.shards) printf(", at most %d at once", so.parallel);
        printf("; scripts in %s/\n", f.dir);
    }
    if (!rc && submit) {
        char array_id[64], merge_id[64];
        rc = cl_slurm_submit(&f, array_id, merge_id, sizeof array_id);
        if (!rc)
            printf("submitted: array job %s (%d shards, logs in %s/logs/), merge job %s after it; results in %s/\n"
                   "watch with: squeue -j %s,%s\n", array_id, so.shards, f.dir, merge_id, outdir, array_id, merge_id);
    } else if (!rc) {
        printf("submit with: %s\n", f.submit);
    }
    if (rc) fprintf(stderr, "clreg slurm: %s\n", cl_errmsg());
    cl_data_free(&data);
    cl_grid_free(&g);
    return rc ? 1 : 0;
}

static int cmd_summarize(int argc, char **argv)
{
    const char *dir = NULL, *select[64];
    int nselect = 0, partial = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            printf("usage: clreg summarize DIR [--select LABEL=LAMBDA ...] [--partial]\n\n"
                   "Sorts runs/matrix/curves by run, fills in intransigence, and rewrites summary.csv, summary_tasks.csv,\n"
                   "summary_matrix.csv, summary_curves.csv and best.csv: means, standard deviations and 95%% t\n"
                   "intervals over seeds and orders per (label, params, lambda), for the test metrics and, when the\n"
                   "grid holds out validation data (validation = 0.1), the same metrics on it.\n\n"
                   "Each label is drawn, tabulated and compared at one group, its selected one: the best mean ACC on\n"
                   "validation data when the grid has a validation split, else the best mean test ACC, which tunes\n"
                   "on the test set and is marked so (summary.csv's selected_on: val_acc or acc). --select\n"
                   "LABEL=LAMBDA chooses instead (selected_on: chosen).\n\n"
                   "The results are checked first against the grid (its cell count is in DIR/manifest.txt): a row\n"
                   "cut short, a run twice, a run missing, an incomplete accuracy matrix or missing curves rows is an\n"
                   "error naming the file and line; rerunning the grid with clreg run repairs them. --partial\n"
                   "summarizes the complete runs instead and says what it left out (the results files are then left\n"
                   "as they are).\n");
            return 0;
        }
        if (!strcmp(argv[i], "--select") && i + 1 < argc && nselect < 64) select[nselect++] = argv[++i];
        else if (!strcmp(argv[i], "--partial")) partial = 1;
        else if (argv[i][0] == '-') {
            fprintf(stderr, "clreg summarize: unknown option '%s' (see clreg summarize --help)\n", argv[i]);
            return 2;
        } else if (!dir) dir = argv[i];
        else {
            fprintf(stderr, "clreg summarize: expected one results directory, got '%s' and '%s'\n", dir, argv[i]);
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "clreg summarize: expected a results directory, e.g. clreg summarize results/quick\n");
        return 2;
    }
    cl_dirlock lock;
    if (lock_results(&lock, "summarize", dir, argc, argv)) return 1;
    cl_summarize_opts so = {.select = select, .nselect = nselect, .require_manifest = 1, .partial = partial};
    cl_summarize_report rep;
    int rc = cl_results_summarize(dir, &so, &rep);
    cl_dirlock_release(&lock);
    if (rc) {
        fprintf(stderr, "clreg summarize: %s\n", cl_errmsg());
        return 1;
    }
    if (rep.note[0])
        fprintf(stderr, "clreg summarize: partial: the summaries are of the %d complete runs; %s\n",
                rep.ncomplete, rep.note);
    printf("%s: summaries written\n", dir);
    return 0;
}

static void usage_compare(FILE *f)
{
    fprintf(f,
            "usage: clreg compare DIR [--reference LABEL] [--metric NAME] [--boot B] [--seed S]\n"
            "\n"
            "Compares the methods of a results directory pair by pair and writes DIR/compare.csv and a table.\n"
            "\n"
            "What is paired: each label is taken at its selected group (summary.csv's selected column: the\n"
            "lambda its figures and tables use; clreg summarize --select changes it). Its cells and another\n"
            "label's cells with the same seed and task order form pairs: they share the initialization, the\n"
            "shuffling and the order of the tasks, so the difference of a pair is free of most of the spread\n"
            "between seeds. A pair where either cell diverged (or has no value) is dropped; n counts the pairs\n"
            "used.\n"
            "\n"
            "Comparisons: every label against the reference, and every label against the best method. The best\n"
            "method is, among the labels other than the reference and the upper bounds (joint), the one with\n"
            "the best mean of the metric, taken on the validation split (runs.csv's val_<metric>) when every\n"
            "candidate has it, else on the test metric; the output says which. The reference's comparison with\n"
            "the best is the best's with the reference, written once.\n"
            "\n"
            "  --reference LABEL  the baseline (default none: the label none, else the first label whose\n"
            "                     regularizer is none; without one, only comparisons with the best are made)\n"
            "  --metric NAME      acc (default), bwt, fwt, learning (higher is better), forgetting,\n"
            "                     intransigence (lower is better)\n"
            "  --boot B           bootstrap resamples (default 10000, at least 100)\n"
            "  --seed S           the bootstrap's seed (default 1): the same seed gives the same intervals\n"
            "\n"
            "compare.csv columns:\n"
            "  metric            the metric compared\n"
            "  label, lambda     the method and its selected lambda (nan for none and joint)\n"
            "  against, against_lambda   the reference or the best method, at its selected lambda\n"
            "  role              which of the two `against` is: reference or best\n"
            "  n                 pairs used\n"
            "  mean_diff         mean over the pairs of (label - against); its sign is the metric's: for\n"
            "                    forgetting and intransigence a negative difference means label is better\n"
            "  t_low, t_high     95%% confidence interval of mean_diff from the paired t distribution,\n"
            "                    mean_diff +- t_{0.975, n-1} sd / sqrt(n)\n"
            "  boot_low, boot_high   95%% percentile bootstrap interval: B resamples of the n pairs with\n"
            "                    replacement (seeded), the 2.5%% and 97.5%% quantiles of their means\n"
            "  p_t               two-sided p of the paired t-test (mean_diff = 0)\n"
            "  p_wilcoxon        two-sided p of the Wilcoxon signed-rank test: zero differences dropped, the\n"
            "                    exact distribution when n <= 50 without ties, else the normal approximation\n"
            "                    with tie and continuity corrections (R's wilcox.test)\n"
            "  p_t_holm, p_wilcoxon_holm   the p-values adjusted by Holm's step-down method over all the\n"
            "                    comparisons of the file, each test separately (NaN p-values are not counted)\n"
            "  significant       1 when p_t_holm < 0.05 and p_wilcoxon_holm < 0.05: both tests, after the\n"
            "                    correction for the number of comparisons; else 0\n"
            "\n"
            "Few pairs: the exact Wilcoxon test's smallest two-sided p with n pairs is 2/2^n (0.25 for 3,\n"
            "0.0625 for 5), so with 5 pairs or fewer no comparison can be significant; compare warns. The\n"
            "confidence intervals and p-values need n >= 2 (else nan).\n"
            "\n"
            "DIR needs runs.csv and summary.csv (clreg run, or clreg summarize). One clreg at a time writes a\n"
            "results directory: compare takes its lock like summarize.\n"
            "example: clreg compare results/permuted --metric forgetting --reference none\n");
}

static int cmd_compare(int argc, char **argv)
{
    const char *dir = NULL;
    cl_compare_opts co = {.seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage_compare(stdout);
            return 0;
        }
        int takes = !strcmp(a, "--reference") || !strcmp(a, "--metric") || !strcmp(a, "--boot") || !strcmp(a, "--seed");
        if (takes && i + 1 >= argc) {
            fprintf(stderr, "clreg compare: %s needs a value (see clreg compare --help)\n", a);
            return 2;
        }
        if (takes && printable_value(a, argv[i + 1])) {
            fprintf(stderr, "clreg compare: %s\n", cl_errmsg());
            return 2;
        }
        if (!strcmp(a, "--reference")) co.reference = argv[++i];
        else if (!strcmp(a, "--metric")) co.metric = argv[++i];
        else if (!strcmp(a, "--boot")) {
            if (cl_parse_int("--boot", argv[++i], 100, 10000000, &co.boot)) {
                fprintf(stderr, "clreg compare: %s\n", cl_errmsg());
                return 2;
            }
        } else if (!strcmp(a, "--seed")) {
            unsigned long long s;
            if (cl_parse_u64("--seed", argv[++i], &s)) {
                fprintf(stderr, "clreg compare: %s\n", cl_errmsg());
                return 2;
            }
            co.seed = s;
        } else if (a[0] == '-') {
            fprintf(stderr, "clreg compare: unknown option '%s' (see clreg compare --help)\n", cl_quote(a));
            return 2;
        } else if (!dir) dir = a;
        else {
            fprintf(stderr, "clreg compare: expected one results directory, got '%s' and '%s'\n", cl_quote(dir),
                    cl_quote(a));
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "clreg compare: expected a results directory, e.g. clreg compare results/quick\n");
        return 2;
    }
    /* options checked before the lock and the files: a typo costs nothing */
    if (cl_compare_check(&co)) {
        fprintf(stderr, "clreg compare: %s\n", cl_errmsg());
        return 2;
    }
    /* compare writes compare.csv into DIR: one writer at a time, like summarize */
    cl_dirlock lock;
    if (lock_results(&lock, "compare", dir, argc, argv)) return 1;
    cl_compare_result res;
    int rc = cl_compare(dir, &co, &res);
    cl_dirlock_release(&lock);
    if (rc) {
        fprintf(stderr, "clreg compare: %s\n", cl_errmsg());
        return 1;
    }
    cl_compare_print(stdout, &res);
    char warn[1024];
    cl_compare_warning(&res, warn, sizeof warn);
    fflush(stdout);
    if (warn[0]) fprintf(stderr, "clreg compare: warning: %s\n", warn);
    printf("written: %s/compare.csv\n", dir);
    cl_compare_free(&res);
    return 0;
}

static void usage_plot(FILE *f)
{
    fprintf(f,
            "usage: clreg plot DIR [--select LABEL=LAMBDA ...] [--png | --svg]\n"
            "\n"
            "Draws the figures of a results directory (clreg run's output) into DIR/plots/, as PNG and SVG:\n"
            "  curves          accuracy on each task as training proceeds, one panel per task (EWC Fig. 2A)\n"
            "  avg_acc         average accuracy over the tasks seen so far vs tasks learned (EWC Fig. 2B)\n"
            "  lambda          final average accuracy vs lambda per method, fine-tuning as a baseline\n"
            "  bars            ACC, BWT and forgetting per method with error bars\n"
            "  matrix_<label>  the accuracy matrix R[i][j] of each method as a heat map\n"
            "  importance, importance_scatter   (grids with save_state) per-layer histograms of Omega for\n"
            "                  every method with importances, and EWC Fisher against MAS Omega for the same\n"
            "                  parameters\n"
            "\n"
            "Each method is drawn at its selected lambda (the best mean validation ACC when the grid holds out\n"
            "validation data, else the best mean test ACC; the lambda figure says which) unless --select\n"
            "LABEL=LAMBDA chooses. Means and standard deviations come from the summaries, brought up to date\n"
            "first without touching runs.csv, matrix.csv or curves.csv; gnuplot only draws. Error bars are one\n"
            "standard deviation over seeds and orders.\n");
}

static int cmd_plot(int argc, char **argv)
{
    const char *dir = NULL, *select[64];
    cl_plot_opts po = {.png = 1, .svg = 1};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage_plot(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--select")) {
            if (i + 1 >= argc || po.nselect == 64) {
                fprintf(stderr, "clreg plot: --select needs LABEL=LAMBDA\n");
                return 2;
            }
            select[po.nselect++] = argv[++i];
        } else if (!strcmp(argv[i], "--png")) {
            po.svg = 0;
        } else if (!strcmp(argv[i], "--svg")) {
            po.png = 0;
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "clreg plot: unknown option '%s' (see clreg plot --help)\n", argv[i]);
            return 2;
        } else if (!dir) {
            dir = argv[i];
        } else {
            fprintf(stderr, "clreg plot: expected one results directory, got '%s' and '%s'\n", dir, argv[i]);
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "clreg plot: expected a results directory, e.g. clreg plot results/quick\n");
        return 2;
    }
    po.select = select;
    /* plot rewrites the summaries first: it takes the directory like summarize, and like it needs the
     * manifest's cell count to tell a complete directory (cl_plot checks with the manifest's count when there
     * is one; without one, the check here refuses) */
    cl_dirlock lock;
    if (lock_results(&lock, "plot", dir, argc, argv)) return 1;
    char runs[4200];
    int ncells, prc = 0;
    cl_summarize_opts so = {.require_manifest = 1};
    cl_summarize_report rep;
    snprintf(runs, sizeof runs, "%s/runs.csv", dir);
    if (access(runs, F_OK) == 0 && cl_results_manifest(dir, &ncells, NULL, 0) == 1)
        prc = cl_results_check(dir, &so, &rep);
    if (!prc) prc = cl_plot(dir, &po);
    cl_dirlock_release(&lock);
    if (prc) {
        fprintf(stderr, "clreg plot: %s\n", cl_errmsg());
        return 1;
    }
    printf("figures in %s/plots/\n", dir);
    return 0;
}

static void usage_report(FILE *f)
{
    fprintf(f,
            "usage: clreg report DIR [--out DIR2]\n"
            "\n"
            "Writes three files into DIR (or DIR2), together (all three or none):\n"
            "  report.md    the protocol (what lambda was selected on: validation or test ACC, seeds, orders),\n"
            "               each method at its selected lambda (ACC, BWT, forgetting, intransigence as mean +- std,\n"
            "               95%% CI when the summary has it, n), the paired comparisons of compare.csv, the whole\n"
            "               lambda sweep, and the manifest (clreg version, BLAS kernel, data fingerprint, command)\n"
            "  report.html  the same as one self-contained page (open it in any browser, offline): the figures\n"
            "               inline as SVG, the tables, the manifest\n"
            "  tables.tex   the tables as booktabs floats (\\usepackage{booktabs}), mean +- std as\n"
            "               $0.775 \\pm 0.024$, ready to \\input into a paper\n"
            "\n"
            "It reads DIR/summary.csv (clreg summarize or clreg run writes it) and, when present, DIR/compare.csv\n"
            "(clreg compare DIR writes it): a dagger marks a method that differs significantly from the reference\n"
            "method, a double dagger one that differs from the best (Holm-adjusted p < 0.05 in the paired t-test\n"
            "and the Wilcoxon test). Without compare.csv the report says so and marks nothing. The figures are\n"
            "drawn from the summaries as they are (gnuplot, svg terminal); nothing else in DIR changes.\n");
}

static int cmd_report(int argc, char **argv)
{
    const char *dir = NULL, *outdir = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage_report(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--out") || !strcmp(argv[i], "-o")) {
            if (i + 1 >= argc || !argv[i + 1][0]) {
                fprintf(stderr, "clreg report: %s needs a directory\n", argv[i]);
                return 2;
            }
            outdir = argv[++i];
        } else if (argv[i][0] == '-') {
            fprintf(stderr, "clreg report: unknown option '%s' (see clreg report --help)\n", argv[i]);
            return 2;
        } else if (!dir) {
            dir = argv[i];
        } else {
            fprintf(stderr, "clreg report: expected one results directory, got '%s' and '%s'\n", dir, argv[i]);
            return 2;
        }
    }
    if (!dir) {
        fprintf(stderr, "clreg report: expected a results directory, e.g. clreg report results/quick\n");
        return 2;
    }
    /* the lock, like plot's: a report read while a run appends rows or summarize rewrites the summaries
     * would describe a state the directory never had */
    cl_dirlock lock;
    if (lock_results(&lock, "report", dir, argc, argv)) return 1;
    cl_report_opts ro = {.outdir = outdir};
    int rc = cl_report(dir, &ro);
    cl_dirlock_release(&lock);
    if (rc) {
        fprintf(stderr, "clreg report: %s\n", cl_errmsg());
        return 1;
    }
    printf("report in %s/: report.md, report.html, tables.tex\n", outdir ? outdir : dir);
    return 0;
}

static int cmd_version(void)
{
    char blas[256];
    cl_blas_describe(blas, sizeof blas);
    printf("clreg %s\nBLAS: %s\n", cl_version(), blas);
    return 0;
}

static void print_matrix(const cl_stream *s, const cl_run *run)
{
    int T = run->ntasks;
    printf("\naccuracy matrix R[i][j]: test accuracy on task j after training tasks 1..i\n");
    printf("%-10s", "");
    for (int j = 0; j < T; j++) printf("  task %-3d", j + 1);
    printf("\n");
    for (int i = 0; i <= T; i++) {
        char lab[32];
        if (i == 0)
            snprintf(lab, sizeof lab, "before");
        else
            snprintf(lab, sizeof lab, "after %d", i);
        printf("%-10s", lab);
        for (int j = 0; j < T; j++) printf("  %8.4f", *cl_run_R(run, i, j));
        printf("\n");
    }
    printf("tasks:");
    for (int j = 0; j < T; j++) printf(" %d=%s%s", j + 1, s->task[j].desc, j + 1 < T ? ";" : "\n");
    cl_metrics mt = cl_metrics_compute(run->R, T);
    printf("ACC %.4f  BWT %+.4f  FWT %+.4f  forgetting %.4f  learning accuracy %.4f\n", mt.acc, mt.bwt, mt.fwt,
           mt.forgetting, mt.learning);
    if (run->V) {
        cl_metrics mv = cl_metrics_compute(run->V, T);
        int nval = 0;
        for (int j = 0; j < T; j++) nval += s->task[j].nval;
        printf("validation (%d held-out training samples, %.0f%% per class):\n", nval, 100.0 * s->cfg.validation);
        printf("%-10s", "");
        for (int j = 0; j < T; j++) printf("  task %-3d", j + 1);
        printf("\n%-10s", "final");
        for (int j = 0; j < T; j++) printf("  %8.4f", *cl_run_V(run, T, j));
        printf("\nACC %.4f  BWT %+.4f  FWT %+.4f  forgetting %.4f  learning accuracy %.4f\n", mv.acc, mv.bwt, mv.fwt,
               mv.forgetting, mv.learning);
    }
    printf("time: training %.1f s, importance %.1f s, evaluation %.1f s%s\n", run->train_sec, run->importance_sec,
           run->eval_sec,
           run->diverged ? "  (DIVERGED: the loss or a parameter stopped being finite, or the loss passed 1e4 nats; "
                           "later rows are nan)" : "");
}

/* clreg train --probe K: capture task K's parameters, importance and silent units when it ends; after the
 * run, test again with subsets of the parameters put back (experiments/probe.h). */
typedef struct probe_ctx {
    int task;
    const cl_stream *stream;
    const cl_reg *reg;
    int captured;
    cl_probe probe;
} probe_ctx;

static void probe_on_task(void *ctx, cl_mlp *m, int task, const float *R_row)
{
    (void)R_row;
    probe_ctx *pc = ctx;
    if (task != pc->task) return;
    cl_probe_capture(&pc->probe, m, pc->stream, task, pc->reg);
    pc->captured = 1;
}

static void probe_row(const probe_ctx *pc, cl_mlp *m, const char *label, const unsigned char *mask)
{
    const cl_stream *s = pc->stream;
    float acc[s->ntasks];
    cl_probe_eval(&pc->probe, m, s, mask, s->ntasks - 1, acc);
    printf("%-38s", label);
    for (int j = 0; j < s->ntasks; j++) printf("  %8.4f", acc[j]);
    printf("\n");
}

static void print_probe(const probe_ctx *pc, cl_mlp *m)
{
    const cl_probe *p = &pc->probe;
    const cl_stream *s = pc->stream;
    int K = p->task + 1;
    printf("\nprobe: parameters put back to their values after task %d, then test accuracy on every task\n", K);
    printf("silent on all of task %d's training data:", K);
    for (int l = 0; l < m->nhidden; l++)
        printf("%s %d of %d units in hidden layer %d", l ? "," : "", p->silent_units[l], m->hidden[l], l + 1);
    printf("%s%s; %zu of %zu parameters touch them\n", m->nhidden ? "" : " no hidden layers",
           m->nstem ? " (dense layers; conv channels are not probed)" : "", p->silent_params, p->n);
    printf("%-38s", "put back");
    for (int j = 0; j < s->ntasks; j++) printf("  task %-3d", j + 1);
    printf("\n");
    unsigned char *mask = cl_calloc(p->n, 1);
    probe_row(pc, m, "nothing (the run's end)", mask);
    probe_row(pc, m, "everything (the state after the task)", NULL);
    if (p->omega) {
        static const struct {
            double lo, hi;
            const char *label;
        } cut[] = {{0, 0.1, "least important 10%"},
                   {0, 0.2, "least important 20%"},
                   {0, 0.5, "least important 50%"},
                   {0.5, 1, "most important 50%"}};
        for (size_t c = 0; c < sizeof cut / sizeof *cut; c++) {
            cl_probe_rank_mask(p, cut[c].lo, cut[c].hi, mask);
            probe_row(pc, m, cut[c].label, mask);
        }
    } else {
        printf("(no ranking by importance: this regularizer has none, or a flat one)\n");
    }
    probe_row(pc, m, "parameters of the silent units", p->silent);
    free(mask);
}

/* train's own options; the settings table's (settings.h) follow from OPT_SETTING on */
enum {
    OPT_NO_SCALE = 256, OPT_SEED, OPT_THREADS, OPT_QUIET, OPT_HELP, OPT_REG, OPT_LAMBDA, OPT_PARAM = 'p',
    OPT_SAVE_STATE = 300, OPT_PROBE, OPT_SETTING = 1000
};
#define MAX_REG_PARAMS 16

static int train_run(cl_settings *set, cl_train_cfg *tcp, const char *reg_name, const char **reg_params,
                     int nreg_params, const char *save_dir, int probe_task, int threads, int quiet,
                     unsigned long long seed);

static int cmd_train(int argc, char **argv)
{
    /* the settings table's options, then train's own */
    static const struct option own[] = {
        {"no-scale", no_argument, 0, OPT_NO_SCALE},       {"seed", required_argument, 0, OPT_SEED},
        {"threads", required_argument, 0, OPT_THREADS},   {"quiet", no_argument, 0, OPT_QUIET},
        {"help", no_argument, 0, OPT_HELP},               {"reg", required_argument, 0, OPT_REG},
        {"lambda", required_argument, 0, OPT_LAMBDA},     {"param", required_argument, 0, OPT_PARAM},
        {"save-state", required_argument, 0, OPT_SAVE_STATE}, {"probe", required_argument, 0, OPT_PROBE},
        {0, 0, 0, 0}};
    static char names[64][32];
    static struct option opts[64 + sizeof own / sizeof *own];
    int nopts = 0;
    for (int i = 0; i < cl_settings_count && i < 64; i++) {
        const cl_setting *e = &cl_settings_table[i];
        cl_setting_option(e, names[i], sizeof names[i]);
        opts[nopts++] = (struct option){names[i], e->type == CL_SETTING_BOOL ? no_argument : required_argument, 0,
                                        OPT_SETTING + i};
    }
    memcpy(opts + nopts, own, sizeof own);

    const char *reg_name = DEFAULT_REG;
    const char *save_dir = NULL, *reg_params[MAX_REG_PARAMS + 1];
    char lambda_param[64];
    int nreg_params = 0;
    cl_settings set;
    cl_settings_init(&set);
    cl_train_cfg tc = cl_train_defaults();
    int threads = 0, quiet = 0, probe_task = 0;
    unsigned long long seed = 1;
    int rc = 0, c, li = -1;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":p:", opts, &li)) != -1) {
        const char *o = opt_typed(opts, li, c); /* as typed: -p or --param */
        li = -1;
        if (optarg && c != ':' && c != '?' && (rc = printable_value(o, optarg))) break;
        /* names, numbers and key=value pairs go to the regularizer's own messages: no value is this long */
        if ((c == OPT_REG || c == OPT_LAMBDA || c == OPT_PARAM) && strlen(optarg) > 256) {
            rc = cl_fail("%s: '%s' is longer than any valid value", o, cl_quote(optarg));
            break;
        }
        if (c >= OPT_SETTING && c < OPT_SETTING + cl_settings_count) {
            rc = cl_settings_set(&set, &cl_settings_table[c - OPT_SETTING], optarg, o);
            if (rc) break;
            continue;
        }
        switch (c) {
        case OPT_NO_SCALE: set.stream.scale01 = CL_SCALE_NONE; break;
        case OPT_SEED: rc = cl_parse_u64(o, optarg, &seed); break;
        case OPT_THREADS: rc = cl_parse_int(o, optarg, 1, 1024, &threads); break;
        case OPT_QUIET: quiet = 1; break;
        case OPT_REG: reg_name = optarg; break;
        case OPT_LAMBDA:
            if (nreg_params == MAX_REG_PARAMS) {
                rc = cl_fail("%s: at most %d regularizer parameters", o, MAX_REG_PARAMS);
                break;
            }
            snprintf(lambda_param, sizeof lambda_param, "lambda=%s", optarg);
            reg_params[nreg_params++] = lambda_param;
            break;
        case OPT_PARAM:
            if (nreg_params == MAX_REG_PARAMS)
                rc = cl_fail("%s: at most %d regularizer parameters", o, MAX_REG_PARAMS);
            else reg_params[nreg_params++] = optarg;
            break;
        case OPT_SAVE_STATE:
            save_dir = optarg;
            if (!*optarg) rc = cl_fail("%s: expected a directory, got an empty value", o);
            break;
        case OPT_PROBE: rc = cl_parse_int(o, optarg, 1, 1000, &probe_task); break;
        case OPT_HELP: usage_train(stdout); cl_settings_free(&set); return 0;
        case ':': /* a known option without its value (getopt reports this with the leading ':') */
            rc = cl_fail("option %s needs a value (see clreg train --help)", cl_quote(argv[optind - 1]));
            break;
        default:
            rc = cl_fail("unknown option '%s' (see clreg train --help)", cl_quote(argv[optind - 1]));
        }
        if (rc) break;
    }
    if (!rc && optind < argc)
        rc = cl_fail("unexpected argument '%s' (see clreg train --help)", cl_quote(argv[optind]));
    /* data options the dataset cannot take are option errors (exit 2), found before any file is read */
    if (!rc && (set.data_opts.labels != CL_LABELS_INDEX || set.data_opts.label_column))
        rc = cl_data_check_opts(set.dataset, &set.data_opts);
    if (rc) {
        fprintf(stderr, "clreg train: %s\n", cl_errmsg());
        cl_settings_free(&set);
        return 2;
    }
    cl_settings_finish(&set);
    int status = train_run(&set, &tc, reg_name, reg_params, nreg_params, save_dir, probe_task, threads, quiet, seed);
    cl_settings_free(&set);
    return status;
}

/* clreg train with its options read. */
static int train_run(cl_settings *set, cl_train_cfg *tcp, const char *reg_name, const char **reg_params,
                     int nreg_params, const char *save_dir, int probe_task, int threads, int quiet,
                     unsigned long long seed)
{
    cl_train_cfg tc = *tcp;
    cl_stream_cfg sc = set->stream;
    const char *dataset = set->dataset, *data_path = set->data_path;
    cl_data_opts dopts = set->data_opts;
    tc.epochs = set->epochs;
    tc.batch = set->batch;
    tc.reset_optim = set->reset_optim;
    tc.opt = set->opt;
    tc.eval_batch = cl_eval_batch(&set->arch, tc.batch);
    tc.seed = seed;
    tc.progress = !quiet;
    sc.seed = seed;
    if (threads) cl_blas_set_threads(threads);

    /* Each stage owns what it creates; on failure jump to the cleanup of what exists so far. Exit status:
     * 1 for data that cannot be read, 2 for a configuration the data or model rejects. */
    int status = 2;
    char memory[1024] = "";
    cl_data data;
    cl_stream s;
    cl_mlp *m = NULL;
    cl_reg *reg = NULL;
    if (cl_data_open_opts(&data, dataset, data_path, seed, &dopts)) {
        fprintf(stderr, "clreg train: %s\n", cl_errmsg());
        return 1;
    }
    if (cl_stream_create(&s, &data, &sc)) goto fail_data;
    /* Before the model exists (it may be what does not fit): the regularizer's parameters (on a tiny model),
     * the memory the run needs, and the directory --save-state writes into. */
    {
        int h1[1] = {1}, heads1[1] = {2};
        cl_mlp *tiny = cl_mlp_create(1, h1, 1, heads1, 1, 1);
        cl_reg *r0 = cl_reg_create(reg_name, reg_params, nreg_params, tiny);
        cl_budget b;
        cl_budget_run br = {.stream = &s, .arch = &set->arch, .batch = tc.batch,
                            .eval_batch = tc.eval_batch, .opt = tc.opt.kind, .reg = r0, .epochs = tc.epochs,
                            .save_state = save_dir != NULL, .probe = probe_task > 0,
                            .blas_threads = threads ? threads : omp_get_num_procs()};
        char what[16] = "arch"; /* the option that gave the network, as messages name it */
        if (set->arch_key) snprintf(what, sizeof what, "--%s", set->arch_key);
        int bad = !r0 || cl_model_check(&set->arch, &s, what);
        if (!bad) cl_budget_single(&b, &data, &br);
        bad = bad || cl_budget_check(&b, "use smaller layers or batch");
        if (!bad) cl_budget_describe(&b, memory, sizeof memory); /* printed with the header */
        cl_reg_free(r0);
        cl_mlp_free(tiny);
        if (bad) goto fail_stream;
        if (save_dir && cl_output_dir("--save-state", save_dir)) {
            status = 1;
            goto fail_stream;
        }
    }
    if (!(m = cl_model_for_stream(&s, &set->arch, &tc))) goto fail_stream;
    if (!(reg = cl_reg_create(reg_name, reg_params, nreg_params, m))) goto fail_model;
    tc.reg = reg;
    tc.save_dir = save_dir;
    probe_ctx pc = {.task = probe_task - 1, .stream = &s, .reg = reg};
    if (probe_task) {
        if (probe_task >= s.ntasks) {
            cl_fail("--probe %d: expected a task before the last (1..%d): the probe shows what later tasks "
                    "changed", probe_task, s.ntasks - 1);
            goto fail_reg;
        }
        tc.on_task = probe_on_task;
        tc.ctx = &pc;
    }
    if (!quiet) {
        char blas[256], rdesc[512];
        cl_blas_describe(blas, sizeof blas);
        cl_reg_describe(reg, rdesc, sizeof rdesc);
        char classes[96] = "";
        if (data.class_label)
            snprintf(classes, sizeof classes, " (labels %d..%d numbered 0..%d)", (int)data.class_label[0],
                     (int)data.class_label[data.train.nclasses - 1], data.train.nclasses - 1);
        char norm[256] = "", images[64] = "";
        if (s.norm_mean) { /* said only where it acts, so that every other header stays as it was */
            norm[0] = ';';
            norm[1] = ' ';
            cl_stream_norm_desc(&s, norm + 2, sizeof norm - 2);
        }
        if (data.train.pix && s.channels > 1)
            snprintf(images, sizeof images, "%dx%dx%d images, ", s.channels, data.train.rows, data.train.cols);
        fprintf(stderr, "clreg train: %s (%s%d train, %d test, %d classes%s; %s%s), %s stream, %s-incremental, %d "
                        "tasks; ", dataset, images, data.train.n, data.test.n, data.train.nclasses, classes,
                cl_stream_scale_desc(&s), norm, cl_stream_kind_name(sc.kind), cl_scenario_name(sc.scenario),
                s.ntasks);
        if (m->nstem) { /* a CNN by its arch text; an MLP by its widths, as it always was */
            char arch[1024];
            cl_arch_describe(&set->arch, arch, sizeof arch);
            fprintf(stderr, "CNN on %dx%dx%d: %s, then", s.channels, s.in_rows, s.in_cols, arch);
            fprintf(stderr, " %d", s.head_out[0]);
        } else {
            fprintf(stderr, "MLP %d", s.input_dim);
            for (int l = 0; l < m->nhidden; l++) fprintf(stderr, "-%d", m->hidden[l]);
            fprintf(stderr, "-%d", s.head_out[0]);
        }
        fprintf(stderr, "%s, %zu parameters; %s lr %g, %d epoch(s), batch %d, seed %llu\nregularizer: %s\nBLAS: %s\n",
                s.nheads > 1 ? " (per head)" : "", m->nparams, set->optimizer == CL_OPT_SGD ? "sgd" : "adam",
                tc.opt.lr, tc.epochs, tc.batch, seed, rdesc, blas);
        fprintf(stderr, "%s\n", memory);
    }
    cl_run run;
    int trc = cl_train_stream(m, &s, &tc, &run);
    print_matrix(&s, &run);
    if (pc.captured && !run.diverged && !trc) print_probe(&pc, m);
    if (pc.captured) cl_probe_free(&pc.probe);
    status = run.diverged ? 3 : 0;
    if (trc) status = 1; /* the message is printed below */
    cl_run_free(&run);
    if (status != 1) {
        cl_reg_free(reg);
        cl_mlp_free(m);
        cl_stream_free(&s);
        cl_data_free(&data);
        return status;
    }
fail_reg:
    cl_reg_free(reg);
fail_model:
    cl_mlp_free(m);
fail_stream:
    cl_stream_free(&s);
fail_data:
    fprintf(stderr, "clreg train: %s\n", cl_errmsg());
    cl_data_free(&data);
    return status;
}

int main(int argc, char **argv)
{
#ifdef M_MMAP_THRESHOLD
    /* Buffers of 256 KiB and more (evaluation and importance batches, a cell's model state) come from mmap
     * and go back to the system when freed. glibc's default raises this threshold to the largest buffer
     * freed so far, after which these buffers come from the thread's heap; as aligned_alloc asks for a
     * little more than the hole a freed one leaves, every evaluation then grew the heap by another batch
     * of 3 MB. Measured on a 2-cell, 10-task grid: a peak of 143.5 MB with the default, 97.2 MB with this,
     * with no change in speed (a few hundred page faults per evaluation batch of a thousand samples). */
    mallopt(M_MMAP_THRESHOLD, 256 * 1024);
#endif
    cl_blas_startup(argv);
    /* a file grown past the size limit (ulimit -f) is then a write error with a message, not a core dump */
    signal(SIGXFSZ, SIG_IGN);
    if (argc < 2) {
        usage_main(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "train") == 0) return cmd_train(argc - 1, argv + 1);
    if (strcmp(cmd, "run") == 0) return cmd_run(argc - 1, argv + 1);
    if (strcmp(cmd, "summarize") == 0) return cmd_summarize(argc - 1, argv + 1);
    if (strcmp(cmd, "compare") == 0) return cmd_compare(argc - 1, argv + 1);
    if (strcmp(cmd, "merge") == 0) return cmd_merge(argc - 1, argv + 1);
    if (strcmp(cmd, "slurm") == 0) return cmd_slurm(argc - 1, argv + 1);
    if (strcmp(cmd, "plot") == 0) return cmd_plot(argc - 1, argv + 1);
    if (strcmp(cmd, "report") == 0) return cmd_report(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) return cmd_version();
    if (strcmp(cmd, "list") == 0) {
        printf("regularizers (clreg train --reg NAME --lambda X -p KEY=VALUE):\n\n");
        cl_reg_list(stdout);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        if (argc > 2 && strcmp(argv[2], "train") == 0) usage_train(stdout);
        else if (argc > 2 && strcmp(argv[2], "run") == 0) usage_run(stdout);
        else if (argc > 2 && strcmp(argv[2], "plot") == 0) usage_plot(stdout);
        else if (argc > 2 && strcmp(argv[2], "compare") == 0) usage_compare(stdout);
        else if (argc > 2 && strcmp(argv[2], "report") == 0) usage_report(stdout);
        else if (argc > 2 && strcmp(argv[2], "merge") == 0) usage_merge(stdout);
        else if (argc > 2 && strcmp(argv[2], "slurm") == 0) usage_slurm(stdout);
        else usage_main(stdout);
        return 0;
    }
    fprintf(stderr, "clreg: unknown command '%s'; commands: run, summarize, compare, plot, report, train, list, version, help (see clreg --help)\n", cmd);
    return 2;
}

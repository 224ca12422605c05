/* Fuzz target: the results reader behind `clreg run` resume and `clreg summarize` (experiments/table.c,
 * experiments/results.c, experiments/summary.c).
 *
 * Input: runs.csv, matrix.csv, curves.csv, manifest.txt and a shard's shard.txt separated by FZ_SEPARATOR
 * lines (missing files are empty; without a fourth part the manifest says the grid has as many cells as
 * runs.csv has lines after its header, so summarize gets past its cell count).
 *
 * shard.txt (experiments/shard.h), which clreg merge reads from every shard, goes through cl_shard_read in a
 * directory of its own: a success must describe a shard I of N with I < N of a grid of 1 to
 * CL_GRID_MAX_CELLS cells (the count line is checked against the runs listed by the reader itself); then the results are checked as that shard's
 * (cl_results_load_shard), where a run is complete only if the shard lists it.
 *
 * First runs.csv is read as a table (cl_table_read requiring only 'run', then cells as numbers and
 * integers). Then the files go into a directory and:
 *   - resume's check (cl_results_load) and repair (cl_results_prune): after a repair, a second check must
 *     find every remaining run complete and nothing damaged, or a resume would keep damaged rows;
 *   - cl_results_finalize summarizes a copy. A summarize that succeeds must be repeatable: a second one
 *     over the files it rewrote gives the same bytes in every file, or `clreg summarize` would change
 *     results each time it is run. */
#include "tests/fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"
#include "experiments/results.h"
#include "experiments/runner.h"
#include "experiments/shard.h"
#include "experiments/table.h"

static const char *const inputs[4] = {"runs.csv", "matrix.csv", "curves.csv", "manifest.txt"};
static const char *const outputs[] = {"runs.csv", "matrix.csv", "curves.csv", "summary.csv", "summary_tasks.csv",
                                      "summary_matrix.csv", "summary_curves.csv", "best.csv", NULL};
#define NOUT 8

static void read_as_resume(const uint8_t *runs, size_t n)
{
    const char *path = fz_memfile(0, runs, n);
    static const char *const req[] = {"run", NULL};
    cl_table t;
    if (cl_table_read(&t, path, req)) {
        fz_check_message("cl_table_read", &path, 1);
        return;
    }
    if (t.ncols < 1 || cl_table_col(&t, "run") < 0 || t.nrows < 0)
        fz_violation("cl_table_read accepted %d columns, %d rows, no 'run'", t.ncols, t.nrows);
    for (int r = 0; r < t.nrows; r++) {
        /* non-decreasing: a lone CR ends a record too (libcsv), so records can share a line, the header's too */
        if (t.lines[r] < 1 || (r && t.lines[r] < t.lines[r - 1]))
            fz_violation("cl_table_read: row %d is on line %d after line %d", r, t.lines[r], r ? t.lines[r - 1] : 1);
        /* every cell of the first rows, and the run of every row, as numbers (their messages are checked);
         * every cell of every row would double the time per input and find nothing new */
        for (int c = 0; c < t.ncols; c++) {
            if (r >= 2 && c != cl_table_col(&t, "run")) continue;
            double v;
            long k;
            if (cl_table_num(&t, r, c, &v)) fz_check_message("cl_table_num", &path, 1);
            if (cl_table_int(&t, r, c, &k)) fz_check_message("cl_table_int", &path, 1);
        }
    }
    cl_table_free(&t);
}

static const char *results_dir(void)
{
    static char dir[512];
    if (dir[0]) return dir;
    snprintf(dir, sizeof dir, "%s/results", fz_workdir());
    if (mkdir(dir, 0755) != 0) {
        perror(dir);
        abort();
    }
    return dir;
}

/* Every file summarize writes, as bytes (NULL for a missing one). */
static void snapshot(const char *dir, char **text, size_t *len)
{
    for (int i = 0; i < NOUT; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, outputs[i]);
        text[i] = NULL;
        len[i] = 0;
        FILE *f = fopen(path, "rb");
        if (!f) continue;
        size_t cap = 4096, n;
        text[i] = cl_malloc(cap);
        while ((n = fread(text[i] + len[i], 1, cap - len[i], f)) > 0)
            if ((len[i] += n) == cap) text[i] = cl_realloc(text[i], cap *= 2);
        fclose(f);
    }
}

/* The directory's files from the input parts (a made-up manifest when the input has none). */
static void put_files(const char *dir, const uint8_t *const *part, const size_t *len, int np)
{
    for (int i = 0; i < 3; i++) fz_write(dir, inputs[i], part[i], len[i]);
    if (np >= 4) {
        fz_write(dir, inputs[3], part[3], len[3]);
        return;
    }
    long lines = 0;
    for (size_t k = 0; k < len[0]; k++) lines += part[0][k] == '\n';
    char man[96];
    int n = snprintf(man, sizeof man, "clreg (fuzz)\ncells: %ld in the grid, 0 run by this invocation\n",
                     lines > 1 ? lines - 1 : 1);
    fz_write(dir, inputs[3], man, (size_t)n);
}

static void clear_dir(const char *dir, char path[][600], const char **named)
{
    for (int i = 0; i < NOUT; i++) {
        snprintf(path[i], sizeof path[i], "%s/%s", dir, outputs[i]);
        unlink(path[i]);
        named[i] = path[i];
    }
    named[NOUT] = dir;
}

/* As a resume does: check, repair, and check again. */
static void resume(const uint8_t *const *part, const size_t *len, int np)
{
    const char *dir = results_dir();
    char path[NOUT][600];
    const char *named[NOUT + 1];
    clear_dir(dir, path, named);
    put_files(dir, part, len, np);
    int ncells = 0;
    int mrc = cl_results_manifest(dir, &ncells, NULL, 0);
    if (mrc < 0) {
        fz_check_message("cl_results_manifest", named, NOUT + 1);
        return;
    }
    cl_results r;
    if (cl_results_load(&r, dir, mrc ? 0 : ncells, NULL, 0)) {
        fz_check_message("cl_results_load", named, NOUT + 1);
        return;
    }
    char desc[2048];
    cl_results_describe(&r, desc, sizeof desc);
    if ((r.nproblems || r.nmissing) && !desc[0]) fz_violation("cl_results_describe: problems but no description");
    if (r.nproblems) fz_check_text("cl_results_load's problem", r.problem, named, NOUT + 1);
    int ncomplete = r.ncomplete, foreign = r.foreign;
    int prc = foreign ? 0 : cl_results_prune(&r);
    cl_results_free(&r);
    if (foreign) return; /* a resume refuses: nothing is rewritten */
    if (prc) {
        fz_check_message("cl_results_prune", named, NOUT + 1);
        return;
    }
    if (cl_results_load(&r, dir, mrc ? 0 : ncells, NULL, 0))
        fz_violation("the files cl_results_prune wrote cannot be read: %s", cl_errmsg());
    if (r.nproblems || r.ndamaged || r.ncomplete != ncomplete)
        fz_violation("after cl_results_prune: %d problems (%s), %d damaged, %d complete runs (before: %d)",
                     r.nproblems, r.problem, r.ndamaged, r.ncomplete, ncomplete);
    cl_results_free(&r);
}

static void summarize(const uint8_t *const *part, const size_t *len, int np)
{
    const char *dir = results_dir();
    char path[NOUT][600];
    const char *named[NOUT + 1];
    clear_dir(dir, path, named);
    put_files(dir, part, len, np);
    if (cl_results_finalize(dir, NULL, 0)) {
        fz_check_message("cl_results_finalize", named, NOUT + 1);
        return;
    }
    char *first[NOUT], *second[NOUT];
    size_t flen[NOUT], slen[NOUT];
    snapshot(dir, first, flen);
    for (int i = 0; i < NOUT; i++)
        if (!first[i]) fz_violation("cl_results_finalize succeeded without writing %s", outputs[i]);
    if (cl_results_finalize(dir, NULL, 0))
        fz_violation("cl_results_finalize failed on the files it wrote itself: %s", cl_errmsg());
    snapshot(dir, second, slen);
    for (int i = 0; i < NOUT; i++) {
        if (!second[i] || flen[i] != slen[i] || memcmp(first[i], second[i], flen[i]) != 0)
            fz_violation("a second cl_results_finalize changed %s", outputs[i]);
        free(first[i]);
        free(second[i]);
    }
}

static void shard_file(const uint8_t *const *part, const size_t *len, int np)
{
    static char dir[512];
    if (!dir[0]) {
        snprintf(dir, sizeof dir, "%s/shard", fz_workdir());
        if (mkdir(dir, 0755) != 0) {
            perror(dir);
            abort();
        }
    }
    char path[600];
    snprintf(path, sizeof path, "%s/shard.txt", dir);
    const char *named[2] = {path, dir};
    fz_write(dir, "shard.txt", part[4], len[4]);
    cl_shard s;
    int ncells = 0;
    unsigned char *runs = NULL;
    int rc = cl_shard_read(dir, &s, &ncells, &runs);
    if (rc < 0) {
        fz_check_message("cl_shard_read", named, 2);
        return;
    }
    if (rc != 0) fz_violation("cl_shard_read: %d for a file that exists", rc);
    if (s.count < 1 || s.index < 0 || s.index >= s.count || ncells < 1 || ncells > CL_GRID_MAX_CELLS)
        fz_violation("cl_shard_read accepted shard %d/%d of %d cells", s.index, s.count, ncells);
    int k = 0;
    for (int r = 1; r <= ncells; r++) k += runs[r] != 0;
    /* the results as this shard's */
    for (int i = 0; i < 3; i++) fz_write(dir, inputs[i], part[i], len[i]);
    cl_results r;
    if (cl_results_load_shard(&r, dir, ncells, NULL, 1, runs)) {
        fz_check_message("cl_results_load_shard", named, 2);
    } else {
        for (int run = 1; run <= r.nslots; run++)
            if (r.status[run] == CL_RUN_COMPLETE && !runs[run])
                fz_violation("run %d complete in a shard that does not list it", run);
        if (r.nmissing > k) fz_violation("%d runs missing of a shard of %d", r.nmissing, k);
        cl_results_free(&r);
    }
    free(runs);
}

int cl_fuzz_results(const uint8_t *data, size_t size)
{
    const uint8_t *part[5];
    size_t len[5];
    int np = fz_split(data, size, part, len, 5, 1);
    for (int k = np; k < 5; k++) part[k] = data + size, len[k] = 0;
    if (np >= 5) {
        shard_file(part, len, np);
        np = 4; /* the other checks are those of a whole grid's directory */
    }
    read_as_resume(part[0], len[0]);
    resume(part, len, np);
    summarize(part, len, np);
    return 0;
}

#ifdef CL_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return cl_fuzz_results(data, size); }
#endif

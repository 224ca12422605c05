#include "experiments/merge.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "core/error.h"
#include "core/npy.h"
#include "core/quote.h"
#include "core/version.h"
#include "experiments/dirlock.h"
#include "experiments/fingerprint.h"
#include "experiments/grid.h"
#include "experiments/results.h"
#include "experiments/runner.h"
#include "experiments/shard.h"
#include "experiments/table.h"

typedef struct shard_in {
    char *dir;
    cl_dirlock lock;
    cl_shard s;
    int ncells;
    unsigned char *runs;   /* the cells shard.txt lists: runs[1..ncells] */
    char *grid;            /* grid.ini's bytes */
    char *fp_text;         /* data_fingerprint.csv's bytes */
    cl_fingerprint fp;
    int has_fp;
    char version[160], grid_line[1200], blas[256], kernel[64], finished[300];
    cl_results res;
    int loaded;
} shard_in;

typedef struct merge {
    shard_in *sh;
    int n, cap;
    int *lister;           /* per run: the shard (index into sh) whose shard.txt lists it, or -1 */
} merge;

static int is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int has_file(const char *dir, const char *name)
{
    char p[4200];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

/* DIR/NAME, whole (cl_read_file) */
static char *slurp(const char *dir, const char *name, size_t max, int missing_ok)
{
    char p[4200];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return cl_read_file(p, max, missing_ok);
}

static void add(merge *m, const char *dir)
{
    if (m->n == m->cap) m->sh = cl_realloc(m->sh, sizeof *m->sh * (size_t)(m->cap = m->cap ? 2 * m->cap : 8));
    shard_in *s = &m->sh[m->n++];
    memset(s, 0, sizeof *s);
    s->dir = cl_strdup(dir);
    s->lock.fd = -1;
}

static int name_index(const char *name, int *i, int *n)
{
    int a, b, len = 0;
    if (sscanf(name, "shard-%d-of-%d%n", &a, &b, &len) != 2 || name[len]) return -1;
    *i = a;
    *n = b;
    return 0;
}

/* The shard-I-of-N subdirectories of dir, in the order of I. 0 when there is none. */
static int add_children(merge *m, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) return cl_fail("%s: cannot list: %s", cl_quote_path(dir), strerror(errno));
    int found = 0, first = m->n;
    struct dirent *e;
    while ((e = readdir(d))) {
        int i, n;
        char p[4200];
        if (name_index(e->d_name, &i, &n)) continue;
        snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
        if (!is_dir(p)) continue;
        add(m, p);
        found++;
    }
    closedir(d);
    /* readdir's order is the file system's: sort by the name's I, then N */
    for (int a = first; a < m->n; a++)
        for (int b = a + 1; b < m->n; b++) {
            int ia = 0, na = 0, ib = 0, nb = 0;
            const char *sa = strrchr(m->sh[a].dir, '/') + 1, *sb = strrchr(m->sh[b].dir, '/') + 1;
            name_index(sa, &ia, &na);
            name_index(sb, &ib, &nb);
            if (ib < ia || (ib == ia && nb < na)) {
                shard_in t = m->sh[a];
                m->sh[a] = m->sh[b];
                m->sh[b] = t;
            }
        }
    return found;
}

static void shard_free(shard_in *s)
{
    cl_dirlock_release(&s->lock);
    if (s->loaded) cl_results_free(&s->res);
    if (s->has_fp) cl_fingerprint_free(&s->fp);
    free(s->runs);
    free(s->grid);
    free(s->fp_text);
    free(s->dir);
}

/* Lock a shard and read what says which shard of which grid it is. */
static int open_shard(shard_in *s, const char *command)
{
    if (cl_dirlock_take(&s->lock, s->dir, command)) return cl_fail_prefix("cannot merge %s", cl_quote_path(s->dir));
    int r = cl_shard_read(s->dir, &s->s, &s->ncells, &s->runs);
    if (r < 0) return -1;
    if (r == 1)
        return cl_fail("%s is not a shard's results directory (it has no %s; clreg run GRID --shard I/N writes "
                       "one)", cl_quote_path(s->dir), CL_SHARD_FILE);
    char *man = slurp(s->dir, "manifest.txt", 1 << 20, 0);
    if (!man) return -1;
    for (char *line = man, *next; *line; line = next) {
        next = strchr(line, '\n');
        next = next ? (*next = 0, next + 1) : line + strlen(line);
        if (!strncmp(line, "clreg ", 6)) snprintf(s->version, sizeof s->version, "%s", line + 6);
        else if (!strncmp(line, "grid: ", 6)) snprintf(s->grid_line, sizeof s->grid_line, "%s", line + 6);
        else if (!strncmp(line, "finished: ", 10)) snprintf(s->finished, sizeof s->finished, "%s", line + 10);
        else if (!strncmp(line, "BLAS: ", 6)) {
            snprintf(s->blas, sizeof s->blas, "%s", line + 6);
            const char *k = strstr(line, ", kernel ");
            if (k) sscanf(k + 9, "%63[^ ,]", s->kernel);
        }
    }
    free(man);
    if (!s->version[0]) return cl_fail("%s/manifest.txt: no 'clreg VERSION' line (edited by hand?)", cl_quote_path(s->dir));
    if (!(s->grid = slurp(s->dir, "grid.ini", CL_GRID_MAX_BYTES, 0))) return -1;
    if (!(s->fp_text = slurp(s->dir, CL_FINGERPRINT_FILE, 1 << 20, 0))) return -1;
    int fr = cl_fingerprint_read(s->dir, &s->fp);
    if (fr != 0) return fr < 0 ? -1 : cl_fail("%s: no %s", cl_quote_path(s->dir), CL_FINGERPRINT_FILE);
    s->has_fp = 1;
    return 0;
}

/* Runs as "3, 7-9 and 4 more" from a mask. */
static void run_list(const unsigned char *mask, int ncells, char *out, size_t n)
{
    size_t len = 0;
    int shown = 0, more = 0;
    out[0] = 0;
    for (int a = 1; a <= ncells; a++) {
        if (!mask[a]) continue;
        int b = a;
        while (b + 1 <= ncells && mask[b + 1]) b++;
        if (shown < 8) {
            len += (size_t)snprintf(out + len, len < n ? n - len : 0, b > a ? "%s%d-%d" : "%s%d", shown ? ", " : "", a,
                                    b);
            shown++;
        } else {
            more += b - a + 1;
        }
        a = b;
    }
    if (more && len < n) snprintf(out + len, n - len, " and %d more", more);
}

/* "run 7 (ewc, lambda 10, order 0, seed 1)" from a shard's runs.csv row */
static void describe_run(const shard_in *s, int run, char *out, size_t n)
{
    const cl_table *t = &s->res.runs;
    int row = s->loaded && run <= s->res.nslots ? s->res.runs_row[run] : -1;
    if (row < 0) {
        snprintf(out, n, "run %d", run);
        return;
    }
    char a[100], b[100];
    snprintf(out, n, "run %d (%s, lambda %s, order %s, seed %s)", run,
             cl_quote_n(a, sizeof a, t->cells[row][cl_table_col(t, "label")], 40),
             cl_quote_n(b, sizeof b, t->cells[row][cl_table_col(t, "lambda")], 20),
             t->cells[row][cl_table_col(t, "order")], t->cells[row][cl_table_col(t, "seed")]);
}

/* The rows of one file, the merged runs' only, sorted by run (a run's rows keep their order). */
typedef struct rowref {
    int run, shard, row;
} rowref;

static int by_run(const void *a, const void *b)
{
    const rowref *x = a, *y = b;
    if (x->run != y->run) return x->run - y->run;
    if (x->shard != y->shard) return x->shard - y->shard;
    return x->row - y->row;
}

static int collect(const merge *m, const int *from, int which, const cl_column *schema, cl_buf *b)
{
    size_t total = 0;
    for (int k = 0; k < m->n; k++) {
        const cl_results *r = &m->sh[k].res;
        total += (size_t)(which == 0 ? r->runs.nrows : which == 1 ? r->matrix.nrows : r->curves.nrows);
    }
    rowref *refs = cl_malloc(sizeof *refs * (total ? total : 1));
    size_t nr = 0;
    for (int k = 0; k < m->n; k++) {
        const cl_results *r = &m->sh[k].res;
        const cl_table *t = which == 0 ? &r->runs : which == 1 ? &r->matrix : &r->curves;
        int crun = cl_table_col(t, "run");
        for (int row = 0; row < t->nrows; row++) {
            long run = strtol(t->cells[row][crun], NULL, 10);
            if (run < 1 || run > r->nslots || from[run] != k) continue;
            if (which == 0 && r->runs_row[run] != row) continue;
            refs[nr++] = (rowref){(int)run, k, row};
        }
    }
    qsort(refs, nr, sizeof *refs, by_run);
    for (int c = 0; schema[c].name; c++) cl_buf_str(b, schema[c].name);
    cl_buf_endrow(b);
    int rc = 0;
    for (size_t i = 0; i < nr && !rc; i++) {
        const cl_results *r = &m->sh[refs[i].shard].res;
        const cl_table *t = which == 0 ? &r->runs : which == 1 ? &r->matrix : &r->curves;
        for (int c = 0; schema[c].name; c++) {
            int col = cl_table_col(t, schema[c].name);
            if (col >= 0) cl_buf_str(b, t->cells[refs[i].row][col]);
            else if (which == 0 && !strcmp(schema[c].name, "curve_rows")) /* counted when the shard was checked */
                cl_buf_int(b, r->curve_rows[refs[i].run]);
            else if (schema[c].missing) /* a shard run by an earlier clreg: the column it did not write */
                cl_buf_str(b, schema[c].missing);
            else {
                rc = cl_fail("%s: no column '%s': not a file this clreg writes", cl_quote_path(t->path), schema[c].name);
                break;
            }
        }
        cl_buf_endrow(b);
    }
    free(refs);
    return rc;
}

/* OUT may be new, or hold an earlier merge of the same grid; never a run's own results. */
static int check_out(const char *out, const shard_in *ref)
{
    if (!has_file(out, "runs.csv") && !has_file(out, "grid.ini")) return 0;
    char *man = slurp(out, "manifest.txt", 1 << 20, 1);
    int merged = man && strstr(man, "\nmerged: ") != NULL;
    free(man);
    if (!merged)
        return cl_fail("%s holds the results of a run, not of a merge: merge into another directory (clreg merge "
                       "OUT SHARD_DIR...), or remove its results first", cl_quote_path(out));
    char *grid = slurp(out, "grid.ini", CL_GRID_MAX_BYTES, 1);
    int same = grid && strcmp(grid, ref->grid) == 0;
    free(grid);
    if (!same)
        return cl_fail("%s holds a merge of another grid (its grid.ini differs from the shards'): merge into another "
                       "directory", cl_quote_path(out));
    return 0;
}

static void now_text(char *buf, size_t n)
{
    time_t t = time(NULL);
    strftime(buf, n, "%Y-%m-%d %H:%M:%S %Z", localtime(&t));
}

static int check_shards(merge *m, const cl_merge_opts *o, cl_merge_report *rep)
{
    shard_in *a = &m->sh[0];
    for (int k = 0; k < m->n; k++)
        if (open_shard(&m->sh[k], o->command)) return -1;
    for (int k = 1; k < m->n; k++) {
        shard_in *s = &m->sh[k];
        if (strcmp(s->grid, a->grid))
            return cl_fail("%s and %s are shards of different grids (their grid.ini files differ): merge the shards of "
                           "one grid", cl_quote_path(a->dir), cl_quote_path(s->dir));
        if (cl_fingerprint_compare(&a->fp, &s->fp))
            return cl_fail_prefix("%s and %s ran on different data (%s)", cl_quote_path(a->dir), cl_quote_path(s->dir),
                                  CL_FINGERPRINT_FILE);
        if (strcmp(s->version, a->version))
            return cl_fail("%s ran clreg %s, %s ran clreg %s: a merged table must come from one build; rerun one "
                           "of them with the other's", cl_quote_path(a->dir), a->version, cl_quote_path(s->dir), s->version);
        if (s->s.count != a->s.count || s->ncells != a->ncells)
            return cl_fail("%s is shard %d/%d of a grid of %d cells, %s shard %d/%d of %d: merge the shards of one "
                           "split", cl_quote_path(a->dir), a->s.index, a->s.count, a->ncells, cl_quote_path(s->dir), s->s.index, s->s.count,
                           s->ncells);
    }
    int M = a->ncells, N = a->s.count;
    rep->ncells = M;
    rep->nshards = m->n;
    rep->nshards_expected = N;
    /* each shard once: two directories of one shard hold the same cells twice */
    for (int x = 0; x < m->n; x++)
        for (int y = x + 1; y < m->n; y++)
            if (m->sh[x].s.index == m->sh[y].s.index) {
                char list[300];
                run_list(m->sh[x].runs, M, list, sizeof list);
                return cl_fail("%s and %s are both shard %d/%d: its cells (runs %s) would be merged twice; give one of "
                               "them", cl_quote_path(m->sh[x].dir), cl_quote_path(m->sh[y].dir), m->sh[x].s.index, N, list);
            }
    return 0;
}

/* Load each shard's rows: its own cells, whole (with partial, the whole ones are taken). */
static int load_rows(merge *m, const cl_merge_opts *o)
{
    int M = m->sh[0].ncells, N = m->sh[0].s.count;
    /* the listed cells must not overlap (one assignment) */
    int *listed = m->lister = cl_malloc(sizeof(int) * ((size_t)M + 1));
    for (int r = 0; r <= M; r++) listed[r] = -1;
    for (int k = 0; k < m->n; k++)
        for (int r = 1; r <= M; r++) {
            if (!m->sh[k].runs[r]) continue;
            if (listed[r] >= 0) {
                int other = listed[r];
                return cl_fail("run %d is a cell of both %s (shard %d/%d) and %s (shard %d/%d): their %s files come "
                               "from different assignments (edited by hand?)", r, cl_quote_path(m->sh[other].dir),
                               m->sh[other].s.index, N, cl_quote_path(m->sh[k].dir), m->sh[k].s.index, N, CL_SHARD_FILE);
            }
            listed[r] = k;
        }
    /* the rows: each shard's must be its own cells, whole */
    for (int k = 0; k < m->n; k++) {
        shard_in *s = &m->sh[k];
        if (cl_results_load_shard(&s->res, s->dir, M, NULL, 1, s->runs)) {
            return -1;
        }
        s->loaded = 1;
        char why[900];
        cl_results_describe(&s->res, why, sizeof why);
        if (s->res.nproblems && !o->partial) {
            /* a row of a cell another shard ran: name the cell as the row has it */
            char first[300] = "";
            for (int r = 1; r <= M && !first[0]; r++)
                if (s->res.runs_row[r] >= 0 && s->res.status[r] != CL_RUN_COMPLETE) describe_run(s, r, first, sizeof first);
            return cl_fail("%s: %s%s%s; rerun the shard (clreg run GRID --shard %d/%d) to repair it, or merge what is "
                           "complete with --partial", cl_quote_path(s->dir), s->res.problem, first[0] ? "; damaged: " : "", first,
                           s->s.index, N);
        }
    }
    return 0;
}

int cl_merge(const char *out, const char *const *dirs, int n, const cl_merge_opts *o, cl_merge_report *rep)
{
    memset(rep, 0, sizeof *rep);
    merge m = {0};
    int rc = 0;
    if (n == 0) {
        if (!is_dir(out)) return cl_fail("%s: no such directory (the shards' parent, where clreg run --shard writes)",
                                         cl_quote_path(out));
        int f = add_children(&m, out);
        if (f < 0) rc = -1;
        else if (f == 0)
            rc = cl_fail("%s has no shard-I-of-N directories: run the shards with clreg run GRID --shard I/N -o %s, "
                         "or name the shard directories: clreg merge OUT SHARD_DIR...", cl_quote_path(out), cl_quote_path(out));
    }
    for (int i = 0; i < n && !rc; i++) {
        if (!is_dir(dirs[i])) rc = cl_fail("%s: no such directory", cl_quote_path(dirs[i]));
        else if (has_file(dirs[i], CL_SHARD_FILE)) add(&m, dirs[i]);
        else {
            int f = add_children(&m, dirs[i]);
            if (f == 0)
                rc = cl_fail("%s is neither a shard's results directory (no %s) nor a directory of shards (no "
                             "shard-I-of-N in it)", cl_quote_path(dirs[i]), CL_SHARD_FILE);
            else if (f < 0) rc = -1;
        }
    }
    /* one directory named twice (or through a symlink) is one shard, not two */
    for (int x = 0; x < m.n && !rc; x++)
        for (int y = x + 1; y < m.n && !rc; y++) {
            struct stat a, b;
            if (stat(m.sh[x].dir, &a) == 0 && stat(m.sh[y].dir, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino)
                rc = cl_fail("%s and %s are the same directory: give each shard once", cl_quote_path(m.sh[x].dir), cl_quote_path(m.sh[y].dir));
        }
    cl_dirlock out_lock = CL_DIRLOCK_NONE;
    int *from = NULL;
    if (!rc) rc = check_shards(&m, o, rep);
    if (!rc) rc = load_rows(&m, o);
    int M = rc ? 0 : m.sh[0].ncells, N = rc ? 0 : m.sh[0].s.count;

    /* which shard each run comes from, and what is missing */
    if (!rc) {
        from = cl_malloc(sizeof(int) * ((size_t)M + 1));
        unsigned char *absent = cl_calloc((size_t)M + 1, 1);
        int nabsent = 0;
        for (int r = 1; r <= M; r++) {
            int k = m.lister[r];
            from[r] = k >= 0 && m.sh[k].res.status[r] == CL_RUN_COMPLETE ? k : -1;
            if (k < 0) absent[r] = 1, nabsent++;
        }
        for (int r = 1; r <= M; r++) rep->nmerged += from[r] >= 0;
        if (rep->nmerged < M) {
            /* name the missing cells by the shard that should hold them */
            char msg[1024], list[300];
            size_t len = 0;
            msg[0] = 0;
            unsigned char *mask = cl_calloc((size_t)M + 1, 1);
            for (int k = 0; k < m.n && len < sizeof msg; k++) {
                int c = 0;
                for (int r = 1; r <= M; r++) c += (mask[r] = m.lister[r] == k && from[r] < 0);
                if (!c) continue;
                run_list(mask, M, list, sizeof list);
                len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s (shard %d/%d, finished: %.60s) lacks %d "
                                        "of its cells: runs %s", len ? "; " : "", cl_quote_path(m.sh[k].dir), m.sh[k].s.index, N,
                                        m.sh[k].finished[0] ? m.sh[k].finished : "?", c, list);
            }
            if (nabsent && len < sizeof msg) {
                char which[200] = "";
                size_t wl = 0;
                int shown = 0;
                for (int i = 0; i < N && wl < sizeof which; i++) {
                    int present = 0;
                    for (int k = 0; k < m.n; k++) present |= m.sh[k].s.index == i;
                    if (present) continue;
                    if (shown++ < 8) wl += (size_t)snprintf(which + wl, sizeof which - wl, "%s%d", shown > 1 ? ", " : "", i);
                }
                if (shown > 8 && wl < sizeof which) snprintf(which + wl, sizeof which - wl, " and %d more", shown - 8);
                run_list(absent, M, list, sizeof list);
                snprintf(msg + len, sizeof msg - len, "%sshard%s %s of %d %s absent: runs %s", len ? "; " : "",
                         shown > 1 ? "s" : "", which, N, shown > 1 ? "are" : "is", list);
            }
            free(mask);
            if (!o->partial)
                rc = cl_fail("%d of the grid's %d cells are not complete in the shards given: %s; run those shards "
                             "(rerunning a shard resumes it), or merge what is complete with --partial",
                             M - rep->nmerged, M, msg);
            else
                snprintf(rep->missing, sizeof rep->missing, "%d of the grid's %d cells are not merged: %.900s",
                         M - rep->nmerged, M, msg);
        }
        free(absent);
        if (!rc && rep->nmerged == 0) rc = cl_fail("nothing to merge: no shard given has a complete cell");
    }

    /* kernels: more than one is worth a note (the numbers differ in the last bits) */
    if (!rc) {
        size_t len = 0;
        for (int k = 0; k < m.n; k++) {
            int seen = 0;
            for (int j = 0; j < k; j++) seen |= strcmp(m.sh[j].kernel, m.sh[k].kernel) == 0;
            if (!seen) len += (size_t)snprintf(rep->kernels + len, len < sizeof rep->kernels ? sizeof rep->kernels - len : 0,
                                               "%s%s", len ? ", " : "", m.sh[k].kernel[0] ? m.sh[k].kernel : "?");
        }
        if (!strchr(rep->kernels, ',')) rep->kernels[0] = 0;
    }

    /* write OUT */
    if (!rc && (rc = cl_mkdirs(out)) == 0 && (rc = cl_dirlock_take(&out_lock, out, o->command)) == 0)
        rc = check_out(out, &m.sh[0]);
    if (!rc) {
        cl_buf b[3] = {{0}, {0}, {0}}, man = {0};
        const cl_column *cols[3] = {cl_runs_schema, cl_matrix_schema, cl_curves_schema};
        const char *names[3] = {"runs.csv", "matrix.csv", "curves.csv"};
        for (int i = 0; i < 3 && !rc; i++) rc = collect(&m, from, i, cols[i], &b[i]);
        char when[64], data[2048], path[4200];
        now_text(when, sizeof when);
        cl_fingerprint_describe(&m.sh[0].fp, data, sizeof data);
        cl_buf_printf(&man, "clreg %s\ngrid: %s\ncommand: %s\nmerged: %d of %d shards, %d of %d cells:", cl_version(),
                      m.sh[0].grid_line, o->command ? o->command : "", m.n, N, rep->nmerged, M);
        for (int k = 0; k < m.n; k++) {
            int c = 0;
            if (k == 8 && m.n > 9) { /* the line stays short: later resumes carry it over (runner.c) */
                cl_buf_printf(&man, " and %d more", m.n - k);
                break;
            }
            for (int r = 1; r <= M; r++) c += from[r] == k;
            const char *base = strrchr(m.sh[k].dir, '/');
            cl_buf_printf(&man, "%s %s (shard %d/%d, %d cells, kernel %s)", k ? "," : "", cl_quote_path(base ? base + 1 : m.sh[k].dir),
                          m.sh[k].s.index, N, c, m.sh[k].kernel[0] ? m.sh[k].kernel : "?");
        }
        cl_buf_printf(&man, "\nBLAS: %s\n%s", m.sh[0].blas, data);
        if (rep->kernels[0]) cl_buf_printf(&man, "earlier cells: computed with BLAS kernels %s\n", rep->kernels);
        cl_buf_printf(&man, "cells: %d in the grid, %d merged\nfinished: %s\n", M, rep->nmerged, when);
        cl_replace rp = {0};
        for (int i = 0; i < 3 && !rc; i++) {
            snprintf(path, sizeof path, "%s/%s", out, names[i]);
            rc = cl_replace_stage(&rp, path, b[i].s, b[i].len);
        }
        if (!rc) {
            snprintf(path, sizeof path, "%s/grid.ini", out);
            rc = cl_replace_stage(&rp, path, m.sh[0].grid, strlen(m.sh[0].grid));
        }
        if (!rc) {
            snprintf(path, sizeof path, "%s/%s", out, CL_FINGERPRINT_FILE);
            rc = cl_replace_stage(&rp, path, m.sh[0].fp_text, strlen(m.sh[0].fp_text));
        }
        if (!rc) {
            snprintf(path, sizeof path, "%s/manifest.txt", out);
            rc = cl_replace_stage(&rp, path, man.s, man.len);
        }
        if (!rc) rc = cl_replace_commit(&rp);
        else cl_replace_abort(&rp);
        for (int i = 0; i < 3; i++) cl_buf_free(&b[i]);
        cl_buf_free(&man);
    }
    if (!rc) {
        cl_summarize_opts so = {.ncells = M, .partial = rep->nmerged < M};
        cl_summarize_report sr;
        rc = cl_results_summarize(out, &so, &sr);
    }
    cl_dirlock_release(&out_lock);
    free(from);
    free(m.lister);
    for (int k = 0; k < m.n; k++) shard_free(&m.sh[k]);
    free(m.sh);
    return rc;
}

/* Fuzz target: grid files (experiments/grid.c, inih underneath): cl_grid_load, then cl_grid_prepare against
 * small synthetic data (8x8 images, or 64 tabular features when the grid names the csv dataset), the same
 * two steps `clreg run` takes before it creates anything.
 *
 * Input: the grid file.
 *
 * Grids that would expand into more than FZ_GRID_MAX_CELLS cells, or whose task stream needs more than
 * FZ_GRID_MAX_UNITS input units over all tasks, are loaded but not prepared: preparing them is correct but
 * slow (a cell list of 100,000 entries; rotation tables of hundreds of megabytes), and every execution
 * spent there is one the parser does not get. Refusing grids too large for the machine is the runner's
 * job and is tested where it is checked. */
#include "tests/fuzz/fuzz.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/error.h"
#include "datasets/dataset.h"
#include "experiments/grid.h"

#define FZ_GRID_MAX_CELLS 2000
#define FZ_GRID_MAX_UNITS 300000L
#define FZ_SIDE 8

static cl_data images, tabular;
static int have_data;

/* The same samples as `images`, as float features of one row (how CSV data is held). */
static void make_tabular(cl_data *t, const cl_data *img)
{
    memset(t, 0, sizeof *t);
    const cl_dataset *src[2] = {&img->train, &img->test};
    cl_dataset *dst[2] = {&t->train, &t->test};
    for (int k = 0; k < 2; k++) {
        const cl_dataset *s = src[k];
        cl_dataset *d = dst[k];
        *d = *s;
        d->rows = 1;
        d->cols = d->dim;
        d->pix = NULL;
        d->feat = cl_malloc(sizeof(float) * (size_t)s->n * s->dim);
        for (size_t i = 0; i < (size_t)s->n * s->dim; i++) d->feat[i] = s->pix[i] / 255.0f;
        d->labels = cl_malloc(sizeof(int32_t) * (size_t)s->n);
        memcpy(d->labels, s->labels, sizeof(int32_t) * (size_t)s->n);
    }
}

static void load_data(void)
{
    if (have_data) return;
    cl_data_synthetic(&images, 100, 30, FZ_SIDE, FZ_SIDE, 10, 1);
    make_tabular(&tabular, &images);
    have_data = 1;
}

/* Cells the grid expands into, from the parsed sections (an upper bound when orders are explicit lists:
 * empty parts between '|' are not orders). */
static long expected_cells(const cl_grid *g, long norders)
{
    long combos = 0;
    for (int s = 0; s < g->nsections; s++) {
        long c = 1;
        for (int k = 0; k < g->sections[s].nkeys && c <= FZ_GRID_MAX_CELLS; k++) c *= g->sections[s].nvals[k];
        combos += c;
        if (combos > FZ_GRID_MAX_CELLS) return FZ_GRID_MAX_CELLS + 1;
    }
    return combos * norders * g->nseeds;
}

static void check_loaded(const cl_grid *g)
{
    if (g->nsections < 1 || !g->sections || g->nseeds < 1 || !g->seeds || !g->name || !g->path || !g->text)
        fz_violation("cl_grid_load accepted a grid of %d sections and %d seeds", g->nsections, g->nseeds);
    for (int s = 0; s < g->nsections; s++) {
        const cl_grid_section *sec = &g->sections[s];
        if (!sec->label || !sec->label[0] || !sec->method)
            fz_violation("cl_grid_load: section %d has no label or method", s + 1);
        for (int t = 0; t < s; t++)
            if (!strcmp(g->sections[t].label, sec->label))
                fz_violation("cl_grid_load: two sections labelled '%s'", sec->label);
        for (int k = 0; k < sec->nkeys; k++)
            if (sec->nvals[k] < 1) fz_violation("cl_grid_load: [%s] %s has no value", sec->label, sec->keys[k]);
    }
}

static void check_prepared(const cl_grid *g, long want)
{
    if (g->ntasks < 1 || g->norders < 1) fz_violation("cl_grid_prepare: %d tasks, %d orders", g->ntasks, g->norders);
    if (!g->orders_text && g->ncells != want)
        fz_violation("cl_grid_prepare: %d cells, expected %ld (combinations x orders x seeds)", g->ncells, want);
    if (g->orders_text && g->ncells != expected_cells(g, g->norders))
        fz_violation("cl_grid_prepare: %d cells for %d explicit orders, expected %ld", g->ncells, g->norders,
                     expected_cells(g, g->norders));
    char *seen = cl_malloc((size_t)g->ntasks);
    for (int o = 0; o < g->norders; o++) {
        memset(seen, 0, (size_t)g->ntasks);
        for (int t = 0; t < g->ntasks; t++) {
            int v = g->orders[o][t];
            if (v < 0 || v >= g->ntasks || seen[v]) fz_violation("cl_grid_prepare: order %d is not a permutation", o + 1);
            seen[v] = 1;
        }
    }
    free(seen);
    for (int i = 0; i < g->ncells; i++) {
        const cl_grid_cell *c = &g->cells[i];
        if (c->run != i + 1 || c->section < 0 || c->section >= g->nsections || c->order < 0 || c->order >= g->norders)
            fz_violation("cl_grid_prepare: cell %d has run %d, section %d, order %d", i, c->run, c->section, c->order);
        const cl_grid_section *sec = &g->sections[c->section];
        for (int k = 0; k < sec->nkeys; k++)
            if (!cl_grid_cell_value(c, sec->keys[k]))
                fz_violation("cl_grid_prepare: cell %d lacks [%s] %s", c->run, sec->label, sec->keys[k]);
    }
}

int cl_fuzz_grid(const uint8_t *data, size_t size)
{
    load_data();
    const char *path = fz_memfile(0, data, size);
    cl_grid g;
    if (cl_grid_load(&g, path)) {
        fz_check_message("cl_grid_load", &path, 1);
        cl_grid_free(&g);
        return 0;
    }
    check_loaded(&g);
    long norders = g.norders_random;
    if (g.orders_text) {
        norders = 1;
        for (const char *c = g.orders_text; *c; c++) norders += *c == '|';
    }
    long want = expected_cells(&g, norders);
    const cl_data *d = g.set.dataset && !strcasecmp(g.set.dataset, "csv") ? &tabular : &images;
    /* tasks: as given, else one per angle listed, else at most 5 (class groups of 10 classes, or the default) */
    long tasks = g.set.stream.ntasks ? g.set.stream.ntasks : g.set.angles ? 1 : 5;
    if (!g.set.stream.ntasks && g.set.angles)
        for (const char *c = g.set.angles; *c; c++) tasks += *c == ',';
    long side = FZ_SIDE + 2L * g.set.stream.pad, units = d->train.rows > 1 ? side * side : d->train.dim;
    if (want <= FZ_GRID_MAX_CELLS && tasks * units <= FZ_GRID_MAX_UNITS) {
        if (cl_grid_prepare(&g, d)) fz_check_message("cl_grid_prepare", &path, 1);
        else check_prepared(&g, want);
    }
    cl_grid_free(&g);
    return 0;
}

#ifdef CL_LIBFUZZER
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return cl_fuzz_grid(data, size); }
#endif

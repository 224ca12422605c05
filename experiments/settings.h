/* The settings of an experiment that `clreg train` takes as options and a grid takes as [experiment] keys:
 * the data, the task stream, the network and its training. One table (settings.c) names each with its type,
 * range, default and help; the grid parser and the command line both read it, so a key and its option take
 * the same values with the same messages, and `clreg train --help` is printed from it.
 *
 * A key is spelt with '_' in a grid (data_path) and with '-' as an option (--data-path). A BOOL is a flag on
 * the command line (--reset-optim) and yes/no in a grid (reset_optim = yes).
 *
 * What only one side has stays there: a grid's name, seeds, orders, evaluation and state keys
 * (experiments/grid.c); train's --seed, --threads, --reg, --lambda, --save-state and --probe (clreg.c). */
#ifndef CLREG_SETTINGS_H
#define CLREG_SETTINGS_H

#include <stddef.h>
#include <stdio.h>

#include "core/optim.h"
#include "datasets/dataset.h"
#include "datasets/stream.h"
#include "models/arch.h"

typedef struct cl_settings {
    char *dataset, *data_path;     /* data_path NULL: the dataset's default location */
    cl_data_opts data_opts;        /* label_column points at the string below */
    char *label_column;
    cl_stream_cfg stream;          /* groups and angles point at the strings below (after cl_settings_finish) */
    char *groups, *angles;
    cl_arch arch;                  /* the network before its heads: `arch` or `hidden` */
    const char *arch_key;          /* which of the two gave it (NULL: the default, the MLP preset) */
    cl_opt_kind optimizer;
    float lr, momentum;            /* as given; lr 0 and momentum -1: the optimizer's default */
    cl_optim_cfg opt;              /* after cl_settings_finish: the optimizer with lr and momentum applied */
    int epochs, batch, reset_optim;
} cl_settings;

typedef enum { CL_SETTING_TEXT, CL_SETTING_INT, CL_SETTING_FLOAT, CL_SETTING_BOOL } cl_setting_type;

typedef struct cl_setting {
    const char *key;               /* the grid key; the option is --key with '_' made '-' */
    const char *section;           /* the heading it is listed under in --help */
    cl_setting_type type;          /* TEXT values are checked by `set`; INT, FLOAT and BOOL by their range */
    const char *arg;               /* the value's name in --help (NULL for a BOOL) */
    double min, max;               /* INT and FLOAT: the range */
    int min_exclusive;             /* FLOAT: min itself is out of range */
    size_t offset;                 /* INT, FLOAT and BOOL: the int or float field of cl_settings */
    const char *help;              /* --help's lines, separated by '\n', the default said in them */
    int (*set)(cl_settings *s, const char *value, const char *what); /* TEXT */
} cl_setting;

extern const cl_setting cl_settings_table[];
extern const int cl_settings_count;

/* The defaults: fashion-mnist, a permuted stream of 5 tasks, the MLP 400-400, Adam, 1 epoch, batch 128. */
void cl_settings_init(cl_settings *s);
void cl_settings_free(cl_settings *s);

/* The entry of a grid key ("data_path") or, with option set, an option's name without dashes
 * ("data-path"); NULL if there is none. */
const cl_setting *cl_setting_find(const char *name, int option);

/* The option's name without dashes: the key with '_' made '-' ("data_path" -> "data-path"). */
void cl_setting_option(const cl_setting *e, char *out, size_t n);

/* Set one value. `what` names it in messages ("--epochs", "epochs"); a BOOL's value is NULL for a flag
 * (meaning yes). 0, or -1 with a message starting with `what`. */
int cl_settings_set(cl_settings *s, const cl_setting *e, const char *value, const char *what);

/* Once every value is set: the optimizer with lr and momentum over its defaults, the stream's pointers. */
void cl_settings_finish(cl_settings *s);

/* The option lines of one --help section ("data", "task stream", "model and training"). */
void cl_settings_help(FILE *f, const char *section);

/* The network's text for results and headers: "400 400" (the widths, as runs.csv has always written an
 * MLP's hidden layers; empty for a linear model) or, for any other network, its canonical arch text. */
void cl_settings_model_text(const cl_arch *a, char *out, size_t n);

#endif

/* Task streams: a sequence of tasks defined as views of one shared dataset.
 *
 * A task never copies data. It is a recipe applied when a batch is assembled: which samples belong to it
 * (split: a class subset, as an index list), how inputs are mapped (permuted: a fixed pixel permutation;
 * rotated: a bilinear rotation, precomputed as 4 source pixels and weights per input pixel; both after an
 * optional zero border), and how labels map to output units of which head (the scenario).
 *
 * Scenarios (van de Ven & Tolias 2019):
 *   task-incremental    one head per task; the task identity picks the head at test time
 *   domain-incremental  one shared head, labels within a task (split: position in the class group)
 *   class-incremental   one head over all classes of the stream; training and testing use the classes seen
 *                       so far (output units are numbered in order of first appearance, so "seen so far"
 *                       is a prefix of the head: task t's `active` units)
 */
#ifndef CLREG_STREAM_H
#define CLREG_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "datasets/dataset.h"

typedef enum { CL_STREAM_PERMUTED, CL_STREAM_SPLIT, CL_STREAM_ROTATED } cl_stream_kind;
typedef enum { CL_SCEN_TASK, CL_SCEN_DOMAIN, CL_SCEN_CLASS } cl_scenario;

/* How input values are scaled when a batch is assembled:
 *   CL_SCALE_NONE   the values as stored (raw pixels 0..255, CSV features as written)
 *   CL_SCALE_255    divided by 255: pixels into [0, 1]
 *   CL_SCALE_AUTO   (default) divided by 255 only for pixel data: images (IDX, synthetic), or CSV data whose
 *                   every feature in train and test is a whole number in 0..255; any other CSV data is used
 *                   as given, so tabular features are not shrunk 255-fold without a word */
typedef enum { CL_SCALE_NONE = 0, CL_SCALE_255 = 1, CL_SCALE_AUTO = 2 } cl_scale_mode;

/* Per-channel normalization, applied after the scaling when a batch is assembled:
 *   CL_NORM_AUTO     (default) channel for datasets whose default it is (CIFAR: cl_data.channel_norm), none
 *                    for every other dataset
 *   CL_NORM_NONE     the scaled values as they are
 *   CL_NORM_CHANNEL  each channel's mean and standard deviation over the whole training split (every pixel of
 *                    that channel of every training image), computed once when the stream is built; inputs
 *                    become (x - mean_c) / std_c. With images scaled by 1/255 that is (x/255 - mean_c) / std_c,
 *                    and the result does not depend on the scale.
 *   CL_NORM_TRAIN    one mean and standard deviation over every input of the training split, all channels
 *                    pooled (what MNIST-style protocols apply: (x/255 - 0.2860) / 0.3530 on Fashion-MNIST)
 *   CL_NORM_GIVEN    the mean and standard deviation given (cfg.norm_mean, norm_std), in the scaled unit
 *                    (x/255 for images, as torchvision's Normalize takes them): one pair for every channel,
 *                    or one per channel */
typedef enum { CL_NORM_AUTO = 0, CL_NORM_NONE = 1, CL_NORM_CHANNEL = 2, CL_NORM_TRAIN = 3, CL_NORM_GIVEN = 4 } cl_norm_mode;
#define CL_NORM_MAX_CHANNELS 16 /* values a given normalization holds: more than any dataset's channels */

typedef struct cl_stream_cfg {
    cl_stream_kind kind;
    cl_scenario scenario;
    int ntasks;          /* 0: every group (split) or 5 (permuted, rotated); split without groups: K tasks
                            of C/K consecutive classes (C classes; at least 2 per task) */
    int pad;             /* zero border in pixels on every side (2 turns 28x28 into 32x32) */
    int scale01;         /* a cl_scale_mode (0 and 1 keep the field's first meaning: raw / scaled to [0, 1]) */
    int normalize;       /* a cl_norm_mode */
    int norm_n;          /* CL_NORM_GIVEN: 1 (every channel) or one pair per channel */
    float norm_mean[CL_NORM_MAX_CHANNELS], norm_std[CL_NORM_MAX_CHANNELS];
    int permute_first;   /* permuted: permute task 1 too (default: task 1 is the plain data) */
    const char *groups;  /* split: class groups "0,1/2,3/4,5"; NULL: consecutive pairs */
    const char *angles;  /* rotated: degrees per task "0,30,60"; NULL: task t at t * angle_step */
    float angle_step;    /* rotated: degrees between consecutive tasks when angles is NULL */
    uint64_t seed;       /* permutations derive from (seed, task id) */
    const int *order;    /* NULL, or the training order: position p trains natural task order[p] */
    float validation;    /* fraction of the training split held out for validation (0: none; below 1). Per
                            class, round(fraction * n_c) samples chosen from (seed, "validation", class): the
                            same held-out samples for every task, order and method of a seed, never trained
                            on, and stratified, so every task holds out its share of each of its classes */
} cl_stream_cfg;

/* Defaults: permuted, domain-incremental, 5 tasks, no padding, CL_SCALE_AUTO, CL_NORM_AUTO, rotation step
 * 30 deg. */
cl_stream_cfg cl_stream_defaults(void);

typedef struct cl_task {
    int id;              /* the task's index in the natural order (keys its permutation) */
    char desc[96];       /* "permutation 3", "classes 2,3", "rotation 30 deg" */
    int head;            /* output head */
    int active;          /* output units in the softmax while training this task */
    int nclasses;        /* classes of this task */
    int *classes;        /* their original labels */
    int *label_map;      /* original label -> output unit of `head`, -1 if not in this task */
    int ntrain, ntest;   /* samples */
    int *train_idx, *test_idx; /* sample ids, or NULL: every sample of the split */
    int nval;            /* validation samples (ids into the training split, val_idx), 0 without validation */
    int *val_idx;
    int *src;            /* input unit p reads source pixel src[p] (-1: zero border); NULL: identity. Colour
                            images: the same pixel map in every channel (unit c*plane + q reads channel c) */
    int *bsrc;           /* rotated: 4 source pixels per input unit (-1: outside the image), per channel too */
    float *bw;           /* rotated: their bilinear weights */
} cl_task;

typedef struct cl_stream {
    cl_stream_cfg cfg;
    const cl_data *data;
    int ntasks;
    cl_task *task;       /* in training order */
    int channels;        /* colour planes of the input (the data's) */
    int in_rows, in_cols, input_dim; /* network input geometry (after padding): input_dim = channels * in_rows
                                        * in_cols, channel-planar like the data */
    int nheads;
    int *head_out;       /* output units per head */
    float scale;         /* what inputs are multiplied by: 1/255 or 1 (cfg.scale01 decided against the data) */
    float *norm_mean, *norm_std; /* per channel, of the scaled training inputs, when normalized; else NULL */
} cl_stream;

/* Build a stream over d (which must outlive it). Validates the configuration against the data (a class
 * group naming a class the data lacks, more tasks than groups, rotation or padding of non-image data, a
 * padded input beyond CL_MAX_INPUT_DIM, unequal groups in the domain-incremental scenario, a one-class task
 * where it would be trivially right, a bad order) and refuses any task without training or test samples,
 * naming the task and its classes, so nothing trains on a stream that cannot be evaluated. */
int cl_stream_create(cl_stream *s, const cl_data *d, const cl_stream_cfg *cfg);
void cl_stream_free(cl_stream *s);

/* The parts of a task's data: what it trains on, what it is tested on, and the held-out validation part of
 * its training split (cfg.validation). */
enum { CL_PART_TRAIN = 0, CL_PART_TEST = 1, CL_PART_VAL = 2 };

/* Samples of task t in a part. */
int cl_stream_part_n(const cl_stream *s, int t, int part);

/* Assemble a batch of task t: samples at positions pos[0..B) of the task's part (CL_PART_*: 0 the training
 * list, 1 the test list, 2 the validation list). Writes X[B][input_dim] and y[B] (output units of the task's
 * head). */
void cl_stream_batch(const cl_stream *s, int t, int part, const int *pos, int B, float *X, int *y);

/* Parse a validation fraction ("0.1", "10%"; 0 for none) into *out: -1 with a message unless 0 <= v < 1. */
int cl_validation_parse(const char *s, float *out);

/* Output units in the softmax when evaluating task j after training task i (class-incremental: classes
 * seen through task max(i, j); otherwise the task's head). i = -1 means before any training. */
int cl_stream_eval_active(const cl_stream *s, int i, int j);

/* Parsers shared with the grid files: "permuted" / "split" / "rotated"; "task" / "domain" / "class" (also
 * the long forms "task-incremental" etc.). Return -1 with a message listing the valid names. */
int cl_stream_kind_parse(const char *s, cl_stream_kind *out);
int cl_scenario_parse(const char *s, cl_scenario *out);
const char *cl_stream_kind_name(cl_stream_kind k);
const char *cl_scenario_name(cl_scenario s);

/* "255", "none" or "auto" (also yes/true/on/1 for 255 and no/false/off/0 for none, the older spellings). */
int cl_scale_parse(const char *s, cl_scale_mode *out);
/* "none", "channel" or "auto". */
int cl_norm_parse(const char *s, cl_norm_mode *out);
/* A normalization as the settings take it, into cfg: a mode name (none, channel, train, auto), or given values,
 * "MEAN,STD" or per channel "M1,M2,M3/S1,S2,S3" (standard deviations > 0). -1 with a message otherwise. */
int cl_stream_normalize_parse(const char *s, cl_stream_cfg *cfg);
/* The normalization in effect and why, for a header line: "no normalization (normalize auto)",
 * "per channel (x/255 - mean_c) / std_c, over the training split (normalize auto: CIFAR); mean 0.4914,
 * 0.4822, 0.4465, std 0.2470, 0.2435, 0.2616". */
void cl_stream_norm_desc(const cl_stream *s, char *buf, size_t cap);

/* What the stream does to its inputs and why, for a header line: "inputs / 255 (auto: pixel data)",
 * "inputs as given (auto: features are not all whole numbers in 0..255)", "inputs / 255 (scale 255)". */
const char *cl_stream_scale_desc(const cl_stream *s);

#endif

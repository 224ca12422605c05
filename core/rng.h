/* Seeded random streams.
 *
 * Every random decision in clreg (initialization, shuffling, permutations, sampled labels, task orders)
 * draws from a stream derived from (seed, key), where the key names what the stream is for. Results then
 * depend only on the seed and the cell, never on thread count or scheduling. Generator: xoshiro256**,
 * seeded through splitmix64 (the seeding its authors recommend). */
#ifndef CLREG_RNG_H
#define CLREG_RNG_H

#include <stdint.h>

typedef struct cl_rng { uint64_t s[4]; } cl_rng;

/* 64-bit FNV-1a of a string: turns a stream name into a key. */
uint64_t cl_hash_str(const char *s);
/* Mix two 64-bit values into one (for building keys from parts, e.g. key of "perm" and task index). */
uint64_t cl_hash_mix(uint64_t a, uint64_t b);

void cl_rng_seed(cl_rng *r, uint64_t seed, uint64_t key);
uint64_t cl_rng_next(cl_rng *r);
/* Uniform in [0, n), without modulo bias. */
uint32_t cl_rng_below(cl_rng *r, uint32_t n);
/* Uniform float in [0, 1). */
float cl_rng_uniform(cl_rng *r);
/* Standard normal (Box-Muller, both values used in turn would need state: we draw one per call). */
float cl_rng_normal(cl_rng *r);
/* Fisher-Yates shuffle of n ints. */
void cl_rng_shuffle(cl_rng *r, int *a, int n);

#endif

/* Continual-learning metrics over the accuracy matrix.
 *
 * R is (T+1) x T, row-major: R[i][j] = test accuracy on task j (1-based below) after training tasks 1..i,
 * and row 0 is before any training. With tasks numbered 1..T:
 *   ACC         = mean_j R[T][j]                                   final average accuracy
 *   BWT         = mean_{j<T} (R[T][j] - R[j][j])                   backward transfer (GEM, Lopez-Paz 2017)
 *   FWT         = mean_{j>1} (R[j-1][j] - R[0][j])                 forward transfer (GEM)
 *   forgetting  = mean_{j<T} (max_{1<=l<T} R[l][j] - R[T][j])      (Chaudhry et al. 2018)
 *   learning    = mean_j R[j][j]                                   learning accuracy (plasticity)
 * BWT, FWT and forgetting are NaN for a single task (an empty mean). */
#ifndef CLREG_METRICS_H
#define CLREG_METRICS_H

typedef struct cl_metrics {
    double acc, bwt, fwt, forgetting, learning;
} cl_metrics;

cl_metrics cl_metrics_compute(const float *R, int T);

#endif

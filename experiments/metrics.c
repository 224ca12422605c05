#include "experiments/metrics.h"

#include <math.h>
#include <stddef.h>

/* R[i][j] with tasks 1-based for j, as in the formulas above. */
#define AT(i, j) ((double)R[(size_t)(i) * T + (j) - 1])

cl_metrics cl_metrics_compute(const float *R, int T)
{
    cl_metrics m = {NAN, NAN, NAN, NAN, NAN};
    if (T < 1) return m;
    double acc = 0, learn = 0;
    for (int j = 1; j <= T; j++) {
        acc += AT(T, j);
        learn += AT(j, j);
    }
    m.acc = acc / T;
    m.learning = learn / T;
    if (T < 2) return m;
    double bwt = 0, fwt = 0, fgt = 0;
    for (int j = 1; j < T; j++) {
        bwt += AT(T, j) - AT(j, j);
        double best = AT(1, j);
        for (int l = 2; l < T; l++) best = fmax(best, AT(l, j));
        fgt += best - AT(T, j);
    }
    for (int j = 2; j <= T; j++) fwt += AT(j - 1, j) - AT(0, j);
    m.bwt = bwt / (T - 1);
    m.fwt = fwt / (T - 1);
    m.forgetting = fgt / (T - 1);
    return m;
}

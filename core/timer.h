/* Wall-clock seconds from a monotonic clock, for timing columns and progress estimates. */
#ifndef CLREG_TIMER_H
#define CLREG_TIMER_H

#include <time.h>

static inline double cl_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

#endif

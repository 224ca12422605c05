#include "core/names.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

int cl_edit_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    int *prev = malloc(sizeof(int) * (m + 1)), *cur = malloc(sizeof(int) * (m + 1));
    if (!prev || !cur) {
        free(prev);
        free(cur);
        return 1 << 20;
    }
    for (size_t j = 0; j <= m; j++) prev[j] = (int)j;
    for (size_t i = 1; i <= n; i++) {
        cur[0] = (int)i;
        for (size_t j = 1; j <= m; j++) {
            int sub = prev[j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
            int del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        int *t = prev;
        prev = cur;
        cur = t;
    }
    int d = prev[m];
    free(prev);
    free(cur);
    return d;
}

const char *cl_closest_name(const char *name, const char *const *candidates)
{
    const char *best = NULL;
    int bestd = 1 << 20;
    for (; *candidates; candidates++) {
        int d = cl_edit_distance(name, *candidates);
        if (d < bestd) {
            bestd = d;
            best = *candidates;
        }
    }
    if (!best) return NULL;
    size_t la = strlen(name), lb = strlen(best), longer = la > lb ? la : lb;
    int limit = (int)(longer / 3);
    if (limit < 1) limit = 1;
    return bestd <= limit ? best : NULL;
}

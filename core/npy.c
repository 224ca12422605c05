#include "core/npy.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"

int cl_mkdirs(const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof buf) return cl_fail("directory name '%s' is empty or too long", path);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != 0) continue;
        char keep = buf[i];
        buf[i] = 0;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST) return cl_fail("%s: cannot create directory: %s", buf, strerror(errno));
        struct stat st;
        if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) return cl_fail("%s: exists and is not a directory", buf);
        buf[i] = keep;
    }
    return 0;
}

int cl_npy_write(const char *path, const float *data, int ndim, const size_t *shape)
{
    char dict[256], shp[128] = "";
    size_t len = 0, count = 1;
    for (int d = 0; d < ndim; d++) {
        len += (size_t)snprintf(shp + len, sizeof shp - len, "%zu,%s", shape[d], ndim > 1 && d < ndim - 1 ? " " : "");
        count *= shape[d];
    }
    if (ndim > 1) shp[len - 1] = 0; /* "(400, 784)" needs no trailing comma; "(10,)" keeps its own */
    int dl = snprintf(dict, sizeof dict, "{'descr': '<f4', 'fortran_order': False, 'shape': (%s), }", shp);
    /* magic (6) + version (2) + header length (2) + dict + padding + '\n', a multiple of 64 bytes */
    size_t total = 10 + (size_t)dl + 1;
    size_t pad = (64 - total % 64) % 64;
    unsigned char head[512];
    memcpy(head, "\x93NUMPY\x01\x00", 8);
    uint16_t hl = (uint16_t)(dl + pad + 1);
    head[8] = (unsigned char)(hl & 0xff);
    head[9] = (unsigned char)(hl >> 8);
    memcpy(head + 10, dict, (size_t)dl);
    memset(head + 10 + dl, ' ', pad);
    head[10 + dl + pad] = '\n';
    FILE *f = fopen(path, "wb");
    if (!f) return cl_fail("%s: cannot write: %s", path, strerror(errno));
    int ok = fwrite(head, 1, total + pad, f) == total + pad && fwrite(data, sizeof(float), count, f) == count;
    if (fclose(f) != 0) ok = 0;
    if (!ok) return cl_fail("%s: write failed: %s", path, strerror(errno));
    return 0;
}

int cl_npy_read(const char *path, float **data, size_t *count, int *ndim, size_t shape[4])
{
    FILE *f = fopen(path, "rb");
    if (!f) return cl_fail("%s: cannot open: %s", path, strerror(errno));
    unsigned char h[10];
    char dict[4096];
    if (fread(h, 1, 10, f) != 10 || memcmp(h, "\x93NUMPY", 6) != 0 || h[6] != 1) {
        fclose(f);
        return cl_fail("%s: not a NumPy .npy file of format 1.0", path);
    }
    size_t hl = (size_t)h[8] | ((size_t)h[9] << 8);
    if (hl >= sizeof dict || fread(dict, 1, hl, f) != hl) {
        fclose(f);
        return cl_fail("%s: truncated .npy header", path);
    }
    dict[hl] = 0;
    if (!strstr(dict, "'descr': '<f4'") || !strstr(dict, "'fortran_order': False")) {
        fclose(f);
        return cl_fail("%s: expected float32 ('<f4') in C order", path);
    }
    const char *sp = strstr(dict, "'shape': (");
    *ndim = 0;
    *count = 1;
    for (const char *p = sp ? sp + 10 : NULL; p && *p && *p != ')' && *ndim < 4;) {
        char *end;
        unsigned long long v = strtoull(p, &end, 10);
        if (end == p) break;
        shape[(*ndim)++] = (size_t)v;
        *count *= (size_t)v;
        p = end;
        while (*p == ',' || *p == ' ') p++;
    }
    if (!sp || *ndim == 0) {
        fclose(f);
        return cl_fail("%s: no shape in the .npy header", path);
    }
    *data = cl_malloc(*count * sizeof(float) + 1);
    size_t got = fread(*data, sizeof(float), *count, f);
    fclose(f);
    if (got != *count) {
        free(*data);
        *data = NULL;
        return cl_fail("%s: truncated: %zu of %zu values", path, got, *count);
    }
    return 0;
}

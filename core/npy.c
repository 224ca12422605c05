#include "core/npy.h"

#include <errno.h>
#include <stdint.h>
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

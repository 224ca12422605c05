/* What the fuzz targets share: memory files, input splitting, gzip, and the checks on error messages. */
#define _GNU_SOURCE
#include "tests/fuzz/fuzz.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "core/error.h"

void fz_violation(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "fuzz: broken promise: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    abort();
}

int fz_split(const uint8_t *data, size_t size, const uint8_t **part, size_t *len, int max, int keep_newline)
{
    static const char sep[] = FZ_SEPARATOR;
    const size_t seplen = sizeof sep - 1;
    int n = 0;
    size_t start = 0;
    while (n < max - 1) {
        const uint8_t *hit = size - start >= seplen ? memmem(data + start, size - start, sep, seplen) : NULL;
        if (!hit) break;
        size_t end = (size_t)(hit - data);
        part[n] = data + start;
        len[n++] = end - start + (keep_newline != 0);
        start = end + seplen;
    }
    part[n] = data + start;
    len[n++] = size - start;
    return n;
}

/* ---- files ------------------------------------------------------------------------------------------- */

static int memfd[FZ_SLOTS] = {-1, -1, -1, -1};
static char mempath[FZ_SLOTS][32];

static void write_all(int fd, const void *data, size_t n, const char *what)
{
    size_t off = 0;
    while (off < n) {
        ssize_t w = pwrite(fd, (const char *)data + off, n - off, (off_t)off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            fprintf(stderr, "fuzz: cannot write %s: %s\n", what, strerror(errno));
            abort();
        }
        off += (size_t)w;
    }
}

const char *fz_memfile(int slot, const void *data, size_t n)
{
    if (memfd[slot] < 0) {
        /* A memfd is a regular file in memory: no disk, and the parsers open it by path like any file. */
        memfd[slot] = memfd_create("clreg-fuzz", 0);
        if (memfd[slot] < 0) {
            fprintf(stderr, "fuzz: memfd_create: %s\n", strerror(errno));
            abort();
        }
        snprintf(mempath[slot], sizeof mempath[slot], "/proc/self/fd/%d", memfd[slot]);
    }
    if (ftruncate(memfd[slot], 0) != 0) {
        fprintf(stderr, "fuzz: ftruncate: %s\n", strerror(errno));
        abort();
    }
    write_all(memfd[slot], data, n, mempath[slot]);
    return mempath[slot];
}

static char workdir[256];
static pid_t workdir_owner;

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    remove(path);
    return 0;
}

static void remove_workdir(void)
{
    /* forked children (the replay test runs each input in one) share the directory and must not remove it */
    if (workdir[0] && getpid() == workdir_owner) nftw(workdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

const char *fz_workdir(void)
{
    if (workdir[0]) return workdir;
    const char *tmp = getenv("TMPDIR");
    const char *bases[] = {"/dev/shm", tmp && *tmp ? tmp : "/tmp", "/tmp"};
    for (size_t i = 0; i < sizeof bases / sizeof *bases; i++) {
        snprintf(workdir, sizeof workdir, "%s/clreg-fuzz-XXXXXX", bases[i]);
        if (mkdtemp(workdir)) {
            workdir_owner = getpid();
            atexit(remove_workdir);
            return workdir;
        }
    }
    fprintf(stderr, "fuzz: cannot create a work directory: %s\n", strerror(errno));
    abort();
}

void fz_write(const char *dir, const char *name, const void *data, size_t n)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        fprintf(stderr, "fuzz: cannot create %s: %s\n", path, strerror(errno));
        abort();
    }
    write_all(fd, data, n, path);
    close(fd);
}

uint8_t *fz_gzip(const uint8_t *data, size_t n, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    /* + 16: a gzip header and trailer, as the MNIST files ship. Level 1, a 512-byte window and the smallest
     * hash table: zlib's defaults allocate and clear 256 KB per call, which costs more than the parsing. */
    if (deflateInit2(&z, 1, Z_DEFLATED, 9 + 16, 1, Z_DEFAULT_STRATEGY) != Z_OK) abort();
    size_t cap = deflateBound(&z, (uLong)n);
    uint8_t *out = malloc(cap);
    if (!out) abort();
    z.next_in = (Bytef *)data;
    z.avail_in = (uInt)n;
    z.next_out = out;
    z.avail_out = (uInt)cap;
    if (deflate(&z, Z_FINISH) != Z_STREAM_END) abort();
    *outlen = cap - z.avail_out;
    deflateEnd(&z);
    return out;
}

/* ---- messages ---------------------------------------------------------------------------------------- */

/* The message, escaped, for a report that itself stays readable. */
static void show(const char *m, char *out, size_t cap)
{
    size_t o = 0;
    for (; *m && o + 5 < cap; m++) {
        unsigned char c = (unsigned char)*m;
        if (c < 0x20 || c >= 0x7f) o += (size_t)snprintf(out + o, cap - o, "\\x%02X", c);
        else out[o++] = (char)c;
    }
    out[o] = 0;
}

/* Length of the valid UTF-8 sequence at s that is not a control character (C0, DEL, C1), or 0. Written apart
 * from core/quote.c on purpose: the oracle must not share the code it checks. */
static size_t printable_utf8(const unsigned char *s)
{
    unsigned c = s[0];
    if (c < 0x20 || c == 0x7f) return 0;
    if (c < 0x80) return 1;
    int n = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : -1;
    if (n < 0) return 0;
    unsigned lo = 0x80, hi = 0xbf; /* the second byte's range excludes overlong forms and surrogates */
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
    if (s[1] < lo || s[1] > hi) return 0;
    for (int i = 2; i <= n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf) return 0;
    if (c == 0xc2 && s[1] < 0xa0) return 0; /* U+0080..U+009F: C1 controls */
    return (size_t)n + 1;
}

void fz_check_message(const char *call, const char *const *paths, int npaths)
{
    fz_check_text(call, cl_errmsg(), paths, npaths);
}

void fz_check_text(const char *call, const char *m, const char *const *paths, int npaths)
{
    char shown[2048];
    show(m, shown, sizeof shown);
    size_t len = strlen(m);
    if (len == 0) fz_violation("%s failed without a message", call);
    for (size_t i = 0; i < len;) {
        size_t k = printable_utf8((const unsigned char *)m + i);
        if (!k)
            fz_violation("%s: message has byte 0x%02X at offset %zu, a control byte or not UTF-8 (raw input "
                         "echoed?): %s", call, (unsigned char)m[i], i, shown);
        i += k;
    }
    if (len >= FZ_MSG_MAX) fz_violation("%s: message of %zu characters (cut off?): %s", call, len, shown);
    if (npaths == 0) return;
    for (int i = 0; i < npaths; i++)
        if (strstr(m, paths[i])) return;
    fz_violation("%s: message names none of the input files (%s%s): %s", call, paths[0], npaths > 1 ? ", ..." : "",
                 shown);
}

/* Checks of the figure files `clreg plot` writes (header-only, C11, zlib):
 *
 *   png_check(path, &w, &h, &nonbg, err, errlen)
 *       0 when path is a structurally valid PNG: the signature; IHDR first, 13 bytes, with a valid size, bit
 *       depth and colour type; the CRC of every chunk; consecutive IDAT chunks whose zlib stream inflates to
 *       exactly the image's size (Adam7-interlaced too); IEND last, with nothing after it. The image is
 *       decoded (all bit depths and colour types, the five row filters, PLTE and tRNS, alpha composited
 *       over white) to measure *nonbg: the fraction of pixels clearly different (a channel off by more than
 *       PNG_CLEAR_DIFF) from the most common colour, i.e. how much is drawn on the background.
 *       -1 otherwise, with a message in err. w, h, nonbg may be NULL.
 *   png_check_nonblank(path, &w, &h, err, errlen)
 *       png_check, and -1 ("blank image") when less than PNG_MIN_NONBG of the pixels differ from the
 *       background.
 *   svg_check(path, err, errlen)
 *       0 when path starts with an XML declaration or an <svg> tag (after an optional BOM and white space),
 *       contains "<svg" followed later by "</svg>", and has at least SVG_MIN_ELEMENTS drawing elements
 *       (<path, <line, <polyline, <polygon, <rect, <circle, <text, <use) outside <defs>, is valid UTF-8
 *       and has no '&' outside an entity (&name; &#N; &#xH;), the text a label would break if gnuplot
 *       did not escape it; -1 otherwise. svg_check_n: the same with another minimum of elements.
 *
 * Link with -lz. All functions are static inline, so a test can use any subset without warnings.
 */
#ifndef CLREG_PNGCHECK_H
#define CLREG_PNGCHECK_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define PNG_MIN_NONBG 0.005          /* png_check_nonblank: at least 0.5% of the pixels drawn */
#define PNG_CLEAR_DIFF 40            /* "clearly different": some channel differs by more than this */
#define PNG_MAX_FILE (256L << 20)    /* files larger than this are refused */
#define PNG_MAX_RAW ((size_t)1 << 30) /* decoded (filtered) image data larger than this is refused */
#define SVG_MIN_ELEMENTS 10

static inline int pngc_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Read a whole file (at most max bytes) into a malloc'd buffer with a terminating 0 byte. */
static inline unsigned char *pngc_read_file(const char *path, long max, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        pngc_fail(err, errlen, "%s: cannot open", path);
        return NULL;
    }
    size_t cap = 65536, n = 0;
    unsigned char *buf = malloc(cap + 1);
    while (buf) {
        if (n == cap) {
            if ((long)cap >= max) {
                free(buf);
                fclose(f);
                pngc_fail(err, errlen, "%s: larger than %ld bytes", path, max);
                return NULL;
            }
            cap *= 2;
            unsigned char *nb = realloc(buf, cap + 1);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n, f);
        n += r;
        if (r == 0) break;
    }
    if (!buf) {
        fclose(f);
        pngc_fail(err, errlen, "%s: out of memory", path);
        return NULL;
    }
    if (ferror(f)) {
        free(buf);
        fclose(f);
        pngc_fail(err, errlen, "%s: read error", path);
        return NULL;
    }
    fclose(f);
    buf[n] = 0;
    *len = n;
    return buf;
}

static inline uint32_t pngc_be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* ---- decoding -------------------------------------------------------------------------------------- */

typedef struct pngc_img {
    uint32_t width, height;
    int depth, ctype, interlace, channels;
    unsigned char palette[256][4]; /* RGBA */
    int npalette;
    int has_key;                   /* tRNS colour key (grey or RGB) */
    unsigned key[3];
    uint32_t *hist;                /* 32768 bins: 5 bits per channel of the composited colour */
    unsigned char *pix;            /* composited RGB of every pixel, 3 bytes each, in decoding order */
    size_t npix, ipix;
} pngc_img;

static inline size_t pngc_rowbytes(const pngc_img *im, uint32_t w)
{
    return ((size_t)w * (size_t)im->channels * (size_t)im->depth + 7) / 8;
}

/* sample c of pixel x of an unfiltered row, as stored (0 .. 2^depth - 1) */
static inline unsigned pngc_sample(const pngc_img *im, const unsigned char *row, uint32_t x, int c)
{
    if (im->depth == 8) return row[(size_t)x * (size_t)im->channels + (size_t)c];
    if (im->depth == 16) {
        const unsigned char *p = row + 2 * ((size_t)x * (size_t)im->channels + (size_t)c);
        return ((unsigned)p[0] << 8) | p[1];
    }
    /* 1, 2, 4 bits: one channel (grey or palette index) */
    size_t bit = (size_t)x * (size_t)im->depth;
    unsigned shift = (unsigned)(8 - im->depth - (int)(bit % 8));
    return ((unsigned)row[bit / 8] >> shift) & ((1u << im->depth) - 1u);
}

static inline unsigned pngc_to8(const pngc_img *im, unsigned v)
{
    if (im->depth == 16) return v >> 8;
    if (im->depth == 8) return v;
    return v * 255u / ((1u << im->depth) - 1u);
}

/* composite one pixel over white and record it */
static inline void pngc_pixel(pngc_img *im, const unsigned char *row, uint32_t x)
{
    unsigned r, g, b, a = 255;
    switch (im->ctype) {
    case 0: { /* grey */
        unsigned v = pngc_sample(im, row, x, 0);
        if (im->has_key && v == im->key[0]) a = 0;
        r = g = b = pngc_to8(im, v);
        break;
    }
    case 2: { /* RGB */
        unsigned v0 = pngc_sample(im, row, x, 0), v1 = pngc_sample(im, row, x, 1), v2 = pngc_sample(im, row, x, 2);
        if (im->has_key && v0 == im->key[0] && v1 == im->key[1] && v2 == im->key[2]) a = 0;
        r = pngc_to8(im, v0), g = pngc_to8(im, v1), b = pngc_to8(im, v2);
        break;
    }
    case 3: { /* palette (index checked against the palette size by the caller) */
        unsigned i = pngc_sample(im, row, x, 0);
        r = im->palette[i][0], g = im->palette[i][1], b = im->palette[i][2], a = im->palette[i][3];
        break;
    }
    case 4: /* grey + alpha */
        r = g = b = pngc_to8(im, pngc_sample(im, row, x, 0));
        a = pngc_to8(im, pngc_sample(im, row, x, 1));
        break;
    default: /* 6: RGBA */
        r = pngc_to8(im, pngc_sample(im, row, x, 0)), g = pngc_to8(im, pngc_sample(im, row, x, 1));
        b = pngc_to8(im, pngc_sample(im, row, x, 2)), a = pngc_to8(im, pngc_sample(im, row, x, 3));
        break;
    }
    if (a != 255) {
        r = (r * a + 255u * (255u - a) + 127u) / 255u;
        g = (g * a + 255u * (255u - a) + 127u) / 255u;
        b = (b * a + 255u * (255u - a) + 127u) / 255u;
    }
    im->hist[((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3)]++;
    unsigned char *p = im->pix + 3 * im->ipix++;
    p[0] = (unsigned char)r, p[1] = (unsigned char)g, p[2] = (unsigned char)b;
}

static inline int pngc_paeth(int a, int b, int c)
{
    int p = a + b - c, pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
    if (pa <= pb && pa <= pc) return a;
    return pb <= pc ? b : c;
}

/* Undo the filters of a (sub-)image of w x h pixels stored at data (h rows of 1 + rowbytes bytes), in
 * place, and record its pixels. */
static inline int pngc_unfilter(pngc_img *im, unsigned char *data, uint32_t w, uint32_t h, char *err, size_t errlen)
{
    if (w == 0 || h == 0) return 0;
    size_t rb = pngc_rowbytes(im, w);
    size_t bpp = ((size_t)im->channels * (size_t)im->depth + 7) / 8;
    unsigned char *prev = NULL;
    for (uint32_t y = 0; y < h; y++) {
        unsigned char *line = data + (size_t)y * (rb + 1), *row = line + 1;
        int ft = line[0];
        for (size_t i = 0; i < rb; i++) {
            int a = i >= bpp ? row[i - bpp] : 0, b = prev ? prev[i] : 0, c = (prev && i >= bpp) ? prev[i - bpp] : 0;
            int v;
            switch (ft) {
            case 0: v = 0; break;
            case 1: v = a; break;
            case 2: v = b; break;
            case 3: v = (a + b) / 2; break;
            case 4: v = pngc_paeth(a, b, c); break;
            default: return pngc_fail(err, errlen, "row %u: unknown filter type %d", (unsigned)y, ft);
            }
            row[i] = (unsigned char)(row[i] + v);
        }
        if (im->ctype == 3)
            for (uint32_t x = 0; x < w; x++)
                if ((int)pngc_sample(im, row, x, 0) >= im->npalette)
                    return pngc_fail(err, errlen, "row %u: palette index %u outside the %d-colour palette", (unsigned)y,
                                     pngc_sample(im, row, x, 0), im->npalette);
        for (uint32_t x = 0; x < w; x++) pngc_pixel(im, row, x);
        prev = row;
    }
    return 0;
}

/* ---- the checks ------------------------------------------------------------------------------------ */

static inline int png_check(const char *path, int *w, int *h, double *nonbg_fraction, char *err, size_t errlen)
{
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    static const int adam7[7][4] = {{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4},
                                    {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}; /* x0, y0, dx, dy */
    size_t len = 0;
    unsigned char *buf = pngc_read_file(path, PNG_MAX_FILE, &len, err, errlen);
    if (!buf) return -1;
    pngc_img im;
    memset(&im, 0, sizeof im);
    unsigned char *raw = NULL;
    size_t rawlen = 0, rawpos = 0;
    z_stream zs;
    memset(&zs, 0, sizeof zs);
    int zinit = 0, zend = 0, rc = -1, seen_idat = 0, idat_done = 0, seen_iend = 0, seen_plte = 0;
    size_t pos = 8;

    if (len < 8 || memcmp(buf, sig, 8) != 0) {
        pngc_fail(err, errlen, "%s: not a PNG (bad signature)", path);
        goto out;
    }
    for (int nchunk = 0;; nchunk++) {
        if (pos == len) {
            pngc_fail(err, errlen, "%s: truncated (no IEND chunk)", path);
            goto out;
        }
        if (len - pos < 12) {
            pngc_fail(err, errlen, "%s: truncated chunk header at byte %zu", path, pos);
            goto out;
        }
        uint32_t clen = pngc_be32(buf + pos);
        const unsigned char *type = buf + pos + 4, *data = buf + pos + 8;
        char tname[5] = {0};
        for (int i = 0; i < 4; i++) {
            if (!((type[i] >= 'A' && type[i] <= 'Z') || (type[i] >= 'a' && type[i] <= 'z'))) {
                pngc_fail(err, errlen, "%s: invalid chunk type at byte %zu", path, pos + 4);
                goto out;
            }
            tname[i] = (char)type[i];
        }
        if (clen > 0x7fffffffu || (size_t)clen > len - pos - 12) {
            pngc_fail(err, errlen, "%s: chunk %s at byte %zu: truncated (length %lu, %zu bytes left)", path, tname, pos,
                      (unsigned long)clen, len - pos - 12);
            goto out;
        }
        uint32_t want = pngc_be32(data + clen);
        uLong crc = crc32(0L, Z_NULL, 0);
        crc = crc32(crc, type, (uInt)(clen + 4));
        if ((uint32_t)crc != want) {
            pngc_fail(err, errlen, "%s: chunk %s at byte %zu: CRC mismatch (stored %08lx, computed %08lx)", path, tname,
                      pos, (unsigned long)want, (unsigned long)crc);
            goto out;
        }
        pos += 12 + (size_t)clen;

        if (nchunk == 0) {
            if (strcmp(tname, "IHDR") != 0 || clen != 13) {
                pngc_fail(err, errlen, "%s: the first chunk is %s (%lu bytes), not a 13-byte IHDR", path, tname,
                          (unsigned long)clen);
                goto out;
            }
            im.width = pngc_be32(data), im.height = pngc_be32(data + 4);
            im.depth = data[8], im.ctype = data[9], im.interlace = data[12];
            int ok;
            switch (im.ctype) {
            case 0: ok = im.depth == 1 || im.depth == 2 || im.depth == 4 || im.depth == 8 || im.depth == 16; im.channels = 1; break;
            case 3: ok = im.depth == 1 || im.depth == 2 || im.depth == 4 || im.depth == 8; im.channels = 1; break;
            case 2: ok = im.depth == 8 || im.depth == 16; im.channels = 3; break;
            case 4: ok = im.depth == 8 || im.depth == 16; im.channels = 2; break;
            case 6: ok = im.depth == 8 || im.depth == 16; im.channels = 4; break;
            default: ok = 0;
            }
            if (!ok) {
                pngc_fail(err, errlen, "%s: IHDR: invalid colour type %d with bit depth %d", path, im.ctype, im.depth);
                goto out;
            }
            if (im.width == 0 || im.height == 0 || im.width > 0x7fffffffu || im.height > 0x7fffffffu) {
                pngc_fail(err, errlen, "%s: IHDR: invalid size %lu x %lu", path, (unsigned long)im.width,
                          (unsigned long)im.height);
                goto out;
            }
            if (data[10] != 0 || data[11] != 0 || im.interlace > 1) {
                pngc_fail(err, errlen, "%s: IHDR: invalid compression %d, filter %d or interlace %d method", path,
                          data[10], data[11], im.interlace);
                goto out;
            }
            /* the size of the filtered data: one filter byte per row, per pass when interlaced */
            double total = 0;
            if (!im.interlace) total = (double)im.height * (double)(1 + pngc_rowbytes(&im, im.width));
            else
                for (int p = 0; p < 7; p++) {
                    uint32_t pw = (im.width - (uint32_t)adam7[p][0] + (uint32_t)adam7[p][2] - 1) / (uint32_t)adam7[p][2];
                    uint32_t ph = (im.height - (uint32_t)adam7[p][1] + (uint32_t)adam7[p][3] - 1) / (uint32_t)adam7[p][3];
                    if (im.width > (uint32_t)adam7[p][0] && im.height > (uint32_t)adam7[p][1])
                        total += (double)ph * (double)(1 + pngc_rowbytes(&im, pw));
                }
            if (total > (double)PNG_MAX_RAW) {
                pngc_fail(err, errlen, "%s: image too large to check (%lu x %lu)", path, (unsigned long)im.width,
                          (unsigned long)im.height);
                goto out;
            }
            rawlen = (size_t)total;
            im.npix = (size_t)im.width * (size_t)im.height;
            raw = malloc(rawlen + 1);
            im.pix = malloc(3 * im.npix);
            im.hist = calloc(32768, sizeof *im.hist);
            if (!raw || !im.pix || !im.hist) {
                pngc_fail(err, errlen, "%s: out of memory", path);
                goto out;
            }
            if (inflateInit(&zs) != Z_OK) {
                pngc_fail(err, errlen, "%s: inflateInit failed", path);
                goto out;
            }
            zinit = 1;
            continue;
        }
        if (!strcmp(tname, "IHDR")) {
            pngc_fail(err, errlen, "%s: a second IHDR chunk", path);
            goto out;
        }
        if (!strcmp(tname, "PLTE")) {
            if (seen_plte || seen_idat || clen % 3 != 0 || clen == 0 || clen > 768) {
                pngc_fail(err, errlen, "%s: invalid PLTE chunk (%lu bytes)", path, (unsigned long)clen);
                goto out;
            }
            seen_plte = 1;
            im.npalette = (int)(clen / 3);
            for (int i = 0; i < im.npalette; i++) {
                im.palette[i][0] = data[3 * i], im.palette[i][1] = data[3 * i + 1], im.palette[i][2] = data[3 * i + 2];
                im.palette[i][3] = 255;
            }
        } else if (!strcmp(tname, "tRNS")) {
            if (im.ctype == 3) {
                for (uint32_t i = 0; i < clen && i < 256; i++) im.palette[i][3] = data[i];
            } else if (im.ctype == 0 && clen == 2) {
                im.has_key = 1, im.key[0] = ((unsigned)data[0] << 8) | data[1];
            } else if (im.ctype == 2 && clen == 6) {
                im.has_key = 1;
                for (int i = 0; i < 3; i++) im.key[i] = ((unsigned)data[2 * i] << 8) | data[2 * i + 1];
            }
        } else if (!strcmp(tname, "IDAT")) {
            if (idat_done) {
                pngc_fail(err, errlen, "%s: IDAT chunks are not consecutive", path);
                goto out;
            }
            if (im.ctype == 3 && !seen_plte) {
                pngc_fail(err, errlen, "%s: palette image without a PLTE chunk before its IDAT", path);
                goto out;
            }
            seen_idat = 1;
            if (zend) {
                if (clen) {
                    pngc_fail(err, errlen, "%s: data after the end of the compressed image", path);
                    goto out;
                }
                continue;
            }
            zs.next_in = (Bytef *)(uintptr_t)data;
            zs.avail_in = (uInt)clen;
            while (zs.avail_in > 0 && !zend) {
                unsigned char spill;
                int over = rawpos >= rawlen; /* all the image's bytes are in: only the stream's end may follow */
                uInt in_before = zs.avail_in;
                zs.next_out = over ? &spill : raw + rawpos;
                zs.avail_out = over ? 1 : (uInt)(rawlen - rawpos);
                uInt out_before = zs.avail_out;
                int zr = inflate(&zs, Z_NO_FLUSH);
                uInt produced = out_before - zs.avail_out;
                if (over && produced) {
                    pngc_fail(err, errlen, "%s: more image data than %lu x %lu pixels need", path, (unsigned long)im.width,
                              (unsigned long)im.height);
                    goto out;
                }
                if (!over) rawpos += produced;
                if (zr == Z_STREAM_END) zend = 1;
                else if ((zr != Z_OK && zr != Z_BUF_ERROR) || (produced == 0 && zs.avail_in == in_before)) {
                    pngc_fail(err, errlen, "%s: corrupt compressed image data (zlib: %s)", path,
                              zs.msg ? zs.msg : "no progress");
                    goto out;
                }
            }
            if (zend && zs.avail_in > 0) {
                pngc_fail(err, errlen, "%s: data after the end of the compressed image", path);
                goto out;
            }
        } else if (!strcmp(tname, "IEND")) {
            if (clen != 0) {
                pngc_fail(err, errlen, "%s: IEND chunk with %lu data bytes", path, (unsigned long)clen);
                goto out;
            }
            seen_iend = 1;
            break;
        } else if (!(type[0] & 0x20)) { /* an unknown critical chunk */
            pngc_fail(err, errlen, "%s: unknown critical chunk %s", path, tname);
            goto out;
        }
        if (seen_idat && strcmp(tname, "IDAT") != 0) idat_done = 1;
    }
    if (pos != len) {
        pngc_fail(err, errlen, "%s: %zu bytes after the IEND chunk", path, len - pos);
        goto out;
    }
    if (!seen_iend || !seen_idat) {
        pngc_fail(err, errlen, "%s: no IDAT chunk", path);
        goto out;
    }
    if (!zend || rawpos != rawlen) {
        pngc_fail(err, errlen, "%s: image data truncated (%zu of %zu bytes)", path, rawpos, rawlen);
        goto out;
    }
    if (!im.interlace) {
        if (pngc_unfilter(&im, raw, im.width, im.height, err, errlen)) goto out;
    } else {
        size_t off = 0;
        for (int p = 0; p < 7; p++) {
            if (im.width <= (uint32_t)adam7[p][0] || im.height <= (uint32_t)adam7[p][1]) continue;
            uint32_t pw = (im.width - (uint32_t)adam7[p][0] + (uint32_t)adam7[p][2] - 1) / (uint32_t)adam7[p][2];
            uint32_t ph = (im.height - (uint32_t)adam7[p][1] + (uint32_t)adam7[p][3] - 1) / (uint32_t)adam7[p][3];
            if (pngc_unfilter(&im, raw + off, pw, ph, err, errlen)) goto out;
            off += (size_t)ph * (1 + pngc_rowbytes(&im, pw));
        }
    }
    /* background: the centre of the most common 5-bit colour bin; count the pixels clearly off it */
    {
        size_t best = 0;
        for (size_t i = 1; i < 32768; i++)
            if (im.hist[i] > im.hist[best]) best = i;
        int bg[3] = {(int)((best >> 10) & 31) * 8 + 4, (int)((best >> 5) & 31) * 8 + 4, (int)(best & 31) * 8 + 4};
        size_t off = 0;
        for (size_t i = 0; i < im.ipix; i++) {
            const unsigned char *p = im.pix + 3 * i;
            if (abs(p[0] - bg[0]) > PNG_CLEAR_DIFF || abs(p[1] - bg[1]) > PNG_CLEAR_DIFF ||
                abs(p[2] - bg[2]) > PNG_CLEAR_DIFF)
                off++;
        }
        if (w) *w = (int)im.width;
        if (h) *h = (int)im.height;
        if (nonbg_fraction) *nonbg_fraction = im.ipix ? (double)off / (double)im.ipix : 0.0;
    }
    rc = 0;
out:
    if (zinit) inflateEnd(&zs);
    free(raw);
    free(im.pix);
    free(im.hist);
    free(buf);
    return rc;
}

static inline int png_check_nonblank(const char *path, int *w, int *h, char *err, size_t errlen)
{
    double f = 0;
    if (png_check(path, w, h, &f, err, errlen)) return -1;
    if (f < PNG_MIN_NONBG)
        return pngc_fail(err, errlen, "%s: blank image (%.3f%% of the pixels differ from the background, want %.1f%%)",
                         path, 100 * f, 100 * PNG_MIN_NONBG);
    return 0;
}

/* the number of occurrences of tag (e.g. "<path") followed by white space, '>' or '/', in s[0, n) */
static inline size_t svgc_count(const char *s, size_t n, const char *tag)
{
    size_t k = 0, tl = strlen(tag);
    for (const char *p = s; p + tl < s + n && (p = strstr(p, tag)) != NULL && p + tl < s + n; p += tl) {
        char c = p[tl];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '>' || c == '/') k++;
    }
    return k;
}

/* Offset of the first byte that is not UTF-8 (RFC 3629), or -1. */
static inline long svgc_bad_utf8(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        size_t n = c < 0x80 ? 1 : (c >= 0xc2 && c <= 0xdf) ? 2 : (c >= 0xe0 && c <= 0xef) ? 3 : (c >= 0xf0 && c <= 0xf4) ? 4 : 0;
        if (n == 0 || i + n > len) return (long)i;
        if (n > 1) {
            unsigned lo = c == 0xe0 ? 0xa0 : c == 0xf0 ? 0x90 : 0x80, hi = c == 0xed ? 0x9f : c == 0xf4 ? 0x8f : 0xbf;
            if (s[i + 1] < lo || s[i + 1] > hi) return (long)i;
            for (size_t k = 2; k < n; k++)
                if (s[i + k] < 0x80 || s[i + k] > 0xbf) return (long)i;
        }
        i += n;
    }
    return -1;
}

/* Offset of the first '&' that does not start an entity, or -1. */
static inline long svgc_bad_amp(const char *s)
{
    for (const char *a = strchr(s, '&'); a; a = strchr(a + 1, '&')) {
        const char *p = a + 1;
        if (*p == '#') {
            p++;
            int hex = *p == 'x';
            if (hex) p++;
            const char *d = p;
            while ((*p >= '0' && *p <= '9') || (hex && ((*p >= 'a' && *p <= 'f') || (*p >= 'A' && *p <= 'F')))) p++;
            if (p == d || *p != ';') return a - s;
        } else {
            const char *d = p;
            while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')) p++;
            if (p == d || *p != ';') return a - s;
        }
    }
    return -1;
}

/* svg_check with another minimum of drawing elements (a figure that is mostly text). */
static inline int svg_check_n(const char *path, int min_elements, char *err, size_t errlen)
{
    static const char *const tags[] = {"<path", "<line", "<polyline", "<polygon", "<rect", "<circle", "<text", "<use", NULL};
    size_t len = 0;
    unsigned char *buf = pngc_read_file(path, PNG_MAX_FILE, &len, err, errlen);
    if (!buf) return -1;
    char *s = (char *)buf;
    int rc = -1;
    if (memchr(s, 0, len)) {
        pngc_fail(err, errlen, "%s: binary data (a NUL byte) in an SVG file", path);
        goto out;
    }
    long bad = svgc_bad_utf8(buf, len);
    if (bad >= 0) {
        pngc_fail(err, errlen, "%s: byte %ld is not UTF-8", path, bad);
        goto out;
    }
    if ((bad = svgc_bad_amp(s)) >= 0) {
        pngc_fail(err, errlen, "%s: byte %ld: '&' outside an entity (unescaped text?)", path, bad);
        goto out;
    }
    const char *p = s;
    if (len >= 3 && !memcmp(p, "\xef\xbb\xbf", 3)) p += 3;
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
    if (strncmp(p, "<?xml", 5) != 0 && strncmp(p, "<svg", 4) != 0) {
        pngc_fail(err, errlen, "%s: does not start with an XML declaration or <svg", path);
        goto out;
    }
    char *so = strstr(p, "<svg");
    char *sc = so ? strstr(so, "</svg>") : NULL;
    if (!so || !sc) {
        pngc_fail(err, errlen, "%s: %s", path, !so ? "no <svg element" : "no </svg> (truncated?)");
        goto out;
    }
    /* blank out <defs> ... </defs> (point symbols and the like) before counting */
    for (char *d = strstr(so, "<defs"); d && d < sc; d = strstr(d, "<defs")) {
        char *e = strstr(d, "</defs>");
        if (!e || e > sc) {
            pngc_fail(err, errlen, "%s: unterminated <defs>", path);
            goto out;
        }
        memset(d, ' ', (size_t)(e + 7 - d));
    }
    size_t n = (size_t)(sc - so), k = 0;
    for (int t = 0; tags[t]; t++) k += svgc_count(so, n, tags[t]);
    if (k < (size_t)min_elements) {
        pngc_fail(err, errlen, "%s: only %zu drawing elements (want %d or more): blank?", path, k, min_elements);
        goto out;
    }
    rc = 0;
out:
    free(buf);
    return rc;
}

static inline int svg_check(const char *path, char *err, size_t errlen)
{
    return svg_check_n(path, SVG_MIN_ELEMENTS, err, errlen);
}

#endif

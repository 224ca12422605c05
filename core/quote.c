#include "core/quote.h"

#include <stdio.h>
#include <string.h>

/* Length of the valid UTF-8 sequence at p (1..4) that is not a control character (C0, DEL or C1), or 0 when
 * p starts none (a stray continuation byte, an overlong or surrogate form, a sequence cut short). */
static size_t printable_len(const unsigned char *p)
{
    unsigned c = p[0];
    size_t len;
    unsigned min;
    if (c < 0x20 || c == 0x7f) return 0;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) len = 2, min = 0xa0; /* U+0080..U+009F are the C1 controls */
    else if (c >= 0xe0 && c <= 0xef) len = 3, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4) len = 4, min = 0x10000;
    else return 0;
    unsigned cp = c & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80) return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
    return len;
}

int cl_utf8_len(const unsigned char *s)
{
    if (s[0] < 0x80) return 1;
    int n;
    unsigned lo = 0x80, hi = 0xbf;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) n = 2;
    else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        if (s[0] == 0xe0) lo = 0xa0;
        if (s[0] == 0xed) hi = 0x9f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        if (s[0] == 0xf0) lo = 0x90;
        if (s[0] == 0xf4) hi = 0x8f;
    } else
        return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (int i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf) return 0;
    return n;
}

size_t cl_escape_char(char *out, const unsigned char *p, size_t *used)
{
    size_t len = printable_len(p);
    if (len) {
        memcpy(out, p, len);
        *used = len;
        return len;
    }
    *used = 1;
    switch (p[0]) {
    case '\n': return (size_t)sprintf(out, "\\n");
    case '\t': return (size_t)sprintf(out, "\\t");
    case '\r': return (size_t)sprintf(out, "\\r");
    default: return (size_t)sprintf(out, "\\x%02X", p[0]);
    }
}

char *cl_quote_n(char *out, size_t n, const char *s, size_t max)
{
    if (n < 5) { /* no room for anything and "..." */
        if (n) out[0] = 0;
        return out;
    }
    size_t k = 0, chars = 0, room = n - 4; /* keep room for "..." and the terminator */
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    char one[8];
    while (*p && chars < max) {
        size_t used, w = cl_escape_char(one, p, &used);
        if (k + w > room) break;
        memcpy(out + k, one, w);
        k += w;
        p += used;
        chars++;
    }
    if (*p) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = 0;
    return out;
}

#define QUOTE_PATH_MAX 64 /* paths get a little more room than values: directories plus the file name */
#define QUOTE_BUF (5 * QUOTE_PATH_MAX + 64)
static _Thread_local char quotebuf[8][QUOTE_BUF];
static _Thread_local int quotenext;

/* Escape the whole of s[0..n) into out, which has room for 5 bytes per input byte plus a NUL. */
static size_t escape_all(char *out, const unsigned char *s, size_t n)
{
    size_t o = 0, i = 0;
    while (i < n) {
        size_t used;
        o += cl_escape_char(out + o, s + i, &used);
        i += used;
    }
    out[o] = 0;
    return o;
}

/* Back from `at` to the start of a UTF-8 character, so a cut never splits one. */
static size_t char_start(const unsigned char *s, size_t at, size_t lo)
{
    while (at > lo && (s[at] & 0xc0) == 0x80) at--;
    return at;
}

static const char *quote(const char *s, size_t max, int from_end)
{
    char *buf = quotebuf[quotenext];
    quotenext = (quotenext + 1) % 8;
    if (!s) s = "(null)";
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    if (n <= max) {
        escape_all(buf, u, n);
    } else if (from_end) {
        size_t from = n - max, start = char_start(u, from, 0);
        if (start < from) start = from; /* no valid start within reach: escape the bytes as they are */
        size_t o = (size_t)sprintf(buf, "...");
        escape_all(buf + o, u + start, n - start);
    } else {
        size_t end = char_start(u, max, 0);
        if (end == 0) end = max;
        size_t o = escape_all(buf, u, end);
        snprintf(buf + o, QUOTE_BUF - o, "... (%zu bytes)", n);
    }
    return buf;
}

const char *cl_quote(const char *s) { return quote(s, CL_QUOTE_MAX, 0); }
const char *cl_quote_path(const char *s) { return quote(s, QUOTE_PATH_MAX, 1); }

#include "core/quote.h"

#include <stdio.h>
#include <string.h>

char *cl_quote(char *out, size_t n, const char *s, size_t max)
{
    if (n < 5) { /* no room for anything and "..." */
        if (n) out[0] = 0;
        return out;
    }
    size_t k = 0, chars = 0, room = n - 4; /* keep room for "..." and the terminator */
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    while (*p && chars < max) {
        if (*p < 0x20 || *p == 0x7f) {
            if (k + 4 > room) break;
            snprintf(out + k, n - k, "\\x%02x", *p);
            k += 4;
            p++;
        } else {
            /* a UTF-8 sequence: its lead byte says how long; copy it whole or not at all */
            size_t len = *p < 0x80 ? 1 : *p >= 0xf0 ? 4 : *p >= 0xe0 ? 3 : *p >= 0xc0 ? 2 : 1;
            size_t avail = strnlen((const char *)p, len);
            if (avail < len) len = avail;
            if (k + len > room) break;
            memcpy(out + k, p, len);
            k += len;
            p += len;
        }
        chars++;
    }
    if (*p) {
        memcpy(out + k, "...", 3);
        k += 3;
    }
    out[k] = 0;
    return out;
}

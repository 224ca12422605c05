#include "core/paths.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/error.h"

int cl_output_dir(const char *opt, const char *path)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0) return cl_fail("%s: expected a directory, got an empty value", opt);
    if (n >= sizeof buf - 64) return cl_fail("%s: path of %zu bytes, longer than %zu", opt, n, sizeof buf - 64);
    memcpy(buf, path, n + 1);
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != 0) continue;
        char keep = buf[i];
        buf[i] = 0;
        struct stat st;
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return cl_fail("%s: %s: cannot create directory: %s", opt, cl_quote_path(buf), strerror(errno));
        if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
            return cl_fail("%s: %s: exists and is not a directory", opt, cl_quote_path(buf));
        buf[i] = keep;
    }
    snprintf(buf + n, sizeof buf - n, "/.clreg-write-check-%ld", (long)getpid());
    int fd = open(buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) { /* left by a killed process that had this pid */
        unlink(buf);
        fd = open(buf, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    }
    if (fd < 0) return cl_fail("%s: %s: cannot create files there: %s", opt, cl_quote_path(path), strerror(errno));
    close(fd);
    unlink(buf);
    return 0;
}

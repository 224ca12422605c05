#include "experiments/dirlock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/quote.h"

int cl_dirlock_take(cl_dirlock *l, const char *dir, const char *command)
{
    char path[4200];
    l->fd = -1;
    snprintf(path, sizeof path, "%s/.lock", dir);
    /* O_NOFOLLOW: the lock must be this directory's own file, never one a symlink points elsewhere;
     * O_CLOEXEC: gnuplot and other children must not inherit (and so share) the lock */
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0) return cl_fail("%s: cannot open the directory's lock file: %s", path, strerror(errno));
    int rc;
    while ((rc = flock(fd, LOCK_EX | LOCK_NB)) != 0 && errno == EINTR) {}
    if (rc != 0) {
        int err = errno;
        if (err != EWOULDBLOCK) {
            close(fd);
            return cl_fail("%s: cannot lock: %s", path, strerror(err));
        }
        char holder[512], q[700];
        ssize_t n = pread(fd, holder, sizeof holder - 1, 0);
        close(fd);
        holder[n > 0 ? n : 0] = 0;
        holder[strcspn(holder, "\n")] = 0;
        if (!holder[0]) snprintf(holder, sizeof holder, "it has not recorded who it is yet");
        return cl_fail("%s is in use by another clreg (%s); one process at a time writes a results directory: "
                       "wait for it to end, or use another directory", dir, cl_quote_n(q, sizeof q, holder, 160));
    }
    char host[256] = "?", when[64] = "?";
    if (gethostname(host, sizeof host) != 0) snprintf(host, sizeof host, "?");
    host[sizeof host - 1] = 0;
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %Z", &tm);
    char text[2600];
    int len = snprintf(text, sizeof text, "pid %ld on %s since %s: %.2000s\n", (long)getpid(), host, when,
                       command && *command ? command : "clreg");
    if (len >= (int)sizeof text) len = (int)sizeof text - 1;
    /* who holds it is a courtesy for the next process's message: failing to record it is no error */
    if (ftruncate(fd, 0) == 0 && pwrite(fd, text, (size_t)len, 0) < 0) {}
    l->fd = fd;
    return 0;
}

void cl_dirlock_release(cl_dirlock *l)
{
    if (l->fd < 0) return;
    if (ftruncate(l->fd, 0) != 0) {} /* nobody holds it now: leave no name behind */
    close(l->fd); /* closing the last descriptor releases the flock */
    l->fd = -1;
}

/* One writer per results directory.
 *
 * Two processes appending to the same runs.csv write every cell twice, and a summarize running beside a
 * grid rewrites files under it. Every command that changes a results directory first takes an exclusive
 * flock(2) on DIR/.lock and holds it to the end. The kernel releases the lock when the process ends,
 * however it ends (SIGKILL, a crash, a power cut on a local disk), so a stale lock never blocks the next
 * run and no clean-up is needed. The lock is on the file, not the path: two spellings of one directory (a
 * symlink, "dir" and "./dir/") meet at the same lock.
 *
 * The holder writes who it is into the file (pid, host, start time, command), for the message the next
 * one gets. The file stays after the holder ends; its contents mean nothing unless the lock is held. */
#ifndef CLREG_DIRLOCK_H
#define CLREG_DIRLOCK_H

typedef struct cl_dirlock {
    int fd;              /* -1 when not held */
} cl_dirlock;

#define CL_DIRLOCK_NONE {-1} /* a lock not (yet) taken: releasing it does nothing */

/* Take the lock of an existing directory, without waiting. command: what the holder is doing (the command
 * line), recorded for others. Returns 0, or -1 with one message naming the holder when another process has
 * it ("results/quick is in use by another clreg: pid 4242 on host1 since ...: clreg run quick.ini; ..."). */
int cl_dirlock_take(cl_dirlock *l, const char *dir, const char *command);

/* Release (also fine on a lock never taken, or taken and released already). */
void cl_dirlock_release(cl_dirlock *l);

#endif

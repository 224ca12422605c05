#!/usr/bin/env bash
# A private single-node SLURM cluster for the tests of `clreg slurm --submit`: real slurmctld, slurmd and
# munged, every file of theirs under one directory, nothing read from or written to /etc or /var.
#
# usage: tests/slurm/cluster.sh start DIR                 start; prints `export SLURM_CONF=DIR/slurm.conf`
#        tests/slurm/cluster.sh wait-job DIR ID [SECONDS]  wait for job ID (or a whole array) to end
#        tests/slurm/cluster.sh status DIR                 what is running
#        tests/slurm/cluster.sh stop DIR                   cancel jobs, stop the daemons, leave no process
#
# wait-job exits 0 when every task of the job COMPLETED with exit code 0; otherwise it names each task that
# did not and exits with the largest of their statuses: the script's exit code, 128+N for signal N, 1 for a
# job that ended without one (cancelled, node failure), 124 on timeout. A job whose dependency can never be
# satisfied (an afterok job whose array had a failing task) is cancelled and reported, status 1: SLURM
# leaves such a job pending forever, and `sbatch --wait` would hang on it and then report 0 when it is
# cancelled. Accounting is off (no slurmdbd), so sacct cannot help; wait-job reads `scontrol show job`,
# which keeps finished jobs for MinJobAge seconds.
#
# The daemons run as root, as a real cluster's do: slurmd starts every job as its owner. See README.md.
# Lists of pids and job ids are split into words on purpose.
# shellcheck disable=SC2086
set -u

prog="cluster.sh"
# Seconds finished jobs stay in `scontrol show job` (squeue hides them at once); wait-job must see the end
# state within this window.
MIN_JOB_AGE=120
# Seconds between SIGTERM and SIGKILL for a cancelled job; short so `stop` is quick.
KILL_WAIT=5

die() { printf '%s: %s\n' "$prog" "$*" >&2; exit 1; }

usage() {
    sed -n 's/^# usage: /       /p; s/^#        /       /p' "$0" | sed '1s/^       /usage: /' >&2
    exit 2
}

# The last lines of a log, indented under the message they explain. Debian's slurm loads every MPI plugin
# at start and logs three errors for the PMIx library it does not depend on; they explain nothing.
log_tail() {
    if [ -s "$1" ]; then
        printf '  last lines of %s:\n' "$1"
        grep -v -e 'mpi/pmix' -e 'MPI: Cannot create context' "$1" | tail -n 15 | sed 's/^/    /'
    else
        printf '  (%s is empty or missing)\n' "$1"
    fi
}

# DIR as an absolute path that slurm.conf and munged accept: slurm.conf has no quoting, so a path with
# blanks, '#' or '=' would be cut or misread; unix socket paths are limited to 107 bytes.
set_dir() {
    [ -n "${1:-}" ] || usage
    dir=$(realpath -m -- "$1") || die "cannot resolve directory '$1'"
    case $dir in
        *[[:space:]#=,\"\'\\]*) die "directory '$dir': blanks, quotes, '#', '=', ',' and '\\' cannot be written in slurm.conf; use a plain path such as one from mktemp -d" ;;
    esac
    conf=$dir/slurm.conf
}

# Variables a SLURM job or user environment may carry (SLURM_JOB_ID, SBATCH_PARTITION, ...) would steer the
# clients and daemons below towards another cluster or other defaults; only SLURM_CONF, ours, is kept.
clean_env() {
    local v
    for v in $(compgen -e); do
        case $v in SLURM_*|SBATCH_*|SQUEUE_*|SINFO_*|SCANCEL_*|SCONTROL_*|SALLOC_*|SRUN_*) unset "$v" ;; esac
    done
    export SLURM_CONF=$conf
}

# A process is alive when /proc has it and it is not a zombie: a daemon that detached from us is reaped by
# PID 1, which may take its time, and kill -0 succeeds on a zombie.
alive() {
    local st
    [ -r "/proc/$1/stat" ] || return 1
    st=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | cut -d' ' -f1)
    [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# The pid of daemon NAME (munged, slurmctld, slurmd) of this DIR, from its pid file; fails when it is not
# running. The command line must name DIR, so a stale pid file never leads us to a reused pid or to a
# system daemon.
daemon_pid() {
    local pid
    pid=$(cat "$dir/$1.pid" 2>/dev/null) || return 1
    case $pid in ''|*[!0-9]*) return 1 ;; esac
    alive "$pid" || return 1
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$1" ] || return 1
    tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$dir/" || return 1
    echo "$pid"
}

# Every descendant of a pid (slurmctld forks slurmscriptd), so a SIGKILL of the parent orphans nothing.
descendants() {
    ps -eo pid=,ppid= | awk -v root="$1" '
        { parent[$1] = $2 }
        END { for (p in parent) for (q = parent[p]; q > 1; q = parent[q]) if (q == root) { print p; break } }'
}

# slurmstepd processes of this cluster (one per running job step). They outlive slurmd by design, so they
# are found by what only ours have: their working directory is DIR (slurmd's) or they log to DIR/slurmd.log.
stepds() {
    local p fd
    for p in $(pgrep -x slurmstepd); do
        if [ "$(readlink "/proc/$p/cwd" 2>/dev/null)" = "$dir" ]; then echo "$p"; continue; fi
        for fd in "/proc/$p/fd"/*; do
            [ "$(readlink "$fd" 2>/dev/null)" = "$dir/slurmd.log" ] && { echo "$p"; break; }
        done
    done
}

# Waits up to $2 tenths of a second for every pid in $1 to be gone; fails if one is still alive.
wait_gone() {
    local pids=$1 n=$2 p left
    while :; do
        left=
        for p in $pids; do alive "$p" && left="$left $p"; done
        [ -z "$left" ] && return 0
        [ "$n" -le 0 ] && return 1
        sleep 0.1; n=$((n - 1))
    done
}

# Stops daemon NAME: SIGTERM, ten seconds to exit, then SIGKILL for it and whatever it forked.
stop_daemon() {
    local pid kids
    pid=$(daemon_pid "$1") || { rm -f "$dir/$1.pid"; return 0; }
    kids=$(descendants "$pid")
    kill -TERM "$pid" 2>/dev/null
    if ! wait_gone "$pid $kids" 100; then
        echo "$prog: $1 (pid $pid) ignored SIGTERM for 10 s; killing it" >&2
        kill -KILL "$pid" $kids 2>/dev/null
        wait_gone "$pid $kids" 50
    fi
    rm -f "$dir/$1.pid"
}

# Kills leftover job steps and the processes of their sessions (the job's tasks): only reached when
# slurmctld could not cancel the jobs, e.g. after it died.
kill_stepds() {
    local p sid victims=
    for p in $(stepds); do
        sid=$(ps -o sid= -p "$p" | tr -d ' ')
        victims="$victims $p"
        # Never our own session: that would be the caller's shell.
        if [ -n "$sid" ] && [ "$sid" -gt 1 ] && [ "$sid" != "$(ps -o sid= -p $$ | tr -d ' ')" ]; then
            victims="$victims $(ps -eo pid=,sid= | awk -v s="$sid" '$2 == s { print $1 }')"
        fi
    done
    [ -z "${victims// }" ] && return 0
    kill -KILL $victims 2>/dev/null
    wait_gone "$victims" 50
}

cmd_stop() {
    local pid ids left
    set_dir "${1:-}"
    [ -d "$dir" ] || return 0
    clean_env
    # Jobs first: slurmd leaves running steps alone when it exits (so that restarting it keeps jobs), hence
    # cancelling through slurmctld is what ends them; then up to KillWait + 5 s for the steps to go.
    if daemon_pid slurmctld >/dev/null && daemon_pid munged >/dev/null; then
        ids=$(timeout 10 squeue -h -o %A 2>/dev/null | sort -u)
        [ -n "$ids" ] && timeout 10 scancel $ids 2>/dev/null
        left=$(stepds)
        [ -n "$left" ] && wait_gone "$left" $(( (KILL_WAIT + 5) * 10 ))
    fi
    stop_daemon slurmd
    stop_daemon slurmctld
    kill_stepds
    # munged last: the slurm daemons authenticate through it until they are gone.
    stop_daemon munged

    left=
    for pid in $(stepds); do left="$left slurmstepd:$pid"; done
    for pid in munged slurmctld slurmd; do daemon_pid $pid >/dev/null && left="$left $pid"; done
    [ -z "$left" ] || die "stop $dir: still running after SIGKILL:$left"
    return 0
}

# Fails a start: stops whatever was started, then one message with the log that explains it.
start_failed() {
    local msg=$1; shift
    cmd_stop "$dir" >/dev/null 2>&1
    {
        printf '%s: start %s: %s\n' "$prog" "$dir" "$msg"
        for log in "$@"; do log_tail "$log"; done
    } >&2
    exit 1
}

# A TCP port nothing on this machine uses, below the ephemeral range (where outgoing connections take
# their ports), picked at random so two clusters started at the same moment rarely pick the same one.
free_port() {
    local lo used p _
    lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null)
    case $lo in ''|*[!0-9]*) lo=32768 ;; esac
    [ "$lo" -gt 12000 ] || lo=32768
    used=" $(ss -Htan | awk '{ n = split($4, a, ":"); print a[n] }' | sort -u | tr '\n' ' ') $* "
    for _ in $(seq 200); do
        p=$(( 10000 + (RANDOM * 32768 + RANDOM) % (lo - 10000) ))
        case $used in *" $p "*) continue ;; esac
        echo "$p"; return 0
    done
    return 1
}

write_conf() {
    cat >"$conf" <<EOF
# Written by tests/slurm/cluster.sh for a private test cluster; every path is under $dir.
ClusterName=clregtest
# The address is given so that nothing depends on the host name resolving (CI containers).
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
# Clients, daemons and slurmstepd all reach our munged, not a system one at /run/munge.
AuthInfo=socket=$dir/munge.socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# Empty: no SPANK plugins of the host's /etc/slurm/plugstack.conf.
PlugStackConfig=$dir/plugstack.conf
# No cgroups: they differ between machines (v1, v2, none in containers) and the tests need no limits.
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
MailProg=/bin/true
# A node that was down (slurmd restarted) returns to service when it registers.
ReturnToService=2
# The host's real topology may differ from the CPUs below (nproc honours CPU affinity); trust slurm.conf.
SlurmdParameters=config_overrides
# Quick scheduling: the backfill pass every second starts array tasks and freed dependent jobs at once.
SchedulerType=sched/backfill
SchedulerParameters=sched_interval=2,bf_interval=1
MinJobAge=$MIN_JOB_AGE
KillWait=$KILL_WAIT
NodeName=$node NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
}

cmd_start() {
    local c pid t node_line state reason t0
    set_dir "${1:-}"
    [ "$(id -u)" = 0 ] || die "start: must run as root (slurmd starts each job as its owner; munged and the slurm daemons here run as root)"
    for c in munged mungekey munge unmunge slurmctld slurmd sbatch sinfo squeue scontrol scancel ss ps pgrep realpath timeout; do
        command -v "$c" >/dev/null || die "start: '$c' not found; run 'make deps' (packages slurmctld slurmd slurm-client munge iproute2 procps)"
    done
    for c in munged slurmctld slurmd; do
        pid=$(daemon_pid "$c") && die "start: a cluster is already running in $dir ($c pid $pid); run '$0 stop $dir' first"
    done
    clean_env

    # The node is named as slurmd names this host (the short host name), so slurmd finds itself in
    # slurm.conf; -N below says it again.
    node_line=$(slurmd -C 2>&1 | head -n 1)
    node=$(printf '%s\n' "$node_line" | sed -n 's/^NodeName=\([^ ]*\).*/\1/p')
    [ -n "$node" ] || die "start: 'slurmd -C' did not report this node: $node_line"
    cpus=$(nproc)
    # 90% of the memory slurmd sees: a node configured with more than it has would be drained.
    mem_mb=$(printf '%s\n' "$node_line" | sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p')
    mem_mb=$(( ${mem_mb:-1000} * 9 / 10 ))
    [ "$mem_mb" -ge 1 ] || mem_mb=1
    # The longest unix socket path is slurmstepd's, DIR/spool/NODE_JOBID.STEPID (up to 10 digits each).
    t=$(( ${#dir} + 7 + ${#node} + 1 + 10 + 1 + 10 ))
    [ "$t" -le 107 ] || die "start: directory '$dir' is too long: the job step sockets under it would need $t bytes, unix sockets allow 107; use a shorter path such as one from mktemp -d"

    mkdir -p "$dir" || die "start: cannot create $dir"
    # A previous cluster's files would confuse the logs shown on failure and the state recovered.
    rm -rf "$dir/state" "$dir/spool"
    rm -f "$dir"/munge.key "$dir"/munge.socket* "$dir"/munged.* "$dir"/slurmctld.* "$dir"/slurmd.* "$conf"
    mkdir -p "$dir/state" "$dir/spool" || die "start: cannot create $dir/state and $dir/spool"

    # munge: its own key, socket, pid, log and seed under DIR. munged runs as root like the other daemons;
    # --force turns its check that every directory above the socket is searchable by all users into a
    # warning: DIR is often under a mode 0700 directory (mktemp -d) and every client here is root anyway.
    mungekey --create --keyfile="$dir/munge.key" 2>"$dir/munged.log" ||
        start_failed "mungekey could not create $dir/munge.key" "$dir/munged.log"
    chmod 0400 "$dir/munge.key"
    munged --force --socket="$dir/munge.socket" --key-file="$dir/munge.key" --pid-file="$dir/munged.pid" \
           --log-file="$dir/munged.log" --seed-file="$dir/munged.seed" >>"$dir/munged.log" 2>&1 ||
        start_failed "munged did not start" "$dir/munged.log"
    munge -n -S "$dir/munge.socket" 2>>"$dir/munged.log" | unmunge -S "$dir/munge.socket" >/dev/null 2>>"$dir/munged.log" ||
        start_failed "munged does not answer on $dir/munge.socket (munge | unmunge failed)" "$dir/munged.log"

    if ! ctld_port=$(free_port) || ! slurmd_port=$(free_port "$ctld_port"); then
        start_failed "no free TCP port found between 10000 and the ephemeral range"
    fi
    write_conf
    : >"$dir/plugstack.conf"

    # -c: a cold start, no state recovered from an earlier cluster in DIR.
    slurmctld -f "$conf" -c -i >>"$dir/slurmctld.log" 2>&1 ||
        start_failed "slurmctld exited with status $? (port $ctld_port)" "$dir/slurmctld.log"
    slurmd -f "$conf" -c -N "$node" >>"$dir/slurmd.log" 2>&1 ||
        start_failed "slurmd exited with status $? (port $slurmd_port)" "$dir/slurmd.log"

    # Up when sinfo shows the node idle (not idle*, which is a node that stopped answering).
    state='' reason='' t0=$SECONDS
    while [ $((SECONDS - t0)) -lt 60 ]; do
        state=$(timeout 5 sinfo -h -n "$node" -o %t 2>&1 | head -n 1)
        [ "$state" = idle ] && { echo "export SLURM_CONF=$conf"; return 0; }
        # A daemon has died when its pid file names no live daemon; the file is written by the forked
        # daemon a moment after the command returned, so its absence counts only after a few seconds.
        for c in slurmctld slurmd; do
            if { [ $((SECONDS - t0)) -ge 3 ] || [ -s "$dir/$c.pid" ]; } && ! daemon_pid "$c" >/dev/null; then
                start_failed "$c is not running: it exited while starting (ports: slurmctld $ctld_port, slurmd $slurmd_port)" "$dir/$c.log"
            fi
        done
        sleep 0.1
    done
    reason=$(timeout 5 sinfo -h -n "$node" -o %E 2>&1 | head -n 1)
    start_failed "node $node not idle after 60 s (sinfo state '$state', reason '$reason')" \
        "$dir/slurmd.log" "$dir/slurmctld.log"
}

cmd_status() {
    local c pid rc=0
    set_dir "${1:-}"
    clean_env
    for c in munged slurmctld slurmd; do
        if pid=$(daemon_pid "$c"); then echo "$c: running, pid $pid"; else echo "$c: not running"; rc=1; fi
    done
    if daemon_pid slurmctld >/dev/null; then
        echo "SLURM_CONF=$conf"
        timeout 10 sinfo -N -o '%N %t %c %E' 2>&1 | sed 's/^/  /'
        timeout 10 squeue 2>&1 | sed 's/^/  /'
    fi
    return $rc
}

# Waits for job ID (a job, an array job, or one array task ID_N) to end; see the top of this file.
cmd_wait_job() {
    local id=${2:-} limit=${3:-300} out rc=0 seen=0 label state reason code dep sig st worst failures \
          pending_never running deadline
    set_dir "${1:-}"
    case $id in ''|*[!0-9_]*|_*|*_|*_*_*) die "wait-job: job id '$id': expected a number, or N_M for an array task" ;; esac
    case $limit in ''|*[!0-9]*) die "wait-job: timeout '$limit': expected whole seconds" ;; esac
    clean_env
    daemon_pid slurmctld >/dev/null || die "wait-job: no cluster running in $dir (no slurmctld; see $dir/slurmctld.log)"
    deadline=$((SECONDS + limit))
    while :; do
        out=$(timeout 10 scontrol -o show job "$id" 2>&1); rc=$?
        if [ $rc -ne 0 ]; then
            case $out in
                *"Invalid job id"*)
                    [ $seen = 1 ] && die "wait-job: job $id left slurmctld before its end was seen (finished jobs are kept $MIN_JOB_AGE s)"
                    die "wait-job: no job $id in the cluster of $conf" ;;
            esac
            daemon_pid slurmctld >/dev/null ||
                die "wait-job: no slurmctld running for $dir (see $dir/slurmctld.log): $out"
            # Anything else (slurmctld busy, a timeout) is retried until the deadline.
        else
            seen=1
            # One line per task: label state reason exit-code dependency.
            out=$(printf '%s\n' "$out" | awk '
                { for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = substr($i, length(kv[1]) + 2) }
                  label = f["JobId"]
                  if (f["ArrayTaskId"] != "") label = f["ArrayJobId"] "_" f["ArrayTaskId"]
                  print label, f["JobState"], f["Reason"], f["ExitCode"], f["Dependency"]
                  delete f }')
            pending_never='' running=0 worst=0 failures=''
            while read -r label state reason code dep; do
                case $state in
                    COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED) ;;
                    *)  running=1
                        [ "$reason" = DependencyNeverSatisfied ] && pending_never="$pending_never $label($dep)"
                        continue ;;
                esac
                [ "$state" = COMPLETED ] && [ "$code" = 0:0 ] && continue
                sig=${code#*:}; code=${code%%:*}
                if [ "${sig:-0}" -gt 0 ] 2>/dev/null; then st=$((128 + sig))
                elif [ "${code:-0}" -gt 0 ] 2>/dev/null; then st=$code
                else st=1; fi
                [ "$st" -gt 255 ] && st=255
                [ "$st" -gt "$worst" ] && worst=$st
                failures="$failures
  $label: $state (reason $reason), exit code $code, signal ${sig:-0}"
            done <<<"$out"
            if [ -n "$pending_never" ]; then
                timeout 10 scancel "$id" 2>/dev/null
                die "wait-job: job $id can never start, its dependency failed (Reason=DependencyNeverSatisfied:$pending_never); cancelled it"
            fi
            if [ $running = 0 ]; then
                [ -z "$failures" ] && return 0
                printf '%s: wait-job: job %s did not succeed:%s\n' "$prog" "$id" "$failures" >&2
                exit "$worst"
            fi
        fi
        if [ $SECONDS -ge $deadline ]; then
            {
                printf '%s: wait-job: job %s not finished after %s s; now:\n' "$prog" "$id" "$limit"
                if [ $rc -eq 0 ]; then
                    printf '%s\n' "$out" | awk '{ print "  " $1 ": " $2 " (reason " $3 ")" }'
                else
                    printf '  %s\n' "$out"
                fi
            } >&2
            exit 124
        fi
        sleep 0.5
    done
}

case ${1:-} in
    start)    shift; [ $# = 1 ] || usage; cmd_start "$1" ;;
    stop)     shift; [ $# = 1 ] || usage; cmd_stop "$1" ;;
    status)   shift; [ $# = 1 ] || usage; cmd_status "$1" ;;
    wait-job) shift; [ $# = 2 ] || [ $# = 3 ] || usage; cmd_wait_job "$@" ;;
    *)        usage ;;
esac

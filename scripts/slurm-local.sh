#!/usr/bin/env bash
# Starts a single-node Slurm cluster on this machine (munged, slurmctld, slurmd) for the Slurm
# end-to-end test, from Debian's slurm-wlm and munge. Prints `export SLURM_CONF=...` on success;
# exits 1 with a reason when the daemons cannot start (no root, no packages, no cgroup-free mode).
#   usage: eval "$(bash scripts/slurm-local.sh start DIR)";  bash scripts/slurm-local.sh stop DIR
set -euo pipefail
action=${1:?usage: slurm-local.sh start|stop DIR}
dir=$(mkdir -p "${2:?usage: slurm-local.sh start|stop DIR}" && cd "$2" && pwd)

stop() { # the daemons of this cluster, waiting until they are gone (10 s at most)
  for pidfile in "$dir"/slurmd.pid "$dir"/slurmctld.pid; do
    [ -f "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || continue
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  done
}

if [ "$action" = stop ]; then
  stop
  exit 0
fi

for tool in munged slurmctld slurmd sbatch squeue; do
  command -v "$tool" >/dev/null 2>&1 || { echo "slurm-local: $tool not installed" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "slurm-local: the daemons need root here" >&2; exit 1; }
if pgrep -x slurmctld >/dev/null || pgrep -x slurmd >/dev/null; then
  echo "slurm-local: a Slurm daemon already runs on this machine; not starting a second" >&2
  exit 1
fi

host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.9)}' /proc/meminfo)
mkdir -p "$dir/state" "$dir/spool" "$dir/log"
cat >"$dir/slurm.conf" <<CONF
ClusterName=heaccel-ci
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SlurmctldPort=6917
SlurmdPort=6918
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
rm -f "$dir/cgroup.conf"
export SLURM_CONF="$dir/slurm.conf"

# munge: the Debian package ships a key; make one if it is missing.
if ! pgrep -x munged >/dev/null; then
  [ -s /etc/munge/munge.key ] || { dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 2>/dev/null; chmod 400 /etc/munge/munge.key; }
  chown -R munge:munge /etc/munge /var/lib/munge /var/log/munge 2>/dev/null || true
  mkdir -p /run/munge && chown munge:munge /run/munge
  su -s /bin/sh munge -c munged || munged --force || { echo "slurm-local: munged did not start" >&2; exit 1; }
fi

slurmctld -f "$SLURM_CONF" || { echo "slurm-local: slurmctld did not start (see $dir/log)" >&2; exit 1; }
slurmd -f "$SLURM_CONF" || { stop; echo "slurm-local: slurmd did not start (see $dir/log)" >&2; exit 1; }
idle=
for _ in $(seq 1 60); do
  if sinfo -h -o '%T' 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
    idle=yes
    break
  fi
  sleep 1
done
if [ -z "$idle" ]; then
  stop
  echo "slurm-local: the node did not become idle in 60 s; slurmd log:" >&2
  tail -20 "$dir/log/slurmd.log" >&2 || true
  exit 1
fi
# A cluster that cannot run a trivial job here (no job steps in this container) is not usable.
if ! timeout 60 sbatch --wait --quiet --output=/dev/null --wrap true >/dev/null 2>&1; then
  stop
  echo "slurm-local: the daemons started but a trivial job did not run; slurmd log:" >&2
  tail -20 "$dir/log/slurmd.log" >&2 || true
  exit 1
fi
echo "export SLURM_CONF=$SLURM_CONF"

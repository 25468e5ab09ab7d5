#!/usr/bin/env bash
# Shards of a fleet run under a real Slurm: a one-node cluster on this machine (munge for authentication,
# slurmctld and slurmd with a configuration of their own under a temporary directory), an array job of shards
# submitted with sbatch --array, `loraharness merge` of their partial results, and the merged report compared
# byte for byte with the unsharded run's. Needs root (the daemons) and Debian's slurm-wlm and munge (make deps).
# Usage: scripts/slurm-shards.sh [SCENARIO] [SHARDS] [REPLICAS]
set -euo pipefail
cd "$(dirname "$0")/.."
scenario=${1:-Fixtures/scenarios/lorient.yaml}
shards=${2:-3}
replicas=${3:-3}
bin=$PWD/.build/debug/loraharness
for tool in slurmctld slurmd sbatch munged; do
  command -v "$tool" >/dev/null 2>&1 || { echo "slurm: $tool is missing (make deps installs slurm-wlm and munge)" >&2; exit 2; }
done
[ "$(id -u)" -eq 0 ] || { echo "slurm: the one-node cluster needs root (its daemons)" >&2; exit 2; }
work=$(mktemp -d /tmp/loraharness-slurm.XXXXXX)
chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
host=$(hostname -s)
cpus=$(nproc)
mem=$(awk '/MemTotal/ {print int($2 / 1024 / 2)}' /proc/meminfo)

# munge: a key of its own for this cluster, a daemon on its own socket.
mkdir -p "$work/munge"
dd if=/dev/urandom bs=1 count=1024 of="$work/munge/munge.key" 2>/dev/null
chmod 700 "$work/munge"; chmod 400 "$work/munge/munge.key"
munged --force --key-file="$work/munge/munge.key" --socket="$work/munge/socket" --pid-file="$work/munge/pid" \
  --log-file="$work/munge/log" --seed-file="$work/munge/seed"
for _ in $(seq 50); do [ -f "$work/munge/pid" ] && break; sleep 0.1; done
pids+=("$(cat "$work/munge/pid")")

cat > "$work/slurm.conf" <<CONF
ClusterName=loraharness
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$work/munge/socket
CredType=cred/munge
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
MpiDefault=none
ReturnToService=2
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
SwitchType=switch/none
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=shards Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
mkdir -p "$work/state" "$work/spool" "$work/out"
export SLURM_CONF=$work/slurm.conf
slurmctld -D > "$work/slurmctld.out" 2>&1 & pids+=($!)
slurmd -D > "$work/slurmd.out" 2>&1 & pids+=($!)
for _ in $(seq 100); do sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)' && break; sleep 0.2; done
sinfo -h -o "%P %D %T" || { echo "slurm: the cluster did not come up" >&2; tail -5 "$work"/slurm*.log >&2; exit 1; }

# The array job: shard i of N writes its partial result.
cat > "$work/shard.sh" <<JOB
#!/bin/sh
exec "$bin" simulate "$PWD/$scenario" --replicas $replicas --shard "\$SLURM_ARRAY_TASK_ID/$shards" --partial "$work/out/\$SLURM_ARRAY_TASK_ID.json" --quiet
JOB
chmod 755 "$work/shard.sh"
sbatch --wait --array=1-"$shards" --job-name=fleet-shards --output="$work/out/%a.log" "$work/shard.sh"
ls "$work"/out/*.json >/dev/null
# The check's own check (make slurm-test runs it too): with LORAHARNESS_SLURM_TAMPER=1 one shard's delivered count
# is altered, and the comparison below must fail.
if [ "${LORAHARNESS_SLURM_TAMPER:-0}" = 1 ]; then
  first=$(ls "$work"/out/*.json | head -1)
  sed -E -i '0,/"framesDelivered" ?: ?[0-9]+/s//"framesDelivered":999999/' "$first"
fi
# Assertions may fail (exit 1): the reports are what is compared.
"$bin" merge "$scenario" "$work"/out/*.json --report "$work/merged.json" --quiet 2>/dev/null || [ $? -eq 1 ]
"$bin" simulate "$scenario" --replicas "$replicas" --report "$work/whole.json" --quiet 2>/dev/null || [ $? -eq 1 ]
# Every shard ran its share (replicas spread over shards, as cells are).
for f in "$work"/out/*.log; do [ ! -s "$f" ] || { echo "slurm: a shard wrote to its log:" >&2; cat "$f" >&2; }; done
if cmp -s "$work/merged.json" "$work/whole.json"; then
  echo "slurm: $shards shards of $scenario ($replicas replicas) under sbatch --array, merged: the same report, byte for byte, as the unsharded run"
else
  echo "slurm: the merged report differs from the unsharded run's" >&2
  diff <(head -c 2000 "$work/merged.json") <(head -c 2000 "$work/whole.json") >&2 || true
  exit 1
fi

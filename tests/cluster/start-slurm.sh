#!/usr/bin/env bash
# Start a single-node SLURM cluster with accounting (slurmdbd on a local MariaDB) on this
# machine, for the cluster test. Needs root. Installs Debian's slurm-wlm, slurmdbd, munge and
# mariadb-server when missing. Everything it writes lives under $SLURM_TEST_DIR; stop the
# daemons with tests/cluster/stop-slurm.sh (by their PIDs).
set -euo pipefail
DIR=${SLURM_TEST_DIR:-/tmp/essbench-slurm}
mkdir -p "$DIR"/{state,spool,log}
log() { echo "start-slurm: $*" >&2; }

if ! command -v slurmctld >/dev/null || ! command -v slurmdbd >/dev/null \
  || ! command -v munged >/dev/null || ! command -v mariadbd >/dev/null; then
  log "installing slurm-wlm slurmdbd munge mariadb-server"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends slurm-wlm slurmdbd munge mariadb-server \
    mariadb-client >"$DIR/log/apt.log" 2>&1 || { tail -20 "$DIR/log/apt.log"; exit 1; }
fi

HOST=$(hostname -s)
CPUS=$(nproc)
MEM_MB=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 - 2048 ))

# --- munge -------------------------------------------------------------------------------
mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
if [ ! -s /etc/munge/munge.key ]; then
  dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
chmod 0400 /etc/munge/munge.key
chmod 0755 /run/munge
if ! munge -n >/dev/null 2>&1; then
  su -s /bin/sh munge -c "munged --pid-file=/run/munge/munged.pid"
  cp /run/munge/munged.pid "$DIR/munged.pid" 2>/dev/null || true
fi
for _ in $(seq 50); do munge -n >/dev/null 2>&1 && break; sleep 0.2; done
munge -n | unmunge >/dev/null
log "munge is up"

# --- MariaDB for slurmdbd ------------------------------------------------------------------
mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
if [ ! -d /var/lib/mysql/mysql ]; then
  mariadb-install-db --user=mysql --datadir=/var/lib/mysql >"$DIR/log/mariadb-install.log" 2>&1
fi
if ! mariadb-admin ping >/dev/null 2>&1; then
  mariadbd --user=mysql --datadir=/var/lib/mysql --socket=/run/mysqld/mysqld.sock \
    --pid-file=/run/mysqld/essbench.pid --bind-address=127.0.0.1 \
    >"$DIR/log/mariadb.log" 2>&1 &
fi
for _ in $(seq 100); do mariadb-admin ping >/dev/null 2>&1 && break; sleep 0.3; done
mariadb -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY 'essbench';
  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;"
ln -sf /run/mysqld/essbench.pid "$DIR/mariadb.pid"
log "mariadb is up"

# --- configuration -----------------------------------------------------------------------
# The daemons and clients read /etc/slurm. A configuration already there is set aside (once)
# and stop-slurm.sh puts it back; ours is removed there. Left behind, ours would name a
# controller that is gone, and every `scontrol show config` would then wait 9 s for it: the
# SLURM executor plugin runs that command whenever Snakemake starts.
mkdir -p /etc/slurm "$DIR/etc-saved"
for conf in slurm.conf slurmdbd.conf; do
  if [ -e "/etc/slurm/$conf" ] && [ ! -e "$DIR/etc-ours/$conf" ] \
    && [ ! -e "$DIR/etc-saved/$conf" ]; then
    cp -p "/etc/slurm/$conf" "$DIR/etc-saved/$conf"
  fi
done
mkdir -p "$DIR/etc-ours"
touch "$DIR/etc-ours/slurm.conf" "$DIR/etc-ours/slurmdbd.conf"
cat >/etc/slurm/slurmdbd.conf <<CONF
AuthType=auth/munge
DbdHost=localhost
DbdAddr=127.0.0.1
SlurmUser=root
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=essbench
StorageLoc=slurm_acct_db
PidFile=$DIR/slurmdbd.pid
LogFile=$DIR/log/slurmdbd.log
CONF
chmod 600 /etc/slurm/slurmdbd.conf

cat >/etc/slurm/slurm.conf <<CONF
ClusterName=essbench
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
SchedulerType=sched/backfill
DefMemPerCPU=1000
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MinJobAge=300
ReturnToService=2
MpiDefault=none
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM_MB State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
CONF
cp /etc/slurm/slurm.conf "$DIR/slurm.conf"

# --- daemons -----------------------------------------------------------------------------
slurmdbd
for _ in $(seq 100); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 0.3; done
sacctmgr -i add cluster essbench >/dev/null 2>&1 || true
log "slurmdbd is up"
slurmctld
slurmd
for _ in $(seq 150); do
  state=$(sinfo -h -o %t 2>/dev/null | head -1)
  [ "$state" = "idle" ] && break
  sleep 0.4
done
if [ "$state" != "idle" ]; then
  log "node did not become idle (state: ${state:-none})"
  tail -20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
  exit 1
fi
log "node $HOST is idle: $CPUS CPUs, $MEM_MB MB"

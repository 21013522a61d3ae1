#!/usr/bin/env bash
# Stop the test cluster's daemons by their PIDs (slurmd, slurmctld, slurmdbd, MariaDB, munged)
# and restore /etc/slurm as start-slurm.sh found it.
DIR=${SLURM_TEST_DIR:-/tmp/essbench-slurm}
for name in slurmd slurmctld slurmdbd mariadb; do
  pidfile="$DIR/$name.pid"
  [ -s "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$pidfile"
done
if [ -s /run/munge/munged.pid ]; then
  kill "$(cat /run/munge/munged.pid)" 2>/dev/null || true
fi
# Remove the configuration start-slurm.sh wrote, and put back what it set aside.
for conf in slurm.conf slurmdbd.conf; do
  [ -e "$DIR/etc-ours/$conf" ] || continue
  if [ -e "$DIR/etc-saved/$conf" ]; then
    mv -f "$DIR/etc-saved/$conf" "/etc/slurm/$conf"
  else
    rm -f "/etc/slurm/$conf"
  fi
  rm -f "$DIR/etc-ours/$conf"
done
exit 0

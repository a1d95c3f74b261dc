#!/usr/bin/env bash
# End-to-end check of `sublab submit --slurm` on a real one-node SLURM cluster on localhost.
#
#   sudo scripts/slurm-local.sh            # (root: installs slurm-wlm + munge if missing)
#
# Sets up munge + slurmctld + slurmd (foreground daemons, all state under a temp dir, no cgroups,
# no systemd), submits small experiments as job arrays into a cache whose path has a space, waits
# for the arrays, checks every task COMPLETED, then runs `sublab run` on the same cache and checks
# that it computed nothing. The daemons it started are stopped on exit, whatever happens.
# Environment: SUBLAB_SLURM_KEEP=1 keeps the temp dir; SUBLAB_SLURM_TIMEOUT (s, default 600).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
TIMEOUT="${SUBLAB_SLURM_TIMEOUT:-600}"
say() { printf '\n== %s\n' "$*"; }
fail() { printf '\nFAILED: %s\n' "$*" >&2; exit 1; }

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  say "installing slurm-wlm and munge"
  [ "$(id -u)" = 0 ] || fail "slurm-wlm/munge are not installed and this is not root: apt-get install -y slurm-wlm munge"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y slurm-wlm munge
fi

WORK="$(mktemp -d /tmp/sublab-slurm.XXXXXX)"
HOST="$(hostname -s)"
CPUS="$(nproc)"
PIDS=()
cleanup() {
  local rc=$?
  set +e
  if [ -n "${JOBS:-}" ]; then scancel $JOBS 2>/dev/null; fi
  # Stop only what this script started, newest first.
  for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do kill "${PIDS[$i]}" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
  done
  if [ "$rc" != 0 ]; then
    for f in "$WORK"/slurmctld.log "$WORK"/slurmd.log; do
      [ -f "$f" ] && { echo "--- tail $f"; tail -n 20 "$f"; }
    done
  fi
  if [ "${SUBLAB_SLURM_KEEP:-0}" = 1 ] || [ "$rc" != 0 ]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "munge"
MUNGE_SOCKET="$WORK/munge/munge.socket"
mkdir -p "$WORK/munge"
if [ ! -s /etc/munge/munge.key ]; then
  # The Debian package normally creates the key; make one if it did not.
  mungekey --create --keyfile=/etc/munge/munge.key 2>/dev/null || dd if=/dev/urandom of=/etc/munge/munge.key bs=1 count=128 status=none
  chown munge:munge /etc/munge/munge.key && chmod 600 /etc/munge/munge.key
fi
chown munge:munge "$WORK/munge"
chmod 755 "$WORK"
# Our own munged on a private socket (never touches a system one); munged refuses to run as root.
# setpriv execs munged itself (no session wrapper), so $! is munged's pid.
setpriv --reuid=munge --regid=munge --init-groups munged --foreground --socket="$MUNGE_SOCKET" \
  --pid-file="$WORK/munge/munged.pid" --log-file="$WORK/munge/munged.log" --seed-file="$WORK/munge/munged.seed" \
  >"$WORK/munge/munged.stderr" 2>&1 &
PIDS+=($!)
for _ in $(seq 50); do [ -S "$MUNGE_SOCKET" ] && break; sleep 0.1; done
munge -S "$MUNGE_SOCKET" -n | unmunge -S "$MUNGE_SOCKET" >/dev/null || fail "munge round trip failed"
echo "munged ok ($MUNGE_SOCKET)"

say "slurm.conf ($HOST, $CPUS CPUs)"
mkdir -p "$WORK/state" "$WORK/spool"
export SLURM_CONF="$WORK/slurm.conf"
cat >"$SLURM_CONF" <<EOF
ClusterName=sublab-local
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$MUNGE_SOCKET
SlurmctldPort=16817
SlurmdPort=16818
StateSaveLocation=$WORK/state
SlurmdSpoolDir=$WORK/spool
SlurmctldPidFile=$WORK/slurmctld.pid
SlurmdPidFile=$WORK/slurmd.pid
SlurmctldLogFile=$WORK/slurmctld.log
SlurmdLogFile=$WORK/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=3600
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS State=UNKNOWN
PartitionName=local Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
cat "$SLURM_CONF"

say "slurmctld + slurmd (foreground, in the background of this script)"
slurmctld -D -c -f "$SLURM_CONF" >"$WORK/slurmctld.stdout" 2>&1 &
PIDS+=($!)
sleep 1
slurmd -D -f "$SLURM_CONF" >"$WORK/slurmd.stdout" 2>&1 &
PIDS+=($!)
state=""
for _ in $(seq 60); do
  state="$(sinfo -h -n "$HOST" -o %T 2>/dev/null || true)"
  [ "$state" = idle ] && break
  sleep 1
done
sinfo || true
[ "$state" = idle ] || { cat "$WORK"/slurmctld.stdout "$WORK"/slurmd.stdout; fail "node $HOST never became idle (state: '${state:-none}')"; }

CACHE="$WORK/shared cache"
LOGS="$WORK/job logs"
JOBS=""

# submit FILE ARGS...: sublab submit, remember the job id.
submit() {
  local out
  out="$(node bin/sublab.mjs submit "$1" --slurm --cache "$CACHE" --logs "$LOGS" --script "$WORK/$(basename "$1" .exp).sbatch" "${@:2}")"
  echo "$out" >&2
  sed -n 's/^submitted job \([0-9]*\).*/\1/p' <<<"$out"
}

# wait_job ID: poll squeue until the array is gone, then check every task COMPLETED with 0:0.
wait_job() {
  local id="$1" t0=$SECONDS
  while [ -n "$(squeue -h -j "$id" -o %i 2>/dev/null)" ]; do
    [ $((SECONDS - t0)) -lt "$TIMEOUT" ] || fail "job $id still running after ${TIMEOUT}s"
    sleep 2
  done
  echo "job $id left the queue after $((SECONDS - t0))s"
  grep -h 'done:' "$LOGS"/*"-${id}_"*.out || true
  local lines bad
  lines="$(scontrol -o show job "$id")"
  echo "$lines" | sed -n 's/.*\(JobId=[0-9]* ArrayJobId=[0-9]* ArrayTaskId=[0-9]*\).*\(JobState=[A-Z_]*\).*\(ExitCode=[0-9:]*\).*/  \1 \2 \3/p'
  bad="$(echo "$lines" | grep -v 'JobState=COMPLETED' || true)"
  [ -z "$bad" ] || { tail -n +1 "$LOGS"/*; fail "job $id: not every task COMPLETED"; }
}

# collected FILE ARGS...: sublab run on the same cache must compute nothing.
collected() {
  local json="$WORK/collect.json"
  node bin/sublab.mjs run "$@" --cache "$CACHE" --no-progress --json "$json" || true # verdicts may refute with tiny settings
  node -e '
    const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    const rows = j.experiments.flatMap((e) => e.rows);
    const computed = rows.filter((r) => !r.cached).length, failed = j.experiments.flatMap((e) => e.failed).length;
    console.log(`collect: ${rows.length} rows, ${rows.length - computed} cached, ${computed} computed, ${failed} failed`);
    if (rows.length === 0 || computed || failed) process.exit(1);
  ' "$json" || fail "sublab run after the array recomputed or failed runs"
}

say "1. command runner: examples/command/example.exp, 3 lr × 3 seeds, 3 array tasks"
set -- examples/command/example.exp --set epochs=20 --seeds 3
ID="$(submit "$@" --tasks 3 -- --job-name=sublab-e2e "--comment=two words; \$(no shell)")"
[ -n "$ID" ] || fail "no job id from sublab submit"
JOBS="$JOBS $ID"
wait_job "$ID"
# The sbatch options after -- reached sbatch verbatim (a shell would have split or expanded them).
scontrol -o show job "$ID" | grep -q 'JobName=sublab-e2e .*Comment=two words; \$(no shell)' \
  || fail "sbatch options did not reach sbatch verbatim"
echo "sbatch options passed through verbatim: JobName=sublab-e2e, Comment='two words; \$(no shell)'"
echo "--- task 0 log:"; cat "$LOGS"/*"-${ID}_0.out"
collected "$@"

say "2. superposition (TensorFlow.js): ablated.exp, steps=50, 5 points × 2 seeds, default array size"
set -- experiments/superposition/ablated.exp --set steps=50 --set eval_batch=256 --seeds 2
ID="$(submit "$@")"
[ -n "$ID" ] || fail "no job id from sublab submit"
JOBS="$JOBS $ID"
wait_job "$ID"
collected "$@"

say "3. sbatch refuses the job: sublab submit exits 1 with sbatch's error"
set +e
msg="$(node bin/sublab.mjs submit examples/command/example.exp --slurm --seeds 1 --cache "$CACHE" --logs "$LOGS" \
  --script "$WORK/refused.sbatch" -- --partition=no-such-partition 2>&1)"
rc=$?
set -e
echo "$msg"
[ "$rc" = 1 ] && grep -q 'invalid partition' <<<"$msg" || fail "expected exit 1 and sbatch's 'invalid partition' error (got $rc)"

say "all SLURM checks passed"

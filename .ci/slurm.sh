#!/usr/bin/env bash
# slurm.sh: runs the README's Slurm job-array recipe (section "Sweeps on a
# cluster") for real and checks that the merged shards are byte-identical to
# the same sweep run on one machine without Slurm.
#
# It installs Debian's Slurm and MUNGE if missing, builds the CLI, takes the
# job script and the merge command verbatim from README.md (only the CPUs per
# task are lowered to 1), starts a one-node cluster (munged, slurmctld, slurmd
# in the foreground as children of this script: no systemd needed), submits
# the job script with sbatch from a directory holding a small sweep.json,
# waits for every array task, runs the merge, and compares it with "train
# sweep" run directly. Everything lives in $GRADFLOW_SLURM_DIR (default
# /tmp/gradflow-slurm-ci), which the next run clears after stopping whatever
# a killed run left running there; it is removed on success and kept (with
# the daemons stopped) on failure or when GRADFLOW_SLURM_KEEP is set.
#
# Runs as root, or as a user with sudo (apt-get, the daemons and the cleanup
# use sudo; the jobs then run as that user). Takes 10-20 s with Slurm
# installed and the build cached; the install adds about 10 s.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=0
start=$SECONDS
step() { printf '\n== slurm: %s (t=%ds)\n' "$*" "$((SECONDS - start))"; }
SUDO=; [ "$(id -u)" = 0 ] || SUDO=sudo
export PATH=$PATH:/usr/sbin:/sbin # the daemons, munged and runuser, for users too

base=${GRADFLOW_SLURM_DIR:-/tmp/gradflow-slurm-ci}
case $base in /*/?*) ;; *) echo "slurm.sh: GRADFLOW_SLURM_DIR must be an absolute path below /, not '$base'" >&2; exit 2 ;; esac
base=${base%/}
ctldport=${GRADFLOW_SLURM_PORT:-16817}   # not Slurm's 6817/6818, so that a system Slurm cannot collide
slurmdport=$((ctldport + 1))
ready_timeout=60  # seconds for the node to become idle
job_timeout=120   # seconds for the whole job array

# reap DIR: stops every daemon and job process of the cluster that lives in
# DIR: the daemons named by the pid files under DIR, and the Slurm processes
# and jobs whose working directory is inside DIR (slurmstepd and the job
# script run in the submission directory). TERM first, KILL after 5 s. It
# needs root to see other users' /proc/PID/cwd; run it through as_root.
reap() {
  local dir=$1 f p d cwd comm pids=() left
  running() { # running PID: exists and is not a zombie
    local st
    st=$(awk '$1 == "State:" { print $2 }' "/proc/$1/status" 2>/dev/null) && [ -n "$st" ] && [ "$st" != Z ]
  }
  for f in "$dir"/run/*.pid "$dir"/munge/munged.pid; do
    [ -f "$f" ] || continue
    read -r p <"$f" 2>/dev/null || continue
    case $p in '' | *[!0-9]*) continue ;; esac
    comm=$(cat "/proc/$p/comm" 2>/dev/null) || continue
    case $comm in slurmctld | slurmd | munged) running "$p" && pids+=("$p") ;; esac
  done
  for d in /proc/[0-9]*; do
    cwd=$(readlink "$d/cwd" 2>/dev/null) || continue
    case $cwd in "$dir" | "$dir"/* | "$dir (deleted)") ;; *) continue ;; esac
    comm=$(cat "$d/comm" 2>/dev/null) || continue
    case $comm in slurmctld | slurmscriptd | slurmd | slurmstepd | slurm_script | train | munged) pids+=("${d#/proc/}") ;; esac
  done
  [ ${#pids[@]} -gt 0 ] || return 0
  kill -TERM "${pids[@]}" 2>/dev/null || true
  for _ in $(seq 50); do
    left=0
    for p in "${pids[@]}"; do running "$p" && left=1; done
    [ $left = 1 ] || return 0
    sleep 0.1
  done
  kill -KILL "${pids[@]}" 2>/dev/null || true
}
as_root() { $SUDO bash -c "$(declare -f "$1"); $(printf '%q ' "$@")"; }

failed=1
cleanup() {
  trap - EXIT INT TERM
  as_root reap "$base" || true
  wait 2>/dev/null || true
  if [ "$failed" = 0 ]; then
    [ -n "${GRADFLOW_SLURM_KEEP:-}" ] || $SUDO rm -rf "$base"
  else
    echo "slurm.sh: FAILED; daemons stopped, logs kept in $base" >&2
  fi
}
# (munged logs "Unauthorized credential for client UID=0 GID=0" once per batch
# job with this setup, as on many Slurm clusters; nothing fails because of it.)
showlogs() {
  local f
  for f in "$base"/log/{munged,slurmctld,slurmd}.log; do
    [ -f "$f" ] || continue
    echo "--- $f (last 25 lines)" >&2
    tail -n 25 "$f" >&2 || true
  done
}
die() {
  echo "slurm.sh: $*" >&2
  showlogs
  exit 1
}

step "stop what a previous run left in $base"
as_root reap "$base"
$SUDO rm -rf "$base"
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# munged refuses directories above its files that are not root's (or its
# own), and user munge must reach its socket: $base is root's, mode 0755;
# the daemons' directories are root's, the others the caller's.
$SUDO install -d -m 0755 -o root -g root "$base" "$base"/{run,state,spool}
$SUDO install -d -m 0755 -o "$(id -u)" -g "$(id -g)" "$base"/{etc,bin,log,submit,scratch}

step "install Slurm and MUNGE if missing"
need=
for c in slurmctld slurmd sbatch squeue sinfo scontrol munged munge unmunge; do
  command -v "$c" >/dev/null || need=1
done
if [ -n "$need" ]; then
  # (dpkg --configure -a finishes an install that a killed run interrupted)
  { $SUDO env DEBIAN_FRONTEND=noninteractive dpkg --configure -a &&
    $SUDO apt-get update -qq &&
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      slurmctld slurmd slurm-client munge; } >"$base/log/apt.log" 2>&1 ||
    { cat "$base/log/apt.log" >&2; die "apt-get could not install slurmctld slurmd slurm-client munge"; }
fi
slurm_version=$(slurmd -V)

step "build the CLI; the job script and the merge command from README.md; a small sweep"
go build -o "$base/bin/train" ./cmd/train
# The README's job script: the first fenced block of the section "Sweeps on a
# cluster" with an #SBATCH line; the merge: the line there that starts with
# "train sweep merge".
section=$(awk '/^```/{ fence = !fence } !fence && /^#+ /{ on = ($0 ~ /^### Sweeps on a cluster/) } on' README.md)
[ -n "$section" ] || die "README.md has no section '### Sweeps on a cluster'"
jobscript=$(awk '/^```/{ if (inb) { if (blk ~ /\n#SBATCH/) { printf "%s", substr(blk, 2); exit } inb = 0; next } inb = 1; blk = ""; next }
  inb { blk = blk "\n" $0 }' <<<"$section")
[ -n "$jobscript" ] || die "no fenced block with #SBATCH in the README's section 'Sweeps on a cluster'"
mergecmd=$(grep -m1 '^train sweep merge ' <<<"$section" || true)
[ -n "$mergecmd" ] || die "no line starting with 'train sweep merge' in the README's section 'Sweeps on a cluster'"
# The README's CPUs per task are for a real cluster; on this node each task
# gets one (and so --workers 1): only the number in that line is changed.
printf '%s\n' "$jobscript" | sed 's/^#SBATCH --cpus-per-task=[0-9][0-9]*$/#SBATCH --cpus-per-task=1/' >"$base/submit/sweep.sh"
echo "job script (README.md, --cpus-per-task lowered to 1):"
sed 's/^/  | /' "$base/submit/sweep.sh"
echo "merge (README.md): $mergecmd"

# 2 widths x 2 parameterizations x 2 seeds, 20 steps: 8 runs of a few ms.
cat >"$base/submit/sweep.json" <<'EOF'
{
  "name": "ci: the README's Slurm job array",
  "dataset": {"kind": "teacher-sphere", "n": 32, "dim": 8, "seed": 1, "test_n": 16},
  "widths": [32, 64],
  "depth": 1,
  "activation": "tanh",
  "parameterizations": ["ntk", "mup"],
  "seeds": [1, 2],
  "lrs": [0.5],
  "optimizers": ["sgd"],
  "steps": 20,
  "batch_size": 0,
  "log_every": 5,
  "kernel_every": 10,
  "kernel_points": 8
}
EOF

step "start a one-node cluster ($slurm_version)"
# MUNGE, Slurm's default authentication, with a key and socket of our own,
# so that neither /etc/munge nor a munged already running is touched.
$SUDO install -d -o munge -g munge -m 0755 "$base/munge"
$SUDO dd if=/dev/urandom of="$base/munge/munge.key" bs=1024 count=1 status=none
$SUDO chown munge:munge "$base/munge/munge.key"
$SUDO chmod 0400 "$base/munge/munge.key"
sock=$base/munge/munge.sock
(cd "$base/run" && exec $SUDO runuser -u munge -- munged -F --socket="$sock" \
  --key-file="$base/munge/munge.key" --pid-file="$base/munge/munged.pid" \
  --seed-file="$base/munge/munged.seed") >"$base/log/munged.log" 2>&1 &
for _ in $(seq 100); do
  [ -S "$sock" ] && break
  sleep 0.1
done
munge -n -S "$sock" | unmunge -S "$sock" >/dev/null ||
  die "munged does not answer on $sock"

# The node as slurmd itself sees it (hostname, CPUs, sockets, cores, memory):
# a node configured with more than it has is drained at registration.
nodeline=$(slurmd -C | head -n 1)
case $nodeline in NodeName=*CPUs=*RealMemory=*) ;; *) die "slurmd -C printed '$nodeline'" ;; esac
node=${nodeline#NodeName=}
node=${node%% *}
export SLURM_CONF=$base/etc/slurm.conf
cat >"$SLURM_CONF" <<EOF
# One node, one partition, no accounting database, no cgroups.
ClusterName=gradflowci
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctldport
SlurmdPort=$slurmdport
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$sock
StateSaveLocation=$base/state
SlurmdSpoolDir=$base/spool
SlurmctldPidFile=$base/run/slurmctld.pid
SlurmdPidFile=$base/run/slurmd.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
# finished jobs stay visible to squeue -t all for 10 minutes (there is no sacct)
MinJobAge=600
# start the next array tasks as soon as others end (default: up to 3 s later)
SchedulerParameters=batch_sched_delay=0
$nodeline NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=ci Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF
(cd "$base/run" && exec $SUDO slurmctld -D -f "$SLURM_CONF") >"$base/log/slurmctld.log" 2>&1 &
ctld=$!
(cd "$base/run" && exec $SUDO slurmd -D -f "$SLURM_CONF") >"$base/log/slurmd.log" 2>&1 &
slurmd_pid=$!
deadline=$((SECONDS + ready_timeout))
state=
while :; do
  kill -0 "$ctld" 2>/dev/null || die "slurmctld exited"
  kill -0 "$slurmd_pid" 2>/dev/null || die "slurmd exited"
  state=$(sinfo -h -n "$node" -o %T 2>/dev/null || true)
  [ "$state" = idle ] && break
  [ $SECONDS -lt $deadline ] || die "node $node not idle after ${ready_timeout}s (sinfo says '${state:-nothing}')"
  sleep 0.5
done
echo "node $node idle: $(sinfo -h -N -o '%N %c CPUs %m MB partition %P')"

step "sbatch the job array"
# The job inherits this environment (sbatch's default --export=ALL): train on
# the PATH and the SCRATCH directory that the README's commands use.
export PATH=$base/bin:$PATH
export SCRATCH=$base/scratch
jobid=$(cd "$base/submit" && sbatch --parsable sweep.sh) || die "sbatch refused the README's job script"
jobid=${jobid%%;*}
echo "job $jobid submitted"
deadline=$((SECONDS + job_timeout))
terminal='COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|BOOT_FAIL|DEADLINE|PREEMPTED|REVOKED|SPECIAL_EXIT'
showjob() {
  echo "--- scontrol show job $jobid" >&2
  scontrol -o show job "$jobid" 2>&1 | tr ' ' '\n' | grep -E '^(ArrayTaskId|JobState|Reason|ExitCode)=' | paste -d ' ' - - - - >&2 || true
  local f
  for f in "$base"/submit/slurm-*.out; do
    [ -f "$f" ] || continue
    echo "--- $f (first 20 lines)" >&2
    head -n 20 "$f" >&2
  done
}
while :; do
  states=$(squeue -h -r -t all -j "$jobid" -o '%i %T' 2>/dev/null || true)
  if [ -n "$states" ] && ! grep -qvE " ($terminal)\$" <<<"$states"; then break; fi
  if [ $SECONDS -ge $deadline ]; then showjob; die "job $jobid not finished after ${job_timeout}s"; fi
  sleep 0.5
done
ntasks=$(wc -l <<<"$states")
if grep -qv ' COMPLETED$' <<<"$states"; then
  showjob
  die "job $jobid: $(grep -vc ' COMPLETED$' <<<"$states") of $ntasks array tasks did not complete"
fi
nshards=$(find "$SCRATCH/sweep" -mindepth 1 -maxdepth 1 -name 'shard-*' | wc -l)
[ "$nshards" = "$ntasks" ] || { showjob; die "$ntasks tasks completed but $nshards shard directories exist"; }
echo "all $ntasks array tasks of job $jobid COMPLETED ($((SECONDS - deadline + job_timeout))s)"

step "merge (the README's command) and run the same sweep on one machine"
(cd "$base/submit" && bash -euc "$mergecmd") >"$base/log/merge.stdout" 2>"$base/log/merge.stderr" ||
  { cat "$base/log/merge.stderr" >&2; die "the README's merge failed"; }
(cd "$base/submit" && train sweep --config sweep.json --out "$SCRATCH/sweep/single") \
  >"$base/log/single.stdout" 2>"$base/log/single.stderr" ||
  { cat "$base/log/single.stderr" >&2; die "the one-machine sweep failed"; }

step "compare"
all=$SCRATCH/sweep/all single=$SCRATCH/sweep/single
nruns=$(find "$single/runs" -name '*.jsonl' | wc -l)
[ "$nruns" = 8 ] || die "the one-machine sweep wrote $nruns result files, want 8"
[ -s "$single/slopes.jsonl" ] || die "the one-machine sweep wrote no slopes.jsonl"
# Everything the sweep writes is compared: config.json, runs/*.jsonl (each
# run's records; no wall-clock fields), slopes.jsonl and the figures (PNG and
# SVG are rendered deterministically from the same records). Nothing is
# excluded. The progress lines on stderr are not outputs.
if ! diff -r "$single" "$all" >"$base/log/diff" 2>&1; then
  head -n 40 "$base/log/diff" >&2
  die "the merged job-array result differs from the one-machine run"
fi
# The slope table printed by the merge is the one the one-machine run prints
# (only the first line, naming the run or the merge, and the last, naming the
# output directory, differ).
if ! diff <(sed '1d;$d' "$base/log/single.stdout") <(sed '1d;$d' "$base/log/merge.stdout") >"$base/log/diff.stdout"; then
  cat "$base/log/diff.stdout" >&2
  die "the slope table of the merge differs from the one-machine run"
fi
nfiles=$(find "$single" -type f | wc -l)
failed=0
echo "slurm: OK: README job array ($ntasks tasks, ${slurm_version#slurm* }, auth/munge) merged to $nruns runs byte-identical to the one-machine sweep ($nfiles files) in $((SECONDS - start))s"
